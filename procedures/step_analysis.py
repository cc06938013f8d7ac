"""Step-response analysis and model fitting for the 857-411 dynamic test.

Two complementary evaluations of one digitised step record (time in seconds, output current in
amperes):

* :func:`analyse_step` -- model-free characteristic values in the vocabulary of IEC 61298-2
  "dynamic behaviour" as summarised in ``docs/metrology.md`` section 2.1 [K]: dead time (time to the
  first detectable change), rise time (10 % -> 90 %), time constant (63.2 %), settling time (entry
  into and stay within a stated band) and overshoot.
* :func:`fit_step` -- least-squares fit of the project's reference model
  (:meth:`procedures.model.ModuleModel.unit_step_response`: one pole, optional second pole, dead
  time) with free initial/final levels, reporting the limit frequency ``f_c`` of the fitted
  parameters, as recommended in ``docs/metrology.md`` section 1.5 (c): rise time alone cannot tell a
  first-order from a two-pole module, the fit can.

Reference identities (``docs/metrology.md`` section 1.5 [D]): a first-order low-pass
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
from scipy import ndimage, optimize, special

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

# least_squares bounds (seconds), see the brief / docs/metrology.md 6.2 for plausible values
TAU_BOUNDS_S = (10e-6, 1.0)
DEAD_TIME_BOUNDS_S = (0.0, 50e-3)
F_TEST_ALPHA = 0.01


# ---------------------------------------------------------------------------------- metrics
@dataclass(frozen=True)
class StepMetrics:
    """Model-free step-response characteristics (IEC 61298-2 terms, docs/metrology.md section 2.1).

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
    ``docs/metrology.md`` section 2.1 [K]; all times are relative to the trigger ``t_step_s``:

    * levels: ``initial`` = median of the samples before ``t_step_s``; ``final`` = median of the
      last 20 % of the record (robust against noise and ripple; the record must be long enough
      for the response to have settled there);
    * dead time: first change beyond ``max(2 % of the step, 5 sigma of the pre-step noise)``,
      interpolated between the last sample inside and the first sample beyond that threshold.
      Being a detection threshold it is biased late by the time the response needs to reach it
      (``0.02 tau`` = 32 us for a noise-free nominal first-order module);
    * ``t10`` / ``t90``: first crossings of 10 % / 90 % of the step (linear interpolation between
      samples); rise time ``t90 - t10`` (``tau ln 9`` for a first-order module,
      docs/metrology.md 1.5);
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
StepModel = Literal["first-order", "two-pole", "resonant"]
#: fitted dynamic parameters per model structure (each model adds the levels y0, y1 in front)
_DYNAMICS: dict[str, tuple[str, ...]] = {
    "first-order": ("tau", "dead_time"),
    "two-pole": ("tau", "ratio", "dead_time"),
    "resonant": ("tau", "omega_n", "zeta", "dead_time"),
}
#: overshoot (% of the step) from which a resonant stage is fitted as well
RESONANT_OVERSHOOT_PCT = 0.5
ZETA_BOUNDS = (0.05, 1.5)
#: fewest lags of the HAC covariance (prewhitened residuals keep a short MA part)
MIN_HAC_LAGS = 10


