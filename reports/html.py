"""Per-module HTML report, rendered from the run folder's record.json and readings.csv only."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from reports.plots import data_uri, transfer_error_plot

READING_COLUMNS = [
    ("direction", "dir", None),
    ("set_a", "set (mA)", 1e3),
    ("input_a", "I_in (mA)", 1e3),
    ("output_a", "I_out (mA)", 1e3),
    ("error_a", "error (uA)", 1e6),
    ("error_pct_urv", "error (% URV)", 1.0),
    ("expanded_u_a", "U (uA)", 1e6),
    ("statement", "statement", None),
    ("timestamp", "time (UTC)", None),
]


def _fmt(value: Any, scale: float | None, digits: int = 4) -> str:
    if scale is None:
        return (
            "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
        )
    try:
        number = float(value) * scale
    except (TypeError, ValueError):
        return ""
    return "n/a" if not math.isfinite(number) else f"{number:.{digits}g}"


def _unit_scale(unit: str) -> tuple[float, str]:
    return {
        "A": (1e6, "uA"),
        "V": (1.0, "V"),
        "ohm": (1.0, "ohm"),
        "Hz": (1.0, "Hz"),
        "s": (1e3, "ms"),
        "%": (1.0, "%"),
        "1": (1e6, "ppm"),
    }.get(unit, (1.0, unit))


def characteristic_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for m in record["measurements"]:
        rows.setdefault(m["characteristic"], []).append(m)
    order = ["pass", "informative", "conditional pass", "conditional fail", "fail"]
    out = []
    for _name, items in rows.items():
        scale, unit = _unit_scale(items[0]["unit"])
        statements = [i["statement"] for i in items]
        worst_statement = max(statements, key=lambda s: order.index(s) if s in order else 0)
        worst_item = max(
            items, key=lambda i: abs(i["value"]) if i["value"] is not None else math.inf
        )
        d = worst_item["decision"]
        lo, hi = d.get("lower"), d.get("upper")
        limits = " ... ".join(
            "-inf" if v is None and k == "lo" else "+inf" if v is None else _fmt(v, scale)
            for k, v in (("lo", lo), ("hi", hi))
        )
        us = [i["decision"].get("U") for i in items if i["decision"].get("U") is not None]
        turs = [i["decision"].get("tur") for i in items if i["decision"].get("tur") is not None]
        out.append(
            {
                "title": items[0]["title"],
                "count": str(len(items)),
                "worst_value": f"{_fmt(worst_item['value'], scale)} {unit}",
                "limits": f"{limits} {unit}"
                if (lo is not None or hi is not None)
                else "informative",
                "U": f"{_fmt(max(us), scale)} {unit}" if us else "-",
                "tur": _fmt(min(turs), 1.0, 3) if turs else "-",
                "statement": worst_statement.upper(),
                "css": worst_statement.replace(" ", "-"),
            }
        )
    return out


def write_html_report(folder: Path) -> Path:
    record_text = (folder / "record.json").read_text(encoding="utf-8")
    record = json.loads(record_text)
    readings_file = folder / "readings.csv"
    readings = pd.read_csv(readings_file) if readings_file.stat().st_size else pd.DataFrame()
    plots = []
    if not readings.empty and "step" in readings:
        sweep = readings[readings["characteristic"] == "transmission_error"]
        if not sweep.empty:
            limit = next(
                (
                    m["decision"]["upper"]
                    for m in record["measurements"]
                    if m["characteristic"] == "transmission_error"
                ),
                20e-6,
            )
            plots.append(
                {
                    "title": "Transmission error vs input",
                    "uri": data_uri(
                        transfer_error_plot(sweep, limit, f"{record['serial']}: transmission error")
                    ),
                }
            )
    headers = [label for key, label, _ in READING_COLUMNS if key in readings]
    rows = [
        [_fmt(row[key], scale) for key, _, scale in READING_COLUMNS if key in readings]
        for _, row in readings.iterrows()
    ]
    if record["outcome"] == "aborted":
        headline, css = f"ABORTED - {record['abort_reason']}", "aborted"
    else:
        headline = record["verdict"].upper()
        css = record["verdict"].replace(" ", "-")
        if record["outcome"] == "stopped":
            headline += f" (plan stopped: {record['abort_reason']})"
    safe_text = (
        "All outputs were verified off after the run."
        if record["safe_state_verified"]
        else "WARNING: the safe state of the bench could not be verified - inspect the bench."
    )
    ambient = "not recorded" if record.get("ambient_c") is None else f"{record['ambient_c']:.1f} C"
    bench_time = "-"
    if record.get("bench_time_s") is not None:
        bench_time = f"{record['bench_time_s']:.2f} s"
        if record.get("lower_bound_s"):
            bench_time += (
                f" (physical lower bound {record['lower_bound_s']:.2f} s, ratio "
                f"{record['bench_time_s'] / record['lower_bound_s']:.2f})"
            )
    env = Environment(
        loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    html = env.get_template("unit_report.html.j2").render(
        r=record,
        headline=headline,
        headline_class=css,
        characteristics=characteristic_rows(record),
        plots=plots,
        reading_headers=headers,
        reading_rows=rows,
        safe_state_text=safe_text,
        ambient=ambient,
        bench_time=bench_time,
        digest=hashlib.sha256(record_text.encode("utf-8")).hexdigest(),
    )
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
