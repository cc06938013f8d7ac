"""Keithley 2450 SourceMeter as the precision current source, native SCPI (``*LANG SCPI``).

Commands from the 2450 Reference Manual (2450-901-01): ``:SOURce:FUNCtion``,
``:SOURce:CURRent[:LEVel]``, ``:SOURce:CURRent:RANGe``, ``:SOURce:CURRent:VLIMit``,
``:SOURce:CURRent:VLIMit:TRIPped?``, ``:SOURce:CURRent:DELay``, ``:SOURce:CURRent:READ:BACK``,
``:SOURce:VOLTage:PROTection``, ``:OUTPut[:STATe]``, ``:OUTPut:CURRent:SMODe``,
``:SENSe:FUNCtion``, ``:SENSe:VOLTage:RANGe|NPLCycles|RSENse``, ``:READ? "defbuffer1", SOUR,
READ``, ``:DIGital:LINE<n>:MODE``, ``:TRIGger:DIGital<n>:OUT:*``, ``*TRG``.

The source measures what it forces: with read-back on, the ``SOUR`` buffer element is the
*measured* source current and ``READ`` the measured (4-wire) terminal voltage. Procedures use
those readings, never the setpoint.
"""

from __future__ import annotations

import re

from drivers.errors import (
    InstrumentReplyError,
    InstrumentTripped,
    ValidationError,
)
from drivers.roles import CurrentSource, DigitalOut, SourceReading, TriggerOut
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    Setting,
    in_range,
    in_set,
    parse_bool,
    parse_readings,
    smallest_range,
)

CURRENT_RANGES_A = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
VOLTAGE_RANGES_V = (0.02, 0.2, 2.0, 20.0, 200.0)
OVERRANGE = 1.05
SPEC_SOURCE = "Keithley SPEC-2450 Rev. A, 1 year, 23 +-5 C"
#: measure current, +-(fraction of reading, offset A) per range (SPEC-2450 Rev. A)
MEASURE_CURRENT_SPEC = {
    1e-8: (0.0010, 50e-12),
    1e-7: (0.0006, 100e-12),
    1e-6: (0.00025, 300e-12),
    1e-5: (0.00025, 700e-12),
    1e-4: (0.0002, 6e-9),
    1e-3: (0.0002, 60e-9),
    1e-2: (0.0002, 600e-9),
    1e-1: (0.00025, 6e-6),
    1.0: (0.0003, 500e-6),
}
#: source current setting accuracy (for planning only; procedures judge measured values)
SOURCE_CURRENT_SPEC = {
    1e-8: (0.0010, 100e-12),
    1e-7: (0.0006, 150e-12),
    1e-6: (0.00025, 400e-12),
    1e-5: (0.00025, 1.5e-9),
    1e-4: (0.0002, 15e-9),
    1e-3: (0.0002, 150e-9),
    1e-2: (0.0002, 1.5e-6),
    1e-1: (0.00025, 15e-6),
    1.0: (0.00067, 900e-6),
}
MEASURE_VOLTAGE_SPEC = {
    0.02: (0.0010, 150e-6),
    0.2: (0.00012, 200e-6),
    2.0: (0.00012, 300e-6),
    20.0: (0.00015, 1e-3),
    200.0: (0.00015, 10e-3),
}
OVP_LEVELS_V = (2, 5, 10, 20, 40, 60, 80, 100, 120, 140, 160, 180)


def _text(value: float) -> str:
    return f"{value:.9g}"


