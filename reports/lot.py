"""Context of the lot report: disposition, sampling plan, units, per-characteristic statistics.

Input: the lot as a plain dict (the store's lot row: lot_id, supplier, lot_size, aql, level,
severity, code_letter, sample_size, accept, reject, status, disposition, reason,
plan_verified) and the run records (record.json contents) of the lot's units.

Per characteristic, each unit contributes one value: the result that decided that unit's
statement for the characteristic (closest to, or furthest beyond, a limit; the largest
magnitude for an informative one) - the same value the unit report shows. Pp/Ppk with their
confidence bounds come from :func:`procedures.capability.process_performance`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from procedures.capability import process_performance
from reports import plots
from reports.summary import (
    ENGINEERING_STAMP,
    STATEMENT_COLOURS,
    Characteristic,
    characteristics,
    display_unit,
    finite,
    limits_text,
)

NONCONFORMING = ("fail", "conditional fail")
INSPECTED = ("completed", "stopped")
DISPOSITION_COLOURS = {
    "accept": STATEMENT_COLOURS["pass"][0],
    "reject": STATEMENT_COLOURS["fail"][0],
}


def _f(x: Any, sig: int = 3) -> str:
    v = finite(x)
    return "-" if v is None else f"{v:.{sig}g}"


def _ppm(x: float) -> str:
    if x < 0.01:
        return "< 0.01"
    return f"{x:.2g}" if x < 100 else f"{x:,.0f}"


def _canonical_digest(lot: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    payload = json.dumps({"lot": lot, "runs": runs}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _run_digest(run: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(run, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _statistics(
    name: str, per_unit: list[tuple[str, Characteristic]]
) -> tuple[dict[str, Any], plots.HistogramPanel | None]:
    first = per_unit[0][1]
    values = [c.value_si for _, c in per_unit if c.value_si is not None]
    lower, upper = first.lower_si, first.upper_si
    magnitude = max(
        [abs(v) for v in values] + [abs(x) for x in (lower, upper) if x is not None] + [0.0]
    )
    du = display_unit(first.unit, magnitude)
    row: dict[str, Any] = {
        "title": first.title,
        "name": name,
        "rule": first.rule,
        "n": len(values),
        "limits": limits_text(lower, upper, du),
        "mean": "-",
        "sigma": "-",
        "range": "-",
        "pp": "-",
        "ppk": "-",
        "ppm": "-",
        "failed": sum(1 for _, c in per_unit if c.failed),
        "note": "",
    }
    if values:
        arr = np.asarray(values, dtype=float)
        row["mean"] = du.fmt(float(arr.mean()), sig=4)
        row["range"] = f"{du.fmt(float(arr.min()), sig=4)} ... {du.fmt(float(arr.max()), sig=4)}"
        if arr.size > 1:
            row["sigma"] = du.fmt(float(arr.std(ddof=1)), sig=3)
    judged = lower is not None or upper is not None
    if judged and len(values) >= 2:
        try:
            pp = process_performance(values, lower, upper)
            if pp.pp is not None:
                row["pp"] = f"{_f(pp.pp)} [{_f(pp.pp_lower)}, {_f(pp.pp_upper)}]"
            row["ppk"] = f"{_f(pp.ppk)} (≥ {_f(pp.ppk_lower)})"
            row["ppm"] = _ppm(pp.expected_ppm)
        except ValueError as exc:
            row["note"] = str(exc)
    elif judged:
        row["note"] = "Pp/Ppk need at least 2 values"
    panel = None
    if judged and values:
        failed = [c.value_si * du.scale for _, c in per_unit if c.failed and c.value_si is not None]
        panel = plots.HistogramPanel(
            title=f"{first.title} (n = {len(values)})",
            values=[v * du.scale for v in values],
            unit=du.label or ("ratio" if first.unit == "1" else first.unit),
            lower=None if lower is None else lower * du.scale,
            upper=None if upper is None else upper * du.scale,
            failed=failed,
        )
    return row, panel


def lot_context(lot: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    lot = dict(lot)
    runs = sorted(runs, key=lambda r: str(r.get("started_at", "")))
    per_char: dict[str, list[tuple[str, Characteristic]]] = {}
    unit_rows = []
    failed_rows = []
    inspected = nonconforming = 0
    for run in runs:
        serial = str(run.get("serial", ""))
        chars = characteristics(run, {})
        for c in chars:
            per_char.setdefault(c.name, []).append((serial, c))
        outcome = str(run.get("outcome", ""))
        verdict = str(run.get("verdict", ""))
        # the lot's tally (lot close) says which attempt decides each unit; without it every
        # measured production run counts
        counted = bool(run.get("lot_counts", outcome in INSPECTED and not run.get("engineering")))
        inspected += counted
        bad = counted and verdict in NONCONFORMING
        nonconforming += bad
        shown = verdict if counted else outcome
        bg = STATEMENT_COLOURS.get(shown, STATEMENT_COLOURS["fail"])[0]
        failing = [c for c in chars if c.failed]
        unit_rows.append(
            [
                serial,
                str(run.get("started_at", ""))[:19].replace("T", " "),
                outcome
                + (" (ENGINEERING RUN - never counts)" if run.get("engineering") else "")
                + (f" - {run['lot_note']}" if run.get("lot_note") else ""),
                {"text": shown.upper(), "bg": bg, "b": shown != "informative"},
                "; ".join(c.title for c in failing)
                or ("-" if counted else run.get("abort_reason", "")),
                _run_digest(run)[:12],
            ]
        )
        for c in failing:
            failed_rows.append(
                [
                    serial,
                    c.title,
                    c.value,
                    c.conditions,
                    c.limits,
                    c.U,
                    {
                        "text": c.statement.upper(),
                        "bg": STATEMENT_COLOURS[c.statement][0],
                        "b": True,
                    },
                ]
            )
        if not counted and outcome not in INSPECTED:
            failed_rows.append(
                [
                    serial,
                    "run " + outcome,
                    "-",
                    "-",
                    "-",
                    "-",
                    {"text": "NOT INSPECTED", "bg": STATEMENT_COLOURS["aborted"][0], "b": True},
                ]
            )
    stats_rows = []
    panels = []
    for name, per_unit in per_char.items():
        row, panel = _statistics(name, per_unit)
        stats_rows.append(row)
        if panel is not None:
            panels.append(panel)
    plot_list = []
    png = plots.lot_histograms(panels)
    if png:
        from reports.render import plot_entry

        plot_list.append(
            plot_entry(
                "Distribution per characteristic",
                "One value per unit (the result that decided the unit's statement); red lines: "
                "tolerance limits (LSL/USL); red bars: units that failed the characteristic.",
                png,
            )
        )
    disposition = str(lot.get("disposition") or lot.get("status") or "open")
    engineering = any(bool(r.get("engineering")) for r in runs)
    digest = _canonical_digest(lot, runs)
    plan_pairs = [
        [("sampling", "ISO 2859-1 single sampling"), ("code letter", lot.get("code_letter", "-"))],
        [
            ("inspection level", lot.get("level", "-")),
            ("sample size n", lot.get("sample_size", "-")),
        ],
        [("severity", lot.get("severity", "-")), ("acceptance number Ac", lot.get("accept", "-"))],
        [("AQL", f"{lot.get('aql', '-')} %"), ("rejection number Re", lot.get("reject", "-"))],
        [
            ("lot size", lot.get("lot_size", "-")),
            (
                "plan table verified",
                "yes" if lot.get("plan_verified", True) else "NO (table unverified)",
            ),
        ],
    ]
    lot_pairs = [
        [("lot", lot.get("lot_id", "")), ("supplier", lot.get("supplier", "") or "-")],
        [("status", lot.get("status", "")), ("units with a record", len(runs))],
        [
            ("distinct units counted", inspected),
            ("nonconforming (fail, conditional fail)", nonconforming),
        ],
        [("retest policy", lot.get("retest_policy") or "-"), ("", "")],
    ]
    return {
        "lot": lot,
        "lot_id": str(lot.get("lot_id", "")),
        "disposition_text": disposition.upper(),
        "disposition_bg": DISPOSITION_COLOURS.get(
            disposition, STATEMENT_COLOURS["conditional fail"][0]
        ),
        "reason": lot.get("reason") or "",
        "engineering": engineering,
        "stamp": ENGINEERING_STAMP,
        "plan_pairs": plan_pairs,
        "lot_pairs": lot_pairs,
        "unit_rows": unit_rows,
        "failed_rows": failed_rows,
        "stats_rows": [
            [
                s["title"],
                s["n"],
                s["limits"],
                s["mean"],
                s["sigma"],
                s["range"],
                s["pp"],
                s["ppk"],
                s["ppm"],
                s["failed"],
            ]
            for s in stats_rows
            if s["limits"] != "-"
        ],
        "informative_stats_rows": [
            [s["title"], s["n"], s["mean"], s["sigma"], s["range"]]
            for s in stats_rows
            if s["limits"] == "-"
        ],
        "stats_notes": [f"{s['title']}: {s['note']}" for s in stats_rows if s["note"]],
        "plots": plot_list,
        "digest": digest,
        "footer_text": f"lot {lot.get('lot_id', '')} - {len(runs)} records - "
        f"sha256 of lot and records (canonical JSON) {digest}",
    }
