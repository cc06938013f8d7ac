"""Equivalent-time step capture against the simulated unit's true limit frequency.

The DMMs without a digitiser (Keithley 2000 on the shunt-scan bench, Keysight 34461A on the
direct bench) capture the step response by equivalent-time sampling (docs/equivalent-time.md).
Each unit goes through the terminal check and the step response through the real socket path;
the true f_c is the -3 dB frequency of the unit's own dynamics (tests/integration/truth.py).
The units: a ringing one (natural frequency 80 Hz, f_c below the 100 Hz limit), a slow one
(time constant x 1.3) and a ringing one above the limit (130 Hz).
"""

from __future__ import annotations

from pathlib import Path

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


def _inspect(topology: str, dmm: str, out) -> list[dict]:
    """Terminal check and step response of every unit on one bench; one row per step."""
    rows: list[dict] = []
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
    return rows


@pytest.mark.parametrize(("topology", "dmm"), BENCHES, ids=[dmm for _, dmm in BENCHES])
def test_equivalent_time_limit_frequency_against_the_truth(
    topology: str, dmm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "render_reports", lambda folder: {})
    rows = _inspect(topology, dmm, tmp_path)
    # every step was captured by equivalent time, and the record says so
    assert len(rows) == 2 * len(UNITS)
    assert all(r["note"].startswith("equivalent-time sampling: 181 repetitions") for r in rows)
    # the truth within the expanded uncertainty (k = 2: about 95 %; with six results at most
    # one outside), none beyond 1.5 U (a bias of half of U would show here), and U small
    # enough to decide: well below the 1 Hz distance to the limit
    ratios = [abs(r["fc"] - r["true_fc"]) / r["U_fc"] for r in rows]
    assert sum(q > 1.0 for q in ratios) <= 1, rows
    assert max(ratios) < 1.5, rows
    assert max(r["U_fc"] for r in rows) < 0.5
    # decisions follow the truth
    for r in rows:
        assert r["statement"] == ("fail" if r["true_fc"] < 100.0 else "pass"), r
