"""Schema migrations (Alembic), run programmatically: no ``alembic.ini`` at run time.

The migration scripts live in ``bench/store/migrations`` and ship as package data. New
revisions are written by hand (or drafted with ``alembic revision --autogenerate`` against a
Config from :func:`alembic_config`) and must keep ``tests/store/test_migrations.py`` green.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

__all__ = [
    "MIGRATIONS_DIR",
    "SchemaTooNew",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade_to_head",
]

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")

#: pg_advisory_xact_lock key: benches opening a shared database migrate one at a time.
_PG_LOCK_KEY = 0x150BE4C4


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer isobench than this one."""


def alembic_config(url: str | None = None, connection: sa.Connection | None = None) -> Config:
    """An Alembic Config built in code, pointing at the packaged migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise SchemaTooNew(
            f"schema revision {revision} is newer than this isobench knows "
            f"(latest {head_revision()}); update isobench on this bench"
        )


def _engine(target: str | sa.Engine) -> tuple[sa.Engine, bool]:
    if isinstance(target, sa.Engine):
        return target, False
    return sa.create_engine(target, poolclass=sa.NullPool), True


def upgrade_to_head(target: str | sa.Engine) -> str:
    """Bring the database to the newest schema; a no-op (one query) when already there.

    On PostgreSQL the upgrade holds a transaction-level advisory lock, so benches opening a
    shared database at the same moment migrate it once, one after the other (PostgreSQL DDL is
    transactional: a failed migration leaves the schema untouched).
    """
    engine, own = _engine(target)
    head = head_revision()
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
        if current == head:
            return head
        _check_known(current)
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            current = current_revision(conn)  # another bench may have migrated meanwhile
            if current != head:
                _check_known(current)
                command.upgrade(alembic_config(connection=conn), "head")
        return head
    finally:
        if own:
            engine.dispose()


def downgrade(target: str | sa.Engine, revision: str = "base") -> None:
    """Downgrade to ``revision`` (maintenance and tests only; drops data of newer tables)."""
    engine, own = _engine(target)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), revision)
    finally:
        if own:
            engine.dispose()
