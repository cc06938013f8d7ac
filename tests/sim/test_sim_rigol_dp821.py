"""Simulated Rigol DP821A supply driven directly through ``process()``.

Expected behaviour from the DP800 Programming Guide: ``:APPL``, ``:INST`` selection (commands
without a channel act on the selected one), ``:SOURce<n>`` levels limited to 105 % of the
rating (63 V / 1.05 A on CH1, 8.4 V / 10.5 A on CH2), ``:OUTP CH<n>,ON`` queried as
``ON|OFF``, OVP/OCP in both command forms, a trip switching the output off until cleared;
replies as plain decimals; errors ``-222,"Data out of range"`` / ``0,"No error"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.rigol_dl3021 import RigolDL3021
from bench.sim.instruments.rigol_dp821 import RigolDP821
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World
from tests.sim._helpers import drain_errors, next_error, number, query, send

RIGOL_NO_ERROR = '0,"No error"'


@dataclass
class RigolBench:
    world: World
    smu: Keithley2450
    supply: RigolDP821
    load: RigolDL3021


@pytest.fixture
def rb() -> RigolBench:
    world = World(SimulatedUnit())
    return RigolBench(world, Keithley2450(world), RigolDP821(world), RigolDL3021(world))


@pytest.fixture
def dp(rb: RigolBench) -> RigolDP821:
    return rb.supply


def power_loop(b: RigolBench, input_a: float = 0.020, load_ohm: float = 600.0) -> None:
    send(b.supply, ":APPL CH1,24;:OUTP CH1,ON")
    send(b.load, f":SOUR:FUNC RES;:SOUR:RES {load_ohm};:SOUR:INP:STAT ON")
    send(b.smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR {input_a};:OUTP ON")
    b.world.clock.advance(0.5)


def test_idn_options_version(dp: RigolDP821) -> None:
    assert query(dp, "*IDN?") == "RIGOL TECHNOLOGIES,DP821A,DP8F234500123,00.01.16"
    assert query(dp, "*OPT?") == "0"
    assert query(dp, ":SYST:VERS?") == "1999.0"


def test_rst_defaults(dp: RigolDP821, rb: RigolBench) -> None:
    send(dp, ":APPL CH1,24,0.1;:OUTP CH1,ON;:INST CH2")
    assert rb.world.supply.on
    send(dp, "*RST")
    assert query(dp, ":OUTP? CH1;:OUTP? CH2") == "OFF;OFF"
    assert query(dp, ":APPL? CH1") == "CH1:60V/1A,0.000,1.0000"
    assert query(dp, ":APPL? CH2") == "CH2:8V/10A,0.000,10.0000"
    assert query(dp, ":INST?;:INST:NSEL?") == "CH1;1"
    assert query(dp, ":OUTP:OVP? CH1;:OUTP:OVP:VAL? CH1") == "OFF;66.000"
    assert not rb.world.supply.on


def test_error_queue_format_and_codes(dp: RigolDP821) -> None:
    assert next_error(dp) == RIGOL_NO_ERROR
    assert dp.process(":OUTP:BOGUS ON") is None
    assert next_error(dp) == '-113,"Undefined header"'
    dp.process(":OUTP CH3,ON")  # the DP821 has two channels
    dp.process(":SOUR3:VOLT 1")
    dp.process(":SOUR1:VOLT 1,2")
    dp.process(":SOUR1:VOLT ON")
    assert drain_errors(dp) == [-224, -114, -108, -104]
    assert int(query(dp, "*ESR?")) & 0x3C == 48  # command (32) and execution (16) errors


@pytest.mark.parametrize(
    "message",
    [
        ":SOUR1:VOLT 63.1",
        ":SOUR1:CURR 1.06",
        ":SOUR2:VOLT 8.5",
        ":SOUR2:CURR 10.6",
        ":SOUR1:VOLT -1",
        ":APPL CH1,70",
        ":APPL CH2,5,11",
        ":SOUR1:VOLT:PROT 67",
        ":OUTP:OCP:VAL CH1,1.2",
        ":OUTP:OVP:VAL CH2,9",
    ],
)
def test_out_of_range_is_minus_222_and_changes_nothing(dp: RigolDP821, message: str) -> None:
    before = query(dp, ":APPL? CH1;:APPL? CH2;:SOUR1:VOLT:PROT?;:OUTP:OCP:VAL? CH1")
    assert dp.process(message) is None
    assert next_error(dp) == '-222,"Data out of range"'
    assert query(dp, ":APPL? CH1;:APPL? CH2;:SOUR1:VOLT:PROT?;:OUTP:OCP:VAL? CH1") == before


def test_channel_1_reaches_the_module_supply_limit_and_channel_2_does_not(dp: RigolDP821) -> None:
    send(dp, ":SOUR1:VOLT 31.2")
    assert query(dp, ":SOUR1:VOLT?") == "31.200"
    assert dp.process(":SOUR2:VOLT 16.8") is None
    assert drain_errors(dp) == [-222]


def test_selected_channel_and_short_long_forms(dp: RigolDP821) -> None:
    send(dp, ":INSTrument:SELect CH2;:VOLTage 5.5;:CURRent 2")
    assert query(dp, ":APPL? CH2") == "CH2:8V/10A,5.500,2.0000"
    assert query(dp, ":APPL? CH1") == "CH1:60V/1A,0.000,1.0000"
    send(dp, ":INST:NSEL 1;:SOURCE:VOLTAGE:LEVEL:IMMEDIATE:AMPLITUDE 12")
    assert query(dp, ":SOUR1:VOLT?;:SOUR2:VOLT?;:VOLT?") == "12.000;5.500;12.000"
    send(dp, ":APPL CH2,3")  # APPL selects its channel and keeps the current
    assert query(dp, ":INST?;:VOLT?;:CURR?") == "CH2;3.000;2.0000"
    assert query(dp, ":APPL? CH2,VOLT;:APPL? CH2,CURR") == "3.000;2.0000"
    assert query(dp, ":SOUR1:VOLT? MAX;:SOUR1:CURR? MAX") == "63.000;1.0500"
    send(dp, ":OUTPut:STATe CH2,ON")
    assert query(dp, ":OUTP? CH2;:OUTP? CH1;:OUTP?") == "ON;OFF;ON"  # :OUTP? = selected
    assert number(dp, ":MEAS:VOLT? CH2") == pytest.approx(3.0, abs=0.05)
    assert number(dp, ":MEAS:CURR? CH2") == pytest.approx(0.0, abs=0.02)


def test_readback_and_mode_at_the_module_operating_point(rb: RigolBench) -> None:
    power_loop(rb)
    dp = rb.supply
    assert query(dp, ":OUTP:MODE? CH1;:OUTP:CVCC? CH1") == "CV;CV"
    reply = query(dp, ":MEAS:VOLT? CH1")
    assert len(reply.split(".")[1]) == 4  # plain decimal, 4 places
    assert float(reply) == pytest.approx(24.0, abs=0.05)
    current = number(dp, ":MEAS:CURR? CH1")
    # the module draws ~23 mA at 20 mA output; the DP821A readback is +-(0.15 % + 10 mA)
    true_a = rb.world.supply_current_a()
    assert 0.015 < true_a < 0.035
    assert current == pytest.approx(true_a, abs=0.010 + 0.0015 * true_a)
    volts, amps, watts = (float(x) for x in query(dp, ":MEAS:ALL? CH1").split(","))
    assert watts == pytest.approx(volts * amps, abs=2e-3)


def test_measurement_and_output_on_take_modelled_time(dp: RigolDP821, rb: RigolBench) -> None:
    t0 = rb.world.clock.now
    query(dp, ":MEAS:VOLT? CH1")
    assert rb.world.clock.now - t0 >= 0.02
    t1 = rb.world.clock.now
    send(dp, ":APPL CH1,24;:OUTP CH1,ON")
    assert rb.world.clock.now - t1 >= dp.settle_s


def test_ovp_trip_in_both_command_forms_latches_until_cleared(rb: RigolBench) -> None:
    dp = rb.supply
    send(dp, ":APPL CH1,24,0.06;:OUTP CH1,ON")
    send(dp, ":OUTP:OVP:VAL CH1,20;:OUTP:OVP CH1,ON")  # 24 V above a 20 V OVP: trips
    assert query(dp, ":OUTP? CH1;:OUTP:OVP:QUES? CH1;:SOUR1:VOLT:PROT:QUES?") == "OFF;YES;YES"
    assert query(dp, ":STAT:QUES:COND?;:STAT:QUES?") == "1;1"
    assert not rb.world.supply.on
    assert dp.process(":OUTP CH1,ON") is None
    assert drain_errors(dp) == [-221]  # latched
    assert dp.process(":OUTP:OVP:CLE CH1") is None
    assert drain_errors(dp) == [-221]  # the level is still above the OVP
    send(dp, ":SOUR1:VOLT 18;:SOUR1:VOLT:PROT:CLE;:OUTP CH1,ON")
    assert query(dp, ":OUTP? CH1;:OUTP:OVP:ALAR? CH1") == "ON;NO"
    assert rb.world.supply.on


def test_ocp_trips_when_the_module_draws_more_than_the_level(rb: RigolBench) -> None:
    dp = rb.supply
    send(dp, ":APPL CH1,24,0.06;:SOUR1:CURR:PROT 0.015;:SOUR1:CURR:PROT:STAT ON")
    power_loop(rb, input_a=0.004)  # ~10 mA drawn at 4 mA output: below the OCP level
    assert query(dp, ":OUTP? CH1;:OUTP:OCP:QUES? CH1") == "ON;NO"
    send(rb.smu, ":SOUR:CURR 0.02")  # ~23 mA drawn: the supply trips by itself
    rb.world.clock.advance(0.1)
    assert query(dp, ":OUTP? CH1;:OUTP:OCP:QUES? CH1;:STAT:QUES?") == "OFF;YES;2"
    assert not rb.world.supply.on
    send(dp, ":OUTP:OCP:CLE CH1;:OUTP:OCP:VAL CH1,0.06;:OUTP CH1,ON")
    assert query(dp, ":OUTP? CH1;:OUTP:OCP:QUES? CH1") == "ON;NO"


def test_current_limit_without_ocp_regulates_constant_current(rb: RigolBench) -> None:
    dp = rb.supply
    send(dp, ":APPL CH1,24,0.005;:OUTP CH1,ON")
    assert query(dp, ":OUTP? CH1;:OUTP:MODE? CH1") == "ON;CC"
    assert query(dp, ":STAT:OPER:COND?") == "1024"


def test_status_byte_and_enables(dp: RigolDP821) -> None:
    send(dp, "*SRE 8;:STAT:QUES:ENAB 1")
    assert query(dp, "*SRE?;:STAT:QUES:ENAB?") == "8;1"
    send(dp, ":APPL CH1,24;:SOUR1:VOLT:PROT 20;:SOUR1:VOLT:PROT:STAT ON;:OUTP CH1,ON")
    assert int(query(dp, "*STB?")) & (8 | 64) == 8 | 64  # questionable summary, MSS
    send(dp, "*CLS")
    assert int(query(dp, "*STB?")) & 8 == 0


def test_display_and_beeper_are_accepted(dp: RigolDP821) -> None:
    send(dp, ':DISP:TEXT "isobench";:SYST:BEEP;:SYST:BEEP:STAT OFF;:DISP:STAT ON')
    assert query(dp, ":DISP:TEXT?;:SYST:BEEP:STAT?") == '"isobench";0'
    send(dp, ":DISP:TEXT:CLE")
