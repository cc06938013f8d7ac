"""Local-first publishing: the local store first, the central database when reachable, the
outbox in between, and ``sync`` that empties the outbox exactly once per run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bench.store import schema as t
from bench.store.store import ResultStore, StoreError
from bench.store.sync import LocalQueue, publish, sync
from tests.store.behaviours import count
from tests.store.conftest import PgDatabases
from tests.store.runs import edit_record, make_run_folder, read_record


@pytest.fixture
def local(tmp_path: Path) -> ResultStore:
    store = ResultStore.open(f"sqlite:///{(tmp_path / 'local.sqlite').as_posix()}")
    yield store
    store.close()


@pytest.fixture
def queue(tmp_path: Path) -> LocalQueue:
    return LocalQueue(tmp_path / "outbox")


@pytest.fixture
def central_dir(tmp_path: Path) -> Path:
    """Folder of the 'central' SQLite file; absent = central database unreachable."""
    return tmp_path / "central-share"


@pytest.fixture
def central_url(central_dir: Path) -> str:
    return f"sqlite:///{(central_dir / 'central.sqlite').as_posix()}"


def test_unreachable_central_queues_the_run_and_keeps_it_locally(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_url: str
) -> None:
    folder = make_run_folder(run_root, "SN-S1")
    run_id = read_record(folder)["run_id"]
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    result = publish(folder, central_url, local, queue)

    assert (result.run_id, result.local, result.central) == (run_id, "added", "queued")
    assert result.queued
    assert result.message.startswith(f"database {central_url}: cannot open")
    assert "isobench sync" in result.message
    assert "\n" not in result.message
    assert local.run(run_id)["serial"] == "SN-S1"  # written locally first
    assert [e.run_id for e in queue.entries()] == [run_id]
    entry = queue.get(run_id)
    assert entry is not None
    assert entry.folder == str(folder.resolve())
    assert entry.attempts == 1
    assert "cannot open" in entry.last_error
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_later_sync_uploads_once_and_empties_the_queue(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    folders = [make_run_folder(run_root, f"SN-S2-{i}") for i in range(3)]
    run_ids = [publish(f, central_url, local, queue).run_id for f in folders]
    assert len(queue) == 3

    still_down = sync(central_url, local, queue)
    assert still_down.message.startswith(f"database {central_url}: cannot open")
    assert (still_down.uploaded, still_down.remaining) == ([], 3)
    assert all(e.attempts == 2 for e in queue.entries())

    central_dir.mkdir()  # the central database is back
    report = sync(central_url, local, queue)

    assert sorted(report.uploaded) == sorted(run_ids)
    assert (report.already, report.failed, report.remaining, report.message) == ([], {}, 0, "")
    assert report.ok
    assert len(queue) == 0
    with ResultStore.open(central_url) as central:
        assert count(central, t.runs) == 3
        for folder, run_id in zip(folders, run_ids, strict=True):
            assert central.run(run_id)["record"] == read_record(folder)
            pd.testing.assert_frame_equal(
                central.readings(run_id), pd.read_csv(folder / "readings.csv")
            )
    assert count(local, t.runs) == 3  # local data never deleted

    again = sync(central_url, local, queue)  # idempotent: nothing left to do
    assert (again.uploaded, again.already, again.remaining) == ([], [], 0)


def test_resync_of_an_already_uploaded_run_stores_it_once(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    central_dir.mkdir()
    folder = make_run_folder(run_root, "SN-S3")
    first = publish(folder, central_url, local, queue)
    assert (first.local, first.central) == ("added", "uploaded")
    assert len(queue) == 0

    second = publish(folder, central_url, local, queue)
    assert (second.local, second.central) == ("exists", "exists")

    queue.put(first.run_id, folder)  # as if a crash hit after the commit, before the dequeue
    report = sync(central_url, local, queue)
    assert (report.uploaded, report.already, report.remaining) == ([], [first.run_id], 0)
    with ResultStore.open(central_url) as central:
        assert count(central, t.runs) == 1
        assert count(central, t.verdicts) == 1


def test_queued_run_is_uploaded_from_the_local_store_even_if_its_folder_is_gone(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    folder = make_run_folder(run_root, "SN-S4")
    run_id = publish(folder, central_url, local, queue).run_id
    csv_text = (folder / "readings.csv").read_bytes().decode("utf-8")
    shutil.rmtree(folder)  # the run folder is gone: the local store still has everything

    central_dir.mkdir()
    assert sync(central_url, local, queue).uploaded == [run_id]
    with ResultStore.open(central_url) as central:
        assert central.export_run(run_id).readings_csv == csv_text
        assert list(central.waveforms(run_id)) == ["step_response"]


def test_run_missing_everywhere_stays_queued_with_the_reason(
    run_root: Path, tmp_path: Path, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    central_dir.mkdir()
    queue.put("0123abcd", run_root / "gone")
    with ResultStore.open(f"sqlite:///{(tmp_path / 'empty.sqlite').as_posix()}") as empty:
        report = sync(central_url, empty, queue)
    assert "0123abcd" in report.failed
    assert "neither in the local store" in report.failed["0123abcd"]
    assert report.remaining == 1
    assert queue.get("0123abcd") is not None  # never dropped


def test_conflicting_run_stays_queued_and_the_others_still_go(
    run_root: Path,
    tmp_path: Path,
    local: ResultStore,
    queue: LocalQueue,
    central_dir: Path,
    central_url: str,
) -> None:
    clash = make_run_folder(run_root, "SN-S5")
    fine = make_run_folder(run_root, "SN-S6")
    for folder in (clash, fine):
        publish(folder, central_url, local, queue)
    central_dir.mkdir()
    other = make_run_folder(tmp_path, "SN-S5")  # another record claiming the same run_id
    edit_record(other, run_id=read_record(clash)["run_id"])
    with ResultStore.open(central_url) as central:
        central.add_run(other)

    report = sync(central_url, local, queue)

    clash_id, fine_id = read_record(clash)["run_id"], read_record(fine)["run_id"]
    assert report.uploaded == [fine_id]
    assert list(report.failed) == [clash_id]
    assert "already stored with a different record" in report.failed[clash_id]
    assert queue.run_ids() == [clash_id]


def test_without_central_database_the_run_is_local_only(
    run_root: Path, local: ResultStore, queue: LocalQueue
) -> None:
    result = publish(make_run_folder(run_root, "SN-S7"), None, local, queue)
    assert (result.local, result.central) == ("added", "local-only")
    assert len(queue) == 0
    with pytest.raises(StoreError, match="no central database"):
        sync("", local, queue)


def test_a_local_store_failure_loses_nothing(
    run_root: Path, tmp_path: Path, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    """The bench's own store cannot take the run: it is queued in that store's outbox (for
    'isobench sync'), and the shared database still gets it, from the run folder."""
    from bench.store.sync import outbox_for

    central_dir.mkdir(exist_ok=True)
    missing = f"sqlite:///{(tmp_path / 'nowhere' / 'local.sqlite').as_posix()}"
    result = publish(make_run_folder(run_root, "SN-S8"), central_url, missing, queue)
    assert result.local == "queued" and "cannot open" in result.message
    assert result.central == "uploaded" and len(queue) == 0
    assert result.run_id in outbox_for(missing)
    assert result.run_id not in outbox_for(central_url)  # one outbox per database


def test_outbox_entries_are_small_json_pointers(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_url: str
) -> None:
    folder = make_run_folder(run_root, "SN-S9")
    run_id = publish(folder, central_url, local, queue).run_id
    data = json.loads((queue.folder / f"{run_id}.json").read_text(encoding="utf-8"))
    assert data["schema"] == "isobench.outbox/1"
    assert (data["run_id"], data["folder"]) == (run_id, str(folder.resolve()))
    assert [p.name for p in queue.folder.iterdir()] == [f"{run_id}.json"]  # no temp files left
    with pytest.raises(StoreError, match="cannot name an outbox entry"):
        queue.put("../escape", folder)


def test_postgres_central_that_comes_back_later(
    run_root: Path, local: ResultStore, queue: LocalQueue, pg_databases: PgDatabases
) -> None:
    name = pg_databases.name()
    url = sa.make_url(pg_databases.url(name)).set(password="s3cret")
    central_url = url.render_as_string(hide_password=False)
    folders = [make_run_folder(run_root, f"SN-P{i}") for i in range(2)]

    results = [publish(f, central_url, local, queue) for f in folders]  # no such database yet
    assert [r.central for r in results] == ["queued", "queued"]
    assert all("s3cret" not in r.message and "***" in r.message for r in results)
    assert all("s3cret" not in e.last_error for e in queue.entries())

    pg_databases.create(name)  # the central database is back (empty: migrated on open)
    report = sync(central_url, local, queue)
    assert sorted(report.uploaded) == sorted(r.run_id for r in results)
    assert report.remaining == 0
    assert report.central == url.render_as_string(hide_password=True)

    queue.put(results[0].run_id, folders[0])  # re-sync: digest survives JSONB -> exists
    assert sync(central_url, local, queue).already == [results[0].run_id]
    with ResultStore.open(central_url) as central:
        assert count(central, t.runs) == 2
        for folder, result in zip(folders, results, strict=True):
            assert central.run(result.run_id)["record"] == read_record(folder)


def test_unreadable_outbox_entry_is_reported_and_kept(
    run_root: Path, local: ResultStore, queue: LocalQueue, central_dir: Path, central_url: str
) -> None:
    run_id = publish(make_run_folder(run_root, "SN-S10"), central_url, local, queue).run_id
    broken = queue.folder / "deadbeef.json"
    broken.write_text("{ half an entry", encoding="utf-8")
    central_dir.mkdir()

    report = sync(central_url, local, queue)

    assert report.uploaded == [run_id]
    assert list(report.failed) == ["deadbeef"]
    assert "unreadable" in report.failed["deadbeef"]
    assert report.remaining == 1
    assert broken.read_text(encoding="utf-8") == "{ half an entry"
