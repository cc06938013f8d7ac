"""Command-level tests of the subsystems the programming manuals define, per simulated model.

Each expectation is a reply form or error code from the vendor's manual (or IEEE 488.2 /
SCPI-1999), not from our own drivers: IDN, the error queue, the status system, state that a
setting leaves, real errors for real mistakes, and the reply formats.
"""

from __future__ import annotations

import re

import pytest

from bench.sim.instrument import SimInstrument
from bench.sim.instruments.keithley2000 import Keithley2000
from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keithley_dmm6500 import KeithleyDMM6500
from bench.sim.instruments.keysight34461a import Keysight34461A
from bench.sim.instruments.keysight34465a import Keysight34465A
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from tests.sim._helpers import (
    KEITHLEY_ERROR_RE,
    KEITHLEY_NO_ERROR,
    KEYSIGHT_NO_ERROR,
    drain_errors,
    number,
    numbers,
    query,
    send,
)

MODELS: dict[str, type[SimInstrument]] = {
    "2450": Keithley2450,
    "DMM6500": KeithleyDMM6500,
    "34465A": Keysight34465A,
    "E36104B": KeysightE36104B,
    "EL34143A": KeysightEL34143A,
    "2000": Keithley2000,
    "34461A": Keysight34461A,
}
KEITHLEY = ("2450", "DMM6500")
#: integers without a sign (NR1 as Keithley sends it), TTI and classic SCPI models alike
PLAIN_INTEGERS = (*KEITHLEY, "2000")
NR3_KEITHLEY = re.compile(r"^-?\d\.\d{6}E[+-]\d{2}$")
NR3_KEYSIGHT = re.compile(r"^[+-]\d\.\d{8}E[+-]\d{2}$")


def make(model: str) -> SimInstrument:
    return MODELS[model](World(SimulatedUnit(), Wiring.shunt_scan()))


models = pytest.mark.parametrize("model", list(MODELS))


# ---------------------------------------------------------------------------------------------
# shared: IEEE 488.2 common commands, SCPI-1999 required subsystems


@models
def test_idn_has_four_fields_naming_the_model(model: str) -> None:
    fields = query(make(model), "*IDN?").split(",")
    assert len(fields) == 4 and model in fields[1]


@models
def test_error_queue_is_first_in_first_out_and_counts(model: str) -> None:
    inst = make(model)
    assert inst.process("NOSUCH:HEADER 1;*NOPE") is None
    count = query(inst, "SYST:ERR:COUN?")
    assert count == ("1" if model in PLAIN_INTEGERS else "+1")  # a command error ends the message
    first = query(inst, "SYST:ERR:NEXT?")
    assert int(first.split(",")[0]) == -113
    if model in KEITHLEY:
        assert KEITHLEY_ERROR_RE.fullmatch(first)
        assert query(inst, "SYST:ERR?") == KEITHLEY_NO_ERROR
    else:
        assert first == '-113,"Undefined header"'
        no_error = '0,"No error"' if model in PLAIN_INTEGERS else KEYSIGHT_NO_ERROR
        assert query(inst, "SYST:ERR?") == no_error


@models
def test_trailing_semicolon_and_colon_before_common_command_are_legal(model: str) -> None:
    inst = make(model)
    send(inst, "*CLS;")
    send(inst, ":*CLS")
    assert query(inst, "*OPC?;") == "1"
    assert inst.process("*CLS;;*CLS") is None  # an empty unit *between* two is still -102
    assert drain_errors(inst) == [-102]


