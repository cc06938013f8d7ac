"""Every instrument fault x every exit path, on the simulated shunt-scan bench through the real
socket path: all simulated outputs end off (checked inside the simulator), the readings taken
before the fault are on disk and agree with the record, the run is ABORTED with exit code 2
and a one-line reason naming the instrument and the fault, the report says ABORTED and lists
the steps that did not run, and the safe state is verified everywhere or names exactly the
faulty instrument.

How a cell is built (the fault strikes *on* the exit path):

* normal end / failed limit (a healthy unit / one 0.3 % off in gain): the fault strikes at the
  next sweep point after ``POINTS`` points were recorded and is what ends the run;
* exception in a procedure / Ctrl-C / SIGTERM: after ``POINTS`` points the step raises, or the
  process receives SIGINT / SIGTERM (the CLI's handler, in-process); the fault is armed at that
  instant, so it strikes during the safe-state sequence that follows - and for the two signals
  a second signal arrives from the simulator while the safe state runs (it must be held back);
* lost instrument / instrument error: at the next point the load's connection is dropped (its
  first reconnection refused too) / the DMM reports -200; the fault is armed when that happens,
  so again it strikes during the safe-state sequence.

A wrong instrument (``*IDN?`` mismatch) can only be found when the session opens: in that row
the run never starts, whatever the exit path would have been.

The SIGTERM and Ctrl-C of a real ``isobench inspect`` subprocess are in ``test_signals.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import bench.session
from bench.cli import _InterruptOnce
from bench.sim.faults import Fault
from tests.faults.support import (
    MODELS,
    SHORT_TIMEOUT_S,
    Case,
    assert_aborted,
    assert_readings_intact,
    assert_report_aborted,
    assert_safe_state,
    assert_sim_safe,
    fault_plan,
    hook_points,
    make_sim,
    run,
    station_for,
)

#: sweep points recorded before the fault or the exit event (0, 2 ... 10 mA)
POINTS = 6

CASES = {
    c.kind: c
    for c in (
        Case("no-reply", "source", "no reply to ':READ?", on_command=":READ?", short_timeout=True),
        Case("garbage", "load", "unexpected reply"),
        Case("truncated", "source", "truncated", on_command=":READ?"),
        Case("socket-closed", "supply", "lost connection", short_timeout=True),
        Case("reboot", "dmm", "instrument rebooted (power-on event)"),
        Case(
            "error",
            "supply",
            "instrument reported 201 Output relay fault",
            params={"code": 201, "message": "Output relay fault"},
        ),
        Case("compliance-trip", "source", "source in compliance"),
        Case(
            "supply-trip",
            "supply",
            "over-current protection tripped",
            params={"protection": "OCP"},
        ),
        Case("wrong-idn", "load", "expected a Keysight EL34143A", at_open=True),
        Case(
            "slow",
            "supply",
            "no reply to '*ESR?;STAT:QUES?' (timeout)",
            params={"delay_s": 2.0 * SHORT_TIMEOUT_S},
            short_timeout=True,
        ),
    )
}
EXIT_PATHS = (
    "normal end",
    "failed limit",
    "exception",
    "Ctrl-C",
    "SIGTERM",
    "lost instrument",
    "instrument error",
)
#: what the abort reason names when the exit event (not the fault) ended the run
EXIT_REASONS = {
    "exception": ("internal error RuntimeError: a bug in a procedure",),
    "Ctrl-C": ("interrupted by the operator",),
    "SIGTERM": ("interrupted by the operator",),
    "lost instrument": ("load (Keysight EL34143A) at ", "lost connection"),
    "instrument error": ("dmm (Keithley DMM6500) at ", "instrument reported -200"),
}
SIGNALS = {"Ctrl-C": signal.SIGINT, "SIGTERM": signal.SIGTERM}


def _fault(case: Case, *, on_exit_path: bool, skip: int = 0, on_fire=None) -> Fault:
    """The case's fault; on an exit path it strikes at the instrument's next message (or
    query) after ``skip``, wherever that is, instead of at a given command of the sweep."""
    return Fault(
        case.kind,
        case.role,
        after_commands=skip or None,
        on_command=None if on_exit_path else case.on_command,
        duration=case.duration,
        params=case.params,
        on_fire=on_fire,
    )


@pytest.mark.parametrize("exit_path", EXIT_PATHS)
@pytest.mark.parametrize("kind", list(CASES))
def test_fault_on_exit_path_ends_safe_with_data_and_one_line_reason(
    kind: str,
    exit_path: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    case = CASES[kind]
    if exit_path != "normal end":  # the normal-end column renders the full report
        request.getfixturevalue("fast_reports")
    serial = f"FM-{kind}-{exit_path}".replace(" ", "_")
    overrides = {"gain_error": 0.003} if exit_path == "failed limit" else {}
    sim = make_sim(serial, overrides)
    armed: list = []  # the fault, once injected (on an exit path: at the exit event)
    main = threading.main_thread().ident
    sig = SIGNALS.get(exit_path)

    def strike_on_exit_path(_: Fault | None = None) -> None:
        """Arm the case's fault now: it strikes during the safe-state sequence."""
        second_signal = (lambda _f: signal.pthread_kill(main, sig)) if sig else None  # type: ignore[arg-type]
        # the DMM's own error report (two SYST:ERR?) still belongs to the exit event
        skip = 2 if exit_path == "instrument error" and case.role == "dmm" else 0
        fault = _fault(case, on_exit_path=True, skip=skip, on_fire=second_signal)
        armed.append(sim.inject(fault))

    def at_point(n: int) -> None:
        if n != POINTS:
            return
        if exit_path in ("normal end", "failed limit"):
            armed.append(sim.inject(_fault(case, on_exit_path=False)))
        elif exit_path == "exception":
            strike_on_exit_path()
            raise RuntimeError("a bug in a procedure")
        elif sig is not None:
            strike_on_exit_path()
            os.kill(os.getpid(), sig)  # the handler raises KeyboardInterrupt right here
        elif exit_path == "lost instrument":
            lost = Fault("socket-closed", "load", on_command="*ESR?", on_fire=strike_on_exit_path)
            sim.inject(lost)
        elif exit_path == "instrument error":
            error = Fault("error", "dmm", on_command="*ESR?", on_fire=strike_on_exit_path)
            sim.inject(error)

    held: list[int] = []  # signals that arrived during the safe-state sequence
    original_held = bench.session.signals_held

    @contextlib.contextmanager
    def signals_held() -> Iterator[list[int]]:
        with original_held() as received:
            yield received
        held.extend(received)

    monkeypatch.setattr(bench.session, "signals_held", signals_held)

    short = {case.role} if case.short_timeout else set()
    if exit_path == "lost instrument":
        short.add("load")
    handler = _InterruptOnce()  # as bench.cli installs it for both signals
    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        station = station_for(sim, short)
        if case.at_open:
            armed.append(sim.inject(_fault(case, on_exit_path=False)))
        else:
            hook_points(monkeypatch, at_point)
        try:
            result = run(sim, station, tmp_path, serial, fault_plan())
        except KeyboardInterrupt:  # pragma: no cover - a signal escaped the run
            pytest.fail("a signal escaped run_inspection (not held during the safe state?)")
        assert_sim_safe(sim)
        assert sim.internal_errors() == []
    finally:
        for signum, previous_handler in previous.items():
            signal.signal(signum, previous_handler)
        sim.stop()

    # the fault really happened, on the exit path it was meant for
    assert armed and armed[0].fired.is_set(), armed
    if sig is not None and not case.at_open:
        assert held == [sig]  # the second signal came during the safe state and was held
    fault_ended_run = case.at_open or exit_path in ("normal end", "failed limit")
    if fault_ended_run:
        assert_aborted(result, f"{case.role} ({MODELS[case.role]}) at ", case.reason)
    else:
        assert_aborted(result, *EXIT_REASONS[exit_path])
    rows = assert_readings_intact(result, "accuracy", 0 if case.at_open else POINTS)
    if exit_path == "failed limit" and not case.at_open:
        assert set(rows["statement"]) & {"fail", "conditional fail"}  # failing data kept
    if case.at_open:
        assert sim.instruments[case.role].messages_processed == 1  # *IDN? and nothing else
        assert_safe_state(result, {case.role})
        assert result.record.safe_state[case.role].startswith("not commanded")
        assert_report_aborted(result, steps_listed=False)  # see test_session_faults.py
    else:
        assert_safe_state(result, set())
        assert result.record.step("accuracy").status == "aborted"
        assert result.record.step("open_input").status == "not run"
        assert_report_aborted(result)
