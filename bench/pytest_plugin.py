"""The incoming inspection as a pytest suite (registered as the ``pytest11`` entry point
``isobench``; ``-p no:isobench`` switches it off).

Passive unless ``--isobench-station`` is given: then ``pytest --isobench-station sim|FILE
--isobench-serial SN`` runs, from any folder, the built-in plan as test items - one per judged
characteristic, named after it (``isobench::transmission_error``), passing or failing by its
statement - and test engineers' own checks (tests that use ``isobench_station``,
``isobench_judge`` or ``isobench_record``) on the same open bench.

It is a front-end of :class:`bench.runner.Runner` and nothing else: the run behind the session
is an ``isobench inspect`` run (station lock, safety envelope, record, verified safe state,
reports, store, lot). The plan runs a few steps at a time: an item runs the steps up to the last
one that judges its characteristic (``-k`` narrows the run to the steps the selected items need,
through the runner's ``characteristics=``). Each check of the user's is one step of the record,
named by its node id; its judged values are recorded like built-in ones. Whatever ends the
session - the last test, a failed gate, an instrument fault, ``-x``, Ctrl-C, SIGTERM - ends the
run through the runner's own exit: outputs safe and read back, record, reports, store.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bench.cli import _InterruptOnce, _key_value, _serial

if TYPE_CHECKING:
    from bench.runner import Runner, RunRequest, RunResult
    from bench.station_checks import StationHandle
    from procedures.plan import Step
    from procedures.record import MeasurementRecord

FIXTURES = ("isobench_station", "isobench_judge", "isobench_record")
PLAN_NODE = "isobench"
#: the record's step names are stored in a 128-character column
STEP_NAME_MAX = 128
RUN_KEY = pytest.StashKey["IsobenchRun"]()

#: options that only mean something with --isobench-station: (flag, dest, default)
_DEPENDENT = (
    ("--isobench-serial", "isobench_serial", None),
    ("--isobench-plan", "isobench_plan", None),
    ("--isobench-lot", "isobench_lot", ""),
    ("--isobench-operator", "isobench_operator", ""),
    ("--isobench-engineering", "isobench_engineering", False),
    ("--isobench-sim-defect", "isobench_sim_defect", []),
    ("--isobench-sim-set", "isobench_sim_set", []),
    ("--isobench-sim-topology", "isobench_sim_topology", None),
    ("--isobench-sim-model", "isobench_sim_model", []),
)


def _role_model(text: str) -> tuple[str, str]:
    from drivers.registry import parse_choice

    try:
        return parse_choice(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup(
        "isobench", "isobench incoming inspection (passive unless --isobench-station is given)"
    )
    group.addoption(
        "--isobench-station",
        metavar="sim|FILE",
        default=None,
        help="inspect on this bench: 'sim' (the built-in simulator) or a station .toml file",
    )
    group.addoption(
        "--isobench-serial",
        metavar="SN",
        type=_serial,
        default=None,
        help="serial number of the module on the bench (required)",
    )
    group.addoption(
        "--isobench-plan",
        choices=("full", "sweep", "none"),
        default=None,
        help="built-in plan run as test items (default: full; none - only the gate steps - when "
        "the session has station checks of your own)",
    )
    group.addoption(
        "--isobench-profile",
        default="wago-857-411",
        metavar="NAME|FILE",
        help="module profile (limits and decision rules)",
    )
    group.addoption("--isobench-lot", default="", metavar="ID", help="the open lot the unit joins")
    group.addoption(
        "--isobench-out",
        default="isobench-output",
        metavar="DIR",
        help="folder for the run folder (default: ./isobench-output)",
    )
    group.addoption("--isobench-operator", default="", metavar="NAME")
    group.addoption(
        "--isobench-engineering",
        action="store_true",
        default=False,
        help="engineering run: traceability problems are recorded, not refused",
    )
    group.addoption(
        "--isobench-conditional",
        choices=("pass", "fail"),
        default="pass",
        help="a CONDITIONAL PASS passes with a warning (pass, the default) or fails (fail)",
    )
    group.addoption(
        "--isobench-sim-defect",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="simulated module defect (repeatable; 'isobench sim --list-defects')",
    )
    group.addoption(
        "--isobench-sim-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        type=_key_value,
        help="simulated module parameter (repeatable)",
    )
    group.addoption(
        "--isobench-sim-topology",
        choices=("shunt-scan", "direct"),
        default=None,
        help="measurement topology of the simulated bench (default: shunt-scan)",
    )
    group.addoption(
        "--isobench-sim-model",
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        type=_role_model,
        help="serve this registry model for that role on the simulated bench (repeatable)",
    )


def pytest_configure(config: pytest.Config) -> None:
    opts = config.option
    if getattr(opts, "isobench_station", None) is None:
        given = [flag for flag, dest, default in _DEPENDENT if getattr(opts, dest) != default]
        if given:
            raise pytest.UsageError(
                f"{given[0]} needs --isobench-station sim|FILE (the bench to inspect on)"
            )
        return  # passive: nobody else's pytest session is touched
    if not opts.isobench_serial:
        raise pytest.UsageError(
            "--isobench-serial is missing: give the serial number of the module on the bench, "
            "e.g. --isobench-serial 857411-0001"
        )
    if getattr(opts, "numprocesses", None) or hasattr(config, "workerinput"):
        raise pytest.UsageError(
            "--isobench-station runs one inspection on one bench: drop -n (pytest-xdist)"
        )
    request = _request(opts)
    run = IsobenchRun(config, request, opts.isobench_plan, opts.isobench_conditional)
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(run, "isobench-run")


def _request(opts: argparse.Namespace) -> RunRequest:
    """The run request from the options, with what can be checked before collection."""
    from bench.errors import one_line
    from bench.runner import RunRequest, SimOptions
    from bench.station import load_station
    from procedures.profile import resolve_profile

    station = opts.isobench_station
    sim = SimOptions(
        overrides=dict(opts.isobench_sim_set),
        defects=list(opts.isobench_sim_defect),
        topology=opts.isobench_sim_topology,
        models=dict(opts.isobench_sim_model),
    )
    try:
        resolve_profile(opts.isobench_profile)
        if station == "sim":
            from bench.sim.bench import choose_models, topology_for
            from bench.sim.defects import parse_defect

            for text in sim.defects:
                parse_defect(text)
            topology = sim.topology or topology_for(sim.models)
            choose_models(topology, sim.models, flag="--isobench-sim-model")
        else:
            if sim.given():
                raise pytest.UsageError(
                    "--isobench-sim-* options are for --isobench-station sim only (a station "
                    "file's simulator takes them: isobench sim --station FILE)"
                )
            load_station(station)
    except pytest.UsageError:
        raise
    except Exception as exc:
        raise pytest.UsageError(f"isobench: {one_line(exc)}") from None
    return RunRequest(
        station=station,
        serial=opts.isobench_serial,
        profile=opts.isobench_profile,
        plan="full",
        operator=opts.isobench_operator,
        lot=opts.isobench_lot,
        engineering=opts.isobench_engineering,
        out_dir=Path(opts.isobench_out),
        sim=sim,
        front_end="pytest",
    )


# ---------------------------------------------------------------------- fixtures
def _run_of(request: pytest.FixtureRequest) -> IsobenchRun:
    run = request.config.stash.get(RUN_KEY, None)
    if run is None:
        pytest.fail(
            f"{request.fixturename} needs a bench: run pytest with --isobench-station sim|FILE "
            "--isobench-serial SN",
            pytrace=False,
        )
    return run


@pytest.fixture(scope="session")
def isobench_station(request: pytest.FixtureRequest) -> StationHandle:
    """The open, guarded bench and the operations a check needs (bench.station_checks)."""
    return _run_of(request).station


@pytest.fixture(scope="session")
def isobench_judge(request: pytest.FixtureRequest) -> Any:
    """Judge a value like a built-in characteristic: ``isobench_judge(name, value, u=...,
    lower=..., upper=..., unit=...)``; returns the statement, fails the test on FAIL."""
    return _run_of(request).judge


@pytest.fixture(scope="session")
def isobench_record(request: pytest.FixtureRequest) -> Any:
    """The run record (procedures.record.RunRecord) as it is being written."""
    return _run_of(request).runner.record


def uses_bench(item: pytest.Item) -> bool:
    return bool(set(getattr(item, "fixturenames", ())) & set(FIXTURES))


# ---------------------------------------------------------------------- plan items
class PlanCollector(pytest.Collector):
    """The built-in plan: its items are made at collection from the plan's steps."""

    def collect(self) -> list[pytest.Item]:
        return []


