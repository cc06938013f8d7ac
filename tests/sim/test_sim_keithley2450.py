"""Simulated Keithley 2450 SourceMeter driven directly through ``process()``.

Expected values come from the Model 2450 Interactive SourceMeter Instrument Reference Manual
(2450-901-01), section 6 "SCPI command reference" (each command's default value: *RST ->
output off, VLIM 21 V, source function VOLT, measure function ``"CURR:DC"``;
``:SYSTem:ERRor[:NEXT]?`` and ``:SYSTem:EVENtlog:NEXT?`` with the event-log format
``0,"No error;0;0 0"`` / ``-113,"Undefined header;1;<date time>"``) and the Model 2450 data
sheet SPEC-2450 (ranges 10 nA .. 1 A with 105 % overrange).
"""

from __future__ import annotations

import time

import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from procedures.model import ModuleParameters
from tests.sim._helpers import (
    KEITHLEY_ERROR_RE,
    KEITHLEY_NO_ERROR,
    Bench,
    drain_errors,
    make_bench,
    next_error,
    number,
    numbers,
    query,
    send,
)

IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04512345,1.7.12b"


def source_20ma(smu: Keithley2450, *, four_wire: bool, vlim: float = 21.0) -> None:
    send(
        smu,
        ":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR 0.02;"
        f':SOUR:CURR:VLIM {vlim};:SENS:FUNC "VOLT";:SENS:VOLT:RSEN {int(four_wire)};:OUTP ON',
    )


def read_source_and_voltage(smu: Keithley2450) -> tuple[float, float]:
    current, voltage = numbers(smu, ':READ? "defbuffer1", SOUR, READ')
    return current, voltage


# ---------------------------------------------------------------------------------------------
# identity, reset, common commands


def test_idn(smu: Keithley2450) -> None:
    assert query(smu, "*IDN?") == IDN
    assert query(smu, "*idn?") == IDN


def test_lang_is_scpi(smu: Keithley2450) -> None:
    assert query(smu, "*LANG?") == "SCPI"


def test_rst_defaults(smu: Keithley2450, world: World) -> None:
    send(
        smu,
        ':SOUR:FUNC CURR;:SOUR:CURR 0.01;:SOUR:CURR:VLIM 5;:SENS:FUNC "VOLT";'
        ":SENS:VOLT:NPLC 5;:SENS:VOLT:RSEN ON;:OUTP ON",
    )
    assert world.source_on
    send(smu, "*RST")
    assert query(smu, ":OUTP?") == "0"
    assert query(smu, ":SOUR:FUNC?") == "VOLT"
    assert query(smu, ":SENS:FUNC?") == '"CURR:DC"'
    assert number(smu, ":SOUR:CURR:VLIM?") == 21.0
    assert number(smu, ":SOUR:CURR?") == 0.0
    assert number(smu, ":SOUR:VOLT?") == 0.0
    assert number(smu, ":SENS:VOLT:NPLC?") == 1.0
    assert number(smu, ":SENS:CURR:NPLC?") == 1.0
    assert query(smu, ":SENS:VOLT:RSEN?") == "0"
    assert query(smu, ":SOUR:CURR:READ:BACK?") == "1"
    assert query(smu, ":SOUR:CURR:RANG:AUTO?") == "1"
    assert query(smu, ":SOUR:CURR:DEL:AUTO?") == "1"
    assert query(smu, ":SOUR:VOLT:PROT?") == "NONE"
    assert not world.source_on
    assert world.input_a == 0.0


def test_opc_query_returns_1(smu: Keithley2450) -> None:
    assert query(smu, "*OPC?") == "1"


def test_integer_replies_have_no_plus_sign(smu: Keithley2450) -> None:
    assert query(smu, "*ESR?") == "128"  # power-on bit
    smu.process("NOPE")
    assert query(smu, ":SYST:ERR:COUN?") == "1"
    assert query(smu, "*ESR?") == "32"  # command error bit; *ESR? clears the register
    assert query(smu, "*ESR?") == "0"


# ---------------------------------------------------------------------------------------------
# error queue (TTI event-log format)


