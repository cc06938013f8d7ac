"""The simulator's numpy AR(1) filter against scipy.signal.lfilter (a third-party reference)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from bench.sim.ar1 import ar1


@pytest.mark.parametrize("phi", [0.0, 1e-9, 0.01, 0.5, 0.9, 0.98746, 0.999, 0.999999])
@pytest.mark.parametrize("n", [0, 1, 7, 5000])
def test_ar1_matches_lfilter(phi: float, n: int) -> None:
    rng = np.random.default_rng(11)
    e = rng.normal(0.0, 1e-7, n)
    start = 3e-7
    expected = lfilter([1.0], [1.0, -phi], e, zi=[phi * start])[0] if n else e
    got = ar1(e, phi, start)
    assert got.shape == (n,)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-21)


def test_ar1_long_memory_crosses_blocks() -> None:
    """phi near 1 with more samples than one block holds: the state carries over."""
    phi = float(np.exp(-1e-3))  # block of 300 000 samples; use a shorter-block phi as well
    for p in (phi, 0.5):
        e = np.random.default_rng(3).normal(size=200_000)
        np.testing.assert_allclose(
            ar1(e, p, 1.0), lfilter([1.0], [1.0, -p], e, zi=[p])[0], rtol=1e-9, atol=1e-12
        )
