"""``isobench`` command line: inspect a module, or run the simulated bench in the foreground.

Exit codes of ``inspect``: 0 pass (incl. conditional pass), 1 fail (incl. conditional fail),
2 error or aborted run. Every expected problem (bad arguments, station file, instrument,
safety refusal) is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, with the fix
        self.exit(EXIT_ERROR, f"isobench: error: {message} (see '{self.prog} --help')\n")


def _key_value(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE, e.g. gain_error=0.003")
    key, value = text.split("=", 1)
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number, not {value.strip()}")
    return key.strip(), number


def _role_model(text: str) -> tuple[str, str]:
    """``ROLE=NAME``: a registry model for a role (checked once the topology is known)."""
    from drivers.registry import parse_choice

    try:
        return parse_choice(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _serial(text: str) -> str:
    value = text.strip()
    if (
        not value
        or len(value) > 64
        or any(c in value for c in '/\\:*?"<>|')
        or not value.isprintable()
    ):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a usable serial number "
            '(1-64 printable characters, no / \\ : * ? " < > |)'
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65532:
        raise argparse.ArgumentTypeError(f"{value} is outside 0 ... 65532 (4 ports are needed)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="isobench", description="Incoming inspection of WAGO 857-411 modules.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = sub.add_parser("inspect", help="inspect one module and write its report")
    inspect.add_argument(
        "--station",
        required=True,
        help="'sim' for the built-in simulated bench, or a station .toml file",
    )
    inspect.add_argument("--serial", required=True, type=_serial, help="module serial number")
    inspect.add_argument(
        "--out",
        type=Path,
        default=Path("isobench-output"),
        help="folder for the run folders (default: ./isobench-output)",
    )
    inspect.add_argument(
        "--profile",
        default="wago-857-411",
        help="module profile name or .toml path (default: wago-857-411)",
    )
    inspect.add_argument("--operator", default="", help="operator name for the record")
    inspect.add_argument(
        "--lot",
        default="",
        help="lot id from 'isobench lot start': the unit joins that lot (its supplier is used)",
    )
    inspect.add_argument("--supplier", default="", help="supplier (taken from --lot if given)")
    inspect.add_argument("--date-code", default="", help="module date code from its label")
    inspect.add_argument(
        "--humidity", type=float, default=None, help="relative humidity in %% for the record"
    )
    inspect.add_argument(
        "--engineering",
        action="store_true",
        help="run although an instrument is out of calibration or not the one in the station "
        "file; every output is stamped ENGINEERING RUN - NOT FOR RELEASE",
    )
    inspect.add_argument(
        "--db",
        default=None,
        help="database of the lot (default: the station's database_url, else the local store)",
    )
    inspect.add_argument(
        "--ambient-c",
        type=float,
        default=None,
        help="ambient temperature in C (enables the temperature allowance)",
    )
    inspect.add_argument(
        "--plan",
        choices=["full", "sweep"],
        default="full",
        help="full inspection (default) or the transfer sweep only",
    )
    inspect.add_argument("--quiet", action="store_true", help="no progress output")
    inspect.add_argument(
        "--sim-set",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="simulated unit parameter, e.g. gain_error=0.003 (sim station only)",
    )
    inspect.add_argument(
        "--sim-topology",
        choices=["shunt-scan", "direct"],
        default=None,
        help="measurement topology of the simulated station (default: shunt-scan)",
    )
    inspect.add_argument(
        "--sim-model",
        type=_role_model,
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="serve this registry model for that role on the simulated station, e.g. "
        "source=keithley2450 (repeatable; sim station only)",
    )
    inspect.add_argument(
        "--sim-nominal",
        action="store_true",
        help="simulate the exact nominal module (no per-unit spread)",
    )
    inspect.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="give the simulated unit a catalogue defect, e.g. gain=0.003 or dead_output "
        "(sim station only; 'isobench sim --list-defects' lists them)",
    )
    inspect.add_argument(
        "--sim-supply-model",
        choices=["dcdc", "linear"],
        default=None,
        help="supply-current model of the simulated unit (sim station only)",
    )

    check = sub.add_parser(
        "check",
        help="check a station without a module: instruments, identities, calibration, safety "
        "envelope, safe state",
    )
    check.add_argument(
        "--station",
        required=True,
        help="'sim' for the built-in simulated bench, or a station .toml file",
    )
    check.add_argument(
        "--profile",
        default="wago-857-411",
        help="module profile whose ratings bound the safety envelope (default: wago-857-411)",
    )
    check.add_argument(
        "--sim-model",
        type=_role_model,
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="serve this registry model for that role on the simulated station (repeatable; "
        "sim station only)",
    )

    from bench.panel.command import add_station_command
    from bench.records_cli import add_commands

    add_commands(sub)
    add_station_command(sub)

    sim = sub.add_parser("sim", help="run the simulated bench in the foreground (Ctrl-C stops)")
    sim.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1)")
    sim.add_argument(
        "--base-port",
        type=_port,
        default=None,
        help="first of four consecutive ports (default: 5025; 0 = ephemeral)",
    )
    sim.add_argument(
        "--serial", type=_serial, default=None, help="simulated module serial (default: SIM-0001)"
    )
    sim.add_argument(
        "--station",
        type=Path,
        default=None,
        help="serve the simulated bench a station file describes: its resources' host and "
        "ports, its topology and its [sim] table (module, defects, lot)",
    )
    sim.add_argument(
        "--defect",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="give the simulated unit a catalogue defect (repeatable), e.g. gain=0.003; "
        "in lot mode: the defects the lot draws from",
    )
    sim.add_argument(
        "--list-defects", action="store_true", help="print the defect catalogue and exit"
    )
    sim.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND@ROLE[,after=N][,on=HEADER]...",
        help="inject an instrument fault (repeatable), e.g. no-reply@supply,after=120 or "
        "error@supply,on=OUTP,code=-222; 'isobench sim --list-faults' lists them",
    )
    sim.add_argument(
        "--list-faults", action="store_true", help="print the injectable faults and exit"
    )
    sim.add_argument(
        "--supply-model",
        choices=["dcdc", "linear"],
        default=None,
        help="supply-current model of the simulated unit (default: the population's)",
    )
    sim.add_argument(
        "--lot-size",
        type=int,
        default=None,
        metavar="N",
        help="lot mode: serve N units one after another (the next one is inserted when the "
        "next inspection connects)",
    )
    sim.add_argument(
        "--defect-rate",
        type=float,
        default=None,
        metavar="P",
        help="lot mode: fraction of the lot with a random catalogue defect (default 0)",
    )
    sim.add_argument(
        "--lot-seed",
        type=int,
        default=None,
        metavar="S",
        help="lot mode: seed of the lot (serials LOT-<S>-0001 ...; default 0)",
    )
    sim.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="lot mode: write the lot's truth (serial, defect, severity per unit) as JSON",
    )
    sim.add_argument(
        "--sim-set",
        type=_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="simulated unit parameter, e.g. gain_error=0.003",
    )
    sim.add_argument(
        "--topology",
        choices=["shunt-scan", "direct"],
        default=None,
        help="measurement topology to simulate (default: the first the models fit, shunt-scan "
        "first)",
    )
    sim.add_argument(
        "--model",
        type=_role_model,
        action="append",
        default=[],
        metavar="ROLE=MODEL",
        help="serve this registry model for that role, e.g. dmm=keysight34465a (repeatable; "
        "other roles: the topology's reference models)",
    )
    sim.add_argument(
        "--write-station",
        type=Path,
        default=None,
        help="also write a station .toml file pointing at the simulated bench",
    )
    return parser


class _InterruptOnce:
    """SIGINT/SIGTERM handler: the first signal aborts the run; later ones are answered, not
    acted on.

    The abort is what makes the bench safe (its handlers switch every output off and write
    the record). A second Ctrl-C pressed while that is under way must not cut it short, and
    there is a window before the finalisation holds signals itself. Once the run is
    finishing (after its last reading) a signal only gets its answer from the runner.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self.control: object | None = None  # bench.events.RunControl of the run, once known

    def __call__(self, signum: int, frame: object) -> None:
        self.received.append(signum)
        phase = getattr(self.control, "phase", "idle")
        if len(self.received) == 1 and phase in ("idle", "measuring"):
            raise KeyboardInterrupt(f"signal {signum}")
        if phase in ("finishing", "done") and self.control is not None:
            self.control.abort("interrupted by the operator (Ctrl-C or SIGTERM)")  # type: ignore[attr-defined]
        else:
            print(
                "isobench: already stopping: making the outputs safe and writing the record",
                file=sys.stderr,
                flush=True,
            )


