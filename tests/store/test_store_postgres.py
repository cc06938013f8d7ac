"""ResultStore on a real PostgreSQL server (the shared store of several benches).

Each test gets its own uniquely named database on 127.0.0.1:5432, dropped afterwards. The
tests fail (never skip) if the server is not reachable; ``.ci/start-postgres`` starts it.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from bench.store.migrate import head_revision
from bench.store.store import ResultStore, StoreUnavailable
from tests.store.behaviours import StoreBehaviours
from tests.store.conftest import PgDatabases


class TestPostgresStore(StoreBehaviours):
    @pytest.fixture
    def store_url(self, pg_url: str) -> str:
        return pg_url


def test_record_is_jsonb_and_times_are_timestamptz(pg_url: str) -> None:
    with ResultStore.open(pg_url) as store:
        assert store.dialect == "postgresql"
        columns = {c["name"]: c["type"] for c in sa.inspect(store.engine).get_columns("runs")}
    assert type(columns["record_json"]).__name__ == "JSONB"
    assert columns["started_at"].timezone is True


def test_plain_postgresql_url_uses_psycopg3(pg_url: str) -> None:
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with ResultStore.open(plain) as store:
        assert store.engine.dialect.driver == "psycopg"


def test_benches_opening_a_new_shared_database_at_once_migrate_it_once(
    pg_url: str,
) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def bench() -> None:
        try:
            barrier.wait(timeout=10)
            ResultStore.open(pg_url).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bench) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    engine = sa.create_engine(pg_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
            (head_revision(),)
        ]
    engine.dispose()


def test_unreachable_database_is_one_line_with_password_masked(
    pg_databases: PgDatabases,
) -> None:
    name = pg_databases.name()  # never created
    url = sa.make_url(pg_databases.url(name)).set(password="s3cret")
    with pytest.raises(StoreUnavailable) as info:
        ResultStore.open(url.render_as_string(hide_password=False))
    message = str(info.value)
    assert "s3cret" not in message
    assert "***" in message
    assert name in message
    assert "\n" not in message
