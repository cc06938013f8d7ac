"""Run one inspection on a station: session, plan, record, safe state, reports, exit code.

Whatever ends the run (normal end, a failed gate, an instrument error, a safety refusal,
Ctrl-C or SIGTERM, a bug), the order is: instruments to their safe state and read back, then
the record completed on disk, then the reports rendered from the record. Data is never lost:
readings were appended as they were taken and the record was rewritten after every step.
"""

from __future__ import annotations

import logging
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.calibration import TraceabilityError, missing_calibration_data, traceability_problems
from bench.safety import SafetyEnvelope, SafetyError
from bench.session import BenchSession, Opener, _default_opener, signals_held
from bench.station import Station
from drivers.errors import InstrumentError, ValidationError
from procedures.decision import Statement
from procedures.plan import (
    PlanSettings,
    PlanStopped,
    ProgressFn,
    RunContext,
    Step,
    WiringSettings,
    run_plan,
)
from procedures.profile import Profile
from procedures.record import Recorder, RunRecord, StepRecord, utc_now

log = logging.getLogger(__name__)

EXIT_PASS, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


@dataclass
class RunOptions:
    serial: str
    output_dir: Path
    operator: str = ""
    lot: str = ""
    supplier: str = ""
    date_code: str = ""
    ambient_c: float | None = None
    humidity_pct: float | None = None
    engineering: bool = False
    publish: bool = True  # store the record (local store, then the station's database)
    render: bool = True  # render the reports (HTML, PDF, JUnit, Parquet) after the run
    local_store_url: str | None = None  # default: SQLite in the user's data folder
    database_url: str | None = None  # shared store; default: the station's database_url
    settings: PlanSettings = field(default_factory=PlanSettings)
    progress: ProgressFn = lambda step, done, total, text: None
    #: modelled bench time source (the simulator's clock); None = wall-clock duration
    bench_clock: Callable[[], float] | None = None
    opener: Opener = _default_opener


@dataclass
class RunResult:
    record: RunRecord
    folder: Path
    exit_code: int
    reports: dict[str, Path] = field(default_factory=dict)
    publish: object | None = None  # bench.store.sync.PublishResult
    publish_message: str = ""

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


class OutputFolderError(OSError):
    """The run folder cannot be created: nothing was measured yet."""


def exit_code_for(record: RunRecord) -> int:
    """0 pass (incl. conditional pass), 1 fail (incl. conditional fail), 2 error/aborted."""
    if record.outcome == "aborted" or not record.safe_state_verified:
        return EXIT_ERROR
    if record.verdict in (Statement.PASS.value, Statement.CONDITIONAL_PASS.value):
        return EXIT_PASS
    if record.verdict in (Statement.FAIL.value, Statement.CONDITIONAL_FAIL.value):
        return EXIT_FAIL
    return EXIT_ERROR  # nothing judged


