"""Step response: 2 -> 18 mA and 18 -> 2 mA, digitised on the source's trigger output.

Model-free characteristics (IEC 61298-2 terms, docs/metrology.md section 5): t10, t90, rise
time, settling time to +-0.1 % of the upper-range value, overshoot. A least-squares fit of the
reference model (first order, second real pole or resonant second-order stage, dead time;
whichever the record supports) gives the time constant, the dead time and the limit frequency
f_c = the -3 dB frequency of the fitted transfer function, judged against the datasheet's
100 Hz with its uncertainty from the fit's full (autocorrelation-consistent) covariance. Each
sample is placed at the centre of its aperture. The captured waveform is compared with the
nominal model's prediction (RMS residual). The fitted dynamics then set every later settling
wait, so a slow unit fails here and only here instead of spoiling static readings.

Runs early in the plan for that reason. The source's step and its trigger pulse go out in one
message; any latency between them is part of the reported dead time.

A DMM without a digitiser of at least 20 kS/s captures the step by equivalent-time sampling
(docs/equivalent-time.md): the step is repeated once per delay of ``ET_DELAYS_S`` and the DMM
takes one short reading that long after the trigger pulse. The fit then treats the samples as
independent (each from its own repetition), and the budget of ``f_c`` adds the aperture's
attenuation and the delay timer; the record says how the step was captured.
"""

from __future__ import annotations

import math

import numpy as np

from drivers import capabilities as cap
from drivers.capabilities import AnyOf, Need
from procedures.measurement import StepCapture
from procedures.model import ModuleModel
from procedures.plan import POWERED_POINT, RunContext, Step
from procedures.step_analysis import analyse_step, fit_step, predicted_step, rms_residual
from procedures.steps.common import record_value
from procedures.uncertainty import Component, budget

SAMPLE_INTERVAL_S = 20e-6  # 50 kS/s (>= 20 kS/s required)
#: the slowest digitiser that resolves the 3.5 ms rise: 20 kS/s (70 samples in the rise)
MIN_DIGITISER_RATE_HZ = 20e3
#: equivalent-time delays after the trigger: 0.1 ms steps over the rise and settling (six
#: nominal time constants and more), then 1.5 ms steps to the end of the record for the
#: final level; 181 repetitions per step direction (docs/equivalent-time.md)
ET_DELAYS_S = np.concatenate([np.arange(151) * 0.1e-3, 16.5e-3 + np.arange(30) * 1.5e-3])
#: [E] relative accuracy of the digitiser's sample clock
TIMEBASE_REL = 1e-4
#: record length in time constants of the slowest unit worth characterising [E]
RECORD_S = 0.060
STEPS = ((2e-3, 18e-3, "up"), (18e-3, 2e-3, "down"))


