"""The live transfer-error plot: error against the measured input, with limits and guard band.

Drawn on the server as inline SVG from the points the runner has judged so far (the same
values the record holds: error, its expanded uncertainty U, the tolerance limits and the
acceptance limits of the decision rule, ILAC-G8 w = U). The browser only shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bench.panel import svg

WIDTH, HEIGHT = 760.0, 360.0
LEFT, RIGHT, TOP, BOTTOM = 78.0, 16.0, 16.0, 56.0
#: marker and colour per series; colours chosen for contrast on white (WCAG 3:1 for graphics)
SERIES = {
    "up": ("triangle-up", "#0b4f9c"),
    "down": ("triangle-down", "#1b6e20"),
    "other": ("square", "#6a1b9a"),
}
#: room above the largest error (with its U) so its marker and ring stay inside the frame
HEADROOM = 1.1
LIMIT_COLOUR = "#c62828"
GUARD_COLOUR = "#b35c00"
RING = {"conditional pass": "#7a7a00", "conditional fail": "#b35c00", "fail": "#c62828"}


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def _series(point: dict[str, Any]) -> str:
    if point.get("characteristic") == "transmission_error" and point.get("direction") in (
        "up",
        "down",
    ):
        return str(point["direction"])
    return "other"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    r = 6.5
    if kind == "triangle-up":
        return svg.polygon([(x, y - r), (x - r, y + r * 0.8), (x + r, y + r * 0.8)], fill=colour)
    if kind == "triangle-down":
        return svg.polygon([(x, y + r), (x - r, y - r * 0.8), (x + r, y - r * 0.8)], fill=colour)
    return svg.rect(x - r * 0.8, y - r * 0.8, r * 1.6, r * 1.6, fill=colour)


def transfer_plot(points: list[dict[str, Any]], t: Callable[..., str]) -> str:
    """SVG of the judged transfer points so far (an empty frame before the first point)."""
    finite = [
        p for p in points if isinstance(p.get("value"), int | float) and math.isfinite(p["value"])
    ]
    limit = max(
        (abs(float(p[k])) for p in finite for k in ("lower", "upper") if p.get(k) is not None),
        default=20e-6,
    )
    extent = (
        max([limit * 1.25] + [abs(float(p["value"])) + float(p.get("U") or 0.0) for p in finite])
        * HEADROOM
        * 1e6
    )
    x_max = max([20.5] + [float(p["input_a"]) * 1e3 + 0.5 for p in finite])
    x_min = -0.5
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(ma: float) -> float:
        return LEFT + (ma - x_min) / (x_max - x_min) * plot_w

    def sy(ua: float) -> float:
        return TOP + (extent - ua) / (2 * extent) * plot_h

    body = [svg.rect(LEFT, TOP, plot_w, plot_h, fill="#ffffff", stroke="#444", stroke_width=1)]
    # grid and ticks
    step_y = _nice_step(2 * extent, 6)
    tick = -math.floor(extent / step_y) * step_y
    while tick <= extent + 1e-9:
        y = sy(tick)
        body.append(svg.line(LEFT, y, LEFT + plot_w, y, stroke="#d0d0d0", stroke_width=1))
        body.append(svg.text(LEFT - 8, y + 5, f"{tick:g}", text_anchor="end", class_="tick"))
        tick += step_y
    for ma in range(0, int(x_max) + 1, 2):
        x = sx(ma)
        body.append(svg.line(x, TOP, x, TOP + plot_h, stroke="#e2e2e2", stroke_width=1))
        body.append(svg.text(x, TOP + plot_h + 20, str(ma), text_anchor="middle", class_="tick"))
    body.append(
        svg.text(LEFT + plot_w / 2, HEIGHT - 10, t("plot_x"), text_anchor="middle", class_="axis")
    )
    body.append(
        svg.text(
            18,
            TOP + plot_h / 2,
            t("plot_y"),
            text_anchor="middle",
            transform=f"rotate(-90 18 {svg.num(TOP + plot_h / 2)})",
            class_="axis",
        )
    )
    # guard band: between each tolerance limit and the acceptance limit, point by point
    ordered = sorted(
        (p for p in finite if p.get("acceptance_upper") is not None), key=lambda p: p["input_a"]
    )
    for accept_key, limit_key in (("acceptance_upper", "upper"), ("acceptance_lower", "lower")):
        edge = [
            (sx(float(p["input_a"]) * 1e3), sy(float(p[accept_key]) * 1e6))
            for p in ordered
            if p.get(accept_key) is not None and p.get(limit_key) is not None
        ]
        bound = [
            (sx(float(p["input_a"]) * 1e3), sy(float(p[limit_key]) * 1e6))
            for p in ordered
            if p.get(accept_key) is not None and p.get(limit_key) is not None
        ]
        if len(edge) >= 2:
            body.append(svg.polygon(edge + bound[::-1], fill=GUARD_COLOUR, fill_opacity=0.18))
            body.append(
                svg.polyline(
                    edge, fill="none", stroke=GUARD_COLOUR, stroke_width=2, stroke_dasharray="7 4"
                )
            )
    for value in {float(p[k]) for p in finite for k in ("lower", "upper") if p.get(k) is not None}:
        y = sy(value * 1e6)
        body.append(svg.line(LEFT, y, LEFT + plot_w, y, stroke=LIMIT_COLOUR, stroke_width=2.5))
    if not finite:
        body.append(
            svg.line(
                LEFT,
                sy(limit * 1e6),
                LEFT + plot_w,
                sy(limit * 1e6),
                stroke=LIMIT_COLOUR,
                stroke_width=2.5,
            )
        )
        body.append(
            svg.line(
                LEFT,
                sy(-limit * 1e6),
                LEFT + plot_w,
                sy(-limit * 1e6),
                stroke=LIMIT_COLOUR,
                stroke_width=2.5,
            )
        )
    # points with U bars; a ring where the statement is not a plain pass
    for p in finite:
        x, y = sx(float(p["input_a"]) * 1e3), sy(float(p["value"]) * 1e6)
        u = float(p.get("U") or 0.0) * 1e6
        kind, colour = SERIES[_series(p)]
        parts = []
        if u > 0:
            y_hi, y_lo = sy(float(p["value"]) * 1e6 + u), sy(float(p["value"]) * 1e6 - u)
            parts.append(svg.line(x, y_hi, x, y_lo, stroke=colour, stroke_width=1.8))
            for yy in (y_hi, y_lo):
                parts.append(svg.line(x - 5, yy, x + 5, yy, stroke=colour, stroke_width=1.8))
        parts.append(_marker(kind, x, y, colour))
        ring = RING.get(str(p.get("statement", "")))
        if ring:
            parts.append(
                f"<circle {svg.attrs(cx=x, cy=y, r=13.0, fill='none', stroke=ring)} "
                'stroke-width="3"/>'
            )
        statement = svg.attrs(class_="pt", data_statement=p.get("statement", ""))
        body.append(f"<g {statement}>{''.join(parts)}</g>")
    worst = max(finite, key=lambda p: abs(float(p["value"])), default=None)
    title = (
        t("plot_title_empty")
        if worst is None
        else t(
            "plot_title",
            n=len(finite),
            error=f"{float(worst['value']) * 1e6:+.1f}",
            input=f"{float(worst['input_a']) * 1e3:.1f}",
            limit=f"{limit * 1e6:g}",
        )
    )
    return svg.svg(WIDTH, HEIGHT, body, title, class_="plot")


def legend(points: list[dict[str, Any]], t: Callable[..., str]) -> list[dict[str, str]]:
    """The plot's legend as data (the page lays it out as text, readable and translatable):
    the series that have points, the limit and the guard band."""
    present = {_series(p) for p in points}
    return [
        {"kind": kind, "colour": SERIES[kind][1], "label": t(f"legend_{kind}")}
        for kind in ("up", "down", "other")
        if kind in present
    ] + [
        {"kind": "limit", "colour": LIMIT_COLOUR, "label": t("legend_limit")},
        {"kind": "guard", "colour": GUARD_COLOUR, "label": t("legend_guard")},
    ]
