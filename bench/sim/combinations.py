"""Every registry model combination on the simulator: ``python -m bench.sim.combinations``.

For each topology and each assignment of simulated registry models to roles that the topology
can use (``drivers.registry.combinations``), one healthy simulated unit is inspected, and one
unit with the catalogue defect ``gain=0.003`` with a reduced plan (shunt calibration where the
topology has it, terminal check, accuracy traverse: the steps that judge the transmission error
the gain defect breaks). The healthy unit gets the full plan on a covering set of combinations
(every model of every role in at least one full run per topology) and the role plan (every role,
in less time; the step response only in the full runs) on the rest: with n models per role the
combinations grow as n^4, the full runs only as n. Prints one row per combination: verdicts,
modelled bench time of the healthy run and wall time. The integration test
``tests/integration/test_model_combinations.py`` asserts the same verdicts.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.sim.bench import SimBench, SimBenchConfig
from drivers import registry
from procedures.plan import Step

#: the verdicts a healthy unit may get (a plan without the topology's in-situ calibration has
#: the direct topology's specification budget, TUR < 1 at 20 mA: its passes are conditional)
PASSING = ("pass", "conditional pass")
FAILING = ("fail", "conditional fail")


@dataclass
class Inspected:
    verdict: str
    outcome: str
    bench_time_s: float
    wall_s: float
    failing: set[str]


def gain_plan(topology: str) -> list[Step]:
    """The reduced plan of the defect side: what judges the transmission error."""
    from procedures.plans import calibration_steps
    from procedures.steps.accuracy import AccuracyTraverse
    from procedures.steps.terminal_check import TerminalCheck

    return [*calibration_steps(topology), TerminalCheck(), AccuracyTraverse()]


def inspect(
    topology: str,
    models: dict[str, str],
    *,
    serial: str = "COMBO-0001",
    defects: list[str] | None = None,
    plan: list[Step] | None = None,
    out_dir: Path | None = None,
) -> Inspected:
    """One in-process inspection of a simulated unit on the given models (no reports)."""
    from bench.runner import Runner, RunRequest
    from procedures.plans import full_plan

    config = SimBenchConfig(
        serial=serial, topology=topology, models=models, defects=list(defects or [])
    )
    start = time.perf_counter()
    with SimBench(config) as sim:
        request = RunRequest(
            station=sim.station(),
            serial=serial,
            plan=plan if plan is not None else full_plan(topology),
            out_dir=out_dir or Path(tempfile.mkdtemp(prefix="isobench-combo-")),
            publish=False,
            render=False,
            bench_clock=lambda: sim.bench_time_s,
        )
        result = Runner(request).run()
        bench_time = sim.bench_time_s
        problems = sim.internal_errors()
    if problems:
        raise AssertionError(f"simulator internal errors: {problems}")
    record = result.record
    failing = {
        name
        for name, statement in record.characteristic_statements().items()
        if statement in FAILING
    }
    return Inspected(
        record.verdict, record.outcome, bench_time, time.perf_counter() - start, failing
    )


def role_plan(topology: str) -> list[Step]:
    """A shorter plan that still exercises every role in every combination: the source's set,
    read-back and digital line, the DMM's scanner or current input, the supply over its range
    and its read-back, the load's CR settings and read-back (shunt calibration, terminal check,
    supply current, accuracy, load effect; the direct topology's read-back calibration
    included). The step response (trigger output, digitiser or
    equivalent-time capture) is left to the full runs, where every model meets it at least once
    (``covering``): an equivalent-time capture repeats the step many times and would multiply
    the cost by the number of combinations."""
    from procedures.plans import calibration_steps
    from procedures.steps.accuracy import AccuracyTraverse
    from procedures.steps.influence import LoadEffect
    from procedures.steps.supply_current import SupplyCurrent
    from procedures.steps.terminal_check import TerminalCheck

    return [
        *calibration_steps(topology),
        TerminalCheck(),
        SupplyCurrent(),
        AccuracyTraverse(),
        LoadEffect(),
    ]


def all_combinations() -> list[tuple[str, dict[str, str]]]:
    return [(t, combo) for t in registry.TOPOLOGIES for combo in registry.combinations(t)]


def covering(combinations: list[tuple[str, dict[str, str]]]) -> list[int]:
    """Indices of few combinations in which every (topology, role, model) appears at least once,
    the reference bench of each topology first, then greedily the combination that adds the
    most models not yet covered: these run the full plan (with n models per role, n runs per
    topology)."""

    def elements(i: int) -> set[tuple[str, str, str]]:
        topology, models = combinations[i]
        return {(topology, role, name) for role, name in models.items()}

    chosen = [
        i
        for i, (topology, models) in enumerate(combinations)
        if models == registry.DEFAULT_MODELS[topology]
    ]
    seen: set[tuple[str, str, str]] = set().union(*(elements(i) for i in chosen))
    while True:
        gains = [(len(elements(i) - seen), -i) for i in range(len(combinations))]
        gain, negative = max(gains, default=(0, 0))
        if gain == 0:
            return sorted(chosen)
        chosen.append(-negative)
        seen |= elements(-negative)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sim.combinations", description=__doc__)
    parser.add_argument(
        "--all-full",
        action="store_true",
        help="the full plan for every combination (default: for a covering set, the others "
        "run the role plan, as the integration test does)",
    )
    args = parser.parse_args(argv)
    print(
        f"{'topology':<11} {'source':<14} {'dmm':<17} {'supply':<18} {'load':<18} "
        f"{'plan':<5} {'healthy':<17} {'bench s':>8} {'gain=0.003':<11} {'wall s':>7}"
    )
    combinations = all_combinations()
    full = set(covering(combinations))
    for i, (topology, models) in enumerate(combinations):
        plan = None if args.all_full or i in full else role_plan(topology)
        healthy = inspect(topology, models, plan=plan)
        defect = inspect(
            topology, models, serial="COMBO-0002", defects=["gain=0.003"], plan=gain_plan(topology)
        )
        print(
            f"{topology:<11} {models['source']:<14} {models['dmm']:<17} {models['supply']:<18} "
            f"{models['load']:<18} {'full' if plan is None else 'role':<5} "
            f"{healthy.verdict:<17} {healthy.bench_time_s:8.1f} "
            f"{defect.verdict:<11} {healthy.wall_s + defect.wall_s:7.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
