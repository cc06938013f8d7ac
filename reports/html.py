"""Per-module HTML report (kept for bench/runner.py): the HTML output of reports.render only.

``write_html_report(folder)`` renders report.html from the run folder's files, exactly as
:func:`reports.render.render_unit_reports` does, and raises if that fails (the runner logs it
and writes report-error.txt). Use ``render_unit_reports`` to get the PDF, Parquet and JUnit
outputs as well.
"""

from __future__ import annotations

from pathlib import Path

from reports.render import _plots, write_html
from reports.summary import load_unit


def write_html_report(folder: Path) -> Path:
    unit = load_unit(Path(folder))
    return write_html(unit, _plots(unit))
