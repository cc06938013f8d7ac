"""The one runner: every inspection, whichever front-end asked for it, goes this one path.

    station (file, or the simulator started for ``sim``) -> request and lot checked -> station
    lock -> run folder and record -> session open -> traceability -> steps -> safe state read
    back -> record complete -> reports -> store (local, then central or outbox) -> lot -> unlock

A front-end (``isobench inspect``, the operator panel, the pytest plugin) fills a
:class:`RunRequest`, renders the :class:`~bench.events.RunEvent` objects it is sent and may
abort through :class:`~bench.events.RunControl`, which is treated exactly like Ctrl-C.
``Runner(request, listener).run()`` is a whole inspection; ``with Runner(...) as run:`` keeps the
bench open for a front-end's own operations (``run.execute_plan()``, ``run.run_steps()``,
``run.judge()``, ``run.session``) and finalises on exit exactly like ``inspect``.

Whatever ends the run (normal end, a failed gate, an instrument error, a safety refusal,
Ctrl-C, SIGTERM, an abort, a bug), the order is: instruments to their safe state and read back,
then the record completed on disk, then the reports rendered from the record. Data is never
lost: readings were appended as they were taken and the record was rewritten after every step.
A request that cannot run (:class:`RunRefused`) is refused before anything is switched on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.calibration import (
    TraceabilityError,
    missing_calibration_data,
    traceability_problems,
    untraceable_refusal,
)
from bench.errors import RunRefused
from bench.events import OPERATOR_INTERRUPT, Listener, RunAborted, RunControl, RunEvent, ignore
from bench.lock import StationLock
from bench.plan_check import plan_problems
from bench.safety import SafetyEnvelope, SafetyError
from bench.session import BenchSession, Opener, _default_opener, signals_held
from bench.station import Station, load_station
from drivers.errors import InstrumentError, ValidationError
from procedures.decision import Statement
from procedures.interrupts import deferred_signals_observed
from procedures.plan import (
    ModuleNotMeasured,
    PlanSettings,
    PlanStopped,
    RunContext,
    Step,
    WiringSettings,
    run_plan,
)
from procedures.profile import Characteristic, Profile, resolve_profile
from procedures.record import (
    MeasurementRecord,
    OutputWriteError,
    Recorder,
    RunRecord,
    StepRecord,
    utc_now,
)
from procedures.uncertainty import Budget

log = logging.getLogger(__name__)

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
#: statements a console names after the verdict: failing, and conditional either way
NOT_PASSED = (
    Statement.FAIL.value,
    Statement.CONDITIONAL_FAIL.value,
    Statement.CONDITIONAL_PASS.value,
)


class OutputFolderError(OSError):
    """The run folder cannot be created: nothing was measured yet."""


# ------------------------------------------------------------------ the request
@dataclass
class SimOptions:
    """The simulated module of the built-in ``sim`` station (refused with a real station)."""

    overrides: dict[str, float | str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)  # "NAME" or "NAME=VALUE"
    nominal: bool = False
    topology: str | None = None  # None: the first the models fit (shunt-scan first)
    supply_model: str | None = None
    #: role -> registry model name served on the simulated station (others: reference models)
    models: dict[str, str] = field(default_factory=dict)

    def given(self) -> list[str]:
        """The options that differ from the default, as command-line flags."""
        default = SimOptions()
        names = {
            "overrides": "--sim-set",
            "defects": "--defect",
            "nominal": "--sim-nominal",
            "topology": "--sim-topology",
            "supply_model": "--sim-supply-model",
            "models": "--sim-model",
        }
        return [flag for key, flag in names.items() if getattr(self, key) != getattr(default, key)]


@dataclass
class RunRequest:
    """What a front-end gathers for one run."""

    station: str | Station  # "sim", a station .toml path, or a loaded Station
    serial: str
    profile: str | Profile = "wago-857-411"
    plan: str | Sequence[Step] = "full"  # "full" | "sweep" | steps
    #: None: every characteristic; else only the steps that judge these (plus the gates)
    characteristics: frozenset[str] | None = None
    operator: str = ""
    lot: str = ""
    supplier: str = ""
    date_code: str = ""
    ambient_c: float | None = None
    humidity_pct: float | None = None
    engineering: bool = False
    out_dir: Path = Path("isobench-output")
    db_url: str | None = None  # the lot's / shared database; default: the station's
    local_store_url: str | None = None  # default: SQLite in the user's data folder
    sim: SimOptions | None = None
    extra_steps: Sequence[Step] = ()  # a front-end's own steps, judged like built-in ones
    front_end: str = "api"  # who asked: "cli", "panel", "pytest" (shown as the lock holder)
    publish: bool = True  # store the record (local store, then the shared database)
    render: bool = True  # render the reports (HTML, PDF, JUnit, Parquet)
    #: render them in a second process (reports/worker.py): its imports overlap the
    #: measurement and its drawing the store. True: started with the run; or a started
    #: ReportWorker (the runner owns it from here). For one-run processes (the CLI); a process
    #: that renders often has the renderers imported already
    report_worker: Any = False
    settings: PlanSettings = field(default_factory=PlanSettings)
    opener: Opener = _default_opener
    #: modelled bench time source; None = the simulator's clock for ``sim``, else wall time
    bench_clock: Callable[[], float] | None = None


@dataclass
class RunResult:
    record: RunRecord
    folder: Path
    exit_code: int
    reports: dict[str, Path] = field(default_factory=dict)
    publish: object | None = None  # bench.store.sync.PublishResult
    publish_message: str = ""
    lot_message: str = ""  # a warning: the unit could not be assigned to its lot
    lot_tally: str = ""  # the lot after this run: distinct units decided, nonconforming

    @property
    def headline(self) -> str:
        r = self.record
        if r.outcome == "aborted":
            return f"ABORTED: {r.abort_reason}"
        return r.verdict.upper()


def run_folder(output_dir: Path, serial: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe_serial = "".join(c if c.isalnum() or c in "-_." else "_" for c in serial)
    folder = output_dir / f"{safe_serial}_{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = output_dir / f"{safe_serial}_{stamp}_{n}"
    try:
        folder.mkdir(parents=True)
    except OSError as exc:
        raise OutputFolderError(
            f"output folder {output_dir}: cannot create a run folder there "
            f"({exc.strerror or exc}); give --out a folder you can write to"
        ) from None
    return folder


def exit_code_for(record: RunRecord) -> int:
    """0 pass (incl. conditional pass), 1 fail (incl. conditional fail), 2 error/aborted."""
    if record.outcome == "aborted" or not record.safe_state_verified:
        return EXIT_ERROR
    if record.verdict in (Statement.PASS.value, Statement.CONDITIONAL_PASS.value):
        return EXIT_PASS
    if record.verdict in (Statement.FAIL.value, Statement.CONDITIONAL_FAIL.value):
        return EXIT_FAIL
    return EXIT_ERROR  # nothing judged


# ------------------------------------------------------------------ the runner
class _EventRecorder(Recorder):
    """The recorder that also tells the front-end about every judged point."""

    def __init__(self, folder: Path, record: RunRecord, emit: Callable[..., None]) -> None:
        self._emit = emit
        #: called after a save that holds a step's end (the report worker draws its plots)
        self.on_step_saved: Callable[[], None] | None = None
        self._ended: set[tuple[str, str]] = set()
        super().__init__(folder, record)

    def save(self) -> None:
        super().save()
        if self.on_step_saved is None:
            return
        ended = {(s.name, s.ended_at) for s in self.record.steps if s.ended_at is not None}
        if not ended <= self._ended:
            self._ended = ended
            self.on_step_saved()

    def point(self, measurement: MeasurementRecord, **row: Any) -> None:
        super().point(measurement, **row)
        self._emit("point", **point_data(measurement))

    def measurement(self, measurement: MeasurementRecord) -> None:
        super().measurement(measurement)
        self._emit("point", **point_data(measurement))


def point_data(m: MeasurementRecord) -> dict[str, Any]:
    d = m.decision
    return {
        "step": m.step,
        "characteristic": m.characteristic,
        "title": m.title,
        "conditions": m.conditions,
        "value": m.value,
        "unit": m.unit,
        "U": d.get("U"),
        "lower": d.get("lower"),
        "upper": d.get("upper"),
        "acceptance_lower": d.get("acceptance_lower"),
        "acceptance_upper": d.get("acceptance_upper"),
        "statement": m.statement,
    }


class _ReportedStep(Step):
    """A plan step that tells the front-end when it starts and how it ended."""

    def __init__(self, step: Step, index: int, total: int, emit: Callable[..., None]) -> None:
        self.step, self.index, self.total, self._emit = step, index, total, emit
        self.name, self.title, self.gate = step.name, step.title, step.gate

    def run(self, ctx: RunContext) -> None:
        where = {"name": self.name, "title": self.title, "index": self.index, "total": self.total}
        self._emit("step_started", **where)
        status, message = "aborted", ""
        try:
            self.step.run(ctx)
            status = "completed"
        except PlanStopped as exc:
            status, message = "failed", str(exc)
            raise
        except BaseException as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise
        finally:
            self._emit("step_finished", **where, status=status, message=message)


def start_sim_station(serial: str, opts: SimOptions) -> tuple[Station, Any]:
    """Start the built-in simulated bench (imported here only: real code never imports the
    simulator) and return its station and the ``SimBench`` to stop afterwards."""
    from bench.sim.bench import SimBench, SimBenchConfig, SimModelError, choose_models, topology_for
    from bench.sim.defects import parse_defect

    defects = [parse_defect(text) for text in opts.defects]  # a typo: refused, not started
    overrides = dict(opts.overrides)
    if opts.supply_model:
        overrides["supply_model"] = opts.supply_model
    topology = opts.topology or topology_for(opts.models)
    try:
        models = choose_models(topology, opts.models, flag="--sim-model")
    except SimModelError as exc:
        raise RunRefused(str(exc)) from None
    sim = SimBench(
        SimBenchConfig(
            serial=serial,
            overrides=overrides,
            defects=defects,
            healthy_spread=not opts.nominal,
            topology=topology,  # type: ignore[arg-type]
            models=models,
        )
    ).start()
    return sim.station(), sim


def _check_database_url(url: str) -> None:
    from bench.store.store import StoreError, check_url

    try:
        check_url(url)
    except StoreError as exc:
        raise RunRefused(f"--db: {exc}") from None


def plan_steps(request: RunRequest, topology: str) -> list[Step]:
    """The request's steps: the named plan (or given steps), narrowed to the characteristics
    asked for (gates and steps that judge nothing are kept), then the front-end's own."""
    if isinstance(request.plan, str):
        from procedures.plans import PLANS

        if request.plan not in PLANS:
            raise RunRefused(f"plan {request.plan!r}: unknown; use one of {', '.join(PLANS)}")
        steps = PLANS[request.plan](topology)
    else:
        steps = list(request.plan)
    wanted = request.characteristics
    if wanted is not None:
        steps = [
            s
            for s in steps
            if s.gate or not getattr(s, "judges", ()) or set(s.judges) & wanted  # type: ignore[attr-defined]
        ]
    return [*steps, *request.extra_steps]


