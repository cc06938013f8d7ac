"""First-order recursive (AR(1)) filter in numpy: the simulator's correlated noise.

``ar1(e, phi, start)`` is ``y[k] = phi * y[k-1] + e[k]`` with ``y[-1] = start``, exactly what
``scipy.signal.lfilter([1], [1, -phi], e, zi=[phi * start])`` returns (tests/sim/test_ar1.py
compares the two). Written out because importing scipy.signal for this one recursion costs
about 0.3 s of every simulated inspection's start-up (``python -m bench.benchmark``).

Closed form per block: ``y[k] = phi**k * (phi * y0 + sum_{i<=k} e[i] / phi**i)``; blocks are
short enough that ``phi**-i`` stays below e**300 (no overflow), and each block starts from the
previous block's last value.
"""

from __future__ import annotations

import math

import numpy as np

from procedures.model import FloatArray

_MAX_EXPONENT = 300.0  # phi**-i <= e**300 inside a block
_NEGLIGIBLE_PHI = 1e-8  # phi**2 below 1e-16: one term of memory is exact to rounding


def ar1(innovations: FloatArray, phi: float, start: float) -> FloatArray:
    """The AR(1) recursion over ``innovations`` from ``y[-1] = start`` (0 <= phi < 1)."""
    e = np.asarray(innovations, dtype=float)
    n = e.size
    if n == 0:
        return e.copy()
    if phi < _NEGLIGIBLE_PHI:
        previous = np.concatenate(([start], e[:-1]))
        return e + phi * previous
    block = max(1, min(n, int(_MAX_EXPONENT / -math.log(phi))))
    powers = phi ** np.arange(block)
    out = np.empty(n)
    last = start
    for first in range(0, n, block):
        part = e[first : first + block]
        p = powers[: part.size]
        y = p * (phi * last + np.cumsum(part / p))
        out[first : first + part.size] = y
        last = y[-1]
    return out
