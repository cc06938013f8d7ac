"""Keithley 2400 SourceMeter as the precision current source (2400-series SCPI).

Commands from the Keithley 2400 Series SourceMeter User's Manual 2400S-900-01 (Rev. K),
section 18 (SCPI command reference): ``:SOURce:FUNCtion``, ``:SOURce:CURRent:MODE``,
``:SOURce:CURRent[:LEVel]``, ``:SOURce:CURRent:RANGe``, ``:SOURce:CURRent:TRIGgered``,
``:SOURce:DELay``, ``:SENSe:FUNCtion:CONCurrent``, ``:SENSe:FUNCtion``,
``:SENSe:VOLTage:PROTection`` (compliance), ``:SENSe:VOLTage:RANGe``,
``:SENSe:VOLTage:NPLCycles``, ``:SYSTem:RSENse``, ``:OUTPut``, ``:OUTPut:SMODe``,
``:FORMat:ELEMents``, ``:READ?``, ``:STATus:MEASurement:CONDition?`` (bit 14 = compliance,
section 15), ``:TRIGger:OLINe`` / ``:TRIGger:OUTPut`` (Trigger Link, section 11),
``:SOURce2:BSIZe`` / ``:SOURce2:TTL`` (digital output port, section 13).

The source measures what it forces: with current measured concurrently the ``CURR`` element
of ``:READ?`` is the *measured* current (manual 18-51: measure takes priority over the
programmed value) on the source range, ``VOLT`` the measured (4-wire) terminal voltage.
Procedures use those readings, never the setpoint.

Trigger: the 2400 has no command trigger in its trigger layer (``*TRG`` only satisfies the arm
layer), so a step with a trigger pulse is one SDM cycle: ``:SOURce:CURRent:TRIGgered`` holds
the new level, ``:INITiate`` runs the cycle, and with ``:TRIGger:OUTPut SOURce`` the Trigger
Link output line pulses right after the source action, i.e. at the step.

Fixture relays: the digital output port sinks (coil between OUTn and +5 V, pin 7; manual 13-3),
so a line driven low energises its relay; ``set_digital_output(line, True)`` clears the line's
bit of the ``:SOURce2:TTL`` pattern.
"""

from __future__ import annotations

import re

from drivers.errors import InstrumentReplyError, InstrumentTripped, ValidationError
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

#: source current ranges (A), manual Table 3-1; source up to 105 % of range
CURRENT_RANGES_A = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: measure voltage ranges (V), manual Table 3-1
VOLTAGE_RANGES_V = (0.2, 2.0, 20.0, 200.0)
OVERRANGE = 1.05
SPEC_SOURCE = "Keithley SPEC-2400 Rev. H, 1 year, 23 +-5 C"
#: measure current, +-(fraction of reading, offset A) per range. 10 mA and 100 mA from
#: SPEC-2400 Rev. H p. 2; the other ranges [E] from the same table as recalled, to confirm
MEASURE_CURRENT_SPEC = {
    1e-6: (0.00029, 300e-12),
    1e-5: (0.00027, 700e-12),
    1e-4: (0.00025, 6e-9),
    1e-3: (0.00027, 60e-9),
    1e-2: (0.00035, 600e-9),
    1e-1: (0.00055, 6e-6),
    1.0: (0.0022, 570e-6),
}
#: source current setting accuracy (planning only: procedures judge measured values); 10 mA and
#: 100 mA from SPEC-2400 Rev. H p. 1, the others [E] as recalled
SOURCE_CURRENT_SPEC = {
    1e-6: (0.00035, 600e-12),
    1e-5: (0.00033, 2e-9),
    1e-4: (0.00031, 20e-9),
    1e-3: (0.00034, 200e-9),
    1e-2: (0.00045, 2e-6),
    1e-1: (0.00066, 20e-6),
    1.0: (0.0027, 900e-6),
}
#: measure voltage, SPEC-2400 Rev. H p. 2
MEASURE_VOLTAGE_SPEC = {
    0.2: (0.00012, 300e-6),
    2.0: (0.00012, 300e-6),
    20.0: (0.00015, 1.5e-3),
    200.0: (0.00015, 10e-3),
}
#: measurement event register bit 14: the source is in compliance (manual 15-14)
COMPLIANCE_BIT = 1 << 14
#: Trigger Link lines (manual 11-19) and digital output lines with ``:SOUR2:BSIZ 4`` (13-5)
TRIGGER_LINES = (1, 2, 3, 4)
DIGITAL_LINES = (1, 2, 3, 4)
ALL_LINES_HIGH = 0b1111


