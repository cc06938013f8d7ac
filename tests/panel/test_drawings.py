"""The server-drawn pictures: the live transfer-error plot and the fixture's wiring."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bench.panel import i18n, plot
from bench.panel.wiring import wiring_svg
from bench.sim.bench import sim_station
from bench.station import Station

NS = {"s": "http://www.w3.org/2000/svg"}
t = i18n.translator("en")


def point(input_ma: float, error_ua: float, statement: str = "pass", **more: object) -> dict:
    return {
        "characteristic": "transmission_error",
        "input_a": input_ma * 1e-3,
        "direction": "up",
        "value": error_ua * 1e-6,
        "U": 0.5e-6,
        "lower": -20e-6,
        "upper": 20e-6,
        "acceptance_lower": -19.5e-6,
        "acceptance_upper": 19.5e-6,
        "statement": statement,
        **more,
    }


def y_of(value_ua: float, extent_ua: float) -> float:
    """Where the plot puts a value: the same mapping, computed by hand from its frame."""
    height = plot.HEIGHT - plot.TOP - plot.BOTTOM
    return plot.TOP + (extent_ua - value_ua) / (2 * extent_ua) * height


def test_plot_draws_each_point_the_limits_and_the_guard_band() -> None:
    points = [point(0.2, 1.0), point(10, 19.8, "conditional pass"), point(20, 24.0, "fail")]
    root = ET.fromstring(plot.transfer_plot(points, t))
    markers = root.findall("s:g[@class='pt']", NS)
    assert [m.get("data-statement") for m in markers] == ["pass", "conditional pass", "fail"]
    # rings mark the two points that did not plainly pass
    assert [len(m.findall("s:circle", NS)) for m in markers] == [0, 1, 1]
    # limit lines at +-20 uA on a scale that shows the largest error with its U (24.5 uA)
    # and some room above it
    extent = max(1.25 * 20, 24.0 + 0.5) * plot.HEADROOM
    limit_ys = sorted(
        float(line.get("y1"))
        for line in root.findall("s:line", NS)
        if line.get("stroke") == plot.LIMIT_COLOUR
    )
    assert limit_ys == [round(y_of(20, extent), 1), round(y_of(-20, extent), 1)]
    # the guard band: a shaded band and a dashed acceptance line on each side
    assert len(root.findall("s:polygon", NS)) == 2
    assert len(root.findall("s:polyline[@stroke-dasharray]", NS)) == 2
    assert "largest error +24.0 µA at 20.0 mA, limit ±20 µA" in root.find("s:title", NS).text


def test_an_empty_plot_is_a_frame_with_the_limits() -> None:
    root = ET.fromstring(plot.transfer_plot([], t))
    assert root.findall("s:g[@class='pt']", NS) == []
    assert root.find("s:title", NS).text == t("plot_title_empty")


def test_an_unreadable_point_is_left_out_not_drawn_at_zero() -> None:
    root = ET.fromstring(plot.transfer_plot([point(4, float("nan"), "fail"), point(8, 2)], t))
    assert len(root.findall("s:g[@class='pt']", NS)) == 1


def _station(topology: str, **wiring: object) -> Station:
    models = {
        "source": "keithley2450",
        "dmm": "keithley-dmm6500" if topology == "shunt-scan" else "keysight34465a",
        "supply": "keysight-e36104b",
        "load": "keysight-el34143a",
    }
    resources = {role: f"TCPIP0::10.0.0.{i}::5025::SOCKET" for i, role in enumerate(models)}
    station = sim_station(resources, models, topology=topology)
    return station.model_copy(update={"wiring": station.wiring.model_copy(update=wiring)})


def _texts(svg_text: str) -> list[str]:
    return [el.text or "" for el in ET.fromstring(svg_text).iter(f"{{{NS['s']}}}text")]


def test_wiring_of_a_shunt_scan_station_shows_its_shunts_channels_and_lines() -> None:
    station = _station("shunt-scan", input_shunt_ohm=250.0, output_shunt_channel=7, bypass_line=5)
    texts = _texts(wiring_svg(station, t))
    for expected in (
        "250 Ω",  # the input shunt of this station, not the default
        "scanner ch 1",
        "scanner ch 7",
        "scanner ch 3",
        "scanner ch 4",
        "bypass relay (source DIO 5)",
        "trigger (source DIO 1)",
        "keithley-dmm6500 + scanner card",
        "Us+ 3/7",
        "GND 4/8",
    ):
        assert expected in texts, expected


def test_wiring_of_a_direct_station_puts_the_dmm_in_series_and_has_no_relay() -> None:
    texts = _texts(wiring_svg(_station("direct"), i18n.translator("de")))
    assert "DMM in Reihe (Strom)" in texts
    assert "keysight34465a" in texts
    assert not any("Bypass" in text or "Scanner" in text for text in texts)
