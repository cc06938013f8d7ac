"""Influence of supply and load on the transfer (IEC 61298-3 style, docs/metrology.md 2.3).

Supply effect: 16.8 / 24 / 31.2 V at 4 and 20 mA (250 ohm), every point judged within +-20 uA,
the shift against 24 V reported. Load effect: lowest achievable / 250 / 600 ohm at 4 and 20 mA,
at 24 V and at 16.8 V, every point judged, the shift against 250 ohm reported; then the output
compliance beyond 600 ohm is characterised (informative). Load values are the whole output loop;
the actual loop resistance is computed from the measured load voltage and output current.
"""

from __future__ import annotations

from procedures.measurement import TransferReading
from procedures.operations import BenchOps
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.steps.common import record_transfer, record_value
from procedures.uncertainty import Component, budget

INPUTS_A = (4e-3, 20e-3)


class SupplyEffect(Step):
    name = "supply_effect"
    title = "Supply effect 16.8 / 24 / 31.2 V at 4 and 20 mA"
    requires = POWERED_POINT
    judges = ("supply_effect", "supply_shift")

    def run(self, ctx: RunContext) -> None:
        ratings = ctx.profile.ratings
        nominal = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        supplies = (ratings.supply_min_v, nominal, ratings.supply_max_v)
        ops = ctx.ops
        ops.power_up(nominal, load_ohm)
        errors: dict[tuple[float, float], tuple[float, float]] = {}
        done, total = 0, len(supplies) * len(INPUTS_A)
        # level outermost: one DMM range (one zero) per level, the supply steps are cheap
        for level in INPUTS_A:
            for supply_v in supplies:
                ops.set_supply(supply_v)
                point = ops.measure_point(level, characteristic="supply_effect")
                record_transfer(
                    ctx,
                    self.name,
                    "supply_effect",
                    point,
                    {"supply_v": supply_v, "load_ohm": load_ohm},
                    level,
                )
                errors[(supply_v, level)] = (point.error_a, point.budget.u)
                done += 1
                ctx.progress(self.name, done, total, f"{supply_v:4.1f} V {level * 1e3:4.1f} mA")
        ops.end_step()
        for supply_v in (ratings.supply_min_v, ratings.supply_max_v):
            for level in INPUTS_A:
                shift = errors[(supply_v, level)][0] - errors[(nominal, level)][0]
                u = (errors[(supply_v, level)][1] ** 2 + errors[(nominal, level)][1] ** 2) ** 0.5
                record_value(
                    ctx,
                    self.name,
                    "supply_shift",
                    shift,
                    budget(Component("two points", u, "B", "difference of two points")),
                    {"supply_v": supply_v, "against_v": nominal, "set_a": level},
                    predicted=0.0,
                )


class LoadEffect(Step):
    name = "load_effect"
    title = "Load effect lowest / 250 / 600 ohm at 4 and 20 mA, 24 V and 16.8 V"
    requires = POWERED_POINT
    judges = ("load_effect", "load_shift", "output_compliance")

    def run(self, ctx: RunContext) -> None:
        ratings = ctx.profile.ratings
        nominal_v = ctx.profile.module.nominal_supply_v
        reference_ohm = ctx.settings.nominal_load_ohm
        ops = ctx.ops
        lowest = ctx.measurer.series_output_ohm + 0.05
        loads = (lowest, reference_ohm, ratings.load_max_ohm)
        supplies = (nominal_v, ratings.supply_min_v)
        ops.power_up(nominal_v, reference_ohm)
        errors: dict[tuple[float, float, float], tuple[float, float]] = {}
        done, total = 0, len(supplies) * len(loads) * len(INPUTS_A)
        # level outermost: one DMM range (one zero) per level; the load's own voltage
        # read-back runs while the DMM integrates (docs/metrology.md section 8)
        for level in INPUTS_A:
            for supply_v in supplies:
                ops.set_supply(supply_v)
                for load in loads:
                    ops.set_load(load)
                    point = ops.measure_point(
                        level, load_voltage=True, characteristic="load_effect"
                    )
                    actual = self._actual_loop_ohm(ctx, point)
                    record_transfer(
                        ctx,
                        self.name,
                        "load_effect",
                        point,
                        {"supply_v": supply_v, "load_ohm": load, "load_actual_ohm": actual},
                        level,
                    )
                    errors[(supply_v, load, level)] = (point.error_a, point.budget.u)
                    done += 1
                    ctx.progress(
                        self.name,
                        done,
                        total,
                        f"{supply_v:4.1f} V {actual:6.1f} ohm {level * 1e3:4.1f} mA",
                    )
        for (supply_v, load, level), (error, u) in errors.items():
            if load == reference_ohm:
                continue
            ref_error, ref_u = errors[(supply_v, reference_ohm, level)]
            record_value(
                ctx,
                self.name,
                "load_shift",
                error - ref_error,
                budget(
                    Component(
                        "two points", (u**2 + ref_u**2) ** 0.5, "B", "difference of two points"
                    )
                ),
                {
                    "supply_v": supply_v,
                    "load_ohm": load,
                    "against_ohm": reference_ohm,
                    "set_a": level,
                },
                predicted=0.0,
            )
        ops.set_supply(nominal_v)
        self._compliance(ctx, ops, ratings.load_max_ohm, reference_ohm)
        ops.end_step()

    def _actual_loop_ohm(self, ctx: RunContext, point: TransferReading) -> float:
        """Loop resistance from the load's measured voltage (read during the point), not from
        the e-load setpoint."""
        if point.load_v is None or abs(point.output_a) < 1e-4:
            return float("nan")
        return point.load_v / point.output_a + ctx.measurer.series_output_ohm

    def _compliance(
        self, ctx: RunContext, ops: BenchOps, start_ohm: float, reference_ohm: float
    ) -> None:
        """Largest loop resistance at which the 20 mA output stays within 0.1 % of URV.

        Bisection between the reference load and the bench's largest allowed load; the
        compliance voltage is that resistance times the output current (informative).
        """
        level = INPUTS_A[-1]
        band = ctx.profile["transmission_error"].upper or 20e-6
        ops.set_load(reference_ohm)
        reference = ops.measure_point(level).output_a
        envelope = getattr(ctx.bench, "envelope", None)
        limit_ohm = envelope.load_max_ohm if envelope is not None else 1.5 * start_ohm

        def within(load: float) -> bool:
            ops.set_load(load)
            point = ops.measure_point(level)
            ctx.recorder.reading(
                step=self.name,
                characteristic="output_compliance",
                load_ohm=load,
                set_a=level,
                output_a=point.output_a,
                drop_a=reference - point.output_a,
            )
            return reference - point.output_a <= band

        conditions = {"set_a": level, "search_from_ohm": reference_ohm, "search_to_ohm": limit_ohm}
        if within(limit_ohm):
            record_value(
                ctx,
                self.name,
                "output_compliance",
                level * limit_ohm,
                None,
                conditions,
                note=f"no compliance limit up to {limit_ohm:g} ohm",
            )
            return
        good, bad = reference_ohm, limit_ohm
        while bad - good > 5.0:
            middle = 0.5 * (good + bad)
            if within(middle):
                good = middle
            else:
                bad = middle
        record_value(
            ctx,
            self.name,
            "output_compliance",
            level * good,
            budget(
                Component(
                    "search resolution",
                    level * (bad - good) / 3**0.5,
                    "B rectangular",
                    "bisection step",
                )
            ),
            {**conditions, "last_load_within_band_ohm": good},
            predicted=ctx.reference.params.output_compliance_v,
        )
