"""Over-range and open input (informative, docs/metrology.md 1.3 and 2.3).

Over-range: 20.5, 21, 22, 24 mA (never above 30 mA, well below the 50 mA maximum): the output
and its clamp level, judged against the agreed minimum clamp of 20.2 mA; then the 20 mA point is
re-checked (no damage). Open input: the output with the source switched off.
"""

from __future__ import annotations

from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_transfer, record_value

OVER_RANGE_A = (20.5e-3, 21e-3, 22e-3, 24e-3)
NEVER_ABOVE_A = 30e-3


class OverRange(Step):
    name = "over_range"
    title = "Over-range 20.5 ... 24 mA, clamp level, 20 mA re-check"
    requires = POWERED_POINT
    judges = ("over_range", "clamp_level", "transmission_error")

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm)
        ops.measure_point(20e-3)  # approach the over-range points from below
        outputs = []
        for index, level in enumerate(OVER_RANGE_A, start=1):
            assert level <= NEVER_ABOVE_A
            point = ops.measure_point(level)
            outputs.append((point.output_a, point))
            record_value(
                ctx,
                self.name,
                "over_range",
                point.output_a,
                point.budget,
                {"set_a": level, "input_a": point.input_a},
                predicted=float(ctx.reference.static_output_a(point.input_a, supply_v, load_ohm)),
            )
            ctx.progress(
                self.name,
                index,
                len(OVER_RANGE_A) + 1,
                f"{level * 1e3:.1f} mA -> {point.output_a * 1e3:.3f} mA",
            )
        clamp, clamp_point = max(outputs, key=lambda item: item[0])
        top_input = outputs[-1][1].input_a
        note = "no clamp below 24 mA input" if clamp >= top_input - 20e-6 else ""
        record_value(
            ctx,
            self.name,
            "clamp_level",
            clamp,
            clamp_point.budget,
            {"largest_input_a": top_input},
            note=note,
        )
        point = ops.measure_point(20e-3)
        record_transfer(
            ctx,
            self.name,
            "transmission_error",
            point,
            {
                "direction": "down",
                "supply_v": supply_v,
                "load_ohm": load_ohm,
                "after": "over-range",
            },
            20e-3,
        )
        ctx.progress(self.name, len(OVER_RANGE_A) + 1, len(OVER_RANGE_A) + 1, "20 mA re-check")
        ops.end_step()


class OpenInput(Step):
    name = "open_input"
    title = "Open input: output with the source off"
    requires = POWERED_POINT
    judges = ("open_input",)

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm, source_on=False)
        reading = ctx.measurer.output_current(1e-3, ops.pending_wait_s + ops.startup_wait_s())
        ops.pending_wait_s = 0.0
        record_value(
            ctx,
            self.name,
            "open_input",
            reading.value,
            reading.budget,
            {"source": "off", "supply_v": supply_v, "load_ohm": load_ohm},
            predicted=0.0,
        )
        ctx.progress(self.name, 1, 1, f"{reading.value * 1e6:.2f} uA")
        ops.end_step()
