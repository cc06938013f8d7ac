"""SIGTERM and Ctrl-C (SIGINT) to a real ``isobench inspect`` subprocess in the middle of a run.

The simulated bench runs in the test process; the controller reaches it only over TCP through
a station file. "Mid-run" is detected without sleeping: the test polls how many messages the
simulated DMM has processed (the sweep is under way) and that every output is on.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench.sim.bench import SimBench, SimBenchConfig, is_safe
from bench.sim.faults import Fault
from tests.faults.support import wait_until
from tests.helpers import ROOT, station_file

#: DMM messages by which the shunt calibration is over and the sweep has points on disk
#: (the calibration takes about 170, the whole sweep plan about 450)
MID_SWEEP_MESSAGES = 110  # calibration done (about 40), the sweep under way (about 200 in all)


def _start(station: Path, out: Path, serial: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench",
            "inspect",
            "--station",
            str(station),
            "--serial",
            serial,
            "--out",
            str(out),
            "--quiet",
            "--plan",
            "sweep",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # pragma: no cover - only if the controller hangs
            proc.kill()
            proc.communicate()


def _run_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_mid_run_leaves_outputs_off_and_an_aborted_report(
    tmp_path: Path, sig: signal.Signals
) -> None:
    serial = f"SIG-{sig.name}"
    with SimBench(SimBenchConfig(serial=serial, seed=5)) as sim:
        station = station_file(tmp_path / "station.toml", sim.resources, sim.models)
        proc = _start(station, tmp_path / "out", serial)
        dmm = sim.instruments["dmm"]
        try:
            wait_until(
                lambda: (
                    dmm.messages_processed >= MID_SWEEP_MESSAGES
                    and all(sim.outputs_on()[r] for r in ("source", "supply", "load"))
                ),
                timeout_s=60,
                what="the sweep to be under way",
            )
            assert proc.poll() is None, "the run ended before the signal"
            proc.send_signal(sig)
        finally:
            out, err = _finish(proc)
        assert is_safe(sim), (sim.outputs_on(), sim.levels())  # inside the simulator
        assert sim.internal_errors() == []

    assert proc.returncode == 2, out + err
    assert "Traceback" not in err
    # one line says what happened (stdout today; see test_abort_is_one_line_on_stderr)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 1, err
    said = lines or [line for line in out.splitlines() if "ABORTED" in line]
    assert len(said) == 1 and "interrupted" in said[0], (out, err)

    folder = _run_folder(tmp_path / "out")
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    assert record["outcome"] == "aborted"
    assert record["abort_reason"] == "interrupted by the operator (Ctrl-C or SIGTERM)"
    assert record["safe_state_verified"], record["safe_state"]
    steps = {s["name"]: s["status"] for s in record["steps"]}
    assert steps == {"shunt_calibration": "completed", "accuracy": "aborted"}
    measured = [m for m in record["measurements"] if m["step"] == "accuracy"]
    readings = pd.read_csv(folder / "readings.csv")
    sweep = readings[readings["step"] == "accuracy"]
    assert 1 <= len(sweep) < 21  # partial: some points, not all
    assert len(sweep) == len(measured)
    assert list(sweep["error_a"]) == pytest.approx([m["value"] for m in measured], abs=1e-15)
    assert "ABORTED" in (folder / "report.html").read_text(encoding="utf-8")


def test_abort_is_one_line_on_stderr(tmp_path: Path) -> None:
    """A run refused at once (a wrong instrument at the load's address): one stderr line."""
    with SimBench(SimBenchConfig(serial="IDN-1", seed=6)) as sim:
        sim.inject(Fault("wrong-idn", "load"))
        station = station_file(tmp_path / "station.toml", sim.resources, sim.models)
        out, err = _finish(_start(station, tmp_path / "out", "IDN-1"))
        assert is_safe(sim)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, (out, err)
    assert "load (Keysight EL34143A)" in lines[0] and "ABORTED" in lines[0]
