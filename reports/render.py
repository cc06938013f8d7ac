"""Render every per-module and per-lot output from recorded files only.

``render_unit_reports(folder)`` writes into the run folder, next to ``record.json`` and
``readings.csv`` (never modified):

* ``report.html``  - the report for the browser (self-contained: plots inlined as PNG);
* ``report.pdf``   - the same content drawn with fpdf2 (``reports/unit_pdf.py``);
* ``readings.parquet`` - readings.csv as a typed table, run identity in its metadata;
* ``junit.xml``    - one test case per characteristic, for CI systems.

Each output is independent: one that fails is logged in one line and leaves
``<name>-error.txt`` (the traceback) instead; the others are still written.

``render_lot_report(lot, runs, out_folder)`` writes ``lot_report.html`` / ``lot_report.pdf``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import pickle
import struct
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from reports.summary import (
    ENGINEERING_STAMP,
    STATEMENT_COLOURS,
    VERDICT_WORDS,
    UnitData,
    display_unit,
    finite,
    load_unit,
)

log = logging.getLogger(__name__)

UNIT_TEMPLATE = "unit_report.html.j2"
LOT_TEMPLATE = "lot_report.html.j2"


def environment() -> Any:
    """The templates' jinja2 environment (jinja2 imported here: only the HTML needs it)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=False,
    )


def statement_cell(statement: str, text: str | None = None) -> dict[str, Any]:
    bg, _ = STATEMENT_COLOURS.get(statement, ("#ffffff", "#000000"))
    return {"text": (text or statement).upper(), "bg": bg, "b": statement != "informative"}


def _status_cell(status: str) -> dict[str, Any]:
    key = {"completed": "pass", "not run": "not run"}.get(status, "fail")
    return {"text": status, "bg": STATEMENT_COLOURS[key][0], "b": key == "fail"}


def column_widths(headers: list[str], rows: list[list[Any]]) -> list[int]:
    """Percent widths by content length (fpdf2 otherwise splits a table evenly): the longest
    cell of a column, or its longest header word (headers may wrap between words)."""
    lengths = []
    for i, h in enumerate(headers):
        cells = [str(r[i]["text"] if isinstance(r[i], dict) else r[i]) for r in rows]
        longest = max([len(c) for c in cells] + [len(w) for w in h.split()] + [2])
        lengths.append(min(longest, 30) + 1.5)
    total = sum(lengths)
    return [max(2, round(100 * n / total)) for n in lengths]


# ------------------------------------------------------------------------------ unit context
PDF_IMAGE_WIDTH_MM = 520 * 25.4 / 72  # <img width="520"> in the PDF: points -> mm


def plot_entry(title: str, caption: str, png: bytes) -> dict[str, Any]:
    """A plot for the reports: the PNG (PDF), inlined as a data URI (HTML), with its printed
    size in the PDF."""
    from reports import plots

    width, height = struct.unpack(">II", png[16:24])  # PNG IHDR
    return {
        "title": title,
        "caption": caption,
        "png": png,
        "uri": plots.data_uri(png),
        "width_mm": round(PDF_IMAGE_WIDTH_MM, 1),
        "height_mm": round(PDF_IMAGE_WIDTH_MM * height / max(width, 1), 1),
    }


#: the readings columns each plot reads (its input is projected on them, see PlotCache)
TRANSFER_COLUMNS = (
    "input_a",
    "error_a",
    "expanded_u_a",
    "direction",
    "statement",
    "lower_a",
    "upper_a",
    "acceptance_lower_a",
    "acceptance_upper_a",
)
CONDITION_COLUMNS = ("characteristic", "supply_v", "load_ohm", *TRANSFER_COLUMNS)
EFFECT_COLUMNS = (*CONDITION_COLUMNS, "set_a")
CONDITION_CHARACTERISTICS = ("transmission_error", "supply_effect", "load_effect")
EFFECT_CHARACTERISTICS = ("supply_effect", "load_effect")
#: what the step response step judges from its waveforms (procedures/steps/step_response.py)
STEP_RESPONSE_CHARACTERISTICS = (
    "limit_frequency",
    "rise_time",
    "settling_time",
    "overshoot",
    "time_constant",
    "dead_time",
    "model_residual",
)
#: plot -> the characteristics it shows: an early rendering leaves it while a step still to
#: come judges one of them (its data would change)
PLOT_SHOWS = {
    "transfer_error_plot": ("transmission_error",),
    "transfer_error_by_condition_plot": CONDITION_CHARACTERISTICS,
    "effects_plot": EFFECT_CHARACTERISTICS,
    "step_response_plot": STEP_RESPONSE_CHARACTERISTICS,
}


