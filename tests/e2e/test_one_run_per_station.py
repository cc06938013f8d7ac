"""Row 2 of issue 8: two controllers on one station. The second ``isobench inspect`` and an
``isobench check`` started during a run are refused in one line naming the holder; the first
run is not disturbed and passes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.lock import lock_holder
from bench.station import station_toml
from tests.e2e.simulator import Simulator, station_written_by_a_simulator
from tests.helpers import ROOT, cli_in_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pauses the first run with SIGSTOP")


def _inspect(station: Path, serial: str, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "inspect", "--station", str(station),
         "--serial", serial, "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )  # fmt: skip


def test_a_second_run_and_a_check_are_refused_while_a_run_holds_the_station(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station = station_written_by_a_simulator(tmp_path, simulators)
    path = tmp_path / "bench.toml"
    path.write_text(station_toml(station), encoding="utf-8")
    sim = Simulator("--station", str(path))
    simulators.append(sim)
    sim.wait_for("Ctrl-C stops.")
    first = _inspect(path, "SIM-0001", tmp_path / "first")
    try:
        deadline = time.monotonic() + 60
        while (holder := lock_holder(station)) is None:  # the first run took the station
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the station lock"
            time.sleep(0.01)
        assert holder.pid == first.pid and holder.serial == "SIM-0001"
        # the first run is paused while the others try, so a fast run (or a slow machine
        # starting the other two interpreters) cannot end it before they ask for the station
        os.kill(first.pid, signal.SIGSTOP)
        try:
            # from this process (another one than the run's), without two interpreter start-ups
            second = cli_in_process("inspect", "--station", str(path), "--serial", "SIM-0002",
                                    "--out", str(tmp_path / "second"), "--quiet")  # fmt: skip
            check = cli_in_process("check", "--station", str(path))
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    for refused in (second, check):
        assert refused.returncode == 2, refused.stdout + refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert f"PID {first.pid}" in line and "inspecting SIM-0001" in line, line
        assert "one run per station" in line
    assert not (tmp_path / "second").exists()  # refused before anything was made
    assert first.returncode == 0, out + err
    assert "SIM-0001: PASS" in out or "SIM-0001: CONDITIONAL PASS" in out
    (folder,) = (tmp_path / "first").iterdir()
    record = json.loads((folder / "record.json").read_text())
    assert record["outcome"] == "completed" and record["safe_state_verified"]
    assert lock_holder(station) is None  # released at the end
