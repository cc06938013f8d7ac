"""Simulated Keysight 34461A: the 34465A's SCPI without the DIG option.

What is specific to the model: identity and options, the NPLC set (0.02 ... 100) and its
resolution, no sample timer / aperture / level trigger / pretrigger (-113, level trigger
source -224), the 10 000-reading memory, the reading rate (about 1 000/s at 0.02 PLC) and one
externally triggered reading at a delay (what equivalent-time sampling uses). The shared
Truevolt behaviour is tested with the 34465A (test_sim_keysight34465a.py).
"""

from __future__ import annotations

import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keysight34461a import Keysight34461A
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World
from tests.sim._helpers import drain_errors, number, numbers, query, send


@pytest.fixture
def world() -> World:
    return World(SimulatedUnit())


@pytest.fixture
def dmm(world: World) -> Keysight34461A:
    return Keysight34461A(world)


def test_identity_options_and_licenses(dmm: Keysight34461A) -> None:
    assert query(dmm, "*IDN?").startswith("Keysight Technologies,34461A,")
    assert query(dmm, "*OPT?") == "0"
    assert query(dmm, "SYST:LIC:CAT?") == '""'
    assert query(dmm, "SYST:VERS?") == "1994.0"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("SAMP:SOUR TIM", -113),
        ("SAMP:SOUR?", -113),
        ("SAMP:TIM 0.001", -113),
        ("SAMP:TIM? MIN", -113),
        ("SAMP:COUN:PRET 10", -113),
        ("VOLT:APER 0.001", -113),
        ("CURR:DC:APER:ENAB ON", -113),
        ("TRIG:LEV 0.5", -113),
        ("TRIG:SOUR INT", -224),
        ("SAMP:COUN 1000001", -222),
        ("TRIG:COUN 1000001", -222),
    ],
)
def test_what_the_dig_option_would_add_is_refused(
    dmm: Keysight34461A, message: str, code: int
) -> None:
    dmm.process(message)
    assert drain_errors(dmm) == [code]


@pytest.mark.parametrize(
    ("asked", "got"), [("0.001", 0.02), ("0.02", 0.02), ("0.06", 0.2), ("2", 10.0), ("100", 100.0)]
)
def test_nplc_rounds_up_to_a_34461a_value(dmm: Keysight34461A, asked: str, got: float) -> None:
    send(dmm, f"VOLT:NPLC {asked}")
    assert number(dmm, "VOLT:NPLC?") == got


def test_resolution_follows_the_34461a_table(dmm: Keysight34461A) -> None:
    send(dmm, "CONF:VOLT:DC 10;:VOLT:NPLC 0.02")
    assert number(dmm, "VOLT:RES?") == pytest.approx(10.0 * 100e-6)
    send(dmm, "VOLT:RES 3e-5")
    assert number(dmm, "VOLT:NPLC?") == 1.0  # 3 ppm of 10 V


def test_reading_rate_about_1000_per_second_at_0_02_plc() -> None:
    world = World(SimulatedUnit(), line_frequency_hz=60.0)
    dmm = Keysight34461A(world)
    send(dmm, "CONF:VOLT:DC 10;:VOLT:NPLC 0.02;:VOLT:ZERO:AUTO OFF;:SAMP:COUN 1000")
    t0 = world.clock.now
    assert len(numbers(dmm, "READ?")) == 1000
    assert world.clock.now - t0 == pytest.approx(1.0, rel=0.01)


def test_memory_keeps_the_last_10000_readings(dmm: Keysight34461A, world: World) -> None:
    send(dmm, "CONF:VOLT:DC 10;:VOLT:NPLC 0.02;:VOLT:ZERO:AUTO OFF;:SAMP:COUN 10500;:INIT")
    world.clock.advance(20.0)
    assert query(dmm, "DATA:POIN?") == "+10000"


def test_one_external_trigger_reading_at_its_delay(world: World) -> None:
    """Direct topology: the output current through the 100 mA range, triggered by the
    source's trigger line, read 30 ms (19 time constants) after the 2 -> 18 mA step."""
    dmm, smu = Keysight34461A(world), Keithley2450(world)
    send(KeysightE36104B(world), "VOLT 24;:OUTP ON")
    send(KeysightEL34143A(world), "FUNC RES;:RES 250;:INP ON")
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR 0.002;:OUTP ON")
    send(smu, ":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM COMM")
    world.clock.advance(0.5)
    send(dmm, "CONF:CURR:DC 0.1;:CURR:NPLC 0.02;:CURR:ZERO:AUTO OFF")
    send(dmm, "TRIG:SOUR EXT;:TRIG:DEL 0.03;:INIT")
    assert query(smu, ":SOUR:CURR 0.018;*TRG;*OPC?") == "1"
    assert number(dmm, "FETC?") == pytest.approx(0.018, rel=2e-3)
