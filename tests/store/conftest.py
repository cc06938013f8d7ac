"""Fixtures of the store tests: run folders and throw-away PostgreSQL databases.

The PostgreSQL tests use the server the development and CI machines run on 127.0.0.1:5432
(user postgres, trust authentication; ``.ci/start-postgres`` starts it), or the one
``ISOBENCH_TEST_PG_ADMIN_URL`` names. When that does not answer (a fresh machine), they start
a throw-away PostgreSQL 16 of their own from the ``pgserver`` wheel (bundled binaries for
Linux, macOS and Windows) in a temporary folder; they never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.store.store import mask_url

PG_ADMIN_URL = os.environ.get(
    "ISOBENCH_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every store test away from the user's real data folder and database URL."""
    folder = tmp_path / "user-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    monkeypatch.setenv("LOCALAPPDATA", str(folder))
    monkeypatch.delenv("ISOBENCH_DB_URL", raising=False)
    return folder


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    root = tmp_path / "isobench-output"
    root.mkdir()
    return root


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'results.sqlite').as_posix()}"


def _admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
        connect_args={"connect_timeout": 5},
    )


def _answers(engine: sa.Engine) -> str:
    """'' if the server answers, else why not."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return " ".join(str(exc.orig).split())
    return ""


@pytest.fixture(scope="session")
def pg_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    """Admin connection (AUTOCOMMIT, for CREATE/DROP DATABASE) to the configured server, or to
    a throw-away server started from the pgserver wheel when that one does not answer."""
    engine = _admin_engine(PG_ADMIN_URL)
    reason = _answers(engine)
    if not reason:
        yield engine
        engine.dispose()
        return
    try:
        import pgserver
    except ImportError:
        pytest.fail(
            f"PostgreSQL is not reachable at {mask_url(PG_ADMIN_URL)} ({reason}) and the "
            "pgserver wheel is not installed: run the README's test command (it installs "
            "the test extras), or start a server (.ci/start-postgres)",
            pytrace=False,
        )
    server = pgserver.get_server(tmp_path_factory.mktemp("pgserver"), cleanup_mode="stop")
    uri = sa.make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    engine = _admin_engine(uri.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        server.cleanup()


class PgDatabases:
    """Uniquely named throw-away databases on the test server, dropped at teardown."""

    def __init__(self, admin: sa.Engine) -> None:
        self.admin = admin
        self.names: list[str] = []

    def name(self) -> str:
        name = f"isobench_test_{uuid.uuid4().hex[:16]}"
        self.names.append(name)
        return name

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str | None = None) -> str:
        name = name or self.name()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return self.url(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_databases(pg_admin: sa.Engine) -> Iterator[PgDatabases]:
    dbs = PgDatabases(pg_admin)
    try:
        yield dbs
    finally:
        dbs.drop_all()


@pytest.fixture
def pg_url(pg_databases: PgDatabases) -> str:
    """URL of a fresh, empty PostgreSQL database for this test."""
    return pg_databases.create()
