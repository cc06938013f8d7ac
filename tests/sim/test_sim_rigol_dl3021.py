"""Simulated Rigol DL3021 electronic load driven directly through ``process()``.

Expected behaviour from the DL3000 Programming Guide: ``[:SOURce]:FUNCtion`` with the four
static modes, per-mode ``:RANGe`` (a value selects the range holding it; ``MIN`` low, ``MAX``
high), levels clamped into the active range, ``:VON`` start voltage (nothing sinks below
it), ``[:SOURce]:INPut:STATe`` answered ``1|0``, ``:MEASure`` replies as plain decimals.
The module is a 20 mA current source with a ~15 V compliance: CR 600 ohm gives 12 V.
"""

from __future__ import annotations

import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.rigol_dl3021 import RigolDL3021
from bench.sim.instruments.rigol_dp821 import RigolDP821
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World
from tests.sim._helpers import drain_errors, next_error, number, query, send


@pytest.fixture
def world() -> World:
    return World(SimulatedUnit())


@pytest.fixture
def dl(world: World) -> RigolDL3021:
    return RigolDL3021(world)


def drive_module(world: World, input_a: float = 0.020) -> None:
    """Supply on (DP821 CH1 24 V), the 2450 sourcing ``input_a``; settled on the sim clock."""
    send(RigolDP821(world), ":APPL CH1,24,0.06;:OUTP CH1,ON")
    smu = Keithley2450(world)
    send(smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR {input_a};:OUTP ON")
    world.clock.advance(0.5)


def test_idn_and_error_format(dl: RigolDL3021) -> None:
    assert query(dl, "*IDN?") == "RIGOL TECHNOLOGIES,DL3021,DL3A234500123,00.01.02.00.02"
    assert next_error(dl) == '0,"No error"'
    dl.process(":SOUR:BOGUS 1")
    dl.process(":SOUR:FUNC OHMS")
    dl.process(":SOUR:RES 20000")
    dl.process(":SOUR:RES -1")
    dl.process(":SOUR:RES 10 V")
    assert drain_errors(dl) == [-113, -224, -222, -222, -131]


def test_rst_defaults(dl: RigolDL3021, world: World) -> None:
    send(dl, ":SOUR:FUNC RES;:SOUR:RES 600;:SOUR:INP:STAT ON")
    assert world.load_on
    send(dl, "*RST")
    assert query(dl, ":SOUR:FUNC?;:SOUR:INP:STAT?") == "CURR;0"
    assert query(dl, ":SOUR:RES?;:SOUR:RES:RANG?") == "15000.000000;15000.000000"
    assert query(dl, ":SOUR:CURR?;:SOUR:CURR:RANG?") == "0.000000;40.000000"
    assert not world.load_on


def test_function_short_and_long_forms(dl: RigolDL3021) -> None:
    for text, reply in (
        ("RESISTANCE", "RES"),
        ("curr", "CURR"),
        ("Voltage", "VOLT"),
        ("POW", "POW"),
        ("RES", "RES"),
    ):
        send(dl, f":SOURCE:FUNCTION {text}")
        assert query(dl, ":FUNC?") == reply
    assert query(dl, ":SOUR:FUNC:MODE?") == "FIX"
    dl.process(":SOUR:FUNC:MODE BATT")
    assert drain_errors(dl) == [-221]  # battery, list, OCP/OPP test modes: not simulated


def test_ranges_select_by_value_and_clamp_the_level(dl: RigolDL3021) -> None:
    send(dl, ":SOUR:RES:RANG 10")
    assert number(dl, ":SOUR:RES:RANG?") == 15.0
    send(dl, ":SOUR:RES 600")  # above the low range: clamped, no error (read it back)
    assert number(dl, ":SOUR:RES?") == 15.0
    send(dl, ":SOUR:RES:RANG MAX;:SOUR:RES 600")
    assert query(dl, ":SOUR:RES?;:SOUR:RES:RANG?") == "600.000000;15000.000000"
    assert number(dl, ":SOUR:RES:RANG? MIN") == 15.0
    send(dl, ":SOUR:CURR:RANG MIN;:SOUR:CURR 5")
    assert query(dl, ":SOUR:CURR?;:SOUR:CURR:RANG?") == "4.000000;4.000000"
    send(dl, ":SOUR:VOLT:RANG 100")
    assert number(dl, ":SOUR:VOLT:RANG?") == 150.0
    assert number(dl, ":SOUR:CURR? MAX") == 40.0


def test_cr_600_ohm_against_the_module(dl: RigolDL3021, world: World) -> None:
    send(dl, ":SOUR:FUNC RES;:SOUR:RES:RANG MAX;:SOUR:RES 600;:SOUR:INP:STAT ON")
    drive_module(world)
    reply = query(dl, ":MEAS:VOLT?")
    assert len(reply.split(".")[1]) == 6
    assert float(reply) == pytest.approx(12.0, rel=0.02)  # 20 mA x 600 ohm within CR accuracy
    assert number(dl, ":MEAS:CURR?") == pytest.approx(0.020, abs=1e-3)
    assert number(dl, ":MEAS:RES?") == pytest.approx(600.0, rel=0.02)
    assert number(dl, ":MEAS:POW?") == pytest.approx(0.24, rel=0.03)
    assert world.load_voltage_v() == pytest.approx(number(dl, ":MEAS:VOLT?"), abs=0.01)


def test_von_above_the_loop_voltage_draws_nothing(dl: RigolDL3021, world: World) -> None:
    send(dl, ":SOUR:FUNC RES;:SOUR:RES 600;:SOUR:RES:VON 20;:SOUR:INP:STAT ON")
    drive_module(world)
    assert number(dl, ":SOUR:RES:VON?") == 20.0
    assert abs(number(dl, ":MEAS:CURR?")) < 1e-3  # open: the module sits at its compliance
    send(dl, ":SOUR:RES:VON 0")
    world.clock.advance(0.2)
    assert number(dl, ":MEAS:CURR?") == pytest.approx(0.020, abs=1e-3)


def test_cc_mode_collapses_when_the_module_drives_less(dl: RigolDL3021, world: World) -> None:
    send(dl, ":SOUR:FUNC CURR;:SOUR:CURR:RANG MIN;:SOUR:CURR 0.03;:SOUR:INP:STAT ON")
    drive_module(world)
    assert number(dl, ":MEAS:VOLT?") < 0.05  # wants 30 mA, gets 20 mA: input near 0 V


def test_input_reads_back_as_one_and_zero(dl: RigolDL3021, world: World) -> None:
    send(dl, ":INP ON")
    assert query(dl, ":SOUR:INP:STAT?;:INP?") == "1;1"
    assert world.load_on
    send(dl, ":SOUR:INP:STAT 0")
    assert query(dl, ":SOUR:INP?") == "0"


def test_cc_settings_slew_vlim_and_cv_ilim(dl: RigolDL3021) -> None:
    send(dl, ":SOUR:CURR:SLEW 0.5;:SOUR:CURR:SLEW:NEG 0.2;:SOUR:CURR:VLIM 30;:SOUR:VOLT:ILIM 2")
    assert query(dl, ":SOUR:CURR:SLEW:POS?;:SOUR:CURR:SLEW:NEG?") == "0.500000;0.200000"
    assert query(dl, ":SOUR:CURR:VLIMT?;:SOUR:VOLT:ILIM?") == "30.000000;2.000000"
    dl.process(":SOUR:CURR:SLEW 5")
    assert drain_errors(dl) == [-222]


def test_measurement_takes_modelled_time(dl: RigolDL3021, world: World) -> None:
    t0 = world.clock.now
    query(dl, ":MEAS:VOLT?")
    assert world.clock.now - t0 >= dl.measure_s


def test_resistance_reading_with_no_current_is_overflow(dl: RigolDL3021) -> None:
    assert query(dl, ":MEAS:RES?") == "9.9E+37"


def test_status_system(dl: RigolDL3021) -> None:
    send(dl, "*CLS;*ESE 60;*SRE 32")
    dl.process(":SOUR:RES 1e6")
    assert int(query(dl, "*STB?")) & (4 | 32 | 64) == 4 | 32 | 64  # EAV, ESB, MSS
    assert query(dl, ":STAT:QUES?;:STAT:QUES:COND?;:STAT:OPER?") == "0;0;0"
    send(dl, ":STAT:PRES;*CLS")
    assert query(dl, ":SYST:ERR:COUN?") == "0"