def test_no_error_format(smu: Keithley2450) -> None:
    assert next_error(smu) == KEITHLEY_NO_ERROR
    assert query(smu, ":SYSTem:ERRor:NEXT?") == KEITHLEY_NO_ERROR


def test_undefined_header_is_minus_113_with_severity_and_timestamp(smu: Keithley2450) -> None:
    assert smu.process(":SOUR:BOGUS 1") is None
    reply = next_error(smu)
    m = KEITHLEY_ERROR_RE.fullmatch(reply)
    assert m, reply
    assert (m["code"], m["msg"], m["sev"]) == ("-113", "Undefined header", "1")
    assert next_error(smu) == KEITHLEY_NO_ERROR


@pytest.mark.parametrize(
    "message",
    [
        ":SOUR:CURR 1.1",  # beyond 1.05 A
        ":SOUR:CURR:VLIM 211",  # beyond 210 V
        ":SOUR:VOLT 300",
        ":SENS:VOLT:NPLC 11",  # 0.01 .. 10 PLC
        ":SENS:CURR:NPLC 0.001",
        ":SOUR:VOLT:ILIM 2",
        ":TRIG:DIG1:OUT:PULS 1000",
    ],
)
def test_out_of_range_is_minus_222(smu: Keithley2450, message: str) -> None:
    assert smu.process(message) is None
    m = KEITHLEY_ERROR_RE.fullmatch(next_error(smu))
    assert m
    assert (m["code"], m["msg"]) == ("-222", "Data out of range")


def test_rejected_level_leaves_the_setting_unchanged(smu: Keithley2450) -> None:
    send(smu, ":SOUR:CURR 0.01")
    smu.process(":SOUR:CURR 2")
    assert drain_errors(smu) == [-222]
    assert number(smu, ":SOUR:CURR?") == 0.01