@models
def test_status_byte_enables_and_preset(model: str) -> None:
    inst = make(model)
    plus = "" if model in PLAIN_INTEGERS else "+"
    send(inst, "*CLS;*ESE 32;*SRE 36")
    assert query(inst, "*ESE?;*SRE?") == f"{plus}32;{plus}36"
    inst.process("NOSUCH")  # command error: ESR bit 5, error queue not empty (STB bit 2)
    stb = int(query(inst, "*STB?"))
    assert stb & 0b0010_0100 == 0b0010_0100 and stb & 0x40  # EAV, ESB and the master summary
    drain_errors(inst)
    send(inst, "STAT:OPER:ENAB 256;:STAT:QUES:ENAB 1")
    assert query(inst, "STAT:OPER:ENAB?") == f"{plus}256"
    send(inst, "STAT:PRES")
    assert query(inst, "STAT:OPER:ENAB?;:STAT:QUES:ENAB?") == f"{plus}0;{plus}0"
    assert query(inst, "STAT:QUES:PTR?") == f"{plus}32767"
    # MAV: a query answered earlier in the same message
    assert int(query(inst, "*IDN?;*STB?").rsplit(";", 1)[1]) & 0x10


@models
def test_scpi_version_and_options(model: str) -> None:
    inst = make(model)
    assert re.fullmatch(r"\d{4}\.\d", query(inst, "SYST:VERS?"))
    if model in KEITHLEY:  # *OPT? is not in the TTI common command set (appendix B)
        assert inst.process("*OPT?") is None
        assert drain_errors(inst) == [-113]
    else:
        assert query(inst, "*OPT?")


# ---------------------------------------------------------------------------------------------
# Keithley 2450


