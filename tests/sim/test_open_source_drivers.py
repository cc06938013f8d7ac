"""Open-source drivers (QCoDeS, PyMeasure) drive the simulator through its socket path.

The calls a bench user makes with them: configure, source, read, trigger, buffer. These
drivers were written against the real instruments, not against us, so they check the command
set and reply formats from the outside. No QCoDeS or PyMeasure driver exists for the E36104B
or the EL34143A (docs/simulator.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest

from bench.sim.bench import SimBench, SimBenchConfig

pytest.importorskip("qcodes")
pytest.importorskip("pymeasure")


@pytest.fixture(scope="module")
def direct() -> Iterator[SimBench]:
    with SimBench(SimBenchConfig(topology="direct", serial="OSS-0001")) as sim:
        yield sim
        assert sim.internal_errors() == []


@pytest.fixture(scope="module")
def shunt_scan() -> Iterator[SimBench]:
    with SimBench(SimBenchConfig(topology="shunt-scan", serial="OSS-0002")) as sim:
        yield sim
        assert sim.internal_errors() == []


def test_qcodes_keithley_2450_source_measure_sweep_buffer(direct: SimBench) -> None:
    from qcodes.instrument_drivers.Keithley import Keithley2450

    smu = Keithley2450("smu_sim", direct.resources["source"], terminator="\n")
    try:
        smu.reset()
        smu.source.function("current")
        smu.source.range(0.01)
        smu.source.current(0.004)
        smu.source.limit(10)
        smu.sense.function("voltage")
        smu.sense.nplc(1)
        with smu.output_enabled.set_to(True):
            volts = smu.sense.voltage()
            smu.sense.function("current")
            amps = smu.sense.current()
            smu.source.sweep_setup(0.0, 0.008, 5, delay=0.001)
            sweep = smu.sense.sweep()
        r_loop = direct.world.input_loop_ohm()
        assert amps == pytest.approx(0.004, rel=1e-3)
        assert volts == pytest.approx(0.004 * r_loop, rel=2e-3)
        assert sweep == pytest.approx(np.linspace(0.0, 0.008, 5), abs=5e-6)
        assert smu.buffer("defbuffer1").number_of_readings() == 0  # cleared after the sweep
        assert int(smu.line_frequency()) == 50
        smu.terminals("rear")
        assert smu.terminals() == "REAR"  # the driver maps only the set value
        assert smu.ask(":SYST:ERR?").startswith("0,")
    finally:
        smu.close()


def test_pymeasure_keithley_2450_apply_current_read_and_statistics(direct: SimBench) -> None:
    from pymeasure.instruments.keithley import Keithley2450

    smu = Keithley2450(direct.resources["source"], read_termination="\n", write_termination="\n")
    try:
        smu.reset()  # "*RST;:stat:pres;:*CLS;"
        smu.apply_current(0.01, 10)
        smu.source_current = 0.005
        smu.enable_source()
        smu.measure_voltage()
        volts = smu.voltage
        assert volts == pytest.approx(0.005 * direct.world.input_loop_ohm(), rel=2e-3)
        assert smu.means == pytest.approx(volts)  # :TRACe:STATistics:AVERage?
        smu.shutdown()
        assert smu.check_errors() == []
        assert not direct.outputs_on()["source"]
    finally:
        smu.adapter.close()


def test_qcodes_keysight_34465a_configure_read_trigger_timetrace(direct: SimBench) -> None:
    from qcodes.instrument_drivers.Keysight import Keysight34465A

    dmm = Keysight34465A("dmm_sim", direct.resources["dmm"], terminator="\n")
    try:
        dmm.reset()  # *RST, *OPC? and a snapshot that reads every parameter
        assert dmm.has_DIG
        dmm.sense_function("DC Voltage")
        dmm.NPLC(0.2)
        assert dmm.resolution() == pytest.approx(0.7e-6 * dmm.range())
        dmm.aperture_time(0.001)
        assert dmm.aperture_mode() == "ON"
        dmm.display.text("isobench")
        assert dmm.display.text() == "isobench"
        dmm.display.clear()
        dmm.trigger.source("BUS")
        dmm.trigger.count(3)
        dmm.sample.count(2)
        dmm.init_measurement()
        for _ in range(3):
            dmm.trigger.force()
        assert len(dmm.fetch()) == 6
        dmm.trigger.count(1)
        dmm.sample.count(1)
        dmm.trigger.source("IMM")
        dmm.timetrace_dt(0.005)
        dmm.timetrace_npts(40)
        assert len(dmm.timetrace()) == 40
        assert dmm.ask("SYST:ERR?") == '+0,"No error"'
    finally:
        dmm.close()


def test_pymeasure_keithley_dmm6500_measure_and_scan(shunt_scan: SimBench) -> None:
    from pymeasure.instruments.keithley import KeithleyDMM6500

    dmm = KeithleyDMM6500(
        shunt_scan.resources["dmm"], read_termination="\n", write_termination="\n"
    )
    try:
        dmm.reset()
        dmm.measure_voltage(10)
        assert abs(dmm.voltage) < 1e-3  # no channel closed: the rear input is open
        assert dmm.line_frequency == 50
        dmm.measure_current(0.01)
        assert abs(dmm.current) < 1e-6
        dmm.scan_channels_list = [1, 2, 3]
        assert dmm.scan_channels_list == [1, 2, 3]
        dmm.scan_modes = "voltage"
        dmm.scan_count = 2
        dmm.scan_start()  # :INIT;*WAI
        data = dmm.scanned_data()
        assert len(data) == 3 and all(len(row) == 2 for row in data)
        assert dmm.check_errors() == []
    finally:
        dmm.adapter.close()


def test_pymeasure_generic_scpi_on_supply_and_load(direct: SimBench) -> None:
    """No model driver exists; PyMeasure's generic SCPI instrument still covers the common
    subsystem (identity, reset, clear, error queue, operation complete, options)."""
    from pymeasure.instruments.generic_types import SCPIMixin
    from pymeasure.instruments.instrument import Instrument

    class Generic(SCPIMixin, Instrument):
        pass

    logging.getLogger("pymeasure").setLevel(logging.ERROR)
    for role, model in (("supply", "E36104B"), ("load", "EL34143A")):
        inst = Generic(direct.resources[role], model, read_termination="\n", write_termination="\n")
        try:
            assert model in inst.id
            inst.reset()
            inst.clear()
            assert inst.complete == "1"
            assert inst.options == "0"
            inst.write("NOSUCH")
            assert inst.next_error[0] == -113
            assert inst.check_errors() == []
        finally:
            inst.adapter.close()
