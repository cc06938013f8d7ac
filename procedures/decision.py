"""Conformity decisions with measurement uncertainty (``docs/metrology.md`` section 3).

Pure numpy/scipy; no other project imports.

A characteristic is judged from a measured value ``y``, its standard uncertainty ``u`` (k = 1)
with its effective degrees of freedom ``nu``, a coverage factor ``k`` (expanded uncertainty
``U = k u``; by default ``k = t_0.975(nu)``, GUM G.4.1, so that ``y +- U`` covers the measurand
with 95 %), tolerance limits ``T_L``/``T_U`` (either may be absent for a one-sided limit) and a
decision rule:

======================  =====================================================  ===============
rule                    source                                                 statements
======================  =====================================================  ===============
guarded-acceptance      ILAC-G8:09/2019 section 4.2.3, w = r U (r = 1)         non-binary
simple-acceptance       ILAC-G8:09/2019 section 4.2.1, w = 0                   PASS / FAIL
guarded-rejection       ISO 14253-1:2017, FAIL only outside T enlarged by w    PASS / FAIL
managed-guard-band      Dobbert (Z540.3 global PFA <= 2 %), w = M(TUR) U       PASS / FAIL
informative             no limits judged                                       INFORMATIVE
======================  =====================================================  ===============

Conventions used throughout (and recorded in every :class:`Decision`):

* Tolerance, acceptance and rejection intervals are closed: a result exactly on a limit is on
  the favourable side of it.
* *Acceptance limits* bound the zone in which the statement is PASS; *rejection limits* bound
  the zone outside which the statement is FAIL. For the binary rules the two coincide; for the
  non-binary ILAC rule the conditional statements lie between them. A missing side (one-sided
  tolerance) is ``None`` = unbounded; for the informative rule all four are ``None``.
* With a guard band ``w > 0`` and ``w >= (T_U - T_L) / 2`` (TUR <= 1 for r = 1) the acceptance
  zone is *empty*: the formula values ``A_L = T_L + w`` and ``A_U = T_U - w`` are recorded as
  computed (so ``A_L >= A_U``) and :attr:`Decision.acceptance_empty` is true, but the statement
  logic never uses the inverted interval -- no result can PASS. TUR = 1 exactly (a zero-width
  acceptance "interval") counts as empty: at TUR 1 a result at the centre still has a specific
  false-accept probability of 2 x 2.5 % = 5 %, above the <= 2.5 % ILAC-G8 section 4.2.2
  associates with a guarded PASS.
* The measurand's state of knowledge is the scaled and shifted Student-t distribution
  ``y + u t_nu`` (GUM G.3, JCGM 101:2008 6.4.9); with ``nu = inf`` it is the normal
  ``N(y, u^2)`` of JCGM 106. With ``k = t_0.975(nu)`` and ``w = U``, a result exactly on an
  acceptance limit has a specific false-accept probability of exactly 2.5 % whatever ``nu``.
* A non-finite result (NaN for a reading that could not be taken, +-inf for an overload) is
  not an error: under any judged rule it is FAIL with conformance probability 0 -- a
  characteristic that could not be measured cannot be accepted. Under the informative rule the
  statement stays INFORMATIVE.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri, stdtr, stdtrit

__all__ = [
    "Decision",
    "Rule",
    "Statement",
    "combine",
    "conformance_probability",
    "coverage_factor",
    "decide",
    "dobbert_multiplier",
    "global_risks",
    "rectangular",
    "tur",
    "worst",
]


class Rule(StrEnum):
    """Decision rule applied to one characteristic (docs/metrology.md section 3.1)."""

    #: ILAC-G8:09/2019 section 4.2.3 non-binary statement, guard band w = r U (default r = 1,
    #: i.e. the section 4.2.2 guard band: specific PFA <= 2.5 % for a PASS at k = t_0.975(nu)).
    GUARDED_ACCEPTANCE = "guarded-acceptance"
    #: ILAC-G8:09/2019 section 4.2.1 binary statement, w = 0 ("shared risk", PFA up to 50 %).
    SIMPLE_ACCEPTANCE = "simple-acceptance"
    #: ISO 14253-1:2017 rule for a claim of nonconformance against the supplier: FAIL only if y
    #: is outside the tolerance enlarged by w = r U (default r = 1), else PASS.
    GUARDED_REJECTION = "guarded-rejection"
    #: Dobbert managed guard band: w = M U, M = max(0, 1.04 - exp(0.38 ln(TUR) - 0.54)),
    #: binary PASS/FAIL on the acceptance limits (global PFA <= 2 %, ANSI/NCSL Z540.3).
    MANAGED_GUARD_BAND = "managed-guard-band"
    #: Report only; no limits are judged.
    INFORMATIVE = "informative"


class Statement(StrEnum):
    """Statement of conformity (ILAC-G8:09/2019 section 4.2.3 vocabulary plus INFORMATIVE)."""

    PASS = "pass"
    CONDITIONAL_PASS = "conditional pass"
    CONDITIONAL_FAIL = "conditional fail"
    FAIL = "fail"
    INFORMATIVE = "informative"

    @property
    def severity(self) -> int:
        """Ordering for aggregation: INFORMATIVE 0 < PASS 1 < CONDITIONAL PASS 2 <
        CONDITIONAL FAIL 3 < FAIL 4."""
        return _SEVERITY[self]


_SEVERITY: dict[Statement, int] = {
    Statement.INFORMATIVE: 0,
    Statement.PASS: 1,
    Statement.CONDITIONAL_PASS: 2,
    Statement.CONDITIONAL_FAIL: 3,
    Statement.FAIL: 4,
}


def worst(statements: Iterable[Statement]) -> Statement:
    """Most severe statement of ``statements`` (by :attr:`Statement.severity`).

    Used to roll characteristic statements up to a unit statement: FAIL dominates, then
    CONDITIONAL FAIL, CONDITIONAL PASS, PASS, INFORMATIVE. An empty iterable gives INFORMATIVE
    (nothing was judged, so nothing can be claimed either way); likewise a set made only of
    INFORMATIVE statements. Plain strings equal to a statement value are accepted.
    """
    result = Statement.INFORMATIVE
    for s in statements:
        st = Statement(s)
        if st.severity > result.severity:
            result = st
    return result


# ---------------------------------------------------------------------------------------------
# Elementary formulas


def _check_limit(name: str, value: float | None, bad_inf: float) -> float | None:
    """Normalise a tolerance limit: None/the unbounded infinity -> None; NaN -> ValueError."""
    if value is None:
        return None
    v = float(value)
    if math.isnan(v) or v == bad_inf:
        raise ValueError(f"{name} limit must be finite or None, got {value!r}")
    if math.isinf(v):
        return None
    return v


def _limits(lower: float | None, upper: float | None) -> tuple[float | None, float | None]:
    lo = _check_limit("lower", lower, math.inf)
    hi = _check_limit("upper", upper, -math.inf)
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"lower limit {lo!r} is above upper limit {hi!r}")
    return lo, hi


def _check_nonneg(name: str, value: float) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def _cdf(z: float, dof: float) -> float:
    """Standard normal (``dof = inf``) or Student-t CDF."""
    return float(ndtr(z)) if math.isinf(dof) else float(stdtr(dof, z))


def coverage_factor(dof: float, coverage: float = 0.95) -> float:
    """Coverage factor ``k_p = t_{(1+p)/2}(nu)`` (GUM G.3.2, G.4.1 step 4, table G.2).

    ``nu = inf`` gives the normal quantile (1.960 for 95 %). Non-integer ``nu`` (from
    Welch-Satterthwaite) is used as it is: scipy's t quantile interpolates smoothly between the
    table's integers, where GUM G.4.1 note 1 truncates to the next lower integer (a difference
    below 1 % of k from nu = 3 on).
    """
    nu = float(dof)
    p = float(coverage)
    if not 0.0 < p < 1.0:
        raise ValueError(f"coverage probability must be between 0 and 1, got {coverage!r}")
    if math.isnan(nu) or nu <= 0.0:
        raise ValueError(f"degrees of freedom must be > 0, got {dof!r}")
    q = 0.5 * (1.0 + p)
    return float(ndtri(q)) if math.isinf(nu) else float(stdtrit(nu, q))


def conformance_probability(
    y: float, u: float, lower: float | None, upper: float | None, dof: float = math.inf
) -> float:
    """Specific conformance probability, JCGM 106:2012 section 7 (eq. 7.1).

    The measurand's PDF is the normal ``N(y, u^2)`` for ``dof = inf`` (JCGM 106 7.2) or, for a
    standard uncertainty with finite effective degrees of freedom, the scaled and shifted
    Student-t ``y + u t_nu`` (GUM G.3; JCGM 101:2008 6.4.9; JCGM 106 7.3 uses any PDF)::

        p_c = F((T_U - y)/u) - F((T_L - y)/u)        two-sided
        p_c = F((T_U - y)/u)                           upper limit only
        p_c = 1 - F((T_L - y)/u)                       lower limit only

    with ``F`` the standard normal or ``t_nu`` CDF (JCGM 106:2012 worked example 7.4 gives 0.66
    for y = 13.6, u = 1.8, T_L = 12.5, T_U = 16.3, normal). If ``u == 0`` the result is 1.0
    inside the closed tolerance and 0.0 outside. No limit at all gives 1.0. A non-finite ``y``
    gives 0.0 (nothing measured, nothing demonstrated). The specific probability of false
    acceptance of an accepted item is ``1 - p_c``, of false rejection of a rejected item ``p_c``.
    """
    lo, hi = _limits(lower, upper)
    u = _check_nonneg("standard uncertainty u", u)
    nu = float(dof)
    if math.isnan(nu) or nu <= 0.0:
        raise ValueError(f"degrees of freedom must be > 0, got {dof!r}")
    if lo is None and hi is None:
        return 1.0
    y = float(y)
    if not math.isfinite(y):
        return 0.0
    if u == 0.0:
        inside = (lo is None or y >= lo) and (hi is None or y <= hi)
        return 1.0 if inside else 0.0
    a = -math.inf if lo is None else (lo - y) / u  # standardised lower limit
    b = math.inf if hi is None else (hi - y) / u  # standardised upper limit
    # Evaluate with whichever tails are small, so that 1 - p_c keeps its relative precision.
    if a < 0.0 < b:
        p = 1.0 - _cdf(-b, nu) - _cdf(a, nu)
    elif b <= 0.0:
        p = _cdf(b, nu) - _cdf(a, nu)
    else:
        p = _cdf(-a, nu) - _cdf(-b, nu)
    return min(1.0, max(0.0, p))


def tur(
    lower: float | None,
    upper: float | None,
    expanded_uncertainty: float,
    *,
    reference: float | None = None,
) -> float | None:
    """Test uncertainty ratio, ANSI/NCSL Z540.3 (-2006, Handbook section 3.4).

    Two-sided tolerance::

        TUR = (T_U - T_L) / (2 U)          (= T / U for a symmetric +-T)

    with ``U`` the expanded uncertainty at 95 % coverage. Z540.3 defines no span for a
    one-sided limit; here ``TUR = |limit - reference| / U`` is used only if a ``reference``
    value (nominal) is given, else ``None``. ``reference`` is ignored for two-sided limits.
    No limit at all gives ``None``. ``U == 0`` gives ``math.inf``.
    """
    lo, hi = _limits(lower, upper)
    big_u = _check_nonneg("expanded uncertainty U", expanded_uncertainty)
    if lo is not None and hi is not None:
        half_span = (hi - lo) / 2.0
    elif lo is None and hi is None:
        return None
    else:
        if reference is None:
            return None
        ref = float(reference)
        if not math.isfinite(ref):
            raise ValueError(f"reference must be finite, got {reference!r}")
        limit = lo if lo is not None else hi
        assert limit is not None
        half_span = abs(limit - ref)
    if big_u == 0.0:
        return math.inf
    return half_span / big_u


def dobbert_multiplier(tur: float) -> float:
    """Guard-band multiplier M of Dobbert's managed guard band (w = M U).

    Dobbert, "A Guard-Band Strategy for Managing False-Accept Risk", NCSLI Measure 3 (4), 2008,
    used to meet the ANSI/NCSL Z540.3 global PFA <= 2 % requirement without a prior::

        M = 1.04 - exp(0.38 ln(TUR) - 0.54),   clipped to M >= 0

    giving M = 0.457 at TUR 1, 0.282 at 2, 0.155 at 3, 0.053 at 4 and 0 from TUR ~ 4.59 on
    (docs/metrology.md section 3.1). ``TUR = 0`` gives the limit 1.04, ``TUR = inf`` gives 0.
    """
    t = float(tur)
    if math.isnan(t) or t < 0.0:
        raise ValueError(f"TUR must be >= 0, got {tur!r}")
    if t == 0.0:
        return 1.04
    if math.isinf(t):
        return 0.0
    return max(0.0, 1.04 - math.exp(0.38 * math.log(t) - 0.54))


def combine(*components: float) -> float:
    """Combined standard uncertainty of uncorrelated inputs with unit sensitivity.

    GUM (JCGM 100:2008) section 5.1.2, eq. (10) with all c_i = 1::

        u_c = sqrt(sum u_i^2)

    No component gives 0.0. Every component must be finite and >= 0.
    """
    values = [_check_nonneg("standard uncertainty component", c) for c in components]
    return math.hypot(*values) if values else 0.0


def rectangular(half_width: float) -> float:
    """Standard uncertainty of a rectangular distribution of half-width ``a``.

    GUM (JCGM 100:2008) section 4.3.7, eq. (7)::

        u = a / sqrt(3)
    """
    a = _check_nonneg("half-width", half_width)
    return a / math.sqrt(3.0)


def global_risks(
    lower: float | None,
    upper: float | None,
    acceptance_lower: float | None,
    acceptance_upper: float | None,
    u: float,
    process_mean: float,
    process_sigma: float,
) -> tuple[float, float]:
    """Global consumer and producer risks, JCGM 106:2012 section 9 (eqs. 9.3-9.6).

    Prior process distribution eta ~ N(mu_p, sigma_p^2), measurement y | eta ~ N(eta, u^2)
    (docs/metrology.md section 3.2)::

        R_C = int_{eta not in [T_L, T_U]} phi(eta; mu_p, sigma_p) P_acc(eta) d eta
        R_P = int_{eta in [T_L, T_U]}     phi(eta; mu_p, sigma_p) (1 - P_acc(eta)) d eta
        P_acc(eta) = Phi((A_U - eta)/u) - Phi((A_L - eta)/u)

    evaluated by 1-D quadrature (``scipy.integrate.quad``), split at the tolerance and
    acceptance limits. ``None`` limits are unbounded. An empty acceptance zone (inverted
    acceptance limits ``acceptance_lower > acceptance_upper``, or limits meeting at a point
    inside a tolerance of positive span -- the guard band w >= span/2 of the module docstring)
    accepts nothing, so R_C = 0 and R_P = P(eta in tolerance). Pass the acceptance limits of
    a :class:`Decision` for any rule (for guarded rejection they are the enlarged limits, for
    simple acceptance the tolerance limits). ``u == 0``
    (perfect measurement) and ``process_sigma == 0`` (every item at ``process_mean``) are
    handled exactly. Returns ``(R_C, R_P)`` as probabilities (not percent).
    """
    from scipy import integrate  # here only: importing it costs every run ~0.2 s

    lo, hi = _limits(lower, upper)
    a_lo = _check_limit("acceptance_lower", acceptance_lower, math.inf)
    a_hi = _check_limit("acceptance_upper", acceptance_upper, -math.inf)
    u = _check_nonneg("standard uncertainty u", u)
    sigma = _check_nonneg("process_sigma", process_sigma)
    mu = float(process_mean)
    if not math.isfinite(mu):
        raise ValueError(f"process_mean must be finite, got {process_mean!r}")

    # Inverted acceptance limits, or a point strictly inside a tolerance of positive span (the
    # w = span/2 case), accept nothing -- the same convention as decide().
    empty = (
        a_lo is not None
        and a_hi is not None
        and (a_lo > a_hi or (a_lo == a_hi and lo is not None and hi is not None and lo < hi))
    )
    tl = -math.inf if lo is None else lo
    tu = math.inf if hi is None else hi
    al = -math.inf if a_lo is None else a_lo
    au = math.inf if a_hi is None else a_hi

    def p_acc(eta: float) -> float:
        if empty:
            return 0.0
        if u == 0.0:
            return 1.0 if al <= eta <= au else 0.0
        hi_z = (au - eta) / u
        lo_z = (al - eta) / u
        return max(0.0, float(ndtr(hi_z)) - float(ndtr(lo_z)))

    def in_tol(eta: float) -> bool:
        return tl <= eta <= tu

    if sigma == 0.0:
        p = p_acc(mu)
        return (0.0, 1.0 - p) if in_tol(mu) else (p, 0.0)

    def pdf(eta: float) -> float:
        z = (eta - mu) / sigma
        return math.exp(-0.5 * z * z) / (sigma * math.sqrt(2.0 * math.pi))

    # Integrate on segments between all points where the integrand changes character, over
    # mu_p +- 12 sigma_p (the prior mass outside is < 1e-32).
    span_lo, span_hi = mu - 12.0 * sigma, mu + 12.0 * sigma
    points = {span_lo, span_hi, mu}
    for x in (tl, tu, al, au):
        if math.isfinite(x):
            points.add(x)
            if u > 0.0:
                points.update((x - 6.0 * u, x + 6.0 * u))
    knots = sorted(p for p in points if span_lo <= p <= span_hi)

    r_c = 0.0
    r_p = 0.0
    for x0, x1 in itertools.pairwise(knots):
        if x1 <= x0:
            continue
        mid = 0.5 * (x0 + x1)
        if in_tol(mid):
            val, _ = integrate.quad(lambda e: pdf(e) * (1.0 - p_acc(e)), x0, x1, limit=200)
            r_p += val
        else:
            val, _ = integrate.quad(lambda e: pdf(e) * p_acc(e), x0, x1, limit=200)
            r_c += val
    return (min(1.0, max(0.0, r_c)), min(1.0, max(0.0, r_p)))


# ---------------------------------------------------------------------------------------------
# The decision record


def _json_float(x: float | None) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class Decision:
    """Everything needed to audit one conformity statement (docs/metrology.md section 3.2 note 2).

    ``lower``/``upper`` are the tolerance limits as specified (at the reference temperature);
    ``allowance`` widens them on both sides, giving :attr:`effective_lower`/:attr:`effective_upper`,
    from which the acceptance/rejection limits, ``conformance_probability`` and ``tur`` are
    computed. See the module docstring for the meaning of acceptance/rejection limits and of
    an empty acceptance zone.
    """

    y: float
    u: float
    k: float
    U: float
    w: float
    lower: float | None
    upper: float | None
    allowance: float
    acceptance_lower: float | None
    acceptance_upper: float | None
    rejection_lower: float | None
    rejection_upper: float | None
    rule: Rule
    statement: Statement
    conformance_probability: float
    tur: float | None
    #: effective guard-band multiplier (r, or Dobbert's M; 0 for simple acceptance)
    guard_multiplier: float = 0.0
    reference: float | None = None
    #: effective degrees of freedom of u (inf: normal; recorded as None in JSON)
    dof: float = math.inf

    @property
    def effective_lower(self) -> float | None:
        """Lower tolerance limit widened by the allowance (None if one-sided)."""
        return None if self.lower is None else self.lower - self.allowance

    @property
    def effective_upper(self) -> float | None:
        """Upper tolerance limit widened by the allowance (None if one-sided)."""
        return None if self.upper is None else self.upper + self.allowance

    @property
    def acceptance_empty(self) -> bool:
        """True if the guard band leaves no result that could PASS (w >= half the span)."""
        return _acceptance_empty(self.acceptance_lower, self.acceptance_upper, self.w)

    @property
    def specific_risk(self) -> float | None:
        """Specific risk of this statement (JCGM 106:2012 section 9.5.2).

        PFA = 1 - p_c for PASS / CONDITIONAL PASS, PFR = p_c for FAIL / CONDITIONAL FAIL,
        None for INFORMATIVE.
        """
        if self.statement in (Statement.PASS, Statement.CONDITIONAL_PASS):
            return 1.0 - self.conformance_probability
        if self.statement in (Statement.FAIL, Statement.CONDITIONAL_FAIL):
            return self.conformance_probability
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict: enums as their string values, None kept.

        Non-finite floats (a NaN result, an infinite TUR at u = 0) become None so the dict
        survives strict JSON (``json.dumps(..., allow_nan=False)``). The derived
        ``effective_lower``, ``effective_upper`` and ``acceptance_empty`` are included.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, StrEnum):
                out[f.name] = str(v.value)
            elif isinstance(v, bool):
                out[f.name] = v
            elif isinstance(v, (int, float, np.floating, np.integer)):
                out[f.name] = _json_float(float(v))
            else:
                out[f.name] = v
        out["effective_lower"] = _json_float(self.effective_lower)
        out["effective_upper"] = _json_float(self.effective_upper)
        out["acceptance_empty"] = self.acceptance_empty
        return out


def _acceptance_empty(a_lo: float | None, a_hi: float | None, w: float) -> bool:
    return w > 0.0 and a_lo is not None and a_hi is not None and a_lo >= a_hi


def _within(y: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or y >= lo) and (hi is None or y <= hi)


def _shift(x: float | None, d: float) -> float | None:
    return None if x is None else x + d


def decide(
    y: float,
    u: float,
    *,
    lower: float | None = None,
    upper: float | None = None,
    rule: Rule = Rule.GUARDED_ACCEPTANCE,
    k: float | None = None,
    guard_multiplier: float = 1.0,
    allowance: float = 0.0,
    reference: float | None = None,
    dof: float = math.inf,
    coverage: float = 0.95,
) -> Decision:
    """Judge one measured characteristic and return the auditable :class:`Decision`.

    Sources: ILAC-G8:09/2019 sections 4.2.1-4.2.3, ISO 14253-1:2017, JCGM 106:2012 sections 7
    and 8, GUM G.3-G.4 (coverage factor from the degrees of freedom), ANSI/NCSL Z540.3 (TUR),
    Dobbert managed guard band (docs/metrology.md section 3).

    ``dof`` is the effective degrees of freedom of ``u`` (Welch-Satterthwaite, see
    ``procedures.uncertainty``); ``k`` defaults to :func:`coverage_factor` ``(dof, coverage)``,
    i.e. ``t_0.975(nu)`` (1.96 for ``nu = inf``). An explicit ``k`` is used as given (e.g. a
    record judged before degrees of freedom were recorded).

    Steps:

    1. ``allowance`` (a temperature allowance ``TC * |T_ambient - T_ref|``, >= 0) widens the
       tolerance on both sides before anything else: ``T_L' = T_L - allowance``,
       ``T_U' = T_U + allowance``. The datasheet limit applies at the reference temperature;
       at another ambient the module may legitimately deviate by up to ``TC * dT`` more, and
       that is not a nonconformance. The given ``lower``/``upper`` are recorded unchanged.
    2. ``U = k u``; TUR from :func:`tur` on the widened limits (``reference`` for a one-sided
       limit).
    3. Guard band by rule: guarded acceptance / guarded rejection ``w = r U`` with
       ``r = guard_multiplier`` (1 = the ILAC-G8 / ISO 14253-1 default); simple acceptance and
       informative ``w = 0`` (``guard_multiplier`` ignored); managed guard band
       ``w = M(TUR) U`` with :func:`dobbert_multiplier` (``guard_multiplier`` ignored; needs
       a TUR, so a one-sided limit needs ``reference``).
    4. Limits ``A_L = T_L' + w``, ``A_U = T_U' - w``, ``R_L = T_L' - w``, ``R_U = T_U' + w``
       and the statement:

       * guarded acceptance (ILAC-G8 4.2.3): PASS if ``A_L <= y <= A_U``; CONDITIONAL PASS if
         ``T_L' <= y <= T_U'`` otherwise; CONDITIONAL FAIL if ``R_L <= y <= R_U`` otherwise;
         FAIL otherwise. With ``w >= (T_U' - T_L')/2`` there is no PASS zone and a result
         inside the tolerance is CONDITIONAL PASS.
       * simple acceptance (ILAC-G8 4.2.1): PASS if ``T_L' <= y <= T_U'`` else FAIL.
       * managed guard band: PASS if ``A_L <= y <= A_U`` (non-empty zone) else FAIL.
       * guarded rejection (ISO 14253-1, claim of nonconformance): FAIL only if ``y < R_L`` or
         ``y > R_U`` (nonconformance proven), else PASS.
       * informative: INFORMATIVE.

    5. ``conformance_probability`` (JCGM 106 section 7, Student-t for finite ``dof``) on the
       widened tolerance. With ``w = U`` and the default ``k``, a PASS on an acceptance limit has
       a specific false-accept probability of exactly ``(1 - coverage) / 2`` = 2.5 %.

    A non-finite ``y`` is FAIL with ``p_c = 0`` under a judged rule (a characteristic that could
    not be measured cannot be accepted) and INFORMATIVE under the informative rule.

    Raises ValueError for ``u < 0``, ``k <= 0``, ``lower > upper``, NaN or wrong-signed
    infinite limits, negative or non-finite ``guard_multiplier``/``allowance``, a judged rule
    without any limit, and the managed guard band without a computable TUR.
    """
    rule = Rule(rule)
    u_f = float(u)
    if not math.isfinite(u_f) or u_f < 0.0:
        raise ValueError(f"standard uncertainty u must be finite and >= 0, got {u!r}")
    nu = float(dof)
    if math.isnan(nu) or nu <= 0.0:
        raise ValueError(f"degrees of freedom must be > 0, got {dof!r}")
    k_f = coverage_factor(nu, coverage) if k is None else float(k)
    if not math.isfinite(k_f) or k_f <= 0.0:
        raise ValueError(f"coverage factor k must be finite and > 0, got {k!r}")
    lo, hi = _limits(lower, upper)
    allow = _check_nonneg("allowance", allowance)
    r = _check_nonneg("guard_multiplier", guard_multiplier)
    ref: float | None = None
    if reference is not None:
        ref = float(reference)
        if not math.isfinite(ref):
            raise ValueError(f"reference must be finite, got {reference!r}")
    if rule is not Rule.INFORMATIVE and lo is None and hi is None:
        raise ValueError(
            f"rule {rule.value!r} judges against limits: give lower and/or upper, "
            "or use Rule.INFORMATIVE"
        )

    y_f = float(y)
    big_u = k_f * u_f
    t_lo = _shift(lo, -allow)
    t_hi = _shift(hi, allow)
    ratio = tur(t_lo, t_hi, big_u, reference=ref)

    if rule is Rule.GUARDED_ACCEPTANCE or rule is Rule.GUARDED_REJECTION:
        mult = r
    elif rule is Rule.MANAGED_GUARD_BAND:
        if ratio is None:
            raise ValueError(
                "managed-guard-band needs a TUR: give both limits, or a reference value for a "
                "one-sided limit"
            )
        mult = dobbert_multiplier(ratio)
    else:
        mult = 0.0
    w = mult * big_u

    if rule is Rule.INFORMATIVE:
        acc_lo = acc_hi = rej_lo = rej_hi = None
    elif rule is Rule.GUARDED_REJECTION:
        # PASS zone = FAIL boundary = the tolerance enlarged by w
        acc_lo = rej_lo = _shift(t_lo, -w)
        acc_hi = rej_hi = _shift(t_hi, w)
    elif rule is Rule.GUARDED_ACCEPTANCE:
        acc_lo, acc_hi = _shift(t_lo, w), _shift(t_hi, -w)
        rej_lo, rej_hi = _shift(t_lo, -w), _shift(t_hi, w)
    else:  # simple acceptance (w = 0), managed guard band: binary, FAIL outside the PASS zone
        acc_lo = rej_lo = _shift(t_lo, w)
        acc_hi = rej_hi = _shift(t_hi, -w)

    p_c = conformance_probability(y_f, u_f, t_lo, t_hi, nu)
    if rule is Rule.INFORMATIVE:
        statement = Statement.INFORMATIVE
    elif not math.isfinite(y_f):
        statement = Statement.FAIL
        p_c = 0.0
    elif not _acceptance_empty(acc_lo, acc_hi, w) and _within(y_f, acc_lo, acc_hi):
        statement = Statement.PASS
    elif rule is not Rule.GUARDED_ACCEPTANCE:
        statement = Statement.FAIL
    elif _within(y_f, t_lo, t_hi):
        statement = Statement.CONDITIONAL_PASS
    elif _within(y_f, rej_lo, rej_hi):
        statement = Statement.CONDITIONAL_FAIL
    else:
        statement = Statement.FAIL

    return Decision(
        y=y_f,
        u=u_f,
        k=k_f,
        U=big_u,
        w=w,
        lower=lo,
        upper=hi,
        allowance=allow,
        acceptance_lower=acc_lo,
        acceptance_upper=acc_hi,
        rejection_lower=rej_lo,
        rejection_upper=rej_hi,
        rule=rule,
        statement=statement,
        conformance_probability=p_c,
        tur=ratio,
        guard_multiplier=mult,
        reference=ref,
        dof=nu,
    )
