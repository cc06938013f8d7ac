"""What the simulated Rigol instruments (DP800 supplies, DL3000 loads) share: reply formats.

Rigol answers with plain decimals at the model's display resolution (``24.000``, ``0.0500``),
integers without a sign (``*ESR?`` -> ``0``), switches as ``ON|OFF`` or ``1|0`` as each
command's page says, and the error queue as ``-113,"Undefined header"`` with ``0,"No error"``
when empty [E: the exact texts are to confirm on hardware]. The channel-prefix parameter of
the DP800's multi-channel commands (``:OUTP CH1,ON``, ``:MEAS:VOLT? CH2``) is parsed here.
"""

from __future__ import annotations

from typing import ClassVar

from bench.sim.instrument import SimInstrument
from bench.sim.scpi import Call, ScpiError, format_keysight_number, scpi


class RigolInstrument(SimInstrument):
    """``0,"No error"``; numbers as fixed-point decimals; integers without a sign."""

    error_queue_depth = 20  # [E]
    #: the display's digits per quantity (models override): volts, amperes, watts, ohms
    decimals: ClassVar[dict[str, int]] = {"V": 3, "A": 4, "W": 3, "OHM": 3}

    def format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    def _plus_sign_integers(self) -> bool:
        return False

    def format_number(self, value: float) -> str:
        """A setting read back where no unit is known: NR3 like the SCPI default."""
        return format_keysight_number(value)

    def fixed(self, value: float, unit: str) -> str:
        """``24.000``: the value at the display resolution of ``unit``."""
        return f"{value:.{self.decimals[unit]}f}"

    # ------------------------------------------------------------------ accepted, no effect
    @scpi(
        "SYSTem:BEEPer[:IMMediate]!",
        "SYSTem:LOCal!",
        "SYSTem:REMote!",
        "SYSTem:RWLock!",
        "DISPlay:TEXT:CLEar!",
    )
    def _accepted(self, call: Call) -> None:
        call.expect(0)

    @scpi("SYSTem:BEEPer:STATe", "DISPlay[:STATe]")
    def _switch(self, call: Call) -> str | None:
        key = "beeper" if call.has_node("BEEPer") else "display"
        return self.bool_setting(call, self._switches, key)

    @scpi("DISPlay:TEXT[:DATA]")
    def _display_text(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self._switches.text}"'
        call.expect((1, 3))  # DP800: text[,x,y] position
        self._switches.text = call.param(0).strip("\"'")
        return None

    def reset(self) -> None:
        self._switches = _Switches()


class _Switches:
    """Front-panel switches that change nothing the bench measures."""

    def __init__(self) -> None:
        self.beeper = True
        self.display = True
        self.text = ""


def parse_channel(text: str, channels: int) -> int:
    """``CH1`` ... ``CH<n>`` (DP800 channel parameter); anything else is -224, a channel the
    model does not have -224 too (the manual lists ``CH1|CH2`` for the DP821)."""
    t = text.strip().upper()
    if t.startswith("CH") and t[2:].isdigit():
        number = int(t[2:])
        if 1 <= number <= channels:
            return number
    raise ScpiError(-224, text)