class Superseded(Exception):
    """An early rendering stopped between two plots: newer data (or the final request)
    is waiting (reports/worker.py)."""


class PlotCache:
    """PNG plots by the exact data they were drawn from.

    The report worker draws the plots of a run folder as soon as a step has finished, from
    the files as saved (reports/worker.py); the final rendering then reuses a PNG only when
    the plot's input is the same (same columns, dtypes, index and values, same other
    arguments) and draws it again otherwise (a step re-run, a point added later). A plot is
    a function of its input alone (Agg draws the same PNG bytes for the same data, see
    tests/reports/test_early_plots.py), so a reused PNG is the one a fresh rendering draws.
    """

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._pngs: dict[bytes, bytes | None] = {}
        #: called before each plot drawn; True stops the rendering (:class:`Superseded`)
        self.stop: Callable[[], bool] | None = None
        #: characteristics steps still to come judge: plots showing them are not drawn
        self.pending: frozenset[str] = frozenset()
        #: run folder -> the plots its last complete early rendering could draw
        self.drawable: dict[str, frozenset[str]] = {}
        self.reused = 0
        self.drawn = 0

    def png(self, draw: Callable[..., bytes | None], *args: Any) -> bytes | None:
        """``draw(*args)``, or the PNG drawn from the same input before."""
        key = plot_key(draw.__name__, args)
        if key in self._pngs:
            self.reused += 1
            return self._pngs[key]
        if self.pending & set(PLOT_SHOWS.get(draw.__name__, ())):
            return None  # drawn when no step to come changes its data
        if self.stop is not None and self.stop():
            raise Superseded
        png = draw(*args)
        self.drawn += 1
        self._pngs[key] = png
        while len(self._pngs) > self.size:  # the oldest first (dicts keep insertion order)
            del self._pngs[next(iter(self._pngs))]
        return png


def plot_key(name: str, args: tuple[Any, ...]) -> bytes:
    """sha256 of a plot's name and its whole input, exactly: every DataFrame by its column
    names, dtypes, values and index (not by its memory layout, which differs between two
    reads of the same file)."""
    digest = hashlib.sha256(name.encode())

    def add(value: Any) -> None:
        if isinstance(value, pd.DataFrame):
            digest.update(b"frame")
            digest.update(pickle.dumps(value.index.to_numpy(), protocol=5))
            for column in value.columns:
                digest.update(pickle.dumps((column, str(value[column].dtype)), protocol=5))
                digest.update(pickle.dumps(value[column].to_numpy(), protocol=5))
        elif isinstance(value, dict):
            digest.update(b"dict")
            for k in sorted(value):
                digest.update(repr(k).encode())
                add(value[k])
        else:
            digest.update(pickle.dumps(value, protocol=5))

    for arg in args:
        add(arg)
    return digest.digest()


def _plain(*fn_args: Any) -> Any:
    draw, *args = fn_args
    return draw(*args)


