"""Tests for procedures.step_analysis (model-free step metrics and reference-model fit).

Expected values come from closed forms (first order: t_x = -tau ln(1 - x), rise time tau ln 9,
settling tau ln(step / band)) and from the table in docs/metrology.md section 1.5. The records are
generated here with explicit formulas, independently of procedures.model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procedures.model import NOMINAL, ModuleModel, ModuleParameters
from procedures.step_analysis import (
    StepFit,
    StepMetrics,
    analyse_step,
    fit_step,
    predicted_step,
    rms_residual,
)

FS = 50e3  # digitiser rate, S/s
DT = 1.0 / FS  # one sample period, 20 us
DURATION = 40e-3
T_STEP = 5e-3
TAU = 1.0 / (2.0 * math.pi * 100.0)  # 1.5915 ms, nominal 857-411
LN9 = math.log(9.0)


def unit_response(t: np.ndarray, tau: float, tau2: float = 0.0, dead: float = 0.0) -> np.ndarray:
    """Closed-form normalised step response (independent of procedures.model)."""
    x = np.maximum(t - dead, 0.0)
    if tau2 == 0.0:
        h = 1.0 - np.exp(-x / tau)
    elif tau2 == tau:
        h = 1.0 - (1.0 + x / tau) * np.exp(-x / tau)
    else:
        h = 1.0 - (tau * np.exp(-x / tau) - tau2 * np.exp(-x / tau2)) / (tau - tau2)
    return np.where(t > dead, h, 0.0)


def record(
    tau: float = TAU,
    tau2: float = 0.0,
    dead: float = 0.0,
    start_a: float = 2e-3,
    end_a: float = 18e-3,
    noise_a: float = 0.0,
    seed: int = 0,
    duration: float = DURATION,
) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(round(duration * FS)) * DT
    y = start_a + (end_a - start_a) * unit_response(t - T_STEP, tau, tau2, dead)
    if noise_a:
        y = y + np.random.default_rng(seed).normal(0.0, noise_a, t.size)
    return t, y


# ------------------------------------------------------------------------------ analyse_step
def test_first_order_rising_step_metrics() -> None:
    t, y = record()
    m = analyse_step(t, y, t_step_s=T_STEP, settling_band_a=20e-6)
    assert isinstance(m, StepMetrics)
    assert m.direction == 1
    assert m.initial_a == pytest.approx(2e-3, abs=1e-9)
    assert m.final_a == pytest.approx(18e-3, abs=1e-9)
    assert m.step_a == pytest.approx(16e-3, abs=1e-9)
    # rise time tau ln 9 = 3.497 ms (docs/metrology.md 1.5), within one sample period
    assert abs(TAU * LN9 - 3.497e-3) < 0.5e-6
    assert m.rise_time_s == pytest.approx(TAU * LN9, abs=DT)
    assert m.t10_s == pytest.approx(TAU * math.log(10 / 9), abs=DT)  # 0.168 ms
    assert m.t90_s == pytest.approx(TAU * math.log(10), abs=DT)  # 3.665 ms
    # t63 ~ tau (biased low by the 2 % dead-time detection threshold, ~0.02 tau = 32 us)
    assert m.t63_s == pytest.approx(TAU, abs=2 * DT)
    # settling into +-20 uA of a 16 mA step: tau ln(16 mA / 20 uA) = 10.64 ms
    assert abs(TAU * math.log(16e-3 / 20e-6) - 10.64e-3) < 5e-6
    assert m.settling_time_s == pytest.approx(TAU * math.log(16e-3 / 20e-6), abs=DT)
    assert m.overshoot_pct == pytest.approx(0.0, abs=1e-4)
    assert 0.0 <= m.dead_time_s < 2 * DT
    assert m.noise_rms_a == pytest.approx(0.0, abs=1e-12)
    assert m.median_window == 1


def test_falling_step_gives_same_dynamics_and_negative_direction() -> None:
    up = analyse_step(*record(), t_step_s=T_STEP)
    down = analyse_step(*record(start_a=18e-3, end_a=2e-3), t_step_s=T_STEP)
    assert down.direction == -1
    assert down.step_a == pytest.approx(-16e-3, abs=1e-9)
    assert down.rise_time_s == pytest.approx(TAU * LN9, abs=DT)
    assert down.rise_time_s == pytest.approx(up.rise_time_s, abs=1e-9)
    assert down.settling_time_s == pytest.approx(up.settling_time_s, abs=1e-9)
    assert down.overshoot_pct == pytest.approx(0.0, abs=1e-4)


def test_two_equal_poles_match_metrology_table() -> None:
    # docs/metrology.md 1.5: two equal real poles at 155.4 Hz (tau 1.024 ms): t10 0.545 ms,
    # t90 3.984 ms, rise time 3.440 ms, no overshoot
    t, y = record(tau=1.024e-3, tau2=1.024e-3)
    m = analyse_step(t, y, t_step_s=T_STEP)
    assert m.rise_time_s == pytest.approx(3.440e-3, abs=DT)
    assert m.t10_s == pytest.approx(0.545e-3, abs=DT)
    assert m.t90_s == pytest.approx(3.984e-3, abs=DT)
    assert m.overshoot_pct == pytest.approx(0.0, abs=1e-4)
    # the S-shaped start shows as a much later t10 than the first-order 0.168 ms
    assert m.t10_s > 3 * TAU * math.log(10 / 9)


def test_dead_time_is_detected() -> None:
    t, y = record(dead=0.5e-3)
    m = analyse_step(t, y, t_step_s=T_STEP)
    assert m.dead_time_s == pytest.approx(0.5e-3, abs=0.1e-3)
    assert m.rise_time_s == pytest.approx(TAU * LN9, abs=DT)
    assert m.t63_s == pytest.approx(TAU, abs=2 * DT)
    assert m.settling_time_s == pytest.approx(0.5e-3 + TAU * math.log(800.0), abs=DT)


def test_settling_band_scales_settling_time() -> None:
    t, y = record()
    m = analyse_step(t, y, t_step_s=T_STEP, settling_band_a=160e-6)  # 1 % of the step
    assert m.settling_time_s == pytest.approx(TAU * math.log(100.0), abs=DT)  # 7.33 ms


def test_never_settles_inside_record_gives_nan() -> None:
    t, y = record(tau=3e-3, duration=20e-3)  # 15 ms after the step, needs 20 ms
    m = analyse_step(t, y, t_step_s=T_STEP, settling_band_a=20e-6)
    assert math.isnan(m.settling_time_s)


def test_overshoot_of_underdamped_response() -> None:
    zeta, fn = 0.5, 150.0
    wn = 2 * math.pi * fn
    wd = wn * math.sqrt(1 - zeta**2)
    t = np.arange(round(DURATION * FS)) * DT
    x = np.maximum(t - T_STEP, 0.0)
    h = 1 - np.exp(-zeta * wn * x) * (
        np.cos(wd * x) + zeta / math.sqrt(1 - zeta**2) * np.sin(wd * x)
    )
    y = 4e-3 + 16e-3 * h
    m = analyse_step(t, y, t_step_s=T_STEP)
    expected = 100 * math.exp(-math.pi * zeta / math.sqrt(1 - zeta**2))  # 16.3 %
    assert m.overshoot_pct == pytest.approx(expected, abs=0.1)


def test_noisy_record_uses_moving_median_for_crossings() -> None:
    # 0.5 mA rms = 3 % of the step: raw first crossings of 90 % come early (rise time -10..-30 %)
    for seed in range(8):
        t, y = record(noise_a=0.5e-3, seed=seed)
        m = analyse_step(t, y, t_step_s=T_STEP)
        assert m.median_window > 1
        assert m.noise_rms_a == pytest.approx(0.5e-3, rel=0.25)
        assert m.rise_time_s == pytest.approx(TAU * LN9, rel=0.08)
        assert 0.0 < m.t10_s < 0.4e-3


def test_low_noise_record_uses_raw_samples() -> None:
    t, y = record(noise_a=1e-6, seed=3)
    m = analyse_step(t, y, t_step_s=T_STEP)
    assert m.median_window == 1
    assert m.rise_time_s == pytest.approx(TAU * LN9, abs=2 * DT)
    assert m.noise_rms_a == pytest.approx(1e-6, rel=0.25)


@settings(max_examples=25, deadline=None)
@given(
    tau=st.floats(min_value=0.5e-3, max_value=4e-3),
    rising=st.booleans(),
    low=st.floats(min_value=0.0, max_value=6e-3),
    span=st.floats(min_value=4e-3, max_value=16e-3),
)
def test_rise_time_is_tau_ln9_for_any_first_order(
    tau: float, rising: bool, low: float, span: float
) -> None:
    start, end = (low, low + span) if rising else (low + span, low)
    t, y = record(tau=tau, start_a=start, end_a=end, duration=T_STEP + 20 * tau)
    m = analyse_step(t, y, t_step_s=T_STEP)
    assert m.direction == (1 if rising else -1)
    assert m.rise_time_s == pytest.approx(tau * LN9, abs=DT)


def test_too_short_record_raises() -> None:
    t, y = record()
    with pytest.raises(ValueError, match="too short"):
        analyse_step(t[:5], y[:5], t_step_s=t[2])


def test_no_pre_step_samples_raises() -> None:
    t, y = record()
    with pytest.raises(ValueError, match="before the step"):
        analyse_step(t, y, t_step_s=-1e-3)


def test_step_ending_in_final_fifth_raises() -> None:
    t, y = record()
    with pytest.raises(ValueError, match="last 20 %"):
        analyse_step(t, y, t_step_s=t[-3])


def test_no_step_raises() -> None:
    t = np.arange(2000) * DT
    y = 12e-3 + np.random.default_rng(1).normal(0.0, 1e-6, t.size)
    with pytest.raises(ValueError, match="no usable step"):
        analyse_step(t, y, t_step_s=T_STEP)


def test_step_below_ten_times_noise_raises() -> None:
    t, y = record(start_a=10e-3, end_a=10.05e-3, noise_a=10e-6, seed=2)  # 5x noise
    with pytest.raises(ValueError, match="10x"):
        analyse_step(t, y, t_step_s=T_STEP)


def test_mismatched_arrays_raise() -> None:
    t, y = record()
    with pytest.raises(ValueError):
        analyse_step(t, y[:-1], t_step_s=T_STEP)


# ------------------------------------------------------------------------------ fit_step
def test_fit_recovers_first_order_with_dead_time_from_noisy_record() -> None:
    t, y = record(dead=0.2e-3, noise_a=1e-6, seed=7)
    f = fit_step(t, y, t_step_s=T_STEP)
    assert isinstance(f, StepFit)
    assert f.model == "first-order"  # auto: second pole not significant
    assert f.tau2_s == 0.0
    assert f.tau_s == pytest.approx(TAU, rel=0.01)
    assert f.dead_time_s == pytest.approx(0.2e-3, abs=50e-6)
    assert f.limit_frequency_hz == pytest.approx(100.0, rel=0.01)
    assert f.rise_time_s == pytest.approx(TAU * LN9, rel=0.01)
    assert f.initial_a == pytest.approx(2e-3, abs=1e-6)
    assert f.final_a == pytest.approx(18e-3, abs=1e-6)
    assert f.rms_residual_a == pytest.approx(1e-6, rel=0.1)
    assert f.n_samples == t.size
    assert set(f.stderr) == {"initial_a", "final_a", "tau_s", "dead_time_s"}
    assert all(v > 0 for v in f.stderr.values())
    # the standard error is consistent with the actual error
    assert abs(f.tau_s - TAU) < 5 * f.stderr["tau_s"] + 1e-9


def test_fit_rise_time_and_limit_frequency_come_from_reference_model() -> None:
    t, y = record(noise_a=1e-6, seed=11)
    f = fit_step(t, y, t_step_s=T_STEP)
    mm = ModuleModel(ModuleParameters(tau_s=f.tau_s, tau2_s=f.tau2_s, dead_time_s=f.dead_time_s))
    assert f.rise_time_s == pytest.approx(mm.rise_time_s(), rel=1e-12)
    assert f.limit_frequency_hz == pytest.approx(mm.limit_frequency_hz(), rel=1e-12)
    assert f.limit_frequency_hz == pytest.approx(100.0, rel=0.01)


def test_auto_picks_two_pole_for_clear_two_pole_record() -> None:
    t, y = record(tau=1.0e-3, tau2=0.6e-3, noise_a=1e-6, seed=5)
    f = fit_step(t, y, t_step_s=T_STEP, model="auto")
    assert f.model == "two-pole"
    assert f.tau_s == pytest.approx(1.0e-3, rel=0.02)
    assert f.tau2_s == pytest.approx(0.6e-3, rel=0.02)
    assert f.dead_time_s == pytest.approx(0.0, abs=50e-6)
    true = ModuleModel(ModuleParameters(tau_s=1.0e-3, tau2_s=0.6e-3))
    assert f.limit_frequency_hz == pytest.approx(true.limit_frequency_hz(), rel=0.01)
    assert f.two_pole_p_value < 0.01
    assert "tau2_s" in f.stderr


def test_auto_picks_first_order_for_first_order_record() -> None:
    for seed in (1, 2, 3):
        t, y = record(noise_a=1e-6, seed=seed)
        f = fit_step(t, y, t_step_s=T_STEP, model="auto")
        assert f.model == "first-order"
        assert f.two_pole_p_value >= 0.01


def test_forced_first_order_on_two_pole_record_fits_worse() -> None:
    t, y = record(tau=1.0e-3, tau2=0.6e-3, noise_a=1e-6, seed=5)
    fo = fit_step(t, y, t_step_s=T_STEP, model="first-order")
    tp = fit_step(t, y, t_step_s=T_STEP, model="two-pole")
    assert fo.model == "first-order"
    assert tp.model == "two-pole"
    assert fo.rms_residual_a > 5 * tp.rms_residual_a


def test_slow_unit_limit_frequency() -> None:
    t, y = record(tau=3e-3, noise_a=1e-6, seed=9, duration=60e-3)
    f = fit_step(t, y, t_step_s=T_STEP)
    expected = 1.0 / (2 * math.pi * 3e-3)  # 53.05 Hz, fails a 100 Hz spec
    assert abs(expected - 53.05) < 0.01
    assert f.limit_frequency_hz == pytest.approx(expected, rel=0.02)


def test_fit_falling_step() -> None:
    t, y = record(start_a=18e-3, end_a=4e-3, dead=0.1e-3, noise_a=1e-6, seed=4)
    f = fit_step(t, y, t_step_s=T_STEP, model="first-order")
    assert f.tau_s == pytest.approx(TAU, rel=0.01)
    assert f.dead_time_s == pytest.approx(0.1e-3, abs=50e-6)
    assert f.initial_a == pytest.approx(18e-3, abs=1e-6)
    assert f.final_a == pytest.approx(4e-3, abs=1e-6)


def test_fit_unknown_model_raises() -> None:
    t, y = record()
    with pytest.raises(ValueError, match="unknown step model"):
        fit_step(t, y, t_step_s=T_STEP, model="third-order")  # type: ignore[arg-type]


def test_fit_propagates_record_errors() -> None:
    t, y = record()
    with pytest.raises(ValueError):
        fit_step(t[:5], y[:5], t_step_s=t[2])


# ------------------------------------------------------------------------------ overlay helpers
def test_predicted_step_from_fit_overlays_record() -> None:
    t, y = record(dead=0.3e-3, noise_a=1e-6, seed=8)
    f = fit_step(t, y, t_step_s=T_STEP)
    pred = predicted_step(t, f, t_step_s=T_STEP)
    assert pred.shape == y.shape
    assert rms_residual(y, pred) == pytest.approx(f.rms_residual_a, rel=1e-6)


def test_predicted_step_from_nominal_model() -> None:
    t, y = record()
    pred = predicted_step(t, NOMINAL, initial_a=2e-3, final_a=18e-3, t_step_s=T_STEP)
    assert rms_residual(y, pred) < 1e-9
    slow = ModuleModel(ModuleParameters(tau_s=3e-3))
    pred_slow = predicted_step(t, slow, initial_a=2e-3, final_a=18e-3, t_step_s=T_STEP)
    assert rms_residual(y, pred_slow) > 100e-6
    with pytest.raises(ValueError):
        predicted_step(t, NOMINAL, t_step_s=T_STEP)


def test_rms_residual() -> None:
    assert rms_residual([0.0, 0.0], [3.0, 4.0]) == pytest.approx(math.sqrt(12.5))
    assert rms_residual([1.0, 2.0], [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError):
        rms_residual([1.0, 2.0], [1.0])


# ------------------------------------------------------------------------------ issue 9 fits
def _ar1_noise(rng: np.random.Generator, n: int, sigma: float, tau: float) -> np.ndarray:
    """First-order low-pass filtered white noise of rms ``sigma`` (the module's own noise)."""
    from scipy.signal import lfilter

    phi = math.exp(-DT / tau)
    return lfilter([1.0], [1.0, -phi], rng.normal(0.0, sigma * math.sqrt(1 - phi * phi), n))


def _resonant_record(f_n: float, zeta: float, tau: float, dead: float, seed: int):
    """Pole + resonant pair from scipy.signal (not our model), sampled at aperture centres."""
    from scipy import signal

    w = 2 * math.pi * f_n
    system = signal.lti([w * w], np.polymul([tau, 1.0], [1.0, 2 * zeta * w, w * w]))
    t = (np.arange(3000) + 0.5) * DT
    _, h = signal.step(system, T=np.maximum(t - dead, 0.0))
    h = np.where(t > dead, h, 0.0)
    rng = np.random.default_rng(seed)
    y = 2e-3 + 16e-3 * h + _ar1_noise(rng, t.size, 1e-6, tau) + rng.normal(0, 0.3e-6, t.size)
    base = 2e-3 + _ar1_noise(rng, 250, 1e-6, tau) + rng.normal(0, 0.3e-6, 250)
    return t, y, base, system


def _minus_3db(system) -> float:
    from scipy import optimize, signal

    def excess(f: float) -> float:
        return abs(signal.freqresp(system, [2 * math.pi * f])[1][0]) ** 2 - 0.5

    grid = np.geomspace(1.0, 1e4, 500)
    last = int(np.nonzero([excess(f) >= 0 for f in grid])[0][-1])
    return optimize.brentq(excess, grid[last], grid[last + 1])


def test_resonant_unit_is_fitted_as_resonant_and_its_f_c_is_the_minus_3_db_point() -> None:
    """A 70 Hz resonance (zeta 0.5) behind a 1.5 ms pole: the -3 dB frequency is 78.0 Hz,
    where a first-order fit of the same record would say otherwise."""
    t, y, base, system = _resonant_record(70.0, 0.5, 1.5e-3, 8e-6, seed=3)
    truth = _minus_3db(system)
    assert 77.5 < truth < 78.5
    f = fit_step(t, y, baseline_a=base)
    assert f.model == "resonant"
    assert abs(f.limit_frequency_hz - truth) <= 2.0 * f.limit_frequency_u_hz
    assert f.resonance_hz == pytest.approx(70.0, rel=0.01)
    assert f.resonance_damping == pytest.approx(0.5, abs=0.02)
    assert abs(f.dead_time_s - 8e-6) <= 2.5 * f.stderr["dead_time_s"]
    first = fit_step(t, y, baseline_a=base, model="first-order")
    assert abs(first.limit_frequency_hz - truth) > 10 * f.limit_frequency_u_hz


def test_baseline_separates_dead_time_from_the_initial_level() -> None:
    """Without samples before the step, a first-order record fixes only (y1 - y0) e^(td/tau):
    the dead time's uncertainty says so; with a baseline of the same digitiser it is found."""
    rng = np.random.default_rng(11)
    t = (np.arange(3000) + 0.5) * DT  # the first sample, at 10 us, is already past t_d
    y = 2e-3 + 16e-3 * unit_response(t, TAU, dead=6e-6)
    y = y + _ar1_noise(rng, t.size, 1e-6, TAU) + rng.normal(0, 0.3e-6, t.size)
    base = 2e-3 + _ar1_noise(rng, 250, 1e-6, TAU) + rng.normal(0, 0.3e-6, 250)
    with_base = fit_step(t, y, baseline_a=base)
    without = fit_step(t, y, initial_a=2e-3)
    assert abs(with_base.dead_time_s - 6e-6) <= 2.5 * with_base.stderr["dead_time_s"]
    assert with_base.stderr["dead_time_s"] < 2e-6
    assert without.stderr["dead_time_s"] > 10 * with_base.stderr["dead_time_s"]


def test_limit_frequency_uncertainty_matches_the_scatter_of_repeated_fits() -> None:
    """Correlated noise (the module's own low-pass filtered noise): the fit's u(f_c) from the
    full covariance is neither the 2x-too-small white-noise figure nor far too large."""
    errors, us = [], []
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        t = (np.arange(3000) + 0.5) * DT
        y = 2e-3 + 16e-3 * unit_response(t, TAU, tau2=0.1e-3, dead=5e-6)
        y = y + _ar1_noise(rng, t.size, 2e-6, TAU) + rng.normal(0, 0.5e-6, t.size)
        base = 2e-3 + _ar1_noise(rng, 250, 2e-6, TAU) + rng.normal(0, 0.5e-6, 250)
        f = fit_step(t, y, baseline_a=base)
        truth = ModuleModel(ModuleParameters(tau_s=TAU, tau2_s=0.1e-3)).limit_frequency_hz()
        errors.append(f.limit_frequency_hz - truth)
        us.append(f.limit_frequency_u_hz)
    ratio = float(np.std(errors) / np.median(us))
    assert 0.5 < ratio < 1.6


def test_a_dead_time_left_on_the_fits_bound_is_reported() -> None:
    """A response that starts 0.3 ms before the declared step (a trigger stamped late) would
    need a negative dead time beyond the search's -2 sample intervals: the fit says so instead
    of presenting the bound as a measurement."""
    t, y = record(noise_a=1e-6, seed=3)
    early = fit_step(t, y, t_step_s=T_STEP + 0.3e-3)
    assert early.dead_time_s == pytest.approx(-2 * DT, abs=0.01 * DT)
    assert "dead_time" in early.at_bounds
    plain = fit_step(t, y, t_step_s=T_STEP)
    assert plain.at_bounds == ()
