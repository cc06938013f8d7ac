"""Rerunnable benchmark: ``python -m bench.benchmark [--repeats N] [--pairs N]``.

Measures, in one run and on this machine, what the controller's performance claims rest on:

1. write-then-query round trips through pyvisa-py to the simulated bench with Nagle's algorithm
   on (pyvisa-py's default: the baseline) and off (isobench's transport sets TCP_NODELAY);
2. a full simulated incoming inspection as a user runs it (``isobench inspect --station sim``
   in a fresh Python process: interpreter start, imports, the plan on the simulated bench, the
   record, every report and the local store), both ways, with its wall time split into
   phases, and its modelled bench time against the plan's physical lower bound;
3. per topology (shunt-scan, direct): the modelled bench time of the full plan, its physical
   lower bound (procedures/lower_bound.py) and their ratio, and the test uncertainty ratio
   TUR = 20 uA / U of the transmission error at 4 and 20 mA (worst point of each level);
4. with ``--against CHECKOUT``: the plain ``isobench inspect --station sim`` of this code and
   of another checkout (a git worktree of an older commit, with or without its own ``.venv``),
   interleaved, so a change's wall-time claim has its baseline measured in the same run.

Every figure is the median over the repetitions; ratios are against the baseline measured in
the same run. The inspections use a private data folder (``XDG_DATA_HOME``/``LOCALAPPDATA``)
that one untimed warm-up inspection creates first, so the store is a bench's steady state
(schema in place) and the operating system's file cache is warm.

Phases are timed inside the inspection process by wrapping the runner's and the renderer's
functions (nothing in them is changed). A module imported lazily is timed in the phase that
first needs it (matplotlib in "plots", fpdf2 in "PDF", the simulator in "station").
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VARIANTS = (("baseline: Nagle on", True), ("isobench: TCP_NODELAY", False))

#: phase of the inspection process -> what it holds, in the order of an inspection
PHASES = {
    "interpreter": "Python start until the benchmark's child runs",
    "imports": "modules the CLI imports before the run starts",
    "station": "report worker and simulated bench started, instruments opened and checked",
    "plan": "the measurement plan on the simulated bench",
    "record": "safe state read back, record completed on disk",
    "store": "local result store (SQLite), while the worker renders",
    "reports": "waiting for the reports (or rendering them here without a worker)",
    "other": "the rest of the run: arguments, console, lock, simulator stop",
    "exit": "interpreter shut-down after the run",
}
#: part of the rendering (reports.render.last_seconds) -> what it holds
REPORT_PARTS = {
    "report": "record and readings read back",
    "plots": "PNG plots (matplotlib)",
    "html": "report.html (jinja2)",
    "pdf": "report.pdf (fpdf2)",
    "parquet": "readings.parquet (pyarrow)",
    "junit": "junit.xml",
}


@contextmanager
def nagle(enabled: bool) -> Iterator[None]:
    """Baseline switch: with ``enabled`` the transport leaves pyvisa-py's default (Nagle on)."""
    import drivers.transport as transport

    original = transport._disable_nagle
    if enabled:
        transport._disable_nagle = lambda resource: None
    try:
        yield
    finally:
        transport._disable_nagle = original


def round_trips(pairs: int) -> float:
    """Seconds per write + query pair against one simulated instrument."""
    from bench.sim.bench import SimBench
    from drivers.transport import VisaTransport

    with SimBench() as sim:
        link = VisaTransport(sim.resources["supply"], name="benchmark")
        try:
            start = time.perf_counter()
            for _ in range(pairs):
                link.write("VOLT 1")
                link.query("VOLT?")
            return (time.perf_counter() - start) / pairs
        finally:
            link.close()


def tur_at(record: Any, level_a: float) -> float:
    """Smallest tolerance half-width / U of the transmission error points at ``level_a``."""
    turs = [
        m.decision["tur"]
        for m in record.measurements
        if m.characteristic == "transmission_error"
        and abs(m.conditions.get("set_a", -1.0) - level_a) < 1e-9
        and m.decision.get("tur")
    ]
    return min(turs) if turs else float("nan")


