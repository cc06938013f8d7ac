"""What the simulated Keysight instruments share: reply formats and the classic error queue."""

from __future__ import annotations

from bench.sim.instrument import SimInstrument
from bench.sim.scpi import format_keysight_number


class KeysightInstrument(SimInstrument):
    """``+0,"No error"`` / ``-113,"Undefined header"``; numbers as ``+1.00000000E-01``."""

    error_queue_depth = 20

    def format_number(self, value: float) -> str:
        return format_keysight_number(value)
