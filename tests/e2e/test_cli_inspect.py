"""End to end: ``isobench inspect`` as a subprocess, through pyvisa-py sockets to the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bench.sim.bench import SimBench, SimBenchConfig, is_safe
from tests.helpers import run_cli, station_file


def _run_folder(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir()]
    assert len(folders) == 1, folders
    return folders[0]


def test_builtin_sim_station_inspection_passes_and_writes_report(tmp_path: Path) -> None:
    result = run_cli(
        "inspect",
        "--station",
        "sim",
        "--serial",
        "E2E-0001",
        "--out",
        str(tmp_path),
        "--quiet",
        "--plan",
        "sweep",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "E2E-0001: PASS" in result.stdout or "CONDITIONAL PASS" in result.stdout
    folder = _run_folder(tmp_path)
    assert folder.name.startswith("E2E-0001_")
    assert f"report: {folder / 'report.html'}" in result.stdout
    readings = pd.read_csv(folder / "readings.csv")
    readings = readings[readings["step"] == "accuracy"]  # after the shunt-ratio calibration
    assert len(readings) == 21  # 0..20 mA up (11), 18..0 mA down (10)
    for column in ("set_a", "input_a", "output_a", "error_a", "error_pct_urv", "timestamp"):
        assert column in readings
    assert (readings["error_a"].abs() < 20e-6).all()
    # the input current is the measured one, not the setpoint
    assert not (readings["input_a"] == readings["set_a"]).all()
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "E2E-0001" in html and '<img src="data:image/png;base64,' in html
    assert html.index('class="verdict') < html.index("<h2>Readings</h2>")  # verdict first
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    assert record["outcome"] == "completed" and record["safe_state_verified"]
    assert set(record["instruments"]) == {"source", "dmm", "supply", "load"}
    assert record["instruments"]["source"]["idn"].startswith("KEITHLEY INSTRUMENTS,MODEL 2450")


def test_station_file_reaches_a_separate_simulator_process_path(tmp_path: Path) -> None:
    """The controller runs in its own process and reaches the simulator only over TCP."""
    with SimBench(SimBenchConfig(serial="E2E-0002", seed=3)) as sim:
        station = station_file(tmp_path / "station.toml", sim.resources, sim.models)
        result = run_cli(
            "inspect",
            "--station",
            str(station),
            "--serial",
            "E2E-0002",
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--plan",
            "sweep",
        )
        assert result.returncode in (0, 1), result.stdout + result.stderr
        counts = {role: inst.messages_processed for role, inst in sim.instruments.items()}
        assert counts["source"] > 20 and counts["dmm"] > 20, counts
        assert counts["supply"] > 5 and counts["load"] > 5, counts
        assert is_safe(sim), sim.outputs_on()
        assert sim.internal_errors() == []
    record = json.loads((_run_folder(tmp_path / "out") / "record.json").read_text())
    assert record["station"] == "sim" and record["outcome"] == "completed"


def test_module_with_gain_off_by_0_3_percent_fails(tmp_path: Path) -> None:
    result = run_cli(
        "inspect",
        "--station",
        "sim",
        "--serial",
        "E2E-GAIN",
        "--out",
        str(tmp_path),
        "--quiet",
        "--sim-set",
        "gain_error=0.003",
        "--plan",
        "sweep",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "E2E-GAIN: FAIL" in result.stdout
    readings = pd.read_csv(_run_folder(tmp_path) / "readings.csv")
    readings = readings[readings["step"] == "accuracy"]
    top = readings[readings["set_a"] > 0.0195]
    assert (top["error_a"] > 50e-6).all()  # 0.3 % of 20 mA = 60 uA
    assert (top["statement"] == "fail").all()
    low = readings[readings["set_a"] < 0.001]
    assert (low["statement"] != "fail").all()  # a gain error does not show at 0 mA


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "--serial", "X"], "--station"),
        (["inspect", "--station", "sim", "--serial", "a/b"], "serial"),
        (["inspect", "--station", "nowhere.toml", "--serial", "X"], "not found"),
        (["sim", "--base-port", "99999"], "65532"),
        (["inspect", "--station", "sim", "--serial", "X", "--sim-set", "gain"], "KEY=VALUE"),
    ],
)
def test_bad_arguments_give_one_line_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_cli(*args, "--out", str(tmp_path)) if args[0] == "inspect" else run_cli(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
