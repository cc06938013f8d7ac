"""ResultStore on SQLite (the bench's local store), plus where the default store lives."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.store import schema as t
from bench.store import store as store_module
from bench.store.store import (
    ResultStore,
    StoreError,
    StoreUnavailable,
    data_dir_for,
    default_url,
    local_url,
    mask_url,
)
from tests.store.behaviours import StoreBehaviours


class TestSQLiteStore(StoreBehaviours):
    @pytest.fixture
    def store_url(self, sqlite_url: str) -> str:
        return sqlite_url


def test_data_dir_per_platform() -> None:
    home_posix, home_nt = "/home/op", "C:\\Users\\op"
    assert data_dir_for({}, False, home_posix) == "/home/op/.local/share/isobench"
    assert data_dir_for({"XDG_DATA_HOME": "/data"}, False, home_posix) == "/data/isobench"
    assert data_dir_for({"XDG_DATA_HOME": "rel"}, False, home_posix).startswith("/home/op/")
    assert (
        data_dir_for({"LOCALAPPDATA": "C:\\Users\\op\\AppData\\Local"}, True, home_nt)
        == "C:\\Users\\op\\AppData\\Local\\isobench"
    )
    assert data_dir_for({}, True, home_nt) == "C:\\Users\\op\\AppData\\Local\\isobench"


def test_default_store_is_created_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module.os, "name", "posix")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ISOBENCH_DB_URL", raising=False)
    expected = tmp_path / "xdg" / "isobench" / "results.sqlite"
    assert local_url() == default_url() == f"sqlite:///{expected.as_posix()}"

    with ResultStore.open() as store:
        assert store.dialect == "sqlite"
    assert expected.is_file()

    monkeypatch.setenv("ISOBENCH_DB_URL", "postgresql://bench:pw@db.example/isobench")
    assert default_url() == "postgresql://bench:pw@db.example/isobench"
    assert local_url() == f"sqlite:///{expected.as_posix()}"  # the local store stays local


def test_explicit_sqlite_url_in_a_missing_folder_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'share' / 'results.sqlite').as_posix()}"
    with pytest.raises(StoreUnavailable) as info:
        ResultStore.open(url)
    message = str(info.value)
    assert message.startswith(f"database {url}: cannot open")
    assert "\n" not in message
    assert not (tmp_path / "share").exists()  # no new empty store conjured up


def test_urls_are_masked_and_bad_urls_are_one_line() -> None:
    assert mask_url("postgresql://bench:s3cret@db:5432/iso") == "postgresql://bench:***@db:5432/iso"
    assert "s3cret" not in mask_url("not a url://bench:s3cret@db")
    with pytest.raises(StoreError, match="not a database URL"):
        ResultStore.open("::nonsense::")
    with pytest.raises(StoreError, match="unsupported backend 'mysql'") as info:
        ResultStore.open("mysql://root:s3cret@localhost/iso")
    assert "s3cret" not in str(info.value)


def test_foreign_keys_are_enforced_on_sqlite(sqlite_url: str) -> None:
    insert = t.readings.insert().values(run_id="no-such-run", format="csv", n_rows=0)
    with (
        ResultStore.open(sqlite_url) as store,
        pytest.raises(sa.exc.IntegrityError),
        store.engine.begin() as conn,
    ):
        conn.execute(insert)
