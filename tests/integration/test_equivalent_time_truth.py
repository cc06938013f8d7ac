"""Equivalent-time step capture against the simulated unit's true limit frequency.

The DMMs without a digitiser (Keithley 2000 on the shunt-scan bench, Keysight 34461A on the
direct bench) capture the step response by equivalent-time sampling (docs/equivalent-time.md).
Each unit goes through the terminal check and the step response through the real socket path;
the true f_c is the -3 dB frequency of the unit's own dynamics (tests/integration/truth.py).
The units: a ringing one (natural frequency 80 Hz, f_c below the 100 Hz limit), a slow one
(time constant x 1.3) and a ringing one above the limit (130 Hz).
"""

from __future__ import annotations

import pytest

from bench import runner
from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig
from procedures.profile import builtin_profile
from procedures.steps.step_response import StepResponse
from procedures.steps.terminal_check import TerminalCheck
from tests.integration.truth import true_limit_frequency_hz

UNITS = [
    ("ET-RING-80", ("ringing", 80.0)),
    ("ET-SLOW-1.3", ("slow_response", 1.3)),
    ("ET-RING-130", ("ringing", 130.0)),
]
BENCHES = [("shunt-scan", "keithley2000"), ("direct", "keysight34461a")]


@pytest.fixture(scope="module", params=BENCHES, ids=[dmm for _, dmm in BENCHES])
def results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    topology, dmm = request.param
    out = tmp_path_factory.mktemp(f"et-{dmm}")
    rows: list[dict] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "render_reports", lambda folder: {})
        config = SimBenchConfig(serial="ET-TRUTH", seed=31, topology=topology, models={"dmm": dmm})
        with SimBench(config) as sim:
            station = sim.station()
            for serial, defect in UNITS:
                unit = sim.insert_unit(serial, defects=[defect])
                start = sim.bench_time_s
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
                for m in record.measurements:
                    if m.step == "step_response" and m.characteristic == "limit_frequency":
                        rows.append(
                            {
                                "serial": serial,
                                "direction": m.conditions["direction"],
                                "true_fc": true_limit_frequency_hz(unit),
                                "fc": m.value,
                                "U_fc": m.decision["U"],
                                "statement": m.statement,
                                "note": m.note,
                                "bench_s": sim.bench_time_s - start,
                            }
                        )
            assert sim.internal_errors() == []
    return {"dmm": dmm, "rows": rows}


def test_every_step_was_captured_by_equivalent_time(results: dict) -> None:
    rows = results["rows"]
    assert len(rows) == 2 * len(UNITS)
    assert all(r["note"].startswith("equivalent-time sampling: 181 repetitions") for r in rows)


def test_true_limit_frequency_lies_within_the_reported_u(results: dict) -> None:
    rows = results["rows"]
    outside = [r for r in rows if abs(r["fc"] - r["true_fc"]) > r["U_fc"]]
    assert not outside, outside
    # and the uncertainty is small enough to decide: well below the 1 Hz distance to the limit
    assert max(r["U_fc"] for r in rows) < 1.0


def test_decisions_follow_the_truth(results: dict) -> None:
    for r in results["rows"]:
        expected = "fail" if r["true_fc"] < 100.0 else "pass"
        assert r["statement"] == expected, r
