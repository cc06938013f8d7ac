"""Step 1: terminal sanity check - 1 mA in, about 1 mA out, a plausible input burden.

A gate: anything else stops the plan with the likely wiring fault named (docs/metrology.md 1.2: the
terminal assignment is an estimate until checked on the housing, so check before judging).
"""

from __future__ import annotations

import math

from procedures.plan import POWERED_POINT, ModuleNotMeasured, PlanStopped, RunContext, Step
from procedures.steps.common import record_value

TEST_CURRENT_A = 1e-3
#: plausible input burden at 1 mA: 5 ... 100 mV (R_in 5 ... 100 ohm; datasheet <= 50 ohm)
MIN_BURDEN_V, MAX_BURDEN_V = 0.005, 0.100


class FixtureFault(str):
    """A finding that means the module was never measured (no module, not seated, a wiring
    fault the module cannot cause): the run is ABORTED, the unit is not judged. The other
    findings concern a seated, powered module's output: they are the unit's FAIL."""


def diagnose(
    input_a: float, input_v: float, output_a: float, in_compliance: bool, supply_a: float
) -> str | None:
    """The likely wiring fault for these readings (a :class:`FixtureFault` when the module
    was not measured), or None when they look right."""
    if in_compliance or abs(input_a) < 0.5 * TEST_CURRENT_A:
        return FixtureFault(
            "no input current: the input loop is open - check the source leads on the "
            "module's input terminals and that the module is seated"
        )
    burden = input_v
    if abs(burden) < MIN_BURDEN_V:
        return FixtureFault(
            f"input burden only {burden * 1e3:.1f} mV at 1 mA: the input is shorted or the "
            "source does not reach the module's input terminals - check the input wiring"
        )
    if supply_a < 1e-3:
        return FixtureFault(
            "the module draws no supply current: check the supply wiring (Us+ on 3/7, GND "
            "on 4/8) and the supply output"
        )
    if not math.isfinite(output_a):
        return (
            "the output reading overloads the meter's range: a stuck or runaway output, or "
            "the output wired to a voltage (check the output wiring)"
        )
    ratio = output_a / input_a
    if abs(output_a) < 50e-6:
        return (
            "no output current although the module is supplied: the output loop is open "
            "(output wiring, load input) or the module is dead"
        )
    if ratio < -0.5:
        return FixtureFault(
            "the output current flows backwards: output wiring polarity is reversed"
        )
    if abs(burden) > MAX_BURDEN_V:
        return FixtureFault(
            f"input burden {burden * 1e3:.0f} mV at 1 mA: high resistance in the input loop "
            "(loose push-in contact or a damaged input)"
        )
    if not 0.9 <= ratio <= 1.1:
        return (
            f"{output_a * 1e3:.3f} mA out for {input_a * 1e3:.3f} mA in: wrong module type "
            "or the output is wired to another channel"
        )
    return None


class TerminalCheck(Step):
    name = "terminal_check"
    title = "Terminal check: 1 mA in, about 1 mA out"
    requires = POWERED_POINT
    judges = ("terminal_check",)
    gate = True

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm)
        # this step diagnoses an open input itself: a source in compliance is a finding here
        point = ops.measure_point(TEST_CURRENT_A, compliance_ok=True)
        in_compliance = ctx.bench.source.in_compliance()
        supply = ctx.measurer.supply_current(0.0, compliance_ok=True)
        ratio = point.output_a / point.input_a if point.input_a else float("nan")
        fault = diagnose(point.input_a, point.input_v, point.output_a, in_compliance, supply.value)
        record_value(
            ctx,
            self.name,
            "terminal_check",
            ratio,
            None,
            {"set_a": TEST_CURRENT_A, "supply_v": supply_v, "load_ohm": load_ohm},
            note=fault or "",
            extra={
                "input_a": point.input_a,
                "input_v": point.input_v,
                "output_a": point.output_a,
                "supply_a": supply.value,
                "source_in_compliance": in_compliance,
            },
        )
        ctx.progress(self.name, 1, 1, "wiring fault" if fault else "ok")
        ops.end_step()
        if isinstance(fault, FixtureFault):
            raise ModuleNotMeasured(f"the module was not measured: terminal check: {fault}")
        if fault is not None:
            raise PlanStopped(f"terminal check: {fault}")
