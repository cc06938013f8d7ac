"""Step-response analysis and model fitting for the 857-411 dynamic test.

Two complementary evaluations of one digitised step record (time in seconds, output current in
amperes):

* :func:`analyse_step` -- model-free characteristic values in the vocabulary of IEC 61298-2
  "dynamic behaviour" as summarised in ``metrology.md`` section 2.1 [K]: dead time (time to the
  first detectable change), rise time (10 % -> 90 %), time constant (63.2 %), settling time (entry
  into and stay within a stated band) and overshoot.
* :func:`fit_step` -- least-squares fit of the project's reference model
  (:meth:`procedures.model.ModuleModel.unit_step_response`: one pole, optional second pole, dead
  time) with free initial/final levels, reporting the limit frequency ``f_c`` of the fitted
  parameters, as recommended in ``metrology.md`` section 1.5 (c): rise time alone cannot tell a
  first-order from a two-pole module, the fit can.

Reference identities (``metrology.md`` section 1.5 [D]): a first-order low-pass
``h(t) = 1 - exp(-t / tau)`` crosses the fraction ``x`` at ``t_x = -tau ln(1 - x)``, hence
``t90 - t10 = tau (ln 10 - ln(10/9)) = tau ln 9 = 2.197 tau`` (3.497 ms for
``tau = 1 / (2 pi 100 Hz) = 1.592 ms``), ``t63.2 = tau`` and the time to settle within a band
``b`` of a step ``S`` is ``tau ln(S / b)``.

Pure numpy/scipy; no instrument code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, optimize, stats

from procedures.model import ModuleModel, ModuleParameters

FloatArray = NDArray[np.float64]

__all__ = [
    "MIN_PRE_STEP_SAMPLES",
    "MIN_SAMPLES",
    "StepFit",
    "StepMetrics",
    "analyse_step",
    "fit_step",
    "predicted_step",
    "rms_residual",
]

MIN_SAMPLES = 10
"""Shortest record :func:`analyse_step` accepts."""
MIN_PRE_STEP_SAMPLES = 2
"""Pre-step samples needed for the initial level and the noise estimate."""
FINAL_FRACTION = 0.20
"""Trailing fraction of the record whose median is the final level."""
DEAD_TIME_STEP_FRACTION = 0.02
"""Dead-time detection threshold as a fraction of the step (floor of the noise threshold)."""
DEAD_TIME_NOISE_SIGMAS = 5.0
"""Dead-time detection threshold in pre-step noise standard deviations."""
MIN_STEP_TO_NOISE = 10.0
"""Smallest accepted step in multiples of the pre-step noise."""
FILTER_NOISE_FRACTION = 0.01
"""Noise (fraction of the step) above which crossings are taken on a moving-median copy."""
FILTER_TARGET_FRACTION = 0.005
"""Residual noise (fraction of the step) the moving-median window is sized for."""
T63_LEVEL = 1.0 - math.exp(-1.0)  # 0.632...

# least_squares bounds (seconds), see the brief / metrology.md 6.2 for plausible values
TAU_BOUNDS_S = (10e-6, 1.0)
DEAD_TIME_BOUNDS_S = (0.0, 50e-3)
F_TEST_ALPHA = 0.01


# ---------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class StepMetrics:
    """Model-free step-response characteristics (IEC 61298-2 terms, metrology.md section 2.1).

    All times are in seconds relative to the trigger instant ``t_step``. ``settling_time_s`` is
    NaN when the record ends before the signal has settled inside the band.
    """

    initial_a: float  # median of the pre-step samples
    final_a: float  # median of the last 20 % of the record
    step_a: float  # final - initial (signed)
    t10_s: float  # first 10 % crossing
    t90_s: float  # first 90 % crossing
    rise_time_s: float  # t90 - t10 (= tau ln 9 for a first-order module)
    t63_s: float  # 63.2 % crossing minus dead time: time-constant estimate
    dead_time_s: float  # first change beyond max(2 % of step, 5 sigma noise)
    settling_time_s: float  # stays within +-band of final from here on; NaN if never
    overshoot_pct: float  # peak beyond final in % of |step|, 0 if none
    direction: int  # +1 rising, -1 falling
    noise_rms_a: float  # standard deviation of the pre-step samples
    settling_band_a: float = 20e-6
    median_window: int = 1  # moving-median window used for crossings (1 = raw samples)


def _robust_sigma(values: FloatArray) -> float:
    """Noise estimate that a few outliers (a drop-out, a spike) do not inflate: 1.4826 x the
    median absolute deviation, equal to the standard deviation for Gaussian noise."""
    deviation = np.abs(values - np.median(values))
    return float(1.4826 * np.median(deviation))


def _as_record(t_s: ArrayLike, y_a: ArrayLike) -> tuple[FloatArray, FloatArray]:
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(y_a, dtype=float)
    if t.ndim != 1 or y.ndim != 1 or t.shape != y.shape:
        raise ValueError(
            f"t_s and y_a must be 1-D arrays of equal length, got {t.shape}, {y.shape}"
        )
    if len(t) < MIN_SAMPLES:
        raise ValueError(f"step record too short: {len(t)} samples, need at least {MIN_SAMPLES}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(y))):
        raise ValueError("step record contains non-finite samples")
    if np.any(np.diff(t) <= 0.0):
        raise ValueError("step record time axis must be strictly increasing")
    return t, y


def _first_crossing(t: FloatArray, d: FloatArray, level: float, start: int) -> float:
    """Time of the first upward crossing of ``level`` by ``d`` at or after index ``start``.

    Linear interpolation between the last sample below and the first sample at/above the level;
    the sample before ``start`` (the last pre-trigger sample) is used as the left neighbour.
    """
    above = np.nonzero(d[start:] >= level)[0]
    if len(above) == 0:
        return math.nan
    i = start + int(above[0])
    if i == 0:
        return float(t[0])
    d0, d1 = d[i - 1], d[i]
    if d1 == d0:
        return float(t[i])
    frac = (level - d0) / (d1 - d0)
    frac = min(max(frac, 0.0), 1.0)
    return float(t[i - 1] + frac * (t[i] - t[i - 1]))


def _median_window(noise_to_step: float, n_post: int) -> int:
    """Odd moving-median window sized so the filtered noise is ~0.5 % of the step.

    The running median of ``w`` i.i.d. Gaussian samples has a standard deviation of about
    ``sqrt(pi / 2) sigma / sqrt(w) = 1.2533 sigma / sqrt(w)``. The window is capped at 1/20 of
    the post-trigger samples (e.g. 1.75 ms for 35 ms after the trigger at 50 kS/s): with noise
    the edge-preserving property of the median is only approximate, and a window comparable
    with the rise time would pull the early crossings ahead of the trigger.
    """
    if noise_to_step <= FILTER_NOISE_FRACTION:
        return 1
    w = math.ceil((math.sqrt(math.pi / 2.0) * noise_to_step / FILTER_TARGET_FRACTION) ** 2)
    w = min(w, max(3, n_post // 20))
    w = max(w, 3)
    return w if w % 2 == 1 else w + 1


def analyse_step(
    t_s: ArrayLike,
    y_a: ArrayLike,
    t_step_s: float = 0.0,
    settling_band_a: float = 20e-6,
    initial_a: float | None = None,
) -> StepMetrics:
    """Characteristic values of one step record (rising or falling).

    Definitions follow the IEC 61298-2 dynamic-behaviour terms as summarised in
    ``metrology.md`` section 2.1 [K]; all times are relative to the trigger ``t_step_s``:

    * levels: ``initial`` = median of the samples before ``t_step_s``; ``final`` = median of the
      last 20 % of the record (robust against noise and ripple; the record must be long enough
      for the response to have settled there);
    * dead time: first change beyond ``max(2 % of the step, 5 sigma of the pre-step noise)``,
      interpolated between the last sample inside and the first sample beyond that threshold.
      Being a detection threshold it is biased late by the time the response needs to reach it
      (``0.02 tau`` = 32 us for a noise-free nominal first-order module);
    * ``t10`` / ``t90``: first crossings of 10 % / 90 % of the step (linear interpolation between
      samples); rise time ``t90 - t10`` (``tau ln 9`` for a first-order module, metrology.md 1.5);
    * ``t63``: first 63.2 % crossing minus the dead time, the time-constant estimate (inherits
      the small bias of the dead time);
    * settling time: instant after which the signal stays within ``+-settling_band_a`` of the final
      level to the end of the record (``tau ln(step / band)`` for a first-order module); NaN if the
      last sample is still outside the band, 0 if no post-trigger sample ever leaves it;
    * overshoot: largest excursion beyond the final level in % of the step, 0 if none.

    Crossings are searched on the raw samples (no smoothing) when the pre-step noise is at most
    1 % of the step. Above that, the first crossing of a single sample spike would be reported,
    so dead time, crossings, settling and overshoot are taken on a *moving-median-filtered copy*
    (centred window, see :func:`_median_window`); a running median leaves a monotonic edge
    unchanged (it neither delays nor rounds it, unlike a moving average), while noise shrinks
    by ``~1.25 / sqrt(window)``. Levels and ``noise_rms_a`` always come from the raw samples.
    The window used is reported in ``median_window`` (1 = raw). On such noisy records expect a
    few % scatter of the crossings, an overshoot of a few residual-noise sigmas even for a
    monotonic response, and settling only if the band exceeds the residual noise; use
    :func:`fit_step` for precise dynamics.

    A record that starts at the trigger (no pre-step samples, e.g. a digitizer armed on the
    source's trigger pulse) is accepted when ``initial_a``, the settled level measured just
    before the step, is given; the noise is then taken from the record's settled tail.

    Raises:
        ValueError: record too short, no pre-step samples (and no ``initial_a``), tail not after
            the step, or a step smaller than 10x the pre-step noise.
    """
    t, y = _as_record(t_s, y_a)
    n = len(t)
    pre = t < t_step_s
    n_pre = int(np.count_nonzero(pre))
    if initial_a is None and n_pre == 0:
        raise ValueError(f"step record has no samples before the step at t = {t_step_s:g} s")
    if initial_a is None and n_pre < MIN_PRE_STEP_SAMPLES:
        raise ValueError(
            f"step record has {n_pre} pre-step sample(s), need at least {MIN_PRE_STEP_SAMPLES}"
        )
    i_trig = n_pre  # t is strictly increasing, so the pre-step samples are a prefix
    tail_start = min(math.floor((1.0 - FINAL_FRACTION) * n), n - 1)
    if t[tail_start] < t_step_s or tail_start <= i_trig:
        raise ValueError("step record too short: its last 20 % must lie after the step")

    if n_pre >= MIN_PRE_STEP_SAMPLES:
        initial = float(np.median(y[:i_trig]))
        noise = _robust_sigma(y[:i_trig])
    else:
        initial = float(initial_a)  # type: ignore[arg-type]
        noise = _robust_sigma(y[tail_start:])
    final = float(np.median(y[tail_start:]))
    step = final - initial
    if step == 0.0 or abs(step) < MIN_STEP_TO_NOISE * noise:
        raise ValueError(
            f"no usable step: |step| = {abs(step):.3g} A is below {MIN_STEP_TO_NOISE:g}x the "
            f"pre-step noise ({noise:.3g} A rms)"
        )
    direction = 1 if step > 0.0 else -1
    mag = abs(step)

    window = _median_window(noise / mag, n - i_trig)
    y_det = y if window == 1 else ndimage.median_filter(y, size=window, mode="nearest")
    # signed deviation in the step direction, normalised 0 -> 1
    u = direction * (y_det - initial) / mag

    threshold = max(DEAD_TIME_STEP_FRACTION * mag, DEAD_TIME_NOISE_SIGMAS * noise) / mag
    t_dead = _first_crossing(t, u, threshold, i_trig)
    t10 = _first_crossing(t, u, 0.1, i_trig)
    t63 = _first_crossing(t, u, T63_LEVEL, i_trig)
    t90 = _first_crossing(t, u, 0.9, i_trig)
    if math.isnan(t90):
        raise ValueError("step response never reaches 90 % of the step within the record")
    dead_time = max(t_dead - t_step_s, 0.0)

    # settling: last post-trigger sample outside the band
    err = y_det[i_trig:] - final
    outside = np.nonzero(np.abs(err) > settling_band_a)[0]
    if len(outside) == 0:
        settling = 0.0
    else:
        k = i_trig + int(outside[-1])
        if k == n - 1:
            settling = math.nan
        else:
            e0, e1 = y_det[k] - final, y_det[k + 1] - final
            edge = math.copysign(settling_band_a, e0)
            frac = (edge - e0) / (e1 - e0) if e1 != e0 else 1.0
            frac = min(max(frac, 0.0), 1.0)
            settling = float(t[k] + frac * (t[k + 1] - t[k])) - t_step_s

    peak = float(np.max(direction * (y_det[i_trig:] - final)))
    overshoot = max(peak, 0.0) / mag * 100.0

    return StepMetrics(
        initial_a=initial,
        final_a=final,
        step_a=step,
        t10_s=t10 - t_step_s,
        t90_s=t90 - t_step_s,
        rise_time_s=t90 - t10,
        t63_s=t63 - t_step_s - dead_time,
        dead_time_s=dead_time,
        settling_time_s=settling,
        overshoot_pct=overshoot,
        direction=direction,
        noise_rms_a=noise,
        settling_band_a=float(settling_band_a),
        median_window=window,
    )


# ---------------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class StepFit:
    """Least-squares fit of the reference model to a step record.

    ``stderr`` holds the asymptotic standard errors (from the Jacobian of ``least_squares``,
    ``cov = s^2 (J^T J)^-1`` with ``s^2 = RSS / (n - p)``) keyed ``initial_a``, ``final_a``,
    ``tau_s``, ``dead_time_s`` and, for the two-pole model, ``tau2_s``. They assume white noise
    and are not meaningful for a parameter sitting on a bound (e.g. dead time 0).
    """

    model: Literal["first-order", "two-pole"]
    tau_s: float  # dominant (larger) time constant
    tau2_s: float  # second time constant, 0 for the first-order model
    dead_time_s: float
    initial_a: float
    final_a: float
    rms_residual_a: float
    limit_frequency_hz: float  # ModuleModel.limit_frequency_hz() of the fitted parameters
    rise_time_s: float  # ModuleModel.rise_time_s() of the fitted parameters
    stderr: dict[str, float]
    n_samples: int
    two_pole_p_value: float = math.nan  # F-test p-value of the second pole ("auto" only)

    def parameters(self) -> ModuleParameters:
        """Nominal module parameters with the fitted dynamics."""
        return ModuleParameters(tau_s=self.tau_s, tau2_s=self.tau2_s, dead_time_s=self.dead_time_s)

    def module_model(self) -> ModuleModel:
        return ModuleModel(self.parameters())


@dataclass(frozen=True)
class _RawFit:
    kind: Literal["first-order", "two-pole"]
    x: FloatArray  # scaled parameters
    rss: float  # scaled residual sum of squares
    jac: FloatArray


def _unpack(
    x: FloatArray, kind: str, s: float, T: float
) -> tuple[float, float, float, float, float]:
    """Scaled vector -> (initial_a, final_a, tau_s, tau2_s, dead_time_s)."""
    if kind == "first-order":
        y0, y1, tau, td = x
        tau2 = 0.0
    else:
        y0, y1, tau, r, td = x
        tau2 = r * tau if r < 1.0 - 1e-12 else tau  # let the model use its equal-pole branch
        tau2 *= T
    return float(y0 * s), float(y1 * s), float(tau * T), float(tau2), float(td * T)


def _fit_one(
    t_rel: FloatArray,
    y: FloatArray,
    kind: Literal["first-order", "two-pole"],
    starts: list[FloatArray],
    s: float,
    T: float,
) -> _RawFit:
    """Fit one model structure from several starts (scaled units) and keep the best."""
    ys = y / s

    def residuals(x: FloatArray) -> FloatArray:
        y0, y1, tau, tau2, td = _unpack(x, kind, 1.0, T)
        params = ModuleParameters(tau_s=tau, tau2_s=tau2, dead_time_s=td)
        h = ModuleModel(params).unit_step_response(t_rel)
        return y0 + (y1 - y0) * h - ys

    tau_lo, tau_hi = (b / T for b in TAU_BOUNDS_S)
    td_lo, td_hi = (b / T for b in DEAD_TIME_BOUNDS_S)
    if kind == "first-order":
        lo = np.array([-np.inf, -np.inf, tau_lo, td_lo])
        hi = np.array([np.inf, np.inf, tau_hi, td_hi])
    else:
        lo = np.array([-np.inf, -np.inf, tau_lo, 0.0, td_lo])
        hi = np.array([np.inf, np.inf, tau_hi, 1.0, td_hi])
    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    best: _RawFit | None = None
    for x0 in starts:
        x0c = np.clip(x0, lo + 1e-6 * span, hi - 1e-6 * span)
        res = optimize.least_squares(
            residuals,
            x0c,
            bounds=(lo, hi),
            method="trf",
            diff_step=1e-7,
            xtol=1e-10,
            ftol=1e-10,
            gtol=1e-10,
            max_nfev=100 * len(x0c),
        )
        rss = float(np.sum(res.fun**2))
        if best is None or rss < best.rss:
            best = _RawFit(kind=kind, x=np.asarray(res.x, dtype=float), rss=rss, jac=res.jac)
    assert best is not None
    return best


def _to_stepfit(raw: _RawFit, n: int, s: float, T: float, p_value: float = math.nan) -> StepFit:
    y0, y1, tau, tau2, td = _unpack(raw.x, raw.kind, s, T)
    p = len(raw.x)
    dof = max(n - p, 1)
    s2 = raw.rss / dof
    jac = np.asarray(raw.jac, dtype=float)
    cov = s2 * np.linalg.pinv(jac.T @ jac)
    var = np.clip(np.diag(cov), 0.0, None)
    stderr = {
        "initial_a": math.sqrt(var[0]) * s,
        "final_a": math.sqrt(var[1]) * s,
        "tau_s": math.sqrt(var[2]) * T,
        "dead_time_s": math.sqrt(var[-1]) * T,
    }
    if raw.kind == "two-pole":
        # tau2 = r tau (scaled): gradient (r, tau) in the (tau, r) block, delta method
        tau_sc, r = raw.x[2], raw.x[3]
        g = np.array([r, tau_sc])
        stderr["tau2_s"] = math.sqrt(max(float(g @ cov[2:4, 2:4] @ g), 0.0)) * T
    model = ModuleModel(ModuleParameters(tau_s=tau, tau2_s=tau2, dead_time_s=td))
    return StepFit(
        model=raw.kind,
        tau_s=tau,
        tau2_s=tau2,
        dead_time_s=td,
        initial_a=y0,
        final_a=y1,
        rms_residual_a=math.sqrt(raw.rss / n) * s,
        limit_frequency_hz=model.limit_frequency_hz(),
        rise_time_s=model.rise_time_s(),
        stderr=stderr,
        n_samples=n,
        two_pole_p_value=p_value,
    )


def fit_step(
    t_s: ArrayLike,
    y_a: ArrayLike,
    t_step_s: float = 0.0,
    model: Literal["first-order", "two-pole", "auto"] = "auto",
    initial_a: float | None = None,
) -> StepFit:
    """Fit the reference step response to a record with ``scipy.optimize.least_squares``.

    The model is ``y(t) = y0 + (y1 - y0) h(t - t_step)`` with ``h`` the project's reference
    :meth:`ModuleModel.unit_step_response` (first order, optional second pole, dead time;
    metrology.md sections 1.5 and 6.2), ``y0``/``y1`` free. Bounds: ``tau`` in [10 us, 1 s],
    ``tau2`` in [0, tau] (fitted as ``tau2 = r tau`` with ``r`` in [0, 1], so ``tau_s`` is
    always the dominant pole), dead time in [0, 50 ms]. Starting values come from
    :func:`analyse_step` (``tau ~ rise time / ln 9``, metrology.md 1.5; dead time from ``t10``);
    the two-pole fit is started from several pole ratios and the best minimum is kept.
    Internally currents are scaled by the step and times by the starting ``tau``.

    ``model="auto"`` fits both structures and keeps the two-pole one only if an **F-test at
    1 %** on the residual sums of squares rejects the first-order model::

        F = (RSS_1 - RSS_2) / (RSS_2 / (n - 5)),  p = P(F(1, n - 5) > F) < 0.01

    Why the F-test rather than BIC: the models are nested (two-pole with ``tau2 = 0`` is the
    first-order model), the residuals of a digitiser record are close to white Gaussian noise,
    and the test gives an explicit, documented risk (<= 1 %; conservative because ``tau2 = 0``
    lies on the boundary) of wrongly attributing a second pole to a first-order unit,
    independent of the record length -- BIC's ``ln n`` penalty grows with the sampling rate,
    so its decision would change with the digitiser setting. A first-order fit that already
    reproduces the record to numerical precision (noise-free data) is kept as such.

    Raises:
        ValueError: as :func:`analyse_step`, or for an unknown ``model``.
    """
    if model not in ("first-order", "two-pole", "auto"):
        raise ValueError(f"unknown step model {model!r}: use 'first-order', 'two-pole' or 'auto'")
    t, y = _as_record(t_s, y_a)
    m = analyse_step(t, y, t_step_s, initial_a=initial_a)
    n = len(t)
    t_rel = t - t_step_s

    s = abs(m.step_a)
    tau0 = min(max(m.rise_time_s / math.log(9.0), TAU_BOUNDS_S[0]), TAU_BOUNDS_S[1])
    T = tau0
    td0 = max(m.t10_s - tau0 * math.log(10.0 / 9.0), 0.0)
    y0s, y1s = m.initial_a / s, m.final_a / s

    fo_start = np.array([y0s, y1s, 1.0, td0 / T])
    fo = _fit_one(t_rel, y, "first-order", [fo_start], s, T)
    if model == "first-order":
        return _to_stepfit(fo, n, s, T)

    # two-pole starts: near the first-order optimum, and spread pole ratios that keep the mean
    # delay td + tau + tau2 of the first-order fit
    _, _, tau_fo, _, td_fo = _unpack(fo.x, "first-order", s, T)
    delay = tau_fo + td_fo
    starts = [np.array([fo.x[0], fo.x[1], tau_fo / T, 0.05, td_fo / T])]
    for r0 in (0.3, 0.7, 0.95):
        for td_start in sorted({0.0, 0.5 * td_fo}):
            tau_start = (delay - td_start) / (1.0 + r0)
            starts.append(np.array([fo.x[0], fo.x[1], tau_start / T, r0, td_start / T]))
    tp = _fit_one(t_rel, y, "two-pole", starts, s, T)
    if model == "two-pole":
        return _to_stepfit(tp, n, s, T)

    dof2 = n - len(tp.x)
    numerical_floor = n * (1e-9) ** 2  # rms 1e-9 of the step: exact fit, nothing to improve
    if fo.rss <= numerical_floor or tp.rss >= fo.rss or dof2 <= 0:
        p_value = 1.0
    elif tp.rss <= 0.0:
        p_value = 0.0
    else:
        f_stat = (fo.rss - tp.rss) / (tp.rss / dof2)
        p_value = float(stats.f.sf(f_stat, 1, dof2))
    chosen = tp if p_value < F_TEST_ALPHA else fo
    return _to_stepfit(chosen, n, s, T, p_value)


# ---------------------------------------------------------------------------------- overlay
def predicted_step(
    t_s: ArrayLike,
    model: StepFit | ModuleModel | ModuleParameters,
    initial_a: float | None = None,
    final_a: float | None = None,
    t_step_s: float = 0.0,
) -> FloatArray:
    """Reference step response for overlay: ``initial + (final - initial) h(t - t_step)``.

    ``h`` is :meth:`ModuleModel.unit_step_response` of the given model (e.g. the nominal
    ``procedures.model.NOMINAL``) or of the dynamics of a :class:`StepFit`. Levels default to
    the fitted ones for a :class:`StepFit` and are required otherwise (use the measured
    :class:`StepMetrics` levels so only the dynamics are compared; static errors are not
    applied here).
    """
    if isinstance(model, StepFit):
        mm = model.module_model()
        initial_a = model.initial_a if initial_a is None else initial_a
        final_a = model.final_a if final_a is None else final_a
    elif isinstance(model, ModuleParameters):
        mm = ModuleModel(model)
    else:
        mm = model
    if initial_a is None or final_a is None:
        raise ValueError("predicted_step needs initial_a and final_a for a ModuleModel")
    t = np.asarray(t_s, dtype=float)
    return initial_a + (final_a - initial_a) * mm.unit_step_response(t - t_step_s)


def rms_residual(measured: ArrayLike, predicted: ArrayLike) -> float:
    """Root-mean-square of ``measured - predicted`` (same shape required)."""
    a = np.asarray(measured, dtype=float)
    b = np.asarray(predicted, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"measured and predicted differ in shape: {a.shape} vs {b.shape}")
    if a.size == 0:
        raise ValueError("rms_residual of an empty record")
    return float(np.sqrt(np.mean((a - b) ** 2)))
