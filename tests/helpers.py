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


def station_file(path: Path, resources: dict[str, str], models: dict[str, str]) -> Path:
    from bench.sim.bench import sim_station
    from bench.station import station_toml

    path.write_text(station_toml(sim_station(resources, models)), encoding="utf-8")
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
