"""Input resistance at 20 mA from the 4-wire input voltage: <= 50 ohm.

``R_in = V_in / I_in`` with ``V_in`` from the source's 4-wire sense at the module's input
terminals and ``I_in`` measured (never the setpoint). The budget is the one of the *absolute*
input current, not the ratio-calibrated transfer budget of the transmission error (in which the
shunt's absolute value and the meter's gain cancel, docs/metrology.md section 4.4):

* shunt-scan: ``I_in = V_shunt / R_shunt,nominal``: the shunt's tolerance (rectangular, GUM
  4.3.7), the DMM's specification for the voltage across the shunt on the range it was read,
  and the pooled type A of the input-shunt readings;
* direct: the source's own current read-back specification on its range.

Relative uncertainties of a quotient add in quadrature (GUM 5.1.6, eq. 12 with exponents +1 and
-1): ``(u_R / R)^2 = (u_V / V)^2 + (u_I / I)^2``.
"""

from __future__ import annotations

import math

from procedures.measurement import TransferReading
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_value
from procedures.uncertainty import Component, budget, type_b

LEVEL_A = 20e-3


def input_current_components(ctx: RunContext, point: TransferReading) -> list[Component]:
    """Components of the absolute input current of a shunt-scan ``point`` (A); call it right
    after the reading, while the DMM is still on the range it was read on."""
    current = point.input_a
    if ctx.settings.topology != "shunt-scan":
        return []  # the source's read-back: its specification comes with the reading
    wiring = ctx.settings.wiring
    shunt_v = current * wiring.input_shunt_ohm
    noise = [c for c in point.budget.components if c.name == "input noise"]
    return [
        Component(
            "input shunt tolerance",
            abs(current) * wiring.shunt_tolerance / math.sqrt(3.0),
            "B rectangular",
            f"station wiring: shunt tolerance +-{wiring.shunt_tolerance:g}",
        ),
        type_b(
            "DMM voltage across the input shunt",
            ctx.bench.dmm.accuracy(shunt_v),
            shunt_v,
            sensitivity=1.0 / wiring.input_shunt_ohm,
        ),
        *noise,
    ]


class InputResistance(Step):
    name = "input_resistance"
    title = "Input resistance at 20 mA (4-wire)"
    requires = POWERED_POINT
    judges = ("input_resistance",)

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm)
        point = ops.measure_point(LEVEL_A)
        current_parts = input_current_components(ctx, point)
        # the source's 4-wire voltage and current, read while the DMM integrated the point
        source = point.source
        voltage, current = source.voltage_v, point.input_a
        if ctx.settings.topology != "shunt-scan":
            current_parts = [
                type_b("source input-current read-back", source.current_accuracy, current)
            ]
        resistance = voltage / current if current else float("nan")
        rel_v = source.voltage_accuracy.half_width(voltage) / math.sqrt(3.0) / abs(voltage or 1.0)
        r_budget = budget(
            Component(
                "4-wire input voltage",
                abs(resistance) * rel_v,
                "B rectangular",
                source.voltage_accuracy.source,
            ),
            # R = V / I: a relative u of I is the same relative u of R (GUM 5.1.6)
            *(
                Component(
                    f"input current: {c.name}",
                    abs(resistance) * c.u / abs(current or 1.0),
                    c.kind,
                    c.source,
                    c.dof,
                )
                for c in current_parts
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
        ops.end_step()
