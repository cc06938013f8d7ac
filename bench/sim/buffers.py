"""Reading buffers of the Keithley TTI instruments (2450, DMM6500, and the 2461/DMM7510 family).

A buffer keeps, per reading: the value, the simulated time it was taken at (start of its
integration), its unit, the source value (SourceMeters) and the scanner channel (0 = the
front/rear terminals). Fill mode CONTinuous drops the oldest readings when full, ONCE stops
storing (Reference Manuals: ``:TRACe:FILL:MODE``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class ReadingBuffer:
    size: int
    fill_continuous: bool = True
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    units: list[str] = field(default_factory=list)
    sources: list[float] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)

    def add(
        self,
        values: Sequence[float] | np.ndarray,
        times: Sequence[float] | np.ndarray,
        *,
        unit: str = "Volt DC",
        sources: Sequence[float] | np.ndarray | None = None,
        channel: int = 0,
    ) -> None:
        n = len(values)
        if not self.fill_continuous:
            n = max(0, min(n, self.size - len(self.values)))
        self.values.extend(float(v) for v in values[:n])
        self.times.extend(float(t) for t in times[:n])
        self.units.extend([unit] * n)
        self.sources.extend(
            float(s) for s in (sources if sources is not None else [math.nan] * n)[:n]
        )
        self.channels.extend([channel] * n)
        if len(self.values) > self.size:  # fill mode continuous: the oldest readings go
            for column in (self.values, self.times, self.units, self.sources, self.channels):
                del column[: -self.size]

    def clear(self) -> None:
        for column in (self.values, self.times, self.units, self.sources, self.channels):
            column.clear()

    def __len__(self) -> int:
        return len(self.values)