def _plots(u: UnitData, cache: PlotCache | None = None) -> list[dict[str, Any]]:
    """Every plot of the unit report, rendered once and shared by the HTML and the PDF.

    Each plot gets only the rows and columns it reads, so that its input (and a
    :class:`PlotCache` key) does not change when a later step adds unrelated readings."""
    from reports import plots

    draw = cache.png if cache is not None else _plain
    out: list[dict[str, Any]] = []
    rd = u.readings
    serial = u.record.get("serial", "")
    if not rd.empty and {"characteristic", "error_a", "step"} <= set(rd.columns):
        te = rd[rd["characteristic"] == "transmission_error"].copy()
        if "after" in te:
            te.loc[te["after"].notna(), "direction"] = "re-check"
        if not te.empty:
            cond = ""
            s, ld = te.get("supply_v"), te.get("load_ohm")
            if s is not None and ld is not None and s.notna().any() and ld.notna().any():
                cond = f", {s.dropna().iloc[0]:g} V, {ld.dropna().iloc[0]:g} Ω"
            limit = next(
                (
                    finite((m.get("decision") or {}).get("upper"))
                    for m in u.record.get("measurements", [])
                    if m["characteristic"] == "transmission_error"
                ),
                None,
            )
            png = draw(
                plots.transfer_error_plot,
                te[[c for c in TRANSFER_COLUMNS if c in te]],
                limit or 20e-6,
                f"{serial}: transmission error vs input{cond}",
            )
            if png:  # (None only from an early rendering that leaves it for later)
                out.append(
                    plot_entry(
                        "Transmission error vs input",
                        f"Accuracy traverse (IEC 61298-2) up and down{cond}; bars: expanded "
                        "uncertainty U (95 %); red: tolerance limits; orange dashed: "
                        "acceptance limits (limits narrowed by the guard band w = U). Ringed "
                        "points: not a plain PASS.",
                        png,
                    )
                )
        errors = rd[plots._col(rd, "error_a").notna()]
        png = draw(
            plots.transfer_error_by_condition_plot,
            _rows(errors, CONDITION_CHARACTERISTICS, CONDITION_COLUMNS),
        )
        if png:
            out.append(
                plot_entry(
                    "Transmission error vs input at each supply and load",
                    "Every reading with an error (accuracy traverse, supply-effect and "
                    "load-effect points): one panel per supply voltage, one colour per load; "
                    "red: limits; orange dashes: acceptance limits of each point.",
                    png,
                )
            )
        png = draw(plots.effects_plot, _rows(errors, EFFECT_CHARACTERISTICS, EFFECT_COLUMNS))
        if png:
            out.append(
                plot_entry(
                    "Supply and load effects",
                    "Error at each supply voltage (250 Ω) and at each load, per input current; "
                    "red: limits; orange dashes: acceptance limits of each point.",
                    png,
                )
            )
    png = draw(plots.step_response_plot, u.waveforms)
    if png:
        out.append(
            plot_entry(
                "Step response",
                "Digitised output after the input step (first 15 ms) with the reference model "
                "(first order, f_c = 100 Hz) and the model fitted to this unit overlaid; below, "
                "the residuals.",
                png,
            )
        )
    return out


def _rows(
    readings: pd.DataFrame, characteristics: tuple[str, ...], columns: tuple[str, ...]
) -> pd.DataFrame:
    """The readings of ``characteristics``, only the ``columns`` a plot reads (those present)."""
    rows = readings[readings["characteristic"].isin(characteristics)]
    return rows[[c for c in columns if c in rows]]


_READING_COLUMNS: list[tuple[str, str, str]] = [
    # key, header, kind
    ("timestamp", "time (UTC)", "time"),
    ("characteristic", "characteristic", "str"),
    ("supply_v", "supply V", "num"),
    ("load_ohm", "load Ω", "num"),
    ("set_a", "set mA", "mA"),
    ("direction", "dir", "str"),
    ("input_a", "I_in mA", "mA6"),
    ("output_a", "I_out mA", "mA6"),
    ("error_a", "error µA", "uA"),
    ("expanded_u_a", "U µA", "uA"),
    ("value", "value", "value"),
    ("expanded_u", "U", "value_u"),
    ("statement", "statement", "str"),
]


