"""The runner as the panel and the pytest plugin use it: events, an abort from another thread,
the context-manager form, and the station lock."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from bench.events import RunControl, RunEvent
from bench.lock import StationBusy, StationLock, lock_holder
from bench.runner import Runner, RunRequest
from bench.sim.bench import SimBench, SimBenchConfig, is_safe, sim_station
from procedures.profile import Characteristic


def _request(tmp_path: Path, station, serial: str, **extra) -> RunRequest:
    return RunRequest(
        station=station,
        serial=serial,
        plan="sweep",
        out_dir=tmp_path,
        publish=False,
        render=False,
        front_end="pytest",
        **extra,
    )


def test_an_abort_from_another_thread_stops_at_the_next_command_and_finalises(
    tmp_path: Path,
) -> None:
    """The panel's stop button: the run is in a worker thread, the abort comes from another.
    The run stops at once (the simulator sees no command of a later point), the outputs end
    safe, and the events tell the whole story in order."""
    events: list[RunEvent] = []
    control = RunControl()
    first_point, aborted = threading.Event(), threading.Event()

    def listener(event: RunEvent) -> None:
        events.append(event)
        if event.kind == "point" and event.data["step"] == "accuracy" and not aborted.is_set():
            first_point.set()
            aborted.wait(60)  # the worker waits here until the other thread has aborted

    with SimBench(SimBenchConfig(serial="ABORT-1")) as sim:
        runner = Runner(_request(tmp_path, sim_station(sim.resources, sim.models), "ABORT-1"),
                        listener, control)  # fmt: skip
        worker = threading.Thread(target=runner.run)
        worker.start()
        assert first_point.wait(60)
        control.abort("stopped at the panel by J. Doe")
        aborted.set()
        worker.join(60)
        assert is_safe(sim)
    result = runner.result
    assert result is not None and result.exit_code == 2
    record = result.record
    assert record.outcome == "aborted" and record.abort_reason == "stopped at the panel by J. Doe"
    # stopped at the very next instrument command: one point of the traverse, no more
    assert sum(1 for m in record.measurements if m.step == "accuracy") == 1
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-2:] == ["safe_state", "run_finished"]
    finished = events[-1].data
    assert finished["outcome"] == "aborted" and finished["exit_code"] == 2
    json.dumps([e.data for e in events])  # every event can go to a browser as it is
    started = events[0].data
    assert [s["name"] for s in started["steps"]] == ["shunt_calibration", "accuracy"]
    step_ends = [e.data for e in events if e.kind == "step_finished"]
    assert step_ends[-1]["name"] == "accuracy" and step_ends[-1]["status"] == "aborted"


def test_the_context_manager_keeps_the_bench_open_and_finalises_like_inspect(
    tmp_path: Path,
) -> None:
    """The pytest plugin's fixture: the plan, then its own reading judged against its own
    limit; the lock is held throughout and released at the end."""
    own = Characteristic(
        name="fixture_leakage",
        title="Fixture leakage current",
        unit="A",
        upper=1e-6,
        rule="simple-acceptance",
        datasheet="station suite",
    )
    with SimBench(SimBenchConfig(serial="CTX-1")) as sim:
        station = sim_station(sim.resources, sim.models)
        with Runner(_request(tmp_path, station, "CTX-1")) as run:
            run.execute_plan()
            holder = lock_holder(station)
            assert holder is not None and holder.pid == os.getpid()
            assert holder.serial == "CTX-1" and holder.front_end == "pytest"
            assert run.session is not None
            supply_a = run.session.supply.measure_current()  # the front-end's own operation
            run.judge(own, 2e-6, conditions={"supply_a": supply_a}, step="station_suite")
        assert is_safe(sim) and lock_holder(station) is None
    result = run.result
    assert result is not None and result.exit_code == 1  # the own limit failed
    judged = [m for m in result.record.measurements if m.characteristic == "fixture_leakage"]
    assert judged[0].statement == "fail" and result.record.outcome == "completed"
    on_disk = json.loads((result.folder / "record.json").read_text())
    assert on_disk["safe_state_verified"] and on_disk["measurements"][-1]["step"] == "station_suite"


def test_one_run_per_station_and_a_dead_holder_is_taken_over(tmp_path: Path) -> None:
    """Two station files naming the same instruments share one lock; the holder of a lock is
    readable; the note a killed run left behind does not block the next one."""
    resources = {
        role: f"TCPIP0::127.0.0.1::{5100 + i}::SOCKET"
        for i, role in enumerate(("source", "dmm", "supply", "load"))
    }
    models = {"source": "keithley2450", "dmm": "keithley-dmm6500",
              "supply": "keysight-e36104b", "load": "keysight-el34143a"}  # fmt: skip
    first = sim_station(resources, models)
    second = sim_station({**resources, "dmm": "tcpip::LOCALHOST::5101::socket"}, models)
    second.station.name = "bench-2"
    with StationLock(first, serial="SN-A", front_end="panel"):
        with pytest.raises(StationBusy) as refused:
            StationLock(second, serial="SN-B").acquire()
        message = str(refused.value)
        assert "\n" not in message and f"PID {os.getpid()}" in message
        assert "inspecting SN-A" in message and "panel" in message
        assert lock_holder(second).serial == "SN-A"  # type: ignore[union-attr]
    assert lock_holder(first) is None
    # a run killed with SIGKILL leaves its holder note; the OS already released its lock
    from bench.lock import _paths

    dead = {"pid": 2**22 + 12345, "host": os.uname().nodename, "serial": "SN-DEAD",
            "started_at": "2026-01-01 00:00:00 UTC", "front_end": "isobench inspect",
            "station": "sim", "resource": ""}  # fmt: skip
    holder_path = _paths(resources["source"])[1]
    holder_path.parent.mkdir(parents=True, exist_ok=True)
    holder_path.write_text(json.dumps(dead))
    assert lock_holder(first) is None  # a dead holder holds nothing
    with StationLock(first, serial="SN-C") as lock:
        assert [h.serial for h in lock.taken_over] == ["SN-DEAD"]
        assert lock_holder(first).serial == "SN-C"  # type: ignore[union-attr]