@dataclass(frozen=True)
class StepFit:
    """Least-squares fit of the reference model to a step record.

    ``stderr`` holds standard uncertainties of the fitted parameters keyed ``initial_a``,
    ``final_a``, ``tau_s``, ``dead_time_s`` and, per model, ``tau2_s`` or ``resonance_hz`` /
    ``resonance_damping``. They come from the Newey-West (HAC) covariance of the least-squares
    estimate, which uses the residuals themselves: correlated noise (the module's own noise is
    low-pass filtered, so neighbouring samples are far from independent), carrier ripple and
    any systematic misfit of the model all widen them (docs/metrology.md section 5.3).
    ``limit_frequency_u_hz`` is the standard uncertainty of ``f_c`` propagated from the *full*
    covariance matrix (GUM 5.2.2, eq. 13, with correlations).
    """

    model: StepModel
    tau_s: float  # dominant (first) time constant
    tau2_s: float  # second real time constant, 0 unless the two-pole model
    dead_time_s: float
    initial_a: float
    final_a: float
    rms_residual_a: float
    limit_frequency_hz: float  # ModuleModel.limit_frequency_hz() of the fitted parameters
    rise_time_s: float  # ModuleModel.rise_time_s() of the fitted parameters
    stderr: dict[str, float]
    n_samples: int
    two_pole_p_value: float = math.nan  # F-test p-value of the more complex model ("auto")
    resonance_hz: float = 0.0
    resonance_damping: float = 0.5
    limit_frequency_u_hz: float = math.nan
    #: variance inflation of the residuals' correlation, (1 + phi) / (1 - phi) for AR(1)
    noise_inflation: float = 1.0
    hac_lags: int = 0
    #: dynamic parameters left on a bound of the fit's search (``"dead_time"``, ``"tau"``,
    #: ...): the model found no interior optimum for them
    at_bounds: tuple[str, ...] = ()
    #: independent samples the initial level rests on, ``n_b (1 - phi) / (1 + phi)`` for the
    #: baseline's AR(1) noise: the dead time's degrees of freedom (its u is mostly the level's)
    level_dof: float = 1.0

    def parameters(self) -> ModuleParameters:
        """Nominal module parameters with the fitted dynamics."""
        return ModuleParameters(
            tau_s=self.tau_s,
            tau2_s=self.tau2_s,
            dead_time_s=self.dead_time_s,
            resonance_hz=self.resonance_hz,
            resonance_damping=self.resonance_damping,
        )

    def module_model(self) -> ModuleModel:
        return ModuleModel(self.parameters())


@dataclass(frozen=True)
class _RawFit:
    kind: StepModel
    x: FloatArray  # scaled parameters
    rss: float  # scaled residual sum of squares
    jac: FloatArray
    residuals: FloatArray  # prewhitened
    phi: float  # AR(1) coefficient the residuals and the Jacobian were whitened with
    plain: FloatArray  # model minus record, not whitened (scaled)
    record_start: int  # first sample of the step record (before it: the baseline)


def _params(x: FloatArray, kind: str, T: float) -> ModuleParameters:
    """Scaled dynamic parameters (after y0, y1) -> module parameters."""
    d = dict(zip(_DYNAMICS[kind], x[2:], strict=True))
    tau = float(d["tau"]) * T
    params = ModuleParameters(tau_s=tau, dead_time_s=float(d["dead_time"]) * T)
    if kind == "two-pole":
        r = float(d["ratio"])
        return params.with_(tau2_s=r * tau if r < 1.0 - 1e-12 else tau)
    if kind == "resonant":
        return params.with_(
            resonance_hz=float(d["omega_n"]) / (2.0 * math.pi * T),
            resonance_damping=float(d["zeta"]),
        )
    return params


def _bounds(kind: str, T: float, dt: float) -> tuple[FloatArray, FloatArray]:
    tau_lo, tau_hi = (b / T for b in TAU_BOUNDS_S)
    # the dead time may come out slightly negative: an unbiased estimate near 0 needs room
    td_lo, td_hi = -2.0 * dt / T, DEAD_TIME_BOUNDS_S[1] / T
    lo = {"tau": tau_lo, "ratio": 0.0, "omega_n": 0.05, "zeta": ZETA_BOUNDS[0], "dead_time": td_lo}
    hi = {"tau": tau_hi, "ratio": 1.0, "omega_n": 50.0, "zeta": ZETA_BOUNDS[1], "dead_time": td_hi}
    names = _DYNAMICS[kind]
    return (
        np.array([-np.inf, -np.inf, *(lo[n] for n in names)]),
        np.array([np.inf, np.inf, *(hi[n] for n in names)]),
    )


def _whiten(v: FloatArray, phi: float, starts: tuple[int, ...] = (0,)) -> FloatArray:
    """AR(1) prewhitening (Prais-Winsten): ``v_0 sqrt(1 - phi^2)``, ``v_k - phi v_(k-1)``,
    restarted at each index in ``starts`` (separate records, e.g. a baseline and the step)."""
    if phi == 0.0:
        return v
    out = np.array(v, dtype=float, copy=True)
    out[1:] -= phi * v[:-1]
    for start in starts:
        out[start] = v[start] * math.sqrt(1.0 - phi * phi)
    return out


