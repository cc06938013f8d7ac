"""Bench operations the steps share: power up in the safe order, measure one transfer point.

Timing comes from the module's dynamics, not from fixed sleeps: before each reading the
meter's trigger delay (an instrument-side wait that the simulated clock accounts for) is the
time the module needs to settle within ``settle_band_a`` after the input step. The run has
one ``BenchOps`` (``RunContext.ops``): the module is powered once and stays powered from step
to step; its start-up is detected from its output at the first point (bounded by
``STARTUP_ALLOWANCE_S``) instead of waiting the slowest unit's start-up every time
(docs/metrology.md section 8).
"""

from __future__ import annotations

from procedures.lower_bound import FASTEST_STARTUP_S
from procedures.measurement import Measurer, TransferReading
from procedures.plan import RunContext

#: longest time the module may need after power-up before its output is valid [E]
#: (docs/metrology.md 6.4: 20-200 ms; 0.3 s keeps a margin): the start-up detection gives up
#: after it, and a reading with the source off (nothing to detect) waits it in full
STARTUP_ALLOWANCE_S = 0.3
#: the output counts as started once a reading is within this share of the input [E]
STARTED_SHARE = 0.1
#: settling after a supply or load change, in time constants of the reference model [E]
CONDITION_SETTLE_TAU = 8.0
#: lowest load setting any supported model reaches (plan checks); a run uses its load's own
#: constant-resistance minimum (``Load.min_resistance_ohm``)
MIN_LOAD_OHM = 0.05


