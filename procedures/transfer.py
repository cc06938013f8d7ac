"""Transfer accuracy: the module's output against its measured input, up and down the range.

IEC 61298-2 accuracy traverse (metrology.md 2.1): every point approached from one direction in
each traverse; the measured error e = I_out - I_in is computed against the *measured* input
current (never the source setpoint) and judged against +-0.1 % of the upper-range value with
the point's own expanded uncertainty (metrology.md 2.2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from procedures.operations import BenchOps, PointReading
from procedures.plan import RunContext, Step
from procedures.record import MeasurementRecord


def traverse(points_a: Sequence[float]) -> list[tuple[str, float]]:
    """Up through every point, then down through all but the top (the turning point)."""
    ordered = sorted(points_a)
    return [("up", p) for p in ordered] + [("down", p) for p in reversed(ordered[:-1])]


def record_transfer_point(
    ctx: RunContext,
    step: str,
    characteristic: str,
    point: PointReading,
    conditions: dict[str, object],
) -> MeasurementRecord:
    """Judge one point's transmission error and write the reading and the measurement."""
    urv = ctx.profile.module.upper_range_value_a
    char = ctx.profile[characteristic]
    decision = char.judge(point.error_a, point.budget.u, allowance=ctx.temperature_allowance_a)
    supply_v = float(conditions.get("supply_v", ctx.profile.module.nominal_supply_v))  # type: ignore[arg-type]
    load_ohm = float(conditions.get("load_ohm", ctx.settings.nominal_load_ohm))  # type: ignore[arg-type]
    predicted = float(ctx.reference.static_output_a(point.input_a, supply_v, load_ohm))
    std = float(np.std(point.output_readings, ddof=1)) if len(point.output_readings) > 1 else 0.0
    ctx.recorder.reading(
        step=step,
        characteristic=characteristic,
        **conditions,
        set_a=point.set_a,
        input_a=point.input_a,
        input_v=point.input_v,
        output_a=point.output_a,
        output_std_a=std,
        readings=len(point.output_readings),
        error_a=point.error_a,
        error_pct_urv=100.0 * point.error_a / urv,
        u_a=point.budget.u,
        expanded_u_a=point.budget.expanded,
        statement=decision.statement.value,
        predicted_a=predicted,
        residual_a=point.output_a - predicted,
        settle_s=point.settle_s,
    )
    measurement = MeasurementRecord.judged(
        char,
        step,
        decision,
        {"input_a": point.input_a, **conditions},
        point.budget.to_dict(),
        predicted=predicted - point.input_a,  # the reference model's error at this input
    )
    ctx.recorder.measurement(measurement)
    return measurement


class TransferSweep(Step):
    name = "transfer_sweep"
    title = "Transfer accuracy sweep, 0-20 mA up and down"

    def __init__(
        self,
        points_a: Sequence[float] | None = None,
        supply_v: float | None = None,
        load_ohm: float | None = None,
    ) -> None:
        self.points_a = points_a
        self.supply_v = supply_v
        self.load_ohm = load_ohm

    def run(self, ctx: RunContext) -> None:
        supply_v = self.supply_v or ctx.profile.module.nominal_supply_v
        load_ohm = self.load_ohm or ctx.settings.nominal_load_ohm
        points = traverse(self.points_a or ctx.settings.transfer_points_a)
        ops = BenchOps(ctx)
        ops.power_up(supply_v, load_ohm)
        for index, (direction, level) in enumerate(points, start=1):
            point = ops.measure_point(level)
            record_transfer_point(
                ctx,
                self.name,
                "transmission_error",
                point,
                {"direction": direction, "supply_v": supply_v, "load_ohm": load_ohm},
            )
            ctx.progress(
                self.name,
                index,
                len(points),
                f"{direction} {level * 1e3:5.1f} mA: error {point.error_a * 1e6:+6.2f} uA",
            )
        ops.power_down()