def test_level_beyond_a_fixed_source_range_is_rejected(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.01")
    assert smu.process(":SOUR:CURR 0.011") is None  # 10 mA range: 10.5 mA max
    assert drain_errors(smu) == [-222]
    send(smu, ":SOUR:CURR 0.0105")


def test_queue_overflow_replaces_last_entry_with_minus_350(smu: Keithley2450) -> None:
    for _ in range(105):
        smu.process("BOGUS")
    assert query(smu, ":SYST:ERR:COUN?") == "100"
    codes = drain_errors(smu)
    assert codes == [-113] * 99 + [-350]


def test_overflow_entry_text(smu: Keithley2450) -> None:
    for _ in range(101):
        smu.process("BOGUS")
    for _ in range(99):
        smu.process("SYST:ERR?")
    m = KEITHLEY_ERROR_RE.fullmatch(next_error(smu))
    assert m
    assert (m["code"], m["msg"]) == ("-350", "Queue overflow")


def test_cls_clears_the_queue(smu: Keithley2450) -> None:
    for _ in range(3):
        smu.process("BOGUS")
    send(smu, "*CLS")
    assert next_error(smu) == KEITHLEY_NO_ERROR
    assert query(smu, "*ESR?") == "0"


# ---------------------------------------------------------------------------------------------
# state kept and readable


def test_source_settings_read_back(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR")
    assert query(smu, ":SOUR:FUNC?") == "CURR"
    send(smu, ":SOUR:CURR:RANG 0.01")
    assert number(smu, ":SOUR:CURR:RANG?") == 0.01
    assert query(smu, ":SOUR:CURR:RANG:AUTO?") == "0"
    send(smu, ":SOUR:CURR:RANG 0.015")  # lowest range that holds 15 mA (105 % rule)
    assert number(smu, ":SOUR:CURR:RANG?") == 0.1
    send(smu, ":SOUR:CURR 0.02;:SOUR:CURR:VLIM 15")
    assert number(smu, ":SOUR:CURR?") == 0.02
    assert number(smu, ":SOUR:CURR:VLIM?") == 15.0
    send(smu, ":SOUR:CURR:VLIM -12")  # the limit is a magnitude
    assert number(smu, ":SOUR:CURR:VLIM?") == 12.0
    send(smu, ":SOUR:CURR:DEL 0.005")
    assert number(smu, ":SOUR:CURR:DEL?") == 0.005
    assert query(smu, ":SOUR:CURR:DEL:AUTO?") == "0"  # a manual delay turns auto off
    send(smu, ":SOUR:CURR:READ:BACK OFF")
    assert query(smu, ":SOUR:CURR:READ:BACK?") == "0"


def test_auto_range_follows_the_level(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR 0.02")
    assert number(smu, ":SOUR:CURR:RANG?") == 0.1
    send(smu, ":SOUR:CURR 0.005")
    assert number(smu, ":SOUR:CURR:RANG?") == 0.01


def test_fixed_range_too_small_for_the_level_is_refused(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR 0.02")
    assert smu.process(":SOUR:CURR:RANG 0.001") is None
    assert drain_errors(smu) == [-221]
    assert number(smu, ":SOUR:CURR:RANG?") == 0.1


def test_sense_settings_read_back(smu: Keithley2450) -> None:
    send(smu, ':SENS:FUNC "VOLT"')
    assert query(smu, ":SENS:FUNC?") == '"VOLT:DC"'
    send(smu, ":SENS:VOLT:NPLC 10;:SENS:CURR:NPLC 0.5")
    assert number(smu, ":SENS:VOLT:NPLC?") == 10.0
    assert number(smu, ":SENS:CURR:NPLC?") == 0.5
    send(smu, ":SENS:VOLT:RANG 2")
    assert number(smu, ":SENS:VOLT:RANG?") == 2.0
    assert query(smu, ":SENS:VOLT:RANG:AUTO?") == "0"
    send(smu, ":SENS:VOLT:RSEN ON")
    assert query(smu, ":SENS:VOLT:RSEN?") == "1"
    assert query(smu, ":SENS:CURR:RSEN?") == "0"


def test_output_state_and_world(smu: Keithley2450, world: World) -> None:
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR 0.004;:OUTP ON")
    assert query(smu, ":OUTP?") == "1"
    assert world.source_on
    assert world.input_a == pytest.approx(0.004, abs=2e-6)
    send(smu, ":OUTP OFF")
    assert query(smu, ":OUTP?") == "0"
    assert not world.source_on
    assert world.input_a == 0.0


def test_off_modes(smu: Keithley2450) -> None:
    send(smu, ":OUTP:CURR:SMOD HIMP")
    assert query(smu, ":OUTP:CURR:SMOD?") == "HIMP"
    assert query(smu, ":OUTP:VOLT:SMOD?") == "NORM"
    send(smu, ":OUTP:SMOD ZERO")
    assert query(smu, ":OUTP:CURR:SMOD?;:OUTP:VOLT:SMOD?") == "ZERO;ZERO"


def test_ovp_levels(smu: Keithley2450) -> None:
    send(smu, ":SOUR:VOLT:PROT PROT20")
    assert query(smu, ":SOUR:VOLT:PROT?") == "PROT20"
    smu.process(":SOUR:VOLT:PROT 17")
    assert drain_errors(smu) == [-224]


def test_changing_source_function_turns_output_off(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR;:OUTP ON")
    send(smu, ":SOUR:FUNC VOLT")
    assert query(smu, ":OUTP?") == "0"


# ---------------------------------------------------------------------------------------------
# physics through the shared world


def test_4wire_voltage_is_current_times_input_resistance(smu: Keithley2450, world: World) -> None:
    r_in = world.unit.params.input_resistance_ohm
    source_20ma(smu, four_wire=True)
    current, voltage = read_source_and_voltage(smu)
    assert current == pytest.approx(0.02, abs=20e-6)  # 100 mA range: +-(0.025 % + 15 uA)
    assert voltage == pytest.approx(current * r_in, abs=0.5e-3)
    assert query(smu, ":SOUR:CURR:VLIM:TRIP?") == "0"


def test_4wire_tracks_the_unit_input_resistance() -> None:
    b = make_bench(SimulatedUnit(params=ModuleParameters(input_resistance_ohm=45.0)))
    source_20ma(b.smu, four_wire=True)
    _, voltage = read_source_and_voltage(b.smu)
    assert voltage == pytest.approx(0.02 * 45.0, abs=1e-3)


def test_2wire_includes_the_lead_resistance(bench: Bench) -> None:
    smu, world = bench.smu, bench.world
    source_20ma(smu, four_wire=True)
    _, v4 = read_source_and_voltage(smu)
    send(smu, ":SENS:VOLT:RSEN OFF")
    _, v2 = read_source_and_voltage(smu)
    assert v2 - v4 == pytest.approx(0.02 * world.wiring.lead_ohm, abs=0.1e-3)


def test_voltage_limit_trips_into_a_huge_input_resistance() -> None:
    b = make_bench(SimulatedUnit(params=ModuleParameters(input_resistance_ohm=1e6)))
    source_20ma(b.smu, four_wire=True, vlim=10.0)
    assert query(b.smu, ":SOUR:CURR:VLIM:TRIP?") == "1"
    assert query(b.smu, ":SOURCE1:CURRENT:VLIMIT:LEVEL:TRIPPED?") == "1"
    assert b.world.source_in_compliance
    # the source is clamped at the limit: V = VLIM, I = VLIM / R
    current, voltage = read_source_and_voltage(b.smu)
    assert voltage == pytest.approx(10.0, rel=1e-3)
    assert current == pytest.approx(10.0 / 1e6, abs=6e-6)  # 100 mA range offset: 6 uA
    send(b.smu, ":OUTP OFF")
    assert query(b.smu, ":SOUR:CURR:VLIM:TRIP?") == "0"


def test_raising_the_limit_clears_the_trip() -> None:
    b = make_bench(SimulatedUnit(params=ModuleParameters(input_resistance_ohm=600.0)))
    source_20ma(b.smu, four_wire=True, vlim=10.0)  # 20 mA * 600 ohm = 12 V > 10 V
    assert query(b.smu, ":SOUR:CURR:VLIM:TRIP?") == "1"
    send(b.smu, ":SOUR:CURR:VLIM 15")
    assert query(b.smu, ":SOUR:CURR:VLIM:TRIP?") == "0"
    _, voltage = read_source_and_voltage(b.smu)
    assert voltage == pytest.approx(12.0, rel=1e-3)


def test_read_with_output_off_reads_zero(smu: Keithley2450) -> None:
    # not found in the 2450 Reference Manual (2450-901-01); the simulator's assumption [E] is a
    # reading of the idle terminals rather than the 2400's "output must be on" error
    send(smu, ':SOUR:FUNC CURR;:SOUR:CURR 0.02;:SENS:FUNC "VOLT"')
    _, voltage = read_source_and_voltage(smu)
    assert abs(voltage) < 1e-3


# ---------------------------------------------------------------------------------------------
# simulated clock


@pytest.mark.parametrize(("nplc", "minimum_s"), [(10, 0.2), (1, 0.02), (0.1, 0.002)])
def test_reading_advances_the_clock_by_the_integration_time(
    smu: Keithley2450, world: World, nplc: float, minimum_s: float
) -> None:
    send(smu, f':SENS:FUNC "CURR";:SENS:CURR:NPLC {nplc}')
    wall = time.perf_counter()
    t0 = world.clock.now
    for _ in range(5):
        query(smu, ":READ?")
    elapsed = world.clock.now - t0
    assert elapsed >= 5 * minimum_s
    assert elapsed < 5 * minimum_s + 0.05
    assert time.perf_counter() - wall < 0.5  # nothing sleeps


def test_60_hz_line_shortens_the_integration() -> None:
    world = World(SimulatedUnit(), line_frequency_hz=60.0)
    smu = Keithley2450(world)
    send(smu, ":SENS:CURR:NPLC 10")
    t0 = world.clock.now
    query(smu, ":READ?")
    assert 10 / 60 <= world.clock.now - t0 < 0.2


# ---------------------------------------------------------------------------------------------
# digital trigger output


def test_trg_pulses_a_command_triggered_digital_line(smu: Keithley2450, world: World) -> None:
    fired: list[float] = []
    world.trigger_listeners.append(fired.append)
    send(smu, "*TRG")
    assert fired == []  # no line configured
    send(smu, ":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM COMM")
    assert query(smu, ":DIG:LINE1:MODE?") == "TRIG,OUT"
    assert query(smu, ":TRIG:DIG1:OUT:STIM?") == "COMM"
    t0 = world.clock.now
    assert smu.process("*TRG") is None
    assert len(fired) == 1
    assert t0 < fired[0] <= world.clock.now


def test_digital_line_state_needs_an_output_line(smu: Keithley2450) -> None:
    assert query(smu, ":DIG:LINE3:MODE?;:DIG:LINE3:STAT?") == "DIG,IN;0"
    assert smu.process(":DIG:LINE3:STAT 1") is None  # lines are inputs after *RST
    assert drain_errors(smu) == [-221]
    assert query(smu, ":DIG:LINE3:STAT?") == "0"


def test_digital_output_line_drives_the_bypass_relay() -> None:
    world = World(SimulatedUnit(), Wiring.shunt_scan())
    smu = Keithley2450(world)
    assert smu.process(":DIG:LINE2:MODE DIG, OUT;:DIG:LINE2:STAT 1") is None
    assert drain_errors(smu) == []
    assert query(smu, ":DIG:LINE2:MODE?;:DIG:LINE2:STAT?") == "DIG,OUT;1"
    assert not world.dut_connected
    send(smu, ":DIG:LINE2:STAT 0")
    assert world.dut_connected


def test_digital_line_suffix_out_of_range(smu: Keithley2450) -> None:
    smu.process(":DIG:LINE7:MODE TRIG, OUT")
    smu.process(":TRIG:DIG0:OUT:STIM COMM")
    assert drain_errors(smu) == [-114, -114]


# ---------------------------------------------------------------------------------------------
# bugs found while writing these tests


@pytest.mark.parametrize(
    ("message", "check", "expected"),
    [
        ("VOLT:NPLC 5", ":SENS:VOLT:NPLC?;:SENS:CURR:NPLC?", "5.000000E+00;1.000000E+00"),
        (
            ":SENS:VOLT:RANG 2;NPLC 5",
            ":SENS:VOLT:NPLC?;:SENS:CURR:NPLC?",
            "5.000000E+00;1.000000E+00",
        ),
        (":SENS:VOLT:NPLC 2;RSEN ON", ":SENS:VOLT:RSEN?;:SENS:CURR:RSEN?", "1;0"),
        ("VOLT:RANG 2", ":SENS:VOLT:RANG?", "2.000000E+00"),
        (":OUTP:CURR:SMOD NORM;SMOD HIMP", ":OUTP:CURR:SMOD?;:OUTP:VOLT:SMOD?", "HIMP;NORM"),
    ],
)
def test_function_is_taken_from_the_resolved_header(
    smu: Keithley2450, message: str, check: str, expected: str
) -> None:
    assert smu.process(message) is None
    assert drain_errors(smu) == []
    assert query(smu, check) == expected


def test_rejected_voltage_limit_keeps_the_previous_limit(smu: Keithley2450) -> None:
    send(smu, ":SOUR:CURR:VLIM 5")
    smu.process(":SOUR:CURR:VLIM 0.001")
    assert drain_errors(smu) == [-222]
    assert number(smu, ":SOUR:CURR:VLIM?") == 5.0


def test_bare_function_header_is_the_sense_function(smu: Keithley2450) -> None:
    send(smu, ":SOUR:FUNC CURR")
    assert smu.process(':FUNC "VOLT"') is None
    assert drain_errors(smu) == []
    assert query(smu, ":SOUR:FUNC?;:SENS:FUNC?") == 'CURR;"VOLT:DC"'


@pytest.mark.parametrize("message", [":SOUR2:CURR 0.01", ":OUTP2 ON", ":SENS3:CURR:NPLC 2"])
def test_channel_suffix_other_than_1_is_rejected(smu: Keithley2450, message: str) -> None:
    assert smu.process(message) is None
    assert drain_errors(smu) == [-114]
