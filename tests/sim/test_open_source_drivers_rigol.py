"""Open-source drivers drive the simulated Rigol DP821 supply and DL3021 load over sockets.

QCoDeS has a model driver for the DP821 (``RigolDP821``); neither QCoDeS nor PyMeasure has one
for the DL3021, so the DL3000 driver of ``dcps`` (pyvisa-based, also used for its DP800 class)
drives the load, and PyMeasure's generic SCPI instrument covers the common subsystem of both.
These were written against the real instruments, not against us.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench
from tests.sim._rigol import rigol_bench

pytest.importorskip("qcodes")
pytest.importorskip("pymeasure")
pytest.importorskip("dcps")


@pytest.fixture(scope="module")
def bench() -> Iterator[SimBench]:
    sim = rigol_bench("OSS-RIGOL").start()
    try:
        yield sim
        assert sim.internal_errors() == []
    finally:
        sim.stop()


def power_module(bench: SimBench, input_a: float) -> None:
    """The 2450 drives the module's input (raw SCPI; the supply is on already)."""
    with bench.world.lock:
        smu = bench.instruments["source"]
        for message in (":SOUR:FUNC CURR", ":SOUR:CURR:RANG 0.1", f":SOUR:CURR {input_a}"):
            assert smu.process(message) is None
        assert smu.process(":OUTP ON") is None
        bench.world.clock.advance(0.5)


def test_qcodes_rigol_dp821_channels_levels_protection_readback(bench: SimBench) -> None:
    from qcodes.instrument_drivers.rigol import RigolDP821

    psu = RigolDP821("dp821_sim", bench.resources["supply"], terminator="\n")
    try:
        ch1, ch2 = psu.ch1, psu.ch2
        ch1.ovp_value(33.0)
        ch1.ovp_state("on")
        ch1.ocp_value(0.1)
        ch1.set_current(0.06)
        ch1.set_voltage(24.0)
        ch2.set_voltage(5.0)
        assert ch1.set_voltage() == 24.0 and ch2.set_voltage() == 5.0
        assert ch1.set_current() == 0.06
        assert (ch1.ovp_value(), ch1.ovp_state(), ch1.ocp_value()) == (33.0, "ON", 0.1)
        ch1.state("on")
        assert ch1.state() == "ON" and ch2.state() == "OFF"
        assert ch1.mode() == "ConstantVoltage"
        assert ch1.voltage() == pytest.approx(24.0, abs=0.05)
        assert bench.world.supply.on and bench.world.supply.set_v == pytest.approx(24.0, abs=0.05)
        power_module(bench, 0.020)
        assert ch1.current() == pytest.approx(bench.world.supply_current_a(), abs=0.011)
        assert ch1.power() == pytest.approx(ch1.voltage() * ch1.current(), abs=0.3)
        ch1.state("off")
        assert ch1.state() == "OFF"  # a query: the write before it has been processed
        assert not bench.world.supply.on
        assert psu.ask("SYST:ERR?") == '0,"No error"'
    finally:
        psu.close()


def test_dcps_dp800_on_the_dp821(bench: SimBench) -> None:
    from dcps import RigolDP800

    psu = RigolDP800(
        bench.resources["supply"], wait=0.0, read_termination="\n", write_termination="\n"
    )
    psu.open()
    try:
        psu.rst(wait=0.0)
        assert "DP821A" in psu.idn()
        psu.setVoltage(12.0, channel=1)
        psu.setCurrent(0.05, channel=1)
        psu.outputOn(channel=1)
        assert psu.isOutputOn(channel=1)
        assert psu.queryVoltage(channel=1) == 12.0
        assert psu.measureVoltage(channel=1) == pytest.approx(12.0, abs=0.05)
        psu.setVoltageProtection(20.0, channel=1)
        psu.voltageProtectionOn(channel=1)
        assert psu.isVoltageProtectionOn(channel=1)
        assert psu.queryVoltageProtection(channel=1) == 20.0
        psu.setVoltage(21.0, channel=1)  # above the OVP level: trips
        assert not psu.isOutputOn(channel=1)
        # dcps asks the generic SCPI ``VOLT:PROT:TRIP?``; the DP800 has ``VOLT:PROT:QUES?``
        assert psu.fetchGenericString("VOLTage:PROTection:QUEStion?", channel=1) == "YES"
        psu.setVoltage(0.0, channel=1)
        psu.voltageProtectionClear(channel=1)
        psu.outputOffAll()
        assert psu.readError().startswith("0,")
    finally:
        psu.close()


def test_dcps_dl3000_on_the_dl3021(bench: SimBench) -> None:
    from dcps import RigolDL3000

    with bench.world.lock:
        supply = bench.instruments["supply"]
        assert supply.process("*RST;:APPL CH1,24,0.06;:OUTP CH1,ON") is None
    load = RigolDL3000(bench.resources["load"], wait=0.0, write_termination="\n")
    load.open()
    try:
        assert "DL3021" in load.idn()
        load.rst(wait=0.0)
        load.setFunctionMode("FIXed")
        assert load.queryFunctionMode() == "FIX"
        load.setFunction("CURRent")
        assert load.queryFunction() == "CURR"
        load.setCurrentRange(4)
        assert load.queryCurrentRange() == 4.0
        load.setCurrent(0.010)  # CC 10 mA on a 20 mA current source: the module saturates
        load.setCurrentVON(1.0)
        load.setSenseState(True)
        assert load.querySenseState()
        load.inputOn()
        assert load.isInputOn()
        power_module(bench, 0.020)
        assert load.measureCurrent() == pytest.approx(0.010, abs=5e-4)
        compliance = bench.unit.params.output_compliance_v
        assert load.measureVoltage() == pytest.approx(compliance, rel=0.05)
        assert load.measurePower() == pytest.approx(0.010 * compliance, rel=0.06)
        load.inputOff()
        assert not load.isInputOn()
        assert load.readError().startswith("0,")
    finally:
        load.close()


def test_pymeasure_generic_scpi_on_dp821_and_dl3021(bench: SimBench) -> None:
    """No PyMeasure driver exists for either; its generic SCPI instrument covers identity,
    reset, clear, error queue, operation complete and options."""
    from pymeasure.instruments.generic_types import SCPIMixin
    from pymeasure.instruments.instrument import Instrument

    class Generic(SCPIMixin, Instrument):
        pass

    logging.getLogger("pymeasure").setLevel(logging.ERROR)
    for role, model in (("supply", "DP821A"), ("load", "DL3021")):
        inst = Generic(bench.resources[role], model, read_termination="\n", write_termination="\n")
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