class StepResponse(Step):
    name = "step_response"
    title = "Step response 2 <-> 18 mA (digitised, 50 kS/s)"
    judges = (
        "limit_frequency",
        "rise_time",
        "settling_time",
        "overshoot",
        "time_constant",
        "dead_time",
        "model_residual",
    )
    #: the source's step fires the trigger; the DMM digitises on it at 1 / SAMPLE_INTERVAL_S
    requires = (
        *POWERED_POINT,
        Need("source", cap.TRIGGER_OUT),
        AnyOf(
            (
                (
                    Need("dmm", cap.DIGITISER, round(1.0 / SAMPLE_INTERVAL_S)),
                    Need("dmm", cap.TRIGGER_IN),
                ),
                Need("dmm", cap.TRIGGERED_READING),  # equivalent-time sampling
            )
        ),
    )

    def run(self, ctx: RunContext) -> None:
        supply_v = ctx.profile.module.nominal_supply_v
        load_ohm = ctx.settings.nominal_load_ohm
        band = ctx.profile["transmission_error"].upper or 20e-6
        ops = ctx.ops
        ops.power_up(supply_v, load_ohm)
        ctx.bench.source.configure_trigger_output(ctx.settings.wiring.trigger_line)
        samples = round(RECORD_S / SAMPLE_INTERVAL_S)
        digitise = self.digitises(ctx)
        slowest: ModuleModel | None = None
        conditions = {"supply_v": supply_v, "load_ohm": load_ohm}
        for index, (start_a, end_a, direction) in enumerate(STEPS, start=1):
            # settle at the start level on a fixed 100 mA range (no range switch in the step)
            wait = ops.set_input(start_a, range_a=0.1)
            step = lambda level=end_a: ctx.bench.source.step_with_trigger(level)  # noqa: E731
            if digitise:
                capture = ctx.measurer.capture_output(
                    samples, SAMPLE_INTERVAL_S, step, settle_s=wait
                )
            else:
                capture = ctx.measurer.capture_output_equivalent_time(
                    ET_DELAYS_S,
                    lambda level=start_a: ctx.bench.source.set_current(level, range_a=0.1),
                    step,
                    # each repetition starts from rest: as long as a record lasts (the
                    # slowest unit worth characterising has settled by then)
                    settle_s=max(ops.settle_time_s(abs(end_a - start_a)), RECORD_S),
                    first_settle_s=wait,
                    seed=index,
                )
            ops.level_a = end_a
            t, record = capture.t_s, capture.output_a
            cond = {**conditions, "direction": direction, "from_a": start_a, "to_a": end_a}
            level = float(np.median(capture.baseline_a))  # on the digitiser's own scale
            try:
                metrics = analyse_step(t, record, 0.0, settling_band_a=band, initial_a=level)
                fit = fit_step(
                    t,
                    record,
                    0.0,
                    baseline_a=capture.baseline_a,
                    independent_samples=capture.method == "equivalent-time",
                    aperture_s=capture.timing.aperture_s if capture.timing else 0.0,
                )
            except ValueError as exc:  # the module's response is not a usable step: a finding
                ctx.recorder.waveform(f"step_{direction}", {"t_s": t, "output_a": record})
                record_value(
                    ctx,
                    self.name,
                    "limit_frequency",
                    float("nan"),
                    None,
                    cond,
                    note=f"step response could not be analysed: {exc}",
                )
                continue
            nominal = predicted_step(t, ctx.reference, metrics.initial_a, metrics.final_a)
            residual = rms_residual(record, nominal)
            ctx.recorder.waveform(
                f"step_{direction}",
                {
                    "t_s": t,
                    "output_a": record,
                    "reference_a": nominal,
                    "fitted_a": predicted_step(t, fit),
                },
            )
            self._record(ctx, cond, metrics, fit, residual, capture)
            model = fit.module_model()
            if slowest is None or model.settling_time_s(1e-4) > slowest.settling_time_s(1e-4):
                slowest = model
            ctx.progress(
                self.name,
                index,
                len(STEPS),
                f"{direction}: rise {metrics.rise_time_s * 1e3:.2f} ms, "
                f"f_c {fit.limit_frequency_hz:.1f} Hz",
            )
        ctx.fitted_dynamics = slowest
        ops.end_step()

    @staticmethod
    def digitises(ctx: RunContext) -> bool:
        """Whether the DMM digitises the step (else: equivalent-time sampling). The plan check
        has made sure that a digitiser, if there is one, has the rate (``requires``)."""
        return ctx.bench.dmm.has(cap.DIGITISER)

    def _record(
        self, ctx: RunContext, cond: dict, metrics, fit, residual: float, capture: StepCapture
    ) -> None:
        step = self.name
        # the HAC covariance rests on about n / inflation independent samples (GUM G.3.3)
        fit_dof = max(fit.n_samples / max(fit.noise_inflation, 1.0) - 6.0, 1.0)
        fit_source = (
            f"{fit.model} fit, Newey-West covariance ({fit.hac_lags} lags), full "
            "covariance propagated to f_c"
        )
        fc_budget = budget(*_fc_components(fit, fit_source, fit_dof, capture))
        how = _capture_note(capture)
        record_value(
            ctx,
            step,
            "limit_frequency",
            fit.limit_frequency_hz,
            fc_budget,
            cond,
            predicted=ctx.reference.limit_frequency_hz(),
            note=how,
            extra={
                "capture": capture.method,
                "capture_repeats": capture.repeats,
                "fit_model": fit.model,
                "tau_s": fit.tau_s,
                "tau2_s": fit.tau2_s,
                "resonance_hz": fit.resonance_hz,
                "resonance_damping": fit.resonance_damping,
            },
        )
        record_value(
            ctx,
            step,
            "rise_time",
            metrics.rise_time_s,
            None,
            cond,
            predicted=ctx.reference.rise_time_s(),
            extra={"t10_s": metrics.t10_s, "t90_s": metrics.t90_s},
        )
        record_value(
            ctx,
            step,
            "settling_time",
            metrics.settling_time_s,
            None,
            cond,
            predicted=ctx.reference.settling_time_s(metrics.settling_band_a / abs(metrics.step_a)),
        )
        # the peak is one sample: its noise is the record's noise, relative to the step (GUM 4.2)
        u_peak = 100.0 * metrics.noise_rms_a / max(abs(metrics.step_a), 1e-12)
        record_value(
            ctx,
            step,
            "overshoot",
            metrics.overshoot_pct,
            budget(Component("noise on the peak sample", u_peak, "A", "record noise / step")),
            cond,
            predicted=0.0,
        )
        record_value(
            ctx,
            step,
            "time_constant",
            fit.tau_s,
            budget(Component("fit of tau", fit.stderr["tau_s"], "A", fit_source, fit_dof)),
            cond,
            predicted=ctx.reference.params.tau_s,
        )
        dead_parts = [
            Component(
                "fit of the dead time",
                fit.stderr["dead_time_s"],
                "A",
                f"{fit_source}; degrees of freedom of the initial level's baseline",
                fit.level_dof,
            )
        ]
        if capture.timing is not None:  # the DMM's trigger latency is not in the sample times
            dead_parts.append(
                Component(
                    "DMM trigger latency",
                    capture.timing.latency_s / math.sqrt(3.0),
                    "B rectangular",
                    capture.timing.source,
                )
            )
        record_value(
            ctx,
            step,
            "dead_time",
            fit.dead_time_s,
            budget(*dead_parts),
            cond,
            predicted=0.0,
            note=(
                "at a bound of the fit's search (-2 sample intervals ... 50 ms): the model "
                "found no interior optimum, the value and its U are not reliable"
                if "dead_time" in fit.at_bounds
                else ""
            ),
        )
        record_value(
            ctx,
            step,
            "model_residual",
            residual,
            None,
            cond,
            predicted=0.0,
            extra={"fit_rms_residual_a": fit.rms_residual_a},
        )


