"""Simulated Keysight 34465A DMM driven directly through ``process()``.

Expected values: Keysight Truevolt Series Digital Multimeters Operating and Service Guide,
SCPI programming reference (the *RST state: DC volts, NPLC 10, autozero on, ``TRIG:SOUR IMM``;
``[SENSe:]VOLTage[:DC]:NPLC`` {0.001 .. 100}, rounded up; ``SYSTem:ERRor?`` ``+0,"No error"`` /
``-113,"Undefined header"``, 20 deep with ``-350,"Queue overflow"``; numbers as
``+1.00000000E+01``; overload ``+9.90000000E+37``), and the 34465A row of docs/simulator.md.
"""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pytest

from bench.sim.instruments.keysight34465a import Keysight34465A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World
from tests.sim._helpers import (
    KEYSIGHT_NO_ERROR,
    Bench,
    drain_errors,
    next_error,
    number,
    numbers,
    power_loop,
    query,
    send,
)

IDN = "Keysight Technologies,34465A,MY59012345,A.03.01-03.15-03.01-00.52-03-02"


# ---------------------------------------------------------------------------------------------
# identity, reset, common commands


def test_idn(dmm: Keysight34465A) -> None:
    assert query(dmm, "*IDN?") == IDN


def test_rst_defaults(dmm: Keysight34465A) -> None:
    send(
        dmm,
        ':SENS:FUNC "CURR";:VOLT:NPLC 1;:VOLT:ZERO:AUTO OFF;:TRIG:SOUR BUS;:TRIG:COUN 4;'
        ":SAMP:COUN 10;:SAMP:SOUR TIM;:VOLT:RANG 1",
    )
    send(dmm, "*RST")
    assert query(dmm, "FUNC?") == '"VOLT"'
    assert query(dmm, "VOLT:NPLC?") == "+1.00000000E+01"
    assert query(dmm, "CURR:NPLC?") == "+1.00000000E+01"
    assert query(dmm, "TRIG:SOUR?") == "IMM"
    assert query(dmm, "VOLT:ZERO:AUTO?") == "1"
    assert query(dmm, "VOLT:RANG:AUTO?") == "1"
    assert query(dmm, "SAMP:COUN?") == "+1"
    assert query(dmm, "SAMP:SOUR?") == "IMM"
    assert number(dmm, "TRIG:COUN?") == 1.0
    assert query(dmm, "TRIG:DEL:AUTO?") == "1"


def test_opc_query_returns_1(dmm: Keysight34465A) -> None:
    assert query(dmm, "*OPC?") == "1"


def test_line_frequency(dmm: Keysight34465A) -> None:
    assert query(dmm, "SYST:LFR?") == "+50"


# ---------------------------------------------------------------------------------------------
# error queue (Keysight format)


def test_error_formats(dmm: Keysight34465A) -> None:
    assert next_error(dmm) == KEYSIGHT_NO_ERROR
    assert dmm.process("VOLT:BOGUS?") is None
    assert next_error(dmm) == '-113,"Undefined header"'
    assert next_error(dmm) == KEYSIGHT_NO_ERROR


@pytest.mark.parametrize(
    "message",
    [
        "VOLT:NPLC 1000",
        "VOLT:NPLC 0.0001",
        "SAMP:COUN 0",
        "TRIG:COUN 0",
        "TRIG:DEL -1",
        "SAMP:TIM 4000",
        "VOLT:RANG 2000",
        "CURR:RANG 10",
    ],
)
def test_out_of_range_is_minus_222(dmm: Keysight34465A, message: str) -> None:
    assert dmm.process(message) is None
    assert next_error(dmm) == '-222,"Data out of range"'


def test_queue_overflow_replaces_last_entry_with_minus_350(dmm: Keysight34465A) -> None:
    for _ in range(25):
        dmm.process("BOGUS")
    assert query(dmm, "SYST:ERR:COUN?") == "+20"
    for _ in range(19):
        assert next_error(dmm) == '-113,"Undefined header"'
    assert next_error(dmm) == '-350,"Queue overflow"'
    assert next_error(dmm) == KEYSIGHT_NO_ERROR


def test_cls_clears_queue_and_status(dmm: Keysight34465A) -> None:
    dmm.process("BOGUS")
    dmm.process("VOLT:NPLC 1000")
    send(dmm, "*CLS")
    assert next_error(dmm) == KEYSIGHT_NO_ERROR
    dmm.process("BOGUS")
    assert query(dmm, "*ESR?") == "+32"
    assert query(dmm, "*STB?") == "+4"  # error queue not empty
    drain_errors(dmm)
    assert query(dmm, "*STB?") == "+0"


