"""The isobench pytest plugin, driven through pytest's own ``pytester``.

Each test is one pytest session of the plugin on the in-process simulator (virtual clock), read
from several sides: pytest's outcomes and JUnit file, the run's record, reports and store, and
the simulator's own state (ground truth the controller did not compute). Signals and the entry
point need a real process: those sessions run in a subprocess.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench.pytest_plugin import RUN_KEY, plan_characteristics
from bench.sim.bench import is_safe
from bench.store import ResultStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "station_suite"
TRANSMISSION_FAMILY = {"transmission_error", "supply_effect", "load_effect"}
USER_CHECKS = ("live_zero", "output_ripple", "repeatability_20ma")


def isobench(serial: str, *args: str) -> list[str]:
    return [
        "--isobench-station",
        "sim",
        "--isobench-serial",
        serial,
        "-p",
        "no:cacheprovider",
        *args,
    ]


def run_of(result: pytest.RunResult) -> Any:
    """The plugin's run object of an in-process session (its runner, record and simulator)."""
    (call,) = result.reprec.getcalls("pytest_sessionfinish")  # type: ignore[attr-defined]
    return call.session.config.stash[RUN_KEY]


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Plan item (characteristic) -> passed/failed, from pytest's own reports."""
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {
        r.nodeid.split("::")[-1]: r.outcome
        for r in reports
        if r.when == "call" and r.nodeid.startswith("isobench::")
    }


def record_of(folder: Path) -> dict[str, Any]:
    (path,) = folder.glob("isobench-output/*/record.json")
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the whole plan and the examples
def test_healthy_unit_passes_the_plan_and_the_example_checks(pytester: pytest.Pytester) -> None:
    # the store's modules are loaded here first: an in-process session drops the modules it
    # imported itself when it ends, and SQLAlchemy does not survive being imported twice
    with ResultStore.open(None):
        pass
    started = time.perf_counter()
    result = pytester.runpytest_inprocess(
        *isobench("OK-1", "--isobench-plan", "full", str(EXAMPLES), "-v", "--junitxml=j.xml")
    )
    elapsed = time.perf_counter() - started
    run = run_of(result)
    record = run.result.record
    plan_items = outcomes(result)
    judged = {
        m.characteristic for m in record.measurements if m.step in {s.name for s in run.steps}
    }
    # one item per judged characteristic of the plan, each passing; the examples pass too
    assert set(plan_items) == judged and len(judged) >= 20
    assert set(plan_items.values()) == {"passed"}
    result.assert_outcomes(passed=len(plan_items) + 3)
    assert result.ret == 0, elapsed
    result.stdout.fnmatch_lines(
        ["*isobench::limit_frequency PASS * Hz (U * Hz), limits ≥ 100 Hz*", "*OK-1: PASS*"]
    )
    assert record.outcome == "completed" and record.verdict == "pass"
    assert record.safe_state_verified and is_safe(run.runner.sim)
    # the user's values: recorded like built-in ones, marked with the check that took them
    user = {m.characteristic: m for m in record.measurements if m.characteristic in USER_CHECKS}
    assert set(user) == set(USER_CHECKS)
    live = user["live_zero"]
    node = "examples/station_suite/test_station_checks.py::test_live_zero"
    assert live.step == node and live.note == f"user check {node}"
    assert live.statement == "pass" and live.decision["U"] > 0
    assert record.step(node).status == "completed"
    # ... and it agrees with the plan's own 4 mA point (upward) within their uncertainties
    (plan_4ma,) = [
        m
        for m in record.measurements
        if m.step == "accuracy"
        and m.characteristic == "transmission_error"
        and m.conditions.get("set_a") == 4e-3
        and m.conditions.get("direction") == "up"
    ]
    both_u = (live.decision["U"] ** 2 + plan_4ma.decision["U"] ** 2) ** 0.5
    assert abs(live.value - (4e-3 + plan_4ma.value)) < both_u + 0.5e-6
    # pytest's JUnit: one case per characteristic, plus the user's checks with their values
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "j.xml").iter("testcase")}
    assert {n for n, c in cases.items() if c.get("classname") == "isobench"} == judged
    props = {p.get("name"): p.get("value") for p in cases["test_live_zero"].iter("property")}
    assert props["live_zero"].startswith("PASS 3.99")
    # the run's own reports and its store entry show them like built-in characteristics
    folder = run.result.folder
    run_cases = {c.get("name"): c for c in ET.parse(folder / "junit.xml").iter("testcase")}
    note = {p.get("name"): p.get("value") for p in run_cases["live_zero"].iter("property")}
    assert note["note"] == f"user check {node}" and note["statement"] == "pass"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "Live zero at 4 mA (4-20 mA range)" in html and f"user check {node}" in html
    from pypdf import PdfReader

    pdf = " ".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    assert "Repeatability at 20 mA" in " ".join(pdf.split())
    with ResultStore.open(None) as store:
        stored = store.run(record.run_id)
    assert {m["step"] for m in stored["measurements"] if m["characteristic"] in USER_CHECKS} == {
        f"examples/station_suite/test_station_checks.py::test_{name}"
        for name in ("live_zero", "output_ripple", "20ma_repeatability")
    }


