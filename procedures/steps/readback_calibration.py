"""In-situ read-back calibration (direct topology, docs/metrology.md 4.2, method M2c).

The fixture's bypass relay (on the source's digital line ``wiring.bypass_line``) takes the
module out, so the DMM in the output loop reads the very current the source reads back. At
every level the plan's transfer points use, the difference puts the source's read-back on the
DMM's scale (``procedures.readback_calibration``): from then on a transfer point's error no
longer depends on either instrument's absolute gain or offset. A bench quantity, not a module
characteristic: recorded as readings and a note.
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers import capabilities as cap
from drivers.capabilities import Need, Requirement
from procedures.plan import POWERED_POINT, PlanSettings, RunContext, Step
from procedures.steps.accuracy import POINTS_A
from procedures.steps.influence import INPUTS_A

#: every level a judged transmission point of the full plan uses (traverse, influences and
#: the 20 mA re-check)
LEVELS_A = tuple(sorted(set(POINTS_A) | set(INPUTS_A)))


class ReadbackCalibration(Step):
    name = "readback_calibration"
    title = "In-situ read-back calibration (module bypassed)"
    requires = POWERED_POINT

    def __init__(self, levels_a: Sequence[float] = LEVELS_A) -> None:
        self.levels_a = tuple(levels_a)

    def requirements(self, settings: PlanSettings) -> tuple[Requirement, ...]:
        """The bypass relay hangs on the source's digital line ``wiring.bypass_line``."""
        return (*POWERED_POINT, Need("source", cap.DIGITAL_OUT, settings.wiring.bypass_line))

    def run(self, ctx: RunContext) -> None:
        measurer = ctx.measurer
        calibrate = getattr(measurer, "calibrate_readback", None)
        if calibrate is None:  # only the direct topology reads the input on the source
            return
        line = ctx.settings.wiring.bypass_line
        ops = ctx.ops
        ops.power_up(ctx.profile.module.nominal_supply_v, ctx.settings.nominal_load_ohm)
        ctx.bench.source.set_digital_output(line, True)
        try:
            corrections = calibrate(self.levels_a)
        finally:
            ctx.bench.source.set_current(0.0)
            ctx.bench.source.set_digital_output(line, False)
        for c in corrections:
            ctx.recorder.reading(
                step=self.name,
                characteristic="readback_correction",
                set_a=c.level_a,
                value=c.correction_a,
                u=c.u_a,
            )
        worst = max(corrections, key=lambda c: abs(c.correction_a))
        ctx.recorder.record.notes.append(
            f"source read-back corrected to the DMM's scale at {len(corrections)} levels from "
            f"the in-situ calibration (largest {worst.correction_a * 1e6:+.2f} uA at "
            f"{worst.level_a * 1e3:g} mA); used for every transfer point at those levels"
        )
        ctx.progress(self.name, 1, 1, f"{len(corrections)} levels")
        ops.level_a = 0.0
        ops.end_step()
