"""End to end, lot mode: ``isobench sim --lot-size 5 --defect-rate 0.4`` in its own process serves
a lot one unit after another; ``isobench inspect --station FILE`` inspects each (separate
processes, over sockets); every verdict matches the lot's manifest; Ctrl-C stops the simulator.

Also: a station file's ``[sim]`` table gives ``isobench sim --station FILE`` its module.
No sleeps and no fixed ports: the simulator listens on ephemeral ports (``--base-port 0``) and
the test waits for the lines it prints.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.station import load_station, station_toml
from tests.e2e.simulator import Simulator, station_written_by_a_simulator
from tests.helpers import cli_in_process, run_cli

FAILING = ("fail", "conditional fail")


def _failing(out: Path, serial: str) -> set[str]:
    (folder,) = [p for p in out.iterdir() if p.name.startswith(f"{serial}_")]
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    worst: dict[str, str] = {}
    order = ["informative", "pass", "conditional pass", "conditional fail", "fail"]
    for m in record["measurements"]:
        name, statement = m["characteristic"], m["statement"]
        if order.index(statement) > order.index(worst.get(name, "informative")):
            worst[name] = statement
    return {name for name, statement in worst.items() if statement in FAILING}


def test_a_lot_is_served_unit_by_unit_and_every_verdict_matches_the_manifest(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station, manifest = tmp_path / "lot-station.toml", tmp_path / "manifest.json"
    sim = Simulator(
        "--lot-size", "5", "--defect-rate", "0.4", "--lot-seed", "7", "--base-port", "0",
        "--write-station", str(station), "--manifest", str(manifest),
    )  # fmt: skip
    simulators.append(sim)
    sim.wait_for("Ctrl-C stops.")
    lot = json.loads(manifest.read_text(encoding="utf-8"))
    units = lot["units"]
    assert lot["lot"] == "LOT-7" and len(units) == 5
    assert [u["serial"] for u in units] == [f"LOT-7-{i:04d}" for i in range(1, 6)]
    assert sum(1 for u in units if u["defect"]) == 2  # 40 % of 5
    assert load_station(station).sim is not None  # the station file says what it points at
    assert "insert next unit: LOT-7-0001" in "\n".join(sim.seen)
    out = tmp_path / "out"
    for i, unit in enumerate(units):  # each inspection is a client of the simulator process
        result = cli_in_process(
            "inspect", "--station", str(station), "--serial", unit["serial"],
            "--out", str(out), "--quiet",
        )  # fmt: skip
        if i:  # the simulator swapped the unit when this inspection connected
            sim.wait_for(f"insert next unit: {unit['serial']}")
        expected = 1 if unit["defect"] else 0
        assert result.returncode == expected, (unit, result.stdout, result.stderr)
        failing = _failing(out, unit["serial"])
        assert set(unit["trips"]) <= failing <= set(unit["trips"]) | set(unit["may_trip"]), (
            unit,
            failing,
        )
    assert sim.interrupt() == 0
    sim.wait_for("stopped; modelled bench time")


def test_a_station_files_sim_table_gives_the_simulator_its_module(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    # a station file written by one simulator (ephemeral ports) ...
    station = station_written_by_a_simulator(tmp_path, simulators)
    assert station.sim is not None
    # ... edited to hold a defective module, then served again from the file
    station.sim["serial"], station.sim["defects"] = "STATION-SIM-1", ["gain=0.003"]
    file = tmp_path / "station.toml"
    file.write_text(station_toml(station), encoding="utf-8")
    sim = Simulator("--station", str(file))
    simulators.append(sim)
    header = sim.wait_for("simulated bench for")
    assert "STATION-SIM-1 with gain=0.003" in header
    sim.wait_for("Ctrl-C stops.")
    result = cli_in_process(
        "inspect", "--station", str(file), "--serial", "STATION-SIM-1",
        "--out", str(tmp_path / "out"), "--quiet", "--plan", "sweep",
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "STATION-SIM-1: FAIL" in result.stdout
    assert sim.interrupt() == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim", "--defect", "gian"], "did you mean 'gain'"),
        (["sim", "--defect", "gain=huge"], "not a number"),
        (["sim", "--manifest", "m.json"], "need --lot-size"),
        (["sim", "--lot-size", "3", "--serial", "X1"], "a lot names its units"),
        (["inspect", "--station", "nofile.toml", "--serial", "X", "--defect", "gain"], "--defect"),
        (["inspect", "--station", "sim", "--serial", "X", "--defect", "nope"], "unknown defect"),
    ],
)
def test_defect_and_lot_mistakes_are_one_line_errors(args: list[str], message: str) -> None:
    # a simulator that wrongly started would serve forever: sim runs in a process with a timeout
    result = run_cli(*args, timeout=60.0) if args[0] == "sim" else cli_in_process(*args)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_the_catalogue_is_listed_on_the_command_line() -> None:
    result = run_cli("sim", "--list-defects", timeout=60.0)
    assert result.returncode == 0
    assert "dead_output (F1)" in result.stdout and "trips: terminal_check" in result.stdout
