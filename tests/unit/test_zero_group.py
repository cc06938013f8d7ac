"""Autozero once per range group (docs/metrology.md section 8.3), with a recording fake DMM."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import procedures.measurement as measurement
from procedures.measurement import DirectMeasurer
from procedures.plan import RunContext
from procedures.profile import builtin_profile


class FakeDmm:
    current_ranges_a = (1e-3, 1e-2, 1e-1)

    def __init__(self, off_error_a: dict[float, float]) -> None:
        self.off_error_a, self.sent, self.range_a = off_error_a, [], 0.0

    def configure_dc_current(self, *, range_a: float, nplc: float, autozero: bool) -> None:
        self.range_a = range_a
        self.sent.append(("configure", range_a, autozero))

    def autozero_once(self) -> None:
        self.sent.append(("zero", self.range_a))

    def autozero_off_error(self) -> float:
        return self.off_error_a[self.range_a]

    def autozero_hold_s(self) -> float:
        return 600.0


def measurer(dmm: FakeDmm) -> DirectMeasurer:
    bench = SimpleNamespace(dmm=dmm)
    return DirectMeasurer(RunContext(bench=bench, profile=builtin_profile(), recorder=None))  # type: ignore[arg-type]


def test_a_range_whose_held_zero_fits_the_target_is_zeroed_once_and_counted_once() -> None:
    # 0.05 uA on 1 mA: 2 x 0.05 / sqrt(3) = 0.06 uA <= 25 % of the 2 uA target
    dmm = FakeDmm({1e-3: 0.05e-6, 1e-2: 5.02e-6})
    m = measurer(dmm)
    m._dmm_range(0.2e-3)
    m._dmm_range(0.2e-3)  # same range: nothing sent again
    assert dmm.sent == [("configure", 1e-3, True), ("zero", 1e-3)]
    assert m.integration_per_reading_s == pytest.approx(0.02)  # one integration per reading
    assert m.ctx.bound.by_kind() == pytest.approx({"zero": 0.02})
    m._dmm_range(5e-3)
    m._dmm_range(0.2e-3)  # back to 1 mA: zeroed again (the plan's cost), not in the bound
    assert dmm.sent[-1] == ("zero", 1e-3)
    assert m.ctx.bound.by_kind() == pytest.approx({"zero": 0.02})


def test_a_range_whose_held_zero_would_eat_the_target_keeps_autozero_on() -> None:
    # 5 uA on 10 mA: 2 x 5 / sqrt(3) = 5.8 uA > 0.5 uA: every reading zeroes itself
    dmm = FakeDmm({1e-3: 0.05e-6, 1e-2: 5.02e-6})
    m = measurer(dmm)
    m._dmm_range(5e-3)
    assert dmm.sent == [("configure", 1e-2, True)]
    assert m.integration_per_reading_s == pytest.approx(0.04)  # signal and zero
    assert m.zero_drift("zero", 1.0).u == 0.0


def test_a_held_zero_older_than_the_manuals_window_is_taken_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(measurement.time, "monotonic", lambda: now[0])
    dmm = FakeDmm({1e-3: 0.05e-6})
    m = measurer(dmm)
    m._dmm_range(0.2e-3)
    now[0] += 599.0
    m._dmm_range(0.2e-3)
    assert dmm.sent.count(("zero", 1e-3)) == 1
    now[0] += 2.0  # 601 s after the zero
    m._dmm_range(0.2e-3)
    assert dmm.sent.count(("zero", 1e-3)) == 2