def test_gain_defect_fails_exactly_the_transmission_error_family(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_inprocess(
        *isobench("GAIN-1", "--isobench-sim-defect", "gain=0.003")
    )
    failed = {name for name, outcome in outcomes(result).items() if outcome == "failed"}
    assert failed == TRANSMISSION_FAMILY
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["FAIL: Transmission error = * µA (U * µA) at 24 V, 250 Ω, 20 mA, up*"]
    )
    record = run_of(result).result.record
    assert record.verdict == "fail" and record.safe_state_verified


def test_k_runs_only_the_steps_the_selected_characteristics_need(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_inprocess(*isobench("K-1", "-k", "limit_frequency"))
    result.assert_outcomes(passed=1, deselected=len(plan_characteristics("full")) - 1)
    record = record_of(pytester.path)
    ran = [s["name"] for s in record["steps"]]
    # the step response, after the gate and the shunt-ratio calibration every reading needs
    assert ran == ["shunt_calibration", "terminal_check", "step_response"]
    assert {s["status"] for s in record["steps"]} == {"completed"}
    assert {m["step"] for m in record["measurements"]} == {"terminal_check", "step_response"}


def test_x_stops_the_run_with_the_later_steps_recorded_as_not_run(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_inprocess(
        *isobench("X-1", "--isobench-sim-defect", "gain=0.003", "-x", "-k", "effect")
    )
    assert outcomes(result) == {"supply_effect": "failed"}
    assert result.ret == 1
    run = run_of(result)
    record = run.result.record
    assert record.outcome == "stopped" and "pytest stopped early" in record.abort_reason
    assert record.step("load_effect").status == "not run"
    assert record.safe_state_verified and is_safe(run.runner.sim)


# ------------------------------------------------------------------ the user's checks
CHECKS = """
import pytest

def test_raises_with_everything_on(isobench_station):
    isobench_station.power_up()
    isobench_station.measure_point(10e-3)
    pytest.outputs_seen = isobench_station.sim.outputs_on()
    raise RuntimeError("a bug in the check")

def test_beyond_the_envelope(isobench_station):
    isobench_station.power_up()
    isobench_station.source.set_current(60e-3)

def test_outputs_are_off_between_checks(isobench_station):
    assert not any(isobench_station.sim.outputs_on().values())

def test_unknown_name_without_limits(isobench_judge):
    isobench_judge("leakage", 1e-9)

def test_judged_fail(isobench_station, isobench_judge, isobench_record):
    isobench_station.power_up()
    point = isobench_station.measure_point(20e-3)
    isobench_judge("low_20ma", point.output_a, u=point.budget.u, lower=19.0e-3,
                   upper=19.5e-3, unit="A")
"""


def test_failing_user_checks_leave_every_output_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_station=CHECKS)
    result = pytester.runpytest_inprocess(*isobench("USER-1"))
    result.assert_outcomes(passed=1, failed=4)
    run = run_of(result)
    sim, record = run.runner.sim, run.result.record
    assert pytest.outputs_seen == {"source": True, "dmm": False, "supply": True, "load": True}  # type: ignore[attr-defined]
    # the simulator's own outputs, and the record's verified safe state
    assert is_safe(sim) and record.safe_state_verified
    assert set(record.safe_state.values()) == {"verified"}
    status = {s.name.split("::")[-1]: s.status for s in record.steps}
    assert status["test_raises_with_everything_on"] == "error"
    assert status["test_beyond_the_envelope"] == "failed"
    assert status["test_judged_fail"] == "failed"
    # refusals and judgements are one line each, no traceback
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*safety envelope: refused source current 0.06 A (limit 0.03 A*the envelope allows",
            "*'leakage' is not in the module profile WAGO 857-411: give its limits*",
            "FAIL: Low 20ma = 20.0* mA (U * mA) at -; limits 19 ... 19.5 mA",
        ]
    )
    assert "set_current(60e-3)" not in out and "During handling" not in out
    assert "RuntimeError: a bug in the check" in out  # the user's own bug keeps its traceback
    assert record.verdict == "fail" and result.ret == 1


