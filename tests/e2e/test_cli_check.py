"""``isobench check``: a station checked without a module, by the bench maintainer.

Every instrument is opened on its own (one failure does not hide the others), its identity,
serial and calibration are compared with the station file, the safety envelope is built, and
everything ends in its safe state, read back. Checked inside the simulator, not only in the
controller's words."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

from bench.check import ENGINEERING_ONLY, NOT_READY, READY, check_station
from bench.sim.bench import SimBench, SimBenchConfig, is_safe, sim_station
from bench.sim.faults import Fault
from bench.station import Station, station_toml
from procedures.profile import builtin_profile
from tests.helpers import cli_in_process as run_cli
from tests.helpers import station_file

TODAY = dt.date(2026, 11, 26)


def _check(sim: SimBench, station: Station | None = None):
    station = station or sim_station(sim.resources, sim.models)
    return check_station(station, builtin_profile(), today=TODAY)


def test_the_built_in_sim_station_is_ready() -> None:
    result = run_cli("check", "--station", "sim")
    assert result.returncode == READY, result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert "KEITHLEY INSTRUMENTS,MODEL 2450," in out and "MODEL DMM6500" in out
    assert "E36104B" in out and "EL34143A" in out
    assert out.count("safe state verified") == 5  # four instruments and the summary
    assert "safety envelope: source <= 30 mA at <= 5 V, supply 16.8-31.2 V" in out
    assert out.rstrip().endswith("result: READY for production runs")


def test_a_check_switches_off_what_it_finds_on(tmp_path: Path) -> None:
    with SimBench(SimBenchConfig(serial="CHK-1", seed=1)) as sim:
        sim.instruments["supply"].process("VOLT 24;:OUTP ON")  # left on by someone
        sim.instruments["load"].process("FUNC RES;:RES 250;:INP ON")
        assert not is_safe(sim)
        result = _check(sim)
        assert is_safe(sim), (sim.outputs_on(), sim.levels())
    assert result.exit_code == READY, result.lines()


def test_every_problem_is_listed_and_a_wrong_instrument_is_sent_nothing(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SimBench(SimBenchConfig(serial="CHK-2", seed=2)) as sim:
        sim.inject(Fault("wrong-idn", "load"))
        resources = {**sim.resources, "dmm": f"TCPIP0::127.0.0.1::{port}::SOCKET"}
        station = station_file(tmp_path / "station.toml", resources, sim.models)
        result = run_cli("check", "--station", str(station))
        assert is_safe(sim)
        assert sim.instruments["load"].messages_processed == 1  # its *IDN? only
        assert sim.internal_errors() == []
    assert result.returncode == NOT_READY, result.stdout + result.stderr
    out = result.stdout
    problems = [line.strip() for line in out.splitlines() if "PROBLEM:" in line]
    assert len(problems) == 2, out
    assert "cannot open" in problems[0] or "refused" in problems[0], problems
    assert "expected a Keysight EL34143A but *IDN? answered" in problems[1]
    assert "source" in out and "KEITHLEY INSTRUMENTS,MODEL 2450," in out  # the others checked
    assert "safety envelope: not built" in out
    assert out.rstrip().endswith("result: NOT READY - fix the problems above, then check again")
    (line,) = [text for text in result.stderr.splitlines() if text.strip()]
    assert line.startswith("isobench: error: station not ready: dmm (Keithley DMM6500) at ")


def test_calibration_and_serials_decide_production_or_engineering_only() -> None:
    with SimBench(SimBenchConfig(serial="CHK-3", seed=3)) as sim:
        station = sim_station(sim.resources, sim.models)
        station.station.name = "bench 3"
        for role, cfg in station.instruments.items():
            cfg.serial = sim.instruments[role].identity.idn().split(",")[2]
            cfg.calibration_due = TODAY + dt.timedelta(days=200)
        ready = _check(sim, station)
        station.instruments["supply"].calibration_due = TODAY + dt.timedelta(days=10)
        station.instruments["load"].serial = "MY00000000"
        station.instruments["source"].calibration_due = TODAY - dt.timedelta(days=1)
        restricted = _check(sim, station)
        assert is_safe(sim)
    assert ready.exit_code == READY and ready.warnings == [], ready.lines()
    assert "calibration due 2027-06-14 (in 200 days)" in "\n".join(ready.lines())
    assert restricted.exit_code == ENGINEERING_ONLY
    verdict = restricted.verdict()
    assert verdict.startswith(
        "ENGINEERING ONLY - usable for engineering runs only (--engineering): "
    )
    assert "calibration was due 2026-11-25" in verdict and "is not the station file's" in verdict
    assert restricted.warnings == ["supply (keysight-e36104b): calibration due in 10 days"]
    assert "OVERDUE since 2026-11-25" in "\n".join(restricted.lines())


def test_limits_the_supply_cannot_meet_make_the_station_not_ready(tmp_path: Path) -> None:
    with SimBench(SimBenchConfig(serial="CHK-4", seed=4)) as sim:
        station = sim_station(sim.resources, sim.models)
        station.limits.supply_max_v, station.limits.supply_ovp_v = 36.0, 38.0
        result = _check(sim, station)
        assert is_safe(sim)
        file = tmp_path / "station.toml"
        file.write_text(station_toml(station), encoding="utf-8")
        cli = run_cli("check", "--station", str(file))
    assert result.exit_code == NOT_READY
    assert result.envelope.startswith("cannot be built: station limit supply_max_v 36 V exceeds")
    assert result.safe_state.verified  # the instruments themselves were fine and are safe
    assert cli.returncode == NOT_READY
    (line,) = [text for text in cli.stderr.splitlines() if text.strip()]
    assert "safety envelope cannot be built" in line and "35 V class supply" in line


def test_ready_only_with_traceable_instruments_and_a_runnable_plan(tmp_path: Path) -> None:
    """Issue 8 row 9: no serials or calibration dates -> ENGINEERING ONLY; a load limit the
    full plan exceeds -> NOT READY, naming the limit and the fix."""
    with SimBench(SimBenchConfig(serial="CHK-9", seed=9)) as sim:
        station = sim_station(sim.resources, sim.models)
        station.station.name = "bench-9"  # a real bench's file, without serials or due dates
        path = tmp_path / "bench.toml"
        path.write_text(station_toml(station), encoding="utf-8")
        untraceable = run_cli("check", "--station", str(path))
        station.limits.load_max_ohm = 100.0
        path.write_text(station_toml(station), encoding="utf-8")
        too_small = run_cli("check", "--station", str(path))
    assert untraceable.returncode == ENGINEERING_ONLY, untraceable.stdout
    assert "result: ENGINEERING ONLY" in untraceable.stdout
    assert "source (keithley2450): no serial or calibration due date" in untraceable.stdout
    assert too_small.returncode == NOT_READY
    (line,) = too_small.stderr.strip().splitlines()
    assert "limits.load_max_ohm is 100 ohm; raise it to at least 500" in line
    assert "plan: " in too_small.stdout and "result: NOT READY" in too_small.stdout