class Runner:
    """One run of one request. ``run()`` for a whole inspection; a context manager to keep the
    bench open for the front-end's own operations (the exit finalises like ``inspect``)."""

    def __init__(
        self,
        request: RunRequest,
        listener: Listener = ignore,
        control: RunControl | None = None,
    ) -> None:
        self.request = request
        self.listener = listener
        self.control = control or RunControl()
        self.result: RunResult | None = None
        self.station: Station | None = None
        self.profile: Profile | None = None
        self.steps: list[Step] = []
        self.sim: Any = None  # bench.sim.bench.SimBench of the built-in sim station
        self.session: BenchSession | None = None
        self.ctx: RunContext | None = None
        self.record: RunRecord | None = None
        self.recorder: Recorder | None = None
        self.folder: Path | None = None
        self.lock: StationLock | None = None
        self._lot: dict[str, Any] | None = None
        self._report_worker: Any = None  # reports.worker.ReportWorker, if the request asks
        self._stack = contextlib.ExitStack()
        self._failure: BaseException | None = None  # what ended the run while it opened
        #: why the final record could not be written to the run folder ("" if it was)
        self.unsaved = ""
        self._bench_clock: Callable[[], float] | None = request.bench_clock
        self._clock_start: float | None = None
        self._wall_start = datetime.now(UTC)

    # ---------------------------------------------------------------- events
    def emit(self, kind: str, **data: Any) -> None:
        """Send one event; a front-end's failing listener never ends the run."""
        try:
            self.listener(RunEvent(kind, data))
        except Exception:
            log.exception("run event listener failed on %s", kind)

    # ---------------------------------------------------------------- whole run
    def run(self) -> RunResult:
        """The whole inspection; raises only :class:`RunRefused` and the other refusals
        that come before the run folder exists (station file, profile, output folder)."""
        self.__enter__()
        ending: BaseException | None = None
        try:
            self.execute_plan()
        except BaseException as exc:  # recorded as the run's end, as inspect always did
            ending = exc
        self.__exit__(type(ending), ending, None)
        assert self.result is not None
        return self.result

    # ---------------------------------------------------------------- context manager
    def __enter__(self) -> Runner:
        try:
            self._prepare()
            self._open()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        ending = self._failure or exc
        self._finalise(ending)
        if ending is None or ending is self._failure:
            return True
        # run-ending problems are in the record; a front-end's own bug still propagates
        return isinstance(ending, (KeyboardInterrupt, *_RUN_ENDING))

    # ---------------------------------------------------------------- operations
    def execute_plan(self) -> None:
        """Run the request's steps (the plan, narrowed, plus the front-end's own)."""
        self.run_steps(self.steps)

    def run_steps(self, steps: Sequence[Step]) -> None:
        """Run steps on the open bench; each is listed in the record with its status."""
        if self._failure is not None:
            return  # the run already ended while it opened; the exit records why
        assert self.ctx is not None
        self.control.check()
        total = len(steps)
        reported = [_ReportedStep(s, i, total, self.emit) for i, s in enumerate(steps, 1)]
        run_plan(reported, self.ctx)  # type: ignore[arg-type]

    def judge(
        self,
        characteristic: str | Characteristic,
        value: float,
        *,
        u: float = 0.0,
        conditions: dict[str, Any] | None = None,
        step: str = "user",
        note: str = "",
        budget: Budget | None = None,
    ) -> MeasurementRecord:
        """Judge a value the front-end measured itself (a profile characteristic by name, or
        its own :class:`~procedures.profile.Characteristic` with limits and rule) and record
        it like any built-in measurement (with its uncertainty budget when given: then ``u``
        defaults to the budget's)."""
        assert self.ctx is not None and self.profile is not None
        char = self.profile[characteristic] if isinstance(characteristic, str) else characteristic
        allowance = self.ctx.temperature_allowance_a
        if budget is not None and not u:  # its u, degrees of freedom and coverage factor
            decision = char.judge(value, budget.u, allowance=allowance, k=budget.k, dof=budget.dof)
            u = budget.u
        else:
            decision = char.judge(value, u, allowance=allowance)
        measurement = MeasurementRecord.judged(
            char,
            step,
            decision,
            dict(conditions or {}),
            budget.to_dict() if budget else {},
            None,
            note,
        )
        self.ctx.recorder.point(
            measurement,
            step=step,
            characteristic=char.name,
            **(conditions or {}),
            value=value,
            unit=char.unit,
            u=u,
            expanded_u=decision.U,
            statement=decision.statement.value,
        )
        self.ctx.recorder.save()
        return measurement

    # ---------------------------------------------------------------- stages
    def _prepare(self) -> None:
        """Everything that can refuse the run: nothing is switched on, no folder made."""
        req = self.request
        if req.report_worker is True and req.render:
            from reports.worker import ReportWorker

            self._report_worker = ReportWorker.start()
        elif req.report_worker:
            self._report_worker = req.report_worker
        if self._report_worker is not None:
            self._stack.callback(self._report_worker.close)
        profile = req.profile if isinstance(req.profile, Profile) else resolve_profile(req.profile)
        profile.check_environment(req.ambient_c, req.humidity_pct)
        profile.check_serial(req.serial)
        self.profile = profile
        for url in (req.db_url, req.local_store_url):
            if url:
                _check_database_url(url)
        self.station = self._station()
        self.steps = plan_steps(req, self.station.station.topology)
        problems = plan_problems(self.station, profile, self.steps, req.settings)
        if problems:  # refused now, not by the safety envelope with the module powered
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise RunRefused(problems[0] + more)
        # what 'isobench check' calls ENGINEERING ONLY (after NOT READY, as check ranks them)
        refusal = None if req.engineering else untraceable_refusal(self.station)
        if refusal:
            raise RunRefused(refusal)
        self._lot = self._lot_of_request()
        self.lock = self._stack.enter_context(
            StationLock(self.station, serial=req.serial, front_end=req.front_end)
        )
        self.folder = run_folder(req.out_dir, req.serial)

    def _station(self) -> Station:
        req = self.request
        given = req.sim.given() if req.sim is not None else []
        if isinstance(req.station, Station):
            if given:
                raise RunRefused(f"{'/'.join(given)}: only for the built-in sim station")
            return req.station
        if req.station != "sim":
            if given:
                raise RunRefused(
                    f"{'/'.join(given)}: only for --station sim (a station file's simulator "
                    "takes them: isobench sim --station FILE)"
                )
            return load_station(req.station)
        station, sim = start_sim_station(req.serial, req.sim or SimOptions())
        self._stack.callback(sim.stop)
        self.sim = sim
        if self._bench_clock is None:
            self._bench_clock = lambda: sim.bench_time_s
        return station

    def _lot_of_request(self) -> dict[str, Any] | None:
        """The open lot the unit joins (its supplier is the run's), or None."""
        req = self.request
        if not req.lot:
            return None
        from bench.store import ResultStore, StoreError, StoreUnavailable

        try:
            with ResultStore.open(self.lot_store_url()) as store:
                lot = store.lot(req.lot)
        except StoreUnavailable as exc:  # the run is queued; it joins the lot once synced
            self.emit(
                "notice",
                level="warning",
                text=f"lot {req.lot} not checked ({exc}); the record names the lot, so the "
                "unit joins it when 'isobench sync' uploads the run",
            )
            return None
        except StoreError as exc:
            raise RunRefused(str(exc)) from None
        if lot["status"] != "open":
            raise RunRefused(
                f"lot {req.lot} is closed ({lot['disposition']}); start a new lot with "
                "'isobench lot start'"
            )
        if req.engineering:
            self.emit(
                "notice",
                level="warning",
                text=f"engineering run: kept in lot {req.lot} but never counted toward it or "
                "the supplier's switching state",
            )
        else:
            self._warn_repeated_serial(lot)
        return lot

    def _warn_repeated_serial(self, lot: dict[str, Any]) -> None:
        """A serial that already has attempts in the lot: say how this run will count (the
        notice carries the sentence's case and blanks, so a front-end can translate it)."""
        from bench.records_cli import repeated_serial_count
        from bench.store import ResultStore, StoreError

        try:
            with ResultStore.open(self.lot_store_url()) as store:
                count = repeated_serial_count(store, lot, self.request.serial)
        except StoreError:
            return
        if count is not None:
            self.emit(
                "notice",
                level="warning",
                text=count.text,
                key=f"repeat_{count.case}",
                values=dataclasses.asdict(count),
            )

    def lot_store_url(self) -> str:
        """--db, else the station's shared database, else the default store."""
        from bench.store import default_url

        assert self.station is not None
        return self.request.db_url or self.station.station.database_url or default_url()

    def _open(self) -> None:
        """Folder, record, session open, traceability; a failure is kept for the exit."""
        req, station, profile = self.request, self.station, self.profile
        assert station is not None and profile is not None and self.folder is not None
        supplier = (self._lot or {}).get("supplier") or req.supplier
        record = RunRecord(
            serial=req.serial,
            module_type=profile.title,
            profile=profile.source_file,
            station=station.name,
            topology=station.station.topology,
            operator=req.operator,
            lot=req.lot,
            supplier=supplier,
            date_code=req.date_code,
            ambient_c=req.ambient_c,
            humidity_pct=req.humidity_pct,
            engineering=req.engineering,
        )
        self.record = record
        self.recorder = recorder = _EventRecorder(self.folder, record, self.emit)
        worker = self._report_worker
        if worker is not None and req.render and hasattr(worker, "step_finished"):
            recorder.on_step_saved = self._step_saved
        record.steps = [StepRecord(step.name, step.title) for step in self.steps]
        recorder.save()
        if profile.source_file:  # the limits this run was judged against travel with its data
            shutil.copy(profile.source_file, self.folder / "profile.toml")
        self._clock_start = self._bench_clock() if self._bench_clock else None
        settings = req.settings
        settings.line_frequency_hz = float(station.station.line_frequency_hz)
        settings.topology = station.station.topology
        settings.wiring = WiringSettings(**station.wiring.model_dump())

        def envelope(supply_capability_v: float) -> SafetyEnvelope:
            return SafetyEnvelope.build(station.limits, profile.ratings, supply_capability_v)

        self.session = session = BenchSession(
            station, envelope, req.opener, interlock=self.control.check
        )
        self.control.on_abort = self._answer_abort
        self.control.phase = "measuring"
        self.emit(
            "run_started",
            run_id=record.run_id,
            serial=record.serial,
            station=station.name,
            topology=record.topology,
            operator=record.operator,
            lot=record.lot,
            engineering=record.engineering,
            front_end=req.front_end,
            steps=[{"name": s.name, "title": s.title} for s in self.steps],
            folder=str(self.folder),
        )
        try:
            session.open()
            record.instruments = {
                role: {
                    "model": cfg.model,
                    "resource": cfg.resource,
                    "idn": session.identities.get(role, ""),
                    "serial": cfg.serial or "",
                    "calibration_due": cfg.calibration_due.isoformat()
                    if cfg.calibration_due
                    else "",
                }
                for role, cfg in station.instruments.items()
            }
            problems = traceability_problems(station, session.identities)
            if problems and not req.engineering:
                raise TraceabilityError(
                    f"production run refused: {problems[0]}"
                    + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                    + " - recalibrate or correct the station file, or rerun with --engineering"
                )
            record.notes += [f"engineering run: {p}" for p in problems]
            missing = missing_calibration_data(station)
            if missing:  # an engineering run (a production run was refused in _prepare)
                record.notes.append(
                    "no serial or calibration due date in the station file for: "
                    + ", ".join(missing)
                )
            recorder.save()
            self.ctx = RunContext(
                session, profile, recorder, settings, self._progress, req.ambient_c
            )
        except BaseException as exc:
            self._failure = exc

    def _step_saved(self) -> None:
        """Tell the report worker a step ended (its data is saved), with what the steps
        still to come judge: it draws early only the plots no later step changes."""
        assert self.record is not None and self.folder is not None
        ended = {s.name for s in self.record.steps if s.ended_at is not None}
        pending = {
            c for step in self.steps if step.name not in ended for c in getattr(step, "judges", ())
        }
        self._report_worker.step_finished(self.folder, pending)

    def _progress(self, step: str, done: int, total: int, text: str) -> None:
        self.emit("progress", step=step, done=done, total=total, text=text)

    # ---------------------------------------------------------------- the end
    def _answer(self) -> None:
        """Every Ctrl-C/SIGTERM/abort that does not abort the run gets an answer."""
        record = self.record
        if self.control.phase != "measuring" and record and record.outcome == "completed":
            text = "run complete, finishing reports"
        else:
            text = "already stopping: making the outputs safe and writing the record"
        self.emit("interrupt", phase=self.control.phase, text=text)

    def _answer_abort(self, first: bool) -> None:
        if not (first and self.control.phase == "measuring"):  # else: it aborts the run
            self._answer()

    def _answer_signal(self, signum: int) -> None:
        if self.control.phase != "measuring":  # while measuring it is redelivered: an abort
            self._answer()

    def _finalise(self, ending: BaseException | None) -> None:
        record, recorder, session = self.record, self.recorder, self.session
        assert record is not None and recorder is not None and session is not None
        assert self.folder is not None
        _set_outcome(record, ending, self.folder)
        self.control.phase = "finishing"
        try:
            # finalisation is not interrupted: a later Ctrl-C/SIGTERM waits (and is answered)
            # until the instruments are safe, the record complete and the reports rendered
            with deferred_signals_observed(self._answer_signal), signals_held():
                self._finish(record, recorder, session)
                self.emit(
                    "safe_state",
                    results=dict(record.safe_state),
                    verified=record.safe_state_verified,
                )
                reports: dict[str, Path] = {}
                render = self.request.render and not self.unsaved
                worker = self._report_worker if render else None
                if worker is not None and not worker.submit(self.folder):
                    worker = None
                if render and worker is None:
                    with contextlib.suppress(OSError):  # the record stays the data
                        reports = render_reports(self.folder)
                self.result = result = RunResult(
                    record, self.folder, exit_code_for(record), reports
                )
                if self.request.publish:
                    self._store(result)  # while the worker renders
                if worker is not None:
                    with contextlib.suppress(OSError):
                        result.reports = render_reports(self.folder, worker)
                self.emit("run_finished", **finished_data(result))
        finally:
            self.control.phase = "done"
            self._stack.close()  # lock released, simulator stopped

    def _finish(self, record: RunRecord, recorder: Recorder, session: BenchSession) -> None:
        """Safe state (read back), then the record completed on disk."""
        safe = session.close()
        record.safe_state = dict(safe.results)
        record.safe_state_verified = safe.verified
        if not safe.verified:
            record.notes.append(safe.summary())
        else:  # verified, but not at once: the record says which instrument needed more tries
            record.notes += [f"safe state: {note}" for note in safe.retry_notes()]
        for step in record.steps:
            if step.status == "running":
                step.status = "aborted"
        record.ended_at = utc_now()
        if self._bench_clock is not None and self._clock_start is not None:
            record.bench_time_s = self._bench_clock() - self._clock_start
            record.bench_clock = "simulator"
        else:
            record.bench_time_s = (datetime.now(UTC) - self._wall_start).total_seconds()
        record.lower_bound_s = self.ctx.lower_bound_s if self.ctx is not None else None
        if self.ctx is not None and self.ctx.target_misses:
            missed = ", ".join(f"{n} {c}" for c, n in sorted(self.ctx.target_misses.items()))
            record.notes.append(
                f"U above the profile's uncertainty target (tur_min) at {missed} point(s) even "
                "with the most readings the plan takes per point: the unit's own output noise "
                "(see the type-A components) - judged with the U it has"
            )
        if self.ctx is not None and self.ctx.bound.needs:
            bound, bench = self.ctx.lower_bound_s, record.bench_time_s or 0.0
            record.notes.append(
                f"{self.ctx.bound.summary()}; {record.bench_clock} bench time {bench:.2f} s "
                f"= {bench / bound:.2f} x the bound (docs/metrology.md section 8)"
            )
        record.compute_verdict()
        try:
            recorder.close()
        except OSError as exc:  # the disk filled up: the last complete record stays on disk
            if record.outcome == "completed":
                record.outcome, record.abort_reason = "aborted", str(exc)
                record.compute_verdict()
            self.unsaved = str(exc)

    def _store(self, result: RunResult) -> None:
        """Local store, then the shared database (or the outbox), then the lot."""
        assert self.station is not None
        result.publish, result.publish_message = publish_run(
            result.folder,
            self.request.db_url or self.station.station.database_url,
            self.request.local_store_url,
            record=result.record.to_dict() if self.unsaved else None,
        )
        if self._lot is not None and result.publish is not None:
            result.lot_message = self._join_lot(result, result.publish.run_id)  # type: ignore[attr-defined]

    def _join_lot(self, result: RunResult, run_id: str) -> str:
        """Assign the run to its lot; a lot store out of reach is only a warning (the record
        names the lot, so 'isobench lot close' still counts the unit once it is uploaded)."""
        from bench.records_cli import lot_decisions
        from bench.store import ResultStore, StoreError

        lot_id = self.request.lot
        try:
            with ResultStore.open(self.lot_store_url()) as store:
                store.add_unit_to_lot(lot_id, run_id)
                units = lot_decisions(store, store.lot(lot_id))
        except StoreError as exc:
            return f"unit not yet assigned to lot {lot_id}: {exc}"
        decided = [u for u in units if u.decided]
        assert self._lot is not None
        counts = any(a.run_id == run_id and a.counts for u in units for a in u.attempts)
        result.lot_tally = (
            f"lot {lot_id}: {len(decided)} of {self._lot['sample_size']} distinct units "
            f"decided, {sum(u.nonconforming for u in decided)} nonconforming; this run "
            + ("counts" if counts else "does not count")
        )
        return ""


