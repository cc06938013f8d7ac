"""The direct simulated bench with the Rigol DP821 supply and DL3021 load (tests only)."""

from __future__ import annotations

from bench.sim.bench import SimBench, SimBenchConfig

RIGOL_MODELS = {"supply": "rigol-dp821", "load": "rigol-dl3021"}


def rigol_bench(serial: str) -> SimBench:
    """The direct simulated bench with the Rigol supply and load (registry models; not
    started)."""
    return SimBench(SimBenchConfig(topology="direct", serial=serial, models=RIGOL_MODELS))
