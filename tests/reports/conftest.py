"""Run folders for the report tests, rendered once per session.

tests/reports/data/ holds two real run folders recorded on the simulated bench
(``isobench inspect --station sim``; direct topology, full plan; waveforms thinned to every
10th sample): a conditionally passing unit and a failing one (``--sim-set gain_error=0.003``).
The engineering and the aborted variants are copies of the passing folder with the record
edited the way the runner writes it. test_live_run.py renders a fresh simulated run as well.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.helpers import ROOT

PROFILE = ROOT / "procedures" / "profiles" / "wago-857-411.toml"
DATA = Path(__file__).parent / "data"
OUTPUTS = ("report.html", "report.pdf", "readings.parquet", "junit.xml")
ABORT_REASON = "dmm (Keysight 34465A): lost connection while waiting for 'READ?'"


def _clean_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for name in (*OUTPUTS, "report-error.txt"):
        (dst / name).unlink(missing_ok=True)
    return dst


def _edit_record(folder: Path, edit: Any) -> dict[str, Any]:
    path = folder / "record.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    edit(record)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


@pytest.fixture(scope="session")
def sim_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("runs")
    folders = {
        "pass": _clean_copy(DATA / "unit_pass", base / "pass" / "REP-1"),
        "fail": _clean_copy(DATA / "unit_fail", base / "fail" / "REP-F"),
    }
    # the runner does not copy the profile (yet): give the passing run one, as it would
    shutil.copy(PROFILE, folders["pass"] / "profile.toml")

    aborted = _clean_copy(folders["pass"], base / "aborted" / "RPT-ABORT-1")

    def abort(r: dict[str, Any]) -> None:
        keep = {s["name"] for s in r["steps"][:2]}
        r["serial"] = "RPT-ABORT-1"
        r["outcome"], r["abort_reason"] = "aborted", ABORT_REASON
        r["steps"][2]["status"], r["steps"][2]["message"] = "aborted", ABORT_REASON
        for step in r["steps"][3:]:
            step.update(status="not run", started_at=None, ended_at=None, message="")
        r["measurements"] = [m for m in r["measurements"] if m["step"] in keep]
        r["verdict"] = "pass"

    _edit_record(aborted, abort)
    readings = pd.read_csv(aborted / "readings.csv")
    record = json.loads((aborted / "record.json").read_text(encoding="utf-8"))
    keep = {s["name"] for s in record["steps"] if s["status"] == "completed"}
    readings[readings["step"].isin(keep)].to_csv(aborted / "readings.csv", index=False)
    folders["aborted"] = aborted

    # an engineering run (production checks overridden) that also ended early: small, fast
    eng = _clean_copy(aborted, base / "engineering" / "RPT-ENG-1")
    _edit_record(eng, lambda r: r.update(engineering=True, serial="RPT-ENG-1"))
    folders["engineering"] = eng
    return folders


@pytest.fixture(scope="session")
def rendered(sim_folders: dict[str, Path]) -> dict[str, dict[str, Path]]:
    from reports.render import render_unit_reports

    for folder in sim_folders.values():  # what the outputs are made from, before rendering
        INPUT_HASHES[folder] = input_hashes(folder)
    return {name: render_unit_reports(folder) for name, folder in sim_folders.items()}


INPUT_HASHES: dict[Path, dict[str, str]] = {}


def input_hashes(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("record.json", "readings.csv")
    }


def pdf_text(path: Path) -> list[str]:
    """Text of every page (pypdf)."""
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def squash(text: str) -> str:
    """Text without any whitespace: table cells wrap differently in the PDF and the HTML."""
    return "".join(text.split())
