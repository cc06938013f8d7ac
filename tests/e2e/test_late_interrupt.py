"""Row 8 of issue 8: a Ctrl-C after the last reading is answered ("run complete, finishing
reports"), not ignored in silence; the run keeps its verdict and history shows it as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.sim.bench import SimBench, SimBenchConfig, is_safe
from tests.helpers import ROOT, cli_in_process, station_file


def test_a_late_ctrl_c_is_answered_and_the_run_completes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with SimBench(SimBenchConfig(serial="LATE-1", seed=8)) as sim:
        station = station_file(tmp_path / "station.toml", sim.resources, sim.models)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench", "inspect", "--station", str(station), "--serial",
             "LATE-1", "--plan", "sweep", "--out", str(tmp_path / "out"), "--db", db],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )  # fmt: skip
        connections = sim.server._connections
        try:
            deadline = time.monotonic() + 60
            while not connections:  # the run opened the bench
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.005)
            while connections:  # ... and closed it: safe state done, reports being made
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.005)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert is_safe(sim)
    assert "isobench: run complete, finishing reports" in err, err
    assert proc.returncode == 0 and "LATE-1: PASS" in out, out + err
    history = cli_in_process("history", "LATE-1", "--db", db).stdout
    assert " pass " in history and "completed" in history
