"""How a station measures the module's currents: one class per measurement topology.

``direct`` (docs/metrology.md 4.2, method M2): the source's own read-back is the input current and
the DMM in series measures the output current; two instruments on 100 mA ranges at 20 mA, so
on their specifications the expanded uncertainty exceeds the +-20 uA tolerance (TUR < 1). The
plans therefore start with an in-situ read-back calibration (module bypassed, method M2c,
``procedures.readback_calibration``) that puts the read-back on the DMM's scale at every level
the transfer points use; a point without a fresh correction keeps the specification budget.

``shunt-scan`` (docs/metrology.md 4.2, method M5): 4-wire shunts in the input, output and supply
loops, read by one DMM through a scanner. After an in-situ shunt-ratio calibration (module
bypassed, the same current through both shunts) the error
``e = (V_out / rho - V_in) / R_in,nominal`` no longer depends on the DMM's gain and offset or on
the shunts' absolute values: what remains is the calibrated ratio, the meter's transfer between
two nearly equal readings, shunt temperature tracking and noise.

Every reading's uncertainty budget is built here, per point and per range (GUM 4.2, 4.3.7, 5.1.2).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from drivers.errors import InstrumentCommunicationError, InstrumentError, InstrumentRebooted
from drivers.roles import TriggeredReading, TriggerTiming
from procedures.decision import coverage_factor
from procedures.lower_bound import readings_needed
from procedures.plan import RunContext
from procedures.readback_calibration import READINGS_PER_LEVEL, ReadbackCorrection
from procedures.uncertainty import Budget, Component, NoisePool, budget, type_b

#: [E] DMM transfer between two nearly equal readings on one range (docs/metrology.md 4.2, M5)
TRANSFER_REL = 2e-6
#: [E] shunt temperature tracking between the two loops' shunts (docs/metrology.md 4.2, M5)
TRACKING_REL = 2e-6
#: the DMM range is chosen so the expected reading stays below this share of it
RANGE_HEADROOM = 0.95
#: readings per point while a noise class has fewer pooled degrees of freedom than
#: ``POOL_MIN_DOF``: the first points build the pooled type A that later single readings use
#: (GUM 4.2.4; docs/metrology.md section 8)
POOL_READINGS = 2
POOL_MIN_DOF = 10
#: readings of the first point of a noise class without any estimate yet: one group that
#: gives the pool its first degrees of freedom at once (k near 2.4 instead of 12.7 at one)
POOL_SEED_READINGS = 8
#: the plan aims below this share of a point's target U (the pool's s is itself an estimate)
TARGET_MARGIN = 0.9
#: autozero stays off on a range only while the DMM's specified autozero-off zero error,
#: propagated to the transmission error, uses at most this share of the target U (k = 2);
#: otherwise every reading is zeroed (two integrations), as the target then needs
ZERO_SHARE = 0.25
#: the largest input current the plans apply (over-range top 24 mA, never above 30 mA): the
#: shunt-scan transfer range holds it
TRANSFER_RANGE_A = 0.025
#: digitised samples at the initial level just before a step capture (5 ms at 50 kS/s, about
#: three time constants: the dead time rests on this level, docs/metrology.md section 5.2)
BASELINE_SAMPLES = 250


@dataclass
class TransferReading:
    input_a: float
    input_v: float
    output_a: float
    output_readings: np.ndarray
    budget: Budget
    input_a_source: float  # the source's own read-back, kept as a cross-check
    settle_s: float = 0.0
    #: the electronic load's voltage read-back taken during the point (``load_voltage=True``)
    load_v: float | None = None
    #: the source's own reading of the point (input voltage and current, their accuracies)
    source: Any = None

    @property
    def error_a(self) -> float:
        return self.output_a - self.input_a


@dataclass
class StepCapture:
    """A captured step: aperture-centre times after the trigger, the output, a baseline.

    ``method`` says how it was taken: ``"digitised"`` (one trigger, a timed burst) or
    ``"equivalent-time"`` (one reading per repetition of the step at a stepped delay,
    docs/equivalent-time.md; ``timing`` is then what the DMM promises about those times).
    """

    t_s: np.ndarray
    output_a: np.ndarray
    baseline_a: np.ndarray
    method: str = "digitised"
    repeats: int = 1
    timing: TriggerTiming | None = None


@dataclass
class ScalarReading:
    value: float
    budget: Budget
    readings: np.ndarray


@dataclass
class ShuntRatio:
    """rho = R_out / R_in from the in-situ calibration, with its standard uncertainty."""

    ratio: float
    u: float
    calibrated: bool
    dof: float = math.inf


def _range_for(ranges: tuple[float, ...], value: float) -> float:
    return next((r for r in ranges if abs(value) <= r * RANGE_HEADROOM), ranges[-1])


F = TypeVar("F", bound=Callable[..., Any])


def checked(method: F) -> F:
    """A reading method whose result is only returned after the bench's health check.

    ``compliance_ok=True`` (keyword) tolerates a source in compliance for this reading.
    """

    @functools.wraps(method)
    def wrapper(self: Measurer, *args: Any, compliance_ok: bool = False, **kwargs: Any) -> Any:
        with self.healthy_reading(compliance_ok=compliance_ok):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Measurer(ABC):
    topology: str
    #: known resistance in the output loop besides the electronic load (fixture, shunts)
    series_output_ohm: float = 0.0

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.bench = ctx.bench
        self._trigger_delay: float | None = None
        #: the run's pooled type-A estimates, one per noise class (GUM 4.2.4)
        self.noise = NoisePool()
        #: root-sum-square of the last transfer point's components other than its noise, per
        #: DMM range: what the next point's readings cannot average away
        self._u_other: dict[float | None, float] = {}
        #: the present range runs with autozero off after one zero (``_zero_group``)
        self._zero_held = False
        #: ranges zeroed at least once this run (the bound's one zero per range)
        self._zeroed: set[tuple[str, float | None]] = set()
        self._zeroed_at = 0.0  # time.monotonic() of the held zero

    def _noise_key(self, quantity: str) -> tuple[str, float]:
        """A noise class: one quantity read one way (its integration). The DMM's range is not
        part of it: the module's own noise dominates the output readings on every range the
        plan uses (docs/metrology.md section 8; the coverage test checks the pooled U)."""
        return (quantity, self.ctx.settings.nplc)

    def pooled(
        self, name: str, quantity: str, readings: np.ndarray, scale: float = 1.0
    ) -> Component:
        """Pool ``readings`` into their noise class, then the type-A component of their mean."""
        key = self._noise_key(quantity)
        self.noise.add(key, readings)
        return self.noise.component(name, key, len(readings), scale)

    def settling_residual(self, settle_band_a: float, readings: int) -> Component:
        """Residual settling after the wait, averaged over the readings' integration.

        The wait leaves at most ``settle_band_a`` of the step, decaying with the module's time
        constant while the meter integrates over ``readings`` apertures T: the mean residual is
        at most ``band tau / (n T)`` (first-order response, docs/metrology.md 4.3), taken as a
        rectangular half-width (GUM 4.3.7).
        """
        tau = self.ctx.dynamics.params.tau_s + self.ctx.dynamics.params.tau2_s
        half = settle_band_a * min(1.0, tau / (max(readings, 1) * self.aperture_s))
        return Component(
            "residual settling", half / math.sqrt(3.0), "B rectangular", "settle band x tau / T"
        )

    @property
    def aperture_s(self) -> float:
        """One reading's integration: ``nplc`` power-line cycles (line-frequency rejection)."""
        return self.ctx.settings.nplc / self.ctx.settings.line_frequency_hz

    # ------------------------------------------------------------------ the plan at the physics
    def repeats_for(
        self,
        classes: tuple[tuple[Any, float], ...],
        target_u: float | None,
        u_other: float,
    ) -> tuple[int, int]:
        """Readings per quantity for one point: (what the plan takes, what physics needs).

        ``classes`` are the noise classes the point reads, each with its sensitivity to the
        measurand; ``s`` of one reading of the measurand is their root-sum-square. The need is
        ``readings_needed`` (procedures.lower_bound) with k = 1.96 and the pool's s, except
        while the pool is young: the readings that give the type A its first
        ``POOL_MIN_DOF`` degrees of freedom are needed by every later point's U; the plan
        takes ``POOL_SEED_READINGS`` for a class without an estimate, ``POOL_READINGS`` while
        any class has fewer than ``POOL_MIN_DOF`` pooled degrees of freedom, else the readings
        that meet ``TARGET_MARGIN`` x the target with the coverage factor of the pool's degrees
        of freedom (GUM G.4.1 with the pooled type A). docs/metrology.md section 8.
        """
        dof = min((self.noise.dof(key) for key, _ in classes), default=0)
        s = math.sqrt(math.fsum((scale * self.noise.s(key)) ** 2 for key, scale in classes))
        if dof < 1 or not math.isfinite(s):
            return POOL_SEED_READINGS, POOL_SEED_READINGS
        need = readings_needed(target_u, 1.96, u_other, s)
        if dof < POOL_MIN_DOF:
            n = max(POOL_READINGS, need)
            return n, n
        k = coverage_factor(float(dof))
        target = None if target_u is None else TARGET_MARGIN * target_u
        return readings_needed(target, k, u_other, s), need

    def young(self, *keys: Any) -> bool:
        """A noise class still building its pooled estimate (< ``POOL_MIN_DOF``)."""
        return any(self.noise.dof(key) < POOL_MIN_DOF for key in keys)

    def _remember_u_other(self, key: float | None, point_budget: Budget) -> None:
        other = [c.u for c in point_budget.components if not c.kind.startswith("A pooled")]
        self._u_other[key] = math.sqrt(math.fsum(u * u for u in other))

    #: sensitivity of the transmission error to the DMM's zero on the transfer's range
    zero_sensitivity: float = 1.0

    def _zero_group(self) -> None:
        """A new range group was configured with autozero on: zero once and hold it (one
        integration per reading instead of two) where the DMM's specified autozero-off error
        stays within ``ZERO_SHARE`` of the transmission error's target U; else keep autozero
        on. docs/metrology.md section 8."""
        dmm = self.bench.dmm
        self._zero_held = False
        target = self.ctx.profile["transmission_error"].expanded_uncertainty_target
        u_zero = abs(self.zero_sensitivity) * float(dmm.autozero_off_error()) / math.sqrt(3.0)
        if target is not None and 2.0 * u_zero > ZERO_SHARE * target:
            return
        dmm.autozero_once()
        self._zero_held, self._zeroed_at = True, time.monotonic()
        # physics: every range the run reads on needs its zero measured once (one
        # integration); zeroing it again when the plan comes back to it is the plan's cost
        key = (type(self).__name__, self._range)
        if key not in self._zeroed:
            self._zeroed.add(key)
            self.ctx.bound.add("zero", self.aperture_s)

    def _keep_zero_valid(self) -> None:
        """Zero the present range again once the held zero is older than the manual's
        window (``Dmm.autozero_hold_s``): a paused or very long run stays inside the figure
        its budget uses."""
        dmm = self.bench.dmm
        if self._zero_held and time.monotonic() - self._zeroed_at > dmm.autozero_hold_s():
            dmm.autozero_once()
            self._zeroed_at = time.monotonic()

    @property
    def integration_per_reading_s(self) -> float:
        """What one reading integrates: the signal, and its own zero with autozero on."""
        return self.aperture_s * (1.0 if self._zero_held else 2.0)

    def zero_drift(self, name: str, sensitivity: float, note: str = "") -> Component:
        """The DMM's additional zero error with autozero off after one zero, within the
        manual's window (rectangular, GUM 4.3.7; docs/metrology.md section 4.1); nothing with
        autozero on."""
        if not self._zero_held:
            return Component(name, 0.0, "B rectangular", "autozero on at every reading")
        return Component(
            name,
            abs(sensitivity) * float(self.bench.dmm.autozero_off_error()) / math.sqrt(3.0),
            "B rectangular",
            "autozero off after one zero: the DMM's specification" + note,
        )

    def _overlapped(self, count: int, *parallel: Callable[[], Any]) -> tuple[np.ndarray, list]:
        """``count`` DMM readings with ``parallel`` work on other instruments done while the
        DMM integrates (``start_readings``/``fetch_readings``); one ``read_many`` without."""
        dmm = self.bench.dmm
        if not parallel:
            return dmm.read_many(count), []
        dmm.start_readings(count)
        results = [work() for work in parallel]
        return np.asarray(dmm.fetch_readings(), dtype=float), results

    def _set_trigger_delay(self, seconds: float) -> None:
        if self._trigger_delay is None or not math.isclose(seconds, self._trigger_delay):
            self.bench.dmm.set_trigger_delay(seconds)
            self._trigger_delay = seconds

    # ------------------------------------------------------------------ health
    def check_health(self, *, compliance_ok: bool = False) -> None:
        """The bench's health check (one query per instrument): a reboot, a queued error, a
        tripped supply or a source in compliance raises before a reading is judged."""
        check = getattr(self.bench, "check_health", None)
        if check is not None:
            check(compliance_ok=compliance_ok)

    @contextlib.contextmanager
    def healthy_reading(self, *, compliance_ok: bool = False) -> Iterator[None]:
        """Run a reading, then the health check; a reading that failed because an instrument
        rebooted under it is reported as the reboot (the root cause)."""
        try:
            yield
        except InstrumentError as exc:
            if not isinstance(exc, InstrumentCommunicationError):
                try:
                    self.check_health(compliance_ok=True)
                except InstrumentRebooted as cause:
                    raise cause from exc
                except InstrumentError:
                    pass  # the reading's own error says more
            raise
        self.check_health(compliance_ok=compliance_ok)

    @abstractmethod
    def prepare(self) -> None:
        """Configure the meter for static readings (after power-up or a capture)."""

    @abstractmethod
    def transfer(self, expected_a: float, settle_s: float) -> TransferReading:
        """Input and output current now that the source is set; settle first (meter-side).

        Every reading method of a measurer is ``@checked``: it returns only after the bench's
        health check passed (``compliance_ok=True`` tolerates a source in compliance).
        """

    @abstractmethod
    def output_current(self, expected_a: float, settle_s: float) -> ScalarReading:
        """The output current alone (e.g. with the source switched off)."""

    @abstractmethod
    def supply_current(self, settle_s: float) -> ScalarReading: ...

    @abstractmethod
    def _setup_capture(
        self, samples: int, interval_s: float, trigger: str, delay_s: float = 0.0
    ) -> float:
        """Configure the digitiser on the output; return the factor to amperes."""

    @checked
    def capture_output(
        self, samples: int, interval_s: float, step: Callable[[], None], settle_s: float = 0.0
    ) -> StepCapture:
        """Output current record triggered by ``step`` (which steps the input and fires the
        source's trigger output), with a short baseline of the same digitiser just before.

        ``t_s`` is each sample's aperture centre after the trigger (the DMM's
        ``capture_times_s``); the baseline fixes the initial level on the digitiser's own
        scale, which the dead time needs (see ``procedures.step_analysis.fit_step``). It is
        taken ``settle_s`` after the call (the module settling at the initial level).
        """
        dmm = self.bench.dmm
        scale = self._setup_capture(BASELINE_SAMPLES, interval_s, "immediate", settle_s)
        dmm.arm()
        baseline = dmm.fetch() * scale
        scale = self._setup_capture(samples, interval_s, "external")
        times = dmm.capture_times_s()
        dmm.arm()
        step()
        data = dmm.fetch() * scale
        self.ctx.bound.add("settling", settle_s)
        self.ctx.bound.add("capture", (samples + BASELINE_SAMPLES) * interval_s)
        self.prepare()
        return StepCapture(times, data, baseline)

    @abstractmethod
    def _setup_triggered(self, dmm: TriggeredReading) -> float:
        """Configure the DMM for short triggered readings of the output (its fastest
        integration, fixed range, autozero off); return the factor to amperes."""

    @checked
    def capture_output_equivalent_time(
        self,
        delays_s: np.ndarray,
        restore: Callable[[], None],
        step: Callable[[], None],
        settle_s: float,
        *,
        first_settle_s: float | None = None,
        seed: int = 0,
    ) -> StepCapture:
        """Equivalent-time capture of the step ``step`` fires (docs/equivalent-time.md).

        Per delay ``d``: ``restore`` puts the input back at the initial level; one immediate
        reading ``settle_s`` later (``first_settle_s`` for the first repetition, e.g. after
        power-up) is that repetition's baseline and its settling wait;
        then the DMM is armed for one reading ``d`` after the source's trigger pulse and
        ``step`` steps the input and fires it. The delays run in a shuffled order, so a slow
        drift of the bench turns into scatter the fit sees instead of a distorted shape.
        ``t_s`` are the aperture centres after the trigger, sorted.
        """
        dmm = self.bench.dmm
        delays = np.asarray(delays_s, dtype=float)
        scale = self._setup_triggered(dmm)
        order = np.random.default_rng(seed).permutation(len(delays))
        times = np.empty(len(delays))
        values = np.empty(len(delays))
        baseline = np.empty(len(delays))
        waits = np.full(len(delays), settle_s)
        waits[0] = settle_s if first_settle_s is None else max(first_settle_s, settle_s)
        for k, wait in zip(order, waits, strict=True):
            restore()
            dmm.configure_triggered_reading(trigger="immediate", delay_s=float(wait))
            dmm.arm()
            baseline[k] = float(dmm.fetch()[0]) * scale
            dmm.configure_triggered_reading(trigger="external", delay_s=float(delays[k]))
            times[k] = dmm.triggered_time_s()
            dmm.arm()
            step()
            values[k] = float(dmm.fetch()[0]) * scale
        timing = dmm.trigger_timing()
        self.ctx.bound.add("settling", float(np.sum(waits)))
        self.ctx.bound.add("capture", float(np.sum(delays)) + 2 * len(delays) * timing.aperture_s)
        self.prepare()
        index = np.argsort(times, kind="stable")
        return StepCapture(
            times[index],
            values[index],
            baseline[index],
            method="equivalent-time",
            repeats=len(delays),
            timing=timing,
        )