def run_inspection(
    station: Station, profile: Profile, plan: list[Step], options: RunOptions
) -> RunResult:
    profile.check_environment(options.ambient_c, options.humidity_pct)  # before anything
    folder = run_folder(options.output_dir, options.serial)
    record = RunRecord(
        serial=options.serial,
        module_type=profile.title,
        profile=profile.source_file,
        station=station.name,
        topology=station.station.topology,
        operator=options.operator,
        lot=options.lot,
        supplier=options.supplier,
        date_code=options.date_code,
        ambient_c=options.ambient_c,
        humidity_pct=options.humidity_pct,
        engineering=options.engineering,
    )
    recorder = Recorder(folder, record)
    record.steps = [StepRecord(step.name, step.title) for step in plan]  # even if open fails
    recorder.save()
    if profile.source_file:  # the limits this run was judged against travel with its data
        shutil.copy(profile.source_file, folder / "profile.toml")
    clock_start = options.bench_clock() if options.bench_clock else None
    wall_start = datetime.now(UTC)
    settings = options.settings
    settings.line_frequency_hz = float(station.station.line_frequency_hz)
    settings.topology = station.station.topology
    settings.wiring = WiringSettings(**station.wiring.model_dump())

    def envelope(supply_capability_v: float) -> SafetyEnvelope:
        return SafetyEnvelope.build(station.limits, profile.ratings, supply_capability_v)

    session = BenchSession(station, envelope, options.opener)
    ctx: RunContext | None = None
    try:
        session.open()
        record.instruments = {
            role: {
                "model": cfg.model,
                "resource": cfg.resource,
                "idn": session.identities.get(role, ""),
                "serial": cfg.serial or "",
                "calibration_due": cfg.calibration_due.isoformat() if cfg.calibration_due else "",
            }
            for role, cfg in station.instruments.items()
        }
        problems = traceability_problems(station, session.identities)
        if problems and not options.engineering:
            raise TraceabilityError(
                f"production run refused: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
                + " - recalibrate or correct the station file, or rerun with --engineering"
            )
        record.notes += [f"engineering run: {p}" for p in problems]
        missing = missing_calibration_data(station)
        if missing and station.name != "sim":
            record.notes.append(
                "no serial or calibration due date in the station file for: " + ", ".join(missing)
            )
        recorder.save()
        ctx = RunContext(session, profile, recorder, settings, options.progress, options.ambient_c)
        run_plan(plan, ctx)
        record.outcome = "completed"
    except PlanStopped as exc:
        record.outcome, record.abort_reason = "stopped", str(exc)
    except KeyboardInterrupt:
        record.outcome, record.abort_reason = (
            "aborted",
            "interrupted by the operator (Ctrl-C or SIGTERM)",
        )
    except (InstrumentError, SafetyError, ValidationError, TraceabilityError) as exc:
        record.outcome, record.abort_reason = "aborted", str(exc)
    except Exception as exc:  # a bug must still end safely and keep the data
        record.outcome = "aborted"
        record.abort_reason = f"internal error {type(exc).__name__}: {exc}"
        (folder / "traceback.txt").write_text(traceback.format_exc(), encoding="utf-8")
    finally:
        # finalisation is not interrupted: a second Ctrl-C/SIGTERM waits until the instruments
        # are safe, the record is complete on disk and the reports are rendered
        with signals_held():
            _finish(record, recorder, session, options, ctx, clock_start, wall_start)
            reports = render_reports(folder) if options.render else {}
    result = RunResult(record, folder, exit_code_for(record))
    result.reports = reports
    if options.publish:
        result.publish, result.publish_message = publish_run(
            folder, options.database_url or station.station.database_url, options.local_store_url
        )
    return result


def _finish(
    record: RunRecord,
    recorder: Recorder,
    session: BenchSession,
    options: RunOptions,
    ctx: RunContext | None,
    clock_start: float | None,
    wall_start: datetime,
) -> None:
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
    if options.bench_clock is not None and clock_start is not None:
        record.bench_time_s = options.bench_clock() - clock_start
        record.bench_clock = "simulator"
    else:
        record.bench_time_s = (datetime.now(UTC) - wall_start).total_seconds()
    record.lower_bound_s = ctx.lower_bound_s if ctx is not None else None
    record.compute_verdict()
    recorder.close()


def publish_run(
    folder: Path, central_url: str | None, local_url: str | None
) -> tuple[object | None, str]:
    """Store the run locally first, then centrally (or queue it); never raises."""
    from bench.store.store import StoreError
    from bench.store.sync import publish

    try:
        result = publish(folder, central_url, local_url)
    except StoreError as exc:
        return None, f"run kept in {folder} but not stored: {exc}"
    return result, result.message


def render_reports(folder: Path) -> dict[str, Path]:
    """Render every report from the files on disk; a failing renderer never loses data (it
    leaves ``<name>-error.txt`` and the others still run)."""
    from reports.render import render_unit_reports

    outputs: dict[str, Path] = {
        "record": folder / Recorder.RECORD,
        "readings": folder / Recorder.READINGS,
    }
    outputs.update(render_unit_reports(folder))
    return outputs
