"""What the fault tests share: a run on a simulated bench with a hook at the n-th sweep point,
and the checks every aborted run must pass (simulator outputs off, data on disk, record,
report)."""

from __future__ import annotations

import dataclasses
import html
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import procedures.steps.accuracy as accuracy_step
from bench.runner import RunOptions, RunResult, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig, is_safe, sim_station
from bench.station import Station
from procedures.plan import Step
from procedures.plans import sweep_plan
from procedures.profile import builtin_profile
from procedures.steps.over_range import OpenInput

#: controller timeout (s) of an instrument that is expected to time out in a test
SHORT_TIMEOUT_S = 0.4

MODELS = {
    "source": "Keithley 2450",
    "dmm": "Keithley DMM6500",
    "supply": "Keysight E36104B",
    "load": "Keysight EL34143A",
}


def fault_plan() -> list[Step]:
    """The transfer sweep (without the in-situ read-back calibration, for speed) and one more
    step, so an aborted run has a step that did not run."""
    sweep = [s for s in sweep_plan("direct") if s.name != "readback_calibration"]
    return [*sweep, OpenInput()]


@dataclass
class PointHook:
    """Calls ``action(n)`` right after the accuracy step recorded its n-th point."""

    action: Callable[[int], None]
    recorded: int = 0


def hook_points(monkeypatch: pytest.MonkeyPatch, action: Callable[[int], None]) -> PointHook:
    hook = PointHook(action)
    original = accuracy_step.record_transfer

    def record_transfer(*args, **kwargs):
        measurement = original(*args, **kwargs)
        hook.recorded += 1
        hook.action(hook.recorded)
        return measurement

    monkeypatch.setattr(accuracy_step, "record_transfer", record_transfer)
    return hook


def make_sim(serial: str, overrides: dict[str, float] | None = None) -> SimBench:
    return SimBench(SimBenchConfig(serial=serial, overrides=overrides or {}, seed=11)).start()


def station_for(sim: SimBench, short_timeouts: set[str] = frozenset()) -> Station:  # type: ignore[assignment]
    station = sim_station(sim.resources, sim.models)
    for role in short_timeouts:
        station.instruments[role].timeout_s = SHORT_TIMEOUT_S
    return station


def run(sim: SimBench, station: Station, out: Path, serial: str, plan: list[Step]) -> RunResult:
    options = RunOptions(
        serial=serial, output_dir=out, bench_clock=lambda: sim.bench_time_s, publish=False
    )
    return run_inspection(station, builtin_profile(), plan, options)


# ------------------------------------------------------------------ checks
def assert_sim_safe(sim: SimBench) -> None:
    """Inside the simulator, independent of what the controller believes."""
    assert is_safe(sim), (sim.outputs_on(), sim.levels())


def assert_one_line(text: str) -> str:
    assert text and "\n" not in text and "\r" not in text, repr(text)
    return text


def assert_readings_intact(result: RunResult, step: str, expected_rows: int) -> pd.DataFrame:
    """Every reading taken is on disk, complete, and agrees with what the record says was
    measured (the record is rewritten after every step, the CSV appended per reading)."""
    path = result.folder / "readings.csv"
    measured = [m for m in result.record.measurements if m.step == step]
    assert len(measured) == expected_rows, (len(measured), expected_rows)
    if expected_rows == 0:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        assert step not in text
        return pd.DataFrame()
    readings = pd.read_csv(path)
    rows = readings[readings["step"] == step]
    assert len(rows) == expected_rows
    assert not rows[["set_a", "input_a", "output_a", "error_a", "statement"]].isna().any().any()
    for (_, row), m in zip(rows.iterrows(), measured, strict=True):
        assert math.isclose(row["error_a"], m.value, rel_tol=1e-12, abs_tol=1e-15)
        assert row["statement"] == m.statement
        assert math.isclose(row["set_a"], m.conditions["set_a"])
    return rows


def assert_report_aborted(result: RunResult, *, steps_listed: bool = True) -> None:
    """report.html says ABORTED and lists every step that did not run."""
    text = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "ABORTED" in text
    not_run = [s for s in result.record.steps if s.status == "not run"]
    if steps_listed:
        assert not_run, [(s.name, s.status) for s in result.record.steps]
    rows = re.split(r"<tr[ >]", text)
    for step in not_run:
        title = html.escape(step.title, quote=False)
        assert any(title in row and "not run" in row for row in rows), step.title


def assert_safe_state(result: RunResult, unverified: set[str]) -> None:
    """``verified`` everywhere, or exactly the instruments named as not verified."""
    states = result.record.safe_state
    assert set(states) == {"source", "dmm", "supply", "load"}, states
    bad = {role for role, state in states.items() if state != "verified"}
    assert bad == unverified, states
    assert result.record.safe_state_verified == (not unverified)


def assert_aborted(result: RunResult, *reason_parts: str) -> str:
    record = result.record
    assert result.exit_code == 2
    assert record.outcome == "aborted", (record.outcome, record.abort_reason)
    reason = assert_one_line(record.abort_reason)
    for part in reason_parts:
        assert part in reason, (part, reason)
    on_disk = json.loads((result.folder / "record.json").read_text(encoding="utf-8"))
    assert on_disk["outcome"] == "aborted"
    return reason


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll a condition in real time (no fixed sleeps); fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.002)


@dataclass(frozen=True)
class Case:
    """How one fault kind is injected in the tests: on which instrument, with what."""

    kind: str
    role: str
    reason: str  # what the one-line abort reason must contain
    params: dict = dataclasses.field(default_factory=dict)
    on_command: str | None = None
    duration: int | None = 1
    at_open: bool = False  # the fault is there before the run starts
    short_timeout: bool = False  # the controller will wait for a reply that does not come


def iter_cases(cases: dict[str, Case]) -> Iterator[Case]:
    yield from cases.values()