class DirectMeasurer(Measurer):
    topology = "direct"

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self._range: float | None = None
        #: in-situ read-back corrections by level (``calibrate_readback``)
        self.readback: list[ReadbackCorrection] = []

    def prepare(self) -> None:
        self._range = None
        self._trigger_delay = None

    def _dmm_range(self, expected_a: float) -> None:
        """Range for ``expected_a``; a new range is one group: configured, then zeroed once."""
        wanted = _range_for(self.bench.dmm.current_ranges_a, expected_a)
        if wanted != self._range:
            self.bench.dmm.configure_dc_current(
                range_a=wanted, nplc=self.ctx.settings.nplc, autozero=True
            )
            self._range, self._trigger_delay = wanted, None
            self._zero_group()
        else:
            self._keep_zero_valid()

    def peek_output(self, expected_a: float) -> float:
        """One output reading, nothing pooled or judged (the start-up detection)."""
        self._dmm_range(expected_a)
        self._set_trigger_delay(0.0)
        return float(self.bench.dmm.read_many(1)[0])

    @checked
    def transfer(
        self,
        expected_a: float,
        settle_s: float,
        *,
        target_u: float | None = None,
        load_voltage: bool = False,
    ) -> TransferReading:
        """Output on the DMM while the source reads back the input (and the load its voltage):
        the instruments integrate in parallel (docs/metrology.md section 8)."""
        b = self.bench
        self._dmm_range(expected_a)
        n, need = self.repeats_for(
            ((self._noise_key("output current"), 1.0),),
            target_u,
            self._u_other.get(self._range, 0.0),
        )
        self._set_trigger_delay(settle_s)
        work = [b.source.measure] + ([b.load.measure_voltage] if load_voltage else [])
        readings, results = self._overlapped(n, *work)
        source = results[0]
        self.ctx.bound.point(settle_s, need, self.integration_per_reading_s)
        output = float(np.mean(readings))
        input_a, instruments = self._input_current(expected_a, output, source)
        if math.isfinite(output) and math.isfinite(source.current_a):
            error_budget = budget(
                *instruments,
                self.zero_drift("DMM zero drift (autozero off)", 1.0),
                self.pooled("output noise", "output current", readings),
                self.settling_residual(self.ctx.settings.settle_band_a, n),
            )
            self._remember_u_other(self._range, error_budget)
        else:
            error_budget = budget()
        return TransferReading(
            input_a,
            source.voltage_v,
            output,
            readings,
            error_budget,
            source.current_a,
            load_v=float(results[1]) if load_voltage else None,
            source=source,
        )

    def _input_current(
        self, expected_a: float, output_a: float, source: Any
    ) -> tuple[float, tuple[Component, ...]]:
        """The input current and the instruments' components of the point's budget.

        With a read-back calibration at this level on the same DMM and source ranges
        (``procedures.readback_calibration``) the read-back is put on the DMM's scale and the
        instruments' absolute specifications drop out; otherwise both specifications enter.
        """
        dmm = self.bench.dmm
        source_range = source.current_accuracy.range
        for cal in self.readback:
            now = time.monotonic()
            if self._range is not None and cal.applies(expected_a, self._range, source_range, now):
                input_a = source.current_a + cal.correction_a
                noise = self.noise.component(
                    "source read-back noise", self._readback_key(source_range), 1
                )
                return input_a, (
                    *cal.components(output_a, output_a - input_a, dmm.accuracy(output_a)),
                    noise,
                )
        return source.current_a, (
            type_b("DMM output current", dmm.accuracy(output_a), output_a),
            type_b("source input-current read-back", source.current_accuracy, source.current_a),
        )

    def _readback_key(self, source_range_a: float) -> tuple[str, float, float]:
        return ("source read-back", self.ctx.settings.nplc, source_range_a)

    @checked
    def calibrate_readback(
        self, levels_a: tuple[float, ...], readings: int = READINGS_PER_LEVEL
    ) -> list[ReadbackCorrection]:
        """Module bypassed (the caller switches the relay and the source): at each level the
        DMM and the source's read-back see the same current; ``c_L = mean(DMM) - mean(source)``.

        The type A of each correction uses the run's pooled standard deviations of both
        instruments per range (GUM 4.2.4) and Welch-Satterthwaite for its dof (GUM G.4.1);
        see ``procedures.readback_calibration`` and docs/metrology.md 4.2.
        """
        b = self.bench
        settle_s = 0.005  # [E] the 2450's current source settles within its source delay
        raw = []
        for level in levels_a:
            b.source.set_current(level)
            self._dmm_range(level)
            self._set_trigger_delay(settle_s)
            dmm, sources = self._overlapped(
                readings, *([b.source.measure] * readings)
            )  # both instruments integrate at once
            # physics: one integration of both at once per level after the source settled
            # (every reading while the two noise classes build their pooled estimates)
            dmm_key = ("bypass DMM", self.ctx.settings.nplc, self._range)
            readback_key = self._readback_key(sources[0].current_accuracy.range)
            young = self.young(dmm_key, readback_key)
            self.ctx.bound.point(settle_s, readings if young else 1, self.integration_per_reading_s)
            src = np.array([s.current_a for s in sources])
            source_range = sources[0].current_accuracy.range
            self.noise.add(dmm_key, dmm)
            self.noise.add(self._readback_key(source_range), src)
            raw.append(
                (
                    level,
                    float(np.mean(dmm)) - float(np.mean(src)),
                    self._range,
                    sources[0].current_accuracy,
                    b.dmm.accuracy(float(np.mean(dmm))),
                    dmm_key,
                    source_range,
                )
            )
        self.readback, now = [], time.monotonic()
        for level, correction, dmm_range, src_acc, dmm_acc, dmm_key, source_range in raw:
            parts = [
                self.noise.component("DMM", dmm_key, readings),
                self.noise.component("read-back", self._readback_key(source_range), readings),
            ]
            part_budget = budget(*parts)
            self.readback.append(
                ReadbackCorrection(
                    level,
                    correction,
                    part_budget.u,
                    part_budget.dof,
                    float(dmm_range or 0.0),
                    source_range,
                    src_acc,
                    dmm_acc,
                    now,
                )
            )
        return self.readback

    @checked
    def output_current(self, expected_a: float, settle_s: float) -> ScalarReading:
        b = self.bench
        self._dmm_range(expected_a)
        self._set_trigger_delay(settle_s)
        readings = b.dmm.read_many(POOL_READINGS)
        young = self.young(self._noise_key("output current"))
        self.ctx.bound.point(
            settle_s, len(readings) if young else 1, self.integration_per_reading_s
        )
        value = float(np.mean(readings))
        return ScalarReading(
            value,
            budget(
                type_b("DMM output current", b.dmm.accuracy(value), value),
                self.zero_drift("DMM zero drift (autozero off)", 1.0),
                self.pooled("output noise", "output current", readings),
            ),
            readings,
        )

    @checked
    def supply_current(self, settle_s: float) -> ScalarReading:
        """The supply's own current read-back once the module settled. The supply has no
        instrument-side delay, so the DMM's trigger delay makes the wait (an output reading
        on the present range, not used), as for every other reading of the plan: the
        read-back is never taken while the module still settles."""
        b = self.bench
        if settle_s > 0.0:
            if self._range is None:
                self._dmm_range(max(b.dmm.current_ranges_a))
            self._set_trigger_delay(settle_s)
            b.dmm.read_many(1)
        value = b.supply.measure_current()
        self.ctx.bound.point(settle_s, 1, self.aperture_s)
        u = type_b("supply current read-back", b.supply.current_accuracy(value), value)
        return ScalarReading(value, budget(u), np.array([value]))

    def _setup_capture(
        self, samples: int, interval_s: float, trigger: str, delay_s: float = 0.0
    ) -> float:
        b = self.bench
        b.dmm.configure_dc_current(
            range_a=_range_for(b.dmm.current_ranges_a, 0.02), nplc=0.001, autozero=False
        )
        self._range = None  # the static settings (and their zero) are configured anew after
        b.dmm.configure_capture(
            samples=samples, interval_s=interval_s, trigger=trigger, delay_s=delay_s
        )
        return 1.0

    def _setup_triggered(self, dmm: TriggeredReading) -> float:
        dmm.configure_dc_current(  # type: ignore[attr-defined]
            range_a=_range_for(self.bench.dmm.current_ranges_a, 0.02),
            nplc=dmm.fastest_nplc,
            autozero=False,
        )
        self._range = None
        return 1.0


