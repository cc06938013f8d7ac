"""A fresh simulated inspection (through the CLI, as a user runs it) renders every output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from tests.helpers import run_cli
from tests.reports.conftest import pdf_text


def test_fresh_sim_run_renders_every_output(tmp_path: Path) -> None:
    from reports.render import render_unit_reports

    result = run_cli(
        "inspect",
        "--station",
        "sim",
        "--serial",
        "LIVE-1",
        "--out",
        str(tmp_path),
        "--quiet",
        "--plan",
        "sweep",
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    outputs = render_unit_reports(folder)
    assert set(outputs) == {"html", "pdf", "parquet", "junit"}
    assert not list(folder.glob("*-error.txt"))
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    text = "\n".join(pdf_text(outputs["pdf"]))
    assert "LIVE-1" in text and record["verdict"].upper() in text
    parquet, csv = pd.read_parquet(outputs["parquet"]), pd.read_csv(folder / "readings.csv")
    assert list(parquet.columns) == list(csv.columns) and len(parquet) == len(csv)
    pd.testing.assert_series_equal(parquet["error_a"], csv["error_a"])
    cases = ET.parse(outputs["junit"]).getroot().find("testsuite").findall("testcase")
    assert {c.get("name") for c in cases} == {m["characteristic"] for m in record["measurements"]}