# ------------------------------------------------------------------ passive, and bad options
def test_passive_without_a_station(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="def test_plain():\n    assert True\n",
        test_needs_bench="def test_check(isobench_station):\n    pass\n",
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*isobench_station needs a bench: run pytest with --isobench-station sim|FILE*"]
    )
    assert not (pytester.path / "isobench-output").exists()
    (call,) = result.reprec.getcalls("pytest_sessionfinish")  # type: ignore[attr-defined]
    manager = call.session.config.pluginmanager
    assert manager.has_plugin("isobench") and not manager.has_plugin("isobench-run")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--isobench-station", "sim"], "--isobench-serial is missing: give the serial number*"),
        (["--isobench-serial", "SN"], "--isobench-serial needs --isobench-station sim|FILE*"),
        (
            ["--isobench-station", "nope.toml", "--isobench-serial", "SN"],
            "*station file nope.toml: not found; give a path to a .toml file or 'sim'",
        ),
        (
            ["--isobench-station", "sim", "--isobench-serial", "SN", "--isobench-sim-defect", "x"],
            "*unknown defect 'x'; known: *",
        ),
        (
            ["--isobench-station", "sim", "--isobench-serial", "SN", "--isobench-plan", "quick"],
            "*argument --isobench-plan: invalid choice: 'quick'*",
        ),
        (
            [
                *("--isobench-station", "sim", "--isobench-serial", "SN"),
                *("--isobench-sim-model", "dmm=nosuch"),
            ],
            "*--isobench-sim-model dmm=nosuch: unknown dmm model 'nosuch'; dmm models in the "
            "shunt-scan topology: keithley-dmm6500*",
        ),
        (
            ["--isobench-station", "sim", "--isobench-serial", "SN", "--isobench-sim-model", "x"],
            "*'x' is not ROLE=MODEL, e.g. source=keithley2450*",
        ),
    ],
)
def test_bad_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest_inprocess(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}"])
    assert "Traceback" not in result.stderr.str()


# ------------------------------------------------------------------ signals (a real process)
#: written by the session's own conftest once pytest is done: the simulator's outputs
GROUND_TRUTH = """
import json, pytest
from bench.pytest_plugin import RUN_KEY, plan_characteristics

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    run = config.stash.get(RUN_KEY, None)
    if run is not None and run.runner is not None:
        sim = run.runner.sim
        with open("sim-outputs.json", "w") as out:
            json.dump({"outputs": sim.outputs_on(), "levels": sim.levels()}, out)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signal_aborts_the_run_with_the_outputs_off(
    pytester: pytest.Pytester, signum: signal.Signals
) -> None:
    pytester.makeconftest(GROUND_TRUTH)
    out = pytester.path / "out.txt"
    with out.open("w") as stdout:
        # no -p: the plugin comes from the installed entry point
        proc = pytester.popen(
            [sys.executable, "-m", "pytest", *isobench("SIG-1", "-v")],
            stdout=stdout,
            stderr=stdout,
            stdin=None,
        )
        deadline = time.monotonic() + 60
        while "isobench::limit_frequency" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signum)
        ret = proc.wait(60)
    text = out.read_text()
    assert ret == pytest.ExitCode.INTERRUPTED, text
    record = record_of(pytester.path)
    assert record["outcome"] == "aborted", text
    assert record["abort_reason"] == "interrupted by the operator (Ctrl-C or SIGTERM)"
    assert record["safe_state_verified"] and set(record["safe_state"].values()) == {"verified"}
    truth = json.loads((pytester.path / "sim-outputs.json").read_text())
    assert not any(truth["outputs"].values()), truth
    assert truth["levels"]["source_current_a"] == 0.0 and truth["levels"]["supply_voltage_v"] == 0.0
    assert "SIG-1: ABORTED: interrupted by the operator" in text
