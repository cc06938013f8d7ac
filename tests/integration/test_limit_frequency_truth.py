"""Limit frequency and dead time against the simulated unit's truth: resonant and slow units.

Each unit goes through the terminal check and the step response on the in-process simulated
bench. The true f_c is the -3 dB frequency of the unit's own dynamics computed with
scipy.signal (tests/integration/truth.py); the true dead time is the unit's parameter. The
ringing units (resonant second-order stage, natural frequency 60 ... 150 Hz; two of them land
1.4 Hz below and 1.5 Hz above the limit) and the slow units (time constant x 1.3 ... 3.5) are
fixed here, so the run is reproducible; their true f_c stay at least 1 Hz away from the 100 Hz
limit. ``python -m tests.integration.test_limit_frequency_truth`` prints the table of
docs/metrology.md section 5.5.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bench import runner
from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig, sim_station
from procedures.profile import builtin_profile
from procedures.steps.step_response import StepResponse
from procedures.steps.terminal_check import TerminalCheck
from tests.integration.truth import true_limit_frequency_hz

RINGING_HZ = (60.0, 70.0, 80.0, 90.0, 95.0, 100.0, 105.0, 115.0, 130.0, 150.0)
SLOW_FACTORS = (1.3, 1.8, 2.5, 3.5)
UNITS = [(f"RING-{f:.0f}", ("ringing", f)) for f in RINGING_HZ] + [
    (f"SLOW-{k:.1f}", ("slow_response", k)) for k in SLOW_FACTORS
]


def measure(out: Path) -> list[dict]:
    """(truth, measurement) per unit and step direction, from one bench."""
    rows: list[dict] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "render_reports", lambda folder: {})
        with SimBench(SimBenchConfig(serial="FC-TRUTH", seed=29)) as sim:
            station = sim_station(sim.resources, sim.models)
            for serial, defect in UNITS:
                unit = sim.insert_unit(serial, defects=[defect])
                record = run_inspection(
                    station,
                    builtin_profile(),
                    [TerminalCheck(), StepResponse()],
                    RunOptions(
                        serial=serial,
                        output_dir=out,
                        bench_clock=lambda: sim.bench_time_s,
                        publish=False,
                        render=False,
                    ),
                ).record
                by_char: dict[tuple[str, str], object] = {
                    (m.characteristic, m.conditions["direction"]): m
                    for m in record.measurements
                    if m.step == "step_response"
                }
                for direction in ("up", "down"):
                    fc = by_char[("limit_frequency", direction)]
                    td = by_char[("dead_time", direction)]
                    rows.append(
                        {
                            "serial": serial,
                            "direction": direction,
                            "true_fc": true_limit_frequency_hz(unit),
                            "fc": fc.value,  # type: ignore[attr-defined]
                            "U_fc": fc.decision["U"],  # type: ignore[attr-defined]
                            "statement": fc.statement,  # type: ignore[attr-defined]
                            "true_td": unit.params.dead_time_s,
                            "td": td.value,  # type: ignore[attr-defined]
                            "U_td": td.decision["U"],  # type: ignore[attr-defined]
                        }
                    )
            assert sim.internal_errors() == []
    return rows


def table(rows: list[dict]) -> str:
    """The f_c and dead-time table of docs/metrology.md section 5.5 (Markdown)."""
    lines = [
        "| unit | step | true f_c / Hz | reported f_c / Hz | U(f_c) / Hz | covered | statement "
        "| true t_d / us | reported t_d / us | U(t_d) / us |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        covered = "yes" if abs(r["fc"] - r["true_fc"]) <= r["U_fc"] else "NO"
        lines.append(
            f"| {r['serial']} | {r['direction']} | {r['true_fc']:.2f} | {r['fc']:.2f} "
            f"| {r['U_fc']:.2f} | {covered} | {r['statement']} | {r['true_td'] * 1e6:.1f} "
            f"| {r['td'] * 1e6:.1f} | {r['U_td'] * 1e6:.1f} |"
        )
    return "\n".join(lines)


def check_the_test_units_are_what_they_claim(results: list[dict]) -> None:
    truths = sorted({round(r["true_fc"], 1) for r in results})
    assert min(truths) < 35.0 and max(truths) > 120.0  # slow and resonant, both sides of 100
    assert all(abs(f - 100.0) >= 1.0 for f in truths)


def check_true_limit_frequency_lies_within_the_reported_u(results: list[dict]) -> None:
    covered = [abs(r["fc"] - r["true_fc"]) <= r["U_fc"] for r in results]
    assert sum(covered) / len(covered) >= 0.95, [
        r for r, ok in zip(results, covered, strict=True) if not ok
    ]


def check_no_unit_below_100_hz_passes_on_limit_frequency(results: list[dict]) -> None:
    wrong = [
        r
        for r in results
        if r["true_fc"] < 100.0 and r["statement"] in ("pass", "conditional pass")
    ]
    assert wrong == []
    # and the units above the limit are not failed either
    assert not [r for r in results if r["true_fc"] > 101.0 and r["statement"] == "fail"]


def check_dead_time_lies_within_its_u(results: list[dict]) -> None:
    covered = [abs(r["td"] - r["true_td"]) <= r["U_td"] for r in results]
    assert sum(covered) / len(covered) >= 0.95, [
        r for r, ok in zip(results, covered, strict=True) if not ok
    ]
    # the samples are placed at their aperture centre: no early bias of half an aperture
    errors = [r["td"] - r["true_td"] for r in results]
    assert abs(sum(errors) / len(errors)) < 2e-6


def test_limit_frequency_and_dead_time_against_the_truth(tmp_path: Path) -> None:
    """Every claim above from one bench run: one test item, so that pytest-xdist runs the
    simulated inspections once instead of once per worker that gets one of several tests."""
    results = measure(tmp_path)
    check_the_test_units_are_what_they_claim(results)
    check_true_limit_frequency_lies_within_the_reported_u(results)
    check_no_unit_below_100_hz_passes_on_limit_frequency(results)
    check_dead_time_lies_within_its_u(results)


if __name__ == "__main__":  # python -m tests.integration.test_limit_frequency_truth
    with tempfile.TemporaryDirectory() as folder:
        print(table(measure(Path(folder))))
