"""What a test engineer's own pytest check gets: the open, guarded bench and a judge.

:class:`StationHandle` (the ``isobench_station`` fixture) is the run's bench session - the four
roles behind the safety envelope - plus the few operations a check needs, done by the same code
the built-in steps use (``procedures.operations.BenchOps`` for power-up order and settling,
the station's measurer for readings and their uncertainty budgets), so a user's reading is
taken and its uncertainty computed exactly like a built-in one.

:class:`Judge` (the ``isobench_judge`` fixture) judges a value with its uncertainty against a
characteristic of the module profile, or against limits given inline under the profile's
decision rule, and records it in the run like a built-in characteristic: the record, the
reports, the run's JUnit file and the store show it, its step being the check's pytest node id.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest

from bench.runner import Runner
from procedures.decision import Rule, Statement, worst
from procedures.measurement import ScalarReading, StepCapture, TransferReading
from procedures.operations import BenchOps
from procedures.plan import RunContext
from procedures.profile import Characteristic, Profile
from procedures.record import MeasurementRecord
from procedures.uncertainty import Budget

#: statements that fail a pytest item (and a conditional pass with --isobench-conditional=fail)
FAILING = (Statement.FAIL, Statement.CONDITIONAL_FAIL)


class IsobenchConditionalPass(UserWarning):
    """A characteristic passed only conditionally: the uncertainty straddles a limit."""


class CheckFailed(AssertionError):
    """A judged characteristic did not pass; ``str()`` names each failing point (no traceback)."""


class StationHandle:
    """The open bench of the pytest run, for a check of the test engineer's own.

    ``source``, ``dmm``, ``supply``, ``load`` are the guarded roles (every command is checked
    against the safety envelope and the output order, and stops at once on Ctrl-C). After each
    check the plugin switches every output off again, as every built-in step does.
    """

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self._ops: BenchOps | None = None

    # ------------------------------------------------------------------ what is there
    @property
    def ctx(self) -> RunContext:
        if self.runner.ctx is None:
            raise RuntimeError("the bench is not open (the run ended while it opened)")
        return self.runner.ctx

    @property
    def profile(self) -> Profile:
        return self.ctx.profile

    @property
    def source(self) -> Any:
        return self.ctx.bench.source

    @property
    def dmm(self) -> Any:
        return self.ctx.bench.dmm

    @property
    def supply(self) -> Any:
        return self.ctx.bench.supply

    @property
    def load(self) -> Any:
        return self.ctx.bench.load

    @property
    def sim(self) -> Any:
        """The built-in simulator (``--isobench-station sim``), else None: its unit's true
        parameters let a check be compared with something the controller did not compute."""
        return self.runner.sim

    @property
    def ops(self) -> BenchOps:
        if self._ops is None or not self._ops.powered:
            raise RuntimeError("the module is not powered: call isobench_station.power_up() first")
        return self._ops

    # ------------------------------------------------------------------ operations
    def power_up(
        self,
        supply_v: float | None = None,
        load_ohm: float | None = None,
        *,
        source_on: bool = True,
    ) -> None:
        """Supply, load, then source at 0 A (the safe order); defaults: the module's nominal
        supply and the plan's nominal load (the whole output loop, in ohm)."""
        ops = BenchOps(self.ctx)
        ops.power_up(
            self.profile.module.nominal_supply_v if supply_v is None else supply_v,
            self.ctx.settings.nominal_load_ohm if load_ohm is None else load_ohm,
            source_on=source_on,
        )
        self._ops = ops

    def set_supply(self, supply_v: float) -> None:
        self.ops.set_supply(supply_v)

    def set_load(self, load_ohm: float) -> None:
        self.ops.set_load(load_ohm)

    def measure_point(self, level_a: float) -> TransferReading:
        """Set the input, wait for the module to settle, read input and output current
        (``.input_a``, ``.output_a``, ``.error_a``, ``.budget.u``: the built-in steps' reading)."""
        return self.ops.measure_point(level_a)

    def measure_output(self, expected_a: float) -> ScalarReading:
        """The output current alone at the present input (``.value``, ``.budget``)."""
        ops = self.ops
        reading = self.ctx.measurer.output_current(
            expected_a, ops.pending_wait_s + ops.startup_wait_s()
        )
        ops.pending_wait_s = 0.0
        return reading

    def capture(
        self, samples: int = 2000, interval_s: float = 20e-6, *, to_a: float | None = None
    ) -> StepCapture:
        """Digitise the output (``.t_s`` aperture centres after the trigger, ``.output_a``,
        ``.baseline_a`` just before): ``samples`` readings ``interval_s`` apart, triggered by
        the source's trigger output as it steps to ``to_a`` (default: it stays at the present
        level, for ripple and noise). Set the start level with :meth:`measure_point` first."""
        ops, ctx = self.ops, self.ctx
        level = ops.level_a if to_a is None else to_a
        self.source.configure_trigger_output(ctx.settings.wiring.trigger_line)
        record = ctx.measurer.capture_output(
            samples, interval_s, lambda: self.source.step_with_trigger(level)
        )
        ops.level_a = level
        return record

    def power_down(self) -> None:
        """Every output the controller switched on, off: source (at 0 A), load, supply."""
        session = self.runner.session
        if session is None or session.envelope is None:
            return
        on = set(session.order.on)
        if "source" in on:
            session.source.set_current(0.0)
            session.source.disable_output()
        if "load" in on:
            session.load.disable_input()
        if "supply" in on:
            session.supply.disable_output()
        self._ops = None


