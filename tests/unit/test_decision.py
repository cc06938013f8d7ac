"""Unit tests for procedures.decision (docs/metrology.md section 3) with known vectors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from procedures.decision import (
    Decision,
    Rule,
    Statement,
    combine,
    conformance_probability,
    coverage_factor,
    dobbert_multiplier,
    global_risks,
    rectangular,
    tur,
    worst,
)
from procedures.decision import decide as decide_t

T = 20.0  # uA, symmetric tolerance used by the docs/metrology.md illustrations
U4 = 1.93  # uA, standard uncertainty of method M4 (U = 3.86 uA at k = 2)

P, CP, CF, F, INF = (
    Statement.PASS,
    Statement.CONDITIONAL_PASS,
    Statement.CONDITIONAL_FAIL,
    Statement.FAIL,
    Statement.INFORMATIVE,
)


def decide(y: float, u: float, **kw) -> Decision:
    """The literature vectors below (method M4, the ILAC-G8 examples) are stated for k = 2; the
    default k = t_0.975(dof) has its own tests (``test_default_k_*``)."""
    kw.setdefault("k", 2.0)
    return decide_t(y, u, **kw)


def _ga(y: float, u: float = U4, **kw) -> Decision:
    return decide(y, u, lower=-T, upper=T, **kw)


# --- JCGM 106 conformance probability ------------------------------------------------------


def test_jcgm106_example_7_4() -> None:
    assert conformance_probability(13.6, 1.8, 12.5, 16.3) == pytest.approx(0.6626, abs=1e-4)
    d = decide(13.6, 1.8, lower=12.5, upper=16.3)
    assert d.conformance_probability == pytest.approx(0.6626, abs=1e-4)


def test_pfa_on_acceptance_limit_is_2_28_percent() -> None:
    a_u = _ga(0.0).acceptance_upper
    assert a_u == pytest.approx(T - 2 * U4)
    d = _ga(a_u)
    assert d.statement is P  # closed acceptance interval
    assert 1.0 - d.conformance_probability == pytest.approx(1.0 - norm.cdf(2.0), abs=1e-5)
    assert 1.0 - d.conformance_probability == pytest.approx(0.02275, abs=1e-5)
    assert d.specific_risk == pytest.approx(0.02275, abs=1e-5)


@pytest.mark.parametrize(
    ("dof", "k"),
    # GUM table G.2 (t_p(nu) for p = 95.45 % is the table's "2"-column; these are 95 %)
    [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (10, 2.228), (30, 2.042), (math.inf, 1.960)],
)
def test_coverage_factor_is_the_student_t_quantile(dof: float, k: float) -> None:
    assert coverage_factor(dof) == pytest.approx(k, abs=1e-3)


@pytest.mark.parametrize("dof", [2.0, 4.5, 9.0, 40.0, math.inf])
def test_default_k_gives_2_5_percent_false_accept_on_the_acceptance_limit(dof: float) -> None:
    """ILAC-G8 4.2.2 guard band w = U with k = t_0.975(nu): a result exactly on the acceptance
    limit has a specific PFA of 2.5 % whatever the degrees of freedom (checked against
    scipy.stats.t, not our own CDF)."""
    from scipy.stats import t as student

    u = 1.5
    centre = decide_t(0.0, u, lower=-T, upper=T, dof=dof)
    assert centre.k == pytest.approx(coverage_factor(dof))
    a_u = centre.acceptance_upper
    d = decide_t(a_u, u, lower=-T, upper=T, dof=dof)
    assert d.statement is P
    dist = student(dof) if math.isfinite(dof) else norm
    near, far = dist.sf(centre.k), dist.cdf((-T - a_u) / u)  # far: the other limit's tail
    assert near == pytest.approx(0.025, abs=1e-9)
    assert 1.0 - d.conformance_probability == pytest.approx(near + far, abs=1e-9)
    assert far < 0.001
    assert d.to_dict()["dof"] == (None if math.isinf(dof) else dof)


def test_conformance_probability_with_few_degrees_of_freedom_is_wider() -> None:
    """The Student-t posterior (GUM G.3) puts more mass outside the limit than the normal."""
    from scipy.stats import t as student

    p_normal = conformance_probability(18.0, 1.0, -20.0, 20.0)
    p_t = conformance_probability(18.0, 1.0, -20.0, 20.0, dof=3.0)
    assert p_t == pytest.approx(student.cdf(2.0, 3) - student.cdf(-38.0, 3), abs=1e-12)
    assert p_t < p_normal


def test_conformance_probability_one_sided_and_edge_cases() -> None:
    assert conformance_probability(0.0, 1.0, None, 2.0) == pytest.approx(norm.cdf(2.0))
    assert conformance_probability(0.0, 1.0, -1.0, None) == pytest.approx(norm.cdf(1.0))
    assert conformance_probability(5.0, 1.0, None, None) == 1.0
    # u == 0: the result itself decides, closed interval
    assert conformance_probability(20.0, 0.0, -20.0, 20.0) == 1.0
    assert conformance_probability(20.0001, 0.0, -20.0, 20.0) == 0.0
    assert conformance_probability(math.nan, 1.0, -20.0, 20.0) == 0.0
    # far-tail precision: 1 - p_c keeps its relative accuracy
    pfa = 1.0 - conformance_probability(0.0, 1.0, -50.0, 6.0)
    assert pfa == pytest.approx(norm.sf(6.0), rel=1e-3)
    # symmetric in y about the tolerance centre
    assert conformance_probability(3.0, 2.0, -5.0, 5.0) == pytest.approx(
        conformance_probability(-3.0, 2.0, -5.0, 5.0), abs=1e-15
    )


# --- ILAC-G8 non-binary statements ---------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (0.0, P),
        (16.0, P),
        (16.13, P),  # just inside A_U = 16.14
        (16.15, CP),  # just outside A_U
        (16.2, CP),
        (19.99, CP),
        (20.0, CP),  # on T_U: still within tolerance
        (20.01, CF),
        (20.1, CF),
        (23.85, CF),  # just inside R_U = 23.86
        (23.87, F),  # just outside R_U
        (24.0, F),
    ],
)
def test_ilac_non_binary_boundaries(y: float, expected: Statement) -> None:
    assert _ga(y).statement is expected
    assert _ga(-y).statement is expected  # mirrored on the lower side


def test_guarded_acceptance_limits_recorded() -> None:
    d = _ga(1.0)
    expanded = d.U
    assert expanded == pytest.approx(3.86)
    assert d.w == pytest.approx(3.86)
    assert d.k == 2.0
    assert (d.acceptance_lower, d.acceptance_upper) == pytest.approx((-16.14, 16.14))
    assert (d.rejection_lower, d.rejection_upper) == pytest.approx((-23.86, 23.86))
    assert d.rule is Rule.GUARDED_ACCEPTANCE
    assert not d.acceptance_empty


def test_guard_multiplier_scales_guard_band() -> None:
    d = _ga(17.0, guard_multiplier=0.5)  # w = 1.93, A_U = 18.07
    assert d.w == pytest.approx(1.93)
    assert d.statement is P
    assert _ga(17.0).statement is CP


def test_tur_one_never_passes() -> None:
    # u = 10, k = 2: U = 20 = T, TUR = 1 -> acceptance zone shrinks to nothing
    d = _ga(0.0, u=10.0)
    assert d.tur == pytest.approx(1.0)
    assert d.acceptance_empty
    assert d.statement is CP
    for y in np.linspace(-T, T, 41):
        assert _ga(float(y), u=10.0).statement is CP
    assert _ga(20.5, u=10.0).statement is CF
    assert _ga(-41.0, u=10.0).statement is F


def test_tur_below_one_inverted_limits_handled() -> None:
    # u = 15: w = 30 > T, A_L = 10 > A_U = -10; nothing passes, inside tolerance -> CP
    for y in (-20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0):
        d = _ga(y, u=15.0)
        assert d.acceptance_empty
        assert d.statement is CP, y
    assert _ga(49.0, u=15.0).statement is CF
    assert _ga(51.0, u=15.0).statement is F


# --- binary rules ----------------------------------------------------------------------------


def test_simple_acceptance() -> None:
    kw = {"rule": Rule.SIMPLE_ACCEPTANCE}
    assert _ga(19.99, **kw).statement is P
    assert _ga(20.0, **kw).statement is P
    assert _ga(20.01, **kw).statement is F
    assert _ga(-20.01, **kw).statement is F
    d = _ga(19.99, **kw)
    assert d.w == 0.0
    assert d.guard_multiplier == 0.0
    assert (d.acceptance_lower, d.acceptance_upper) == (-T, T)
    # the shared-risk rule accepts a result on the limit with PFA ~ 50 %
    assert _ga(20.0, **kw).specific_risk == pytest.approx(0.5, abs=1e-3)


def test_guarded_rejection() -> None:
    kw = {"rule": Rule.GUARDED_REJECTION}
    assert _ga(23.0, **kw).statement is P
    assert _ga(23.86, **kw).statement is P
    assert _ga(24.0, **kw).statement is F
    assert _ga(-23.0, **kw).statement is P
    assert _ga(-24.0, **kw).statement is F
    d = _ga(0.0, **kw)
    assert (d.acceptance_lower, d.acceptance_upper) == pytest.approx((-23.86, 23.86))


def test_managed_guard_band() -> None:
    kw = {"rule": Rule.MANAGED_GUARD_BAND}
    # TUR 5.18 > 4.59: M = 0, behaves like simple acceptance
    d = _ga(19.99, **kw)
    assert d.guard_multiplier == 0.0
    assert d.statement is P
    assert _ga(20.01, **kw).statement is F
    # u = 5: U = 10, TUR = 2, M = 0.282, w = 2.82, A_U = 17.18
    d = _ga(17.0, u=5.0, **kw)
    assert d.tur == pytest.approx(2.0)
    assert d.guard_multiplier == pytest.approx(0.282, abs=2e-3)
    assert d.acceptance_upper == pytest.approx(17.18, abs=0.02)
    assert d.statement is P
    assert _ga(17.5, u=5.0, **kw).statement is F
    assert _ga(-17.5, u=5.0, **kw).statement is F
    # binary: never a conditional statement
    for y in np.linspace(-30, 30, 61):
        assert _ga(float(y), u=5.0, **kw).statement in (P, F)
    # one-sided without a reference: no TUR, no M
    with pytest.raises(ValueError, match="TUR"):
        decide(1.0, 1.0, upper=20.0, rule=Rule.MANAGED_GUARD_BAND)
    d = decide(1.0, 1.0, upper=20.0, rule=Rule.MANAGED_GUARD_BAND, reference=0.0)
    assert d.tur == pytest.approx(10.0)
    assert d.statement is P


def test_informative() -> None:
    d = decide(123.0, 1.0, rule=Rule.INFORMATIVE)
    assert d.statement is INF
    assert d.acceptance_lower is d.acceptance_upper is d.rejection_lower is None
    d = _ga(50.0, rule=Rule.INFORMATIVE)
    assert d.statement is INF
    assert d.conformance_probability < 1e-6
    assert decide(math.nan, 1.0, rule=Rule.INFORMATIVE).statement is INF


def test_one_sided_limit() -> None:
    assert decide(-1000.0, 1.0, upper=10.0).statement is P
    assert decide(8.5, 1.0, upper=10.0).statement is CP
    assert decide(11.0, 1.0, upper=10.0).statement is CF
    assert decide(12.5, 1.0, upper=10.0).statement is F
    assert decide(5.0, 1.0, lower=4.0).statement is CP
    d = decide(5.0, 1.0, lower=4.0, upper=math.inf)  # +inf upper == one-sided
    assert d.upper is None
    assert d.acceptance_upper is None


# --- Dobbert, Z540.3 TUR ---------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "m"), [(1.0, 0.457), (2.0, 0.282), (3.0, 0.155), (4.0, 0.053)])
def test_dobbert_multiplier(ratio: float, m: float) -> None:
    assert dobbert_multiplier(ratio) == pytest.approx(m, abs=2e-3)


def test_dobbert_multiplier_clipped() -> None:
    assert dobbert_multiplier(4.6) == 0.0
    assert 0.0 < dobbert_multiplier(4.5) < 0.01
    assert dobbert_multiplier(10.0) == 0.0
    assert dobbert_multiplier(math.inf) == 0.0
    assert dobbert_multiplier(0.5) > dobbert_multiplier(1.0)
    with pytest.raises(ValueError):
        dobbert_multiplier(-1.0)


def test_z540_tur() -> None:
    assert tur(-20.0, 20.0, 3.86) == pytest.approx(5.18, abs=5e-3)
    assert tur(-10.0, 30.0, 3.86) == pytest.approx(5.18, abs=5e-3)  # span based
    assert tur(None, 20.0, 3.86) is None
    assert tur(-20.0, None, 3.86) is None
    assert tur(None, 20.0, 3.86, reference=0.0) == pytest.approx(5.18, abs=5e-3)
    assert tur(None, None, 3.86, reference=0.0) is None
    assert tur(-20.0, 20.0, 0.0) == math.inf
    assert _ga(0.0).tur == pytest.approx(5.18, abs=5e-3)


# --- temperature allowance ----------------------------------------------------------------------


def test_allowance_widens_tolerance() -> None:
    assert _ga(21.0, u=0.1).statement is F
    d = _ga(21.0, u=0.1, allowance=2.0)
    assert d.statement is P
    assert (d.lower, d.upper) == (-T, T)  # the specified limits are recorded unchanged
    assert (d.effective_lower, d.effective_upper) == (-22.0, 22.0)
    assert d.acceptance_upper == pytest.approx(21.8)
    assert d.conformance_probability > 0.99
    assert _ga(-21.0, u=0.1, allowance=2.0).statement is P
    assert d.tur == pytest.approx(44.0 / 0.4)


# --- global risks (JCGM 106 section 9) -------------------------------------------------------


def _mc_risks(u: float, a: float, sigma_p: float, n: int = 2_000_000) -> tuple[float, float]:
    rng = np.random.default_rng(20240611)
    eta = rng.normal(0.0, sigma_p, n)
    y = eta + rng.normal(0.0, u, n)
    conform = np.abs(eta) <= T
    accept = np.abs(y) <= a
    return float(np.mean(~conform & accept)), float(np.mean(conform & ~accept))


def test_global_risks_m4_simple_acceptance_matches_metrology_md() -> None:
    r_c, r_p = global_risks(-T, T, -T, T, U4, 0.0, 8.0)
    assert r_c == pytest.approx(0.0024, rel=0.15)
    assert r_p == pytest.approx(0.0051, rel=0.15)
    # independent Monte Carlo check of the quadrature
    mc_c, mc_p = _mc_risks(U4, T, 8.0)
    assert r_c == pytest.approx(mc_c, rel=0.08)
    assert r_p == pytest.approx(mc_p, rel=0.08)


@pytest.mark.parametrize(
    ("u", "w", "r_c", "r_p"),
    [
        (14.4, 0.0, 0.0053, 0.219),  # M1, simple acceptance
        (1.93, 3.86, 0.00006, 0.0375),  # M4, w = U
    ],
)
def test_global_risks_other_illustrations(u: float, w: float, r_c: float, r_p: float) -> None:
    got_c, got_p = global_risks(-T, T, -T + w, T - w, u, 0.0, 8.0)
    assert got_c == pytest.approx(r_c, rel=0.15)
    assert got_p == pytest.approx(r_p, rel=0.15)


def test_global_risks_m5_and_narrow_process() -> None:
    r_c, r_p = global_risks(-T, T, -T + 0.46, T - 0.46, 0.23, 0.0, 8.0)
    assert r_c < 1e-5
    assert r_p == pytest.approx(0.0022, rel=0.15)
    for u, w in ((14.4, 0.0), (1.93, 0.0), (1.93, 3.86), (0.23, 0.46)):
        assert global_risks(-T, T, -T + w, T - w, u, 0.0, 5.0)[0] <= 3e-5


def test_global_risks_edge_cases() -> None:
    # perfect measurement: no wrong decisions at all
    assert global_risks(-T, T, -T, T, 0.0, 0.0, 8.0) == pytest.approx((0.0, 0.0), abs=1e-12)
    # empty acceptance zone: nothing accepted, every conforming item is falsely rejected
    r_c, r_p = global_risks(-T, T, 5.0, -5.0, 10.0, 0.0, 8.0)
    assert r_c == 0.0
    assert r_p == pytest.approx(norm.cdf(2.5) - norm.cdf(-2.5), rel=1e-9)
    # every item exactly at the centre, perfect measurement, w = T (TUR 1): the point
    # "acceptance zone" [0, 0] accepts nothing, consistent with decide()
    assert global_risks(-T, T, 0.0, 0.0, 0.0, 0.0, 0.0) == (0.0, 1.0)
    assert global_risks(-T, T, -T, T, 0.0, 0.0, 0.0) == (0.0, 0.0)
    assert global_risks(-T, T, -T, T, 0.0, 25.0, 0.0) == (0.0, 0.0)
    assert global_risks(-T, T, -30.0, 30.0, 0.0, 25.0, 0.0) == (1.0, 0.0)
    # a guard band trades consumer risk for producer risk
    c0, p0 = global_risks(-T, T, -T, T, U4, 0.0, 8.0)
    c1, p1 = global_risks(-T, T, -T + 3.86, T - 3.86, U4, 0.0, 8.0)
    assert c1 < c0
    assert p1 > p0
    # one-sided limit, decision acceptance limits usable directly
    d = decide(0.0, 1.0, upper=10.0)
    r_c, r_p = global_risks(d.lower, d.upper, d.acceptance_lower, d.acceptance_upper, 1.0, 0, 4)
    mc_rng = np.random.default_rng(7)
    eta = mc_rng.normal(0.0, 4.0, 2_000_000)
    y = eta + mc_rng.normal(0.0, 1.0, eta.size)
    assert r_p == pytest.approx(np.mean((eta <= 10) & (y > 8)), rel=0.05)
    assert r_c == pytest.approx(np.mean((eta > 10) & (y <= 8)), abs=2e-5)


# --- GUM helpers -----------------------------------------------------------------------------


def test_combine_and_rectangular() -> None:
    assert combine(3.0, 4.0) == pytest.approx(5.0)
    assert combine(1.0, 1.0, 1.0, 1.0) == pytest.approx(2.0)
    assert combine() == 0.0
    assert rectangular(math.sqrt(3.0)) == pytest.approx(1.0)
    assert rectangular(1.0) == pytest.approx(0.5773502692)
    with pytest.raises(ValueError):
        combine(1.0, -1.0)
    with pytest.raises(ValueError):
        rectangular(-0.1)


# --- aggregation, non-finite results, validation, serialisation ------------------------------


def test_severity_and_worst() -> None:
    assert [s.severity for s in (INF, P, CP, CF, F)] == [0, 1, 2, 3, 4]
    assert worst([]) is INF
    assert worst([INF, INF]) is INF
    assert worst([P, INF]) is P
    assert worst([P, CP, P]) is CP
    assert worst([CP, CF, P]) is CF
    assert worst([F, CF, CP, P, INF]) is F
    assert worst(iter([P, F])) is F  # any iterable
    assert worst(["pass", "conditional fail"]) is CF


@pytest.mark.parametrize("rule", [r for r in Rule if r is not Rule.INFORMATIVE])
@pytest.mark.parametrize("y", [math.nan, math.inf, -math.inf])
def test_non_finite_result_fails(rule: Rule, y: float) -> None:
    d = _ga(y, rule=rule)
    assert d.statement is F
    assert d.conformance_probability == 0.0
    json.dumps(d.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"u": -0.1},
        {"u": math.nan},
        {"k": 0.0},
        {"k": -2.0},
        {"lower": 5.0, "upper": 4.0},
        {"lower": math.nan},
        {"upper": -math.inf},
        {"allowance": -1.0},
        {"guard_multiplier": -1.0},
        {"lower": None, "upper": None},  # judged rule without limits
    ],
)
def test_invalid_inputs_raise(kwargs: dict) -> None:
    args = {"u": 1.0, "lower": -T, "upper": T} | kwargs
    u = args.pop("u")
    with pytest.raises(ValueError):
        decide(0.0, u, **args)


def test_u_zero() -> None:
    d = _ga(20.0, u=0.0)
    assert d.statement is P
    assert d.conformance_probability == 1.0
    assert d.tur == math.inf
    assert _ga(20.0001, u=0.0).statement is F
    assert _ga(20.0001, u=0.0).conformance_probability == 0.0
    assert _ga(1.0, u=0.0, rule=Rule.MANAGED_GUARD_BAND).guard_multiplier == 0.0


def test_to_dict_is_plain_json() -> None:
    d = _ga(16.2)
    out = d.to_dict()
    assert out["rule"] == "guarded-acceptance"
    assert out["statement"] == "conditional pass"
    assert type(out["rule"]) is str
    assert type(out["statement"]) is str
    assert out["U"] == pytest.approx(3.86)
    assert out["conformance_probability"] == pytest.approx(d.conformance_probability)
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    one = decide(1.0, 1.0, upper=5.0).to_dict()
    assert one["lower"] is None
    assert one["acceptance_lower"] is None
    assert one["tur"] is None
    assert json.loads(json.dumps(one)) == one
    assert _ga(0.0, u=0.0).to_dict()["tur"] is None  # infinite TUR -> None (strict JSON)


def test_decision_is_frozen() -> None:
    d = _ga(0.0)
    with pytest.raises(AttributeError):
        d.y = 1.0  # type: ignore[misc]


# --- property: monotone statements ------------------------------------------------------------

_finite = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=300, deadline=None)
@given(
    centre=st.floats(-1e3, 1e3, **_finite),
    half=st.floats(1e-3, 1e3, **_finite),
    u=st.floats(1e-4, 1e3, **_finite),
    k=st.floats(0.5, 4.0, **_finite),
    r=st.floats(0.0, 3.0, **_finite),
    rule=st.sampled_from(list(Rule)),
    d1=st.floats(0.0, 5.0, **_finite),
    d2=st.floats(0.0, 5.0, **_finite),
    side=st.sampled_from([-1.0, 1.0]),
)
def test_statement_monotone_away_from_centre(
    centre: float,
    half: float,
    u: float,
    k: float,
    r: float,
    rule: Rule,
    d1: float,
    d2: float,
    side: float,
) -> None:
    """Moving y further from the tolerance centre never improves the statement."""
    near, far = sorted((d1, d2))
    lo, hi = centre - half, centre + half
    kw = {"lower": lo, "upper": hi, "rule": rule, "k": k, "guard_multiplier": r}
    s_near = decide(centre + side * near * (half + k * u), u, **kw)
    s_far = decide(centre + side * far * (half + k * u), u, **kw)
    assert s_near.statement.severity <= s_far.statement.severity
    # and the conformance probability never rises
    assert s_far.conformance_probability <= s_near.conformance_probability + 1e-12


@settings(max_examples=200, deadline=None)
@given(
    limit=st.floats(-1e3, 1e3, **_finite),
    u=st.floats(1e-4, 1e2, **_finite),
    rule=st.sampled_from([Rule.GUARDED_ACCEPTANCE, Rule.SIMPLE_ACCEPTANCE, Rule.GUARDED_REJECTION]),
    y1=st.floats(-2e3, 2e3, **_finite),
    y2=st.floats(-2e3, 2e3, **_finite),
)
def test_statement_monotone_one_sided_upper(
    limit: float, u: float, rule: Rule, y1: float, y2: float
) -> None:
    """With only an upper limit, a larger result is never judged better."""
    assume(y1 != y2)
    a, b = sorted((y1, y2))
    s_a = decide(a, u, upper=limit, rule=rule).statement
    s_b = decide(b, u, upper=limit, rule=rule).statement
    assert s_a.severity <= s_b.severity


def test_ilac_pass_has_low_specific_risk() -> None:
    """ILAC-G8 4.2.2: with w = U (k = 2) every PASS has specific PFA < 2.5 % (TUR >= 2)."""
    for y in np.linspace(-T, T, 401):
        d = _ga(float(y))
        if d.statement is P:
            assert 1.0 - d.conformance_probability < 0.025