class ShuntScanMeasurer(Measurer):
    topology = "shunt-scan"

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        wiring = ctx.settings.wiring
        self.wiring = wiring
        self.series_output_ohm = wiring.output_shunt_ohm
        # one zero for both shunts: it enters e only through the shunts' mismatch 1/rho - 1
        # (at most twice their tolerance before the ratio calibration)
        self.zero_sensitivity = 2.0 * wiring.shunt_tolerance / wiring.input_shunt_ohm
        self.ratio = ShuntRatio(
            1.0, math.sqrt(2.0) * wiring.shunt_tolerance / math.sqrt(3.0), calibrated=False
        )
        self._range: float | None = None
        self._channel: int | None = None

    # ------------------------------------------------------------------ meter set-up
    def prepare(self) -> None:
        self._range, self._channel, self._trigger_delay = None, None, None

    def _configure(self, range_v: float) -> None:
        """A new range is one group: every channel configured, then the DMM zeroed once."""
        if range_v != self._range:
            w = self.wiring
            self.bench.dmm.configure_channels(
                [
                    w.input_shunt_channel,
                    w.output_shunt_channel,
                    w.supply_shunt_channel,
                    w.load_channel,
                ],
                range_v=range_v,
                nplc=self.ctx.settings.nplc,
                autozero=True,
            )
            self._range, self._channel, self._trigger_delay = range_v, None, None
            self._zero_group()
        else:
            self._keep_zero_valid()

    def _select(self, channel: int) -> None:
        if channel != self._channel:
            self.bench.dmm.select_channel(channel)
            self._channel = channel

    def _read(self, channel: int, settle_s: float, count: int = POOL_READINGS) -> np.ndarray:
        """``count`` readings of ``channel`` after ``settle_s`` (the bound is the caller's)."""
        self._select(channel)
        self._set_trigger_delay(settle_s)
        return self.bench.dmm.read_many(count)

    def peek_output(self, expected_a: float) -> float:
        """One output reading in amperes, nothing pooled or judged (start-up detection)."""
        w = self.wiring
        self._configure(self._transfer_range())
        volts = self._read(w.output_shunt_channel, 0.0, 1)
        return float(volts[0]) / (self.ratio.ratio * w.input_shunt_ohm)

    def _range_for_current(self, current_a: float, shunt_ohm: float) -> float:
        return _range_for(self.bench.dmm.voltage_ranges_v, current_a * shunt_ohm)

    def _transfer_range(self) -> float:
        """One DMM range for every transfer reading and the ratio calibration: the one the
        largest input the plan applies needs. The ratio is calibrated on the range it is used
        on, and the run zeroes that range once; the module's own noise dominates the output
        readings on it even at 0.2 mA (docs/metrology.md section 8)."""
        w = self.wiring
        return self._range_for_current(TRANSFER_RANGE_A, max(w.input_shunt_ohm, w.output_shunt_ohm))

    # ------------------------------------------------------------------ measurements
    @checked
    def transfer(
        self,
        expected_a: float,
        settle_s: float,
        *,
        target_u: float | None = None,
        load_voltage: bool = False,
    ) -> TransferReading:
        """Output shunt, then input shunt on the one DMM; the source's read-back (and the
        load's voltage) taken while the DMM integrates the output (docs/metrology.md 8)."""
        w, b = self.wiring, self.bench
        r_in = w.input_shunt_ohm
        self._configure(self._transfer_range())
        n, need = self.repeats_for(
            (
                (self._noise_key("output shunt"), 1.0),
                (self._noise_key("input shunt"), 1.0 / r_in),
            ),
            target_u,
            self._u_other.get(self._range, 0.0),
        )
        # the shunt the scanner already has closed first (one relay operation per point): the
        # settling wait precedes it, the source's (and load's) read-back runs meanwhile
        first, second = w.output_shunt_channel, w.input_shunt_channel
        if self._channel == second:
            first, second = second, first
        self._select(first)
        self._set_trigger_delay(settle_s)
        v_first, (source,) = self._overlapped(n, b.source.measure)
        self._select(second)
        self._set_trigger_delay(0.0)
        load_work = [b.load.measure_voltage] if load_voltage else []
        v_second, results = self._overlapped(n, *load_work)
        v_out, v_in = (
            (v_first, v_second) if first == w.output_shunt_channel else (v_second, v_first)
        )
        self.ctx.bound.point(settle_s, need, self.integration_per_reading_s, meters=2)
        i_in = float(np.mean(v_in)) / r_in
        out_readings = v_out / (self.ratio.ratio * r_in)
        i_out = float(np.mean(out_readings))
        rel = math.hypot(TRANSFER_REL, TRACKING_REL)
        components = [
            Component(
                "shunt ratio calibration",
                abs(i_out) * self.ratio.u,
                "A/B combined" if self.ratio.calibrated else "B rectangular",
                "in-situ ratio calibration"
                if self.ratio.calibrated
                else f"uncalibrated: shunt tolerance {w.shunt_tolerance:g}",
                dof=self.ratio.dof,
            ),
            Component(
                "DMM transfer and shunt tracking",
                abs(i_out) * rel / math.sqrt(3.0),
                "B rectangular",
                "[E] docs/metrology.md 4.2 M5",
            ),
            self.pooled("output noise", "output shunt", out_readings),
            self.pooled("input noise", "input shunt", v_in, scale=1.0 / r_in),
            self.settling_residual(self.ctx.settings.settle_band_a, len(out_readings)),
            # the absolute shunt value scales only the error itself
            Component(
                "input shunt value (scales e)",
                0.0,
                "B rectangular",
                f"{w.shunt_tolerance:g} x |e|, negligible",
            ),
            # one zero for both channels: it enters e = V_out / (rho R) - V_in / R only
            # through (1 / rho - 1)
            self.zero_drift(
                "DMM zero drift (autozero off)",
                (1.0 / self.ratio.ratio - 1.0) / r_in,
                ": common to both shunts, enters through 1/rho - 1",
            ),
        ]
        point_budget = budget(*components)
        self._remember_u_other(self._range, point_budget)
        return TransferReading(
            i_in,
            source.voltage_v,
            i_out,
            out_readings,
            point_budget,
            source.current_a,
            load_v=float(results[0]) if load_voltage else None,
            source=source,
        )

    @checked
    def output_current(self, expected_a: float, settle_s: float) -> ScalarReading:
        w = self.wiring
        self._configure(self._range_for_current(expected_a, w.output_shunt_ohm))
        young = self.young(self._noise_key("output shunt"))
        volts = self._read(w.output_shunt_channel, settle_s, POOL_READINGS if young else 1)
        self.ctx.bound.point(settle_s, len(volts) if young else 1, self.integration_per_reading_s)
        readings = volts / (self.ratio.ratio * w.input_shunt_ohm)
        value = float(np.mean(readings))
        accuracy = self.bench.dmm.accuracy(float(np.mean(volts)))
        return ScalarReading(
            value,
            budget(
                type_b(
                    "DMM voltage across the output shunt",
                    accuracy,
                    float(np.mean(volts)),
                    sensitivity=1.0 / w.output_shunt_ohm,
                ),
                Component(
                    "output shunt tolerance",
                    abs(value) * w.shunt_tolerance / math.sqrt(3.0),
                    "B rectangular",
                    f"shunt tolerance {w.shunt_tolerance:g}",
                ),
                self.zero_drift("DMM zero drift (autozero off)", 1.0 / w.output_shunt_ohm),
                self.pooled("output noise", "output shunt", readings),
            ),
            readings,
        )

    @checked
    def supply_current(self, settle_s: float) -> ScalarReading:
        w = self.wiring
        expected = 0.03
        self._configure(self._range_for_current(expected, w.supply_shunt_ohm))
        readings = self._read(w.supply_shunt_channel, settle_s) / w.supply_shunt_ohm
        young = self.young(self._noise_key("supply shunt"))
        self.ctx.bound.point(
            settle_s, len(readings) if young else 1, self.integration_per_reading_s
        )
        value = float(np.mean(readings))
        accuracy = self.bench.dmm.accuracy(value * w.supply_shunt_ohm)
        return ScalarReading(
            value,
            budget(
                type_b(
                    "DMM voltage across the supply shunt",
                    accuracy,
                    value * w.supply_shunt_ohm,
                    sensitivity=1.0 / w.supply_shunt_ohm,
                ),
                Component(
                    "supply shunt tolerance",
                    abs(value) * w.shunt_tolerance / math.sqrt(3.0),
                    "B rectangular",
                    f"shunt tolerance {w.shunt_tolerance:g}",
                ),
                self.zero_drift("DMM zero drift (autozero off)", 1.0 / w.supply_shunt_ohm),
                self.pooled("supply current noise", "supply shunt", readings),
            ),
            readings,
        )

    def _setup_capture(
        self, samples: int, interval_s: float, trigger: str, delay_s: float = 0.0
    ) -> float:
        b, w = self.bench, self.wiring
        range_v = self._range_for_current(0.02, w.output_shunt_ohm)
        if self._channel != w.output_shunt_channel:
            b.dmm.select_channel(w.output_shunt_channel)
            self._channel = w.output_shunt_channel
        b.dmm.configure_capture(
            samples=samples,
            interval_s=interval_s,
            trigger=trigger,
            delay_s=delay_s,
            range_v=range_v,
        )
        return 1.0 / (self.ratio.ratio * w.input_shunt_ohm)

    def _setup_triggered(self, dmm: TriggeredReading) -> float:
        w = self.wiring
        if self._channel != w.output_shunt_channel:
            self.bench.dmm.select_channel(w.output_shunt_channel)
            self._channel = w.output_shunt_channel
        self.bench.dmm.configure_channels(
            [w.output_shunt_channel],
            range_v=self._range_for_current(0.02, w.output_shunt_ohm),
            nplc=dmm.fastest_nplc,
            autozero=False,
        )
        self._range = None
        return 1.0 / (self.ratio.ratio * w.input_shunt_ohm)

    # ------------------------------------------------------------------ ratio calibration
    @checked
    def calibrate_ratio(
        self, levels_a: tuple[float, ...] = (0.020, 0.004), readings: int = POOL_READINGS
    ) -> list[tuple[float, float, float]]:
        """In-situ shunt ratio (docs/metrology.md 4.2): module bypassed, A-B-B-A per level.

        One A-B-B-A sequence of ``readings`` readings each per level cancels a linear drift;
        the ratio's type A comes from the run's pooled noise of both shunts (GUM 4.2.4) rather
        than from the scatter of a few A-B-B-A pairs:
        ``u(rho)/rho = sqrt(s_in^2 / (2 n V_in^2) + s_out^2 / (2 n V_out^2))`` for 2n readings
        of each shunt, with the pooled degrees of freedom (Welch-Satterthwaite over both).
        Returns (level, ratio, u) per level; the first level's ratio is used. The caller
        switches the bypass relay and the source.
        """
        w, b = self.wiring, self.bench
        results = []
        settle_s = 0.005  # [E] the source settles within its source delay
        for level in levels_a:
            b.source.set_current(level)
            self._configure(self._transfer_range())
            input_key = self._noise_key("input shunt")
            output_key = self._noise_key("bypass output shunt")
            a1 = self._read(w.input_shunt_channel, settle_s, readings)
            b1 = self._read(w.output_shunt_channel, 0.0, readings)
            b2 = self._read(w.output_shunt_channel, 0.0, readings)
            a2 = self._read(w.input_shunt_channel, 0.0, readings)
            # physics: the source settles, then one integration of each shunt, twice (A-B-B-A);
            # every reading while the shunts' noise classes build their pooled estimates
            young = self.young(input_key, output_key)
            self.ctx.bound.point(
                settle_s, 2 * readings if young else 2, self.integration_per_reading_s, meters=2
            )
            for group in (a1, a2):
                self.noise.add(input_key, group)
            for group in (b1, b2):
                self.noise.add(output_key, group)
            v_in = float(np.mean(np.concatenate([a1, a2])))
            v_out = float(np.mean(np.concatenate([b1, b2])))
            ratio = v_out / v_in * (w.input_shunt_ohm / w.output_shunt_ohm)
            results.append((level, ratio, v_in, v_out, input_key, output_key))
        level, ratio, v_in, v_out, input_key, output_key = results[0]
        n = 2 * readings
        parts = [
            self.noise.component("ABBA input shunt", input_key, n, ratio / v_in),
            self.noise.component("ABBA output shunt", output_key, n, ratio / v_out),
        ]
        # the spread between levels (voltage coefficient, self-heating) enters as a type B term
        spread = max(abs(r[1] - ratio) for r in results) if len(results) > 1 else 0.0
        parts += [
            Component("level spread", spread / math.sqrt(3.0), "B rectangular"),
            Component("floor", 1e-6, "B"),
        ]
        ratio_budget = budget(*parts)
        self.ratio = ShuntRatio(ratio, ratio_budget.u, True, ratio_budget.dof)
        out = []
        for lvl, r, vi, vo, in_key, out_key in results:
            u = math.hypot(
                self.noise.component("", in_key, n, r / vi).u,
                self.noise.component("", out_key, n, r / vo).u,
            )
            out.append((lvl, r, u))
        return out


def measurer_for(ctx: RunContext) -> Measurer:
    if ctx.settings.topology == "shunt-scan":
        return ShuntScanMeasurer(ctx)
    return DirectMeasurer(ctx)
