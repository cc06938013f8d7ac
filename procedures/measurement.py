"""How a station measures the module's currents: one class per measurement topology.

``direct`` (docs/metrology.md 4.2, method M2): the source's own read-back is the input current and
the DMM in series measures the output current; two instruments on 100 mA ranges at 20 mA, so
the expanded uncertainty exceeds the +-20 uA tolerance (TUR < 1). The budget says so.

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
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from drivers.errors import InstrumentCommunicationError, InstrumentError, InstrumentRebooted
from drivers.roles import TriggeredReading, TriggerTiming
from procedures.plan import RunContext
from procedures.uncertainty import Budget, Component, NoisePool, budget, type_b

#: [E] DMM transfer between two nearly equal readings on one range (docs/metrology.md 4.2, M5)
TRANSFER_REL = 2e-6
#: [E] shunt temperature tracking between the two loops' shunts (docs/metrology.md 4.2, M5)
TRACKING_REL = 2e-6
#: the DMM range is chosen so the expected reading stays below this share of it
RANGE_HEADROOM = 0.95
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

    def _noise_key(self, quantity: str) -> tuple[str, float]:
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
        aperture = self.ctx.settings.nplc / self.ctx.settings.line_frequency_hz
        half = settle_band_a * min(1.0, tau / (max(readings, 1) * aperture))
        return Component(
            "residual settling", half / math.sqrt(3.0), "B rectangular", "settle band x tau / T"
        )

    def _account(self, seconds: float) -> None:
        self.ctx.lower_bound_s += seconds

    def _source_reading_time_s(self) -> float:
        return self.ctx.settings.nplc / self.ctx.settings.line_frequency_hz

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
    def load_voltage(self, expected_v: float) -> ScalarReading:
        """Voltage across the load (for the actual loop resistance, not the setpoint)."""

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
        self._account(settle_s + (samples + BASELINE_SAMPLES) * interval_s)
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
        self._account(float(np.sum(delays) + np.sum(waits)) + 2 * len(delays) * timing.aperture_s)
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

    def prepare(self) -> None:
        self._range = None
        self._trigger_delay = None

    def _dmm_range(self, expected_a: float) -> None:
        wanted = _range_for(self.bench.dmm.current_ranges_a, expected_a)
        if wanted != self._range:
            self.bench.dmm.configure_dc_current(range_a=wanted, nplc=self.ctx.settings.nplc)
            self._range, self._trigger_delay = wanted, None

    @checked
    def transfer(self, expected_a: float, settle_s: float) -> TransferReading:
        b, n = self.bench, self.ctx.settings.repeats
        self._dmm_range(expected_a)
        self._set_trigger_delay(settle_s)
        readings = b.dmm.read_many(n)
        source = b.source.measure()
        self._account(settle_s + n * b.dmm.reading_time_s() + self._source_reading_time_s())
        output = float(np.mean(readings))
        if math.isfinite(output) and math.isfinite(source.current_a):
            error_budget = budget(
                type_b("DMM output current", b.dmm.accuracy(output), output),
                type_b("source input-current read-back", source.current_accuracy, source.current_a),
                self.pooled("output noise", "output current", readings),
                self.settling_residual(self.ctx.settings.settle_band_a, n),
            )
        else:
            error_budget = budget()
        return TransferReading(
            source.current_a, source.voltage_v, output, readings, error_budget, source.current_a
        )

    @checked
    def output_current(self, expected_a: float, settle_s: float) -> ScalarReading:
        b = self.bench
        self._dmm_range(expected_a)
        self._set_trigger_delay(settle_s)
        readings = b.dmm.read_many(self.ctx.settings.repeats)
        self._account(settle_s + len(readings) * b.dmm.reading_time_s())
        value = float(np.mean(readings))
        return ScalarReading(
            value,
            budget(
                type_b("DMM output current", b.dmm.accuracy(value), value),
                self.pooled("output noise", "output current", readings),
            ),
            readings,
        )

    @checked
    def supply_current(self, settle_s: float) -> ScalarReading:
        b = self.bench
        # the supply has no instrument-side delay: the wait is a DMM reading interval [E]
        value = b.supply.measure_current()
        self._account(settle_s + 0.02)
        u = type_b("supply current read-back", b.supply.current_accuracy(value), value)
        return ScalarReading(value, budget(u), np.array([value]))

    @checked
    def load_voltage(self, expected_v: float) -> ScalarReading:
        value = self.bench.load.measure_voltage()
        self._account(0.02)
        # [E] EL34143A voltage read-back +-(0.05 % + 10 mV): data sheet not retrieved
        # (docs/metrology.md section 4.1)
        half = 0.0005 * abs(value) + 0.010
        return ScalarReading(
            value,
            budget(
                Component(
                    "load voltage read-back",
                    half / math.sqrt(3),
                    "B rectangular",
                    "[E] EL34143A read-back",
                )
            ),
            np.array([value]),
        )

    def _setup_capture(
        self, samples: int, interval_s: float, trigger: str, delay_s: float = 0.0
    ) -> float:
        b = self.bench
        b.dmm.configure_dc_current(
            range_a=_range_for(b.dmm.current_ranges_a, 0.02), nplc=0.001, autozero=False
        )
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
        self.ratio = ShuntRatio(
            1.0, math.sqrt(2.0) * wiring.shunt_tolerance / math.sqrt(3.0), calibrated=False
        )
        self._range: float | None = None
        self._channel: int | None = None

    # ------------------------------------------------------------------ meter set-up
    def prepare(self) -> None:
        self._range, self._channel, self._trigger_delay = None, None, None

    def _configure(self, range_v: float) -> None:
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
            )
            self._range, self._channel, self._trigger_delay = range_v, None, None

    def _read(self, channel: int, settle_s: float) -> np.ndarray:
        b = self.bench
        if channel != self._channel:
            b.dmm.select_channel(channel)
            self._channel = channel
        self._set_trigger_delay(settle_s)
        readings = b.dmm.read_many(self.ctx.settings.repeats)
        self._account(settle_s + len(readings) * b.dmm.reading_time_s())
        return readings

    def _range_for_current(self, current_a: float, shunt_ohm: float) -> float:
        return _range_for(self.bench.dmm.voltage_ranges_v, current_a * shunt_ohm)

    # ------------------------------------------------------------------ measurements
    @checked
    def transfer(self, expected_a: float, settle_s: float) -> TransferReading:
        w = self.wiring
        r_in = w.input_shunt_ohm
        self._configure(
            self._range_for_current(expected_a, max(w.input_shunt_ohm, w.output_shunt_ohm))
        )
        v_out = self._read(w.output_shunt_channel, settle_s)
        v_in = self._read(w.input_shunt_channel, 0.0)
        source = self.bench.source.measure()
        self._account(self._source_reading_time_s())
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
        ]
        return TransferReading(
            i_in, source.voltage_v, i_out, out_readings, budget(*components), source.current_a
        )

    @checked
    def output_current(self, expected_a: float, settle_s: float) -> ScalarReading:
        w = self.wiring
        self._configure(self._range_for_current(expected_a, w.output_shunt_ohm))
        volts = self._read(w.output_shunt_channel, settle_s)
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
                self.pooled("supply current noise", "supply shunt", readings),
            ),
            readings,
        )

    @checked
    def load_voltage(self, expected_v: float) -> ScalarReading:
        self._configure(_range_for(self.bench.dmm.voltage_ranges_v, expected_v))
        readings = self._read(self.wiring.load_channel, 0.0)
        value = float(np.mean(readings))
        return ScalarReading(
            value,
            budget(
                type_b("DMM load voltage", self.bench.dmm.accuracy(value), value),
                self.pooled("load voltage noise", "load voltage", readings),
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
        self, levels_a: tuple[float, ...] = (0.020, 0.004), pairs: int = 5
    ) -> list[tuple[float, float, float]]:
        """In-situ shunt ratio (docs/metrology.md 4.2): module bypassed, A-B-B-A readings.

        Returns (level, ratio, u) per level; the first level's ratio is used. The caller
        switches the bypass relay and the source.
        """
        w, b = self.wiring, self.bench
        results = []
        for level in levels_a:
            b.source.set_current(level)
            self._configure(
                self._range_for_current(level, max(w.input_shunt_ohm, w.output_shunt_ohm))
            )
            ratios = []
            input_key = self._noise_key("input shunt")
            for k in range(pairs):
                settle = 0.005 if k == 0 else 0.0
                readings = self._read(w.input_shunt_channel, settle)
                self.noise.add(input_key, readings)  # the source's current: the input's noise
                a1 = float(np.mean(readings))
                b1 = float(np.mean(self._read(w.output_shunt_channel, 0.0)))
                b2 = float(np.mean(self._read(w.output_shunt_channel, 0.0)))
                readings = self._read(w.input_shunt_channel, 0.0)
                self.noise.add(input_key, readings)
                a2 = float(np.mean(readings))
                ratios.append((b1 + b2) / (a1 + a2) * (w.input_shunt_ohm / w.output_shunt_ohm))
            ratio = float(np.mean(ratios))
            u = float(np.std(ratios, ddof=1) / math.sqrt(len(ratios))) if len(ratios) > 1 else 0.0
            results.append((level, ratio, u))
        level, ratio, u = results[0]
        # the spread between levels (voltage coefficient, self-heating) enters as a type B term
        spread = max(abs(r - ratio) for _, r, _ in results) if len(results) > 1 else 0.0
        parts = [
            Component("ABBA pairs", u, "A", dof=float(pairs - 1)),
            Component("level spread", spread / math.sqrt(3.0), "B rectangular"),
            Component("floor", 1e-6, "B"),
        ]
        ratio_budget = budget(*parts)
        self.ratio = ShuntRatio(ratio, ratio_budget.u, True, ratio_budget.dof)
        return results


def measurer_for(ctx: RunContext) -> Measurer:
    if ctx.settings.topology == "shunt-scan":
        return ShuntScanMeasurer(ctx)
    return DirectMeasurer(ctx)
