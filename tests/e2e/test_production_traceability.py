"""Production runs need traceable instruments: a station file without every instrument's serial
and calibration due date is ENGINEERING ONLY in ``isobench check`` and refuses a production
``isobench inspect`` before anything is sent to an instrument (one line, exit 2). Files written
by ``isobench sim --write-station`` carry the simulated instruments' serials and due dates, so
the simulated path runs as production does. Only the built-in ``--station sim`` (made in code,
not a file) is exempt, whatever a file calls itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.check import ENGINEERING_ONLY, READY
from bench.sim.bench import SimBench, SimBenchConfig, is_safe, sim_station
from bench.station import load_station, station_toml
from tests.e2e.simulator import Simulator, station_written_by_a_simulator
from tests.helpers import cli_in_process as run_cli


def test_a_file_without_serials_or_due_dates_refuses_a_production_inspect(
    tmp_path: Path,
) -> None:
    with SimBench(SimBenchConfig(serial="TRACE-1", seed=1)) as sim:
        station = sim_station(sim.resources, sim.models)  # named "sim": no exemption for a file
        station.instruments["dmm"].serial = "04512346"  # one instrument fully traceable
        station.instruments["dmm"].calibration_due = dt.date.today() + dt.timedelta(days=90)
        station.instruments["load"].serial = "MY61001508"  # a serial but no due date
        path = tmp_path / "sim.toml"
        path.write_text(station_toml(station), encoding="utf-8")
        check = run_cli("check", "--station", str(path))
        sent_by_check = sum(i.messages_processed for i in sim.instruments.values())
        refused = run_cli(
            "inspect", "--station", str(path), "--serial", "TRACE-1",
            "--out", str(tmp_path / "out"), "--quiet",
        )  # fmt: skip
        # refused before the bench was opened: not one message reached an instrument
        assert sum(i.messages_processed for i in sim.instruments.values()) == sent_by_check
        assert is_safe(sim)
    assert check.returncode == ENGINEERING_ONLY, check.stdout + check.stderr
    untraceable = [
        line for line in check.stdout.splitlines() if "no serial or calibration due date" in line
    ]
    assert "result: ENGINEERING ONLY" in check.stdout
    for role in ("source", "supply", "load"):
        assert f"{role} (" in check.stdout.split("result: ", 1)[1], untraceable
    assert "dmm (" not in check.stdout.split("result: ", 1)[1]
    assert refused.returncode == 2, refused.stdout + refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"isobench: error: production run refused: {path} gives no serial")
    assert "for source, supply, load ('isobench check' says ENGINEERING ONLY)" in line
    assert "add serial and calibration_due to [instruments.source]" in line
    assert line.endswith("or rerun with --engineering")
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()  # no run folder: nothing was measured


def test_a_station_file_written_by_the_simulator_is_ready_for_production(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station = station_written_by_a_simulator(tmp_path, simulators)
    idn_serials = {"source": "04512345", "dmm": "04512346", "supply": "MY61004321",
                   "load": "MY61001508"}  # fmt: skip
    assert {r: c.serial for r, c in station.instruments.items()} == idn_serials
    for cfg in station.instruments.values():
        assert cfg.calibration_due is not None
        assert cfg.calibration_due >= dt.date.today() + dt.timedelta(days=300)
    # served again from the file: 'check' reads every *IDN? serial against it
    file = tmp_path / "bench.toml"
    file.write_text(station_toml(station), encoding="utf-8")
    sim = Simulator("--station", str(file))
    simulators.append(sim)
    sim.wait_for("Ctrl-C stops.")
    check = run_cli("check", "--station", str(file))
    assert check.returncode == READY, check.stdout + check.stderr
    assert check.stdout.rstrip().endswith("result: READY for production runs")
    assert "warning:" not in check.stdout
    assert load_station(file).instruments["supply"].serial == "MY61004321"
    assert sim.interrupt() == 0
