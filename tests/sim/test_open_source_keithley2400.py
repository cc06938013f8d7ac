"""PyMeasure's ``Keithley2400`` (written against the real instrument, not against us) drives the
simulated 2400 through the socket path: the calls a bench user makes with it."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig

pytest.importorskip("pymeasure")


@pytest.fixture(scope="module")
def bench() -> Iterator[SimBench]:
    config = SimBenchConfig(topology="direct", serial="OSS-2400", models={"source": "keithley2400"})
    with SimBench(config) as sim:
        yield sim
        assert sim.internal_errors() == []


def test_pymeasure_keithley_2400_source_measure_buffer_and_triggers(bench: SimBench) -> None:
    from pymeasure.instruments.keithley import Keithley2400

    smu = Keithley2400(bench.resources["source"], read_termination="\n", write_termination="\n")
    try:
        assert "MODEL 2400" in smu.id
        smu.reset()
        smu.reset_data_format()  # :FORMAT:ELEMENTS VOLTAGE, CURRENT, RESISTANCE, TIME, STATUS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            smu.apply_current(0.01, 10)  # source mode, range, compliance
        smu.source_current = 0.005
        smu.enable_source()
        r_loop = bench.world.input_loop_ohm()
        volts, amps = smu.voltage, smu.current  # :MEASURE:VOLTAGE? / :MEASURE:CURRENT?
        assert volts == pytest.approx(0.005 * r_loop, rel=3e-3)
        assert amps == pytest.approx(0.005, rel=2e-3)
        assert smu.compliance_voltage == 10.0
        assert smu.source_enabled is True
        assert smu.wires == 2
        smu.wires = 4
        assert smu.wires == 4
        smu.source_delay = 0.01
        assert smu.source_delay == pytest.approx(0.01)
        # a buffered burst with its statistics (KeithleyBuffer: :TRAC, :STAT:MEAS:ENAB 512)
        smu.config_buffer(points=8)
        smu.start_buffer()  # :INIT runs 8 SDM cycles on the simulated clock
        assert smu.is_buffer_full()  # *STB? & 65: buffer full summary and RQS/MSS
        data = smu.buffer_data
        assert len(data) == 8 * 5
        assert smu.means[1] == pytest.approx(0.005, rel=2e-3)  # :CALCULATE3:DATA?
        smu.trigger_output_event = "source"
        smu.trigger_output_line = 2
        assert smu.ask(":TRIG:OUTP?").strip() == "SOUR"
        assert smu.ask(":SYST:ERR?").startswith("0,")
        smu.check_errors()
        smu.disable_source()
        assert smu.source_enabled is False  # a query: the write before it has been processed
        assert not bench.world.source_on
    finally:
        smu.adapter.close()
