"""Plots for reports, rendered headless to PNG bytes from recorded data only.

Every function takes what was recorded (readings rows, waveform tables, lists of values) and
returns PNG bytes, or None when there is nothing to plot. Units on the axes: mA, µA, ms, V, Ω.

Drawn on a matplotlib ``Figure`` with the Agg canvas directly: no pyplot (no global figure
registry, no backend selection), and margins set once per figure in inches instead of
``tight_layout`` (which draws every figure an extra time to measure it). Each figure is drawn
exactly once, into the PNG (``python -m bench.benchmark``, phase "plots").
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110
LIMIT_COLOUR = "tab:red"
GUARD_COLOUR = "tab:orange"
SERIES_COLOURS = ["tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:cyan", "tab:olive"]
STATEMENT_EDGE = {"conditional pass": "#9ab31a", "conditional fail": "#e08a00", "fail": "#c00000"}

STYLE = {
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    # titles at a fixed height: no axis here has labels on top, and the automatic placement
    # measures every tick label of every axes at draw time
    "axes.titley": 1.0,
}


matplotlib.rcParams.update(STYLE)


def _figure(
    width_in: float,
    height_in: float,
    rows: int = 1,
    columns: int = 1,
    *,
    left_in: float = 0.62,
    right_in: float = 0.12,
    bottom_in: float = 0.45,
    top_in: float = 0.3,
    wspace_in: float = 0.0,
    hspace_in: float = 0.0,
    **subplots: object,
) -> tuple[Figure, np.ndarray]:
    """A Figure of ``rows`` x ``columns`` axes (always a 2-D array) with fixed margins in
    inches: room for the tick labels, axis labels and titles this module draws."""
    fig = Figure(figsize=(width_in, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False, **subplots)  # type: ignore[arg-type]
    plot_w = (width_in - left_in - right_in - wspace_in * (columns - 1)) / columns
    plot_h = (height_in - top_in - bottom_in - hspace_in * (rows - 1)) / rows
    fig.subplots_adjust(
        left=left_in / width_in,
        right=1 - right_in / width_in,
        bottom=bottom_in / height_in,
        top=1 - top_in / height_in,
        wspace=wspace_in / plot_w,
        hspace=hspace_in / plot_h,
    )
    return fig, axes


def _png(fig: Figure) -> bytes:
    """The figure drawn once by Agg, as PNG bytes."""
    buffer = io.BytesIO()
    fig.canvas.print_png(buffer)  # type: ignore[attr-defined]
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df:
        return pd.to_numeric(df[name], errors="coerce")
    return pd.Series(np.nan, index=df.index)


def _error_rows(readings: pd.DataFrame, characteristic: str) -> pd.DataFrame:
    if readings.empty or "characteristic" not in readings or "error_a" not in readings:
        return readings.iloc[0:0]
    rows = readings[readings["characteristic"] == characteristic]
    return rows[_col(rows, "error_a").notna()]


def _limit_lines(ax: Axes, rows: pd.DataFrame, label: bool = True) -> None:
    lo, hi = _col(rows, "lower_a").dropna(), _col(rows, "upper_a").dropna()
    for values, name in ((hi, "limit"), (lo, None)):
        if not values.empty:
            ax.axhline(
                float(values.iloc[0]) * 1e6,
                color=LIMIT_COLOUR,
                lw=1.2,
                label=(
                    f"limit ±{abs(float(values.iloc[0])) * 1e6:g} µA" if name and label else None
                ),
            )


def _mark_statements(ax: Axes, x: np.ndarray, y: np.ndarray, statements: Sequence) -> None:
    for xi, yi, st in zip(x, y, statements, strict=False):
        edge = STATEMENT_EDGE.get(str(st))
        if edge:
            ax.plot(xi, yi, "o", ms=11, mfc="none", mec=edge, mew=1.4, zorder=5)


def transfer_error_plot(readings: pd.DataFrame, limit_a: float, title: str) -> bytes:
    """Error vs input (µA vs mA), up and down, with U bars, the limits and the guard band.

    ``readings`` are transmission-error rows (``input_a``, ``error_a``, ``expanded_u_a``,
    ``direction``; ``acceptance_lower_a``/``acceptance_upper_a`` if recorded). Points whose
    statement is not PASS are ringed (conditional pass, conditional fail, fail).
    """
    fig, axes = _figure(7.6, 3.6)
    ax = axes[0][0]
    rows = readings.copy()
    rows["x"] = _col(rows, "input_a") * 1e3
    rows["y"] = _col(rows, "error_a") * 1e6
    rows["U"] = _col(rows, "expanded_u_a") * 1e6
    if "direction" not in rows:
        rows["direction"] = ""
    rows["direction"] = rows["direction"].fillna("")
    styles = {"up": ("^-", "tab:blue", "upscale"), "down": ("v-", "tab:green", "downscale")}
    for direction, part in rows.groupby("direction", sort=False):
        marker, colour, name = styles.get(direction, ("s", "tab:purple", "re-check"))
        ax.errorbar(
            part["x"],
            part["y"],
            yerr=part["U"].fillna(0),
            fmt=marker,
            color=colour,
            capsize=3,
            ms=5,
            lw=1,
            label=f"{name} (bars: U, k = 2)",
        )
    if "statement" in rows:
        _mark_statements(ax, rows["x"].to_numpy(), rows["y"].to_numpy(), rows["statement"])
    if _col(rows, "upper_a").notna().any():
        _limit_lines(ax, rows)
    else:
        ax.axhline(limit_a * 1e6, color=LIMIT_COLOUR, lw=1.2, label=f"limit ±{limit_a * 1e6:g} µA")
        ax.axhline(-limit_a * 1e6, color=LIMIT_COLOUR, lw=1.2)
    order = rows.sort_values("x")
    acc_hi, acc_lo = _col(order, "acceptance_upper_a"), _col(order, "acceptance_lower_a")
    if acc_hi.notna().any():
        guard_hi, guard_lo = acc_hi * 1e6, acc_lo * 1e6
    else:
        guard_hi = limit_a * 1e6 - order["U"]
        guard_lo = -guard_hi
    ax.plot(
        order["x"],
        guard_hi,
        color=GUARD_COLOUR,
        ls="--",
        lw=1,
        label="acceptance limit (guard band w = U)",
    )
    ax.plot(order["x"], guard_lo, color=GUARD_COLOUR, ls="--", lw=1)
    x_max = max(20.5, float(np.nanmax(rows["x"])) + 0.5) if rows["x"].notna().any() else 20.5
    ax.set_xlim(-0.5, x_max)
    ax.set_xlabel("measured input current (mA)")
    ax.set_ylabel("error I_out - I_in (µA)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", ncol=2)
    return _png(fig)


def transfer_error_by_condition_plot(readings: pd.DataFrame) -> bytes | None:
    """Transmission error vs input, one panel per supply voltage, one series per load.

    Uses every row that carries an error (accuracy traverse, supply effect, load effect), so
    the datasheet's +-0.1 % URV limit is seen at every supply and load the plan visited.
    Guard band: the acceptance limits of each point drawn as short dashes around it.
    """
    if readings.empty or "error_a" not in readings:
        return None
    rows = readings[_col(readings, "error_a").notna()].copy()
    rows = rows[rows["characteristic"].isin(["transmission_error", "supply_effect", "load_effect"])]
    if rows.empty:
        return None
    rows["x"] = _col(rows, "input_a") * 1e3
    rows["y"] = _col(rows, "error_a") * 1e6
    rows["U"] = _col(rows, "expanded_u_a").fillna(0) * 1e6
    rows["supply"] = _col(rows, "supply_v")
    rows["load"] = _col(rows, "load_ohm")
    supplies = sorted(v for v in rows["supply"].dropna().unique())
    if not supplies:
        return None
    loads = sorted(v for v in rows["load"].dropna().unique())
    colours = dict(
        zip(loads, ["tab:purple", "tab:blue", "tab:brown", "tab:olive", "tab:cyan"], strict=False)
    )
    fig, axes = _figure(7.6, 3.0, 1, len(supplies), top_in=0.55, wspace_in=0.1, sharey=True)
    ylim = max(25.0, float(np.nanmax(np.abs(rows["y"]) + rows["U"])) * 1.1)
    for ax, supply in zip(axes[0], supplies, strict=True):
        part = rows[rows["supply"] == supply].copy()
        panel_loads = sorted(part["load"].dropna().unique())
        for load, series in part.groupby("load"):
            series = series.sort_values("x").copy()
            # loads side by side around each input point, so their bars do not hide each other
            series["x"] += (panel_loads.index(load) - (len(panel_loads) - 1) / 2) * 0.6
            part.loc[series.index, "x"] = series["x"]
            ax.errorbar(
                series["x"],
                series["y"],
                yerr=series["U"],
                fmt="o",
                ms=3.5,
                capsize=2,
                lw=0.8,
                color=colours.get(load, "k"),
                label=f"{load:g} Ω",
            )
            acc_hi = _col(series, "acceptance_upper_a") * 1e6
            acc_lo = _col(series, "acceptance_lower_a") * 1e6
            ax.hlines(acc_hi, series["x"] - 0.3, series["x"] + 0.3, color=GUARD_COLOUR, lw=1)
            ax.hlines(acc_lo, series["x"] - 0.3, series["x"] + 0.3, color=GUARD_COLOUR, lw=1)
        if "statement" in part:
            _mark_statements(ax, part["x"].to_numpy(), part["y"].to_numpy(), part["statement"])
        _limit_lines(ax, part, label=False)
        ax.set_title(f"supply {supply:g} V")
        ax.set_xlabel("input (mA)")
        ax.set_xlim(-1, 21.5)
        ax.set_ylim(-ylim, ylim)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", title="load", title_fontsize=7)
    axes[0][0].set_ylabel("error I_out - I_in (µA)")
    fig.suptitle("Transmission error at each supply and load", fontsize=9.5)
    return _png(fig)


def effects_plot(readings: pd.DataFrame) -> bytes | None:
    """Supply effect (error vs supply V) and load effect (error vs load Ω), with U bars,
    limits and each point's acceptance limits."""
    supply = _error_rows(readings, "supply_effect")
    load = _error_rows(readings, "load_effect")
    if supply.empty and load.empty:
        return None
    panels = [
        p
        for p in (
            (supply, "supply_v", "supply voltage (V)", "Supply effect"),
            (load, "load_ohm", "load (Ω)", "Load effect"),
        )
        if not p[0].empty
    ]
    fig, axes = _figure(7.6, 3.0, 1, len(panels), wspace_in=0.55)
    for ax, (rows, key, xlabel, title) in zip(axes[0], panels, strict=True):
        rows = rows.copy()
        rows["y"] = _col(rows, "error_a") * 1e6
        rows["U"] = _col(rows, "expanded_u_a").fillna(0) * 1e6
        rows["set_ma"] = (_col(rows, "set_a") * 1e3).round(3)
        categories = sorted(_col(rows, key).dropna().unique())
        position = {v: i for i, v in enumerate(categories)}
        group_keys = ["set_ma"] + (["supply_v"] if key == "load_ohm" else [])
        groups = list(rows.groupby(group_keys))
        width = 0.6 / max(1, len(groups))
        for n, (gkey, part) in enumerate(groups):
            gkey = gkey if isinstance(gkey, tuple) else (gkey,)
            label = f"{gkey[0]:g} mA" + (f", {gkey[1]:g} V" if len(gkey) > 1 else "")
            x = (
                np.array([position[v] for v in _col(part, key)])
                + (n - (len(groups) - 1) / 2) * width
            )
            ax.errorbar(
                x,
                part["y"],
                yerr=part["U"],
                fmt="o",
                ms=4,
                capsize=2,
                lw=0.8,
                color=SERIES_COLOURS[n % len(SERIES_COLOURS)],
                label=label,
            )
            ax.hlines(
                _col(part, "acceptance_upper_a") * 1e6,
                x - width / 2,
                x + width / 2,
                color=GUARD_COLOUR,
                lw=1,
            )
            ax.hlines(
                _col(part, "acceptance_lower_a") * 1e6,
                x - width / 2,
                x + width / 2,
                color=GUARD_COLOUR,
                lw=1,
            )
            if "statement" in part:
                _mark_statements(ax, x, part["y"].to_numpy(), part["statement"])
        _limit_lines(ax, rows, label=False)
        ax.set_xticks(range(len(categories)), [f"{c:g}" for c in categories])
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", ncol=2)
    axes[0][0].set_ylabel("error I_out - I_in (µA)")
    return _png(fig)


