"""In-situ shunt-ratio calibration (shunt-scan topology, docs/metrology.md 4.2).

The fixture's bypass relay takes the module out and routes the source current through the
input and output shunts in series; A-B-B-A readings on the same DMM range give rho = R_out/R_in
at 20 mA and 4 mA (their agreement checks self-heating and voltage coefficient). From then on
the module's error no longer depends on the DMM's gain and offset or on the shunts' absolute
values. A bench quantity, not a module characteristic: recorded as readings and a note.
"""

from __future__ import annotations

from drivers import capabilities as cap
from drivers.capabilities import Need, Requirement
from procedures.plan import POWERED_POINT, PlanSettings, RunContext, Step


class ShuntCalibration(Step):
    name = "shunt_calibration"
    title = "In-situ shunt-ratio calibration (module bypassed)"
    requires = POWERED_POINT

    def requirements(self, settings: PlanSettings) -> tuple[Requirement, ...]:
        """The bypass relay hangs on the source's digital line ``wiring.bypass_line``."""
        return (*POWERED_POINT, Need("source", cap.DIGITAL_OUT, settings.wiring.bypass_line))

    def run(self, ctx: RunContext) -> None:
        measurer = ctx.measurer
        line = ctx.settings.wiring.bypass_line
        ops = ctx.ops
        ops.power_up(ctx.profile.module.nominal_supply_v, ctx.settings.nominal_load_ohm)
        ctx.bench.source.set_digital_output(line, True)
        try:
            results = measurer.calibrate_ratio()
        finally:
            ctx.bench.source.set_current(0.0)
            ctx.bench.source.set_digital_output(line, False)
        for level, ratio, u in results:
            ctx.recorder.reading(
                step=self.name, characteristic="shunt_ratio", set_a=level, value=ratio, u=u
            )
        ratio = measurer.ratio
        ctx.recorder.record.notes.append(
            f"shunt ratio R_out/R_in = {ratio.ratio:.7f} (u = {ratio.u:.1e}) from the in-situ "
            "calibration; used for every output reading of this run"
        )
        ctx.progress(self.name, 1, 1, f"rho = {ratio.ratio:.6f}")
        ops.level_a = 0.0
        ops.end_step()