def _reading_cell(row: pd.Series, key: str, kind: str) -> str:
    v = row.get(key)
    if kind == "time":
        return str(v)[11:23] if isinstance(v, str) else ""
    if kind == "str":
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    x = finite(v)
    if x is None:
        return ""
    if kind == "num":
        return f"{x:g}"
    if kind == "mA":
        return f"{x * 1e3:g}"
    if kind == "mA6":
        return f"{x * 1e3:.6f}"
    if kind == "uA":
        return f"{x * 1e6:.2f}"
    unit = str(row.get("unit", "")) if isinstance(row.get("unit"), str) else ""
    du = display_unit(unit, abs(finite(row.get("value")) or 0.0))
    # value and U to the decimal place of U with two significant digits (GUM 7.2.6); a
    # reading without U keeps five significant digits
    return du.fmt(
        x, decimals=du.decimals_for(row.get("expanded_u")), sig=5 if kind == "value" else 2
    )


def reading_tables(u: UnitData) -> list[dict[str, Any]]:
    rd = u.readings
    if rd.empty or "step" not in rd:
        return []
    titles = {s.get("name"): s.get("title", s.get("name")) for s in u.record.get("steps", [])}
    tables = []
    for step, part in rd.groupby("step", sort=False):
        cols = []
        for key, header, kind in _READING_COLUMNS:
            if key not in part or part[key].isna().all():
                continue
            if key == "characteristic" and part[key].nunique() < 2:
                continue
            cols.append((key, header, kind))
        rows = [[_reading_cell(row, k, kind) for k, _, kind in cols] for _, row in part.iterrows()]
        headers = [h for _, h, _ in cols]
        tables.append(
            {
                "title": f"{titles.get(step, step)} ({len(part)} readings)",
                "headers": headers,
                "widths": column_widths(headers, rows),
                "aligns": ["left" if kind in ("str", "time") else "right" for _, _, kind in cols],
                "rows": rows,
            }
        )
    return tables


