"""Bench operations the steps share: power up in the safe order, measure one transfer point.

Timing comes from the reference model, not from fixed sleeps: before each reading the meter's
trigger delay (an instrument-side wait that the simulated clock accounts for) is the time the
nominal module needs to settle within ``settle_band_a`` after the input step, plus the module's
start-up allowance after power-up. The same sums give the plan's physical lower bound.
"""

from __future__ import annotations

from procedures.measurement import Measurer, TransferReading
from procedures.plan import RunContext

#: time the module needs after power-up before its output is valid [E] (docs/metrology.md 6.4:
#: 20-200 ms; 0.3 s keeps a margin)
STARTUP_ALLOWANCE_S = 0.3
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

    # ------------------------------------------------------------------ power
    def load_setting_ohm(self, loop_ohm: float) -> float:
        """Electronic-load setting that makes the whole output loop ``loop_ohm``."""
        return max(loop_ohm - self.measurer.series_output_ohm, self.bench.load.min_resistance_ohm)

    def power_up(self, supply_v: float, load_ohm: float, source_on: bool = True) -> None:
        """Supply, then load, then source (the safe order); the source starts at 0 A.

        ``load_ohm`` is the whole output loop (e-load plus the fixture's series resistance).
        """
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
        self.pending_wait_s = STARTUP_ALLOWANCE_S

    def power_down(self) -> None:
        """Source, then load, then supply: the reverse order."""
        b = self.bench
        if self.source_on:
            b.source.set_current(0.0)
            b.source.disable_output()
        b.load.disable_input()
        b.supply.disable_output()
        self.powered, self.source_on, self.level_a = False, False, 0.0

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
        """Program the input; return the settling wait it needs before a reading."""
        settle = self.settle_time_s(abs(level_a - self.level_a)) + self.pending_wait_s
        if range_a is not None:
            self.bench.source.set_current(level_a, range_a=range_a)
        elif level_a != self.level_a:
            self.bench.source.set_current(level_a)
        self.level_a = level_a
        self.pending_wait_s = 0.0
        return settle

    # ------------------------------------------------------------------ timing
    def settle_time_s(self, step_a: float) -> float:
        """Time for the nominal module to come within the settle band after ``step_a``."""
        band = self.ctx.settings.settle_band_a
        if step_a <= band:
            return 0.0
        return self.ctx.dynamics.settling_time_s(band / step_a)

    # ------------------------------------------------------------------ measurement
    def measure_point(self, level_a: float, *, compliance_ok: bool = False) -> TransferReading:
        """Set the input, let the module settle (meter-side delay), read output and input.

        The reading is returned only after the bench's health check (a rebooted instrument, a
        queued error, a tripped supply, a source in compliance raise an InstrumentError
        naming the instrument). ``compliance_ok=True`` is for a step that diagnoses an open
        input itself (the terminal check).
        """
        settle = self.set_input(level_a)
        reading = self.measurer.transfer(level_a, settle, compliance_ok=compliance_ok)
        reading.settle_s = settle
        return reading
