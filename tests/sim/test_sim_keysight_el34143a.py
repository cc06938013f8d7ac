"""Simulated Keysight EL34143A electronic load driven directly through ``process()``.

Expected behaviour: Keysight EL30000 Series Bench DC Electronic Loads Operating and
Programming Guide, SCPI reference (``[SOURce:]FUNCtion RES``, ``RESistance <ohm>``,
``RESistance:RANGe``, ``INPut {ON|OFF}``, ``MEASure:VOLTage?/CURRent?/POWer?``), Keysight error
format, *RST input off; the EL34143A row of docs/simulator.md (range values marked [E]). With
the input off the output loop is open and the module delivers no current.
"""

from __future__ import annotations

import pytest

from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.world import World
from tests.sim._helpers import (
    KEYSIGHT_NO_ERROR,
    Bench,
    drain_errors,
    next_error,
    number,
    power_loop,
    query,
    send,
)

IDN = "Keysight Technologies,EL34143A,MY61001508,1.0.3.1001"


def test_idn(load: KeysightEL34143A) -> None:
    assert query(load, "*IDN?") == IDN


def test_rst_defaults(load: KeysightEL34143A, world: World) -> None:
    send(load, "FUNC RES;:RES 250;:INP ON")
    assert world.load_on
    send(load, "*RST")
    assert query(load, "INP?") == "0"
    assert query(load, "FUNC?") == "CURR"
    assert not world.load_on
    assert world.output_loop_ohm() == float("inf")


def test_opc_query_returns_1(load: KeysightEL34143A) -> None:
    assert query(load, "*OPC?") == "1"


def test_error_formats(load: KeysightEL34143A) -> None:
    assert next_error(load) == KEYSIGHT_NO_ERROR
    assert load.process("INP:BOGUS") is None
    assert next_error(load) == '-113,"Undefined header"'
    assert next_error(load) == KEYSIGHT_NO_ERROR


@pytest.mark.parametrize(
    "message", ["RES 0.01", "RES 20000", "RES:RANG 1e6", "CURR 100", "VOLT 200", "CURR:PROT -1"]
)
def test_out_of_range_is_minus_222(load: KeysightEL34143A, message: str) -> None:
    assert load.process(message) is None
    assert next_error(load) == '-222,"Data out of range"'


def test_bad_function_name(load: KeysightEL34143A) -> None:
    load.process("FUNC OHMS")
    assert drain_errors(load) == [-224]
    assert query(load, "FUNC?") == "CURR"


def test_queue_overflow_replaces_last_entry_with_minus_350(load: KeysightEL34143A) -> None:
    for _ in range(30):
        load.process("BOGUS")
    assert query(load, "SYST:ERR:COUN?") == "+20"
    assert drain_errors(load) == [-113] * 19 + [-350]


def test_cls_clears_the_queue(load: KeysightEL34143A) -> None:
    load.process("BOGUS")
    send(load, "*CLS")
    assert next_error(load) == KEYSIGHT_NO_ERROR


def test_settings_read_back(load: KeysightEL34143A) -> None:
    for long_form, short in [
        ("RESistance", "RES"),
        ("VOLTage", "VOLT"),
        ("POWer", "POW"),
        ("CURRent", "CURR"),
    ]:
        send(load, f"SOUR:FUNC {long_form}")
        assert query(load, "FUNC?") == short
    send(load, "FUNC RES;:RES:RANG 1500;:RES 250")
    assert query(load, "RES?;RES:RANG?") == "+2.50000000E+02;+1.50000000E+03"
    send(load, "RES 600")
    assert number(load, "SOUR:RES:LEV:IMM:AMPL?") == 600.0
    send(load, "RES 5000")  # above the range: the range follows the level
    assert number(load, "RES:RANG?") == 15000.0
    send(load, "RES:RANG 150")  # the level is clamped into the new range
    assert query(load, "RES?;RES:RANG?") == "+1.50000000E+02;+1.50000000E+02"
    send(load, "INP ON")
    assert query(load, "INP?") == "1"
    send(load, "INP OFF")
    assert query(load, "INP?") == "0"
    send(load, "CURR:PROT 0.5;:CURR:PROT:STAT ON")
    assert query(load, "CURR:PROT?;CURR:PROT:STAT?") == "+5.00000000E-01;1"


# ---------------------------------------------------------------------------------------------
# physics


def test_input_on_closes_the_loop_with_the_set_resistance(bench: Bench) -> None:
    send(bench.load, "FUNC RES;:RES:RANG 1500;:RES 600;:INP ON")
    assert bench.world.load_on
    # CR accuracy is specified in siemens: +-(0.1 % G + 20 uS) on the 1500 ohm range [E]
    assert 1 / bench.world.load_ohm == pytest.approx(1 / 600, abs=0.001 / 600 + 20e-6)


def test_load_voltage_and_current_readback(bench: Bench) -> None:
    power_loop(bench, input_a=0.020, load_ohm=250.0)
    assert number(bench.load, "MEAS:VOLT?") == pytest.approx(0.020 * 250.0, abs=0.03)
    assert number(bench.load, "MEAS:CURR?") == pytest.approx(0.020, abs=5e-3)  # 40 A class
    assert number(bench.load, "MEAS:POW?") == pytest.approx(0.020**2 * 250.0, rel=0.02)


def test_input_off_gives_zero_output_current(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    assert number(bench.dmm, "MEAS:CURR:DC? 0.1") == pytest.approx(0.020, abs=30e-6)
    send(bench.load, "INP OFF")
    bench.world.clock.advance(0.1)
    assert abs(number(bench.dmm, "MEAS:CURR:DC? 0.1")) < 10e-6
    assert abs(number(bench.load, "MEAS:VOLT?")) < 0.03  # readback offset and noise only
    assert abs(number(bench.load, "MEAS:CURR?")) < 5e-3
    assert number(bench.load, "MEAS:POW?") == 0.0


def test_loop_resistance_above_the_compliance_limits_the_output(bench: Bench) -> None:
    # 13.5 V output compliance: 20 mA needs <= 675 ohm; 1000 ohm gives 13.5 mA
    power_loop(bench, input_a=0.020, load_ohm=1000.0)
    reading = number(bench.dmm, "MEAS:CURR:DC? 0.1")
    assert reading < 0.014
    assert reading == pytest.approx(13.5 / bench.world.output_loop_ohm(), rel=0.01)


def test_ocp_trip_opens_the_input_and_latches(bench: Bench) -> None:
    load = bench.load
    power_loop(bench, input_a=0.020)
    send(load, "CURR:PROT 0.01;:CURR:PROT:STAT ON")  # 20 mA > 10 mA
    assert query(load, "INP?") == "0"
    assert not bench.world.load_on
    assert load.process("INP ON") is None
    assert drain_errors(load) == [-221]
    send(load, "CURR:PROT:STAT OFF;:INP:PROT:CLE;:INP ON")
    assert query(load, "INP?") == "1"


def test_measurement_advances_the_clock(load: KeysightEL34143A, world: World) -> None:
    t0 = world.clock.now
    query(load, "MEAS:VOLT?;MEAS:CURR?")
    assert world.clock.now - t0 >= 0.04