def _unit_context(u: UnitData, mode: str, plot_list: list[dict[str, Any]]) -> dict[str, Any]:
    r = u.record
    ambient = "not recorded" if finite(r.get("ambient_c")) is None else f"{r['ambient_c']:.1f} °C"
    humidity = (
        "not recorded" if finite(r.get("humidity_pct")) is None else f"{r['humidity_pct']:.0f} %RH"
    )
    bench_time = "-"
    if finite(r.get("bench_time_s")) is not None:
        clock = "modelled" if r.get("bench_clock") == "simulator" else "wall clock"
        bench_time = f"{r['bench_time_s']:.2f} s ({clock})"
        if finite(r.get("lower_bound_s")) and clock == "modelled":
            bench_time += (
                f" (physical lower bound {r['lower_bound_s']:.2f} s, ratio "
                f"{r['bench_time_s'] / r['lower_bound_s']:.2f})"
            )
    module = u.profile.get("module", {}) if u.profile else {}
    datasheet = module.get("datasheet") or "not recorded in the run folder"
    profile_note = u.profile_source or (
        "not recorded: the run folder holds no copy of the profile (datasheet lines missing)"
    )
    software = ", ".join(f"{k} {v}" for k, v in (r.get("software") or {}).items())
    module_pairs = [
        ("module type", r.get("module_type", "")),
        ("serial", r.get("serial", "")),
        ("lot", r.get("lot") or "-"),
        ("supplier", r.get("supplier") or "-"),
        ("date code", r.get("date_code") or "-"),
        ("module profile", r.get("profile", "")),
        ("datasheet source", datasheet),
        ("profile as recorded", profile_note),
        ("software", software or "-"),
    ]
    run_pairs = [
        ("station", f"{r.get('station', '')} ({r.get('topology', '')} topology)"),
        ("operator", r.get("operator") or "-"),
        ("ambient temperature", ambient),
        ("relative humidity", humidity),
        ("started (UTC)", r.get("started_at", "")),
        ("ended (UTC)", r.get("ended_at") or "-"),
        ("outcome", r.get("outcome", "")),
        ("bench time", bench_time),
        ("engineering run", ENGINEERING_STAMP if u.engineering else "no (production run)"),
    ]
    identity_rows = [[a, b] for a, b in zip(module_pairs, run_pairs, strict=True)]
    identity_rows.append([("run id", r.get("run_id", "")), ("record sha256", u.record_sha256)])
    instrument_rows = [
        [i.role, i.model, i.idn, i.serial, i.calibration_due, i.resource] for i in u.instruments
    ]
    summary_rows = [
        [
            c.title,
            c.value,
            c.conditions,
            c.limits,
            c.U,
            c.tur,
            c.probability,
            statement_cell(c.statement),
        ]
        for c in u.characteristics
    ]
    informative_rows = [
        [
            c.title if n == 0 else "",
            row.conditions,
            row.value,
            row.U,
            (c.datasheet or "-") if n == 0 else "",
        ]
        for c in u.characteristics
        if not c.judged
        for n, row in enumerate(c.rows)
    ]
    detail_rows = {
        c.name: [
            [
                row.conditions,
                row.value,
                row.U,
                row.limits,
                row.acceptance,
                row.tur,
                row.probability,
                statement_cell(row.statement),
            ]
            for row in c.rows
        ]
        for c in u.characteristics
        if c.judged
    }
    step_rows = [
        [
            s.get("title") or s.get("name", ""),
            _status_cell(str(s.get("status", ""))),
            str(s.get("started_at") or "-")[11:23],
            str(s.get("ended_at") or "-")[11:23],
            s.get("message") or "",
        ]
        for s in r.get("steps", [])
    ]
    not_run_rows = [
        [s.get("title") or s.get("name", ""), s.get("status", ""), s.get("message") or ""]
        for s in u.steps_not_run
    ]
    names = [c.title for c in u.characteristics]
    measured_text = (
        f"{len(r.get('measurements', []))} results of {len(names)} characteristics "
        f"({'; '.join(names)})"
        if names
        else "nothing"
    )
    allowances = [
        finite((m.get("decision") or {}).get("allowance")) or 0.0 for m in r.get("measurements", [])
    ]
    allowance_text = ""
    if any(a > 0 for a in allowances):
        allowance_text = (
            f"Temperature allowance applied: limits marked typical/temperature-dependent were "
            f"widened by up to {max(allowances) * 1e6:.2f} µA for the recorded ambient {ambient} "
            "(datasheet temperature coefficient times the distance to the reference temperature)."
        )
    safe_state_text = (
        "Safe state: all outputs were verified off after the run."
        if r.get("safe_state_verified")
        else "WARNING: the safe state of the bench could not be verified - inspect the bench. "
        + "; ".join(f"{k}: {v}" for k, v in (r.get("safe_state") or {}).items())
    )
    key = u.headline_key
    verdict_words = VERDICT_WORDS.get(u.verdict, "")
    if u.outcome == "aborted":
        verdict_words = "The run was aborted: the module was not completely inspected."
        if u.characteristics:
            verdict_words += f" Statement over what was measured: {u.verdict.upper()}."
    elif u.outcome == "stopped":
        verdict_words = f"The plan was stopped early. {verdict_words}"
    return {
        "mode": mode,
        "u": u,
        "stamp": ENGINEERING_STAMP,
        "headline_class": key.replace(" ", "-"),
        "headline_bg": STATEMENT_COLOURS.get(key, ("#ffffff", ""))[0],
        "verdict_words": verdict_words,
        "allowance_text": allowance_text,
        "safe_state_text": safe_state_text,
        "identity_rows": identity_rows,
        "instrument_rows": instrument_rows,
        "summary_rows": summary_rows,
        "detail_rows": detail_rows,
        "judged": [c for c in u.characteristics if c.judged],
        "informative_rows": informative_rows,
        "step_rows": step_rows,
        "not_run_rows": not_run_rows,
        "measured_text": measured_text,
        "plots": plot_list,
        "reading_tables": reading_tables(u),
        "reading_count": len(u.readings),
        "footer_text": footer_text(u),
    }


def footer_text(u: UnitData) -> str:
    r = u.record
    return (
        f"isobench {(r.get('software') or {}).get('isobench', '?')} - {r.get('serial', '')} - "
        f"run {r.get('run_id', '')[:12]} - record.json sha256 {u.record_sha256}"
    )


