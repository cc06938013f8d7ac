"""The report worker (a second process) writes what render_unit_reports writes, and any
trouble with it leaves the reports to this process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from reports.worker import ReportWorker, render_with
from tests.reports.conftest import DATA, OUTPUTS, pdf_text

NAMES = ("html", "pdf", "parquet", "junit")


def _run_folder(tmp_path: Path) -> Path:
    folder = shutil.copytree(DATA / "unit_fail", tmp_path / "run")
    for output in OUTPUTS:
        (folder / output).unlink(missing_ok=True)
    return folder


def test_worker_renders_every_output(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    worker = ReportWorker.start()
    assert worker is not None
    try:
        assert worker.submit(folder)
        outputs = worker.outputs()
    finally:
        worker.close()
    assert outputs == {k: folder / v for k, v in zip(NAMES, OUTPUTS, strict=True)}
    for path in outputs.values():
        assert path.stat().st_size > 1000, path
    assert "REP-F" in "\n".join(pdf_text(outputs["pdf"]))
    assert {"plots", "html", "pdf", "parquet", "junit"} <= set(worker.seconds)
    assert not list(folder.glob("*-error.txt"))


def test_a_dead_worker_leaves_the_reports_to_this_process(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    worker = ReportWorker.start()
    assert worker is not None
    worker.process.kill()
    worker.process.wait()
    taken = worker.submit(folder)  # refused (broken pipe) or never answered: both fall back
    outputs = render_with(worker if taken else None, folder, timeout_s=10)
    worker.close()
    assert set(outputs) == set(NAMES)
    assert all(p.is_file() for p in outputs.values())


def test_a_worker_that_never_answers_is_killed_and_this_process_renders(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    silent = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    worker = ReportWorker(silent)
    assert worker.submit(folder)
    outputs = render_with(worker, folder, timeout_s=0.3)
    assert silent.poll() is not None  # killed, not left behind
    assert set(outputs) == set(NAMES)