_RUN_ENDING = (
    InstrumentError,
    SafetyError,
    ValidationError,
    TraceabilityError,
    PlanStopped,
    OutputWriteError,
)
#: exceptions that end a run and are recorded as its end (a front-end need not re-raise them)
RUN_ENDING = _RUN_ENDING


def _set_outcome(record: RunRecord, ending: BaseException | None, folder: Path) -> None:
    """The record's outcome and abort reason from what ended the run."""
    if ending is None:
        record.outcome = "completed"
    elif isinstance(ending, ModuleNotMeasured):
        record.outcome, record.abort_reason = "aborted", str(ending)
    elif isinstance(ending, PlanStopped):
        record.outcome, record.abort_reason = "stopped", str(ending)
    elif isinstance(ending, RunAborted):
        record.outcome, record.abort_reason = "aborted", ending.reason
    elif isinstance(ending, KeyboardInterrupt):
        record.outcome, record.abort_reason = "aborted", OPERATOR_INTERRUPT
    elif isinstance(ending, _RUN_ENDING):
        record.outcome, record.abort_reason = "aborted", str(ending)
    else:  # a bug must still end safely and keep the data
        record.outcome = "aborted"
        record.abort_reason = f"internal error {type(ending).__name__}: {ending}"
        text = "".join(traceback.format_exception(ending))
        with contextlib.suppress(OSError):
            (folder / "traceback.txt").write_text(text, encoding="utf-8")


