"""Input resistance, non-linearity and hysteresis against the simulated units' truth.

Units with a known bow, hysteresis and input resistance go through the shunt calibration (on
the shunt-scan bench), the terminal check, the input resistance and the accuracy traverse on
the in-process simulated bench. The truth is the unit's own parameter (input resistance,
hysteresis) or, for the non-linearity, the minimax and terminal deviations of the unit's true
calibration curve at the points the traverse visited (``tests/integration/truth.py`` per point,
the minimax line by ``scipy.optimize.linprog``): never the inspection's own code.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from bench import runner
from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig, sim_station
from procedures.plan import Step
from procedures.profile import builtin_profile
from procedures.steps.accuracy import AccuracyTraverse
from procedures.steps.input_resistance import InputResistance
from procedures.steps.shunt_calibration import ShuntCalibration
from procedures.steps.terminal_check import TerminalCheck
from tests.integration.truth import JudgedPoint, judged_points

UNITS = {
    "DER-BOW": {"bow_a": 8e-6, "hysteresis_a": 0.0, "input_resistance_ohm": 24.0},
    "DER-HYST": {"bow_a": 0.0, "hysteresis_a": 6e-6, "input_resistance_ohm": 41.0},
    "DER-BOTH": {"bow_a": -5e-6, "hysteresis_a": -3e-6, "input_resistance_ohm": 33.0},
    "DER-PLAIN": {"bow_a": 0.0, "hysteresis_a": 0.0, "input_resistance_ohm": 47.0},
}


def _minimax(x: np.ndarray, y: np.ndarray) -> float:
    ones = np.ones_like(x)
    a_ub = np.vstack([np.column_stack([-ones, -x, -ones]), np.column_stack([ones, x, -ones])])
    res = optimize.linprog(
        [0.0, 0.0, 1.0],
        A_ub=a_ub,
        b_ub=np.concatenate([-y, y]),
        bounds=[(None, None)] * 3,
        method="highs",
    )
    return float(res.x[2])


def _true_curve(points: list[JudgedPoint]) -> tuple[np.ndarray, np.ndarray]:
    by_set: dict[float, list[float]] = defaultdict(list)
    for p in points:
        by_set[p.set_a].append(p.true_a)
    sets = sorted(by_set)
    return np.array(sets), np.array([np.mean(by_set[s]) for s in sets])


def _run(out: Path, topology: str) -> dict[str, dict]:
    plan: list[Step] = [TerminalCheck(), InputResistance(), AccuracyTraverse()]
    if topology == "shunt-scan":
        plan.insert(0, ShuntCalibration())
    rows: dict[str, dict] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "render_reports", lambda folder: {})
        with SimBench(SimBenchConfig(serial="DER-0", topology=topology, seed=3)) as sim:
            station = sim_station(sim.resources, sim.models)
            for serial, overrides in UNITS.items():
                unit = sim.insert_unit(serial, {**overrides, "warmup_drift_a": 0.0})
                points: list[JudgedPoint] = []
                with judged_points(sim, points):
                    record = run_inspection(
                        station,
                        builtin_profile(),
                        plan,
                        RunOptions(
                            serial=serial,
                            output_dir=out,
                            bench_clock=lambda: sim.bench_time_s,
                            publish=False,
                            render=False,
                        ),
                    ).record
                assert record.outcome == "completed", record.abort_reason
                measured = {m.characteristic: m for m in record.measurements}
                x, y = _true_curve([p for p in points if p.characteristic == "transmission_error"])
                chord = y[0] + (y[-1] - y[0]) * (x - x[0]) / (x[-1] - x[0])
                terminal = (y - chord)[np.argmax(np.abs(y - chord))]
                rows[serial] = {
                    "measured": measured,
                    "true": {
                        "input_resistance": unit.params.input_resistance_ohm,
                        "hysteresis": unit.params.hysteresis_a,
                        "non_linearity": _minimax(x / 1e-3, y / 1e-6) * 1e-6,
                        "terminal_non_linearity": float(terminal),
                    },
                }
            assert sim.internal_errors() == []
    return rows


def check_derived_values_lie_within_their_u_of_the_truth(
    shunt_scan: dict[str, dict], characteristic: str
) -> None:
    # U is a 95 % interval: over four units allow one miss, but none beyond 1.5 U (~3 sigma)
    misses = []
    for serial, row in shunt_scan.items():
        m = row["measured"][characteristic]
        true = row["true"][characteristic]
        ratio = abs(m.value - true) / m.decision["U"]
        assert ratio <= 1.5, (serial, m.value, true, m.decision["U"])
        misses += [serial] if ratio > 1.0 else []
    assert len(misses) <= 1, misses


def check_the_input_resistance_budget_is_the_absolute_one(shunt_scan: dict[str, dict]) -> None:
    m = shunt_scan["DER-PLAIN"]["measured"]["input_resistance"]
    names = {c["name"] for c in m.budget["components"]}
    assert {
        "4-wire input voltage",
        "input current: input shunt tolerance",
        "input current: DMM voltage across the input shunt",
    } <= names
    # the shunt's +-0.01 % alone is 47 ohm x 1e-4 / sqrt 3 = 2.7 mohm
    shunt = next(c for c in m.budget["components"] if c["name"].endswith("shunt tolerance"))
    assert shunt["u"] == pytest.approx(47.0 * 1e-4 / np.sqrt(3.0), rel=2e-3)
    assert m.statement == "pass"


def test_shunt_scan_derived_values_and_input_resistance_against_the_truth(
    tmp_path: Path,
) -> None:
    """Every claim above from one bench run: one test item, so that pytest-xdist runs the
    simulated inspections once instead of once per worker that gets one of several tests."""
    shunt_scan = _run(tmp_path, "shunt-scan")
    for characteristic in (
        "input_resistance",
        "hysteresis",
        "non_linearity",
        "terminal_non_linearity",
    ):
        check_derived_values_lie_within_their_u_of_the_truth(shunt_scan, characteristic)
    check_the_input_resistance_budget_is_the_absolute_one(shunt_scan)


def test_direct_input_resistance_uses_the_source_read_back(tmp_path: Path) -> None:
    rows = _run(tmp_path, "direct")
    for serial, row in rows.items():
        m = row["measured"]["input_resistance"]
        names = {c["name"] for c in m.budget["components"]}
        assert "input current: source input-current read-back" in names
        true = row["true"]["input_resistance"]
        assert abs(m.value - true) <= 1.5 * m.decision["U"], (serial, m.value, true)