def profile_rule(profile: Profile) -> Rule:
    """The profile's decision rule: the one most of its judged characteristics use."""
    rules = Counter(c.rule for c in profile.characteristics.values() if c.rule != Rule.INFORMATIVE)
    return rules.most_common(1)[0][0] if rules else Rule.GUARDED_ACCEPTANCE


def point_lines(measurements: list[MeasurementRecord], statements: tuple[str, ...]) -> list[str]:
    """One line per point whose statement is in ``statements``, as the report words it."""
    from reports.summary import characteristics

    chosen = [asdict(m) for m in measurements]
    lines = []
    for c in characteristics({"measurements": chosen}, {}):
        lines += [
            f"{row.statement.upper()}: {c.title} = {row.value} (U {row.U}) at {row.conditions}; "
            f"limits {row.limits}"
            for row in c.rows
            if row.statement in statements
        ]
    return lines


def summary_line(measurements: list[MeasurementRecord]) -> str:
    """The governing result of one characteristic, as the report's summary row words it."""
    from reports.summary import characteristics

    (c,) = characteristics({"measurements": [asdict(m) for m in measurements]}, {})
    text = f"{c.statement.upper()} {c.value}"
    if c.U != "-":
        text += f" (U {c.U})"
    if c.limits not in ("", "-"):
        text += f", limits {c.limits}"
    return text


def verdict_of(
    measurements: list[MeasurementRecord], conditional: str
) -> tuple[Statement, str | None]:
    """The worst statement and, if it fails the pytest item, the failure text."""
    statement = worst(Statement(m.statement) for m in measurements)
    failing = FAILING + ((Statement.CONDITIONAL_PASS,) if conditional == "fail" else ())
    if statement in failing:
        lines = point_lines(measurements, tuple(s.value for s in failing))
        return statement, "\n".join(lines)
    if statement is Statement.CONDITIONAL_PASS:
        warnings.warn(
            IsobenchConditionalPass("; ".join(point_lines(measurements, (statement.value,)))),
            stacklevel=2,
        )
    return statement, None


class Judge:
    """``isobench_judge(name, value, u=..., lower=..., upper=..., unit=...)``.

    A ``name`` of the module profile is judged against the profile's limits and rule (with the
    temperature allowance the profile grants it); any other name needs ``lower`` and/or
    ``upper`` and is judged under the profile's decision rule (or ``rule=``). ``value`` may be
    a reading of :class:`StationHandle` (its budget gives ``u``). Returns the statement; a FAIL
    or CONDITIONAL FAIL fails the test (a CONDITIONAL PASS warns, or fails with
    ``--isobench-conditional=fail``).
    """

    def __init__(
        self,
        runner: Runner,
        check: Callable[[], tuple[str, Any]],
        conditional: str = "pass",
    ) -> None:
        self.runner = runner
        self._check = check  # () -> (step name, pytest item) of the check now running
        self.conditional = conditional

    def characteristic(
        self,
        name: str,
        *,
        lower: float | None,
        upper: float | None,
        unit: str | None,
        title: str | None,
        rule: Rule | str | None,
    ) -> Characteristic:
        profile = self.runner.profile
        assert profile is not None
        inline = lower is not None or upper is not None
        if name in profile.characteristics:
            if inline:
                raise pytest.UsageError(
                    f"isobench_judge: {name!r} is a characteristic of the module profile: judge "
                    "it against the profile's limits (no lower/upper) or give your check "
                    "another name"
                )
            return profile[name]
        if not inline:
            pytest.fail(
                f"isobench_judge: {name!r} is not in the module profile "
                f"{profile.title}: give its limits (lower=, upper=, unit=)",
                pytrace=False,
            )
        step, _ = self._check()
        try:
            return Characteristic(
                name=name,
                title=title or name.replace("_", " ").capitalize(),
                unit=unit or "",
                lower=lower,
                upper=upper,
                rule=Rule(rule) if rule is not None else profile_rule(profile),
                datasheet=f"user check {step}",
            )
        except ValueError as exc:
            pytest.fail(f"isobench_judge {name!r}: {' '.join(str(exc).split())}", pytrace=False)

    def __call__(
        self,
        name: str,
        value: float | ScalarReading,
        *,
        u: float = 0.0,
        lower: float | None = None,
        upper: float | None = None,
        unit: str | None = None,
        title: str | None = None,
        rule: Rule | str | None = None,
        conditions: dict[str, Any] | None = None,
        budget: Budget | None = None,
    ) -> Statement:
        if isinstance(value, ScalarReading):
            budget = budget or value.budget
            value = value.value
        char = self.characteristic(
            name, lower=lower, upper=upper, unit=unit, title=title, rule=rule
        )
        step, item = self._check()
        measurement = self.runner.judge(
            char,
            float(value),
            u=u,
            conditions=conditions,
            step=step,
            note=f"user check {step}",
            budget=budget,
        )
        if item is not None:
            item.user_properties.append((name, summary_line([measurement])))
        statement, failure = verdict_of([measurement], self.conditional)
        if failure is not None:
            pytest.fail(failure, pytrace=False)
        return statement