class Keithley2450(ScpiInstrument, CurrentSource, TriggerOut, DigitalOut):
    MODEL = "Keithley 2450"
    IDN_PATTERN = re.compile(r"KEITHLEY INSTRUMENTS( INC\.)?,MODEL 2450,")
    max_current_a = 1.05

    source_function = Setting(
        ":SOUR:FUNC?", ":SOUR:FUNC {}", parse=str, validator=in_set(["CURR", "VOLT"])
    )
    current_level_a = Setting(
        ":SOUR:CURR?", ":SOUR:CURR {}", validator=in_range(-1.05, 1.05), to_text=_text
    )
    current_range_a = Setting(
        ":SOUR:CURR:RANG?", ":SOUR:CURR:RANG {}", validator=in_set(CURRENT_RANGES_A), to_text=_text
    )
    voltage_limit_v = Setting(
        ":SOUR:CURR:VLIM?", ":SOUR:CURR:VLIM {}", validator=in_range(0.02, 210.0), to_text=_text
    )
    source_delay_s = Setting(
        ":SOUR:CURR:DEL?", ":SOUR:CURR:DEL {}", validator=in_range(0.0, 10000.0), to_text=_text
    )
    readback = Setting(":SOUR:CURR:READ:BACK?", ":SOUR:CURR:READ:BACK {}", parse=parse_bool)
    output_enabled = Setting(":OUTP?", ":OUTP {}", parse=parse_bool)
    off_mode = Setting(
        ":OUTP:CURR:SMOD?",
        ":OUTP:CURR:SMOD {}",
        parse=str,
        validator=in_set(["NORM", "HIMP", "ZERO", "GUAR"]),
    )
    sense_function = Setting(
        ":SENS:FUNC?",
        ':SENS:FUNC "{}"',
        parse=lambda r: r.strip().strip('"'),
        validator=in_set(["VOLT", "CURR"]),
    )
    voltage_range_v = Setting(
        ":SENS:VOLT:RANG?", ":SENS:VOLT:RANG {}", validator=in_set(VOLTAGE_RANGES_V), to_text=_text
    )
    voltage_nplc = Setting(
        ":SENS:VOLT:NPLC?", ":SENS:VOLT:NPLC {}", validator=in_range(0.01, 10.0), to_text=_text
    )
    voltage_four_wire = Setting(":SENS:VOLT:RSEN?", ":SENS:VOLT:RSEN {}", parse=parse_bool)
    overvoltage_protection = Setting(":SOUR:VOLT:PROT?", ":SOUR:VOLT:PROT {}", parse=str)
    compliance_tripped = Setting(":SOUR:CURR:VLIM:TRIP?", None, parse=parse_bool)

    def __init__(self, transport, *, role: str = "source", min_range_a: float = 1e-2) -> None:
        super().__init__(transport, role=role)
        self.min_range_a = min_range_a
        self._range_a = min_range_a
        self._voltage_range_v = 20.0
        self._level_a = 0.0

    # ------------------------------------------------------------------ set-up
    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.require_scpi_language("System > Settings")
        self.reset()
        return identity

    def configure(
        self,
        *,
        voltage_limit_v: float,
        nplc: float = 1.0,
        four_wire: bool = True,
        source_delay_s: float | None = None,
    ) -> None:
        """Current source at 0 A, voltage limit and overvoltage protection set, output off.

        Every value is validated before the first command is sent, so a refused call leaves
        the instrument as it was.
        """
        ovp = next((v for v in OVP_LEVELS_V if v >= voltage_limit_v * 1.1), None)
        if ovp is None:
            raise ValidationError(
                f"{self.label}: no overvoltage protection level above {voltage_limit_v:g} V"
            )
        voltage_range = smallest_range(VOLTAGE_RANGES_V, voltage_limit_v)
        commands = [
            self.setting("output_enabled", False),
            self.setting("source_function", "CURR"),
            self.setting("current_range_a", self.min_range_a),
            self.setting("current_level_a", 0.0),
            self.setting("voltage_limit_v", voltage_limit_v),
            self.setting("overvoltage_protection", f"PROT{ovp}"),
            self.setting("off_mode", "NORM"),
            self.setting("readback", True),
            self.setting("sense_function", "VOLT"),
            self.setting("voltage_range_v", voltage_range),
            self.setting("voltage_nplc", nplc),
            self.setting("voltage_four_wire", four_wire),
        ]
        if source_delay_s is not None:
            commands.append(self.setting("source_delay_s", source_delay_s))
        for command in commands:
            self.write(command)
        self._range_a, self._level_a = self.min_range_a, 0.0
        self._voltage_range_v = voltage_range
        self.check_errors("configuration")

    def set_source_delay(self, seconds: float) -> None:
        self.source_delay_s = seconds

    def set_current(self, level_a: float, range_a: float | None = None) -> None:
        """Program ``level_a``; range up before a larger level, down after a smaller one."""
        if range_a is None:
            range_a = max(self.min_range_a, smallest_range(CURRENT_RANGES_A, level_a, OVERRANGE))
        elif abs(level_a) > range_a * OVERRANGE:
            raise ValidationError(
                f"{self.label}: {level_a:g} A does not fit the {range_a:g} A range"
            )
        level = self.setting("current_level_a", level_a)
        if range_a > self._range_a:
            self.write_synced(self.setting("current_range_a", range_a), level)
        elif range_a < self._range_a:
            self.write_synced(level, self.setting("current_range_a", range_a))
        else:
            self.write_synced(level)
        self._range_a, self._level_a = range_a, level_a

    def enable_output(self) -> None:
        self.write_synced(":OUTP ON")

    def disable_output(self) -> None:
        self.write_synced(":OUTP OFF")

    # ------------------------------------------------------------------ measurement
    def measure(self) -> SourceReading:
        values = self.ask(':READ? "defbuffer1", SOUR, READ', parse_readings)
        if len(values) != 2:
            raise InstrumentReplyError(
                self.label,
                f"expected 2 values from :READ?, got {len(values)} (truncated or garbled reply)",
                "check the cable and the instrument's buffer settings",
            )
        current, voltage = values
        return SourceReading(current, voltage, self.current_accuracy(), self.voltage_accuracy())

    def current_accuracy(self) -> Accuracy:
        gain, offset = MEASURE_CURRENT_SPEC[self._range_a]
        return Accuracy(gain, offset, self._range_a, f"{SPEC_SOURCE}, measure current")

    def voltage_accuracy(self) -> Accuracy:
        gain, offset = MEASURE_VOLTAGE_SPEC[self._voltage_range_v]
        return Accuracy(gain, offset, self._voltage_range_v, f"{SPEC_SOURCE}, measure voltage")

    def in_compliance(self) -> bool:
        return bool(self.compliance_tripped)

    # ------------------------------------------------------------------ health
    STATUS_QUERIES = (":SOUR:CURR:VLIM:TRIP?",)

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        if parse_bool(replies[0]) and not compliance_ok:
            raise InstrumentTripped(
                self.label,
                "source in compliance (voltage limit reached): the module's input is open or "
                "its burden too high",
                "check the source leads on the module's input terminals and that the module "
                "is seated",
            )

    # ------------------------------------------------------------------ trigger output
    def configure_trigger_output(self, line: int = 1) -> None:
        """Digital line ``line`` pulses (falling edge, 10 us) on every ``*TRG``."""
        if not 1 <= line <= 6:
            raise ValidationError(f"{self.label}: digital line {line} is not 1 ... 6")
        self.write(f":DIG:LINE{line}:MODE TRIG, OUT")
        self.write(f":TRIG:DIG{line}:OUT:LOG NEG")
        self.write(f":TRIG:DIG{line}:OUT:PULS 1e-05")
        self.write(f":TRIG:DIG{line}:OUT:STIM COMM")
        self.check_errors("trigger output configuration")

    def step_with_trigger(self, level_a: float) -> None:
        """Change the level and pulse the trigger line in one message (same instant)."""
        if abs(level_a) > self._range_a * OVERRANGE:
            raise ValidationError(
                f"{self.label}: step to {level_a:g} A leaves the "
                f"{self._range_a:g} A range; set the range first"
            )
        self.write_synced(self.setting("current_level_a", level_a), "*TRG")
        self._level_a = level_a

    def set_digital_output(self, line: int, state: bool) -> None:
        """Drive a rear digital I/O line as a plain output (fixture relays)."""
        if not 1 <= line <= 6:
            raise ValidationError(f"{self.label}: digital line {line} is not 1 ... 6")
        self.write_synced(f":DIG:LINE{line}:MODE DIG, OUT", f":DIG:LINE{line}:STAT {int(state)}")

    # ------------------------------------------------------------------ safety
    def safe_state(self) -> None:
        try:
            self.write_all((":SOUR:CURR 0", ":SOUR:VOLT 0", ":OUTP OFF"))
        finally:
            self._level_a = 0.0

    def safe_state_problems(self) -> list[str]:
        problems = []
        if self.output_enabled:
            problems.append("output is on")
        level = self.current_level_a
        if abs(level) > 0.0:
            problems.append(f"source level is {level:g} A")
        return problems
