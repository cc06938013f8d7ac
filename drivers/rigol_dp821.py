"""Rigol DP821 / DP821A two-output DC supply: channel 1 (60 V / 1 A) feeds the module.

Channel 1 reaches the module's 24 V + 30 % = 31.2 V; channel 2 (8 V / 10 A) cannot reach the
16.8 V minimum, so nothing is wired to it and the driver only ever switches it off. Commands
from the Rigol DP800 Series Programming Guide (chapter 2, Command System):
``:APPLy CH1,<V>,<A>``, ``[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude]``,
``[:SOURce<n>]:CURRent...``, ``[:SOURce<n>]:VOLTage:PROTection[:LEVel]`` / ``:STATe``,
``[:SOURce<n>]:CURRent:PROTection[:LEVel]`` / ``:STATe``, ``:OUTPut[:STATe] CH<n>,{ON|OFF}``
(query ``ON|OFF``), ``:OUTPut:OVP:QUES? CH<n>`` / ``:OUTPut:OCP:QUES?`` (``YES|NO``, to confirm
on hardware: the DP2000 answers ``1|0``, which is accepted too),
``:MEASure[:VOLTage][:DC]? CH<n>``, ``:MEASure:CURRent[:DC]? CH<n>`` (plain decimals).

Every command names its channel (``:SOUR1:...``, ``CH1``), so a front-panel or script
``:INST`` selection can never redirect a level to the 10 A channel. Current readback accuracy
is the DP800 Performance Verification Manual's DP821A row, +-(0.15 % + 10 mA): useless for the
module's <= 25 mA supply current, which the bench measures with the DMM instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.errors import InstrumentTripped, ValidationError
from drivers.roles import Supply
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    Setting,
    in_range,
    parse_bool,
    parse_decimal,
)


@dataclass(frozen=True)
class ChannelRanges:
    """One output's rating and settable ranges (DP800 Programming Guide Table 2-1)."""

    rated_v: float
    rated_a: float
    max_v: float  # settable level (105 % of rating)
    max_a: float
    ovp_v: tuple[float, float]
    ocp_a: tuple[float, float]


#: DP821(A) outputs; OVP/OCP ranges without the DP8-ACCURACY option
CHANNELS: dict[int, ChannelRanges] = {
    1: ChannelRanges(60.0, 1.0, 63.0, 1.05, (0.01, 66.0), (0.01, 1.1)),
    2: ChannelRanges(8.0, 10.0, 8.4, 10.5, (0.01, 8.8), (0.01, 11.0)),
}
#: the output wired to the module's supply terminals
MODULE_CHANNEL = 1
CH1 = CHANNELS[MODULE_CHANNEL]
SPEC_SOURCE = "Rigol DP800 Performance Verification Manual, DP821A CC readback +-(0.15 % + 10 mA)"


def _text(value: float) -> str:
    return f"{value:.9g}"


def parse_yes_no(reply: str) -> bool:
    """``YES|NO`` (DP800 protection queries); ``1|0`` and ``ON|OFF`` are accepted too."""
    text = reply.strip().upper()
    if text == "YES":
        return True
    if text == "NO":
        return False
    return parse_bool(text)


