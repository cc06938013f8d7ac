"""Input resistance at 20 mA from the 4-wire input voltage: <= 50 ohm.

R_in = V_in / I_in with V_in from the source's 4-wire sense at the module's input terminals and
I_in measured (never the setpoint). Relative uncertainties add in quadrature (GUM 5.1.6).
"""

from __future__ import annotations

import math

from procedures.operations import BenchOps
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_value
from procedures.uncertainty import Component, budget

LEVEL_A = 20e-3


class InputResistance(Step):
    name = "input_resistance"
    title = "Input resistance at 20 mA (4-wire)"
    requires = POWERED_POINT
    judges = ("input_resistance",)

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        ops = BenchOps(ctx)
        ops.power_up(supply_v, load_ohm)
        point = ops.measure_point(LEVEL_A)
        source = ctx.bench.source.measure()  # 4-wire voltage and current at the same instant
        ctx.lower_bound_s += ctx.settings.nplc / ctx.settings.line_frequency_hz
        voltage, current = source.voltage_v, point.input_a
        resistance = voltage / current if current else float("nan")
        u_v = source.voltage_accuracy.half_width(voltage) / math.sqrt(3.0)
        u_i = (
            point.budget.u
            if ctx.settings.topology == "shunt-scan"
            else (source.current_accuracy.half_width(current) / math.sqrt(3.0))
        )
        r_budget = budget(
            Component(
                "4-wire input voltage",
                abs(resistance) * u_v / abs(voltage or 1.0),
                "B rectangular",
                source.voltage_accuracy.source,
            ),
            Component(
                "input current",
                abs(resistance) * u_i / abs(current or 1.0),
                "B",
                "measured input current",
            ),
        )
        record_value(
            ctx,
            self.name,
            "input_resistance",
            resistance,
            r_budget,
            {"set_a": LEVEL_A, "supply_v": supply_v, "load_ohm": load_ohm},
            predicted=ctx.reference.params.input_resistance_ohm,
            extra={"input_v": voltage, "input_a": current},
        )
        ctx.progress(self.name, 1, 1, f"{resistance:.2f} ohm")
        ops.power_down()