def step_response_plot(waveforms: dict[str, pd.DataFrame], window_ms: float = 15.0) -> bytes | None:
    """Measured step response with the reference model and the fitted model overlaid (mA vs
    ms), and below it the residuals measured - reference and measured - fit (µA)."""
    names = [n for n in ("step_up", "step_down") if n in waveforms] or sorted(waveforms)
    names = [n for n in names if {"t_s", "output_a"} <= set(waveforms[n].columns)]
    if not names:
        return None
    fig, axes = _figure(
        7.6,
        4.4,
        2,
        len(names),
        left_in=0.75,
        wspace_in=0.7,
        hspace_in=0.12,
        sharex="col",
        gridspec_kw={"height_ratios": [2.2, 1]},
    )
    for col, name in enumerate(names):
        w = waveforms[name]
        t = _col(w, "t_s").to_numpy() * 1e3
        keep = t <= window_ms
        t = t[keep]
        out = _col(w, "output_a").to_numpy()[keep]
        top, bottom = axes[0][col], axes[1][col]
        peak = 0.0
        top.plot(t, out * 1e3, color="tab:blue", lw=1.6, label="measured")
        for key, style, label in (
            ("reference_a", dict(color="k", ls="--", lw=1), "reference model"),
            ("fitted_a", dict(color="tab:orange", ls=":", lw=1.4), "fitted"),
        ):
            if key in w:
                model = _col(w, key).to_numpy()[keep]
                top.plot(t, model * 1e3, label=label, **style)
                residual = (out - model) * 1e6
                bottom.plot(t, residual, label=f"measured - {label}", **style)
                if key == "reference_a" and residual.size:
                    peak = residual[np.nanargmax(np.abs(residual))]
        top.set_title(name.replace("_", " "))
        top.grid(alpha=0.3)
        top.legend(loc="center right")
        bottom.grid(alpha=0.3)
        bottom.set_xlabel("time after the step (ms)")
        bottom.legend(loc="upper right" if peak >= 0 else "lower right")
    axes[0][0].set_ylabel("output (mA)")
    axes[1][0].set_ylabel("residual (µA)")
    return _png(fig)