class RigolDP821(ScpiInstrument, Supply):
    MODEL = "Rigol DP821"
    IDN_PATTERN = re.compile(r"RIGOL TECHNOLOGIES,DP821A?,")
    max_voltage_v = CH1.rated_v
    max_current_a = CH1.rated_a

    voltage_v = Setting(
        ":SOUR1:VOLT?", ":SOUR1:VOLT {}", validator=in_range(0.0, CH1.max_v), to_text=_text
    )
    current_limit_a = Setting(
        ":SOUR1:CURR?", ":SOUR1:CURR {}", validator=in_range(0.0, CH1.max_a), to_text=_text
    )
    ovp_v = Setting(
        ":SOUR1:VOLT:PROT?", ":SOUR1:VOLT:PROT {}", validator=in_range(*CH1.ovp_v), to_text=_text
    )
    ovp_enabled = Setting(":SOUR1:VOLT:PROT:STAT?", ":SOUR1:VOLT:PROT:STAT {}", parse=parse_bool)
    ocp_a = Setting(
        ":SOUR1:CURR:PROT?", ":SOUR1:CURR:PROT {}", validator=in_range(*CH1.ocp_a), to_text=_text
    )
    ocp_enabled = Setting(":SOUR1:CURR:PROT:STAT?", ":SOUR1:CURR:PROT:STAT {}", parse=parse_bool)
    output_enabled = Setting(":OUTP? CH1", ":OUTP CH1,{}", parse=parse_bool)
    output2_enabled = Setting(":OUTP? CH2", ":OUTP CH2,{}", parse=parse_bool)
    ovp_tripped = Setting(":OUTP:OVP:QUES? CH1", None, parse=parse_yes_no)
    ocp_tripped = Setting(":OUTP:OCP:QUES? CH1", None, parse=parse_yes_no)
    measured_voltage_v = Setting(":MEAS:VOLT? CH1", None, parse=parse_decimal)
    measured_current_a = Setting(":MEAS:CURR? CH1", None, parse=parse_decimal)

    def __init__(self, transport, *, role: str = "supply") -> None:
        super().__init__(transport, role=role)
        self._ovp_v = CH1.ovp_v[1]

    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.reset()
        return identity

    def configure(self, *, voltage_v: float, current_limit_a: float, ovp_v: float) -> None:
        """Output off, OVP, OCP at the current limit, then ``:APPL`` level and limit."""
        if voltage_v >= ovp_v:
            raise ValidationError(
                f"{self.label}: {voltage_v:g} V is not below the OVP level {ovp_v:g} V"
            )
        # validated (all of them) before the first command is sent
        level = self.setting("voltage_v", voltage_v).split()[-1]
        limit = self.setting("current_limit_a", current_limit_a).split()[-1]
        commands = [
            self.setting("output_enabled", False),
            self.setting("ovp_v", ovp_v),
            self.setting("ovp_enabled", True),
            self.setting("ocp_a", current_limit_a),
            self.setting("ocp_enabled", True),
            f":APPL CH1,{level},{limit}",
        ]
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
        self.write_synced(":OUTP CH1,ON")

    def disable_output(self) -> None:
        self.write_synced(":OUTP CH1,OFF")

    def measure_voltage(self) -> float:
        return float(self.measured_voltage_v)

    def measure_current(self) -> float:
        return float(self.measured_current_a)

    def current_accuracy(self, value_a: float) -> Accuracy:
        return Accuracy(0.0015, 0.010, CH1.rated_a, SPEC_SOURCE)

    def protection_tripped(self) -> str | None:
        if self.ovp_tripped:
            return "OVP"
        if self.ocp_tripped:
            return "OCP"
        return None

    # ------------------------------------------------------------------ health
    STATUS_QUERIES = (":OUTP:OVP:QUES? CH1", ":OUTP:OCP:QUES? CH1")

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        tripped = [
            name
            for reply, name in zip(replies, ("over-voltage", "over-current"), strict=True)
            if parse_yes_no(reply)
        ]
        if tripped:
            raise InstrumentTripped(
                self.label,
                f"supply {' and '.join(tripped)} protection tripped: its output is off",
                "check the module's supply wiring for a short and the station's supply "
                "limits, then rerun",
            )

    def safe_state(self) -> None:
        self.write_all((":OUTP CH1,OFF", ":SOUR1:VOLT 0", ":OUTP CH2,OFF"))

    def safe_state_problems(self) -> list[str]:
        problems = []
        if self.output_enabled:
            problems.append("output CH1 is on")
        level = self.voltage_v
        if level > 0.0:
            problems.append(f"CH1 voltage is programmed to {level:g} V")
        if self.output2_enabled:
            problems.append("output CH2 is on")
        return problems
