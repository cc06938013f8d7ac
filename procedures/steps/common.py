"""Recording helpers shared by the steps: judge a value, write the reading and the measurement."""

from __future__ import annotations

from typing import Any

import numpy as np

from procedures.decision import Decision
from procedures.measurement import TransferReading
from procedures.plan import RunContext
from procedures.record import MeasurementRecord
from procedures.uncertainty import Budget


def judge(ctx: RunContext, characteristic: str, value: float, budget: Budget | None) -> Decision:
    """The profile's rule for ``characteristic`` applied to ``value`` with the budget's u, its
    effective degrees of freedom and the matching coverage factor (GUM G.4)."""
    char = ctx.profile[characteristic]
    if budget is None:
        return char.judge(value, 0.0, allowance=ctx.temperature_allowance_a)
    return char.judge(
        value, budget.u, allowance=ctx.temperature_allowance_a, k=budget.k, dof=budget.dof
    )


def record_value(
    ctx: RunContext,
    step: str,
    characteristic: str,
    value: float,
    budget: Budget | None,
    conditions: dict[str, Any],
    *,
    predicted: float | None = None,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> MeasurementRecord:
    """Judge ``value`` by the profile's rule for ``characteristic`` and record it."""
    char = ctx.profile[characteristic]
    decision = judge(ctx, characteristic, value, budget)
    u = decision.u
    measurement = MeasurementRecord.judged(
        char, step, decision, conditions, budget.to_dict() if budget else {}, predicted, note
    )
    ctx.recorder.point(
        measurement,
        step=step,
        characteristic=characteristic,
        **conditions,
        value=value,
        unit=char.unit,
        u=u,
        expanded_u=decision.U,
        statement=decision.statement.value,
        lower=decision.effective_lower,
        upper=decision.effective_upper,
        **(extra or {}),
    )
    return measurement


def record_transfer(
    ctx: RunContext,
    step: str,
    characteristic: str,
    point: TransferReading,
    conditions: dict[str, Any],
    set_a: float,
) -> MeasurementRecord:
    """Judge one point's transmission error e = I_out - I_in (against the measured input)."""
    urv = ctx.profile.module.upper_range_value_a
    char = ctx.profile[characteristic]
    decision = judge(ctx, characteristic, point.error_a, point.budget)
    supply_v = float(conditions.get("supply_v", ctx.profile.module.nominal_supply_v))
    loop_ohm = float(conditions.get("load_ohm", ctx.settings.nominal_load_ohm))
    predicted_out = float(ctx.reference.static_output_a(point.input_a, supply_v, loop_ohm))
    n = len(point.output_readings)
    finite = np.isfinite(point.output_readings).all()
    std = float(point.output_readings.std(ddof=1)) if n > 1 and finite else float("nan")
    measurement = MeasurementRecord.judged(
        char,
        step,
        decision,
        {"set_a": set_a, "input_a": point.input_a, **conditions},
        point.budget.to_dict(),
        predicted=predicted_out - point.input_a,
    )
    ctx.recorder.point(
        measurement,
        step=step,
        characteristic=characteristic,
        **conditions,
        set_a=set_a,
        input_a=point.input_a,
        input_a_source=point.input_a_source,
        input_v=point.input_v,
        output_a=point.output_a,
        output_std_a=std,
        readings=n,
        error_a=point.error_a,
        error_pct_urv=100.0 * point.error_a / urv,
        u_a=point.budget.u,
        expanded_u_a=decision.U,
        statement=decision.statement.value,
        lower_a=decision.effective_lower,
        upper_a=decision.effective_upper,
        acceptance_lower_a=decision.acceptance_lower,
        acceptance_upper_a=decision.acceptance_upper,
        predicted_a=predicted_out,
        residual_a=point.output_a - predicted_out,
        settle_s=point.settle_s,
    )
    return measurement
