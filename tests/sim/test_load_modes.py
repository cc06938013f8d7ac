"""Electronic-load physics in every mode against the module's output (a current source with a
13.5 V compliance). Expectations are hand-computed from the operating point of the two curves
(``bench.sim.load_physics``): the module drives ~20 mA into the loop unless its compliance
limits it. Every simulated load model runs the same cases (the EL34143A and the DL3021 take
these commands alike)."""

from __future__ import annotations

import pytest

from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.instruments.rigol_dl3021 import RigolDL3021
from tests.sim._helpers import Bench, drain_errors, make_bench, number, power_loop, query, send

COMPLIANCE_V = 13.5  # ModuleParameters.output_compliance_v


@pytest.fixture(params=[KeysightEL34143A, RigolDL3021], ids=["el34143a", "dl3021"])
def bench(request: pytest.FixtureRequest) -> Bench:
    b = make_bench()
    b.load = request.param(b.world)
    return b


def settle(bench: Bench, mode: str) -> tuple[float, float]:
    """Put the load in ``mode`` on the powered loop; return (DMM current A, load volts V)."""
    power_loop(bench, input_a=0.020, load_ohm=250.0)
    send(bench.load, mode)
    bench.world.clock.advance(0.2)
    return number(bench.dmm, "MEAS:CURR:DC? 0.1"), number(bench.load, "MEAS:VOLT?")


def test_cr_mode_is_ohms_law(bench: Bench) -> None:
    amps, volts = settle(bench, "FUNC RES;:RES 400")
    assert amps == pytest.approx(0.020, abs=40e-6)
    assert volts == pytest.approx(0.020 * 400, rel=0.01)


def test_cc_below_the_module_current_holds_the_set_current_at_compliance(bench: Bench) -> None:
    amps, volts = settle(bench, "FUNC CURR;:CURR 0.012")
    assert amps == pytest.approx(0.012, rel=2e-3)
    assert volts == pytest.approx(COMPLIANCE_V, rel=0.01)  # the module sits at compliance


def test_cc_above_the_module_current_collapses_the_input(bench: Bench) -> None:
    amps, volts = settle(bench, "FUNC CURR;:CURR 0.05")
    assert amps == pytest.approx(0.020, abs=40e-6)  # the module's whole current flows
    assert abs(volts) < 0.02  # the load cannot reach 50 mA: its input is ~0 V


def test_cv_below_compliance_takes_the_whole_current_at_the_set_voltage(bench: Bench) -> None:
    amps, volts = settle(bench, "FUNC VOLT;:VOLT 5")
    assert amps == pytest.approx(0.020, abs=40e-6)
    assert volts == pytest.approx(5.0, rel=0.01)


def test_cv_above_compliance_draws_nothing(bench: Bench) -> None:
    amps, _ = settle(bench, "FUNC VOLT;:VOLT 20")
    assert abs(amps) < 1e-4  # open: the module cannot reach 20 V


def test_cp_below_and_above_the_compliance_power(bench: Bench) -> None:
    amps, volts = settle(bench, "FUNC POW;:POW 0.1")  # 0.1 W / 20 mA = 5 V < 13.5 V
    assert amps == pytest.approx(0.020, abs=40e-6)
    assert volts == pytest.approx(5.0, rel=0.01)
    send(bench.load, "POW 0.5")  # would need 25 V at 20 mA, above the 13.5 V compliance:
    bench.world.clock.advance(0.2)  # P / V > 20 mA at every reachable V, the input collapses
    assert number(bench.dmm, "MEAS:CURR:DC? 0.1") == pytest.approx(0.020, abs=40e-6)
    assert abs(number(bench.load, "MEAS:VOLT?")) < 0.02


@pytest.fixture
def keysight() -> Bench:
    """The EL34143A's user-set protection levels (the DL3000 guide documents none)."""
    return make_bench()


def test_power_protection_trips_and_latches(keysight: Bench) -> None:
    power_loop(keysight, input_a=0.020, load_ohm=500.0)  # 10 V x 20 mA = 0.2 W
    assert number(keysight.load, "MEAS:POW?") == pytest.approx(0.2, rel=0.02)
    send(keysight.load, "POW:PROT 0.1")
    assert query(keysight.load, "INP?;:INP:PROT:TRIP?;:STAT:QUES:COND?") == "0;1;+8"
    keysight.load.process("INP ON")
    assert drain_errors(keysight.load) == [-221]  # latched until cleared
    send(keysight.load, "POW:PROT 350;:INP:PROT:CLE;:INP ON")
    assert query(keysight.load, "INP?") == "1"
