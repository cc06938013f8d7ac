"""Tests of procedures.capability with numbers worked out by hand (docs/metrology.md 7.2).

Reference constants (standard tables, not computed by the code under test):
chi2_{0.025, 29} = 16.0471, chi2_{0.975, 29} = 45.7223, z_{0.95} = 1.644854,
Phi(-2) = 0.0227501, Phi(-3) = 0.00134990, Phi(-4) = 3.16712e-5, Phi(-5) = 2.86652e-7.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from procedures.capability import (
    ProcessPerformance,
    bissell_lower_bound,
    pp_confidence_interval,
    process_performance,
)

CHI2_LO_29 = 16.0471
CHI2_HI_29 = 45.7223
Z95 = 1.644854
PHI = {-2: 0.0227501, -3: 0.00134990, -4: 3.16712e-5, -5: 2.86652e-7}


def exact_sample(n: int, mean: float, std: float, seed: int = 1) -> np.ndarray:
    """n values with exactly the given sample mean and standard deviation (ddof = 1)."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + std * z


def test_centred_hand_example_pp_equals_ppk_4_over_3():
    r = process_performance(exact_sample(30, 0.0, 5.0), lsl=-20.0, usl=20.0)
    assert isinstance(r, ProcessPerformance)
    assert r.n == 30
    assert r.mean == pytest.approx(0.0, abs=1e-12)
    assert r.std == pytest.approx(5.0, rel=1e-12)
    assert r.sigma_process == pytest.approx(5.0, rel=1e-12)
    assert r.pp == pytest.approx(4.0 / 3.0, rel=1e-12)
    assert r.ppk == pytest.approx(4.0 / 3.0, rel=1e-12)
    assert r.ppu == pytest.approx(4.0 / 3.0) and r.ppl == pytest.approx(4.0 / 3.0)
    # chi-square interval by hand: 1.3333 * sqrt(16.0471 / 29) ... 1.3333 * sqrt(45.7223 / 29)
    assert r.pp_lower == pytest.approx(4.0 / 3.0 * math.sqrt(CHI2_LO_29 / 29), rel=1e-4)
    assert r.pp_upper == pytest.approx(4.0 / 3.0 * math.sqrt(CHI2_HI_29 / 29), rel=1e-4)
    assert r.pp_lower == pytest.approx(0.99183, abs=1e-4)
    assert r.pp_upper == pytest.approx(1.67419, abs=1e-4)
    # Bissell: 1.3333 - 1.644854 * sqrt(1/270 + 1.7778/58) = 1.02846
    assert r.ppk_lower == pytest.approx(1.02846, abs=1e-4)
    # 2 Phi(-4) = 63.3 ppm (docs/metrology.md: Ppk 1.33 ~ 63 ppm)
    assert r.expected_fraction_nonconforming == pytest.approx(2 * PHI[-4], rel=1e-4)
    assert r.expected_ppm == pytest.approx(63.34, abs=0.01)
    assert not r.one_sided and not r.measurement_variance_removed
    assert r.confidence == 0.95


def test_off_centre_two_sided():
    r = process_performance(exact_sample(50, 5.0, 5.0), lsl=-20.0, usl=20.0)
    assert r.ppu == pytest.approx(1.0)
    assert r.ppl == pytest.approx(25.0 / 15.0)
    assert r.ppk == pytest.approx(1.0)
    assert r.pp == pytest.approx(4.0 / 3.0)
    assert r.expected_fraction_nonconforming == pytest.approx(PHI[-3] + PHI[-5], rel=1e-4)


def test_one_sided_upper_limit_only():
    r = process_performance(exact_sample(30, 5.0, 5.0), usl=20.0)
    assert r.one_sided
    assert r.pp is None and r.pp_lower is None and r.pp_upper is None
    assert r.ppl is None
    assert r.ppu == pytest.approx(1.0)
    assert r.ppk == pytest.approx(1.0)
    assert r.expected_fraction_nonconforming == pytest.approx(PHI[-3], rel=1e-4)
    expected_lower = 1.0 - Z95 * math.sqrt(1 / 270 + 1.0 / 58)
    assert r.ppk_lower == pytest.approx(expected_lower, rel=1e-5)


def test_one_sided_lower_limit_only():
    r = process_performance(exact_sample(30, 0.0, 5.0), lsl=-10.0)
    assert r.ppu is None and r.pp is None
    assert r.ppl == pytest.approx(10.0 / 15.0)
    assert r.ppk == pytest.approx(10.0 / 15.0)
    assert r.expected_fraction_nonconforming == pytest.approx(PHI[-2], rel=1e-4)


