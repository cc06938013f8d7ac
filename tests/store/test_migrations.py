"""Alembic migrations: run in code from the package, match schema.py, and round-trip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bench.store import schema
from bench.store.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    scripted_head,
    upgrade_to_head,
)
from bench.store.store import ResultStore, StoreError
from tests.store.runs import make_run_folder

TABLES = {
    "runs",
    "measurements",
    "readings",
    "waveforms",
    "verdicts",
    "lots",
    "lot_units",
    "invalidations",
    "suppliers",
}
ROOT = Path(__file__).resolve().parents[2]


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def schema_differences(url: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, schema.metadata)
    finally:
        engine.dispose()


def revision_of(url: str) -> str | None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def test_config_is_built_in_code_and_points_into_the_package() -> None:
    cfg = alembic_config("sqlite:///x%20y.sqlite")
    assert cfg.config_file_name is None  # no alembic.ini involved
    assert Path(cfg.get_main_option("script_location")) == MIGRATIONS_DIR
    assert cfg.get_main_option("sqlalchemy.url") == "sqlite:///x%20y.sqlite"
    assert MIGRATIONS_DIR.parent == Path(schema.__file__).resolve().parent
    assert (MIGRATIONS_DIR / "env.py").is_file()


def test_migrations_ship_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bench"]
    shipped = {
        p.relative_to(ROOT / "bench").as_posix()
        for pattern in patterns
        for p in (ROOT / "bench").glob(pattern)
        if p.is_file()
    }
    needed = {
        p.relative_to(ROOT / "bench").as_posix()
        for p in MIGRATIONS_DIR.rglob("*")
        if p.is_file() and p.suffix in (".py", ".mako")
    }
    assert needed <= shipped
    dependencies = " ".join(pyproject["project"]["dependencies"])
    for name in ("sqlalchemy", "alembic", "psycopg[binary]"):
        assert name in dependencies


def test_fresh_sqlite_database_upgraded_to_head_has_all_tables(sqlite_url: str) -> None:
    assert upgrade_to_head(sqlite_url) == head_revision()
    assert tables(sqlite_url) == TABLES
    assert revision_of(sqlite_url) == head_revision()
    assert schema_differences(sqlite_url) == []
    assert upgrade_to_head(sqlite_url) == head_revision()  # again: a no-op


def test_fresh_postgres_database_upgraded_to_head_matches_the_schema(pg_url: str) -> None:
    upgrade_to_head(pg_url)
    assert tables(pg_url) == TABLES
    assert revision_of(pg_url) == head_revision()
    assert schema_differences(pg_url) == []


def test_downgrade_and_upgrade_round_trip_on_sqlite(sqlite_url: str, run_root: Path) -> None:
    with ResultStore.open(sqlite_url) as store:
        store.add_run(make_run_folder(run_root, "SN-M1"))

    downgrade(sqlite_url, "base")
    assert tables(sqlite_url) == set()
    assert revision_of(sqlite_url) is None

    upgrade_to_head(sqlite_url)
    assert tables(sqlite_url) == TABLES
    assert schema_differences(sqlite_url) == []
    with ResultStore.open(sqlite_url) as store:
        assert store.history("SN-M1") == []  # the data went with the downgrade
        assert store.add_run(make_run_folder(run_root, "SN-M1")).status == "added"


def test_database_from_a_newer_isobench_is_refused(sqlite_url: str) -> None:
    upgrade_to_head(sqlite_url)
    engine = sa.create_engine(sqlite_url, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema revision 9999 is newer") as info:
        ResultStore.open(sqlite_url)
    assert "\n" not in str(info.value)


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert scripted_head() == head_revision() == "0002"


def test_a_database_at_the_head_is_opened_without_importing_alembic(
    sqlite_url: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    upgrade_to_head(sqlite_url)
    code = (
        "import sys; from bench.store.store import ResultStore; "
        f"ResultStore.open({sqlite_url!r}).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_a_database_behind_the_head_is_still_migrated(sqlite_url: str) -> None:
    upgrade_to_head(sqlite_url)
    downgrade(sqlite_url, "0001")
    assert upgrade_to_head(sqlite_url) == "0002"
    engine = sa.create_engine(sqlite_url, poolclass=sa.NullPool)
    with engine.connect() as conn:
        assert current_revision(conn) == "0002"
    engine.dispose()
