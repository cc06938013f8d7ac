"""The fixture's wiring picture, drawn from the station file (topology, models, shunts, channels).

What the operator checks before pressing Enter: which instrument goes to which terminal of the
module, where the shunts sit and which scanner channel reads each. The two topologies are those
of ``procedures/measurement.py``: ``direct`` (the source's read-back and a DMM in series with
the output) and ``shunt-scan`` (4-wire shunts in the input, output and supply loops read by one
DMM through its scanner; a relay on a digital line of the source bypasses the module for the
shunt-ratio calibration). Supply terminal numbers from the 857-411 datasheet (3/7 Us+, 4/8 GND,
internally commoned).
"""

from __future__ import annotations

from collections.abc import Callable

from bench.panel import svg
from bench.station import Station

WIDTH, HEIGHT = 940.0, 500.0
WIRE = {"stroke": "#111", "stroke_width": 3, "fill": "none"}
RELAY = {"stroke": "#111", "stroke_width": 2.5, "fill": "none"}
CONTROL = {"stroke": "#6a1b9a", "stroke_width": 2.5, "fill": "none", "stroke_dasharray": "3 5"}

# geometry: module in the middle, source left, load right, supply above, DMM below
MODULE = (370.0, 170.0, 200.0, 160.0)
SOURCE = (20.0, 170.0, 170.0, 160.0)
LOAD = (770.0, 170.0, 150.0, 160.0)
SUPPLY = (330.0, 14.0, 280.0, 66.0)
DMM = (250.0, 420.0, 440.0, 66.0)
TOP_Y, BOTTOM_Y = 230.0, 300.0  # the IN+/OUT+ and IN-/OUT- wires


def _box(rect: tuple[float, float, float, float], title: str, detail: str) -> list[str]:
    x, y, w, h = rect
    return [
        svg.rect(x, y, w, h, rx=8, fill="#f4f6f8", stroke="#111", stroke_width=2.5),
        svg.text(x + w / 2, y + h / 2 - 4, title, text_anchor="middle", class_="box-title"),
        svg.text(x + w / 2, y + h / 2 + 20, detail, text_anchor="middle", class_="box-detail"),
    ]


def _terminal(x: float, y: float, label: str, anchor: str, dx: float, dy: float) -> list[str]:
    return [
        f'<circle {svg.attrs(cx=x, cy=y, r=6.0, fill="#fff", stroke="#111")} stroke-width="2.5"/>',
        svg.text(x + dx, y + dy, label, text_anchor=anchor, class_="terminal"),
    ]


def _shunt_h(x: float, y: float, value: str, channel: str) -> list[str]:
    """A horizontal IEC resistor centred on (x, y): its value above, its channel below."""
    return [
        svg.rect(x - 26, y - 10, 52, 20, fill="#fff", stroke="#111", stroke_width=2.5),
        svg.text(x, y - 18, value, text_anchor="middle", class_="part"),
        svg.text(x, y + 32, channel, text_anchor="middle", class_="channel"),
    ]


def _shunt_v(x: float, y: float, value: str, channel: str) -> list[str]:
    return [
        svg.rect(x - 10, y - 22, 20, 44, fill="#fff", stroke="#111", stroke_width=2.5),
        svg.text(x - 18, y - 2, value, text_anchor="end", class_="part"),
        svg.text(x - 18, y + 18, channel, text_anchor="end", class_="channel"),
    ]


def _hop_down(x: float, y_from: float, y_to: float, y_cross: float) -> str:
    """A vertical wire that hops over a horizontal one at ``y_cross`` (no connection there)."""
    path = (
        f"M{svg.num(x)} {svg.num(y_from)} V{svg.num(y_cross - 8)} "
        f"A8 8 0 0 1 {svg.num(x)} {svg.num(y_cross + 8)} V{svg.num(y_to)}"
    )
    return f"<path {svg.attrs(d=path, **RELAY)}/>"


