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


@pytest.fixture(scope="module")
def second_dmms() -> Iterator[dict[str, SimBench]]:
    """The second DMM models in their topologies: Keithley 2000 + 2000-SCAN (shunt-scan),
    Keysight 34461A (direct)."""
    with (
        SimBench(
            SimBenchConfig(topology="shunt-scan", serial="OSS-2000", models={"dmm": "keithley2000"})
        ) as scan,
        SimBench(
            SimBenchConfig(topology="direct", serial="OSS-61A", models={"dmm": "keysight34461a"})
        ) as direct_61a,
    ):
        yield {"keithley2000": scan, "keysight34461a": direct_61a}
        assert scan.internal_errors() == [] and direct_61a.internal_errors() == []


def test_pymeasure_keithley_2000_measure_range_trigger_and_buffer(
    second_dmms: dict[str, SimBench],
) -> None:
    from pymeasure.instruments.keithley import Keithley2000

    sim = second_dmms["keithley2000"]
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


def test_qcodes_keysight_34461a_configure_read_and_bus_trigger(
    second_dmms: dict[str, SimBench],
) -> None:
    from qcodes.instrument_drivers.Keysight import Keysight34461A

    dmm = Keysight34461A(
        "dmm_61a_sim", second_dmms["keysight34461a"].resources["dmm"], terminator="\n"
    )
    try:
        dmm.reset()  # *RST, *OPC? and a snapshot that reads every parameter
        assert not dmm.has_DIG and dmm.model == "34461A"
        dmm.sense_function("DC Current")
        dmm.range(0.1)
        dmm.NPLC(0.02)
        assert dmm.NPLC() == pytest.approx(0.02)
        assert dmm.resolution() == pytest.approx(100e-6 * 0.1)
        dmm.autozero("OFF")
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
