"""PyMeasure's Keithley2000 driver (written against real units) drives the simulated Keithley
2000 + 2000-SCAN on the shunt-scan bench through the socket path: configure, read, trigger,
buffer with its buffer-full service request."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from bench.sim.bench import SimBench, SimBenchConfig

pytest.importorskip("pymeasure")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimBench]:
    config = SimBenchConfig(
        topology="shunt-scan", serial="OSS-2000", models={"dmm": "keithley2000"}
    )
    with SimBench(config) as bench:
        yield bench
        assert bench.internal_errors() == []


def test_pymeasure_keithley_2000_measure_range_trigger_and_buffer(
    sim: SimBench,
) -> None:
    from pymeasure.instruments.keithley import Keithley2000

    dmm = Keithley2000(sim.resources["dmm"], read_termination="\n", write_termination="\n")
    try:
        dmm.reset()  # ":STAT:QUEUE:CLEAR;*RST;:STAT:PRES;:*CLS;"
        assert "MODEL 2000" in dmm.id
        dmm.measure_voltage(10)  # :CONF:VOLT:DC, :SENS:VOLT:RANG:AUTO 0;:SENS:VOLT:RANG 10
        assert dmm.mode == "voltage"
        assert dmm.voltage_range == 10
        dmm.voltage_nplc = 0.01
        assert dmm.voltage_nplc == pytest.approx(0.01)
        assert abs(dmm.voltage) < 1e-3  # no card channel closed: the input is open
        dmm.write(":ROUT:CLOS (@2)")
        dmm.trigger_delay = 0.002
        assert dmm.trigger_delay == pytest.approx(0.002)
        dmm.auto_range()
        dmm.beep_state = "disabled"
        assert dmm.beep_state == "disabled"
        dmm.config_buffer(points=10)  # SRQ on buffer full, :TRAC:FEED SENS, NEXT
        dmm.start_buffer()
        dmm.wait_for_buffer(timeout=10, interval=0.01)  # polls *STB? for 65
        data = dmm.buffer_data
        assert len(data) == 10 and np.all(np.abs(data) < 1e-3)  # module not powered: 0 V
        dmm.measure_current(0.1)
        assert dmm.mode == "current"
        assert dmm.check_errors() == []
    finally:
        dmm.adapter.close()
