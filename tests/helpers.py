"""Shared helpers for integration and end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str, timeout: float = 120.0, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``isobench`` exactly as a user would (``python -m bench``) from the source tree."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env,
    )


def station_file(path: Path, resources: dict[str, str], models: dict[str, str]) -> Path:
    from bench.station import sim_station, station_toml

    path.write_text(station_toml(sim_station(resources, models)), encoding="utf-8")
    return path
