"""Accuracy traverse at 24 V, 250 ohm: up then down, each point approached from one direction.

Every point's error against the measured input current is judged against +-20 uA (0.1 % of
the 20 mA upper-range value). From the same points, IEC 61298-2 derived characteristics
(metrology.md 2.1), each reported on its own: gain error and offset (least-squares line through
the error), non-linearity (largest deviation of the up/down mean from that line) and hysteresis
(largest down - up difference at one point).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from procedures.operations import BenchOps
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_transfer, record_value
from procedures.uncertainty import Component, budget

POINTS_A = (0.2e-3, 2e-3, 4e-3, 10e-3, 12e-3, 16e-3, 18e-3, 20e-3)


def traverse(points_a: Sequence[float]) -> list[tuple[str, float]]:
    """Up through every point, then down through all but the top (the turning point)."""
    ordered = sorted(points_a)
    return [("up", p) for p in ordered] + [("down", p) for p in reversed(ordered[:-1])]


def derived(
    inputs: np.ndarray, errors: np.ndarray, directions: list[str], set_points: np.ndarray
) -> dict[str, float]:
    """Gain error, offset, non-linearity and hysteresis of one traverse (IEC 61298-2)."""
    slope, intercept = np.polyfit(inputs, errors, 1)
    means, hysteresis = [], 0.0
    for level in np.unique(set_points):
        at = set_points == level
        up = errors[at & (np.asarray(directions) == "up")]
        down = errors[at & (np.asarray(directions) == "down")]
        if len(up) and len(down):
            difference = float(down.mean() - up.mean())
            if abs(difference) > abs(hysteresis):
                hysteresis = difference
        means.append((float(inputs[at].mean()), float(errors[at].mean())))
    x, y = np.array(means).T
    non_linearity = y - (slope * x + intercept)
    return {
        "gain_error": float(slope),
        "offset": float(intercept),
        "non_linearity": float(non_linearity[np.argmax(np.abs(non_linearity))]),
        "hysteresis": float(hysteresis),
    }


class AccuracyTraverse(Step):
    name = "accuracy"
    title = "Accuracy traverse 0.2-20 mA up and down, 24 V, 250 ohm"
    requires = POWERED_POINT
    judges = ("transmission_error", "gain_error", "offset", "non_linearity", "hysteresis")

    def __init__(
        self,
        points_a: Sequence[float] = POINTS_A,
        supply_v: float | None = None,
        load_ohm: float | None = None,
        characteristic: str = "transmission_error",
        derive: bool = True,
    ) -> None:
        self.points_a = tuple(points_a)
        self.supply_v, self.load_ohm = supply_v, load_ohm
        self.characteristic, self.derive = characteristic, derive
        self.judges = (characteristic, *(type(self).judges[1:] if derive else ()))

    def run(self, ctx: RunContext) -> None:
        supply_v = self.supply_v or ctx.profile.module.nominal_supply_v
        load_ohm = self.load_ohm or ctx.settings.nominal_load_ohm
        points = traverse(self.points_a)
        ops = BenchOps(ctx)
        ops.power_up(supply_v, load_ohm)
        inputs, errors, directions, sets, us = [], [], [], [], []
        for index, (direction, level) in enumerate(points, start=1):
            point = ops.measure_point(level)
            record_transfer(
                ctx,
                self.name,
                self.characteristic,
                point,
                {"direction": direction, "supply_v": supply_v, "load_ohm": load_ohm},
                level,
            )
            inputs.append(point.input_a)
            errors.append(point.error_a)
            directions.append(direction)
            sets.append(level)
            us.append(point.budget.u)
            ctx.progress(
                self.name,
                index,
                len(points),
                f"{direction} {level * 1e3:5.1f} mA: error {point.error_a * 1e6:+6.2f} uA",
            )
        ops.power_down()
        if self.derive and len(set(sets)) >= 3:
            self._derived(
                ctx,
                np.array(inputs),
                np.array(errors),
                directions,
                np.array(sets),
                float(np.max(us)),
                supply_v,
                load_ohm,
            )

    def _derived(
        self,
        ctx: RunContext,
        inputs: np.ndarray,
        errors: np.ndarray,
        directions: list[str],
        sets: np.ndarray,
        u_point: float,
        supply_v: float,
        load_ohm: float,
    ) -> None:
        values = derived(inputs, errors, directions, sets)
        urv = ctx.profile.module.upper_range_value_a
        conditions = {"supply_v": supply_v, "load_ohm": load_ohm, "points": len(errors)}
        # each derived value inherits the point uncertainty (conservative: not reduced by n)
        budgets = {
            "gain_error": budget(
                Component(
                    "point uncertainty / URV", u_point / urv, "B", "largest point u over the URV"
                )
            ),
            "offset": budget(Component("point uncertainty", u_point, "B", "largest point u")),
            "non_linearity": budget(
                Component("point uncertainty", u_point, "B", "largest point u")
            ),
            "hysteresis": budget(
                Component("two points", u_point * np.sqrt(2.0), "B", "difference of two points")
            ),
        }
        for name, value in values.items():
            record_value(ctx, self.name, name, value, budgets[name], conditions, predicted=0.0)
