"""Whatever ends a run, every simulated output ends off with its level at zero.

The check is made inside the simulator (ground truth), not through the controller.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, is_safe, sim_station
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.keysight34465a import Keysight34465A
from procedures.plans import sweep_plan
from procedures.profile import builtin_profile


def _inject(
    monkeypatch: pytest.MonkeyPatch,
    sim: SimBench,
    exc: BaseException,
    at_call: int,
    seen: dict[str, object],
) -> None:
    driver = KeithleyDMM6500 if sim.config.topology == "shunt-scan" else Keysight34465A
    original = driver.fetch_readings
    calls = {"n": 0}

    def fetch_readings(self):
        calls["n"] += 1
        if calls["n"] == at_call:
            seen["outputs"] = sim.outputs_on()  # mid-sweep: everything is driving the module
            raise exc
        return original(self)

    monkeypatch.setattr(driver, "fetch_readings", fetch_readings)


#: DMM fetch_readings call (the readings started while the source reads back) that fails on the
#: sixth sweep point: direct first calibrates the read-back (one overlapped read per sweep
#: level, 11) and then fetches once per point; shunt-scan's calibration reads without
#: overlap, and each point fetches its first shunt's readings once
FAIL_AT = {"sim_bench": 11 + 6, "shunt_bench": 6}


@pytest.mark.parametrize("bench_fixture", ["sim_bench", "shunt_bench"])
@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (RuntimeError("injected failure mid-sweep"), "internal error RuntimeError"),
        (KeyboardInterrupt(), "interrupted by the operator"),
    ],
)
def test_exception_mid_sweep_leaves_every_output_off(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    exc: BaseException,
    reason: str,
    bench_fixture: str,
) -> None:
    sim_bench: SimBench = request.getfixturevalue(bench_fixture)
    seen: dict[str, object] = {}
    _inject(monkeypatch, sim_bench, exc, at_call=FAIL_AT[bench_fixture], seen=seen)
    station = sim_station(sim_bench.resources, sim_bench.models)
    result = run_inspection(
        station,
        builtin_profile(),
        sweep_plan(sim_bench.config.topology),
        RunOptions(serial="EXC-1", output_dir=tmp_path),
    )
    assert seen["outputs"] == {"source": True, "dmm": False, "supply": True, "load": True}
    assert is_safe(sim_bench), (sim_bench.outputs_on(), sim_bench.levels())
    assert result.exit_code == 2
    record = result.record
    assert record.outcome == "aborted" and reason in record.abort_reason
    assert record.safe_state_verified and set(record.safe_state.values()) == {"verified"}
    assert record.step("accuracy").status == "aborted"
    readings = pd.read_csv(result.folder / "readings.csv")
    sweep = readings[readings["step"] == "accuracy"]
    assert len(sweep) == 5  # the five points measured before the failure are on disk
    html = (result.folder / "report.html").read_text(encoding="utf-8")
    assert "ABORTED" in html


def test_safety_envelope_refuses_before_the_instrument(tmp_path: Path, sim_bench: SimBench) -> None:
    """A plan asking for more than the station allows is refused; nothing exceeds the limit."""
    from procedures.steps.accuracy import AccuracyTraverse

    station = sim_station(sim_bench.resources, sim_bench.models)
    plan = [AccuracyTraverse(points_a=(0.0, 0.010, 0.035))]  # 35 mA > station's 30 mA
    result = run_inspection(
        station, builtin_profile(), plan, RunOptions(serial="ENV-1", output_dir=tmp_path)
    )
    assert result.exit_code == 2
    assert "refused source current 0.035 A" in result.record.abort_reason
    peak = sim_bench.instruments["source"].peak_current_a  # type: ignore[attr-defined]
    assert 0.0099 < peak <= 0.030  # the 10 mA point ran; 35 mA never reached the instrument
    assert is_safe(sim_bench)
