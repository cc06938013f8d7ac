from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.sim.bench import SimBench, SimBenchConfig


@pytest.fixture
def sim_bench() -> Iterator[SimBench]:
    """A simulated bench on ephemeral localhost ports, stopped after the test."""
    bench = SimBench(SimBenchConfig(serial="TEST-0001", seed=1)).start()
    try:
        yield bench
    finally:
        bench.stop()
