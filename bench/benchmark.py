"""Rerunnable benchmark: ``python -m bench.benchmark [--repeats N]``.

Measures, in one run and on this machine, what the controller's performance claims rest on:

1. write-then-query round trips through pyvisa-py to the simulated bench with Nagle's algorithm
   on (pyvisa-py's default) and off (isobench's transport sets TCP_NODELAY);
2. a full simulated incoming inspection (shunt-scan station) wall time, both ways, and its
   modelled bench time against the plan's physical lower bound.

Reports medians and the ratio against the baseline (Nagle on) measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def nagle(enabled: bool) -> Iterator[None]:
    """Baseline switch: with ``enabled`` the transport leaves pyvisa-py's default (Nagle on)."""
    import drivers.transport as transport

    original = transport._disable_nagle
    if enabled:
        transport._disable_nagle = lambda resource: None
    try:
        yield
    finally:
        transport._disable_nagle = original


def round_trips(pairs: int) -> float:
    """Seconds per write + query pair against one simulated instrument."""
    from bench.sim.bench import SimBench
    from drivers.transport import VisaTransport

    with SimBench() as sim:
        link = VisaTransport(sim.resources["supply"], name="benchmark")
        try:
            start = time.perf_counter()
            for _ in range(pairs):
                link.write("VOLT 1")
                link.query("VOLT?")
            return (time.perf_counter() - start) / pairs
        finally:
            link.close()


def inspection() -> tuple[float, float, float]:
    """(wall seconds, modelled bench seconds, lower bound seconds) of one full inspection."""
    from bench.runner import RunOptions, run_inspection
    from bench.sim.bench import SimBench, SimBenchConfig, sim_station
    from procedures.plans import full_plan
    from procedures.profile import builtin_profile

    with tempfile.TemporaryDirectory() as out, SimBench(SimBenchConfig(serial="BENCH-1")) as sim:
        station = sim_station(sim.resources, sim.models)
        start = time.perf_counter()
        result = run_inspection(
            station,
            builtin_profile(),
            full_plan(station.station.topology),
            RunOptions(
                serial="BENCH-1",
                output_dir=Path(out),
                publish=False,
                bench_clock=lambda: sim.bench_time_s,
            ),
        )
        wall = time.perf_counter() - start
    record = result.record
    return wall, record.bench_time_s or 0.0, record.lower_bound_s or 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.benchmark", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per variant")
    parser.add_argument("--pairs", type=int, default=100, help="write+query pairs per repetition")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, list[float]]] = {}
    for label, nagle_on in (("baseline: Nagle on", True), ("isobench: TCP_NODELAY", False)):
        with nagle(nagle_on):
            rt = [round_trips(args.pairs) for _ in range(args.repeats)]
            runs = [inspection() for _ in range(args.repeats)]
        results[label] = {
            "pair_s": rt,
            "wall_s": [r[0] for r in runs],
            "bench_s": [r[1] for r in runs],
            "bound_s": [r[2] for r in runs],
        }

    base = results["baseline: Nagle on"]
    for label, r in results.items():
        pair = statistics.median(r["pair_s"])
        wall = statistics.median(r["wall_s"])
        bench = statistics.median(r["bench_s"])
        bound = statistics.median(r["bound_s"])
        print(f"{label}")
        print(
            f"  write+query pair   {pair * 1e3:8.3f} ms   ratio to baseline "
            f"{pair / statistics.median(base['pair_s']):6.3f}"
        )
        print(
            f"  full inspection    {wall:8.2f} s    ratio to baseline "
            f"{wall / statistics.median(base['wall_s']):6.3f}"
        )
        print(
            f"  modelled bench time {bench:7.2f} s, physical lower bound {bound:.2f} s, "
            f"ratio {bench / bound if bound else float('nan'):.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
