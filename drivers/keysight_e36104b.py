"""Keysight E36104B single-output DC supply (35 V / 1 A): the module's 24 V +-30 % supply.

A 35 V class output is needed because 24 V + 30 % = 31.2 V exceeds the 25 V / 30 V channels of
multi-output bench supplies (E36312A, DP832). Commands (E36100 Series Operating and Service
Guide; protection commands as on the E36xx family): ``VOLTage``, ``CURRent``, ``OUTPut``,
``VOLTage:PROTection[:LEVel]``, ``VOLTage:PROTection:STATe``, ``VOLTage:PROTection:TRIPped?``,
``CURRent:PROTection:STATe``, ``CURRent:PROTection:TRIPped?``, ``MEASure:VOLTage?``,
``MEASure:CURRent?``. Ratings and readback accuracy are [E] (E36100 data sheet not retrieved).
"""

from __future__ import annotations

import re

from drivers.errors import InstrumentTripped, ValidationError
from drivers.roles import Supply
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    Setting,
    in_range,
    parse_bool,
    parse_nr3,
)

RATED_V = 35.0
RATED_A = 1.0
MAX_OVP_V = 38.5
SPEC_SOURCE = "[E] E36100 readback +-(0.1 % + 2 mA); data sheet not retrieved"
#: questionable status register bits (E36xx family: OV, OC protection tripped) [E]
QUES_OV = 1 << 0
QUES_OC = 1 << 1


def _text(value: float) -> str:
    return f"{value:.9g}"


class KeysightE36104B(ScpiInstrument, Supply):
    MODEL = "Keysight E36104B"
    IDN_PATTERN = re.compile(r"(Keysight|Agilent) Technologies,E36104[AB],")
    max_voltage_v = RATED_V
    max_current_a = RATED_A

    voltage_v = Setting("VOLT?", "VOLT {}", validator=in_range(0.0, RATED_V), to_text=_text)
    current_limit_a = Setting("CURR?", "CURR {}", validator=in_range(0.001, RATED_A), to_text=_text)
    ovp_v = Setting("VOLT:PROT?", "VOLT:PROT {}", validator=in_range(1.0, MAX_OVP_V), to_text=_text)
    ovp_enabled = Setting("VOLT:PROT:STAT?", "VOLT:PROT:STAT {}", parse=parse_bool)
    ocp_enabled = Setting("CURR:PROT:STAT?", "CURR:PROT:STAT {}", parse=parse_bool)
    output_enabled = Setting("OUTP?", "OUTP {}", parse=parse_bool)
    ovp_tripped = Setting("VOLT:PROT:TRIP?", None, parse=parse_bool)
    ocp_tripped = Setting("CURR:PROT:TRIP?", None, parse=parse_bool)
    measured_voltage_v = Setting("MEAS:VOLT?", None, parse=parse_nr3)
    measured_current_a = Setting("MEAS:CURR?", None, parse=parse_nr3)

    def __init__(self, transport, *, role: str = "supply") -> None:
        super().__init__(transport, role=role)
        self._ovp_v = MAX_OVP_V

    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.reset()
        return identity

    def configure(self, *, voltage_v: float, current_limit_a: float, ovp_v: float) -> None:
        """Protections first (OVP, current limit with OCP), then the level; output stays off."""
        if voltage_v >= ovp_v:
            raise ValidationError(
                f"{self.label}: {voltage_v:g} V is not below the OVP level {ovp_v:g} V"
            )
        commands = [
            self.setting("output_enabled", False),
            self.setting("ovp_v", ovp_v),
            self.setting("ovp_enabled", True),
            self.setting("current_limit_a", current_limit_a),
            self.setting("ocp_enabled", True),
            self.setting("voltage_v", voltage_v),
        ]  # all validated before the first is sent
        for command in commands:
            self.write(command)
        self._ovp_v = ovp_v
        self.check_errors("configuration")

    def set_voltage(self, voltage_v: float) -> None:
        if voltage_v >= self._ovp_v:
            raise ValidationError(
                f"{self.label}: {voltage_v:g} V would trip the OVP at {self._ovp_v:g} V"
            )
        self.write_synced(self.setting("voltage_v", voltage_v))

    def enable_output(self) -> None:
        self.write_synced("OUTP ON")

    def disable_output(self) -> None:
        self.write_synced("OUTP OFF")

    def measure_voltage(self) -> float:
        return float(self.measured_voltage_v)

    def measure_current(self) -> float:
        return float(self.measured_current_a)

    def current_accuracy(self, value_a: float) -> Accuracy:
        return Accuracy(0.001, 0.002, RATED_A, SPEC_SOURCE)

    def protection_tripped(self) -> str | None:
        if self.ovp_tripped:
            return "OVP"
        if self.ocp_tripped:
            return "OCP"
        return None

    # ------------------------------------------------------------------ health
    STATUS_QUERIES = ("STAT:QUES?",)

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        bits = int(replies[0])
        tripped = [
            name
            for bit, name in ((QUES_OV, "over-voltage"), (QUES_OC, "over-current"))
            if bits & bit
        ]
        if tripped:
            raise InstrumentTripped(
                self.label,
                f"supply {' and '.join(tripped)} protection tripped: its output is off",
                "check the module's supply wiring for a short and the station's supply "
                "limits, then rerun",
            )

    def safe_state(self) -> None:
        self.write_all(("OUTP OFF", "VOLT 0"))

    def safe_state_problems(self) -> list[str]:
        problems = []
        if self.output_enabled:
            problems.append("output is on")
        level = self.voltage_v
        if level > 0.0:
            problems.append(f"voltage is programmed to {level:g} V")
        return problems
