"""Process performance indices (Pp, Ppk) of a sample from an incoming lot, with confidence bounds.

A sample drawn from a received lot has no rational subgroups and no time order, so the
indices computed here are the *overall performance* indices Pp / Ppk (one overall standard
deviation), not the within-subgroup capability indices Cp / Cpk (AIAG *Statistical Process
Control* reference manual, 2nd ed. 2005, ch. 4; ISO 22514-2:2017, which names the
performance indices Pp, Ppk, PpL, PpU).  docs/metrology.md section 7.2 gives the formulas:

* ``Pp  = (USL - LSL) / (6 sigma)``,  ``PpU = (USL - mean) / (3 sigma)``,
  ``PpL = (mean - LSL) / (3 sigma)``,  ``Ppk = min(PpU, PpL)``;
  with only one limit, Pp is undefined and Ppk is the one-sided index.
* measurement-variance removal (optional): ``sigma_process = sqrt(max(s_obs^2 - u_meas^2, 0))``
  with ``u_meas`` the standard measurement uncertainty; both ``std`` (= s_obs) and
  ``sigma_process`` are reported.
* expected fraction nonconforming under normality: ``Phi(-3 PpU) + Phi(-3 PpL)`` (only the
  terms whose limit exists).
* two-sided confidence interval of Pp from the chi-square distribution of the sample variance:
  ``Pp * sqrt(chi2_{alpha/2, n-1} / (n-1)) ... Pp * sqrt(chi2_{1-alpha/2, n-1} / (n-1))``
  (chi2_p = lower-tail quantile; e.g. Kane 1986, Montgomery *Introduction to SQC*).
* one-sided lower confidence bound of Ppk by Bissell's normal approximation
  (A. F. Bissell, "How reliable is your capability index?", *Applied Statistics* 39(3),
  331-340, 1990): ``Ppk - z_{1-alpha} sqrt(1/(9n) + Ppk^2/(2(n-1)))``; the same formula is used
  for the one-sided index when only one limit exists.

``confidence`` (default 0.95) is the two-sided level of the Pp interval and the one-sided
level of the Ppk lower bound.  When measurement variance is removed the bounds still use
n - 1 degrees of freedom; that is an approximation (the variance of ``s_obs^2 - u_meas^2``
is that of ``s_obs^2``, so the relative uncertainty of ``sigma_process`` is larger than the
formulas assume) -- treat the bounds as optimistic in that case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "ProcessPerformance",
    "bissell_lower_bound",
    "pp_confidence_interval",
    "process_performance",
]


@dataclass(frozen=True)
class ProcessPerformance:
    """Result of :func:`process_performance` (indices are None where a limit is missing)."""

    n: int
    mean: float
    std: float  # observed sample standard deviation s_obs (ddof = 1)
    u_meas: float  # standard measurement uncertainty removed (0 = nothing removed)
    sigma_process: float  # sqrt(max(s_obs^2 - u_meas^2, 0)); equals std when u_meas = 0
    lsl: float | None
    usl: float | None
    pp: float | None
    pp_lower: float | None
    pp_upper: float | None
    ppu: float | None
    ppl: float | None
    ppk: float
    ppk_lower: float
    confidence: float
    expected_fraction_nonconforming: float

    @property
    def expected_ppm(self) -> float:
        return 1e6 * self.expected_fraction_nonconforming

    @property
    def one_sided(self) -> bool:
        return self.lsl is None or self.usl is None

    @property
    def measurement_variance_removed(self) -> bool:
        return self.u_meas > 0.0


def _check_n_confidence(n: int, confidence: float) -> None:
    if n < 2:
        raise ValueError(f"at least 2 values are needed, got n = {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def pp_confidence_interval(pp: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided chi-square confidence interval of Pp (or Cp) from n values."""
    _check_n_confidence(n, confidence)
    alpha = 1.0 - confidence
    dof = n - 1
    lower = pp * math.sqrt(float(stats.chi2.ppf(alpha / 2.0, dof)) / dof)
    upper = pp * math.sqrt(float(stats.chi2.ppf(1.0 - alpha / 2.0, dof)) / dof)
    return lower, upper


def bissell_lower_bound(ppk: float, n: int, confidence: float = 0.95) -> float:
    """One-sided lower confidence bound of Ppk (or Cpk) by Bissell's approximation (1990)."""
    _check_n_confidence(n, confidence)
    z = float(stats.norm.ppf(confidence))
    return ppk - z * math.sqrt(1.0 / (9.0 * n) + ppk * ppk / (2.0 * (n - 1)))


def process_performance(
    values: ArrayLike,
    lsl: float | None = None,
    usl: float | None = None,
    *,
    u_meas: float = 0.0,
    confidence: float = 0.95,
) -> ProcessPerformance:
    """Pp / Ppk of ``values`` against the limits, with confidence bounds (module docstring).

    At least one of ``lsl`` / ``usl`` is required.  ``u_meas`` > 0 removes that standard
    measurement uncertainty from the observed spread.  Raises ``ValueError`` for fewer than 2
    values, non-finite values, no limit, ``lsl >= usl``, a negative ``u_meas``, zero observed
    spread, or a measurement uncertainty that leaves no process spread.
    """
    x = np.asarray(values, dtype=float).ravel()
    n = int(x.size)
    _check_n_confidence(n, confidence)
    if not np.all(np.isfinite(x)):
        raise ValueError("values must all be finite numbers")
    if lsl is None and usl is None:
        raise ValueError("at least one specification limit (lsl or usl) is required")
    for name, limit in (("lsl", lsl), ("usl", usl)):
        if limit is not None and not math.isfinite(limit):
            raise ValueError(f"{name} must be finite, got {limit!r}")
    if lsl is not None and usl is not None and not lsl < usl:
        raise ValueError(f"lsl ({lsl}) must be below usl ({usl})")
    if not (math.isfinite(u_meas) and u_meas >= 0.0):
        raise ValueError(f"u_meas must be a finite non-negative number, got {u_meas!r}")

    mean = float(np.mean(x))
    std = float(np.std(x, ddof=1))
    if std == 0.0:
        raise ValueError("all values are identical: the spread is zero and Pp/Ppk are undefined")
    sigma = math.sqrt(max(std * std - u_meas * u_meas, 0.0))
    if sigma == 0.0:
        raise ValueError(
            f"measurement uncertainty u_meas = {u_meas:g} is not smaller than the observed "
            f"standard deviation {std:g}: no process spread is left (the measurement system "
            "cannot resolve the process)"
        )

    ppu = (usl - mean) / (3.0 * sigma) if usl is not None else None
    ppl = (mean - lsl) / (3.0 * sigma) if lsl is not None else None
    ppk = min(v for v in (ppu, ppl) if v is not None)
    if lsl is not None and usl is not None:
        pp: float | None = (usl - lsl) / (6.0 * sigma)
        pp_lower, pp_upper = pp_confidence_interval(pp, n, confidence)
    else:
        pp = pp_lower = pp_upper = None
    fraction = sum(float(stats.norm.cdf(-3.0 * v)) for v in (ppu, ppl) if v is not None)

    return ProcessPerformance(
        n=n,
        mean=mean,
        std=std,
        u_meas=float(u_meas),
        sigma_process=sigma,
        lsl=None if lsl is None else float(lsl),
        usl=None if usl is None else float(usl),
        pp=pp,
        pp_lower=pp_lower,
        pp_upper=pp_upper,
        ppu=ppu,
        ppl=ppl,
        ppk=ppk,
        ppk_lower=bissell_lower_bound(ppk, n, confidence),
        confidence=confidence,
        expected_fraction_nonconforming=fraction,
    )
