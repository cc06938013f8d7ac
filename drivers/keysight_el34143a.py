"""Keysight EL34143A DC electronic load in constant-resistance mode: the module's output load.

Commands after the Keysight EL30000 Series Programming Guide:
``[SOURce:]FUNCtion RESistance``, ``[SOURce:]RESistance[:LEVel]``, ``INPut[:STATe]``,
``MEASure:VOLTage?``, ``MEASure:CURRent?``, ``[SOURce:]CURRent[:LEVel]``. The load's current
readback is a 40 A class measurement and useless at 20 mA; procedures compute the actual loop
resistance from a measured voltage and the DMM's current instead of trusting the setpoint.
"""

from __future__ import annotations

import re

from drivers.roles import Load
from drivers.scpi import Identity, ScpiInstrument, Setting, in_range, parse_bool, parse_nr3

MIN_OHM = 0.05
MAX_OHM = 15000.0


def _text(value: float) -> str:
    return f"{value:.9g}"


class KeysightEL34143A(ScpiInstrument, Load):
    MODEL = "Keysight EL34143A"
    IDN_PATTERN = re.compile(r"Keysight Technologies,EL34143A,")
    min_resistance_ohm = MIN_OHM

    function = Setting("FUNC?", "FUNC {}", parse=str)
    resistance_ohm = Setting("RES?", "RES {}", validator=in_range(MIN_OHM, MAX_OHM), to_text=_text)
    input_enabled = Setting("INP?", "INP {}", parse=parse_bool)
    measured_voltage_v = Setting("MEAS:VOLT?", None, parse=parse_nr3)
    measured_current_a = Setting("MEAS:CURR?", None, parse=parse_nr3)

    def __init__(self, transport, *, role: str = "load") -> None:
        super().__init__(transport, role=role)

    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.reset()
        return identity

    def configure_resistance(self, resistance_ohm: float) -> None:
        commands = [
            self.setting("input_enabled", False),
            self.setting("function", "RES"),
            self.setting("resistance_ohm", resistance_ohm),
        ]  # all validated before the first is sent
        for command in commands:
            self.write(command)
        self.check_errors("configuration")

    def set_resistance(self, resistance_ohm: float) -> None:
        self.write_synced(self.setting("resistance_ohm", resistance_ohm))

    def enable_input(self) -> None:
        self.write_synced("INP ON")

    def disable_input(self) -> None:
        self.write_synced("INP OFF")

    def measure_voltage(self) -> float:
        return float(self.measured_voltage_v)

    def measure_current(self) -> float:
        return float(self.measured_current_a)

    def safe_state(self) -> None:
        self.write_all(("INP OFF", "CURR 0"))

    def safe_state_problems(self) -> list[str]:
        return ["input is on"] if self.input_enabled else []
