"""Every combination of registry models valid for a topology, on the simulator: a healthy unit
passes the full plan, a ``gain=0.003`` unit fails (reduced plan: the steps that judge the
transmission error). The models come from the registry, so a new model is in here as soon as
its entry is (``python -m bench.sim.combinations`` prints the same runs as a table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.sim.combinations import (
    PASSING,
    all_combinations,
    covering,
    gain_plan,
    inspect,
    role_plan,
)

COMBINATIONS = all_combinations()
FULL = set(covering(COMBINATIONS))
CASES = [(t, m, i in FULL) for i, (t, m) in enumerate(COMBINATIONS)]
IDS = [f"{t}:{'+'.join(m.values())}:{'full' if full else 'role'}" for t, m, full in CASES]


@pytest.mark.parametrize(("topology", "models", "full"), CASES, ids=IDS)
def test_healthy_unit_passes_and_gain_defect_fails(
    tmp_path: Path, topology: str, models: dict[str, str], full: bool
) -> None:
    plan = None if full else role_plan(topology)
    healthy = inspect(topology, models, serial="COMBO-OK", plan=plan, out_dir=tmp_path / "ok")
    assert healthy.outcome == "completed"
    assert healthy.verdict in PASSING, (healthy.verdict, healthy.failing)
    defect = inspect(
        topology,
        models,
        serial="COMBO-GAIN",
        defects=["gain=0.003"],
        plan=gain_plan(topology),
        out_dir=tmp_path / "gain",
    )
    assert defect.outcome == "completed"
    assert defect.verdict == "fail"
    assert "transmission_error" in defect.failing


def test_every_model_runs_the_full_plan_somewhere() -> None:
    assert {t for t, _ in COMBINATIONS} == {"shunt-scan", "direct"}
    for topology in ("shunt-scan", "direct"):
        everything = {(r, n) for t, m in COMBINATIONS if t == topology for r, n in m.items()}
        full = {(r, n) for t, m, f in CASES if f and t == topology for r, n in m.items()}
        assert full == everything