def wiring_svg(station: Station, t: Callable[..., str]) -> str:
    """The station's fixture as an SVG the instruction screen shows."""
    shunt_scan = station.station.topology == "shunt-scan"
    w = station.wiring
    models = {role: cfg.model for role, cfg in station.instruments.items()}
    mx, my, mw, mh = MODULE
    in_p, in_n = (mx, TOP_Y), (mx, BOTTOM_Y)
    out_p, out_n = (mx + mw, TOP_Y), (mx + mw, BOTTOM_Y)
    us, gnd = (mx + 55, my), (mx + mw - 55, my)
    src_right = SOURCE[0] + SOURCE[2]
    load_left = LOAD[0]
    sup_bottom = SUPPLY[1] + SUPPLY[3]

    body = [
        svg.rect(mx, my, mw, mh, rx=6, fill="#fff7d6", stroke="#111", stroke_width=3),
        svg.text(
            mx + mw / 2, my + mh / 2 + 18, "WAGO 857-411", text_anchor="middle", class_="box-title"
        ),
        svg.text(
            mx + mw / 2,
            my + mh / 2 + 40,
            t("wiring_module"),
            text_anchor="middle",
            class_="box-detail",
        ),
    ]
    body += _box(SOURCE, t("role_source"), models["source"])
    body += _box(LOAD, t("role_load"), models["load"])
    body += _box(SUPPLY, t("role_supply"), models["supply"])
    body += [
        svg.text(src_right - 10, TOP_Y - 8, "HI", text_anchor="end", class_="terminal"),
        svg.text(src_right - 10, BOTTOM_Y - 8, "LO", text_anchor="end", class_="terminal"),
        svg.line(*in_n, src_right, BOTTOM_Y, **WIRE),
        svg.line(*out_n, load_left, BOTTOM_Y, **WIRE),
        svg.line(gnd[0], sup_bottom, *gnd, **WIRE),
    ]
    if shunt_scan:
        r_in_x, r_out_x, r_s_y = 270.0, 680.0, 125.0
        body += [
            svg.line(src_right, TOP_Y, r_in_x - 26, TOP_Y, **WIRE),
            svg.line(r_in_x + 26, TOP_Y, *in_p, **WIRE),
            svg.line(*out_p, r_out_x - 26, TOP_Y, **WIRE),
            svg.line(r_out_x + 26, TOP_Y, load_left, TOP_Y, **WIRE),
            svg.line(us[0], sup_bottom, us[0], r_s_y - 22, **WIRE),
            svg.line(us[0], r_s_y + 22, *us, **WIRE),
        ]
        body += _shunt_h(
            r_in_x, TOP_Y, f"{w.input_shunt_ohm:g} Ω", t("wiring_channel", n=w.input_shunt_channel)
        )
        body += _shunt_h(
            r_out_x,
            TOP_Y,
            f"{w.output_shunt_ohm:g} Ω",
            t("wiring_channel", n=w.output_shunt_channel),
        )
        body += _shunt_v(
            us[0], r_s_y, f"{w.supply_shunt_ohm:g} Ω", t("wiring_channel", n=w.supply_shunt_channel)
        )
        body.append(
            svg.text(
                LOAD[0] + LOAD[2] / 2,
                LOAD[1] + LOAD[3] + 24,
                t("wiring_channel", n=w.load_channel),
                text_anchor="middle",
                class_="channel",
            )
        )
        # the bypass relay joins the module's input and output nodes (shunt-ratio calibration)
        a_x, b_x, relay_y = r_in_x + 62, r_out_x - 62, 370.0
        body += [
            f"<circle {svg.attrs(cx=a_x, cy=TOP_Y, r=4.5, fill='#111')}/>",
            f"<circle {svg.attrs(cx=b_x, cy=TOP_Y, r=4.5, fill='#111')}/>",
            _hop_down(a_x, TOP_Y, relay_y, BOTTOM_Y),
            _hop_down(b_x, TOP_Y, relay_y, BOTTOM_Y),
            svg.line(a_x, relay_y, 450, relay_y, **RELAY),
            svg.line(450, relay_y, 488, relay_y - 16, **RELAY),
            f"<circle {svg.attrs(cx=492.0, cy=relay_y, r=3.5, fill='#111')}/>",
            svg.line(492, relay_y, b_x, relay_y, **RELAY),
            svg.text(
                470,
                relay_y + 26,
                t("wiring_bypass", n=w.bypass_line),
                text_anchor="middle",
                class_="control",
            ),
        ]
        body += _box(DMM, t("role_dmm"), f"{models['dmm']} + {t('wiring_scanner')}")
        trigger_x = SOURCE[0] + 40
        body += [
            svg.polyline(
                [
                    (trigger_x, SOURCE[1] + SOURCE[3]),
                    (trigger_x, DMM[1] + DMM[3] / 2),
                    (DMM[0], DMM[1] + DMM[3] / 2),
                ],
                **CONTROL,
            ),
            svg.text(
                trigger_x + 10,
                DMM[1] + DMM[3] / 2 - 10,
                t("wiring_trigger", n=w.trigger_line),
                class_="control",
            ),
        ]
    else:
        # the DMM (current input) in series with the output, between the module and the load
        dx, dw = 600.0, 150.0
        body += [
            svg.line(*in_p, src_right, TOP_Y, **WIRE),
            svg.line(us[0], sup_bottom, *us, **WIRE),
            svg.line(*out_p, dx, TOP_Y, **WIRE),
            svg.line(dx + dw, TOP_Y, load_left, TOP_Y, **WIRE),
        ]
        body += _box((dx, TOP_Y - 30, dw, 60), t("role_dmm"), models["dmm"])
        body += [
            svg.text(
                dx + dw / 2, TOP_Y + 52, t("wiring_series"), text_anchor="middle", class_="channel"
            ),
            svg.text(
                SOURCE[0] + SOURCE[2] / 2,
                SOURCE[1] + SOURCE[3] + 26,
                t("wiring_readback"),
                text_anchor="middle",
                class_="channel",
            ),
        ]
    body += _terminal(*in_p, "IN+", "start", 12, 6)
    body += _terminal(*in_n, "IN−", "start", 12, 6)
    body += _terminal(*out_p, "OUT+", "end", -12, 6)
    body += _terminal(*out_n, "OUT−", "end", -12, 6)
    body += _terminal(*us, "Us+ 3/7", "middle", 0, 26)
    body += _terminal(*gnd, "GND 4/8", "middle", 0, 26)
    return svg.svg(
        WIDTH, HEIGHT, body, t("wiring_title", topology=station.station.topology), class_="wiring"
    )
