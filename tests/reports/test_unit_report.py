"""Per-module outputs rendered from a real simulated run folder: HTML, PDF, Parquet, JUnit."""

from __future__ import annotations

import hashlib
import json
import logging
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from reports.summary import ENGINEERING_STAMP
from tests.reports.conftest import (
    ABORT_REASON,
    INPUT_HASHES,
    OUTPUTS,
    input_hashes,
    pdf_text,
    squash,
)


class _Tables(HTMLParser):
    """Rows (lists of cell texts) of every <table>, and the document's plain text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse_html(path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _values(column: pd.Series) -> list:
    """Values with every kind of missing value (NaN, None, pd.NA) as None."""
    return [None if pd.isna(v) else v for v in column.astype(object)]


def characteristic_titles(folder: Path) -> list[str]:
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    return list(dict.fromkeys(m["title"] for m in record["measurements"]))


def test_all_outputs_written_and_inputs_untouched(sim_folders, rendered) -> None:
    for name, paths in rendered.items():
        folder = sim_folders[name]
        assert set(paths) == {"html", "pdf", "parquet", "junit"}, name
        assert paths == {k: folder / v for k, v in zip(paths, OUTPUTS, strict=True)}
        for output in OUTPUTS:
            assert (folder / output).stat().st_size > 1000, (name, output)
        assert not list(folder.glob("*-error.txt")), name
        assert input_hashes(folder) == INPUT_HASHES[folder], name


def test_pdf_is_valid_and_holds_the_report(sim_folders, rendered) -> None:
    folder = sim_folders["pass"]
    pdf = rendered["pass"]["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = pdf_text(pdf)
    assert len(pages) > 1
    text = "\n".join(pages)
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((folder / "record.json").read_bytes()).hexdigest()
    assert record["serial"] in text
    assert record["verdict"].upper() in text
    assert all(digest in page for page in pages)  # footer on every page
    flat = squash(text)
    for title in characteristic_titles(folder):
        assert squash(title) in flat, title
    # Unicode font embedded: units print as µA and Ω
    assert "µA" in text and "Ω" in text
    # the datasheet source from the profile copy in the run folder
    assert squash("WAGO data sheet, item number 857-411") in flat


def test_pdf_renders_to_an_image(rendered, tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(rendered["pass"]["pdf"]))
    image = doc[0].render(scale=0.5).to_pil().convert("L")
    low, high = image.getextrema()
    assert high - low > 100  # not a blank page
    doc.close()


def test_html_and_pdf_show_the_same_rows(sim_folders, rendered) -> None:
    html = parse_html(rendered["pass"]["html"])
    flat_pdf = squash("\n".join(pdf_text(rendered["pass"]["pdf"])))
    summary = next(t for t in html.tables if t[0][:3] == ["characteristic", "result", "at"])
    assert [r[0] for r in summary[1:]] == characteristic_titles(sim_folders["pass"])
    missing = [row for row in html.rows if squash("".join(row)) not in flat_pdf]
    assert not missing, missing[:5]
    assert len(html.rows) > 100


def test_html_verdict_first_rule_in_words_and_plots(rendered) -> None:
    html = rendered["pass"]["html"].read_text(encoding="utf-8")
    assert html.index('class="verdict') < html.index("<h2>Characteristics</h2>")
    assert html.index('class="verdict') < html.index("<h2>Readings</h2>")
    assert "ILAC-G8:09/2019 4.2.3" in html
    assert html.count('<img src="data:image/png;base64,') == 4
    for text in ("Transmission error vs input", "Step response", "Supply and load effects"):
        assert text in html
    assert "calibration due" in html and "*IDN?" in html


def test_failing_unit(sim_folders, rendered) -> None:
    record = json.loads((sim_folders["fail"] / "record.json").read_text(encoding="utf-8"))
    failing = {
        m["characteristic"]
        for m in record["measurements"]
        if m["statement"] in ("fail", "conditional fail")
    }
    assert "transmission_error" in failing
    text = " ".join("\n".join(pdf_text(rendered["fail"]["pdf"])).split())
    assert "FAIL" in text and "Not conforming: Transmission error" in text
    root = ET.parse(rendered["fail"]["junit"]).getroot()
    suite = root.find("testsuite")
    failures = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failures == failing
    failure = suite.find("testcase[@name='transmission_error']/failure")
    assert failure.get("type") in ("fail", "conditional fail")
    assert "µA" in failure.get("message")


def test_parquet_round_trips_the_readings(sim_folders, rendered) -> None:
    import pyarrow.parquet as pq

    folder = sim_folders["pass"]
    csv = pd.read_csv(folder / "readings.csv")
    parquet = pd.read_parquet(rendered["pass"]["parquet"])
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv)
    for name in csv.columns:
        assert _values(parquet[name]) == _values(csv[name]), name
    assert parquet["input_a"].dtype == "float64"
    assert str(parquet["source_in_compliance"].dtype) == "boolean"
    meta = json.loads(pq.read_schema(rendered["pass"]["parquet"]).metadata[b"isobench"])
    assert meta["serial"] == "REP-1"
    assert (
        meta["record_sha256"] == hashlib.sha256((folder / "record.json").read_bytes()).hexdigest()
    )
    assert meta["engineering"] is False


def test_junit_one_case_per_characteristic(sim_folders, rendered) -> None:
    record = json.loads((sim_folders["pass"] / "record.json").read_text(encoding="utf-8"))
    root = ET.parse(rendered["pass"]["junit"]).getroot()
    suites = root.findall("testsuite")
    chars = suites[0]
    cases = chars.findall("testcase")
    names = [c.get("name") for c in cases]
    assert sorted(names) == sorted({m["characteristic"] for m in record["measurements"]})
    assert chars.get("tests") == str(len(cases))
    worst = {}
    for m in record["measurements"]:
        worst.setdefault(m["characteristic"], set()).add(m["statement"])
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert {"value", "unit", "lower", "upper", "U", "TUR", "rule", "statement"} <= set(props)
        failing = bool(worst[case.get("name")] & {"fail", "conditional fail"})
        assert (case.find("failure") is not None) == failing
        if props["rule"] == "informative":
            assert props["statement"] == "informative" and case.find("failure") is None
    run = suites[1]
    assert run.find("testcase[@name='outcome']/error") is None
    assert run.find("testcase[@name='safe_state']/failure") is None


def test_engineering_run_is_stamped_everywhere(rendered) -> None:
    import pyarrow.parquet as pq

    out = rendered["engineering"]
    assert ENGINEERING_STAMP in out["html"].read_text(encoding="utf-8")
    pages = pdf_text(out["pdf"])
    assert len(pages) > 1 and all(ENGINEERING_STAMP in page for page in pages)
    root = ET.parse(out["junit"]).getroot()
    for suite in root.findall("testsuite"):
        props = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert props["engineering"] == ENGINEERING_STAMP
    metadata = pq.read_schema(out["parquet"]).metadata
    assert metadata[b"isobench.stamp"].decode() == ENGINEERING_STAMP
    assert json.loads(metadata[b"isobench"])["engineering"] is True
    # a production run is not stamped
    assert ENGINEERING_STAMP not in "\n".join(pdf_text(rendered["pass"]["pdf"]))


def test_aborted_run_says_why_and_what_did_not_run(sim_folders, rendered) -> None:
    record = json.loads((sim_folders["aborted"] / "record.json").read_text(encoding="utf-8"))
    not_run = [s["title"] for s in record["steps"] if s["status"] != "completed"]
    assert len(not_run) >= 5
    html = parse_html(rendered["aborted"]["html"])
    html_text = " ".join("".join(html.text).split())
    pdf = squash("\n".join(pdf_text(rendered["aborted"]["pdf"])))
    for text in ("ABORTED", ABORT_REASON, *not_run):
        assert " ".join(text.split()) in html_text, text
        assert squash(text) in pdf, text
    assert "Run ended early" in html_text
    # what was measured before the abort is listed
    assert "Terminal check" in html_text
    root = ET.parse(rendered["aborted"]["junit"]).getroot()
    error = root.find(".//testcase[@name='outcome']/error")
    assert error is not None and ABORT_REASON in error.get("message")
    skipped = {c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None}
    assert skipped == {s["name"] for s in record["steps"] if s["status"] == "not run"}


def test_run_without_any_step_or_reading(tmp_path: Path) -> None:
    """Aborted before the instruments were opened: empty readings.csv, no steps."""
    from reports.render import render_unit_reports

    record = {
        "serial": "RPT-EARLY",
        "module_type": "WAGO 857-411",
        "profile": "wago-857-411.toml",
        "station": "bench 1",
        "topology": "direct",
        "run_id": "0" * 32,
        "outcome": "aborted",
        "abort_reason": "source: connection refused",
        "verdict": "informative",
        "steps": [],
        "measurements": [],
        "instruments": {},
        "safe_state": {"source": "not opened"},
        "safe_state_verified": False,
        "notes": ["safe state NOT verified"],
    }
    (tmp_path / "record.json").write_text(json.dumps(record), encoding="utf-8")
    (tmp_path / "readings.csv").write_text("", encoding="utf-8")
    outputs = render_unit_reports(tmp_path)
    assert set(outputs) == {"html", "pdf", "parquet", "junit"}
    text = "\n".join(pdf_text(outputs["pdf"]))
    assert "ABORTED" in text and "connection refused" in text and "could not be verified" in text
    assert pd.read_parquet(outputs["parquet"]).empty


def test_one_failing_renderer_does_not_stop_the_others(
    sim_folders, tmp_path: Path, monkeypatch, caplog
) -> None:
    import shutil

    from reports import render

    folder = shutil.copytree(sim_folders["fail"], tmp_path / "run")
    for name in OUTPUTS:
        (folder / name).unlink(missing_ok=True)

    def broken(*args, **kwargs):
        raise RuntimeError("no PDF today")

    monkeypatch.setattr(render, "write_pdf", broken)
    with caplog.at_level(logging.ERROR, logger="reports.render"):
        outputs = render.render_unit_reports(folder)
    assert set(outputs) == {"html", "parquet", "junit"}
    assert "no PDF today" in (folder / "pdf-error.txt").read_text(encoding="utf-8")
    assert [r.message for r in caplog.records if "pdf" in r.message] == [
        "pdf report failed: RuntimeError: no PDF today"
    ]
    assert not (folder / "report.pdf").exists()


def test_pdf_without_the_unicode_font_falls_back_to_latin1(
    sim_folders, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    from reports import pdf, render
    from reports.summary import load_unit

    folder = shutil.copytree(sim_folders["fail"], tmp_path / "run")
    monkeypatch.setattr(pdf, "dejavu_fonts", lambda: None)
    path = render.write_pdf(load_unit(folder), [])  # no plots: the text is what is tested
    text = "\n".join(pdf_text(path))
    assert "uA" in text and "REP-F" in text


def test_the_runner_renders_the_html_report(sim_folders, tmp_path: Path) -> None:
    import shutil

    from bench.runner import render_reports

    folder = shutil.copytree(sim_folders["fail"], tmp_path / "run")
    (folder / "report.html").unlink(missing_ok=True)
    path = render_reports(folder)["html"]
    assert path == folder / "report.html"
    html = path.read_text(encoding="utf-8")
    assert "REP-F" in html and '<img src="data:image/png;base64,' in html


@pytest.mark.parametrize("variant", ["pass", "fail", "engineering", "aborted"])
def test_junit_parses(rendered, variant: str) -> None:
    root = ET.parse(rendered[variant]["junit"]).getroot()
    assert root.tag == "testsuites"
    total = sum(int(s.get("tests")) for s in root.findall("testsuite"))
    assert root.get("tests") == str(total) == str(len(list(root.iter("testcase"))))