def finished_data(result: RunResult) -> dict[str, Any]:
    """The ``run_finished`` event's data."""
    record = result.record
    failing = [point_data(m) for m in record.measurements if m.statement in NOT_PASSED]
    publish = result.publish
    return {
        "run_id": record.run_id,
        "outcome": record.outcome,
        "verdict": record.verdict,
        "exit_code": result.exit_code,
        "headline": result.headline,
        "engineering": record.engineering,
        "failing": failing,
        "abort_reason": record.abort_reason,
        "folder": str(result.folder),
        "reports": {name: str(path) for name, path in result.reports.items()},
        "store": result.publish_message or (getattr(publish, "central", "") if publish else ""),
        "lot_tally": result.lot_tally,
    }


# ------------------------------------------------------------------ compatibility
def RunOptions(
    serial: str, output_dir: Path, *, database_url: str | None = None, **fields: Any
) -> RunRequest:
    """The request of :func:`run_inspection` (whose station, profile and plan are given)."""
    return RunRequest(
        station="sim", serial=serial, out_dir=output_dir, db_url=database_url, **fields
    )


def run_inspection(
    station: Station, profile: Profile, plan: list[Step], options: RunRequest
) -> RunResult:
    """One inspection through the runner, for callers that hold a station and a profile."""
    request = dataclasses.replace(options, station=station, profile=profile, plan=plan)
    return Runner(request).run()


def publish_run(
    folder: Path,
    central_url: str | None,
    local_url: str | None,
    record: dict[str, Any] | None = None,
) -> tuple[object | None, str]:
    """Store the run locally first, then centrally (or queue it); never raises. ``record``:
    the complete record when the run folder could not take it (disk full)."""
    from bench.store.store import StoreError
    from bench.store.sync import publish

    try:
        result = publish(folder, central_url, local_url, record=record)
    except StoreError as exc:
        return None, f"run kept in {folder} but not stored: {exc}"
    return result, result.message


def render_reports(folder: Path, worker: Any = None) -> dict[str, Path]:
    """Render every report from the files on disk; a failing renderer never loses data (it
    leaves ``<name>-error.txt`` and the others still run). ``worker``: a
    reports.worker.ReportWorker the folder was submitted to; what it does not deliver is
    rendered here."""
    from reports.worker import render_with

    outputs: dict[str, Path] = {
        "record": folder / Recorder.RECORD,
        "readings": folder / Recorder.READINGS,
    }
    outputs.update(render_with(worker, folder))
    return outputs
