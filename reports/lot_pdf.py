"""lot_report.pdf: the lot report drawn from the same context as lot_report.html.

The order, the words and every table row are those of ``templates/lot_report.html.j2``; the
engineering stamp and the footer hash are on every page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reports.pdf import new_document, save

UNIT_HEADERS = ["serial", "started (UTC)", "outcome", "verdict", "not conforming / reason"]
FAILED_HEADERS = ["serial", "characteristic", "result", "at", "limits", "U (k = 2)", "statement"]
STATS_HEADERS = ["characteristic", "n", "limits", "mean", "sigma", "range", "Pp [95 % CI]"]
STATS_NOTE = (
    "One value per unit: the result that decided the unit's statement for the characteristic. "
    "sigma: sample standard deviation (n - 1). Pp with its two-sided 95 % confidence interval "
    "(chi-square); Ppk with its one-sided 95 % lower bound (Bissell); expected ppm "
    "nonconforming under normality (procedures/capability.py). Small samples give wide bounds."
)
COUNTING_NOTE = (
    "A unit counts as inspected when its run completed or was stopped by the plan; it counts "
    "as nonconforming when its verdict is FAIL or CONDITIONAL FAIL (ILAC-G8 guarded "
    "acceptance: nonconformity more likely than not). Aborted runs are not inspected units."
)
RIGHT = "right"


def draw_lot_report(ctx: dict[str, Any], path: Path, **document: str) -> Path:
    """Draw the lot report from its context (``reports.lot.lot_context``) at ``path``;
    ``document``: running_title, footer_text, banner, title, subject, keywords."""
    pdf = new_document(**document)
    pdf.heading(f"Incoming inspection lot report: lot {ctx['lot_id']}")
    pdf.verdict_box(ctx["disposition_text"], ctx["disposition_bg"])
    pdf.paragraph(ctx["reason"] or "No disposition reason recorded.")
    if ctx["engineering"]:
        pdf.paragraph(
            "at least one unit record is an engineering run (production checks overridden).",
            bold_lead=f"{ctx['stamp']}: ",
        )
    pdf.note(COUNTING_NOTE)
    pdf.heading("Lot", 2)
    pdf.kv(ctx["lot_pairs"])
    pdf.heading("Sampling plan", 2)
    pdf.kv(ctx["plan_pairs"])

    pdf.keep(40)
    pdf.heading("Units", 2)
    if ctx["unit_rows"]:
        pdf.table([*UNIT_HEADERS, "record sha256"], ctx["unit_rows"])
    else:
        pdf.paragraph("No unit record.")
    pdf.keep(30)
    pdf.heading("Units that failed", 2)
    if ctx["failed_rows"]:
        pdf.table(
            FAILED_HEADERS,
            ctx["failed_rows"],
            aligns=["left", "left", RIGHT, "left", "left", RIGHT, "left"],
        )
    else:
        pdf.paragraph("No unit failed a characteristic.")
    pdf.keep(60)
    pdf.heading("Characteristics over the sample", 2)
    pdf.note(STATS_NOTE)
    if ctx["stats_rows"]:
        pdf.table(
            [*STATS_HEADERS, "Ppk (95 % lower)", "exp. ppm", "failed"],
            ctx["stats_rows"],
            size=7,
            aligns=["left", RIGHT, "left", RIGHT, RIGHT, "left", "left", RIGHT, RIGHT, RIGHT],
        )
    for n in ctx["stats_notes"]:
        pdf.note(n)
    if ctx["informative_stats_rows"]:
        pdf.keep(30)
        pdf.heading("Informative characteristics", 3)
        pdf.table(
            ["characteristic", "n", "mean", "sigma", "range"],
            ctx["informative_stats_rows"],
            aligns=["left", RIGHT, RIGHT, RIGHT, "left"],
        )
    if ctx["plots"]:
        pdf.keep(ctx["plots"][0]["height_mm"] + 30)
        pdf.heading("Histograms", 2)
        for n, p in enumerate(ctx["plots"], start=1):
            pdf.figure(
                p["png"],
                p["width_mm"],
                p["height_mm"],
                [(f"Figure {n}: {p['title']}. ", True), (p["caption"], False)],
            )
    return save(pdf, path)