# ---------------------------------------------------------------------------------------------
# state kept and readable


@pytest.mark.parametrize(
    ("value", "expected"),
    [("100", 100.0), ("10", 10.0), ("5", 10.0), ("0.5", 1.0), ("0.02", 0.02), ("MIN", 0.001)],
)
def test_nplc_rounds_up_to_a_supported_value(
    dmm: Keysight34465A, value: str, expected: float
) -> None:
    send(dmm, f"CURR:NPLC {value}")
    assert number(dmm, "CURR:NPLC?") == expected


def test_ranges_and_trigger_settings_read_back(dmm: Keysight34465A) -> None:
    send(dmm, "CURR:RANG 0.05;:VOLT:RANG 5")
    assert query(dmm, "CURR:RANG?;:VOLT:RANG?") == "+1.00000000E-01;+1.00000000E+01"
    assert query(dmm, "CURR:RANG:AUTO?;:VOLT:RANG:AUTO?") == "0;0"
    send(dmm, "TRIG:SOUR EXT;:TRIG:DEL 0.01;:TRIG:COUN 3;:TRIG:SLOP POS")
    assert query(dmm, "TRIG:SOUR?;DEL?;SLOP?") == "EXT;+1.00000000E-02;POS"
    assert number(dmm, "TRIG:COUN?") == 3.0
    assert query(dmm, "TRIG:DEL:AUTO?") == "0"
    send(dmm, "SAMP:COUN 100;:SAMP:SOUR TIM;:SAMP:TIM 0.001")
    assert query(dmm, "SAMP:COUN?;SOUR?;TIM?") == "+100;TIM;+1.00000000E-03"
    send(dmm, "CURR:ZERO:AUTO OFF")
    assert query(dmm, "CURR:ZERO:AUTO?;:VOLT:ZERO:AUTO?") == "0;1"


def test_configure_sets_function_and_range(dmm: Keysight34465A) -> None:
    send(dmm, "CONF:CURR:DC 0.1")
    assert query(dmm, "FUNC?") == '"CURR"'
    assert re.fullmatch(r'"CURR \+1\.00000000E-01,\+\d\.\d{8}E[+-]\d\d"', query(dmm, "CONF?"))
    assert query(dmm, "CURR:RANG:AUTO?") == "0"
    send(dmm, "CONF:VOLT:DC AUTO")
    assert query(dmm, "FUNC?") == '"VOLT"'
    assert query(dmm, "VOLT:RANG:AUTO?") == "1"


def test_minimum_sample_time_is_the_reading_time(dmm: Keysight34465A) -> None:
    send(dmm, "CONF:CURR:DC 0.1;:CURR:NPLC 1;:CURR:ZERO:AUTO ON")
    assert number(dmm, "SAMP:TIM? MIN") == pytest.approx(2 * 0.02, rel=0.01)
    send(dmm, "CURR:ZERO:AUTO OFF")
    assert number(dmm, "SAMP:TIM? MIN") == pytest.approx(0.02, rel=0.01)


# ---------------------------------------------------------------------------------------------
# physics through the shared world (direct topology: the DMM is in the output loop)


