"""Zero drift of a simulated DMM that reads with autozero off (docs/metrology.md 4.1).

With autozero off a DMM subtracts the zero it measured last (at ``ZERO:AUTO ONCE``,
``:AZERo:ONCE``, or when autozero was switched off); its internal offsets then move away from
that zero with temperature and time. The data sheets bound the added error inside a validity
window (``+-1 degC``, ``< 10 minutes``: the autozero-off figures of docs/metrology.md 4.1);
beyond it nothing is promised.

The model: after each zero the offset drifts linearly at a rate drawn afresh, reaching
``RATE_PER_HOLD`` (0.2 ... 0.4, random sign) of the model's autozero-off figure after one
validity window, so readings inside the window stay well within the figure and a controller that
never re-zeroes sees the error grow past it after 2.5 ... 5 windows, up to ``CAP_HOLDS`` windows
(a thermal drift does not grow without bound). Rates are drawn from an rng seeded by the world's
seed and the instrument's serial: deterministic, and independent of the world's noise stream.
"""

from __future__ import annotations

import numpy as np

from bench.sim.errors_model import seeded_rng

RATE_PER_HOLD = (0.2, 0.4)  # [E] fraction of the autozero-off figure per validity window
CAP_HOLDS = 12.0  # [E] the drift stops growing after this many windows


class ZeroDrift:
    """Offset drift since the last zero, as a fraction of the autozero-off figure."""

    def __init__(self, *seed: object, hold_s: float) -> None:
        self._rng = seeded_rng("zero drift", *seed)
        self.hold_s = hold_s
        self.zeroed_at = 0.0
        self.rate = self._draw()

    def _draw(self) -> float:
        magnitude = float(self._rng.uniform(*RATE_PER_HOLD))
        return magnitude if self._rng.random() < 0.5 else -magnitude

    def rezero(self, t: float) -> None:
        """A zero was measured at ``t``: the drift starts again from nothing at a new rate."""
        self.zeroed_at = t
        self.rate = self._draw()

    def relative(self, times: np.ndarray) -> np.ndarray:
        """Offset at ``times`` in units of the autozero-off figure (0 at the last zero)."""
        elapsed = np.clip(np.asarray(times, dtype=float) - self.zeroed_at, 0.0, None)
        return self.rate * np.minimum(elapsed / self.hold_s, CAP_HOLDS)
