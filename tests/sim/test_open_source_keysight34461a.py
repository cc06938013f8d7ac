"""QCoDeS' Keysight34461A driver drives the simulated 34461A on the direct bench through the
socket path: construction (options, licenses), reset with a full snapshot, configure, read,
bus-triggered bursts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig

pytest.importorskip("qcodes")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimBench]:
    config = SimBenchConfig(topology="direct", serial="OSS-61A", models={"dmm": "keysight34461a"})
    with SimBench(config) as bench:
        yield bench
        assert bench.internal_errors() == []


def test_qcodes_keysight_34461a_configure_read_and_bus_trigger(
    sim: SimBench,
) -> None:
    from qcodes.instrument_drivers.Keysight import Keysight34461A

    # timeout 1 s: the snapshot's SAMPle:TIMer? queries get no reply (below), as on the real one
    dmm = Keysight34461A("dmm_61a_sim", sim.resources["dmm"], terminator="\n", timeout=1)
    try:
        dmm.reset()  # *RST, *OPC? and a snapshot that reads every parameter
        assert not dmm.has_DIG and dmm.model == "34461A"
        # the snapshot also asks SAMPle:TIMer? and SAMPle:TIMer? MIN, which QCoDeS offers on
        # every Truevolt model but the 34461A does not have: -113, as on the instrument
        errors = [dmm.ask("SYST:ERR?") for _ in range(3)]
        assert errors == ['-113,"Undefined header"'] * 2 + ['+0,"No error"']
        dmm.sense_function("DC Voltage")
        dmm.range(10)  # QCoDeS' range and resolution are DC-voltage parameters
        dmm.NPLC(0.02)
        assert dmm.NPLC() == pytest.approx(0.02)
        assert dmm.resolution() == pytest.approx(100e-6 * 10)  # 34461A table: 100 ppm
        dmm.autozero("OFF")
        assert abs(dmm.volt()) < 1e-3
        dmm.sense_function("DC Current")
        dmm.NPLC(1)
        assert abs(dmm.curr()) < 1e-4  # module not powered
        dmm.sense_function("DC Voltage")
        dmm.autorange("ON")
        dmm.display.text("isobench")
        assert dmm.display.text() == "isobench"
        dmm.display.clear()
        dmm.trigger.source("BUS")
        dmm.trigger.delay(0.001)
        dmm.trigger.count(3)
        dmm.sample.count(2)
        dmm.init_measurement()
        for _ in range(3):
            dmm.trigger.force()
        assert len(dmm.fetch()) == 6
        assert dmm.ask("SYST:ERR?") == '+0,"No error"'
    finally:
        dmm.close()
