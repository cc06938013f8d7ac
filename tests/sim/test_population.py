"""Population model (bench/sim/population.toml): reproducible per serial, inside the data file's
ranges, every entry sourced; the unit behaviours it draws (second pole, resonance, ripple,
warm-up drift, drop-outs); the lot helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal

from bench.sim.defects import catalogue
from bench.sim.lot import Lot
from bench.sim.population import distributions, draw, make_unit, screen, screen_failures
from bench.sim.unit import Dropouts, Ripple, SimulatedUnit, UnitConditions, WarmUpDrift
from procedures.model import ModuleParameters

SERIALS = [f"POPTEST-{i:04d}" for i in range(400)]


@pytest.fixture(scope="module")
def drawn() -> dict[str, dict[str, float | str]]:
    return {serial: draw(serial) for serial in SERIALS}


def test_the_same_serial_gives_the_same_unit_and_other_serials_differ() -> None:
    assert draw("SN-1") == draw("SN-1")
    a, b = make_unit("SN-1"), make_unit("SN-1")
    assert a.params == b.params and a.noise_rms_a == b.noise_rms_a
    assert a.ripple == b.ripple and a.start_delay_s == b.start_delay_s
    assert draw("SN-1") != draw("SN-2")


def test_every_entry_names_its_source_and_a_known_distribution() -> None:
    assert screen()["source"].strip()
    for name, spec in distributions().items():
        assert spec.get("source", "").strip(), name
        assert spec["dist"] in ("normal", "uniform", "choice"), name
        if spec["dist"] == "normal":
            # a bounded population: every normal is clipped (a healthy unit has limits)
            low, high = spec["clip"]
            assert low < spec["mean"] < high, name
        if spec["dist"] == "uniform":
            assert spec["low"] <= spec["high"], name
        if spec["dist"] == "choice":
            assert len(spec["values"]) == len(spec["weights"]) and sum(spec["weights"]) > 0
        assert 0.0 <= spec.get("probability", 1.0) <= 1.0, name


def test_draws_stay_inside_the_data_file_ranges(drawn: dict) -> None:
    for values in drawn.values():
        assert set(values) == set(distributions())
        for name, value in values.items():
            spec = distributions()[name]
            if spec.get("probability", 1.0) < 1.0 and value == spec.get("absent", 0.0):
                continue
            if spec["dist"] == "choice":
                assert value in spec["values"], name
            elif spec["dist"] == "uniform":
                assert spec["low"] <= value <= spec["high"], (name, value)
            else:
                low, high = spec["clip"]
                assert low <= value <= high, (name, value)


def test_the_distributions_have_their_stated_centre_and_spread(drawn: dict) -> None:
    gains = np.array([v["gain_error"] for v in drawn.values()])
    assert abs(gains.mean()) < 30e-6 and 100e-6 < gains.std() < 170e-6
    r_in = np.array([v["input_resistance_ohm"] for v in drawn.values()])
    assert 20.0 <= r_in.min() and r_in.max() <= 45.0 and abs(r_in.mean() - 32.5) < 2.0
    second_pole = np.mean([v["tau2_s"] > 0.0 for v in drawn.values()])
    assert 0.2 < second_pole < 0.4  # probability 0.3
    assert {v["supply_model"] for v in drawn.values()} == {"dcdc"}  # the lot's default


def test_every_healthy_unit_passed_the_makers_screen_with_margin(drawn: dict) -> None:
    for serial, values in drawn.items():
        assert screen_failures(values) == [], serial
        model = make_unit(serial).model
        assert model.limit_frequency_hz() >= screen()["min_limit_frequency_hz"]
        assert float(model.params.input_resistance_ohm) <= 45.0


def test_the_screen_rejects_what_the_datasheet_would_not_accept() -> None:
    values = dict(draw("SCREEN-1"))
    assert screen_failures(values) == []
    assert screen_failures({**values, "gain_error": 0.001}) != []
    assert screen_failures({**values, "tau_s": 1.7e-3}) != []
    assert screen_failures({**values, "quiescent_power_w": 0.3}) != []
    assert screen_failures({**values, "warmup_drift_a": 15e-6}) != []


def test_overrides_select_the_supply_model_and_unknown_names_are_refused() -> None:
    unit = make_unit("SUPPLY-1", {"supply_model": "linear"})
    assert unit.params.supply_model == "linear"
    i_s = float(unit.model.supply_current_a(0.02, 24.0))
    assert abs(float(unit.model.supply_current_a(0.02, 16.8)) - i_s) < 1e-12  # linear
    assert 20e-3 < i_s <= 24e-3
    dcdc = make_unit("SUPPLY-1")
    assert dcdc.model.supply_current_a(0.02, 16.8) > dcdc.model.supply_current_a(0.02, 24.0)
    with pytest.raises(ValueError, match="unknown unit parameter"):
        make_unit("X", {"gian_error": 0.1})


def test_nominal_unit_has_no_spread_and_no_behaviours() -> None:
    unit = make_unit("NOMINAL", healthy_spread=False)
    assert unit.params == ModuleParameters()
    assert unit.ripple == [] and unit.additive == [] and unit.gates == []


# ---------------------------------------------------------------------- unit behaviours
def _powered(unit: SimulatedUnit, t: float, input_a: float) -> None:
    unit.update(t, UnitConditions(input_a, 24.0, 250.0))


def test_ripple_shows_in_digitised_records_only() -> None:
    unit = make_unit("RIPPLE-1", {"ripple_pp_a": 40e-6, "ripple_hz": 100e3, "noise_rms_a": 0.0})
    assert unit.ripple == [Ripple(40e-6, 100e3)]
    _powered(unit, 0.0, 0.01)
    # an integrating reading sees no ripple ...
    assert unit.mean_output_a(1.0, 1.02) == pytest.approx(float(unit.output_a(1.0)[0]), abs=1e-9)
    # ... a digitised record at 1 MS/s sees the full 40 uA peak to peak
    record = unit.noise_samples_a(2000, 1e-6, np.random.default_rng(1))
    assert record.max() - record.min() == pytest.approx(40e-6, rel=0.02)


def test_warm_up_drift_fades_while_powered_and_returns_after_cooling() -> None:
    unit = make_unit("DRIFT-1", {"warmup_drift_a": 8e-6, "warmup_tau_s": 300.0})
    (drift,) = [a for a in unit.additive if isinstance(a, WarmUpDrift)]
    assert drift(np.array([0.0]))[0] == pytest.approx(8e-6)  # cold, never powered
    _powered(unit, 10.0, 0.01)
    assert drift(np.array([10.0]))[0] == pytest.approx(8e-6)
    assert drift(np.array([310.0]))[0] == pytest.approx(8e-6 * math.exp(-1.0))
    unit.update(310.0, UnitConditions(0.0, 0.0, 250.0))  # power off: it cools down again
    later = drift(np.array([310.0, 910.0, 10_000.0]))
    assert later[0] == pytest.approx(8e-6 * math.exp(-1.0))
    assert later[0] < later[1] < later[2] <= 8e-6
    assert unit.ever_powered


def test_dropouts_are_reproducible_and_at_their_rate() -> None:
    gate = Dropouts(5.0, 1e-3, 5e-3, seed="SN-9")
    again = Dropouts(5.0, 1e-3, 5e-3, seed="SN-9")
    t = np.arange(0.0, 200.0, 1e-4)
    g = gate(t)
    assert set(np.unique(g)) == {0.0, 1.0}
    np.testing.assert_array_equal(g, again(t[::-1])[::-1])  # any order, same drop-outs
    starts, ends = gate.intervals(0.0, 200.0)
    assert 800 < len(starts) < 1200  # 5 /s over 200 s
    assert np.all((ends - starts >= 1e-3) & (ends - starts <= 5e-3))
    assert abs((1.0 - g.mean()) - np.sum(ends - starts) / 200.0) < 2e-3


@pytest.mark.parametrize(
    ("resonance_hz", "tau2_s"), [(0.0, 0.0), (0.0, 100e-6), (60.0, 0.0), (800.0, 0.0)]
)
def test_dynamics_match_a_continuous_time_simulation(resonance_hz: float, tau2_s: float) -> None:
    params = ModuleParameters(tau_s=1.5e-3, tau2_s=tau2_s, clamp_a=1.0)
    unit = SimulatedUnit(params, resonance_hz=resonance_hz, resonance_damping=0.3)
    unit.start_delay_s = 0.0
    _powered(unit, 0.0, 0.002)
    _powered(unit, 0.1, 0.018)
    _powered(unit, 0.1031, 0.010)
    t = np.linspace(0.1, 0.15, 5001)
    if resonance_hz:
        w = 2 * math.pi * resonance_hz
        system = signal.lti([w * w], np.polymul([1.5e-3, 1], [1, 2 * 0.3 * w, w * w]))
    else:
        system = signal.lti([1], np.polymul([1.5e-3, 1], [tau2_s, 1]))
    steps = np.where(t < 0.1031, 0.016, 0.008)
    _, reference, _ = signal.lsim(system, steps, t - 0.1, interp=False)
    assert np.max(np.abs(unit.output_a(t) - (0.002 + reference))) < 2e-6


# ---------------------------------------------------------------------- the lot helper
def test_a_lot_is_reproducible_from_its_seed_with_the_stated_defect_fraction() -> None:
    lot = Lot(20, defect_rate=0.25, seed=11)
    assert [u.serial for u in lot.units][:2] == ["LOT-11-0001", "LOT-11-0002"]
    assert Lot(20, defect_rate=0.25, seed=11).manifest() == lot.manifest()
    assert Lot(20, defect_rate=0.25, seed=12).manifest() != lot.manifest()
    defective = [u for u in lot.units if u.defect]
    assert len(defective) == 5
    for unit in defective:
        entry = catalogue()[unit.defect]
        assert entry.trips and unit.severity == entry.severity_default
    assert [s for s, _ in lot] == [u.serial for u in lot.units]
    pool = Lot(10, defect_rate=1.0, seed=1, pool=["gain=0.002"])
    assert {(u.defect, u.severity) for u in pool.units} == {("gain", 0.002)}
    with pytest.raises(ValueError):
        Lot(5, defect_rate=1.5)
