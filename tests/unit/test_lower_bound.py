"""The physical lower bound's arithmetic against hand-computed numbers (docs/metrology.md 8)."""

from __future__ import annotations

import math

import pytest

from procedures.lower_bound import MAX_READINGS, LowerBound, readings_needed


def test_readings_needed_solves_the_root_sum_square_for_n() -> None:
    # U_t = 2 uA, k = 2: (U_t/k)^2 = 1.00 uA^2; u_other = 0.6 uA leaves 0.64 uA^2 for the
    # noise; s = 1.5 uA per reading: n >= 2.25 / 0.64 = 3.52 -> 4 (3 would give U 2.06 uA)
    assert readings_needed(2e-6, 2.0, 0.6e-6, 1.5e-6) == 4
    assert 2.0 * math.sqrt(0.6e-6**2 + 1.5e-6**2 / 3) > 2e-6
    assert 2.0 * math.sqrt(0.6e-6**2 + 1.5e-6**2 / 4) <= 2e-6
    # s = 0.5 uA: one reading already gives U = 2 sqrt(0.36 + 0.25) uA = 1.56 uA
    assert readings_needed(2e-6, 2.0, 0.6e-6, 0.5e-6) == 1


@pytest.mark.parametrize(
    ("target", "u_other", "s", "expected"),
    [
        (None, 0.0, 1e-6, 1),  # no target: the minimum
        (2e-6, 1.0e-6, 1e-6, 1),  # u_other alone uses the whole target (k = 2): no help
        (2e-6, 0.0, math.nan, 1),  # no noise estimate yet
        (2e-6, 0.0, 100e-6, MAX_READINGS),  # never more than the cap
    ],
)
def test_readings_needed_edges(
    target: float | None, u_other: float, s: float, expected: int
) -> None:
    assert readings_needed(target, 2.0, u_other, s) == expected


def test_lower_bound_sums_its_needs_by_kind_and_step() -> None:
    bound = LowerBound()
    bound.step = "a"
    bound.point(0.0143, 2, 0.02, meters=2)  # settle 14.3 ms, 2 x 2 x 20 ms
    bound.add("start-up", 0.02)
    bound.step = "b"
    bound.add("capture", 0.1)
    bound.add("settling", -1.0)  # nothing negative or empty is kept
    bound.add("settling", math.nan)
    assert bound.total_s == pytest.approx(0.0143 + 0.08 + 0.02 + 0.1)
    assert bound.by_kind() == pytest.approx(
        {"settling": 0.0143, "integration": 0.08, "start-up": 0.02, "capture": 0.1}
    )
    assert bound.by_step() == pytest.approx({"a": 0.1143, "b": 0.1})
    assert bound.summary().startswith("physical lower bound 0.21 s (capture 0.10 s")