class CharacteristicItem(pytest.Item):
    """One judged characteristic of the built-in plan; passes or fails by its statement."""

    def __init__(self, *, characteristic: str, run: IsobenchRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.characteristic = characteristic
        self.run = run

    def runtest(self) -> None:
        from bench.station_checks import summary_line, verdict_of

        measurements = self.run.measure(self.characteristic)
        if not measurements:
            raise NotMeasured(f"{self.characteristic}: not measured: {self.run.why_not()}")
        self.user_properties += [
            ("statement", measurements[0].statement if len(measurements) == 1 else ""),
            ("isobench", summary_line(measurements)),
        ]
        _, failure = verdict_of(measurements, self.run.conditional)
        if failure is not None:
            raise NotPassed(failure)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, NotMeasured | NotPassed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{PLAN_NODE}::{self.characteristic}"


class NotPassed(AssertionError):
    """A characteristic whose statement fails the item (one line per failing point)."""


class NotMeasured(AssertionError):
    """A characteristic the run could not measure (the plan stopped, the run aborted)."""


def plan_characteristics(plan: str) -> list[str]:
    """The characteristics the plan judges, in the order they are decided: by the last step
    that judges each (transmission_error is judged again by the over-range step)."""
    from procedures.plans import PLANS

    last: dict[str, int] = {}
    for index, step in enumerate(PLANS[plan]("shunt-scan")):
        for name in getattr(step, "judges", ()):
            last.pop(name, None)
            last[name] = index
    return sorted(last, key=lambda name: last[name])


# ---------------------------------------------------------------------- user checks
class UserCheck:
    """A test of the user's as one step of the run (imported lazily: procedures.plan.Step)."""

    @staticmethod
    def make(item: pytest.Function) -> Step:
        from procedures.plan import Step

        class _Check(Step):
            name = check_name(item)
            title = f"station check {item.name}" + (
                f": {item.obj.__doc__.strip().splitlines()[0]}" if item.obj.__doc__ else ""
            )

            def run(self, ctx: Any) -> None:
                # what pytest's own pytest_pyfunc_call passes: the test's declared arguments
                names = item._fixtureinfo.argnames
                item.obj(**{name: item.funcargs[name] for name in names})

        return _Check()


def check_name(item: pytest.Item) -> str:
    name = item.nodeid
    return name if len(name) <= STEP_NAME_MAX else "..." + name[-(STEP_NAME_MAX - 3) :]


# ---------------------------------------------------------------------- the run
class IsobenchRun:
    """One pytest session's inspection: the runner, opened before the first test and
    finished once, whatever ends the session."""

    def __init__(
        self, config: pytest.Config, request: RunRequest, plan: str | None, conditional: str
    ) -> None:
        self.config = config
        self.request = request
        self.plan_option = plan
        self.plan = plan or "full"
        self.conditional = conditional
        self.runner: Runner | None = None
        self.steps: list[Step] = []
        self.next_step = 0
        self.result: RunResult | None = None
        self.notices: list[str] = []
        self._station: StationHandle | None = None
        self._judge: Any = None
        self.current: tuple[str, Any] = ("user", None)  # the check now running: step, item

    # ------------------------------------------------------------------ collection
    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """The plan's items go first (before ``-k`` deselects): full when asked or when the
        session has no check of the user's, else none (the user's checks alone)."""
        checks = any(uses_bench(item) for item in items)
        self.plan = self.plan_option or ("none" if checks else "full")
        if self.plan == "none":
            return
        collector = PlanCollector.from_parent(session, name=PLAN_NODE, nodeid=PLAN_NODE)
        made: list[pytest.Item] = [
            CharacteristicItem.from_parent(collector, name=name, characteristic=name, run=self)
            for name in plan_characteristics(self.plan)
        ]
        items[:0] = made
        config.hook.pytest_collectreport(
            report=pytest.CollectReport(collector.nodeid, "passed", None, made)
        )

    # ------------------------------------------------------------------ the session
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[Any]:
        collection_failed = (
            session.testsfailed and not self.config.option.continue_on_collection_errors
        )
        if self.config.option.collectonly or not session.items or collection_failed:
            return (yield)
        self.open(session)
        with self.interrupts():
            try:
                outcome = yield
            except BaseException as exc:
                self.finish(self.ending_for(exc, session))
                raise
            self.run_rest()
            self.finish(None)
            return outcome

    def open(self, session: pytest.Session) -> None:
        from bench.errors import one_line
        from bench.events import RunControl
        from bench.runner import Runner

        wanted = frozenset(
            item.characteristic for item in session.items if isinstance(item, CharacteristicItem)
        )
        request = replace(
            self.request, plan="full" if self.plan == "none" else self.plan, characteristics=wanted
        )
        self.control = RunControl()
        runner = Runner(request, self.listen, self.control)
        try:
            runner.__enter__()
        except Exception as exc:  # refused before anything was switched on
            raise pytest.UsageError(f"isobench: {one_line(exc)}") from None
        self.runner, self.steps = runner, list(runner.steps)
        if runner.ctx is None:  # the bench did not open: the record says why
            self.finish(None)

    @contextlib.contextmanager
    def interrupts(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM abort the run once (later ones wait for the safe state), as in
        ``isobench inspect``; pytest alone would die on SIGTERM with the outputs on."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handler = _InterruptOnce()
        handler.control = self.control
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, handler)
        if previous[signal.SIGINT] is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def listen(self, event: Any) -> None:
        if event.kind == "notice":
            self.notices.append(str(event.data.get("text", "")))
        elif event.kind == "interrupt":
            print(f"isobench: {event.data.get('text', '')}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------------ steps
    @property
    def ended(self) -> bool:
        return self.result is not None

    def run_through(self, index: int) -> None:
        """Run the plan's steps up to ``index`` that have not run yet."""
        if self.ended or self.runner is None or index < self.next_step:
            return
        todo = self.steps[self.next_step : index + 1]
        self.next_step = index + 1
        try:
            self.runner.run_steps(todo)
        except KeyboardInterrupt:
            raise  # the session ends; the loop's exit finishes the run with it
        except Exception as exc:  # a gate stopped the plan, an instrument failed, a bug
            self.finish(exc)
            from bench.runner import RUN_ENDING

            if not isinstance(exc, RUN_ENDING):
                raise

    def run_rest(self) -> None:
        self.run_through(len(self.steps) - 1)

    def measure(self, characteristic: str) -> list[MeasurementRecord]:
        """Run what this characteristic needs; its measurements from the plan's steps."""
        needed = [i for i, s in enumerate(self.steps) if characteristic in getattr(s, "judges", ())]
        if needed:
            self.run_through(needed[-1])
        plan_steps = {s.name for s in self.steps}
        record = self.runner.record if self.runner else None
        if record is None:
            return []
        return [
            m
            for m in record.measurements
            if m.characteristic == characteristic and m.step in plan_steps
        ]

    def why_not(self) -> str:
        if self.result is not None:
            r = self.result.record
            return (
                f"the run {r.outcome.upper()}: {r.abort_reason}"
                if r.abort_reason
                else (f"the run {r.outcome}")
            )
        return "no step of the plan recorded it"

    # ------------------------------------------------------------------ the user's checks
    @property
    def station(self) -> StationHandle:
        from bench.station_checks import StationHandle

        if self._station is None:
            assert self.runner is not None
            self._station = StationHandle(self.runner)
        return self._station

    @property
    def judge(self) -> Any:
        from bench.station_checks import Judge

        if self._judge is None:
            assert self.runner is not None
            self._judge = Judge(self.runner, lambda: self.current, self.conditional)
        return self._judge

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """A check of the user's runs as a step of the run, then every output goes off."""
        if not uses_bench(pyfuncitem):
            return None
        self.run_rest()  # the plan's gates (and the shunt calibration) come first
        if self.ended or self.runner is None:
            pytest.fail(f"not run: {self.why_not()}", pytrace=False)
        from bench.errors import one_line
        from bench.runner import RUN_ENDING
        from bench.safety import SafetyError

        check = UserCheck.make(pyfuncitem)
        self.current = (check.name, pyfuncitem)
        refused = ""
        try:
            self.runner.run_steps([check])
        except KeyboardInterrupt:
            raise
        except SafetyError as exc:  # refused before it reached an instrument
            self._check_ended(check.name, "failed", str(exc))
            refused = f"{exc}; a station check may only ask for what the envelope allows"
        except RUN_ENDING as exc:  # an instrument fault: the run ends, outputs safe first
            self._check_ended(check.name, "aborted", str(exc))
            self.finish(exc)
            refused = f"the run ABORTED: {one_line(exc)}"
        except BaseException as exc:  # the check failed, was skipped, or has a bug
            failed = isinstance(exc, AssertionError | pytest.fail.Exception)
            if isinstance(exc, pytest.skip.Exception):
                self._check_ended(check.name, "not run", str(exc))
            else:
                self._check_ended(check.name, "failed" if failed else "error", str(exc))
            raise
        else:
            self._check_ended(check.name, None, "")
        finally:
            self.current = ("user", None)
        if refused:
            pytest.fail(refused, pytrace=False)  # one line, outside the handler: no chain
        return True

    def _check_ended(self, name: str, status: str | None, message: str) -> None:
        """The check's status in the record, and every output off again (as after a
        built-in step); an instrument that fails to switch off ends the run."""
        record = self.runner.record if self.runner else None
        if record is not None and status is not None:
            step = record.step(name)
            step.status, step.message = status, (message.splitlines() or [""])[0]
        try:
            self.station.power_down()
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            self.finish(exc)

    # ------------------------------------------------------------------ the end
    def ending_for(self, exc: BaseException, session: pytest.Session) -> BaseException | None:
        """What ended the session early, as the run's end: Ctrl-C/SIGTERM as such; ``-x`` or
        ``--maxfail`` as a stopped plan when steps were left unrun."""
        if isinstance(exc, KeyboardInterrupt):
            return exc
        from procedures.plan import PlanStopped

        if self.next_step < len(self.steps):
            why = session.shouldfail or session.shouldstop or type(exc).__name__
            return PlanStopped(f"pytest stopped early ({why}); the later steps did not run")
        return None

    def finish(self, ending: BaseException | None) -> None:
        """The runner's exit, once: outputs safe and read back, record, reports, store, lot."""
        if self.result is not None or self.runner is None:
            return
        self.runner.__exit__(type(ending) if ending else None, ending, None)
        self.result = self.runner.result

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        """Plan items show their statement and governing value in the verbose line."""
        if report.when != "call" or not report.nodeid.startswith(f"{PLAN_NODE}::"):
            return None
        text = dict(report.user_properties).get("isobench")
        if not text:
            return None
        letter = "F" if report.failed else "."
        return report.outcome, letter, (text, {"red": report.failed, "green": report.passed})

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = self.result
        if result is None:
            return
        tr, record = terminalreporter, result.record
        tr.section("isobench")
        bench_s = f"{record.bench_time_s:.1f} s" if record.bench_time_s is not None else "-"
        tr.write_line(
            f"{record.serial}: {result.headline} ({len(record.measurements)} values judged, "
            f"bench time {bench_s} {record.bench_clock})"
        )
        safe = (
            "verified"
            if record.safe_state_verified
            else "NOT VERIFIED: "
            + "; ".join(
                f"{role}: {state}"
                for role, state in record.safe_state.items()
                if state != "verified"
            )
        )
        tr.write_line(f"safe state: {safe}")
        report = result.reports.get("html") or result.reports.get("record") or result.folder
        tr.write_line(f"report: {report}")
        if getattr(result, "lot_tally", ""):
            tr.write_line(f"lot: {result.lot_tally}")
        for line in (result.publish_message, result.lot_message, *self.notices):
            if line:
                tr.write_line(f"isobench: warning: {line}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """The exit status follows the run: an aborted run or an unverified safe state is 2
        (as ``isobench inspect``), a failing verdict at least 1."""
        from bench.runner import NOT_PASSED

        result = self.result
        if result is None:
            return
        record = result.record
        if record.outcome == "aborted" or not record.safe_state_verified:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        elif record.verdict in NOT_PASSED[:2] and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
