"""Shared helpers for integration and end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, timeout: float = 120.0, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``isobench`` exactly as a user would (``python -m bench``) from the source tree;
    ``env`` adds to (or overrides) the environment."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env,
    )


def cli_in_process(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``isobench ARGS`` through ``bench.cli.main`` in this process: the same parser, command,
    console output and exit code as :func:`run_cli`, without starting an interpreter (its
    imports alone cost about a second of CPU). For tests of what a command does; tests of the
    process itself (signals, two processes at once, its cwd) use run_cli. ``env`` adds to (or
    overrides) the environment while the command runs."""
    import contextlib
    import io
    import signal

    from bench import cli

    out, err = io.StringIO(), io.StringIO()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main(list(args))
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        for sig, handler in handlers.items():  # main() installs the run's interrupt handler
            signal.signal(sig, handler)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cli._INTERRUPTS.received.clear()
        cli._INTERRUPTS.control = None
    return subprocess.CompletedProcess(["isobench", *args], code, out.getvalue(), err.getvalue())


def station_file(path: Path, resources: dict[str, str], models: dict[str, str]) -> Path:
    """A station file pointing at a simulated bench, with the simulated instruments' serials
    and calibration due dates (as ``isobench sim --write-station`` writes it): production
    runs are allowed on it."""
    from bench.sim.station_file import traceable_sim_station
    from bench.station import station_toml

    path.write_text(station_toml(traceable_sim_station(resources, models)), encoding="utf-8")
    return path


FAILING = ("fail", "conditional fail")


def inspect_simulated(tmp_path: Path, config):
    """A full in-process inspection of one simulated unit; the simulator must end safe and
    without internal errors. Reports are not rendered (the verdict comes from the record)."""
    from bench.runner import RunOptions, run_inspection
    from bench.sim.bench import SimBench, is_safe
    from procedures.plans import full_plan
    from procedures.profile import builtin_profile

    with SimBench(config) as sim:
        station = sim.station()
        result = run_inspection(
            station,
            builtin_profile(),
            full_plan(station.station.topology),
            RunOptions(
                serial=config.serial,
                output_dir=tmp_path,
                bench_clock=lambda: sim.bench_time_s,
                publish=False,
                render=False,
            ),
        )
        assert is_safe(sim)
        assert sim.internal_errors() == []
    return result, sim


def failing_characteristics(result) -> set[str]:
    """Characteristics whose worst statement is fail or conditional fail."""
    return {
        name
        for name, statement in result.record.characteristic_statements().items()
        if statement in FAILING
    }
