"""The direct simulated bench with the Rigol DP821 supply and DL3021 load (tests only)."""

from __future__ import annotations

from bench.sim.bench import SimBench, SimBenchConfig
from bench.sim.instruments.rigol_dl3021 import RigolDL3021
from bench.sim.instruments.rigol_dp821 import RigolDP821


def rigol_bench(serial: str) -> SimBench:
    """The direct simulated bench with the Rigol supply and load in place of the Keysights
    (not started)."""
    bench = SimBench(SimBenchConfig(topology="direct", serial=serial))
    bench.instruments["supply"] = RigolDP821(bench.world)
    bench.instruments["load"] = RigolDL3021(bench.world)
    bench.models.update(supply="rigol-dp821", load="rigol-dl3021")
    return bench