def test_measures_the_module_output_current(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    reading = number(bench.dmm, "MEAS:CURR:DC? 0.1")
    assert reading == pytest.approx(bench.world.input_a, abs=15e-6)
    assert reading == pytest.approx(0.020, abs=30e-6)


def test_output_follows_the_input(bench: Bench) -> None:
    power_loop(bench, input_a=0.004)
    assert number(bench.dmm, "MEAS:CURR:DC? 0.1") == pytest.approx(0.004, abs=15e-6)
    send(bench.smu, ":SOUR:CURR 0.012")
    bench.world.clock.advance(0.1)
    assert number(bench.dmm, "READ?") == pytest.approx(0.012, abs=15e-6)


def test_no_output_without_supply(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    send(bench.supply, "OUTP OFF")
    bench.world.clock.advance(0.1)
    assert abs(number(bench.dmm, "MEAS:CURR:DC? 0.1")) < 10e-6


def test_no_output_before_the_supply_comes_up(bench: Bench) -> None:
    send(bench.load, "FUNC RES;:RES 250;:INP ON")
    send(bench.smu, ":SOUR:FUNC CURR;:SOUR:CURR 0.02;:OUTP ON")
    bench.world.clock.advance(0.5)
    assert abs(number(bench.dmm, "MEAS:CURR:DC? 0.1")) < 10e-6


def test_load_input_off_gives_zero_output_current(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    send(bench.load, "INP OFF")
    bench.world.clock.advance(0.1)
    assert abs(number(bench.dmm, "MEAS:CURR:DC? 0.1")) < 10e-6


def test_overload_reply(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    assert query(bench.dmm, "MEAS:CURR:DC? 0.0001") == "+9.90000000E+37"


def test_voltage_function_reads_back_as_number(dmm: Keysight34465A) -> None:
    value = number(dmm, "READ?")
    assert math.isfinite(value)
    assert abs(value) < 1e-3


# ---------------------------------------------------------------------------------------------
# simulated clock


def test_nplc_10_with_autozero_takes_at_least_0_4_s_per_reading(
    dmm: Keysight34465A, world: World
) -> None:
    wall = time.perf_counter()
    t0 = world.clock.now
    query(dmm, "READ?")
    assert world.clock.now - t0 >= 0.4
    assert world.clock.now - t0 < 0.45
    assert time.perf_counter() - wall < 0.2  # modelled, not slept


def test_autozero_off_halves_the_reading_time(dmm: Keysight34465A, world: World) -> None:
    send(dmm, "VOLT:ZERO:AUTO OFF")
    t0 = world.clock.now
    query(dmm, "READ?")
    assert 0.2 <= world.clock.now - t0 < 0.25


def test_sample_count_multiplies_the_time(dmm: Keysight34465A, world: World) -> None:
    send(dmm, "SAMP:COUN 5")
    wall = time.perf_counter()
    t0 = world.clock.now
    assert len(numbers(dmm, "READ?")) == 5
    assert world.clock.now - t0 >= 5 * 0.4
    assert time.perf_counter() - wall < 0.2


def test_60_hz_line() -> None:
    world = World(SimulatedUnit(), line_frequency_hz=60.0)
    dmm = Keysight34465A(world)
    assert query(dmm, "SYST:LFR?") == "+60"
    t0 = world.clock.now
    query(dmm, "READ?")
    assert 2 * 10 / 60 <= world.clock.now - t0 < 0.4


def test_nplc_100_is_modelled_without_waiting(dmm: Keysight34465A, world: World) -> None:
    send(dmm, "VOLT:NPLC 100")
    wall = time.perf_counter()
    t0 = world.clock.now
    query(dmm, "READ?;READ?;READ?")
    assert world.clock.now - t0 >= 3 * 4.0
    assert time.perf_counter() - wall < 0.2


# ---------------------------------------------------------------------------------------------
# triggering and reading memory


def test_bus_trigger_acquisition(dmm: Keysight34465A, world: World) -> None:
    send(dmm, "VOLT:NPLC 1;:TRIG:SOUR BUS;:SAMP:COUN 3;:INIT")
    assert query(dmm, "DATA:POIN?") == "+0"
    send(dmm, "*TRG")
    assert len(numbers(dmm, "FETC?")) == 3
    # FETC? is not destructive
    assert len(numbers(dmm, "FETC?")) == 3


def test_read_with_bus_trigger_is_a_trigger_deadlock(dmm: Keysight34465A) -> None:
    send(dmm, "TRIG:SOUR BUS")
    assert dmm.process("READ?") is None
    assert drain_errors(dmm) == [-214]


def test_trg_without_bus_source_is_ignored(dmm: Keysight34465A) -> None:
    assert dmm.process("*TRG") is None
    assert drain_errors(dmm) == [-211]


def test_fetch_without_measurement(dmm: Keysight34465A) -> None:
    assert dmm.process("FETC?") is None
    assert drain_errors(dmm) == [-230]


def test_init_while_waiting_for_a_trigger(dmm: Keysight34465A) -> None:
    send(dmm, "TRIG:SOUR EXT;:INIT")
    assert dmm.process("INIT") is None
    assert dmm.process("TRIG:SOUR IMM") is None
    assert drain_errors(dmm) == [-213, -221]
    send(dmm, "ABOR")
    send(dmm, "TRIG:SOUR IMM")


def test_r_query_returns_a_definite_length_block_and_removes_readings(
    dmm: Keysight34465A,
) -> None:
    send(dmm, "VOLT:NPLC 0.2;:SAMP:COUN 4;:INIT")
    assert query(dmm, "*OPC?") == "1"
    assert query(dmm, "DATA:POIN?") == "+4"
    block = query(dmm, "R? 3")
    m = re.fullmatch(r"#(\d)(\d+)(.*)", block)
    assert m
    assert int(m[1]) == len(m[2])
    assert int(m[2]) == len(m[3])
    assert len(m[3].split(",")) == 3
    assert query(dmm, "DATA:POIN?") == "+1"


def configure_capture(dmm: Keysight34465A, count: int, dt: float) -> None:
    send(
        dmm,
        "CONF:CURR:DC 0.1;:CURR:NPLC 0.02;:CURR:ZERO:AUTO OFF;:TRIG:SOUR EXT;:TRIG:DEL 0;"
        f":SAMP:SOUR TIM;:SAMP:TIM {dt};:SAMP:COUN {count};:INIT",
    )


def test_timed_capture_triggered_by_the_2450_shows_a_first_order_rise(bench: Bench) -> None:
    """34465A waits on Ext Trig; the 2450's digital line 1 (trigger out, stimulus COMMand)
    pulses on ``*TRG``, sent in the same message as the input step 4 mA -> 20 mA."""
    smu, dmm, world = bench.smu, bench.dmm, bench.world
    power_loop(bench, input_a=0.004)
    dt, count = 0.0005, 40
    configure_capture(dmm, count, dt)
    send(smu, ":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM COMM")
    world.clock.advance(0.01)
    assert query(dmm, "DATA:POIN?") == "+0"  # still waiting for the trigger
    wall = time.perf_counter()
    t_step = world.clock.now
    send(smu, "*TRG;:SOUR:CURR 0.02")
    y = np.array(numbers(dmm, "FETC?"))
    assert time.perf_counter() - wall < 0.5
    assert world.clock.now >= t_step + (count - 1) * dt  # FETC? waited for the whole record
    assert len(y) == count
    # first-order rise from 4 mA to 20 mA: starts low, rises monotonically, settles at 20 mA
    assert y[0] < 0.008
    assert np.all(np.diff(y[:15]) > 0)
    assert y[-5:] == pytest.approx(0.020, abs=10e-6)
    # ln(final - y) is a straight line with slope -1/tau
    t = np.arange(count) * dt
    y0, y1 = 0.004, 0.020
    fraction = (y1 - y) / (y1 - y0)
    use = fraction > 0.02
    slope, _ = np.polyfit(t[use], np.log(fraction[use]), 1)
    assert -1.0 / slope == pytest.approx(world.unit.params.tau_s, rel=0.05)
    # 63 % of the step one time constant after the first sample
    tau = world.unit.params.tau_s
    at_tau = np.interp(t[0] + tau, t, y)
    assert (at_tau - y[0]) / (y1 - y[0]) == pytest.approx(1 - math.exp(-1), abs=0.03)


def test_capture_is_not_triggered_without_digital_line_configuration(bench: Bench) -> None:
    power_loop(bench, input_a=0.004)
    configure_capture(bench.dmm, 10, 0.0005)
    send(bench.smu, "*TRG;:SOUR:CURR 0.02")
    assert query(bench.dmm, "DATA:POIN?") == "+0"
    assert bench.dmm.process("FETC?") is None
    assert drain_errors(bench.dmm) != []


# ---------------------------------------------------------------------------------------------
# bugs found while writing these tests


@pytest.mark.parametrize(
    ("message", "check", "expected"),
    [
        (
            ":SENS:VOLT:DC:RANG 10;NPLC 1",
            "VOLT:NPLC?;:CURR:NPLC?",
            "+1.00000000E+00;+1.00000000E+01",
        ),
        (":SENS:VOLT:NPLC 1;ZERO:AUTO OFF", "VOLT:ZERO:AUTO?;:CURR:ZERO:AUTO?", "0;1"),
        (":SENS:VOLT:NPLC 1;RANG:AUTO OFF", "VOLT:RANG:AUTO?;:CURR:RANG:AUTO?", "0;1"),
        (":CONF:CURR;VOLT", "FUNC?", '"VOLT"'),
    ],
)
def test_function_is_taken_from_the_resolved_header(
    dmm: Keysight34465A, message: str, check: str, expected: str
) -> None:
    assert dmm.process(message) is None
    assert drain_errors(dmm) == []
    assert query(dmm, check) == expected


def test_init_cost_does_not_grow_with_the_trigger_count(dmm: Keysight34465A) -> None:
    send(dmm, "TRIG:COUN 1000000")
    wall = time.perf_counter()
    assert dmm.process("INIT") is None
    assert time.perf_counter() - wall < 0.05
