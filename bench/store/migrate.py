"""Schema migrations (Alembic), run programmatically: no ``alembic.ini`` at run time.

The migration scripts live in ``bench/store/migrations`` and ship as package data. New
revisions are written by hand (or drafted with ``alembic revision --autogenerate`` against a
Config from :func:`alembic_config`) and must keep ``tests/store/test_migrations.py`` green.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "MIGRATIONS_DIR",
    "MigrationFailed",
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


class MigrationFailed(RuntimeError):
    """Alembic refused a migration (its CommandError, so that callers need not import it)."""


def alembic_config(url: str | None = None, connection: sa.Connection | None = None) -> Config:
    """An Alembic Config built in code, pointing at the packaged migration scripts."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError(f"no migration scripts in {MIGRATIONS_DIR}")
    return head


def current_revision(connection: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(None|\"[^\"]*\"|'[^']*')\s*$", re.M)


def scripted_head() -> str | None:
    """The newest revision read from the migration scripts' ``revision`` and
    ``down_revision`` lines without Alembic (its import is most of what a run's store costs,
    ``python -m bench.benchmark``, phase "store"); None if not one plain chain of scripts
    (then Alembic decides). tests/store/test_migrations.py pins it to :func:`head_revision`."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = dict((k, v.strip("\"'")) for k, v in _REVISION.findall(path.read_text("utf-8")))
        if "revision" not in found or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] != "None":
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def _stored_revision(connection: sa.Connection) -> str | None:
    """The database's one Alembic revision by plain SQL; None if none or not exactly one."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    return str(rows[0][0]) if len(rows) == 1 else None


def _check_known(revision: str | None) -> None:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

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
    try:
        with engine.connect() as conn:  # the usual case, a database at the head: no Alembic
            stored = _stored_revision(conn)
        if stored is not None and stored == scripted_head():
            return stored
        from alembic.util.exc import CommandError

        try:
            return _upgrade(engine)
        except CommandError as exc:
            raise MigrationFailed(str(exc)) from exc
    finally:
        if own:
            engine.dispose()


def _upgrade(engine: sa.Engine) -> str:
    from alembic import command

    head = head_revision()
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


def downgrade(target: str | sa.Engine, revision: str = "base") -> None:
    """Downgrade to ``revision`` (maintenance and tests only; drops data of newer tables)."""
    from alembic import command

    engine, own = _engine(target)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), revision)
    finally:
        if own:
            engine.dispose()
