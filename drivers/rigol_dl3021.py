"""Rigol DL3021 / DL3021A DC electronic load (150 V, 40 A, 200 W) in constant resistance.

Commands from the Rigol DL3000 Series Programming Guide (chapter 2): ``[:SOURce]:FUNCtion
RESistance``, ``[:SOURce]:RESistance:RANGe`` (a value selects the range that holds it),
``[:SOURce]:RESistance[:LEVel][:IMMediate]``, ``[:SOURce]:RESistance:VON`` (the load sinks
only above this start voltage), ``[:SOURce]:INPut:STATe``, ``:MEASure:VOLTage?``,
``:MEASure:CURRent?``; status ``:STATus:QUEStionable?`` (OV, OC, OP bits). The bench loop runs
at 2.4-12 V and 4-20 mA (600 ohm), i.e. 0.05 % of the 40 A range: the CR setpoint is not a
reference, and procedures compute the loop resistance from the DMM's voltage and current.

CR ranges (low 0.08-15 ohm, high 2 ohm-15 kohm) after the DL3000 Performance Verification
Manual; the high range's limits, the ``VON`` node in CR mode and the status bits are still to
confirm on hardware (marked where used).
"""

from __future__ import annotations

import re

from drivers.errors import InstrumentTripped, ValidationError
from drivers.roles import Load
from drivers.scpi import Identity, ScpiInstrument, Setting, in_range, parse_bool, parse_decimal

#: CR ranges as (lowest, highest) resistance in ohm; the range command takes the highest
CR_RANGES_OHM: tuple[tuple[float, float], ...] = ((0.08, 15.0), (2.0, 15000.0))
MIN_OHM = CR_RANGES_OHM[0][0]
MAX_OHM = CR_RANGES_OHM[-1][1]
MAX_VON_V = 150.0
#: questionable status bits (third-party DL3000 summaries; to confirm on hardware)
QUES_OV, QUES_OC, QUES_OP = 1 << 0, 1 << 1, 1 << 2


def _text(value: float) -> str:
    return f"{value:.9g}"


def cr_range_for(resistance_ohm: float) -> float:
    """The range (its top, as the range command takes it) that holds ``resistance_ohm``: the
    low range up to 15 ohm, where its resolution is finer."""
    for low, high in CR_RANGES_OHM:
        if low <= resistance_ohm <= high:
            return high
    raise ValidationError(
        f"{resistance_ohm:g} ohm is outside the CR ranges {MIN_OHM:g} ... {MAX_OHM:g} ohm"
    )


class RigolDL3021(ScpiInstrument, Load):
    MODEL = "Rigol DL3021"
    IDN_PATTERN = re.compile(r"RIGOL TECHNOLOGIES,DL3021A?,")
    min_resistance_ohm = MIN_OHM

    function = Setting(":SOUR:FUNC?", ":SOUR:FUNC {}", parse=str)
    resistance_range_ohm = Setting(":SOUR:RES:RANG?", ":SOUR:RES:RANG {}", to_text=_text)
    resistance_ohm = Setting(
        ":SOUR:RES:LEV:IMM?",
        ":SOUR:RES:LEV:IMM {}",
        validator=in_range(MIN_OHM, MAX_OHM),
        to_text=_text,
    )
    von_v = Setting(
        ":SOUR:RES:VON?", ":SOUR:RES:VON {}", validator=in_range(0.0, MAX_VON_V), to_text=_text
    )
    input_enabled = Setting(":SOUR:INP:STAT?", ":SOUR:INP:STAT {}", parse=parse_bool)
    measured_voltage_v = Setting(":MEAS:VOLT?", None, parse=parse_decimal)
    measured_current_a = Setting(":MEAS:CURR?", None, parse=parse_decimal)

    def __init__(self, transport, *, role: str = "load") -> None:
        super().__init__(transport, role=role)
        self._range_ohm = MAX_OHM

    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.reset()
        return identity

    def configure_resistance(self, resistance_ohm: float) -> None:
        """Input off, CR mode, the range that holds the level, the level, Von 0 V (the load
        regulates from the loop's lowest voltage, 4 mA into the load, on)."""
        range_ohm = cr_range_for(resistance_ohm)
        commands = [
            self.setting("input_enabled", False),
            self.setting("function", "RES"),
            self.setting("resistance_range_ohm", range_ohm),
            self.setting("resistance_ohm", resistance_ohm),
            self.setting("von_v", 0.0),
        ]  # all validated before the first is sent
        for command in commands:
            self.write(command)
        self._range_ohm = range_ohm
        self.check_errors("configuration")

    def set_resistance(self, resistance_ohm: float) -> None:
        """A new level; the range is changed first when the level is outside the present one."""
        range_ohm = cr_range_for(resistance_ohm)
        commands = [self.setting("resistance_ohm", resistance_ohm)]
        if range_ohm != self._range_ohm:
            commands.insert(0, self.setting("resistance_range_ohm", range_ohm))
        self.write_synced(*commands)
        self._range_ohm = range_ohm

    def enable_input(self) -> None:
        self.write_synced(":SOUR:INP:STAT ON")

    def disable_input(self) -> None:
        self.write_synced(":SOUR:INP:STAT OFF")

    def measure_voltage(self) -> float:
        return float(self.measured_voltage_v)

    def measure_current(self) -> float:
        return float(self.measured_current_a)

    # ------------------------------------------------------------------ health
    STATUS_QUERIES = (":STAT:QUES?",)

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        bits = int(replies[0])
        tripped = [
            name
            for bit, name in (
                (QUES_OV, "over-voltage"),
                (QUES_OC, "over-current"),
                (QUES_OP, "over-power"),
            )
            if bits & bit
        ]
        if tripped:
            raise InstrumentTripped(
                self.label,
                f"load {' and '.join(tripped)} protection tripped: its input is off",
                "check the output loop wiring and the load setting, then rerun",
            )

    def safe_state(self) -> None:
        self.write_all((":SOUR:INP:STAT OFF", ":SOUR:CURR:LEV:IMM 0"))

    def safe_state_problems(self) -> list[str]:
        return ["input is on"] if self.input_enabled else []
