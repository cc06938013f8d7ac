"""Characteristics derived from an accuracy traverse, as IEC 61298-2 defines them, with budgets.

From the judged points of one up/down traverse (measured input, error ``e = I_out - I_in``,
direction, set point and each point's uncertainty budget), docs/metrology.md section 2.5:

* **gain error and offset**: least-squares line ``e = g x + o`` through every point;
* the **calibration curve**: per set point the mean of its up and down errors;
* **independent non-linearity** (IEC 61298-2 "independent linearity"): the largest deviation of
  the calibration curve from the straight line that *minimises* that largest deviation (the
  minimax or Chebyshev line). By de la Vallee Poussin's theorem the minimax deviation of a
  line over points ``x_1 < ... < x_n`` is the largest, over all triples ``i < j < k``, of the
  levelled deviation ``|y_j - chord_ik(x_j)| / 2`` -- exact, no iteration;
* **terminal-based non-linearity**: the largest deviation of the calibration curve from the
  line through its end points (lower and upper range values), signed;
* **hysteresis**: the down - up difference ``d_L`` at each set point approached both ways. Each
  ``d_L`` is estimated with the uncertainty of what differs between the two readings (their
  noise and residual settling: a specification or ratio error common to both cancels). If the
  ``d_L`` agree with one value (chi-square at 1 %), that value -- their weighted mean -- is the
  hysteresis: the maximum the standard asks for, without the upward bias of picking the
  largest of several noisy differences. If they disagree (a hysteresis that depends on the
  level), the largest ``|d_L|`` is reported with its own uncertainty.

Every value is a linear combination of the point errors near its estimate, so its budget comes
from :func:`procedures.uncertainty.propagate` (GUM 5.1.2 and 5.2.2). The minimax and terminal
deviations are maxima: with noise they are biased upward by up to about their u, which for a
conformity decision errs on the safe side (a false rejection, never a false acceptance).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from procedures.uncertainty import Budget, budget, propagate

#: significance of the chi-square test that the down - up differences share one value
HYSTERESIS_CONSISTENCY_ALPHA = 0.01


@dataclass(frozen=True)
class TraversePoint:
    input_a: float  # measured input current
    error_a: float  # I_out - I_in
    direction: str  # "up" or "down"
    set_a: float  # set point (groups the points of one level)
    budget: Budget


@dataclass(frozen=True)
class Derived:
    """One derived characteristic: value, budget, and how it was obtained."""

    value: float
    budget: Budget
    method: str


@dataclass(frozen=True)
class _Level:
    x: float  # mean measured input
    coefficients: np.ndarray  # the level's mean error as a combination of the points


def _by_set(points: Sequence[TraversePoint], direction: str | None) -> dict[float, _Level]:
    """Per set point (ascending) the mean of its points (of one direction, or all)."""
    sets = np.array([p.set_a for p in points])
    inputs = np.array([p.input_a for p in points])
    out = {}
    for level in np.unique(sets):
        chosen = (sets == level) & np.array(
            [direction is None or p.direction == direction for p in points]
        )
        if chosen.any():
            a = chosen / chosen.sum()
            out[float(level)] = _Level(float(a @ inputs), a)
    return out


def _levels(points: Sequence[TraversePoint]) -> list[_Level]:
    return list(_by_set(points, None).values())


def _budget(points: Sequence[TraversePoint], a: np.ndarray) -> Budget:
    return propagate(list(a), [p.budget for p in points])


def _unmeasured(points: Sequence[TraversePoint]) -> Derived | None:
    """NaN when a point could not be measured (overload, lost reading): a derived value
    would silently rest on the others."""
    if all(np.isfinite([p.error_a, p.input_a]).all() for p in points):
        return None
    return Derived(math.nan, budget(), "not computed: a traverse point could not be measured")


def least_squares_line(points: Sequence[TraversePoint]) -> tuple[Derived, Derived]:
    """Gain error (slope, 1) and offset (A) of the least-squares line through every point."""
    missing = _unmeasured(points)
    if missing is not None:
        return missing, missing
    x = np.array([p.input_a for p in points])
    design = np.column_stack([x, np.ones_like(x)])
    rows = np.linalg.pinv(design)  # (slope; intercept) = rows @ e
    e = np.array([p.error_a for p in points])
    slope, intercept = rows @ e
    return (
        Derived(float(slope), _budget(points, rows[0]), "least-squares slope"),
        Derived(float(intercept), _budget(points, rows[1]), "least-squares intercept"),
    )


def calibration_curve(points: Sequence[TraversePoint]) -> tuple[np.ndarray, np.ndarray]:
    """(mean input, mean of the up and down errors) per set point, ascending."""
    levels = _levels(points)
    e = np.array([p.error_a for p in points])
    return np.array([lv.x for lv in levels]), np.array([lv.coefficients @ e for lv in levels])


def _chord_coefficients(x: np.ndarray, i: int, j: int, k: int) -> np.ndarray:
    """Coefficients c with ``c @ y = y_j - chord through (x_i, y_i), (x_k, y_k) at x_j``."""
    w = (x[j] - x[i]) / (x[k] - x[i])
    c = np.zeros(len(x))
    c[j], c[i], c[k] = 1.0, -(1.0 - w), -w
    return c


def independent_non_linearity(points: Sequence[TraversePoint]) -> Derived:
    """Largest deviation of the calibration curve from its minimax straight line (>= 0)."""
    levels = _levels(points)
    if len(levels) < 3:
        raise ValueError("independent non-linearity needs at least three set points")
    if (missing := _unmeasured(points)) is not None:
        return missing
    e = np.array([p.error_a for p in points])
    x = np.array([lv.x for lv in levels])
    y = np.array([lv.coefficients @ e for lv in levels])
    to_points = np.array([lv.coefficients for lv in levels])  # level -> point coefficients
    best, best_c = -1.0, np.zeros(len(levels))
    for i, j, k in itertools.combinations(range(len(levels)), 3):
        c = _chord_coefficients(x, i, j, k) / 2.0
        value = float(c @ y)
        if abs(value) > best:
            best, best_c = abs(value), c * math.copysign(1.0, value)
    return Derived(best, _budget(points, best_c @ to_points), "minimax (Chebyshev) line")


def terminal_non_linearity(points: Sequence[TraversePoint]) -> Derived:
    """Largest deviation (signed) of the calibration curve from the line through its ends."""
    levels = _levels(points)
    if len(levels) < 3:
        raise ValueError("terminal-based non-linearity needs at least three set points")
    if (missing := _unmeasured(points)) is not None:
        return missing
    e = np.array([p.error_a for p in points])
    x = np.array([lv.x for lv in levels])
    y = np.array([lv.coefficients @ e for lv in levels])
    to_points = np.array([lv.coefficients for lv in levels])
    last = len(levels) - 1
    deviations = [(_chord_coefficients(x, 0, j, last)) for j in range(1, last)]
    values = [float(c @ y) for c in deviations]
    worst = int(np.argmax(np.abs(values)))
    return Derived(
        values[worst],
        _budget(points, deviations[worst] @ to_points),
        "line through the end points",
    )


def hysteresis(points: Sequence[TraversePoint]) -> Derived | None:
    """Down - up difference (A): one value if the levels agree, else the largest; None if no
    set point was approached from both sides."""
    ups, downs = _by_set(points, "up"), _by_set(points, "down")
    both = sorted(set(ups) & set(downs))
    if not both:
        return None
    if (missing := _unmeasured(points)) is not None:
        return missing
    diffs = [downs[s].coefficients - ups[s].coefficients for s in both]
    e = np.array([p.error_a for p in points])
    d = np.array([c @ e for c in diffs])
    budgets = [_budget(points, c) for c in diffs]
    u = np.array([b.u for b in budgets])
    if len(both) == 1 or not np.all(u > 0.0):
        worst = int(np.argmax(np.abs(d)))
        return Derived(float(d[worst]), budgets[worst], "largest down - up difference")
    w = 1.0 / u**2
    mean = float(np.sum(w * d) / np.sum(w))
    chi2 = float(np.sum(w * (d - mean) ** 2))
    # chi-square quantile: scipy.stats.chi2.ppf(q, dof) is this special function (chdtri of
    # the upper tail 1 - q), without the ~0.3 s import of scipy.stats into every run
    q = 1.0 - HYSTERESIS_CONSISTENCY_ALPHA
    limit = float(special.chdtri(len(both) - 1, 1.0 - q))
    if chi2 <= limit:
        coefficients = sum((wi / np.sum(w)) * c for wi, c in zip(w, diffs, strict=True))
        method = f"weighted mean of {len(both)} down - up differences (chi2 {chi2:.1f})"
        return Derived(mean, _budget(points, np.asarray(coefficients)), method)
    worst = int(np.argmax(np.abs(d)))
    method = (
        f"largest of {len(both)} down - up differences: they disagree (chi2 {chi2:.1f} > "
        f"{limit:.1f}), the hysteresis depends on the level"
    )
    return Derived(float(d[worst]), budgets[worst], method)