def _fc_components(fit, fit_source: str, fit_dof: float, capture: StepCapture) -> list[Component]:
    """The budget of ``f_c``: the fit (type A) and the time base of the sample times.

    Equivalent-time capture (docs/equivalent-time.md): the delay timer's accuracy scales every
    sample time, hence ``f_c`` (rectangular); the aperture is no component because the fit
    averages the model over it (``fit_step(aperture_s=...)``), and trigger jitter and delay
    steps act per repetition: they are scatter in the residuals, inside the fit's type A part.
    """
    parts = [
        Component(
            "fit of the transfer function", fit.limit_frequency_u_hz, "A", fit_source, fit_dof
        )
    ]
    fc = fit.limit_frequency_hz
    timing = capture.timing
    if timing is None:
        parts.append(
            Component(
                "digitiser timebase",
                fc * TIMEBASE_REL / math.sqrt(3.0),
                "B rectangular",
                "[E] 100 ppm sample clock",
            )
        )
        return parts
    parts.append(
        Component(
            "DMM delay timer",
            fc * timing.timebase_rel / math.sqrt(3.0),
            "B rectangular",
            timing.source,
        )
    )
    return parts


def _capture_note(capture: StepCapture) -> str:
    """How the step was captured, for the record and the report."""
    if capture.method != "equivalent-time" or capture.timing is None:
        return ""
    timing = capture.timing
    return (
        f"equivalent-time sampling: {capture.repeats} repetitions of the step, one "
        f"{timing.aperture_s * 1e6:.0f} us reading each at a stepped trigger delay "
        f"({capture.t_s[0] * 1e3:.2f} ... {capture.t_s[-1] * 1e3:.1f} ms)"
    )