def render_unit_html(u: UnitData, mode: str, plot_list: list[dict[str, Any]]) -> str:
    return environment().get_template(UNIT_TEMPLATE).render(**_unit_context(u, mode, plot_list))


# ------------------------------------------------------------------------------ writers
def write_html(u: UnitData, plot_list: list[dict[str, Any]]) -> Path:
    path = u.folder / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_unit_html(u, "html", plot_list), encoding="utf-8")
    tmp.replace(path)
    return path


def write_pdf(u: UnitData, plot_list: list[dict[str, Any]]) -> Path:
    from reports.unit_pdf import draw_unit_report

    r = u.record
    return draw_unit_report(
        _unit_context(u, "pdf", plot_list),
        u.folder / "report.pdf",
        running_title=(
            f"Incoming inspection {r.get('module_type', '')} serial {r.get('serial', '')} - "
            f"{u.headline}"
        ),
        footer_text=footer_text(u),
        banner=ENGINEERING_STAMP if u.engineering else "",
        title=f"Incoming inspection {r.get('module_type', '')} {r.get('serial', '')}",
        subject=f"verdict {u.headline}; record sha256 {u.record_sha256}",
        keywords=ENGINEERING_STAMP if u.engineering else "",
    )


def typed_readings(readings: pd.DataFrame) -> pd.DataFrame:
    """readings.csv as read by pandas, with the one ambiguity fixed: a column of booleans
    with gaps (object dtype in pandas) becomes a nullable boolean column."""
    out = readings.copy()
    for name in out.columns:
        col = out[name]
        if col.dtype == object:
            present = col.dropna()
            if len(present) and all(isinstance(v, bool) for v in present):
                out[name] = col.astype("boolean")
    return out


def write_parquet(u: UnitData) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(typed_readings(u.readings), preserve_index=False)
    r = u.record
    meta = {
        "serial": r.get("serial", ""),
        "run_id": r.get("run_id", ""),
        "module_type": r.get("module_type", ""),
        "verdict": r.get("verdict", ""),
        "outcome": r.get("outcome", ""),
        "record_sha256": u.record_sha256,
        "engineering": bool(u.engineering),
        "stamp": ENGINEERING_STAMP if u.engineering else "",
        "source": "readings.csv",
    }
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[b"isobench"] = json.dumps(meta).encode("utf-8")
    if u.engineering:
        schema_meta[b"isobench.stamp"] = ENGINEERING_STAMP.encode("utf-8")
    table = table.replace_schema_metadata(schema_meta)
    path = u.folder / "readings.parquet"
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def write_junit(u: UnitData) -> Path:
    from reports.junit import write_junit as _write

    return _write(u, u.folder / "junit.xml")


#: seconds each part of the last render_unit_reports took (load, plots, html, pdf, parquet,
#: junit): what the benchmark reports, also from the report worker
last_seconds: dict[str, float] = {}