def plan_record(topology: str) -> Any:
    """The record of one full inspection (in this process, no reports, no store)."""
    from bench.runner import RunOptions, run_inspection
    from bench.sim.bench import SimBench, SimBenchConfig
    from procedures.plans import full_plan
    from procedures.profile import builtin_profile

    config = SimBenchConfig(serial="BENCH-1", topology=topology)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as out, SimBench(config) as sim:
        station = sim.station()
        result = run_inspection(
            station,
            builtin_profile(),
            full_plan(station.station.topology),
            RunOptions(
                serial="BENCH-1",
                output_dir=Path(out),
                publish=False,
                render=False,
                bench_clock=lambda: sim.bench_time_s,
            ),
        )
    return result.record


# ------------------------------------------------------------------ inside the inspection
#: CPU seconds (this process, all threads) per phase, beside the wall seconds
_CPU: dict[str, float] = {}


def _timed(phases: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - start
            _CPU[name] = _CPU.get(name, 0.0) + time.process_time() - cpu

    return wrapper


def child(out: Path, serial: str, nagle_on: bool, spawned_at: float, result: Path) -> int:
    """One inspection through the CLI, in this (fresh) process, with its phases timed."""
    phases: dict[str, float] = {"interpreter": time.time() - spawned_at}
    start = time.perf_counter()
    import bench.cli as cli  # what `isobench inspect` imports before the run
    from reports.worker import ReportWorker, imports_without_gc

    # `isobench inspect` starts its report worker before it imports the rest (bench/cli.py,
    # _cmd_inspect), with the collector paused: done here the same way, and handed to it
    worker = ReportWorker.start()
    ReportWorker.start = classmethod(lambda cls: worker)  # type: ignore[method-assign,assignment]
    with imports_without_gc():
        import bench.events
        import bench.runner as runner
        import reports.console  # noqa: F401

    phases["imports"] = time.perf_counter() - start
    _CPU["imports"] = time.process_time()  # from the process start
    assert bench.events
    runner.Runner.__enter__ = _timed(phases, "station", runner.Runner.__enter__)
    runner.Runner.execute_plan = _timed(phases, "plan", runner.Runner.execute_plan)
    runner.Runner._finish = _timed(phases, "record", runner.Runner._finish)
    runner.Runner._store = _timed(phases, "store", runner.Runner._store)
    render_reports = runner.render_reports
    parts: dict[str, float] = {}
    where = {"renderer": "this process"}

    def timed_reports(folder: Path, worker: Any = None) -> dict[str, Path]:
        started, cpu = time.perf_counter(), time.process_time()
        try:
            return render_reports(folder, worker)
        finally:
            phases["reports"] = phases.get("reports", 0.0) + time.perf_counter() - started
            _CPU["reports"] = _CPU.get("reports", 0.0) + time.process_time() - cpu
            if worker is not None and worker.seconds:
                parts.update(worker.seconds)
                where["renderer"] = "report worker (second process)"
            elif "reports.render" in sys.modules:
                parts.update(sys.modules["reports.render"].last_seconds)

    runner.render_reports = timed_reports
    argv = ["inspect", "--station", "sim", "--serial", serial, "--out", str(out), "--quiet"]
    run_start = time.perf_counter()
    codes: list[int] = []
    cmd_inspect = cli._cmd_inspect

    def inspect(args: Any) -> int:
        codes.append(cmd_inspect(args))
        return codes[-1]

    cli._cmd_inspect = _timed(phases, "run", inspect)

    def report() -> None:  # at exit: `isobench inspect` ends its process itself
        inner = [k for k in phases if k not in ("interpreter", "imports", "run")]
        phases["other"] = time.perf_counter() - run_start - sum(phases[k] for k in inner)
        _CPU["other"] = _CPU.pop("run", 0.0) - sum(_CPU.get(k, 0.0) for k in inner)
        phases.pop("run", None)
        (folder,) = [p for p in out.iterdir() if p.is_dir()]
        record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
        result.write_text(
            json.dumps(
                {
                    "exit": codes[-1] if codes else None,
                    "phases": phases,
                    "parts": parts,
                    "cpu": _CPU,
                    "renderer": where["renderer"],
                    "bench_s": record.get("bench_time_s") or 0.0,
                    "bound_s": record.get("lower_bound_s") or 0.0,
                    "reports": sorted(p.name for p in folder.iterdir() if p.is_file()),
                    "done_at": time.time(),
                }
            ),
            encoding="utf-8",
        )

    atexit.register(report)
    sys.argv = ["isobench", *argv]  # main() as the program, exactly as the CLI runs it
    with nagle(nagle_on):
        return cli.main()


# ------------------------------------------------------------------ driving the inspections
def _children_cpu_s() -> float:
    """User + system CPU seconds of the finished child processes (0 where not available)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def inspection(data_dir: Path, serial: str, nagle_on: bool) -> dict[str, Any]:
    """One inspection in a fresh process: its wall time, its CPU time (less sensitive to
    other load on the machine than the wall time) and the phases it reported."""
    env = dict(os.environ, XDG_DATA_HOME=str(data_dir), LOCALAPPDATA=str(data_dir))
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        out = Path(tmp) / "runs"
        out.mkdir()
        args = [sys.executable, "-m", "bench.benchmark", "--child", str(out), serial]
        args += ["--nagle" if nagle_on else "--no-nagle", "--result", str(result)]
        cpu = _children_cpu_s()
        spawned_at = time.time()
        start = time.perf_counter()
        proc = subprocess.run(
            [*args, "--spawned-at", repr(spawned_at)], capture_output=True, text=True, env=env
        )
        wall = time.perf_counter() - start
        ended_at = time.time()
        cpu = _children_cpu_s() - cpu
        if not result.exists():
            raise SystemExit(f"benchmark inspection failed (exit {proc.returncode}): {proc.stderr}")
        data = json.loads(result.read_text(encoding="utf-8"))
    data["wall_s"] = wall
    data["cpu_s"] = cpu
    data["phases"]["exit"] = ended_at - data["done_at"]
    return data


def cli_inspection(checkout: Path, data_dir: Path, serial: str) -> float:
    """Wall time of a plain ``isobench inspect --station sim`` (all reports, local store) of
    the code in ``checkout``, in a fresh process: its own ``.venv`` when it has one."""
    python = checkout / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = dict(os.environ, XDG_DATA_HOME=str(data_dir), LOCALAPPDATA=str(data_dir))
    with tempfile.TemporaryDirectory() as out:
        command = [str(python if python.exists() else sys.executable), "-m", "bench", "inspect"]
        command += ["--station", "sim", "--serial", serial, "--out", out, "--quiet"]
        start = time.perf_counter()
        proc = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"inspection in {checkout} failed (exit {proc.returncode}): {proc.stderr}")
    return wall


def against(other: Path, repeats: int) -> None:
    """This checkout against ``other`` (e.g. a worktree of an older commit), interleaved, each
    with its own warmed-up data folder: the user's command, nothing wrapped or timed inside."""
    here = Path(__file__).resolve().parents[1]
    checkouts = {f"baseline: {other}": other.resolve(), f"this: {here}": here}
    walls: dict[str, list[float]] = {label: [] for label in checkouts}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {label: Path(tmp) / str(n) for n, label in enumerate(checkouts)}
        for label, checkout in checkouts.items():
            cli_inspection(checkout, folders[label], "AGAINST-0")  # warm-up
        for n in range(1, repeats + 1):  # interleaved: a load change hits both alike
            for label, checkout in checkouts.items():
                walls[label].append(cli_inspection(checkout, folders[label], f"AGAINST-{n}"))
    base = _median(walls[next(iter(walls))])
    print(f"\n`isobench inspect --station sim` wall time, median of {repeats}, seconds")
    for label, values in walls.items():
        every = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {_median(values):6.2f}  ratio {_median(values) / base:5.2f}  {label} ({every})")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.benchmark", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="inspections per variant")
    parser.add_argument("--pairs", type=int, default=100, help="write+query pairs per repetition")
    parser.add_argument("--rt-repeats", type=int, default=3, help="round-trip repetitions")
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also time `isobench inspect --station sim` of another checkout (e.g. a git "
        "worktree of an older commit) interleaved with this one",
    )
    parser.add_argument("--child", nargs=2, metavar=("OUT", "SERIAL"), help=argparse.SUPPRESS)
    parser.add_argument("--nagle", action=argparse.BooleanOptionalAction, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out, serial = args.child
        return child(Path(out), serial, bool(args.nagle), args.spawned_at, args.result)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"isobench benchmark: {os.cpu_count()} CPUs, load average {load:.2f} at the start")
    pair_s: dict[str, list[float]] = {}
    for label, nagle_on in VARIANTS:
        with nagle(nagle_on):
            pair_s[label] = [round_trips(args.pairs) for _ in range(args.rt_repeats)]
    base_pair = _median(pair_s[VARIANTS[0][0]])
    print(
        f"\nwrite+query pair (pyvisa-py, simulated supply), median of {args.rt_repeats} x "
        f"{args.pairs}"
    )
    for label, _ in VARIANTS:
        pair = _median(pair_s[label])
        print(f"  {label:24s} {pair * 1e3:8.3f} ms   ratio to baseline {pair / base_pair:6.3f}")

    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in VARIANTS}
    with tempfile.TemporaryDirectory() as data_dir:
        inspection(Path(data_dir), "BENCH-WARMUP", False)  # creates the store; warm caches
        for n in range(args.repeats):  # interleaved: a load change hits both variants alike
            for label, nagle_on in VARIANTS:
                runs[label].append(inspection(Path(data_dir), f"BENCH-{n + 1}", nagle_on))

    labels = [label for label, _ in VARIANTS]
    print(
        f"\nfull simulated inspection, fresh process (`isobench inspect --station sim`, all "
        f"reports, local store), median of {args.repeats}, seconds"
    )
    print(
        f"  {'phase':15s}"
        + "".join(f"{label:>24s}" for label in labels)
        + "   ratio   CPU s (isobench)"
    )
    for phase in PHASES:
        values = [_median([r["phases"].get(phase, 0.0) for r in runs[label]]) for label in labels]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        cpu = _median([r["cpu"].get(phase, float("nan")) for r in runs[labels[-1]]])
        print(
            f"  {phase:15s}" + "".join(f"{v:24.3f}" for v in values) + f"   {ratio:5.2f}"
            f"   {cpu:7.3f}   {PHASES[phase]}"
        )
    walls = [_median([r["wall_s"] for r in runs[label]]) for label in labels]
    print(
        f"  {'total wall':15s}"
        + "".join(f"{w:24.3f}" for w in walls)
        + f"   {walls[-1] / walls[0]:5.2f}"
    )
    cpus = [_median([r["cpu_s"] for r in runs[label]]) for label in labels]
    print(
        f"  {'CPU (user+sys)':15s}"
        + "".join(f"{c:24.3f}" for c in cpus)
        + f"   {cpus[-1] / cpus[0] if cpus[0] else float('nan'):5.2f}"
        + "   less sensitive to other load than the wall time"
    )
    for label in labels:
        all_walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs[label])
        print(f"  {label}: every wall time {all_walls} s")
    reports = sorted(set().union(*(r["reports"] for r in runs[labels[-1]])))
    print(f"  files written per run: {', '.join(reports)}")
    bench = _median([r["bench_s"] for r in runs[labels[-1]]])
    bound = _median([r["bound_s"] for r in runs[labels[-1]]])
    print(
        f"  these runs (sim station, shunt-scan): modelled bench time {bench:.2f} s, physical "
        f"lower bound {bound:.2f} s, bench time / bound {bench / bound if bound else 0:.3f}"
    )
    renderers = sorted({r["renderer"] for label in labels for r in runs[label]})
    print(f"\nreport rendering, in the {' / '.join(renderers)}, median, seconds")
    for part, what in REPORT_PARTS.items():
        values = [_median([r["parts"].get(part, 0.0) for r in runs[label]]) for label in labels]
        ratio = values[-1] / values[0] if values[0] else float("nan")
        print(f"  {part:15s}" + "".join(f"{v:24.3f}" for v in values) + f"   {ratio:5.2f}   {what}")
    print("\nplan at the physics (modelled bench time, one unit per topology)")
    for topology in ("shunt-scan", "direct"):
        record = plan_record(topology)
        bench, bound = record.bench_time_s or 0.0, record.lower_bound_s or 0.0
        print(
            f"  {topology:10s} bench time {bench:6.2f} s, physical lower bound {bound:5.2f} s, "
            f"bench time / bound {bench / bound if bound else float('nan'):5.3f}; TUR at 4 mA "
            f"{tur_at(record, 4e-3):5.1f}, at 20 mA {tur_at(record, 20e-3):5.1f}"
        )
        parts = [n for n in record.notes if n.startswith("physical lower bound")]
        if parts:
            print(f"    {parts[0]}")
    if args.against is not None:
        against(args.against, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