@dataclass
class HistogramPanel:
    title: str
    values: Sequence[float]  # already scaled to the display unit
    unit: str
    lower: float | None = None
    upper: float | None = None
    failed: Sequence[float] = ()


def lot_histograms(panels: Sequence[HistogramPanel], columns: int = 2) -> bytes | None:
    """One histogram per characteristic (per-unit governing values) with its limits."""
    panels = [p for p in panels if len(p.values)]
    if not panels:
        return None
    rows = math.ceil(len(panels) / columns)
    fig, axes = _figure(7.6, 2.3 * rows, rows, columns, top_in=0.25, hspace_in=0.7, wspace_in=0.55)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    for ax, p in zip(axes.flat, panels, strict=False):
        values = np.asarray(p.values, dtype=float)
        values = values[np.isfinite(values)]
        edges = [v for v in (p.lower, p.upper) if v is not None]
        span = np.concatenate([values, edges]) if edges else values
        lo, hi = float(np.min(span)), float(np.max(span))
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 1e-12)
        # bins over the data, but never narrower than 1/40 of the shown range (limits included)
        width = max(
            float(np.ptp(values)) / 12 if values.size > 1 else 0.0, (hi - lo + 2 * pad) / 40
        )
        start = float(np.min(values)) - width / 2
        bins = start + width * np.arange(int(np.ptp(values) / width) + 3)
        ax.hist(values, bins=bins, color="tab:blue", alpha=0.75, edgecolor="white")
        if len(p.failed):
            ax.hist(
                np.asarray(p.failed, dtype=float),
                bins=bins,
                color="tab:red",
                alpha=0.9,
                edgecolor="white",
                label="failed units",
            )
        for v, name in ((p.lower, "LSL"), (p.upper, "USL")):
            if v is not None:
                ax.axvline(v, color=LIMIT_COLOUR, lw=1.3)
                ax.annotate(
                    name,
                    (v, 1),
                    xycoords=("data", "axes fraction"),
                    xytext=(2, -10),
                    textcoords="offset points",
                    color=LIMIT_COLOUR,
                    fontsize=7,
                )
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_title(p.title, fontsize=8.5)
        ax.set_xlabel(p.unit)
        ax.set_ylabel("units")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    return _png(fig)
