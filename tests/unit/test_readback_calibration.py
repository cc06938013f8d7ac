"""The direct topology's read-back correction: where it applies and its budget, by hand."""

from __future__ import annotations

import math

import pytest

from drivers.scpi import Accuracy
from procedures.readback_calibration import MAX_AGE_S, ReadbackCorrection

SOURCE = Accuracy(0.00025, 6e-6, 0.1, "SPEC-2450 Rev. A")  # 100 mA range
DMM = Accuracy(0.0005, 5e-6, 0.1, "34465A")  # 100 mA range: 0.05 % + 0.005 % of range


def correction(taken_at_s: float = 100.0) -> ReadbackCorrection:
    return ReadbackCorrection(0.020, 3.1e-6, 0.06e-6, 13.0, 0.1, 0.1, SOURCE, DMM, taken_at_s)


def test_applies_only_at_its_level_ranges_and_age() -> None:
    c = correction()
    assert c.applies(0.020, 0.1, 0.1, now_s=100.0 + MAX_AGE_S)
    assert not c.applies(0.020, 0.1, 0.1, now_s=100.0 + MAX_AGE_S + 1.0)  # stale
    assert not c.applies(0.016, 0.1, 0.1, now_s=101.0)  # another level
    assert not c.applies(0.020, 0.01, 0.1, now_s=101.0)  # another DMM range
    assert not c.applies(0.020, 0.1, 0.01, now_s=101.0)  # another source range


def test_budget_by_hand_at_20_ma() -> None:
    parts = {p.name: p for p in correction().components(0.020, 5e-6, DMM)}
    assert parts["read-back calibration"].u == 0.06e-6
    assert parts["read-back calibration"].dof == 13.0
    # 2 ppm of 20 mA, rectangular
    assert parts["DMM transfer to the calibration"].u == pytest.approx(40e-9 / math.sqrt(3))
    # 0.15 x spec/degC x (1 degC/h x 120 s): source 11 uA, DMM 15 uA half-widths at 20 mA
    drift = 0.15 * (120.0 / 3600.0) * math.hypot(11e-6, 15e-6)
    assert parts["instruments' stability since the calibration"].u == pytest.approx(
        drift / math.sqrt(3)
    )
    # the DMM's gain scales only e: 0.05 % of 5 uA
    assert parts["DMM gain (scales e)"].u == pytest.approx(0.0005 * 5e-6 / math.sqrt(3))
