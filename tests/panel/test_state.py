"""The station's state machine on its own: what an operator may do in which phase, and how
the runner's events move a run to its verdict (no server, no browser)."""

from __future__ import annotations

import threading

import pytest

from bench.panel.state import LAST_UNITS, Notice, PanelConflict, PanelState, Phase


def finished(state: PanelState, **data: object) -> None:
    state.on_event(
        "run_finished",
        {"outcome": "completed", "verdict": "pass", "run_id": "r1", **data},
    )


def test_operator_first_then_scan_then_start_then_verdict_until_the_next_scan() -> None:
    state = PanelState()
    assert state.phase == Phase.SETUP
    with pytest.raises(PanelConflict, match="operator"):
        state.scanned("SN1", [])
    state.set_operator("  Anna ")
    assert (state.phase, state.operator) == (Phase.IDLE, "Anna")
    state.scanned("SN1", [Notice("warning", "seen before")])
    assert state.phase == Phase.READY
    state.begin_run("SN1")
    assert state.phase == Phase.RUNNING
    state.on_event("run_started", {"run_id": "r1", "steps": [{"name": "a", "title": "A"}]})
    state.on_event("step_started", {"name": "a"})
    state.on_event("progress", {"step": "a", "done": 1, "total": 2, "text": "half"})
    state.on_event("step_finished", {"name": "a", "status": "completed"})
    finished(state)
    snap = state.snapshot()
    assert snap["phase"] == "verdict"
    assert snap["run"]["steps"][0] == {
        "name": "a",
        "title": "A",
        "status": "completed",
        "done": 2,
        "total": 2,
        "text": "half",
        "message": "",
    }
    assert snap["units"][0]["serial"] == "SN1"
    assert snap["serial"] == "" and snap["scan_notes"] == []
    # the verdict stays until the next scan, which goes straight to the instruction screen
    state.scanned("SN2", [])
    assert state.phase == Phase.READY and state.serial == "SN2"


def test_nothing_changes_the_station_while_a_run_is_active() -> None:
    state = PanelState(operator="Anna")
    state.scanned("SN1", [])
    state.begin_run("SN1")
    for action in (
        lambda: state.scanned("SN2", []),
        lambda: state.begin_run("SN1"),
        lambda: state.set_operator("Bob"),
        lambda: state.set_lot(None),
        state.edit_setup,
    ):
        with pytest.raises(PanelConflict, match="a run is active on this station \\(SN1"):
            action()
    assert state.phase == Phase.RUNNING


def test_start_refuses_a_stale_screen_and_a_missing_scan() -> None:
    state = PanelState(operator="Anna")
    with pytest.raises(PanelConflict, match="scan the module's serial first"):
        state.begin_run("")
    state.scanned("SN2", [])
    with pytest.raises(PanelConflict, match="this screen is for SN1 but the station now has SN2"):
        state.begin_run("SN1")
    assert state.phase == Phase.READY


def test_abort_is_a_request_until_the_runner_says_the_run_has_ended() -> None:
    state = PanelState(operator="Anna")
    assert state.request_abort("why") is False  # nothing to abort
    state.scanned("SN1", [])
    state.begin_run("SN1")
    assert state.request_abort("operator pressed Esc") is True
    assert state.request_abort("again") is True
    snap = state.snapshot()
    assert snap["phase"] == "running" and snap["run"]["abort_requested"] == "operator pressed Esc"
    state.on_event("safe_state", {"results": {"source": "verified"}, "verified": True})
    finished(state, outcome="aborted", abort_reason="operator pressed Esc")
    assert state.phase == Phase.VERDICT
    assert state.snapshot()["run"]["safe_state"]["verified"] is True


def test_refused_start_goes_back_to_the_instruction_screen_with_the_reason() -> None:
    state = PanelState(operator="Anna")
    state.scanned("SN1", [])
    state.begin_run("SN1")
    state.start_failed("station sim: in use by PID 42")
    snap = state.snapshot()
    assert snap["phase"] == "ready" and snap["run"] is None
    assert snap["notice"] == {
        "level": "error",
        "text": "station sim: in use by PID 42",
        "key": "",
        "values": {},
    }


def test_cancel_returns_to_waiting_only_from_the_instruction_screen() -> None:
    state = PanelState(operator="Anna")
    state.scanned("SN1", [])
    state.cancel()
    assert (state.phase, state.serial) == (Phase.IDLE, "")


def test_only_judged_transfer_points_with_limits_are_plotted() -> None:
    state = PanelState(operator="Anna")
    state.scanned("SN1", [])
    state.begin_run("SN1")
    point = {
        "characteristic": "transmission_error",
        "conditions": {"input_a": 0.004, "direction": "up"},
        "value": 1e-6,
        "U": 5e-7,
        "lower": -2e-5,
        "upper": 2e-5,
        "statement": "pass",
    }
    state.on_event("point", point)
    state.on_event("point", {**point, "conditions": {"supply_v": 24.0}})  # no input current
    state.on_event("point", {**point, "lower": None, "upper": None})  # informative
    points = state.snapshot()["run"]["points"]
    assert len(points) == 1 and points[0]["input_a"] == 0.004


def test_last_units_keep_twenty_newest_first() -> None:
    state = PanelState(operator="Anna")
    for i in range(LAST_UNITS + 3):
        state.scanned(f"SN{i}", [])
        state.begin_run(f"SN{i}")
        finished(state, run_id=f"r{i}")
    units = state.snapshot()["units"]
    assert len(units) == LAST_UNITS
    assert units[0]["serial"] == f"SN{LAST_UNITS + 2}"


def test_every_change_wakes_the_subscribers_and_bumps_the_version() -> None:
    state = PanelState(operator="Anna")
    woken = threading.Semaphore(0)
    unsubscribe = state.subscribe(woken.release)
    before = state.version
    state.scanned("SN1", [])
    assert woken.acquire(timeout=1) and state.version == before + 1
    unsubscribe()
    state.cancel()
    assert not woken.acquire(timeout=0.05)


def test_the_runners_notices_and_answers_to_an_abort_are_kept_with_the_run() -> None:
    state = PanelState(operator="Anna")
    state.scanned("SN1", [])
    state.begin_run("SN1")
    state.on_event("notice", {"level": "warning", "text": "lot L1 not checked (database away)"})
    repeat = {"case": "counted", "serial": "SN1", "before": ["pass"], "result": "pass", "run": "r1"}
    state.on_event(
        "notice", {"level": "warning", "text": "SN1 ...", "key": "repeat_counted", "values": repeat}
    )
    state.on_event("interrupt", {"phase": "finishing", "text": "run complete, finishing reports"})
    finished(state)
    notices = state.snapshot()["run"]["notices"]
    assert notices == [
        {"level": "warning", "text": "lot L1 not checked (database away)", "key": "", "values": {}},
        {"level": "warning", "text": "SN1 ...", "key": "repeat_counted", "values": repeat},
        {"level": "info", "text": "run complete, finishing reports", "key": "", "values": {}},
    ]


def test_the_last_units_end_times_carry_seconds_so_a_quick_retest_is_told_apart() -> None:
    import re

    state = PanelState(operator="Anna")
    for run_id in ("r1", "r2"):
        state.scanned("SN1", [])
        state.begin_run("SN1")
        state.on_event("run_started", {"run_id": run_id, "steps": []})
        finished(state, run_id=run_id)
    ended = [u["ended"] for u in state.snapshot()["units"]]
    assert len(ended) == 2 and all(re.fullmatch(r"\d\d:\d\d:\d\d", e) for e in ended)
