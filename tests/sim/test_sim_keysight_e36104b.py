"""Simulated Keysight E36104B supply (35 V / 1 A) driven directly through ``process()``.

Expected behaviour: Keysight E36100 Series Programmable DC Power Supplies Operating and Service
Guide, SCPI programming reference (``VOLT``, ``CURR``, ``OUTP``, ``VOLT:PROT``, ``MEAS:VOLT?``,
``MEAS:CURR?``, ``STATus:QUEStionable``): an OVP/OCP trip disables the output, sets Questionable
bit 0 (OV) / bit 1 (OC) and latches until ``...:PROTection:CLEar``; Keysight error format;
*RST output off at 0 V. The E36104B row of docs/simulator.md lists what is simulated.
"""

from __future__ import annotations

import pytest

from bench.sim.instruments.keysight_e36104b import KeysightE36104B
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

IDN = "Keysight Technologies,E36104B,MY61004321,1.0.4-1.0.0-1.0.2"


def test_idn(supply: KeysightE36104B) -> None:
    assert query(supply, "*IDN?") == IDN


def test_rst_defaults(supply: KeysightE36104B, world: World) -> None:
    send(supply, "VOLT 24;:CURR 0.1;:OUTP ON")
    assert world.supply.on
    send(supply, "*RST")
    assert query(supply, "OUTP?") == "0"
    assert number(supply, "VOLT?") == 0.0
    assert query(supply, "VOLT:PROT:STAT?") == "1"
    assert query(supply, "VOLT:PROT:TRIP?;:CURR:PROT:TRIP?") == "0;0"
    assert not world.supply.on
    assert world.supply.terminal_v == 0.0


def test_opc_query_returns_1(supply: KeysightE36104B) -> None:
    assert query(supply, "*OPC?") == "1"


def test_error_formats(supply: KeysightE36104B) -> None:
    assert next_error(supply) == KEYSIGHT_NO_ERROR
    assert supply.process("OUTP:BOGUS ON") is None
    assert next_error(supply) == '-113,"Undefined header"'
    assert next_error(supply) == KEYSIGHT_NO_ERROR


@pytest.mark.parametrize(
    "message",
    ["VOLT 40", "VOLT -1", "CURR 2", "CURR 0", "VOLT:PROT 50", "APPL 40,0.1", "APPL 24,5"],
)
def test_out_of_range_is_minus_222(supply: KeysightE36104B, message: str) -> None:
    assert supply.process(message) is None
    assert next_error(supply) == '-222,"Data out of range"'


def test_rejected_level_leaves_the_setting_unchanged(supply: KeysightE36104B) -> None:
    send(supply, "VOLT 24")
    supply.process("VOLT 40")
    assert drain_errors(supply) == [-222]
    assert number(supply, "VOLT?") == 24.0


def test_queue_overflow_replaces_last_entry_with_minus_350(supply: KeysightE36104B) -> None:
    for _ in range(21):
        supply.process("BOGUS")
    assert query(supply, "SYST:ERR:COUN?") == "+20"
    assert drain_errors(supply) == [-113] * 19 + [-350]


def test_cls_clears_the_queue(supply: KeysightE36104B) -> None:
    supply.process("BOGUS")
    send(supply, "*CLS")
    assert next_error(supply) == KEYSIGHT_NO_ERROR


def test_settings_read_back(supply: KeysightE36104B) -> None:
    send(supply, "VOLT 24;:CURR 0.05;:VOLT:PROT 30")
    assert query(supply, "VOLT?;:CURR?;:VOLT:PROT?") == (
        "+2.40000000E+01;+5.00000000E-02;+3.00000000E+01"
    )
    send(supply, "SOURCE:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE 12.5")
    assert number(supply, "SOUR:VOLT?") == 12.5
    assert query(supply, "APPL?") == '"12.50000,0.05000"'
    send(supply, "APPL 24,0.1")
    assert query(supply, "VOLT?;:CURR?") == "+2.40000000E+01;+1.00000000E-01"
    send(supply, "VOLT:SENS EXT")
    assert query(supply, "VOLT:SENS?") == "1"
    send(supply, "OUTP ON")
    assert query(supply, "OUTP?") == "1"
    send(supply, "OUTP OFF")
    assert query(supply, "OUTP?") == "0"


def test_voltage_query_with_min_max(supply: KeysightE36104B) -> None:
    assert number(supply, "VOLT? MIN") == 0.0
    assert number(supply, "VOLT? MAX") == pytest.approx(35.7)


# ---------------------------------------------------------------------------------------------
# physics


