"""Row 7 of issue 8: the output folder fills up in the middle of a run. The outputs are made
safe first, the record on disk stays the last complete one (never half a file), the store
says ABORTED with the reason, and the console says the outputs are safe and where the data
is. The disk is filled by a fault-injecting writer: the record's atomic rename fails with
ENOSPC from the 10th save on (mid-plan), as it would on a full disk."""

from __future__ import annotations

import errno
import json
import os
import signal
from pathlib import Path

import pytest

import procedures.record
from bench.cli import main
from bench.store import ResultStore


def test_a_full_output_folder_aborts_safely_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_replace = os.replace
    saves = []

    def replace(src, dst):  # the disk is full once the run is under way
        if str(dst).endswith("record.json"):
            saves.append(dst)
            if len(saves) > 9:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(procedures.record.os, "replace", replace)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = main(["inspect", "--station", "sim", "--serial", "FULL-1",
                     "--out", str(tmp_path / "out"), "--quiet", "--db", db])  # fmt: skip
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    out, err = capsys.readouterr()
    assert code == 2
    (folder,) = (tmp_path / "out").iterdir()
    assert "FULL-1: ABORTED: output folder" in out and "No space left on device" in out
    assert f"outputs safe (every instrument read back off); the data so far: {folder}" in out
    (line,) = err.strip().splitlines()
    assert "free space or give --out a folder you can write to" in line
    on_disk = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    assert on_disk["outcome"] == "running"  # the last complete record, whole
    assert not list(folder.glob("*.tmp"))
    with ResultStore.open(db) as store:
        (run,) = store.history("FULL-1")
        record = store.run(run["run_id"])["record"]
    assert run["outcome"] == "aborted" and "No space left on device" in record["abort_reason"]
    assert record["safe_state_verified"] and set(record["safe_state"].values()) == {"verified"}
    assert len(record["measurements"]) > len(on_disk["measurements"])  # nothing lost