def _fit_one(
    t_rel: FloatArray,
    y: FloatArray,
    kind: StepModel,
    starts: list[FloatArray],
    s: float,
    T: float,
    dt: float,
    phi: float = 0.0,
    segments: tuple[int, ...] = (0,),
    aperture_s: float = 0.0,
) -> _RawFit:
    """Fit one model structure from several starts (scaled units) and keep the best.

    With ``phi > 0`` the residuals are prewhitened for AR(1) noise of that coefficient: a
    generalised least-squares fit, efficient for the low-pass filtered noise of the module's
    output and with a residual sum of squares the F-test can use.
    """
    ys = y / s
    # a reading of aperture T is the mean of the response over T: 5-point Gauss-Legendre
    # (exact for polynomials up to degree 9 over the window) around each aperture centre
    nodes, weights = np.polynomial.legendre.leggauss(5) if aperture_s > 0.0 else ([0.0], [2.0])

    def shape(x: FloatArray) -> FloatArray:
        model = ModuleModel(_params(x, kind, T))
        return sum(
            0.5 * w * model.unit_step_response(t_rel + 0.5 * aperture_s * u)
            for u, w in zip(nodes, weights, strict=True)
        )

    def residuals(x: FloatArray) -> FloatArray:
        return _whiten(x[0] + (x[1] - x[0]) * shape(x) - ys, phi, segments)

    lo, hi = _bounds(kind, T, dt)

    def jacobian(x: FloatArray) -> FloatArray:
        # the levels enter linearly; the dynamics by forward differences inside the bounds
        h = shape(x)
        jac = np.empty((len(ys), len(x)))
        jac[:, 0] = _whiten(1.0 - h, phi, segments)
        jac[:, 1] = _whiten(h, phi, segments)
        for i in range(2, len(x)):
            step = 1e-7 * max(abs(x[i]), 1e-2)
            if x[i] + step > hi[i]:
                step = -step
            moved = x.copy()
            moved[i] += step
            jac[:, i] = _whiten((x[1] - x[0]) * (shape(moved) - h) / step, phi, segments)
        return jac

    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    best: _RawFit | None = None
    for x0 in starts:
        x0c = np.clip(x0, lo + 1e-6 * span, hi - 1e-6 * span)
        res = optimize.least_squares(
            residuals,
            x0c,
            jac=jacobian,
            bounds=(lo, hi),
            method="trf",
            xtol=1e-9,
            ftol=1e-9,
            gtol=1e-9,
            max_nfev=50 * len(x0c),
        )
        rss = float(np.sum(res.fun**2))
        if best is None or rss < best.rss:
            x = np.asarray(res.x, dtype=float)
            plain = x[0] + (x[1] - x[0]) * shape(x) - ys
            best = _RawFit(kind, x, rss, res.jac, res.fun, phi, plain, segments[-1])
    assert best is not None
    return best


def _ar1(residuals: FloatArray) -> float:
    """Lag-1 autocorrelation of the residuals, kept inside [0, 0.999]."""
    r = residuals - residuals.mean()
    denominator = float(r @ r)
    if denominator == 0.0:
        return 0.0
    return min(max(float(r[1:] @ r[:-1]) / denominator, 0.0), 0.999)


def _ar_root(residuals: FloatArray, max_lag: int = 40) -> float:
    """Decay ratio ``phi`` of the residuals' autocorrelation, ``rho(l) ~ c phi^l`` for l >= 1.

    Low-pass filtered noise plus a white floor (the digitiser's own noise) is ARMA(1,1): its
    autocorrelation drops at lag 1 (the white part) and then decays as ``phi^l``. The slope of
    ``ln rho(l)`` over the lags where rho is clearly positive estimates ``phi``, where the
    lag-1 value alone would mix the two.
    """
    r = residuals - residuals.mean()
    var = float(r @ r)
    n = len(r)
    if var == 0.0 or n < 4 * max_lag:
        return _ar1(residuals)
    rho = np.array([float(r[lag:] @ r[:-lag]) / var for lag in range(1, max_lag + 1)])
    usable = np.nonzero(rho <= 0.1)[0]
    last = int(usable[0]) if len(usable) else max_lag
    if last < 3:
        return _ar1(residuals)
    lags = np.arange(1, last + 1)
    slope = float(np.polyfit(lags, np.log(rho[:last]), 1)[0])
    return min(max(math.exp(slope), 0.0), 0.999)


