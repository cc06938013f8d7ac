"""Accuracy traverse at 24 V, 250 ohm: up then down, each point approached from one direction.

Every point's error against the measured input current is judged against +-20 uA (0.1 % of
the 20 mA upper-range value). From the same points, IEC 61298-2 derived characteristics
(docs/metrology.md sections 2.1 and 2.5, ``procedures.linearity``), each reported on its own
with its budget: gain error and offset (least-squares line through the error), independent
non-linearity (minimax line through the up/down means), terminal-based non-linearity (line
through the end points) and hysteresis (down - up, one value if the levels agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from procedures import linearity
from procedures.linearity import Derived, TraversePoint
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_transfer, record_value

POINTS_A = (0.2e-3, 2e-3, 4e-3, 10e-3, 12e-3, 16e-3, 18e-3, 20e-3)


def traverse(points_a: Sequence[float]) -> list[tuple[str, float]]:
    """Up through every point, then down through all but the top (the turning point)."""
    ordered = sorted(points_a)
    return [("up", p) for p in ordered] + [("down", p) for p in reversed(ordered[:-1])]


def derived(points: Sequence[TraversePoint]) -> dict[str, Derived]:
    """Gain error, offset, non-linearity (independent and terminal-based) and hysteresis of
    one traverse (IEC 61298-2; docs/metrology.md section 2.5), each with its budget."""
    gain, offset = linearity.least_squares_line(points)
    out = {
        "gain_error": gain,
        "offset": offset,
        "non_linearity": linearity.independent_non_linearity(points),
        "terminal_non_linearity": linearity.terminal_non_linearity(points),
    }
    hysteresis = linearity.hysteresis(points)
    if hysteresis is not None:
        out["hysteresis"] = hysteresis
    return out


class AccuracyTraverse(Step):
    name = "accuracy"
    title = "Accuracy traverse 0.2-20 mA up and down, 24 V, 250 ohm"
    requires = POWERED_POINT
    judges = (
        "transmission_error",
        "gain_error",
        "offset",
        "non_linearity",
        "terminal_non_linearity",
        "hysteresis",
    )

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
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm)
        ops.approach_from_below(points[0][1])
        judged: list[TraversePoint] = []
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
            judged.append(
                TraversePoint(point.input_a, point.error_a, direction, level, point.budget)
            )
            ctx.progress(
                self.name,
                index,
                len(points),
                f"{direction} {level * 1e3:5.1f} mA: error {point.error_a * 1e6:+6.2f} uA",
            )
        ops.end_step()
        if self.derive and len({p.set_a for p in judged}) >= 3:
            self._derived(ctx, judged, supply_v, load_ohm)

    def _derived(
        self, ctx: RunContext, points: list[TraversePoint], supply_v: float, load_ohm: float
    ) -> None:
        conditions = {"supply_v": supply_v, "load_ohm": load_ohm, "points": len(points)}
        for name, result in derived(points).items():
            if name not in ctx.profile.characteristics:
                continue  # a profile without this characteristic does not ask for it
            record_value(
                ctx,
                self.name,
                name,
                result.value,
                result.budget,
                conditions,
                predicted=0.0,
                note=result.method,
            )
