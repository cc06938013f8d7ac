"""Per-instrument calibration errors and noise, drawn inside the instrument's specification.

A real instrument in calibration has a gain and offset error somewhere inside its data-sheet
accuracy. The simulator draws one per range, reproducibly from the instrument's serial, at a
fraction of the specification (default 40 %), so the bench's uncertainty budgets (which use
the full specification) are honest and conservative, as on a real bench.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


def seeded_rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class RangeSpec:
    """Accuracy of one range: +-(gain_rel * reading + offset) (data-sheet form)."""

    full_scale: float
    gain_rel: float
    offset: float


class CalibrationErrors:
    """Fixed gain/offset error per (function, range) of one simulated instrument."""

    def __init__(self, serial: str, fraction: float = 0.4) -> None:
        self._serial = serial
        self._fraction = fraction
        self._cache: dict[tuple[str, float], tuple[float, float]] = {}

    def errors(self, function: str, spec: RangeSpec) -> tuple[float, float]:
        key = (function, spec.full_scale)
        if key not in self._cache:
            rng = seeded_rng(self._serial, function, spec.full_scale)
            gain = rng.uniform(-1.0, 1.0) * self._fraction * spec.gain_rel
            offset = rng.uniform(-1.0, 1.0) * self._fraction * spec.offset
            self._cache[key] = (gain, offset)
        return self._cache[key]

    def apply(self, function: str, spec: RangeSpec, true_value: float) -> float:
        gain, offset = self.errors(function, spec)
        return true_value * (1.0 + gain) + offset
