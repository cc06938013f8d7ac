"""A healthy lot passes: 200 units drawn from the population model (bench/sim/population.toml),
each through the complete inspection on the simulated shunt-scan station, every one passes
(pass or conditional pass, as the decision rule allows) and no run crashes or aborts.

The units go through one simulated bench per chunk, swapped in with ``insert_unit`` as an
operator would (a bench per unit costs more than the inspection). The population's default
supply-current model is the DC/DC one; every other unit is switched to the linear variant so
both models of docs/metrology.md 6.4 are covered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import runner
from bench.runner import RunOptions, run_inspection
from bench.sim.bench import SimBench, SimBenchConfig, is_safe, sim_station
from bench.sim.population import healthy_serials
from procedures.plans import full_plan
from procedures.profile import builtin_profile

UNITS = 200
CHUNKS = 8  # spread over the xdist workers
SERIALS = healthy_serials(UNITS, prefix="HEALTHY")
PASSING = ("pass", "conditional pass")


@pytest.fixture(autouse=True)
def _no_html_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verdict comes from the record; rendering HTML for every run only costs time."""
    monkeypatch.setattr(runner, "render_reports", lambda folder: {})


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_a_healthy_lot_passes_the_full_inspection(tmp_path: Path, chunk: int) -> None:
    profile = builtin_profile()
    problems: list[str] = []
    serials = SERIALS[chunk::CHUNKS]
    with SimBench(SimBenchConfig(serial=serials[0], seed=100 + chunk)) as sim:
        station = sim_station(sim.resources, sim.models)
        for serial in serials:
            linear = SERIALS.index(serial) % 2 == 1
            sim.insert_unit(serial, {"supply_model": "linear"} if linear else None)
            result = run_inspection(
                station,
                profile,
                full_plan("shunt-scan"),
                RunOptions(
                    serial=serial,
                    output_dir=tmp_path,
                    bench_clock=lambda: sim.bench_time_s,
                    publish=False,
                    render=False,
                ),
            )
            record = result.record
            if record.outcome != "completed":
                problems.append(f"{serial}: {record.outcome}: {record.abort_reason}")
                continue
            if record.verdict not in PASSING or result.exit_code != 0:
                bad = {
                    name: statement
                    for name, statement in record.characteristic_statements().items()
                    if statement not in ("pass", "conditional pass", "informative")
                }
                problems.append(f"{serial}: {record.verdict}: {bad}")
            if not is_safe(sim) or not record.safe_state_verified:
                problems.append(f"{serial}: bench not safe after the run")
        assert sim.internal_errors() == []
    assert problems == [], "\n".join(problems)
