"""Capabilities, not model checks: a station whose models lack what a step needs is told so by
``isobench check`` and refused by ``isobench inspect`` before anything is switched on, in one
line naming the step and the missing capability.

The stations here use registry variants of the simulated models with a capability taken away
(registered for the test only): the same mechanism a real model without, say, a trigger output
meets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import cli
from bench.check import NOT_READY
from bench.plan_check import capability_problems
from bench.sim.bench import SimBench, SimBenchConfig
from drivers import capabilities as cap
from drivers import registry
from procedures.plan import PlanSettings
from procedures.plans import full_plan
from tests.helpers import station_file


def _variant(base: str, name: str, **changes: float | None) -> registry.Model:
    """``base`` under a new name, with capabilities removed (None) or changed."""
    model = registry.get(base)
    caps = {k: v for k, v in model.capabilities.items() if changes.get(k, v) is not None}
    caps.update({k: v for k, v in changes.items() if v is not None})
    return dataclasses.replace(model, name=name, capabilities=caps)


@pytest.fixture
def variants() -> Iterator[None]:
    added = [
        _variant("keithley2450", "test-source-no-trigger", **{cap.TRIGGER_OUT: None}),
        _variant("keysight34465a", "test-dmm-slow-digitiser", **{cap.DIGITISER: 10e3}),
    ]
    for model in added:
        registry.register(model)
    try:
        yield
    finally:
        for model in added:
            registry.unregister(model.name)


def _station(tmp_path: Path, sim: SimBench, **models: str) -> Path:
    return station_file(tmp_path / "station.toml", sim.resources, {**sim.models, **models})


def test_check_names_the_step_and_the_missing_capability(
    tmp_path: Path, variants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with SimBench(SimBenchConfig(serial="CAP-1", topology="direct")) as sim:
        path = _station(tmp_path, sim, source="test-source-no-trigger")
        code = cli.main(["check", "--station", str(path)])
    out, err = capsys.readouterr()
    assert code == NOT_READY
    expected = (
        "the step_response step needs a trigger output (step and trigger pulse in one "
        "message) on the source (test-source-no-trigger has none)"
    )
    assert expected in out  # the check's own listing
    (line,) = err.strip().splitlines()
    assert line.startswith("isobench: error: station not ready: station file ") and expected in line


def test_inspect_refuses_before_anything_is_switched_on(
    tmp_path: Path, variants: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before the first instrument message: the simulated clock never moved (every
    message the simulator processes costs modelled time), no output was on, no run folder."""
    out_dir = tmp_path / "runs"
    with SimBench(SimBenchConfig(serial="CAP-2", topology="direct")) as sim:
        path = _station(tmp_path, sim, dmm="test-dmm-slow-digitiser")
        code = cli.main(
            ["inspect", "--station", str(path), "--serial", "CAP-2", "--out", str(out_dir)]
        )
        assert sim.bench_time_s == 0.0
        assert not any(sim.outputs_on().values())
    _, err = capsys.readouterr()
    assert code != 0
    (line,) = err.strip().splitlines()
    # the need and its alternative (equivalent-time sampling), and what the model has
    assert (
        "the step_response step needs a digitiser of >= 50 kS/s on the dmm and an external "
        "trigger input on the dmm or delayed readings on an external trigger (equivalent-time "
        "sampling) on the dmm (test-dmm-slow-digitiser has 10 kS/s)" in line
    )
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_a_plan_without_the_step_runs_on_the_same_station(tmp_path: Path, variants: None) -> None:
    """The need belongs to the step, not to the station: the sweep plan has no step response."""
    from bench.runner import Runner, RunRequest
    from procedures.plans import sweep_plan

    with SimBench(SimBenchConfig(serial="CAP-3", topology="direct")) as sim:
        path = _station(tmp_path, sim, source="test-source-no-trigger")
        request = RunRequest(
            station=str(path),
            serial="CAP-3",
            plan="sweep",
            out_dir=tmp_path / "runs",
            publish=False,
            render=False,
        )
        result = Runner(request).run()
    assert result.record.outcome == "completed"
    from bench.station import load_station

    station = load_station(path)
    assert capability_problems(station, sweep_plan("direct"), PlanSettings()) == []
    assert len(capability_problems(station, full_plan("direct"), PlanSettings())) == 1


def test_digital_lines_follow_the_station_wiring(tmp_path: Path) -> None:
    """The bypass relay's line is station wiring: a source with fewer lines is refused for the
    shunt calibration, naming the step (the Keithley 2450 has 6 digital lines)."""
    from bench.station import load_station

    with SimBench(SimBenchConfig(serial="CAP-4", topology="shunt-scan")) as sim:
        path = _station(tmp_path, sim)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n[wiring]\nbypass_line = 6\n", encoding="utf-8")
    assert capability_problems(load_station(path), full_plan("shunt-scan"), PlanSettings()) == []
    station = load_station(path)
    station.instruments["source"].model = "test-source-4-lines"
    registry.register(_variant("keithley2450", "test-source-4-lines", **{cap.DIGITAL_OUT: 4}))
    try:
        (problem,) = capability_problems(station, full_plan("shunt-scan"), PlanSettings())
    finally:
        registry.unregister("test-source-4-lines")
    assert problem.endswith(
        "the shunt_calibration step needs digital output lines for fixture relays with >= 6 "
        "lines on the source (test-source-4-lines has 4 lines)"
    )


def test_a_dmm_without_a_digitiser_runs_the_step_by_equivalent_time() -> None:
    """The Keithley 2000 and the 34461A have no digitiser but triggered readings: the plan
    check accepts them for the step response (the other way to measure it)."""
    from bench.sim.bench import sim_station

    for topology, dmm in (("shunt-scan", "keithley2000"), ("direct", "keysight34461a")):
        models = {**registry.DEFAULT_MODELS[topology], "dmm": dmm}
        resources = {
            role: f"TCPIP0::127.0.0.1::{5025 + i}::SOCKET" for i, role in enumerate(models)
        }
        station = sim_station(resources, models, topology=topology)
        assert not registry.get(dmm).has(cap.DIGITISER)
        assert capability_problems(station, full_plan(topology), PlanSettings()) == []
