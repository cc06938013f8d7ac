"""report.pdf: the unit report drawn from the same context as report.html, section by section.

The order, the words and every table row are those of ``templates/unit_report.html.j2``
(tests/reports pin that every HTML table row is in the PDF); the engineering stamp and the
footer with the record hash are on every page (page header and footer) instead of once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.pdf import ReportPDF, new_document, save

RUN_ENDED_HEADERS = ["step", "status", "message"]
INSTRUMENT_HEADERS = ["role", "model", "*IDN?", "serial", "calibration due", "VISA resource"]
SUMMARY_HEADERS = ["characteristic", "result", "at", "limits", "U (k = 2)", "TUR", "P conform"]
DETAIL_HEADERS = ["conditions", "value", "U (k = 2)", "limits", "acceptance", "TUR", "P conform"]
INFORMATIVE_HEADERS = ["characteristic", "conditions", "value", "U (k = 2)", "datasheet"]
STEP_HEADERS = ["step", "status", "started (UTC)", "ended (UTC)", "message"]
RIGHT = "right"


def _intro(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    u, r = ctx["u"], ctx["u"].record
    pdf.heading(
        f"Incoming inspection report: {r.get('module_type', '')}, serial {r.get('serial', '')}"
    )
    pdf.verdict_box(u.headline, ctx["headline_bg"])
    if u.outcome != "completed":
        pdf.paragraph(r.get("abort_reason") or "no reason recorded", bold_lead=f"Run {u.outcome}: ")
    pdf.paragraph(ctx["verdict_words"])
    if u.failed:
        pdf.paragraph("; ".join(c.title for c in u.failed) + ".", bold_lead="Not conforming: ")
    rule = (
        "Unit verdict = the worst statement over all judged characteristics (FAIL, then "
        "CONDITIONAL FAIL, CONDITIONAL PASS, PASS); informative characteristics are reported, "
        "not judged."
    )
    if u.outcome == "aborted":
        rule += " An aborted run has no verdict: what it did not reach was not inspected."
    pdf.paragraph(rule, bold_lead="Decision rule. ")
    if u.rules_used:
        pdf.bullets([[(f"{name}: ", True), (words, False)] for name, words in u.rules_used])
    if ctx["allowance_text"]:
        pdf.paragraph(ctx["allowance_text"])
    pdf.paragraph(ctx["safe_state_text"])


def _ended_early(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    u, r = ctx["u"], ctx["u"].record
    pdf.keep(40)
    pdf.heading("Run ended early", 2)
    pdf.paragraph(f"Reason: {r.get('abort_reason') or 'not recorded'}")
    pdf.paragraph(f"Measured before the end: {ctx['measured_text']}.")
    if u.steps_not_run:
        pdf.paragraph(
            f"Steps that did not complete ({len(ctx['not_run_rows'])} of "
            f"{len(r.get('steps') or [])}):"
        )
        pdf.table(RUN_ENDED_HEADERS, ctx["not_run_rows"])
    elif r.get("steps"):
        pdf.paragraph("Every plan step completed.")
    else:
        pdf.paragraph("No plan step had started: nothing about the module was inspected.")


def _characteristics(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    u = ctx["u"]
    pdf.keep(60)
    pdf.heading("Characteristics", 2)
    if not u.characteristics:
        pdf.paragraph("No characteristic was measured.")
        return
    pdf.note(
        "One row per characteristic: the result that decides its statement (closest to, or "
        "furthest beyond, a limit) and where it was taken, its limits, the expanded uncertainty "
        "U (k = 2), the lowest TUR over its points, the conformance probability of that result "
        "and the worst statement. Every point follows the plots."
    )
    pdf.table(
        [*SUMMARY_HEADERS, "statement"],
        ctx["summary_rows"],
        aligns=["left", RIGHT, "left", "left", RIGHT, RIGHT, RIGHT, "left"],
    )


def _plots(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    plots = ctx["plots"]
    if not plots:
        return
    pdf.keep(plots[0]["height_mm"] + 30)
    pdf.heading("Plots", 2)
    for n, p in enumerate(plots, start=1):
        pdf.figure(
            p["png"],
            p["width_mm"],
            p["height_mm"],
            [(f"Figure {n}: {p['title']}. ", True), (p["caption"], False)],
        )


def _points(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    if ctx["judged"]:
        pdf.keep(50)
        pdf.heading("Judged characteristics, point by point", 2)
        for c in ctx["judged"]:
            pdf.keep(30)
            pdf.heading(c.title, 3)
            note = (
                f"{c.name}; rule {c.rule}; {c.count} point{'s' if c.count != 1 else ''}; "
                f"statement {c.statement.upper()}"
            )
            if c.datasheet:
                note += f"; datasheet: {c.datasheet}"
            if c.note:
                note += f"; {c.note}"
            pdf.note(note)
            pdf.table(
                [*DETAIL_HEADERS, "statement"],
                ctx["detail_rows"][c.name],
                aligns=["left", RIGHT, RIGHT, "left", "left", RIGHT, RIGHT, "left"],
            )
    if ctx["informative_rows"]:
        pdf.keep(50)
        pdf.heading("Informative results, point by point", 2)
        pdf.note(
            "Measured and reported with the expanded uncertainty U (k = 2); no limit is judged."
        )
        pdf.table(
            INFORMATIVE_HEADERS,
            ctx["informative_rows"],
            aligns=["left", "left", RIGHT, RIGHT, "left"],
        )


def _steps_and_readings(pdf: ReportPDF, ctx: dict[str, Any]) -> None:
    pdf.keep(40)
    pdf.heading("Steps", 2)
    if ctx["step_rows"]:
        pdf.table(STEP_HEADERS, ctx["step_rows"])
    else:
        pdf.paragraph("No plan step was recorded.")
    pdf.keep(40)
    pdf.heading("Readings", 2)
    pdf.note(
        f"Every raw reading of readings.csv, grouped by step ({ctx['reading_count']} rows; all "
        "columns are in readings.csv and readings.parquet)."
    )
    for t in ctx["reading_tables"]:
        pdf.keep(25)
        pdf.heading(t["title"], 3)
        pdf.table(t["headers"], t["rows"], aligns=t["aligns"], size=6.5)
    if not ctx["reading_tables"]:
        pdf.paragraph("No reading was taken.")


def draw_unit_report(ctx: dict[str, Any], path: Path, **document: str) -> Path:
    """Draw the unit report from its context (``reports.render._unit_context``) at ``path``;
    ``document``: running_title, footer_text, banner, title, subject, keywords."""
    pdf = new_document(**document)
    u, r = ctx["u"], ctx["u"].record
    _intro(pdf, ctx)
    if u.outcome != "completed":
        _ended_early(pdf, ctx)
    pdf.keep(60)
    pdf.heading("Module and inspection", 2)
    pdf.kv(ctx["identity_rows"])
    pdf.keep(35)
    pdf.heading("Instruments", 2)
    if ctx["instrument_rows"]:
        pdf.table(INSTRUMENT_HEADERS, ctx["instrument_rows"])
    else:
        pdf.paragraph(
            "No instrument was identified (the run ended before the instruments were opened)."
        )
    _characteristics(pdf, ctx)
    _plots(pdf, ctx)
    _points(pdf, ctx)
    _steps_and_readings(pdf, ctx)
    if r.get("notes"):
        pdf.heading("Notes", 2)
        pdf.bullets([[(str(n), False)] for n in r["notes"]])
    return save(pdf, path)