def _guard(name: str, folder: Path, fn: Callable[[], Path], outputs: dict[str, Path]) -> None:
    start = time.perf_counter()
    try:
        outputs[name] = fn()
        (folder / f"{name}-error.txt").unlink(missing_ok=True)
    except Exception as exc:
        log.error("%s report failed: %s: %s", name, type(exc).__name__, exc)
        with contextlib.suppress(OSError):
            (folder / f"{name}-error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    finally:
        last_seconds[name] = time.perf_counter() - start
        log.debug("%s rendered in %.2f s", name, last_seconds[name])


def render_unit_reports(folder: Path, plot_cache: PlotCache | None = None) -> dict[str, Path]:
    """Write report.html, report.pdf, readings.parquet and junit.xml into the run folder.

    Returns {"html", "pdf", "parquet", "junit": path} for the outputs written. Reading the
    folder itself failing (no record.json) writes ``report-error.txt`` and returns {}.
    ``plot_cache``: the plots drawn early from this folder (:func:`render_plots_early`).
    """
    folder = Path(folder)
    outputs: dict[str, Path] = {}
    holder: dict[str, Any] = {}
    last_seconds.clear()

    def load() -> Path:
        holder["u"] = load_unit(folder)
        return folder / "record.json"

    _guard("report", folder, load, outputs)
    outputs.pop("report", None)
    u: UnitData | None = holder.get("u")
    if u is None:
        return outputs
    plot_list: list[dict[str, Any]] = []
    start = time.perf_counter()
    try:
        plot_list = _plots(u) if plot_cache is None else _plots(u, plot_cache)
    except Exception as exc:  # the reports still render, without plots
        log.error("plots failed: %s: %s", type(exc).__name__, exc)
        (folder / "plots-error.txt").write_text(traceback.format_exc(), encoding="utf-8")
    last_seconds["plots"] = time.perf_counter() - start
    _guard("html", folder, lambda: write_html(u, plot_list), outputs)
    _guard("pdf", folder, lambda: write_pdf(u, plot_list), outputs)
    _guard("parquet", folder, lambda: write_parquet(u), outputs)
    _guard("junit", folder, lambda: write_junit(u), outputs)
    return outputs


def render_plots_early(
    folder: Path,
    cache: PlotCache,
    stop: Callable[[], bool],
    pending: frozenset[str] | None = None,
) -> None:
    """Draw the plots of a run still in progress into ``cache``, from its files as saved
    (the record, readings.csv and waveforms/ may be mid-write: whatever was read is only
    reused for input that is exactly the same at the end). ``stop`` is asked before each
    plot; True ends the rendering (newer data or the final request is waiting). ``pending``:
    the characteristics steps still to come judge (:data:`PLOT_SHOWS`); None: draw every
    plot. With ``pending`` given, the folder is read only when a plot became drawable since
    the last complete early rendering (the worker's CPU is the run's other core; a plot whose
    data changed after anyway is drawn by the final rendering). Never raises (a folder
    mid-write may be unreadable)."""
    drawable = None
    if pending is not None:
        drawable = frozenset(n for n, shows in PLOT_SHOWS.items() if not pending & set(shows))
        if drawable <= cache.drawable.get(str(folder), frozenset()):
            return
    cache.stop, cache.pending = stop, pending or frozenset()
    try:
        _plots(load_unit(Path(folder)), cache)
        if drawable is not None:
            cache.drawable[str(folder)] = drawable
    except Superseded:
        pass
    except Exception as exc:
        log.debug("early plots of %s: %s: %s", folder, type(exc).__name__, exc)
    finally:
        cache.stop, cache.pending = None, frozenset()


# ------------------------------------------------------------------------------ lot
def render_lot_report(
    lot: dict[str, Any], runs: list[dict[str, Any]], out_folder: Path
) -> dict[str, Path]:
    """Write lot_report.html and lot_report.pdf (same context) into ``out_folder``."""
    from reports.lot import lot_context

    out_folder = Path(out_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    holder: dict[str, Any] = {}

    def build() -> Path:
        holder["ctx"] = lot_context(lot, runs)
        return out_folder

    _guard("lot_report", out_folder, build, outputs)
    outputs.pop("lot_report", None)
    ctx = holder.get("ctx")
    if ctx is None:
        return outputs
    template = environment().get_template(LOT_TEMPLATE)

    def html() -> Path:
        path = out_folder / "lot_report.html"
        path.write_text(template.render(mode="html", **ctx), encoding="utf-8")
        return path

    def pdf() -> Path:
        from reports.lot_pdf import draw_lot_report

        return draw_lot_report(
            ctx,
            out_folder / "lot_report.pdf",
            running_title=f"Lot report {ctx['lot_id']} - {ctx['disposition_text']}",
            footer_text=ctx["footer_text"],
            banner=ENGINEERING_STAMP if ctx["engineering"] else "",
            title=f"Lot report {ctx['lot_id']}",
            subject=f"disposition {ctx['disposition_text']}",
        )

    _guard("lot_html", out_folder, html, outputs)
    _guard("lot_pdf", out_folder, pdf, outputs)
    return {{"lot_html": "html", "lot_pdf": "pdf"}[k]: v for k, v in outputs.items()}
