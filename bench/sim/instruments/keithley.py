"""What the Keithley TTI-generation instruments (2450, DMM6500) share: formats and event log."""

from __future__ import annotations

from datetime import datetime

from bench.sim.instrument import SimInstrument
from bench.sim.scpi import Call, format_keithley_number, scpi


class KeithleyTti(SimInstrument):
    """Event-log style error queue: ``-113,"Undefined header;1;2026/11/26 11:00:00.000"``."""

    error_queue_depth = 100

    def format_error(self, code: int, message: str) -> str:
        if code == 0:
            return '0,"No error;0;0 0"'
        stamp = datetime.now().strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        return f'{code},"{message};1;{stamp}"'

    def format_number(self, value: float) -> str:
        return format_keithley_number(value)

    def _plus_sign_integers(self) -> bool:
        return False

    @scpi("*LANG")
    def _lang(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "SCPI"
        call.expect(1)
        # switching the command set needs a reboot; the simulator speaks native SCPI only
        self.push_error(-221, "")
        return None
