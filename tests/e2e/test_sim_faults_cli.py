"""End to end, a fault rehearsal: ``isobench sim --fault ...`` in its own process, the
controller (``isobench inspect``) in another, over sockets. The bench maintainer's way to see
what the controller does when an instrument misbehaves, without touching the lab's hardware."""

from __future__ import annotations

import json
from pathlib import Path

from bench.station import load_station, station_toml
from tests.e2e.simulator import Simulator, station_written_by_a_simulator
from tests.helpers import cli_in_process, run_cli


def _inspect(station: Path, out: Path, serial: str = "SIM-0001"):
    """A client of the simulator process, run in this one."""
    return cli_in_process(
        "inspect", "--station", str(station), "--serial", serial,
        "--out", str(out), "--quiet", "--plan", "sweep",
    )  # fmt: skip


def test_a_supply_trip_mid_run_aborts_safely_and_the_simulator_says_so(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station = tmp_path / "station.toml"
    spec = "supply-trip@supply,after=25,protection=OCP"
    sim = Simulator("--base-port", "0", "--write-station", str(station), "--fault", spec)
    simulators.append(sim)
    assert sim.wait_for("fault armed:") == f"fault armed: {spec}"
    sim.wait_for("Ctrl-C stops.")

    result = _inspect(station, tmp_path / "out")
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert "supply (Keysight E36104B)" in line and "over-current protection tripped" in line
    (folder,) = (tmp_path / "out").iterdir()
    record = json.loads((folder / "record.json").read_text(encoding="utf-8"))
    assert record["outcome"] == "aborted" and record["safe_state_verified"]

    assert sim.interrupt() == 0
    fired = sim.wait_for(f"fault {spec}:")
    assert "fired at message 26 to the supply" in fired  # the first message after 25
    assert sim.wait_for("outputs at stop:").endswith(
        "safe (every output off, source and supply levels zero)"
    )


def test_a_station_files_sim_faults_are_armed_and_an_unfired_fault_is_reported(
    tmp_path: Path, simulators: list[Simulator]
) -> None:
    station = station_written_by_a_simulator(tmp_path, simulators)
    assert station.sim is not None
    # a fault on a header the sweep never sends: armed, never fired, the run unharmed
    station.sim["faults"] = ["error@dmm,on=CALIBRATION:SECURE,code=-350"]
    file = tmp_path / "station.toml"
    file.write_text(station_toml(station), encoding="utf-8")
    assert load_station(file).sim["faults"] == station.sim["faults"]  # type: ignore[index]

    sim = Simulator("--station", str(file))
    simulators.append(sim)
    sim.wait_for("fault armed: error@dmm,on=CALIBRATION:SECURE,code=-350")
    sim.wait_for("Ctrl-C stops.")
    result = _inspect(file, tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sim.interrupt() == 0
    assert sim.wait_for("fault error@dmm").endswith(": did not fire")


def test_a_bad_fault_in_a_station_file_is_one_line(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "bench" / "stations" / "example.toml").read_text()
    station = tmp_path / "station.toml"
    station.write_text(text + '\n[sim]\nfaults = ["no-reply@psu"]\n', encoding="utf-8")
    result = run_cli("sim", "--station", str(station))
    assert result.returncode == 2
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert "unknown role 'psu'" in line and str(station) in line