def hac_covariance(jac: FloatArray, residuals: FloatArray) -> tuple[FloatArray, float, int]:
    """Newey-West heteroscedasticity- and autocorrelation-consistent covariance of a
    least-squares estimate: ``(J^T J)^-1 Omega (J^T J)^-1`` with
    ``Omega = sum_{|l| <= L} (1 - |l| / (L + 1)) sum_k J_k r_k r_{k+l} J_{k+l}^T``.

    Newey & West, Econometrica 55 (1987) 703; bandwidth by Andrews' AR(1) plug-in rule
    (Econometrica 59 (1991) 817, Bartlett kernel): ``L = 1.1447 (alpha n)^(1/3)`` with
    ``alpha = 4 phi^2 / ((1 - phi)^2 (1 + phi)^2)``. Returns (covariance, variance inflation
    ``(1 + phi) / (1 - phi)``, L). For white residuals it reduces to the usual sandwich.
    """
    n, _p = jac.shape
    phi = _ar1(residuals)
    alpha = 4.0 * phi * phi / ((1.0 - phi) ** 2 * (1.0 + phi) ** 2)
    lags = min(max(math.ceil(1.1447 * (alpha * n) ** (1.0 / 3.0)), MIN_HAC_LAGS), n // 3)
    scores = jac * residuals[:, None]
    omega = scores.T @ scores
    for lag in range(1, lags + 1):
        g = scores[lag:].T @ scores[:-lag]
        omega += (1.0 - lag / (lags + 1.0)) * (g + g.T)
    # equilibrate the columns first: the levels and the dynamics differ by orders of magnitude
    bread = _inverse_normal_matrix(jac)
    return bread @ omega @ bread, (1.0 + phi) / (1.0 - phi), lags


def _inverse_normal_matrix(jac: FloatArray) -> FloatArray:
    """``(J^T J)^-1`` with the columns equilibrated first (levels and dynamics differ by orders
    of magnitude). A parameter the record cannot determine (J^T J singular in its direction)
    gets a huge variance, never the small one a pseudo-inverse would report."""
    norms = np.linalg.norm(jac, axis=0)
    norms[norms == 0.0] = 1.0
    scaled = jac / norms
    try:
        inverse = np.linalg.inv(scaled.T @ scaled)
    except np.linalg.LinAlgError:
        inverse = np.full((jac.shape[1], jac.shape[1]), np.inf)
    return inverse / np.outer(norms, norms)


def _limit_frequency_of(x: FloatArray, kind: str, T: float) -> float:
    return ModuleModel(_params(x, kind, T)).limit_frequency_hz()


def classical_covariance(jac: FloatArray, residuals: FloatArray) -> FloatArray:
    """``s^2 (J^T J)^-1`` with ``s^2 = RSS / (n - p)`` of the (prewhitened) residuals.

    Where the information on a parameter sits in one or two samples (the kink of a dead time
    in a first-order response), the HAC estimate rests on those samples' residuals alone and
    can come out near zero by chance; the classical estimate uses the record's mean residual
    power instead (carrier ripple and the digitiser's white noise included).
    """
    n, p = jac.shape
    return float(residuals @ residuals) / max(n - p, 1) * _inverse_normal_matrix(jac)


def _at_bounds(raw: _RawFit, T: float, dt: float) -> tuple[str, ...]:
    """The time constant or dead time the fit left on a bound of its search (within 0.1 % of
    the bound's own size): there the model found no interior optimum, and the parameter's value
    and its covariance-based U say little. (A ratio of 0 or 1 is a model's own edge case.)"""
    lo, hi = _bounds(raw.kind, T, dt)
    out = []
    for i, name in enumerate(_DYNAMICS[raw.kind], start=2):
        if name in ("tau", "dead_time") and (
            raw.x[i] - lo[i] <= 1e-3 * abs(lo[i]) or hi[i] - raw.x[i] <= 1e-3 * abs(hi[i])
        ):
            out.append(name)
    return tuple(out)


def _to_stepfit(
    raw: _RawFit, n: int, s: float, T: float, p_value: float = math.nan, dt: float = 0.0
) -> StepFit:
    params = _params(raw.x, raw.kind, T)
    jac = np.asarray(raw.jac, dtype=float)
    residuals = np.asarray(raw.residuals, dtype=float)
    hac, inflation, lags = hac_covariance(jac, residuals)
    classical = classical_covariance(jac, residuals)

    def u(gradient: FloatArray, local: bool = False) -> float:
        """Standard uncertainty of a function of the parameters, propagated with all
        correlations (GUM 5.2.2 eq. 13) from the HAC covariance; for a ``local`` quantity (one
        the record pins down in a few samples: the dead time's kink) the larger of the HAC and
        the classical estimate."""
        variance = float(gradient @ hac @ gradient)
        if local:
            variance = max(variance, float(gradient @ classical @ gradient))
        return math.sqrt(max(variance, 0.0))

    def unit(i: int) -> FloatArray:
        e = np.zeros(len(raw.x))
        e[i] = 1.0
        return e

    names = _DYNAMICS[raw.kind]
    index = {name: 2 + i for i, name in enumerate(names)}
    stderr = {
        "initial_a": u(unit(0), local=True) * s,
        "final_a": u(unit(1)) * s,
        "tau_s": u(unit(index["tau"])) * T,
        "dead_time_s": u(unit(index["dead_time"]), local=True) * T,
    }
    # gradients by central differences in the scaled parameters (delta method, GUM 5.1.3)
    f_c = ModuleModel(params).limit_frequency_hz()
    grad = np.zeros(len(raw.x))
    for i in range(2, len(raw.x)):
        h = 1e-6 * max(abs(raw.x[i]), 1e-3)
        up, down = raw.x.copy(), raw.x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (
            _limit_frequency_of(up, raw.kind, T) - _limit_frequency_of(down, raw.kind, T)
        ) / (2.0 * h)
    u_fc = u(grad)
    if raw.kind == "two-pole":
        # tau2 = r tau (scaled): gradient (r, tau) in the (tau, r) components
        g = np.zeros(len(raw.x))
        g[index["tau"]], g[index["ratio"]] = raw.x[index["ratio"]], raw.x[index["tau"]]
        stderr["tau2_s"] = u(g) * T
    if raw.kind == "resonant":
        stderr["resonance_hz"] = u(unit(index["omega_n"])) / (2.0 * math.pi * T)
        stderr["resonance_damping"] = u(unit(index["zeta"]))
    model = ModuleModel(params)
    return StepFit(
        model=raw.kind,
        tau_s=params.tau_s,
        tau2_s=params.tau2_s,
        dead_time_s=params.dead_time_s,
        initial_a=float(raw.x[0] * s),
        final_a=float(raw.x[1] * s),
        rms_residual_a=math.sqrt(float(np.mean(raw.plain[raw.record_start :] ** 2))) * s,
        limit_frequency_hz=f_c,
        rise_time_s=model.rise_time_s(),
        stderr=stderr,
        n_samples=n,
        two_pole_p_value=p_value,
        resonance_hz=params.resonance_hz,
        resonance_damping=params.resonance_damping,
        limit_frequency_u_hz=u_fc,
        noise_inflation=inflation,
        hac_lags=lags,
        level_dof=max(raw.record_start * (1.0 - raw.phi) / (1.0 + raw.phi), 1.0),
        at_bounds=_at_bounds(raw, T, dt) if dt > 0.0 else (),
    )


def _f_test(simple: _RawFit, complex_: _RawFit, n: int) -> float:
    """p-value that ``complex_`` improves on ``simple`` by chance: F-test on the residual sums
    of squares of the two prewhitened fits (same ``phi``), ``extra`` added parameters."""
    extra = len(complex_.x) - len(simple.x)
    dof = n - len(complex_.x)
    numerical_floor = n * (1e-9) ** 2  # rms 1e-9 of the step: exact fit, nothing to improve
    if simple.rss <= numerical_floor or complex_.rss >= simple.rss or dof <= 1:
        return 1.0
    if complex_.rss <= 0.0:
        return 0.0
    f_stat = (simple.rss - complex_.rss) / extra / (complex_.rss / dof)
    # F(extra, dof) survival function; scipy.stats.f.sf is this same special function, but
    # importing scipy.stats costs every run ~0.3 s
    return float(special.fdtrc(extra, dof, f_stat))


def fit_step(*args: object, **kwargs: object) -> StepFit:
    """:func:`_fit_step` with one BLAS thread: its matrices are a few thousand by six, where
    a multi-threaded BLAS spends more on synchronisation than on work (about 5x slower on two
    busy cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_step(*args, **kwargs)  # type: ignore[arg-type]


def _fit_step(
    t_s: ArrayLike,
    y_a: ArrayLike,
    t_step_s: float = 0.0,
    model: Literal["first-order", "two-pole", "resonant", "auto"] = "auto",
    initial_a: float | None = None,
    baseline_a: ArrayLike | None = None,
    independent_samples: bool = False,
    aperture_s: float = 0.0,
) -> StepFit:
    """Fit the reference step response to a record with ``scipy.optimize.least_squares``.

    The model is ``y(t) = y0 + (y1 - y0) h(t - t_step)`` with ``h`` the reference
    :meth:`ModuleModel.unit_step_response` (docs/metrology.md section 5): one pole and dead time
    (``first-order``), plus a second real pole ``tau2 = r tau``, ``0 <= r <= 1``
    (``two-pole``), or plus a resonant second-order stage (natural frequency, damping ratio
    0.05 ... 1.5: ``resonant``); ``y0``/``y1`` free. Bounds: ``tau`` in [10 us, 1 s], dead time
    in [-2 samples, 50 ms] (room below 0 so an estimate near 0 is not biased by the bound).
    Starting values come from :func:`analyse_step` (``tau ~ rise time / ln 9``; dead time from
    ``t10``; a resonance from the overshoot and the time of the peak). Internally currents are
    scaled by the step and times by the starting ``tau``. ``t_s`` must be the time of each
    sample's *aperture centre* after the trigger: a digitiser sample is the mean over its
    aperture.

    ``model="auto"`` fits the first-order and two-pole structures, and the resonant one when
    the record overshoots by more than 0.5 %; a more complex structure is kept only if an
    F-test at 1 % (corrected for the residuals' correlation, :func:`_f_test`) rejects the
    simpler one. The reported ``f_c`` is the -3 dB frequency of the kept transfer function,
    its uncertainty from the full (HAC) covariance.

    ``baseline_a`` are samples of the same digitiser taken at the initial level before the
    step (a record that starts at the trigger has none): they are fitted together with the
    record as a separate segment. Without them the initial level and the dead time of a
    first-order response are not separable (``y0 + (y1 - y0)(1 - exp(-(t - t_d) / tau))``
    depends on them only through ``(y1 - y0) exp(t_d / tau)`` once every sample is past
    ``t_d``), and the dead time's uncertainty says so.

    ``independent_samples``: each sample comes from its own repetition of the step
    (equivalent-time sampling, docs/equivalent-time.md), so neighbouring samples share no
    module noise and the module's filter sets no floor under the noise correlation.
    ``aperture_s``: each sample is the mean over an aperture that long around its time (an
    integrating reading); the model is averaged alike, so a long aperture biases neither the
    dead time nor ``f_c`` (a digitiser's short aperture can be left at 0).

    Raises:
        ValueError: as :func:`analyse_step`, or for an unknown ``model``.
    """
    if model not in ("first-order", "two-pole", "resonant", "auto"):
        raise ValueError(
            f"unknown step model {model!r}: use 'first-order', 'two-pole', 'resonant' or 'auto'"
        )
    t, y = _as_record(t_s, y_a)
    dt = float(np.median(np.diff(t)))
    base = np.asarray([] if baseline_a is None else baseline_a, dtype=float)
    if base.size and initial_a is None:
        initial_a = float(np.median(base))
    m = analyse_step(t, y, t_step_s, initial_a=initial_a)
    # the baseline as a segment long before the step (the model is y0 there)
    t_rel = np.concatenate([-1.0 - dt * np.arange(base.size, 0, -1), t - t_step_s])
    y = np.concatenate([base, y])
    segments = (0, base.size) if base.size else (0,)
    n = len(y)

    s = abs(m.step_a)
    tau0 = min(max(m.rise_time_s / math.log(9.0), TAU_BOUNDS_S[0]), TAU_BOUNDS_S[1])
    T = tau0
    td0 = max(m.t10_s - tau0 * math.log(10.0 / 9.0), 0.0)
    y0s, y1s = m.initial_a / s, m.final_a / s

    def fit(kind: StepModel, starts: list[FloatArray], phi: float = 0.0) -> _RawFit:
        return _fit_one(t_rel, y, kind, starts, s, T, dt, phi, segments, aperture_s)

    fo = fit("first-order", [np.array([y0s, y1s, 1.0, td0 / T])])
    # generalised least squares: whiten for the AR(1) noise the first-order fit leaves (a
    # misfit of a more complex unit only makes phi larger: still consistent, less efficient).
    # The module's own output filter shapes its noise, so phi is at least exp(-dt / tau): a
    # carrier ripple aliased near the Nyquist frequency would otherwise pull the residuals'
    # estimate down and leave the strongly correlated part in the "whitened" residuals.
    phi_filter = 0.0 if independent_samples else math.exp(-dt / (fo.x[2] * T))
    phi = max(_ar_root(fo.plain), phi_filter)
    levels = [fo.x[0], fo.x[1]]
    tau_fo, td_fo = fo.x[2], fo.x[3]  # scaled
    delay = tau_fo + max(td_fo, 0.0)
    candidates: list[_RawFit] = []
    if model in ("first-order", "auto"):
        candidates.append(fit("first-order", [fo.x], phi))
    if model in ("two-pole", "auto"):
        # near the first-order optimum, and a ratio that keeps the mean delay
        starts = [
            np.array([*levels, tau_fo, 0.05, td_fo]),
            np.array([*levels, delay / 1.5, 0.5, 0.0]),
        ]
        candidates.append(fit("two-pole", starts, phi))
    if model == "resonant" or (model == "auto" and m.overshoot_pct > RESONANT_OVERSHOOT_PCT):
        starts = _resonant_starts(t_rel, y / s, m, fo, T)
        candidates.append(fit("resonant", starts, phi))
    # the noise estimate again, from the residuals of the best-fitting structure (iterated GLS)
    best = min(candidates, key=lambda c: c.rss)
    phi_best = max(_ar_root(best.plain), phi_filter)
    if abs(phi_best - phi) > 0.1 * (1.0 - phi):
        candidates = [fit(c.kind, [c.x], phi_best) for c in candidates]
    chosen, p_value = candidates[0], math.nan
    for candidate in candidates[1:]:
        p = _f_test(chosen, candidate, n)
        if p < F_TEST_ALPHA:
            chosen, p_value = candidate, p
        elif chosen is candidates[0] and candidate.kind == "two-pole":
            p_value = p
    return _to_stepfit(chosen, n, s, T, p_value, dt)


def _resonant_starts(
    t_rel: FloatArray, ys: FloatArray, m: StepMetrics, fo: _RawFit, T: float
) -> list[FloatArray]:
    """Starting points for the resonant structure: the best two of a coarse grid.

    The grid spans the first pole (a fraction of the first-order fit's), the natural
    frequency around the one the ringing suggests (a second-order stage alone peaks at
    ``pi / omega_d`` and overshoots by ``exp(-pi zeta / sqrt(1 - zeta^2))``; the pole in front
    delays and damps both) and the damping ratio. At each node the two levels are solved by
    linear least squares, so the grid costs one response evaluation per node.
    """
    os_frac = min(max(m.overshoot_pct / 100.0, 1e-3), 0.9)
    log_os = math.log(os_frac)
    zeta0 = min(max(-log_os / math.sqrt(math.pi**2 + log_os**2), 0.1), 0.9)
    after = t_rel >= 0.0
    dev = m.direction * (ys[after] - m.final_a / abs(m.step_a))
    peak = float(t_rel[after][int(np.argmax(dev))])
    wn0 = math.pi / max(peak, 1e-6) / math.sqrt(1.0 - zeta0 * zeta0) * T
    td = max(fo.x[3], 0.0)
    nodes = []
    for tau_factor in (0.2, 0.4, 0.6, 0.8):
        for wn_factor in (0.6, 0.8, 1.0, 1.25, 1.6):
            for zeta in (0.2, 0.35, 0.5, 0.7, 0.9):
                x = np.array(
                    [0.0, 1.0, fo.x[2] * tau_factor, min(max(wn0 * wn_factor, 0.1), 40.0), zeta, td]
                )
                h = ModuleModel(_params(x, "resonant", T)).unit_step_response(t_rel)
                design = np.column_stack([1.0 - h, h])
                levels, rss, *_ = np.linalg.lstsq(design, ys, rcond=None)
                x[0], x[1] = levels
                nodes.append((float(rss[0]) if len(rss) else math.inf, x))
    nodes.sort(key=lambda node: node[0])
    return [x for _, x in nodes[:2]]


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
