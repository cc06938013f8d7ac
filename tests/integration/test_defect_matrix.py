"""Detection matrix: for every defect of the catalogue (bench/sim/defects.toml), a full in-process
inspection on the simulated shunt-scan station fails, and it fails exactly where the catalogue
says: every characteristic in ``trips`` fails, nothing outside ``trips`` + ``may_trip`` does.

The catalogue is data; this test keeps it honest. Each run is reproducible (serial and bench
seed fixed), so a random defect (drop-outs, noise) is tested on one fixed realisation here; the
catalogue's ``may_trip`` says where else chance can make it fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import runner
from bench.runner import RunResult
from bench.sim.bench import SimBench, SimBenchConfig
from bench.sim.defects import apply_defects, catalogue, parse_defect, resolve
from bench.sim.population import make_unit
from procedures.profile import builtin_profile
from tests.helpers import FAILING, failing_characteristics, inspect_simulated


@pytest.fixture(autouse=True)
def _no_html_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict comes from the record; rendering HTML for every run only costs time."""
    monkeypatch.setattr(runner, "render_reports", lambda folder: {})


def inspect(tmp_path: Path, config: SimBenchConfig) -> tuple[RunResult, SimBench]:
    return inspect_simulated(tmp_path, config)


def failing(result: RunResult) -> set[str]:
    return failing_characteristics(result)


@pytest.mark.parametrize("name", list(catalogue()))
def test_every_defect_fails_the_inspection_where_the_catalogue_says(
    tmp_path: Path, name: str
) -> None:
    entry = catalogue()[name]
    config = SimBenchConfig(serial=f"MATRIX-{name}", seed=17, defects=[(name, None)])
    result, sim = inspect(tmp_path, config)
    record = result.record
    assert sim.unit.defects == {name: entry.severity_default}
    # a defect is a finding, never a crash: the plan completes, or a gate stops it
    assert record.outcome in ("completed", "stopped"), record.abort_reason
    found = failing(result)
    assert set(entry.trips) <= found, f"{name}: catalogue trips {entry.trips}, failing {found}"
    allowed = set(entry.trips) | set(entry.may_trip)
    assert found <= allowed, f"{name}: fails {found - allowed} too; the catalogue must say so"
    if entry.detected == "conditional":  # never a clean PASS, and the record says why
        assert record.verdict != "pass", name
        assert any("uncertainty target" in note for note in record.notes), record.notes
        return
    assert found, name
    assert record.verdict in FAILING and result.exit_code == 1


def test_a_drop_out_in_the_step_capture_is_a_finding_not_an_abort(tmp_path: Path) -> None:
    config = SimBenchConfig(serial="DROPOUT-6", seed=3, defects=[("intermittent", 10.0)])
    result, _ = inspect(tmp_path, config)
    reason = result.record.abort_reason or ""
    assert "no usable step" not in reason, reason
    assert result.record.outcome in ("completed", "stopped"), reason


# ---------------------------------------------------------------------- the catalogue as data
def test_the_catalogue_names_judged_characteristics_and_sane_severities() -> None:
    profile = builtin_profile()
    judged = {n for n, c in profile.characteristics.items() if c.rule != "informative"}
    assert len(catalogue()) >= 15
    for entry in catalogue().values():
        assert set(entry.trips) | set(entry.may_trip) <= judged, entry.name
        assert entry.trips or entry.may_trip, entry.name
        low, high = entry.severity_range
        assert low <= entry.severity_default <= high, entry.name
        assert entry.description and entry.source and entry.effect and entry.severity_unit
        assert entry.failure_mode, entry.name
    # the list, one entry each
    assert {
        "dead_output",
        "gain",
        "offset",
        "non_linearity",
        "hysteresis",
        "slow_response",
        "ringing",
        "high_input_resistance",
        "excess_supply_current",
        "early_compliance",
        "supply_sensitive",
        "intermittent",
        "clamp_too_low",
        "noisy_output",
        "warm_up_drift",
    } <= set(catalogue())


def test_defects_are_selected_by_name_with_an_optional_severity() -> None:
    assert parse_defect("gain") == ("gain", 0.003)
    assert parse_defect("gain=0.004") == ("gain", 0.004)
    assert parse_defect("Dead-Output") == ("dead_output", 0.0)
    with pytest.raises(ValueError, match="did you mean 'gain'"):
        parse_defect("gian=0.003")
    with pytest.raises(ValueError, match="not a number"):
        parse_defect("gain=big")
    with pytest.raises(ValueError, match="outside"):
        parse_defect("slow_response=0.5")
    assert resolve([("offset", None), "clamp_too_low=0.0201"]) == [
        ("offset", 50e-6),
        ("clamp_too_low", 0.0201),
    ]


def test_defects_apply_to_a_unit_or_to_an_overrides_dict() -> None:
    overrides: dict = {}
    apply_defects(overrides, [("gain", 0.004), ("slow_response", 2.0)])
    assert overrides["gain_error"] == 0.004
    assert overrides["tau_s"] == pytest.approx(2.0 * 1.0 / (2 * 3.141592653589793 * 100.0))
    with pytest.raises(ValueError, match="SimulatedUnit"):
        apply_defects({}, [("intermittent", None)])
    healthy = make_unit("APPLY-1")
    unit = make_unit("APPLY-1", defects=[("excess_supply_current", None), ("intermittent", 2.0)])
    extra = unit.model.supply_current_a(0.02, 24.0) - healthy.model.supply_current_a(0.02, 24.0)
    assert extra == pytest.approx(15e-3)
    assert len(unit.gates) == 1 and unit.defects == {
        "excess_supply_current": 0.015,
        "intermittent": 2.0,
    }
    # the rest of the unit keeps its healthy spread
    assert unit.params.gain_error == healthy.params.gain_error
    linear = make_unit("APPLY-1", {"supply_model": "linear"}, defects=["excess_supply_current"])
    base = make_unit("APPLY-1", {"supply_model": "linear"})
    assert linear.model.supply_current_a(0.02, 16.8) - base.model.supply_current_a(
        0.02, 16.8
    ) == pytest.approx(15e-3)


def test_insert_unit_takes_defects_and_the_config_takes_strings() -> None:
    sim = SimBench(SimBenchConfig(serial="CFG-1", defects=["gain=0.002"]))
    assert sim.config.defects == [("gain", 0.002)]
    assert sim.unit.params.gain_error == 0.002
    unit = sim.insert_unit("CFG-2", defects=[("clamp_too_low", None)])
    assert sim.unit is unit and unit.serial == "CFG-2" and unit.params.clamp_a == 20.1e-3
