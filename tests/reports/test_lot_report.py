"""Lot report (HTML + PDF from one template) from a few records."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from reports.summary import ENGINEERING_STAMP
from tests.reports.conftest import pdf_text, squash

LOT = {
    "lot_id": "L-2026-047",
    "supplier": "Example Distribution GmbH",
    "lot_size": 150,
    "aql": 1.0,
    "level": "II",
    "severity": "normal",
    "code_letter": "F",
    "sample_size": 8,
    "accept": 0,
    "reject": 1,
    "status": "closed",
    "disposition": "reject",
    "reason": "1 nonconforming in 5 inspected; Ac = 0, Re = 1: reject",
    "plan_verified": True,
}


def _jittered(record: dict, serial: str, shift: float) -> dict:
    """A copy of a record as another unit: every judged value moved by ``shift`` (relative)."""
    out = copy.deepcopy(record)
    out["serial"], out["run_id"] = serial, serial.lower().replace("-", "") * 3
    for m in out["measurements"]:
        if isinstance(m["value"], float):
            m["value"] *= 1 + shift
            m["decision"]["y"] = m["value"]
    return out


@pytest.fixture(scope="module")
def lot_records(sim_folders) -> list[dict]:
    def load(name: str) -> dict:
        return json.loads((sim_folders[name] / "record.json").read_text(encoding="utf-8"))

    good = load("pass")
    return [
        good,
        _jittered(good, "RPT-PASS-2", 0.02),
        _jittered(good, "RPT-PASS-3", -0.03),
        _jittered(good, "RPT-PASS-4", 0.05),
        load("fail"),
        load("aborted"),
    ]


@pytest.fixture(scope="module")
def lot_outputs(lot_records, tmp_path_factory) -> dict[str, Path]:
    from reports.render import render_lot_report

    return render_lot_report(LOT, lot_records, tmp_path_factory.mktemp("lot"))


def test_lot_report_html_and_pdf(lot_outputs, lot_records) -> None:
    assert set(lot_outputs) == {"html", "pdf"}
    pdf = lot_outputs["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = pdf_text(pdf)
    html = lot_outputs["html"].read_text(encoding="utf-8")
    flat_pdf = squash("\n".join(pages))
    flat_html = squash(html)
    expected = [
        "REJECT",
        LOT["lot_id"],
        LOT["reason"],
        "code letter",
        "sample size n",
        "acceptance number Ac",
        "rejection number Re",
        "AQL",
        "1.0 %",
        "Pp [95 % CI]",
        "Ppk (95 % lower)",
        "Units that failed",
    ]
    for text in expected + [r["serial"] for r in lot_records]:
        assert squash(text) in flat_pdf, text
        assert squash(text) in flat_html, text
    # every judged characteristic has a statistics row, with Pp/Ppk for two-sided limits
    assert squash("Transmission error") in flat_pdf
    assert '<img src="data:image/png;base64,' in html
    assert ENGINEERING_STAMP not in html


def test_lot_report_lists_the_failed_and_aborted_units(lot_outputs) -> None:
    text = " ".join("\n".join(pdf_text(lot_outputs["pdf"])).split())
    failed_section = text[text.index("Units that failed") :]
    assert "REP-F" in failed_section
    assert "RPT-ABORT-1" in failed_section and "NOT INSPECTED" in failed_section
    assert "RPT-PASS-2" not in failed_section.split("Characteristics over the sample")[0]


def test_lot_statistics_use_capability_module(lot_records) -> None:
    from procedures.capability import process_performance
    from reports.lot import lot_context
    from reports.summary import characteristics

    ctx = lot_context(LOT, lot_records)
    row = next(r for r in ctx["stats_rows"] if r[0] == "Input resistance")
    values = [
        c.value_si
        for r in lot_records
        for c in characteristics(r, {})
        if c.name == "input_resistance"
    ]
    pp = process_performance(values, None, 50.0)
    assert row[1] == len(values) == 5
    assert row[7].startswith(f"{pp.ppk:.3g}")


def test_lot_with_an_engineering_record_is_stamped(lot_records, tmp_path: Path) -> None:
    from reports.render import render_lot_report

    records = [dict(lot_records[0], engineering=True), lot_records[1]]
    outputs = render_lot_report({**LOT, "disposition": "accept"}, records, tmp_path)
    pages = pdf_text(outputs["pdf"])
    assert all(ENGINEERING_STAMP in page for page in pages)
    assert ENGINEERING_STAMP in outputs["html"].read_text(encoding="utf-8")