class BenchOps:
    """Stateful helper over the four roles; remembers levels to avoid redundant commands."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.bench = ctx.bench
        self.measurer: Measurer = ctx.measurer
        self.supply_v: float | None = None
        self.load_ohm: float | None = None
        self.level_a = 0.0
        self.powered = False
        self.source_on = False
        self.pending_wait_s = 0.0
        #: powered, but the start-up not yet seen at the output
        self.startup_pending = False

    # ------------------------------------------------------------------ power
    def load_setting_ohm(self, loop_ohm: float) -> float:
        """Electronic-load setting that makes the whole output loop ``loop_ohm``."""
        return max(loop_ohm - self.measurer.series_output_ohm, self.bench.load.min_resistance_ohm)

    def power_up(self, supply_v: float, load_ohm: float, source_on: bool = True) -> None:
        """Supply, then load, then source (the safe order); the source starts at 0 A.

        ``load_ohm`` is the whole output loop (e-load plus the fixture's series resistance).
        Already powered (an earlier step): only the conditions change (``set_supply``,
        ``set_load``) and the source is switched on or off as asked.
        """
        if self.powered:
            self.set_supply(supply_v)
            self.set_load(load_ohm)
            b = self.bench
            if source_on and not self.source_on:
                b.source.set_current(0.0)
                b.source.enable_output()
                self.level_a, self.source_on = 0.0, True
            elif not source_on and self.source_on:
                b.source.set_current(0.0)
                b.source.disable_output()
                self.level_a, self.source_on = 0.0, False
                self._condition_changed()
            return
        settings = self.ctx.settings
        b = self.bench
        b.supply.configure(voltage_v=supply_v)
        b.supply.enable_output()
        b.load.configure_resistance(self.load_setting_ohm(load_ohm))
        b.load.enable_input()
        b.source.configure(
            voltage_limit_v=settings.source_voltage_limit_v, nplc=settings.nplc, four_wire=True
        )
        b.source.set_current(0.0)
        if source_on:
            b.source.enable_output()
        self.measurer.prepare()
        self.supply_v, self.load_ohm, self.level_a = supply_v, load_ohm, 0.0
        self.powered, self.source_on = True, source_on
        self.startup_pending = True

    def end_step(self) -> None:
        """A step is done: the module stays powered for the next (``run_plan`` powers down
        after the last step; the runner's safe state covers every other ending)."""

    def power_down(self) -> None:
        """Source, then load, then supply: the reverse order."""
        if not self.powered:
            return
        b = self.bench
        if self.source_on:
            b.source.set_current(0.0)
            b.source.disable_output()
        b.load.disable_input()
        b.supply.disable_output()
        self.powered, self.source_on, self.level_a = False, False, 0.0
        self.startup_pending, self.pending_wait_s = False, 0.0
        self.supply_v = self.load_ohm = None

    def startup_wait_s(self) -> float:
        """The wait before a reading that cannot see the start-up (source off, 0 A in)."""
        if not self.startup_pending:
            return 0.0
        self.startup_pending = False
        self.ctx.bound.add("start-up", FASTEST_STARTUP_S)
        return STARTUP_ALLOWANCE_S

    def await_startup(self, level_a: float) -> None:
        """Read the output until it follows the input (within ``STARTED_SHARE``), at most
        ``STARTUP_ALLOWANCE_S``: the unit's own start-up instead of the slowest unit's. A
        unit that never starts (no module, not seated) leaves it to the point's judgement."""
        self.startup_pending = False
        self.ctx.bound.add("start-up", FASTEST_STARTUP_S)
        waited = 0.0
        while waited < STARTUP_ALLOWANCE_S:
            if abs(self.measurer.peek_output(level_a) - level_a) <= STARTED_SHARE * abs(level_a):
                return
            waited += self.measurer.integration_per_reading_s

    def _condition_changed(self) -> None:
        tau = self.ctx.dynamics.params.tau_s + self.ctx.dynamics.params.tau2_s
        self.pending_wait_s = max(self.pending_wait_s, CONDITION_SETTLE_TAU * tau)

    def set_supply(self, supply_v: float) -> None:
        if supply_v != self.supply_v:
            self.bench.supply.set_voltage(supply_v)
            self.supply_v = supply_v
            self._condition_changed()

    def set_load(self, load_ohm: float) -> None:
        """Whole output loop resistance (the e-load takes the rest of the fixture's series R)."""
        if load_ohm != self.load_ohm:
            self.bench.load.set_resistance(self.load_setting_ohm(load_ohm))
            self.load_ohm = load_ohm
            self._condition_changed()

    def set_input(self, level_a: float, range_a: float | None = None) -> float:
        """Program the input; return the settling wait it needs before a reading. While the
        start-up is being detected (the first non-zero input after power-up), the output is
        watched until it follows (``await_startup``) and the step's settling follows that."""
        settle = self.settle_time_s(abs(level_a - self.level_a))
        if range_a is not None:
            self.bench.source.set_current(level_a, range_a=range_a)
        elif level_a != self.level_a:
            self.bench.source.set_current(level_a)
        if self.startup_pending and self.source_on and level_a != 0.0:
            self.await_startup(level_a)
        else:
            settle += self.pending_wait_s + self.startup_wait_s()
        self.level_a, self.pending_wait_s = level_a, 0.0
        return settle

    def approach_from_below(self, level_a: float) -> None:
        """Bring the input below ``level_a`` first (to 0 A) when it is above: a traverse's
        first point is approached from below (IEC 61298-2), whatever an earlier step left.
        The output's settling from there is waited before the next reading."""
        if self.level_a > level_a:
            self.pending_wait_s += self.set_input(0.0)

    # ------------------------------------------------------------------ timing
    def settle_time_s(self, step_a: float) -> float:
        """Time for the nominal module to come within the settle band after ``step_a``."""
        band = self.ctx.settings.settle_band_a
        if step_a <= band:
            return 0.0
        return self.ctx.dynamics.settling_time_s(band / step_a)

    # ------------------------------------------------------------------ measurement
    def measure_point(
        self,
        level_a: float,
        *,
        compliance_ok: bool = False,
        load_voltage: bool = False,
        characteristic: str = "transmission_error",
    ) -> TransferReading:
        """Set the input, let the module settle (meter-side delay), read output and input.

        The readings are as many as ``characteristic``'s uncertainty target needs (the
        profile's ``tur_min``, docs/metrology.md section 8). ``load_voltage=True`` also reads
        the electronic load's voltage while the DMM integrates.

        The reading is returned only after the bench's health check (a rebooted instrument, a
        queued error, a tripped supply, a source in compliance raise an InstrumentError
        naming the instrument). ``compliance_ok=True`` is for a step that diagnoses an open
        input itself (the terminal check).
        """
        settle = self.set_input(level_a)
        chars = self.ctx.profile.characteristics
        target = (
            chars[characteristic].expanded_uncertainty_target if characteristic in chars else None
        )
        reading = self.measurer.transfer(
            level_a,
            settle,
            target_u=target,
            load_voltage=load_voltage,
            compliance_ok=compliance_ok,
        )
        if target is not None and reading.budget.expanded > target:
            misses = self.ctx.target_misses
            misses[characteristic] = misses.get(characteristic, 0) + 1
        reading.settle_s = settle
        return reading
