"""Supply current: <= 25 mA at 24 V (input 0 and 20 mA, 600 ohm); informative at 16.8/31.2 V.

The module powers its isolated output from the supply, so the 20 mA / 600 ohm point draws the
most (docs/metrology.md 6.4). Measured through the supply-line shunt (shunt-scan) or, on a direct
bench, the supply's own read-back, whose mA-class uncertainty the budget shows.
"""

from __future__ import annotations

from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_value

INPUTS_A = (0.0, 20e-3)
LOAD_OHM = 600.0
#: [E] DC/DC input settling after the output settles
DCDC_SETTLE_S = 0.005


class SupplyCurrent(Step):
    name = "supply_current"
    title = "Supply current at 16.8 / 24 / 31.2 V, input 0 and 20 mA, 600 ohm"
    requires = POWERED_POINT
    judges = ("supply_current", "supply_current_range")

    def run(self, ctx: RunContext) -> None:
        ratings = ctx.profile.ratings
        nominal = ctx.profile.module.nominal_supply_v
        supplies = (nominal, ratings.supply_min_v, ratings.supply_max_v)
        ops = ctx.ops
        ops.power_up(nominal, LOAD_OHM)
        total = len(supplies) * len(INPUTS_A)
        done = 0
        for supply_v in supplies:
            ops.set_supply(supply_v)
            for level in INPUTS_A:
                settle = ops.set_input(level) + DCDC_SETTLE_S
                reading = ctx.measurer.supply_current(settle)
                predicted_out = float(ctx.reference.static_output_a(level, supply_v, LOAD_OHM))
                predicted = float(ctx.reference.supply_current_a(predicted_out, supply_v))
                characteristic = "supply_current" if supply_v == nominal else "supply_current_range"
                record_value(
                    ctx,
                    self.name,
                    characteristic,
                    reading.value,
                    reading.budget,
                    {"supply_v": supply_v, "set_a": level, "load_ohm": LOAD_OHM},
                    predicted=predicted,
                )
                done += 1
                ctx.progress(
                    self.name,
                    done,
                    total,
                    f"{supply_v:4.1f} V, {level * 1e3:4.1f} mA: {reading.value * 1e3:.2f} mA",
                )
        ops.end_step()
