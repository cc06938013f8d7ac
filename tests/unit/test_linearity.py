"""Derived traverse characteristics (procedures.linearity) on vectors worked out by hand.

IEC 61298-2 definitions (docs/metrology.md section 2.5): independent non-linearity is the
largest deviation of the up/down mean curve from its minimax straight line, terminal-based
non-linearity the largest deviation from the line through the end points. The minimax value is
also checked against ``scipy.optimize.linprog`` (a third-party solution of the same problem).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize

from procedures import linearity
from procedures.linearity import TraversePoint
from procedures.uncertainty import Budget, Component, budget

MA = 1e-3
UA = 1e-6


def _budget(u_noise: float, u_ratio: float = 0.0, dof: float = 60.0) -> Budget:
    return budget(
        Component("output noise", u_noise, "A pooled (n=3)", "s_p", dof),
        Component("shunt ratio calibration", u_ratio, "A/B combined", "in-situ ratio"),
    )


def _traverse(
    x_a: list[float],
    up_a: list[float],
    down_a: list[float] | None = None,
    u_noise: float = 0.1 * UA,
    u_ratio_rel: float = 0.0,
) -> list[TraversePoint]:
    """Up through every level, down through all but the top (as the accuracy step does)."""
    down_a = up_a if down_a is None else down_a
    points = [
        TraversePoint(x, e, "up", x, _budget(u_noise, u_ratio_rel * x))
        for x, e in zip(x_a, up_a, strict=True)
    ]
    for x, e in reversed(list(zip(x_a[:-1], down_a[:-1], strict=True))):
        points.append(TraversePoint(x, e, "down", x, _budget(u_noise, u_ratio_rel * x)))
    return points


def _minimax_linprog(x: np.ndarray, y: np.ndarray) -> float:
    """min E subject to |y_i - (a + b x_i)| <= E, as a linear programme (variables a, b, E)."""
    ones = np.ones_like(x)
    a_ub = np.vstack([np.column_stack([-ones, -x, -ones]), np.column_stack([ones, x, -ones])])
    b_ub = np.concatenate([-y, y])
    res = optimize.linprog(
        [0.0, 0.0, 1.0], A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * 3, method="highs"
    )
    assert res.success
    return float(res.x[2])


def test_three_points_by_hand() -> None:
    # errors 0, 2, 0 uA at 0, 10, 20 mA: the minimax line is e = 1 uA (deviations -1, +1, -1),
    # the terminal line is e = 0 (deviation +2 at mid-scale), least squares e = 2/3 uA
    points = _traverse([0.0, 10 * MA, 20 * MA], [0.0, 2 * UA, 0.0])
    assert linearity.independent_non_linearity(points).value == pytest.approx(1 * UA)
    assert linearity.terminal_non_linearity(points).value == pytest.approx(2 * UA)
    gain, offset = linearity.least_squares_line(points)
    # 5 points at 0, 10, 20, 10, 0 mA with errors 0, 2, 0, 2, 0 uA: means 8 mA, 0.8 uA;
    # S_xe = 8 uA mA, S_xx = 280 mA^2: slope 1/35 uA/mA, intercept 0.8 - 8/35 = 4/7 uA
    assert gain.value == pytest.approx(1e-3 / 35.0)
    assert offset.value == pytest.approx(4.0 / 7.0 * UA)


def test_bow_minimax_is_half_the_terminal_deviation() -> None:
    # a parabolic bow b 4 x (1 - x) sampled at 0, 1/4, 1/2, 3/4, 1 of the span: terminal
    # deviation b at mid-scale; the minimax line sits b/2 above the chord, so the largest
    # deviation from it is b/2 (at both ends and mid-scale, alternating)
    b = 3 * UA
    x = np.linspace(0.0, 20 * MA, 5)
    s = x / (20 * MA)
    e = list(b * 4 * s * (1 - s) + 5 * UA + 1e-3 * x)  # plus an offset and a gain error
    points = _traverse(list(x), e)
    assert linearity.terminal_non_linearity(points).value == pytest.approx(b)
    assert linearity.independent_non_linearity(points).value == pytest.approx(b / 2)


def test_minimax_matches_linprog_on_an_irregular_curve() -> None:
    rng = np.random.default_rng(5)
    x = np.array([0.2, 2, 4, 10, 12, 16, 18, 20]) * MA
    up = rng.normal(0.0, 2 * UA, len(x)) + 4e-4 * x
    down = up + rng.normal(0.0, 0.5 * UA, len(x))
    points = _traverse(list(x), list(up), list(down))
    xs, ys = linearity.calibration_curve(points)
    expected = _minimax_linprog(xs / MA, ys / UA) * UA
    assert linearity.independent_non_linearity(points).value == pytest.approx(expected, rel=1e-6)
    # never larger than the deviation from the least-squares or the terminal line
    fit = np.polyfit(xs, ys, 1)
    assert expected <= np.max(np.abs(ys - np.polyval(fit, xs))) + 1e-15
    assert expected <= abs(linearity.terminal_non_linearity(points).value) + 1e-15


def test_non_linearity_u_is_propagated_and_a_common_gain_cancels() -> None:
    # three levels: 0 and 10 mA the mean of an up and a down reading of u = 0.2 uA
    # (u / sqrt 2), 20 mA one reading (u); E = |y_2 - (y_1 + y_3)/2| / 2 has the coefficients
    # -1/4, 1/2, -1/4 on the levels
    u = 0.2 * UA
    points = _traverse([0.0, 10 * MA, 20 * MA], [0.0, 2 * UA, 0.0], u_noise=u, u_ratio_rel=50e-6)
    result = linearity.independent_non_linearity(points)
    expected = math.sqrt(0.0625 * u**2 / 2 + 0.25 * u**2 / 2 + 0.0625 * u**2)
    assert result.budget.u == pytest.approx(expected)
    # the ratio error is a gain: the same 50 ppm at every point cancels from a line deviation...
    ratio = [c for c in result.budget.components if c.name == "shunt ratio calibration"]
    assert ratio[0].u == pytest.approx(0.0, abs=1e-18)
    # ...but is the whole uncertainty of the fitted gain error apart from the noise
    gain, _ = linearity.least_squares_line(points)
    ratio = [c for c in gain.budget.components if c.name == "shunt ratio calibration"]
    assert ratio[0].u == pytest.approx(50e-6, rel=1e-9)
    assert result.budget.dof == 60.0


def test_hysteresis_is_the_weighted_mean_when_the_levels_agree() -> None:
    x = [0.0, 10 * MA, 20 * MA, 30 * MA]
    up = [0.0, 0.0, 0.0, 0.0]
    down = [1.0 * UA, 1.2 * UA, 0.8 * UA, 0.0]  # the top level is only approached upwards
    u = 0.2 * UA
    points = _traverse(x, up, down, u_noise=u, u_ratio_rel=50e-6)
    result = linearity.hysteresis(points)
    assert result is not None
    assert result.value == pytest.approx(1.0 * UA)
    # each difference has u sqrt(2) u (the common ratio error cancels); the mean of three
    assert result.budget.u == pytest.approx(math.sqrt(2.0) * u / math.sqrt(3.0))
    assert "weighted mean" in result.method


def test_hysteresis_depending_on_the_level_reports_the_largest_difference() -> None:
    x = [0.0, 10 * MA, 20 * MA, 30 * MA]
    points = _traverse(x, [0.0] * 4, [0.0, 0.0, 5 * UA, 0.0], u_noise=0.1 * UA)
    result = linearity.hysteresis(points)
    assert result is not None
    assert result.value == pytest.approx(5 * UA)
    assert result.budget.u == pytest.approx(math.sqrt(2.0) * 0.1 * UA)
    assert "depends on the level" in result.method


def test_hysteresis_of_a_module_without_any_is_unbiased_and_covered() -> None:
    # the old estimate (the largest of the noisy down - up differences) is biased upward;
    # the weighted mean is not, and its U covers the true 0 in about 95 % of traverses
    rng = np.random.default_rng(11)
    x = list(np.array([0.2, 2, 4, 10, 12, 16, 18, 20]) * MA)
    u = 0.3 * UA
    estimates, covered, largest = [], 0, []
    for _ in range(400):
        up = list(rng.normal(0.0, u, len(x)))
        down = list(rng.normal(0.0, u, len(x)))
        result = linearity.hysteresis(_traverse(x, up, down, u_noise=u))
        assert result is not None
        estimates.append(result.value)
        covered += abs(result.value) <= result.budget.expanded
        d = np.array(down[:-1]) - np.array(up[:-1])
        largest.append(d[np.argmax(np.abs(d))])
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / math.sqrt(len(estimates))
    assert np.mean(np.abs(largest)) > 3 * np.mean(np.abs(estimates))
    assert 0.92 <= covered / 400 <= 0.98


def test_fewer_than_three_levels_is_refused() -> None:
    points = _traverse([0.0, 20 * MA], [0.0, 0.0])
    with pytest.raises(ValueError, match="three set points"):
        linearity.independent_non_linearity(points)
    with pytest.raises(ValueError, match="three set points"):
        linearity.terminal_non_linearity(points)


def test_a_point_that_could_not_be_measured_leaves_every_derived_value_nan() -> None:
    points = _traverse([0.0, 10 * MA, 20 * MA], [0.0, math.inf, 0.0])
    gain, offset = linearity.least_squares_line(points)
    hysteresis = linearity.hysteresis(points)
    assert hysteresis is not None
    for result in (
        gain,
        offset,
        linearity.independent_non_linearity(points),
        linearity.terminal_non_linearity(points),
        hysteresis,
    ):
        assert math.isnan(result.value) and "could not be measured" in result.method