def _text(value: float) -> str:
    return f"{value:.9g}"


class Keithley2400(ScpiInstrument, CurrentSource, TriggerOut, DigitalOut):
    MODEL = "Keithley 2400"
    #: manual 16-3: ``KEITHLEY INSTRUMENTS INC.,MODEL 2400,<serial>,<firmware>``
    IDN_PATTERN = re.compile(r"KEITHLEY INSTRUMENTS INC\.,MODEL 2400,")
    max_current_a = 1.05

    source_function = Setting(
        ":SOUR:FUNC?", ":SOUR:FUNC {}", parse=str, validator=in_set(["CURR", "VOLT"])
    )
    current_mode = Setting(
        ":SOUR:CURR:MODE?", ":SOUR:CURR:MODE {}", parse=str, validator=in_set(["FIX"])
    )
    current_level_a = Setting(
        ":SOUR:CURR:LEV?", ":SOUR:CURR:LEV {}", validator=in_range(-1.05, 1.05), to_text=_text
    )
    current_range_a = Setting(
        ":SOUR:CURR:RANG?", ":SOUR:CURR:RANG {}", validator=in_set(CURRENT_RANGES_A), to_text=_text
    )
    triggered_level_a = Setting(
        ":SOUR:CURR:TRIG?", ":SOUR:CURR:TRIG {}", validator=in_range(-1.05, 1.05), to_text=_text
    )
    source_delay_s = Setting(
        ":SOUR:DEL?", ":SOUR:DEL {}", validator=in_range(0.0, 999.9999), to_text=_text
    )
    concurrent = Setting(":SENS:FUNC:CONC?", ":SENS:FUNC:CONC {}", parse=parse_bool)
    compliance_v = Setting(
        ":SENS:VOLT:PROT?", ":SENS:VOLT:PROT {}", validator=in_range(1e-3, 210.0), to_text=_text
    )
    voltage_range_v = Setting(
        ":SENS:VOLT:RANG?", ":SENS:VOLT:RANG {}", validator=in_set(VOLTAGE_RANGES_V), to_text=_text
    )
    nplc = Setting(
        ":SENS:VOLT:NPLC?", ":SENS:VOLT:NPLC {}", validator=in_range(0.01, 10.0), to_text=_text
    )
    four_wire = Setting(":SYST:RSEN?", ":SYST:RSEN {}", parse=parse_bool)
    output_enabled = Setting(":OUTP?", ":OUTP {}", parse=parse_bool)
    off_mode = Setting(
        ":OUTP:SMOD?",
        ":OUTP:SMOD {}",
        parse=str,
        validator=in_set(["NORM", "HIMP", "ZERO", "GUAR"]),
    )
    auto_output_off = Setting(":SOUR:CLE:AUTO?", ":SOUR:CLE:AUTO {}", parse=parse_bool)
    trigger_output_line = Setting(
        ":TRIG:OLIN?", ":TRIG:OLIN {}", parse=int, validator=in_set(TRIGGER_LINES)
    )
    digital_pattern = Setting(
        ":SOUR2:TTL?", ":SOUR2:TTL {}", parse=int, validator=in_range(0, ALL_LINES_HIGH)
    )

    def __init__(self, transport, *, role: str = "source", min_range_a: float = 1e-2) -> None:
        super().__init__(transport, role=role)
        self.min_range_a = min_range_a
        self._range_a = min_range_a
        self._voltage_range_v = 20.0
        self._level_a = 0.0
        self._pattern = ALL_LINES_HIGH

    # ------------------------------------------------------------------ set-up
    def initialize(self) -> Identity:
        identity = self.verify_identity()
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
        """Current source at 0 A with the voltage compliance set, V and I measured, output off.

        The compliance cannot exceed the voltage measure range (manual: error +824), so the
        range is the smallest that holds the limit. Every value is validated before the first
        command is sent, so a refused call leaves the instrument as it was.
        """
        voltage_range = smallest_range(VOLTAGE_RANGES_V, voltage_limit_v)
        commands = [
            self.setting("output_enabled", False),
            self.setting("auto_output_off", False),
            self.setting("off_mode", "NORM"),
            self.setting("source_function", "CURR"),
            self.setting("current_mode", "FIX"),
            self.setting("current_range_a", self.min_range_a),
            self.setting("current_level_a", 0.0),
            self.setting("concurrent", True),
            ':SENS:FUNC "VOLT","CURR"',
            self.setting("voltage_range_v", voltage_range),
            self.setting("compliance_v", voltage_limit_v),
            self.setting("nplc", nplc),
            self.setting("four_wire", four_wire),
            ":FORM:ELEM VOLT,CURR",
        ]
        if source_delay_s is not None:
            commands += [":SOUR:DEL:AUTO OFF", self.setting("source_delay_s", source_delay_s)]
        for command in commands:
            self.write(command)
        self._range_a, self._level_a = self.min_range_a, 0.0
        self._voltage_range_v = voltage_range
        self.check_errors("configuration")

    def set_source_delay(self, seconds: float) -> None:
        self.write(":SOUR:DEL:AUTO OFF")
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
        """One SDM cycle (``:READ?``): measured terminal voltage and measured current."""
        values = self.ask(":READ?", parse_readings)
        if len(values) != 2:
            raise InstrumentReplyError(
                self.label,
                f"expected 2 values (VOLT,CURR) from :READ?, got {len(values)} (truncated or "
                "garbled reply, or :FORM:ELEM changed)",
                "check the cable; reconfigure the source",
            )
        voltage, current = values
        return SourceReading(current, voltage, self.current_accuracy(), self.voltage_accuracy())

    def current_accuracy(self) -> Accuracy:
        """Measured current on the source range (sourcing I, the measure range is the source
        range)."""
        gain, offset = MEASURE_CURRENT_SPEC[self._range_a]
        return Accuracy(gain, offset, self._range_a, f"{SPEC_SOURCE}, measure current")

    def voltage_accuracy(self) -> Accuracy:
        gain, offset = MEASURE_VOLTAGE_SPEC[self._voltage_range_v]
        return Accuracy(gain, offset, self._voltage_range_v, f"{SPEC_SOURCE}, measure voltage")

    def in_compliance(self) -> bool:
        return bool(self.ask(":STAT:MEAS:COND?", int) & COMPLIANCE_BIT)

    # ------------------------------------------------------------------ health
    STATUS_QUERIES = (":STAT:MEAS:COND?",)

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        if int(replies[0]) & COMPLIANCE_BIT and not compliance_ok:
            raise InstrumentTripped(
                self.label,
                "source in compliance (voltage limit reached): the module's input is open or "
                "its burden too high",
                "check the source leads on the module's input terminals and that the module "
                "is seated",
            )

    # ------------------------------------------------------------------ trigger output
    def configure_trigger_output(self, line: int = 1) -> None:
        """Trigger Link output ``line`` pulses after each source action of an SDM cycle."""
        if line not in TRIGGER_LINES:
            raise ValidationError(f"{self.label}: Trigger Link line {line} is not 1 ... 4")
        for command in (
            ":ARM:SOUR IMM",
            ":ARM:COUN 1",
            ":TRIG:SOUR IMM",
            ":TRIG:COUN 1",
            ":TRIG:DEL 0",
            self.setting("trigger_output_line", line),
            ":TRIG:OUTP SOUR",
        ):
            self.write(command)
        self.check_errors("trigger output configuration")

    def step_with_trigger(self, level_a: float) -> None:
        """Step to ``level_a`` at the source action of one SDM cycle, which also pulses the
        Trigger Link output (``:TRIG:OUTP SOUR``); waits for the cycle to end."""
        if abs(level_a) > self._range_a * OVERRANGE:
            raise ValidationError(
                f"{self.label}: step to {level_a:g} A leaves the "
                f"{self._range_a:g} A range; set the range first"
            )
        self.write_synced(self.setting("triggered_level_a", level_a), ":INIT")
        self._level_a = level_a

    def set_digital_output(self, line: int, state: bool) -> None:
        """Energise (``True``: line sinks, low) or release the relay on output ``line``."""
        if line not in DIGITAL_LINES:
            raise ValidationError(f"{self.label}: digital output {line} is not 1 ... 4")
        bit = 1 << (line - 1)
        pattern = self._pattern & ~bit if state else self._pattern | bit
        self.write_synced(
            ":SOUR2:BSIZ 4", ":SOUR2:CLE:AUTO OFF", self.setting("digital_pattern", pattern)
        )
        self._pattern = pattern

    # ------------------------------------------------------------------ safety
    def safe_state(self) -> None:
        try:
            self.write_all((":SOUR:CURR:LEV 0", ":SOUR:VOLT:LEV 0", ":OUTP OFF"))
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