_INTERRUPTS = _InterruptOnce()


def _leave_now(code: int) -> int:
    """End the `isobench inspect` process at once, skipping the interpreter's tear-down.

    Freeing every module and object of a run (numpy, pandas, scipy, sqlalchemy...) costs
    about 0.4 s of CPU after the work is done (``python -m bench.benchmark``, phase "exit").
    Nothing is lost: the run's files are closed and fsynced, the store is closed, the report
    worker has answered; the standard streams, logging and the atexit handlers are flushed
    and run here first. Only when main() is the program (``argv is None``): a caller that
    passes arguments (tests, the panel) keeps its interpreter."""
    import atexit
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    atexit._run_exitfuncs()
    os._exit(code)


class StopSignals:
    """Ctrl-C/SIGTERM stop a foreground server (``isobench sim``): the handler only notes the
    signal, and :meth:`wait` polls for it.

    A signal handler must not take a lock: it runs in the main thread between two bytecodes,
    possibly while that thread already holds the very lock. ``threading.Event.set()`` in a
    handler deadlocks when the signal lands while the main thread is inside ``Event.wait()``
    re-taking the event's (non-reentrant) condition lock - a simulator that ignored SIGTERM.
    Appending to a list takes no Python-level lock.
    """

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self, signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        for sig in signals:
            signal.signal(sig, self._note)

    def _note(self, signum: int, frame: object) -> None:
        self.received.append(signum)

    @property
    def stopped(self) -> bool:
        return bool(self.received)

    def wait(self, poll_s: float = 0.1) -> int:
        """Block until a signal was noted; returns it (later ones are only noted)."""
        while not self.received:
            time.sleep(poll_s)  # a handled signal ends the sleep early only if it raises
        return self.received[0]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="isobench: %(levelname)s: %(message)s")
    if threading.current_thread() is threading.main_thread() and args.command != "sim":
        handler = _INTERRUPTS
        signal.signal(signal.SIGTERM, handler)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # e.g. a background job
            signal.signal(signal.SIGINT, handler)
    try:
        if args.command == "sim":
            return _cmd_sim(args)
        if args.command == "inspect":
            code = _cmd_inspect(args)
            return _leave_now(code) if argv is None else code
        if args.command == "check":
            return _cmd_check(args)
        if args.command == "station":
            from bench.panel.command import run_station

            return run_station(args)
        from bench.records_cli import run_command

        return run_command(args)
    except KeyboardInterrupt:
        print("isobench: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the last line of defence: one line, the details in the log
        from bench.errors import one_line

        print(f"isobench: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


def _cmd_inspect(args: argparse.Namespace) -> int:
    from reports.worker import ReportWorker, imports_without_gc

    # first: the report worker's imports overlap ours and the measurement (second core)
    worker = ReportWorker.start()
    with imports_without_gc():
        from bench.events import RunControl
        from bench.runner import Runner, RunRequest, SimOptions, finished_data
        from reports.console import ConsoleListener, Progress, failing_lines

    request = RunRequest(
        station=args.station,
        serial=args.serial,
        profile=args.profile,
        plan=args.plan,
        operator=args.operator,
        lot=args.lot,
        supplier=args.supplier,
        date_code=args.date_code,
        ambient_c=args.ambient_c,
        humidity_pct=args.humidity,
        engineering=args.engineering,
        out_dir=args.out,
        db_url=args.db,
        sim=SimOptions(
            overrides=dict(args.sim_set),
            defects=list(args.defect),
            nominal=args.sim_nominal,
            topology=args.sim_topology,
            supply_model=args.sim_supply_model,
            models=dict(args.sim_model),
        ),
        front_end="isobench inspect",
        report_worker=worker or False,  # one run per process: render on the second core
    )
    control = RunControl()
    _INTERRUPTS.control = control
    with Progress(enabled=not args.quiet) as progress:
        result = Runner(request, ConsoleListener(progress), control).run()
    record = result.record
    print(f"{record.serial}: {result.headline}")
    if record.engineering:
        print("ENGINEERING RUN - NOT FOR RELEASE: it never counts toward a lot or a supplier")
    if record.outcome != "aborted":
        for line in failing_lines(finished_data(result)["failing"]):
            print(line)
    if record.outcome == "aborted":
        print(f"isobench: error: {record.serial}: ABORTED: {record.abort_reason}", file=sys.stderr)
        if record.safe_state_verified:
            print(
                f"outputs safe (every instrument read back off); the data so far: {result.folder}"
            )
    if not record.safe_state_verified:
        print(f"WARNING: {'; '.join(record.notes)}")
    report = result.reports.get("html") or result.reports.get("record") or result.folder
    print(f"report: {report}")
    if result.publish_message:
        print(f"isobench: warning: {result.publish_message}", file=sys.stderr)
    if result.lot_message:
        print(f"isobench: warning: {result.lot_message}", file=sys.stderr)
    if result.lot_tally:
        print(result.lot_tally)
    return result.exit_code


def _cmd_check(args: argparse.Namespace) -> int:
    from bench.check import NOT_READY, check_station
    from bench.runner import SimOptions, start_sim_station
    from bench.station import load_station
    from procedures.profile import resolve_profile

    profile = resolve_profile(args.profile)
    if args.station != "sim":
        if args.sim_model:
            print(
                "isobench: error: --sim-model: only for --station sim (a station file names "
                "its models)",
                file=sys.stderr,
            )
            return EXIT_ERROR
        result = check_station(load_station(args.station), profile)
    else:
        station, sim = start_sim_station("CHECK", SimOptions(models=dict(args.sim_model)))
        try:
            result = check_station(station, profile)
        finally:
            sim.stop()
    for line in result.lines():
        print(line)
    if result.exit_code == NOT_READY:
        problems = [i.message for i in result.instruments if not i.ok]
        if not result.envelope_ok and not problems:
            problems.append(f"safety envelope {result.envelope}")
        problems += result.plan
        if not result.safe_state.verified:
            problems.append(result.safe_state.summary())
        print(f"isobench: error: station not ready: {problems[0]}", file=sys.stderr)
    return result.exit_code


def _cmd_sim(args: argparse.Namespace) -> int:
    from bench.sim.bench import (
        ROLES,
        SimBench,
        SimBenchConfig,
        choose_models,
        topology_for,
    )
    from bench.sim.defects import format_defects, parse_defect
    from bench.sim.fault_spec import format_fault, kinds_text, parse_fault
    from bench.sim.module import SimModule
    from bench.sim.station_file import traceable_sim_station
    from bench.station import station_toml

    if args.list_defects:
        from bench.sim.defects import catalogue_text

        print(catalogue_text())
        return 0
    if args.list_faults:
        print(kinds_text())
        return 0
    module = SimModule()
    host, ports = "127.0.0.1", None
    chosen = dict(args.model)
    if args.station is not None:
        given = [
            flag
            for flag, value in (
                ("--host", args.host),
                ("--base-port", args.base_port),
                ("--topology", args.topology),
                ("--model", args.model or None),
            )
            if value is not None
        ]
        if given:
            print(
                f"isobench: error: {'/'.join(given)}: the station file {args.station} gives "
                "the host, ports, topology and models",
                file=sys.stderr,
            )
            return EXIT_ERROR
        from bench.sim.bench import served_by_station

        host, ports, topology, module, chosen = served_by_station(args.station)
    else:
        host = args.host or host
        topology = args.topology or topology_for(chosen)
        base = 5025 if args.base_port is None else args.base_port
        if base:
            ports = {role: base + i for i, role in enumerate(ROLES)}
    # command-line settings extend / override the station file's [sim] table
    if args.serial:
        module.serial = args.serial
    module.defects = [*module.defects, *args.defect]
    module.faults = [*module.faults, *args.fault]
    module.overrides = {**module.overrides, **dict(args.sim_set)}
    if args.supply_model:
        module.overrides["supply_model"] = args.supply_model
    if args.lot_size is not None:
        module.lot_size = args.lot_size
    if args.defect_rate is not None:
        module.defect_rate = args.defect_rate
    if args.lot_seed is not None:
        module.lot_seed = args.lot_seed
    defects = [parse_defect(text) for text in module.defects]
    faults = [parse_fault(text) for text in module.faults]
    lot = None
    if module.lot_size is None:
        if args.manifest or args.defect_rate is not None or args.lot_seed is not None:
            print(
                "isobench: error: --defect-rate/--lot-seed/--manifest need --lot-size",
                file=sys.stderr,
            )
            return EXIT_ERROR
    else:
        from bench.sim.lot import Lot, LotFeeder

        if args.serial:
            print(
                "isobench: error: --serial and --lot-size: a lot names its units "
                "LOT-<seed>-0001 ...",
                file=sys.stderr,
            )
            return EXIT_ERROR
        lot = Lot(module.lot_size, module.defect_rate, module.lot_seed, pool=defects or None)
    models = choose_models(topology, chosen)  # a bad name: one line listing the valid ones
    serial = module.serial if lot is None else lot.units[0].serial
    if lot is not None:
        defects = lot.units[0].defects
    bench = SimBench(
        SimBenchConfig(
            serial=serial,
            overrides=dict(module.overrides),
            defects=list(defects),
            healthy_spread=not module.nominal,
            host=host,
            ports=ports,
            topology=topology,  # type: ignore[arg-type]
            models=models,
            seed=module.seed if module.seed is not None or lot is None else lot.seed,
            realtime=True,  # external clients sleep in wall time: the clock follows it
        )
    )
    # before the sockets open, so a signal is never lost or met by the default action;
    # Ctrl-C stops too, even when started with SIGINT ignored (e.g. a shell's background job)
    stop = StopSignals()
    stop.install()
    bench.start()
    injected = [bench.inject(fault) for fault in faults]
    feeder = None
    try:
        if lot is None:
            what = f"module {serial}"
            if defects:
                what += f" with {format_defects(defects)}"
        else:
            what = (
                f"lot {lot.name}: {len(lot)} units, "
                f"{sum(1 for u in lot.units if u.defect)} with a defect"
            )
        print(f"simulated bench for {what} ({bench.config.topology} topology):")
        for role, resource in bench.resources.items():
            print(f"  {role:<7} {bench.models[role]:<18} {resource}")
        for armed in injected:
            print(f"fault armed: {format_fault(armed.fault)}")
        if lot is not None and args.manifest:
            lot.write_manifest(args.manifest)
            print(f"manifest: {args.manifest}")
        if args.write_station:
            # the simulated instruments' serials and a calibration due date: production-ready
            station = traceable_sim_station(
                bench.resources,
                bench.models,
                topology=topology,
                serials={r: i.identity.serial for r, i in bench.instruments.items()},
            )
            station.sim = {"serial": module.serial, **module.model_dump(exclude_defaults=True)}
            args.write_station.write_text(station_toml(station), encoding="utf-8")
            print(f"station file: {args.write_station}")
        if lot is not None:
            feeder = LotFeeder(bench, lot, announce=lambda text: print(text, flush=True))
            feeder.start()
        print("Ctrl-C stops.", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if feeder is not None:
            feeder.stop()
        bench.stop()
        for armed in injected:
            when = (
                f"fired at message {armed.fired_at_message + 1} to the {armed.fault.role}"
                if armed.fired_at_message is not None
                else "did not fire"
            )
            print(f"fault {format_fault(armed.fault)}: {when}")
        print(f"outputs at stop: {_safety_summary(bench)}")
        print(f"stopped; modelled bench time {bench.bench_time_s:.3f} s")
    return 0


def _safety_summary(bench: object) -> str:
    """What the simulator's outputs were left at: the check of a fault rehearsal."""
    from bench.sim.bench import SimBench, is_safe

    assert isinstance(bench, SimBench)
    if is_safe(bench):
        return "safe (every output off, source and supply levels zero)"
    on = [role for role, state in bench.outputs_on().items() if state]
    levels = ", ".join(f"{k} {v:g}" for k, v in bench.levels().items() if v)
    return f"NOT safe (on: {', '.join(on) or 'none'}; levels: {levels or 'zero'})"


if __name__ == "__main__":
    raise SystemExit(main())