def test_output_voltage_readback(supply: KeysightE36104B, world: World) -> None:
    send(supply, "VOLT 24")
    assert abs(number(supply, "MEAS:VOLT?")) < 0.02  # output off
    send(supply, "OUTP ON")
    assert world.supply.on
    assert world.supply.mode == "CV"
    assert number(supply, "MEAS:VOLT?") == pytest.approx(24.0, abs=0.03)
    assert query(supply, "STAT:OPER:COND?") == "+256"  # CV


def test_supply_current_at_20_ma_output(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    current = number(bench.supply, "MEAS:CURR?")
    # DC/DC model: (0.15 W + 15 V * 20 mA / 0.75) / 24 V = 22.9 mA
    assert current == pytest.approx(0.0229, abs=2e-3)


def test_supply_current_grows_with_the_output(bench: Bench) -> None:
    power_loop(bench, input_a=0.0)
    idle = number(bench.supply, "MEAS:CURR?")
    assert idle == pytest.approx(0.15 / 24, abs=2e-3)
    send(bench.smu, ":SOUR:CURR 0.02")
    bench.world.clock.advance(0.1)
    assert number(bench.supply, "MEAS:CURR?") - idle == pytest.approx(
        15 * 0.02 / 0.75 / 24, abs=2e-3
    )


def test_measure_current_is_zero_with_output_off(bench: Bench) -> None:
    power_loop(bench, input_a=0.020)
    send(bench.supply, "OUTP OFF")
    assert abs(number(bench.supply, "MEAS:CURR?")) < 2e-3


def test_measurement_advances_the_clock(supply: KeysightE36104B, world: World) -> None:
    t0 = world.clock.now
    query(supply, "MEAS:VOLT?")
    assert world.clock.now - t0 >= 0.02


# ---------------------------------------------------------------------------------------------
# protection


def test_ovp_trip_turns_the_output_off_and_latches(supply: KeysightE36104B, world: World) -> None:
    send(supply, "VOLT:PROT 20;:VOLT 24")
    send(supply, "OUTP ON")  # 24 V > 20 V OVP: trips at once
    assert query(supply, "OUTP?") == "0"
    assert query(supply, "VOLT:PROT:TRIP?") == "1"
    assert query(supply, "STAT:QUES?") == "+1"
    assert not world.supply.on
    assert abs(number(supply, "MEAS:VOLT?")) < 0.02
    # latched: the output does not come back on
    assert supply.process("OUTP ON") is None
    assert drain_errors(supply) == [-221]
    assert query(supply, "OUTP?") == "0"
    # clearing while the setting is still above the OVP level is refused
    assert supply.process("VOLT:PROT:CLE") is None
    assert drain_errors(supply) == [-221]
    assert query(supply, "VOLT:PROT:TRIP?") == "1"
    # lower the level, clear, switch on again
    send(supply, "VOLT 12;:VOLT:PROT:CLE")
    assert query(supply, "VOLT:PROT:TRIP?") == "0"
    assert query(supply, "STAT:QUES?") == "+0"
    send(supply, "OUTP ON")
    assert query(supply, "OUTP?") == "1"
    assert world.supply.on


def test_lowering_ovp_below_the_output_trips(supply: KeysightE36104B) -> None:
    send(supply, "VOLT 24;:OUTP ON")
    send(supply, "VOLT:PROT 20")
    assert query(supply, "OUTP?;:VOLT:PROT:TRIP?") == "0;1"


def test_ovp_disabled_does_not_trip(supply: KeysightE36104B) -> None:
    send(supply, "VOLT:PROT:STAT OFF;:VOLT:PROT 20;:VOLT 24;:OUTP ON")
    assert query(supply, "OUTP?;:VOLT:PROT:TRIP?") == "1;0"


def test_ocp_trip_when_the_module_needs_more_than_the_limit(bench: Bench) -> None:
    supply = bench.supply
    send(supply, "CURR 0.005;:CURR:PROT:STAT ON;:VOLT 24")
    send(supply, "OUTP ON")  # the idle module draws ~6 mA > 5 mA
    assert query(supply, "OUTP?;:CURR:PROT:TRIP?") == "0;1"
    assert query(supply, "STAT:QUES?") == "+2"
    assert not bench.world.supply.on
    send(supply, "CURR 0.1;:CURR:PROT:CLE")
    send(supply, "OUTP ON")
    assert query(supply, "OUTP?;:CURR:PROT:TRIP?") == "1;0"


def test_current_limit_without_ocp_goes_constant_current(bench: Bench) -> None:
    supply = bench.supply
    send(supply, "CURR 0.005;:VOLT 24;:OUTP ON")
    assert query(supply, "OUTP?") == "1"
    assert bench.world.supply.mode == "CC"
    assert query(supply, "STAT:OPER:COND?") == "+1024"