def test_measurement_variance_removal():
    values = exact_sample(30, 0.0, 5.0)
    r = process_performance(values, lsl=-20.0, usl=20.0, u_meas=3.0)
    assert r.std == pytest.approx(5.0)  # observed spread still reported
    assert r.sigma_process == pytest.approx(4.0)  # sqrt(25 - 9)
    assert r.pp == pytest.approx(40.0 / 24.0)
    assert r.ppk == pytest.approx(40.0 / 24.0)
    assert r.measurement_variance_removed and r.u_meas == 3.0
    plain = process_performance(values, lsl=-20.0, usl=20.0)
    assert r.ppk > plain.ppk
    assert r.expected_fraction_nonconforming < plain.expected_fraction_nonconforming


@pytest.mark.parametrize("u_meas", [5.0, 6.0])
def test_measurement_uncertainty_swallowing_the_spread_is_an_error(u_meas):
    with pytest.raises(ValueError, match="no process spread"):
        process_performance(exact_sample(30, 0.0, 5.0), lsl=-20.0, usl=20.0, u_meas=u_meas)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 30, 100, 1000])
@pytest.mark.parametrize("mean", [0.0, 7.0, -12.0])
def test_intervals_contain_the_point_estimate(n, mean):
    r = process_performance(exact_sample(n, mean, 5.0, seed=n), lsl=-20.0, usl=20.0)
    assert r.pp_lower < r.pp < r.pp_upper
    assert r.ppk_lower < r.ppk


def test_bounds_tighten_with_n():
    intervals = [pp_confidence_interval(1.33, n) for n in (10, 30, 100, 1000)]
    widths = [hi - lo for lo, hi in intervals]
    assert all(a > b for a, b in itertools.pairwise(widths))
    lows = [bissell_lower_bound(1.33, n) for n in (10, 30, 100, 1000)]
    assert all(a < b < 1.33 for a, b in itertools.pairwise(lows))


def test_higher_confidence_gives_wider_bounds():
    values = exact_sample(30, 0.0, 5.0)
    r95 = process_performance(values, lsl=-20.0, usl=20.0)
    r99 = process_performance(values, lsl=-20.0, usl=20.0, confidence=0.99)
    assert r99.pp_lower < r95.pp_lower and r99.pp_upper > r95.pp_upper
    assert r99.ppk_lower < r95.ppk_lower


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        ([1.0], {"lsl": 0.0, "usl": 2.0}, "at least 2"),
        ([], {"lsl": 0.0, "usl": 2.0}, "at least 2"),
        ([1.0, 2.0], {}, "at least one specification limit"),
        ([1.0, 2.0], {"lsl": 3.0, "usl": 3.0}, "must be below"),
        ([1.0, float("nan")], {"usl": 3.0}, "finite"),
        ([1.0, 2.0], {"usl": 3.0, "u_meas": -0.1}, "u_meas"),
        ([2.0, 2.0, 2.0], {"usl": 3.0}, "identical"),
        ([1.0, 2.0], {"usl": 3.0, "confidence": 1.0}, "confidence"),
        ([1.0, 2.0], {"usl": float("inf")}, "finite"),
    ],
)
def test_bad_input(values, kwargs, match):
    with pytest.raises(ValueError, match=match):
        process_performance(values, **kwargs)


@pytest.mark.parametrize(("true_mean", "n"), [(0.0, 30), (0.5, 20), (-0.8, 50)])
def test_monte_carlo_coverage_of_ppk_lower_bound(true_mean, n):
    """The 95 % Bissell lower bound must cover the true Ppk in roughly >= 90 % of samples."""
    lsl, usl, sigma = -4.0, 4.0, 1.0
    true_ppk = min(usl - true_mean, true_mean - lsl) / (3.0 * sigma)
    true_pp = (usl - lsl) / (6.0 * sigma)
    rng = np.random.default_rng(20240611 + n)
    trials = 400
    ppk_covered = pp_covered = 0
    for _ in range(trials):
        sample = rng.normal(true_mean, sigma, n)
        r = process_performance(sample, lsl=lsl, usl=usl)
        ppk_covered += r.ppk_lower <= true_ppk
        pp_covered += r.pp_lower <= true_pp <= r.pp_upper
    assert ppk_covered / trials >= 0.90
    assert pp_covered / trials >= 0.90
    # and the bound is not trivially low: it must miss sometimes (nominal 5 %)
    assert ppk_covered < trials