def smu_on(level_a: float = 0.005) -> Keithley2450:
    world = World(SimulatedUnit())
    smu = Keithley2450(world)
    send(smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.01;:SOUR:CURR {level_a};:OUTP ON")
    return smu


def test_2450_measure_queries_select_the_function_and_store_in_the_buffer() -> None:
    smu = smu_on(0.005)
    volts = number(smu, ":MEAS:VOLT?")
    assert query(smu, ":SENS:FUNC?") == '"VOLT:DC"'
    amps = number(smu, ":MEASure:CURRent:DC?")
    assert amps == pytest.approx(0.005, rel=1e-3)
    assert volts == pytest.approx(0.005 * smu.world.input_loop_ohm(), rel=2e-3)
    assert query(smu, ":TRAC:ACT?") == "2"
    fetched = query(smu, ':FETC? "defbuffer1", READ, UNIT, SOURUNIT')
    value, unit, source_unit = fetched.split(",")
    assert NR3_KEITHLEY.fullmatch(value) and (unit, source_unit) == ("Amp DC", "Amp DC")
    ohms = number(smu, ":MEAS:RES?")
    assert ohms == pytest.approx(smu.world.input_loop_ohm(), rel=3e-3)


def test_2450_sense_count_trace_data_and_statistics() -> None:
    smu = smu_on(0.002)
    send(smu, ':SENS:FUNC "CURR";:SENS:COUN 5;:TRAC:MAKE "mybuf", 100')
    assert query(smu, ":SENS:COUN?") == "5"
    last = number(smu, ':READ? "mybuf"')
    assert query(smu, ':TRAC:ACT? "mybuf";:TRAC:ACT:END? "mybuf"') == "5;5"
    data = numbers(smu, ':TRAC:DATA? 1, 5, "mybuf", READ, SOUR, REL')
    readings, relative = data[0::3], data[2::3]
    assert readings[-1] == last and relative[0] == 0.0 and relative == sorted(relative)
    assert number(smu, ':TRAC:STAT:AVER? "mybuf"') == pytest.approx(sum(readings) / 5)
    assert query(smu, ':TRAC:POIN? "mybuf"') == "100"
    send(smu, ':TRAC:CLE "mybuf";:TRAC:DEL "mybuf"')
    assert smu.process(':TRAC:ACT? "mybuf"') is None
    smu.process(':TRAC:DEL "defbuffer1"')
    assert drain_errors(smu) == [-224, -221]  # no such buffer; defaults cannot go


def test_2450_linear_sweep_runs_on_initiate_into_the_buffer() -> None:
    world = World(SimulatedUnit())
    smu = Keithley2450(world)
    send(smu, ':SENS:FUNC "CURR"')
    send(smu, ':SOUR:SWE:CURR:LIN 0, 0.01, 5, 0.01, 1, BEST, ON, OFF, "defbuffer1"')
    assert query(smu, ":TRIG:STAT?").startswith("IDLE")
    t0 = world.clock.now
    assert query(smu, ":INIT;*WAI;:TRAC:ACT?") == "5"
    assert world.clock.now - t0 >= 5 * 0.01
    readings = numbers(smu, ':TRAC:DATA? 1, 5, "defbuffer1", SOUR')
    assert readings == pytest.approx([0, 0.0025, 0.005, 0.0075, 0.01], abs=5e-6)
    send(smu, ":ABOR")
    assert query(smu, ":TRIG:STAT?").startswith("ABORTED")
    smu.process(":SOUR:SWE:CURR:LIN:STEP 0, 0.01, -0.001")
    assert drain_errors(smu) == [-221]  # the step leads away from the stop value


def test_2450_simple_loop_terminals_language_and_display() -> None:
    smu = smu_on(0.001)
    send(smu, ':TRIG:LOAD "SimpleLoop", 3, 0.1')
    assert query(smu, ":INIT;*OPC?;:TRAC:ACT?") == "1;3"
    send(smu, "*LANG SCPI")  # already SCPI: a no-op set
    assert query(smu, "*LANG?") == "SCPI"
    send(smu, ":ROUT:TERM REAR")
    assert query(smu, ":ROUT:TERM?;:OUTP?") == "REAR;0"  # switching terminals: output off
    send(smu, ':DISP:CLE;:DISP:USER1:TEXT "isobench";:SYST:BEEP 1000, 0.1')
    assert query(smu, ":SYST:LFR?") == "50"
    smu.process(":FORM:DATA REAL")
    smu.process(':TRIG:LOAD "DurationLoop", 10')
    assert drain_errors(smu) == [-221, -224]  # documented divergences (docs/simulator.md)


# ---------------------------------------------------------------------------------------------
# Keysight 34465A


def test_34465a_options_resolution_aperture_and_display() -> None:
    dmm = make("34465A")
    assert query(dmm, "*OPT?") == "DIG" and query(dmm, "SYST:LIC:CAT?") == '"DIG"'
    send(dmm, "CONF:VOLT:DC 10;:VOLT:DC:RES 3e-6")
    assert query(dmm, "VOLT:NPLC?") == "+1.00000000E+00"  # 0.3 ppm of range = 1 PLC
    assert number(dmm, "VOLT:DC:RES?") == pytest.approx(3e-6)
    send(dmm, "VOLT:APER 0.001")
    assert query(dmm, "VOLT:APER?;:VOLT:APER:ENAB?") == "+1.00000000E-03;1"
    send(dmm, "VOLT:NPLC 10")
    assert query(dmm, "VOLT:APER:ENAB?") == "0"  # an NPLC setting leaves aperture mode
    send(dmm, 'DISP:TEXT "HELLO";:DISP OFF')
    assert query(dmm, "DISP:TEXT?;:DISP?") == '"HELLO";0'
    send(dmm, "DISP:TEXT:CLE;:DISP ON;:TRIG:COUN INF;:TRIG:LEV 0.5")
    dmm.process("VOLT:APER 5")
    assert drain_errors(dmm) == [-222]


def test_34465a_data_last_and_remove() -> None:
    dmm = make("34465A")
    assert query(dmm, "DATA:LAST?") == "+9.91000000E+37 VDC"
    send(dmm, "CONF:VOLT:DC 10;:SAMP:COUN 4;:INIT;*WAI")
    assert query(dmm, "DATA:POIN?") == "+4"
    assert query(dmm, "DATA:LAST?").endswith(" VDC")
    first_two = query(dmm, "DATA:REM? 2").split(",")
    assert len(first_two) == 2 and all(NR3_KEYSIGHT.fullmatch(v) for v in first_two)
    assert query(dmm, "DATA:POIN?") == "+2"
    dmm.process("DATA:REM? 3")
    assert drain_errors(dmm) == [-222]


# ---------------------------------------------------------------------------------------------
# Keithley DMM6500 + 2000-SCAN


def test_dmm6500_scan_runs_each_channel_count_times() -> None:
    dmm = make("DMM6500")
    send(dmm, ':SENS:FUNC "VOLT:DC", (@1:3);:SENS:VOLT:NPLC 0.1, (@1:3)')
    send(dmm, ":ROUT:SCAN:CRE (@1:3);:ROUT:SCAN:ADD (@5);:ROUT:SCAN:COUN:SCAN 2")
    assert query(dmm, ":ROUT:SCAN:CRE?") == "(@1:3,5)"
    send(dmm, ":ROUT:SCAN:INT 0.5;:TRAC:CLE")
    send(dmm, ":INIT")
    assert query(dmm, ":ROUT:SCAN:STAT?").startswith("RUNNING")
    assert query(dmm, "*WAI;:TRAC:ACT?") == "8"
    channels = query(dmm, ':TRAC:DATA? 1, 8, "defbuffer1", CHAN').split(",")
    assert channels == ["1", "2", "3", "5"] * 2
    times = numbers(dmm, ':TRAC:DATA? 1, 8, "defbuffer1", REL')
    assert times[4] - times[0] == pytest.approx(0.5, abs=1e-6)  # scans start INTerval apart
    assert query(dmm, ":ROUT:CLOS?") == "(@5)"


def test_dmm6500_current_function_language_format_and_card() -> None:
    dmm = make("DMM6500")
    send(dmm, "*LANG SCPI")  # no-op set on an instrument already in SCPI
    send(dmm, ':SENS:FUNC "CURR:DC";:SENS:CURR:RANG 0.01;:SENS:CURR:NPLC 1')
    assert query(dmm, ":SENS:FUNC?;:SENS:CURR:RANG?") == '"CURR:DC";1.000000E-02'
    amps = query(dmm, ':MEAS:CURR? "defbuffer1", READ, UNIT')
    value, unit = amps.split(",")
    assert abs(float(value)) < 1e-6 and unit == "Amp DC"  # nothing wired to the AMPS input
    send(dmm, ":FORM:DATA ASC")
    assert query(dmm, ":FORM:DATA?") == "ASC"
    assert query(dmm, ":SYST:CARD1:IDN?").startswith("2000-SCAN")
    dmm.process(':SENS:FUNC "CURR:DC", (@1)')
    dmm.process("*LANG TSP")
    assert drain_errors(dmm) == [-221, -221]  # the card switches volts only; SCPI only


# ---------------------------------------------------------------------------------------------
# Keysight E36104B, EL34143A


def test_e36104b_protection_in_the_questionable_register() -> None:
    supply = make("E36104B")
    send(supply, "VOLT 10;:VOLT:PROT 5;:OUTP ON")
    assert query(supply, "STAT:QUES:COND?") == "+1"  # OV
    assert query(supply, "STAT:QUES?;:STAT:QUES?") == "+1;+0"  # the event register clears
    assert query(supply, "SYST:VERS?") == "1999.0"


def test_el34143a_levels_ranges_and_power() -> None:
    load = make("EL34143A")
    send(load, "FUNC POW;:POW 2.5;:POW:RANG 30")
    assert query(load, "FUNC?;:POW?;:POW:RANG?") == "POW;+2.50000000E+00;+3.50000000E+01"
    send(load, "CURR:RANG 1")
    assert number(load, "CURR:RANG?") == 4.0  # the low range holds 1 A
    load.process("CURR 5")  # above the low range
    assert drain_errors(load) == [-222]
    send(load, "VOLT:RANG 100;:VOLT 12")
    assert number(load, "VOLT?") == 12.0 and number(load, "VOLT:RANG?") == 150.0
