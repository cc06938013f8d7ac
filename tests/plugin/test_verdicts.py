"""How a statement decides a pytest item: hand-made decisions, no bench needed."""

from __future__ import annotations

import pytest

from bench.station_checks import IsobenchConditionalPass, profile_rule, verdict_of
from procedures.decision import Rule, Statement
from procedures.profile import builtin_profile
from procedures.record import MeasurementRecord


def measured(value: float, u: float) -> MeasurementRecord:
    """A transmission-error point judged by the profile's own rule (+-20 uA, guarded)."""
    char = builtin_profile()["transmission_error"]
    decision = char.judge(value, u)
    return MeasurementRecord.judged(char, "accuracy", decision, {"set_a": 20e-3})


def test_conditional_pass_warns_or_fails_as_asked() -> None:
    # 19 uA with u = 1 uA (U = 2 uA): inside the limit, but within U of it
    point = measured(19e-6, 1e-6)
    assert point.statement == Statement.CONDITIONAL_PASS.value
    with pytest.warns(IsobenchConditionalPass, match=r"CONDITIONAL PASS: Transmission error"):
        statement, failure = verdict_of([point], "pass")
    assert statement is Statement.CONDITIONAL_PASS and failure is None
    statement, failure = verdict_of([point], "fail")
    assert failure == (
        "CONDITIONAL PASS: Transmission error = 19.0 µA (U 2.0 µA) at 20 mA; limits ±20 µA"
    )


def test_worst_point_decides_and_every_failing_point_is_named() -> None:
    points = [measured(5e-6, 1e-6), measured(25e-6, 1e-6), measured(-21e-6, 1e-6)]
    statement, failure = verdict_of(points, "pass")
    assert statement is Statement.FAIL
    assert failure is not None and len(failure.splitlines()) == 2
    assert verdict_of([measured(5e-6, 1e-6)], "fail") == (Statement.PASS, None)


def test_inline_limits_use_the_rule_most_of_the_profile_uses() -> None:
    assert profile_rule(builtin_profile()) is Rule.GUARDED_ACCEPTANCE
