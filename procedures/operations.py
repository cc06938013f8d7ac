"""Bench operations the steps share: power up in the safe order, measure one transfer point.

Timing comes from the reference model, not from fixed sleeps: before each reading the DMM's
trigger delay (an instrument-side wait that the simulated clock accounts for) is the time the
nominal module needs to settle within ``settle_band_a`` after the input step, plus the module's
start-up allowance after power-up. The same sums give the plan's physical lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procedures.plan import RunContext
from procedures.uncertainty import Budget, budget, type_a, type_b

#: time the module needs after power-up before its output is valid [E] (metrology.md 6.4:
#: 20-200 ms; 0.3 s keeps a margin)
STARTUP_ALLOWANCE_S = 0.3
#: the DMM current range is chosen so the expected reading stays below this share of it
RANGE_HEADROOM = 0.95


@dataclass
class PointReading:
    set_a: float
    input_a: float
    input_v: float
    output_a: float
    output_readings: np.ndarray
    budget: Budget
    settle_s: float

    @property
    def error_a(self) -> float:
        return self.output_a - self.input_a


class BenchOps:
    """Stateful helper over the four roles; remembers levels to avoid redundant commands."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.bench = ctx.bench
        self.supply_v: float | None = None
        self.load_ohm: float | None = None
        self.level_a = 0.0
        self.powered = False
        self._dmm_range: float | None = None
        self._trigger_delay: float | None = None
        self._pending_wait_s = 0.0

    # ------------------------------------------------------------------ power
    def power_up(self, supply_v: float, load_ohm: float) -> None:
        """Supply, then load, then source (the safe order); the source starts at 0 A."""
        settings = self.ctx.settings
        b = self.bench
        b.supply.configure(voltage_v=supply_v)
        b.supply.enable_output()
        b.load.configure_resistance(load_ohm)
        b.load.enable_input()
        b.source.configure(
            voltage_limit_v=settings.source_voltage_limit_v, nplc=settings.nplc, four_wire=True
        )
        b.source.set_current(0.0)
        b.source.enable_output()
        self.supply_v, self.load_ohm, self.level_a, self.powered = supply_v, load_ohm, 0.0, True
        self._pending_wait_s = STARTUP_ALLOWANCE_S

    def power_down(self) -> None:
        """Source, then load, then supply: the reverse order."""
        b = self.bench
        b.source.set_current(0.0)
        b.source.disable_output()
        b.load.disable_input()
        b.supply.disable_output()
        self.powered, self.level_a = False, 0.0

    def set_supply(self, supply_v: float) -> None:
        if supply_v != self.supply_v:
            self.bench.supply.set_voltage(supply_v)
            self.supply_v = supply_v
            self._pending_wait_s = max(self._pending_wait_s, 5.0 * self.ctx.reference.params.tau_s)

    def set_load(self, load_ohm: float) -> None:
        if load_ohm != self.load_ohm:
            self.bench.load.set_resistance(load_ohm)
            self.load_ohm = load_ohm
            self._pending_wait_s = max(self._pending_wait_s, 5.0 * self.ctx.reference.params.tau_s)

    # ------------------------------------------------------------------ timing
    def settle_time_s(self, step_a: float) -> float:
        """Time for the nominal module to come within the settle band after ``step_a``."""
        band = self.ctx.settings.settle_band_a
        if step_a <= band:
            return 0.0
        return self.ctx.reference.settling_time_s(band / step_a)

    def _source_reading_time_s(self) -> float:
        return self.ctx.settings.nplc / self.ctx.settings.line_frequency_hz

    # ------------------------------------------------------------------ measurement
    def _dmm_current_range(self, expected_a: float) -> None:
        ranges = self.bench.dmm.current_ranges_a
        wanted = next((r for r in ranges if abs(expected_a) <= r * RANGE_HEADROOM), ranges[-1])
        if wanted != self._dmm_range:
            self.bench.dmm.configure_dc_current(range_a=wanted, nplc=self.ctx.settings.nplc)
            self._dmm_range = wanted
            self._trigger_delay = None

    def measure_point(self, level_a: float) -> PointReading:
        """Set the input, wait for the module to settle (instrument-side), read out and in."""
        b = self.bench
        settings = self.ctx.settings
        settle = self.settle_time_s(abs(level_a - self.level_a)) + self._pending_wait_s
        b.source.set_current(level_a)
        self.level_a = level_a
        self._pending_wait_s = 0.0
        self._dmm_current_range(level_a)
        if self._trigger_delay is None or not math.isclose(settle, self._trigger_delay):
            b.dmm.set_trigger_delay(settle)
            self._trigger_delay = settle
        readings = b.dmm.read_many(settings.repeats)
        source = b.source.measure()
        self.ctx.lower_bound_s += (
            settle + settings.repeats * b.dmm.reading_time_s() + self._source_reading_time_s()
        )
        output = float(np.mean(readings))
        if math.isfinite(output) and math.isfinite(source.current_a):
            error_budget = budget(
                type_b("DMM output current", b.dmm.accuracy(output), output),
                type_b("source input-current read-back", source.current_accuracy, source.current_a),
                type_a("output repeatability", readings),
            )
        else:
            error_budget = budget()
        return PointReading(
            level_a, source.current_a, source.voltage_v, output, readings, error_budget, settle
        )
