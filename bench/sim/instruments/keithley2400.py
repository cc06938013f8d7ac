"""Simulated Keithley 2400 SourceMeter (2400-series SCPI, the generation before the TTI 2450).

Sources: Keithley 2400 Series SourceMeter User's Manual 2400S-900-01 (Rev. K): section 18
(SCPI reference: :SOURce, :SENSe, :OUTPut, :FORMat, :TRACe, :TRIGger/:ARM, :SYSTem),
section 11 (trigger model, Trigger Link), section 13 (digital output port), section 15 (status
model), section 16 (common commands), Table 3-1 (ranges), appendix B (error messages);
SPEC-2400 Rev. H (accuracy, used for the simulated calibration errors).

Model: the source-delay-measure (SDM) cycle runs literally: ``:INITiate`` (and ``:READ?``,
``:MEASure?``) runs arm count x trigger count cycles of trigger delay -> source action (a
``:SOURce:CURRent:TRIGgered`` level is applied here; ``:TRIGger:OUTPut SOURce`` pulses the
Trigger Link output) -> source delay -> measure (one A/D conversion per concurrent function,
NPLC each). The cycles run to completion on the simulated clock when ``:INITiate`` arrives.
``*TRG`` satisfies the arm layer only (``:ARM:SOURce BUS``). With the output off and auto
output-off disabled, ``:READ?``/``:INITiate`` are refused with +803 and no reply.

Formats: numbers ``+1.000000E-02``, NAN ``+9.910000E+37`` for an element not measured,
overflow ``+9.900000E+37``; integers without a sign; ``SYSTem:ERRor?`` as ``-113,"Undefined
header"`` / ``0,"No error"``. Values marked [E] are assumptions where the manual pages were not
at hand (to confirm on hardware).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity, SimInstrument
from bench.sim.instruments.measurement_status import MeasurementStatus
from bench.sim.scpi import (
    Call,
    ScpiError,
    parse_bool,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)
from bench.sim.status import StatusRegister

# SPEC-2400 Rev. H, 1 year, 23 +-5 C: +-(% reading + offset). 10 mA / 100 mA rows checked in
# the data sheet; the other ranges [E] as recalled from the same table
CURRENT_RANGES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
SOURCE_CURRENT_SPEC = {
    1e-6: RangeSpec(1e-6, 0.00035, 600e-12),
    1e-5: RangeSpec(1e-5, 0.00033, 2e-9),
    1e-4: RangeSpec(1e-4, 0.00031, 20e-9),
    1e-3: RangeSpec(1e-3, 0.00034, 200e-9),
    1e-2: RangeSpec(1e-2, 0.00045, 2e-6),
    1e-1: RangeSpec(1e-1, 0.00066, 20e-6),
    1.0: RangeSpec(1.0, 0.0027, 900e-6),
}
MEASURE_CURRENT_SPEC = {
    1e-6: RangeSpec(1e-6, 0.00029, 300e-12),
    1e-5: RangeSpec(1e-5, 0.00027, 700e-12),
    1e-4: RangeSpec(1e-4, 0.00025, 6e-9),
    1e-3: RangeSpec(1e-3, 0.00027, 60e-9),
    1e-2: RangeSpec(1e-2, 0.00035, 600e-9),
    1e-1: RangeSpec(1e-1, 0.00055, 6e-6),
    1.0: RangeSpec(1.0, 0.0022, 570e-6),
}
VOLTAGE_RANGES = (0.2, 2.0, 20.0, 200.0)
SOURCE_VOLTAGE_SPEC = {
    0.2: RangeSpec(0.2, 0.0002, 600e-6),
    2.0: RangeSpec(2.0, 0.0002, 600e-6),
    20.0: RangeSpec(20.0, 0.0002, 2.4e-3),
    200.0: RangeSpec(200.0, 0.0002, 24e-3),
}
MEASURE_VOLTAGE_SPEC = {
    0.2: RangeSpec(0.2, 0.00012, 300e-6),
    2.0: RangeSpec(2.0, 0.00012, 300e-6),
    20.0: RangeSpec(20.0, 0.00015, 1.5e-3),
    200.0: RangeSpec(200.0, 0.00015, 10e-3),
}
RESISTANCE_RANGES = (20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
SOURCE_OVERRANGE = 1.05  # Table 3-1: source 105 % of range
MEASURE_OVERRANGE = 1.055  # measure 105.5 %
NAN = 9.91e37  # an element that was not measured (manual 18-50)
OVERFLOW = 9.9e37
#: automatic source delay (Table 3-4 gives it per range; [E] one value for the mA ranges)
AUTO_SOURCE_DELAY_S = 0.001
#: [E] A/D overhead per conversion besides the integration (autozero reference phases)
CONVERSION_OVERHEAD_S = 0.0003
#: trigger and arm count limit of one INITiate (arm x trigger, [E] 2500 like the buffer)
MAX_SAMPLES = 2500
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")
FUNCTIONS = {
    **dict.fromkeys(("VOLT", "VOLT:DC", "VOLTAGE", "VOLTAGE:DC"), "VOLT"),
    **dict.fromkeys(("CURR", "CURR:DC", "CURRENT", "CURRENT:DC"), "CURR"),
    **dict.fromkeys(("RES", "RESISTANCE"), "RES"),
}
FUNCTION_REPLY = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
# measurement event register (manual 15-14)
MEAS_RAV = 1 << 6  # reading available
MEAS_BAV = 1 << 8  # buffer available (>= 2 readings)
MEAS_BFL = 1 << 9  # buffer full
MEAS_COMPLIANCE = 1 << 14
# status word of the STAT element ([E] bit list as recalled from manual 18-52)
WORD_COMPLIANCE = 1 << 3
WORD_V_MEAS, WORD_I_MEAS, WORD_R_MEAS = 1 << 12, 1 << 13, 1 << 14
WORD_V_SOUR, WORD_I_SOUR = 1 << 15, 1 << 16
WORD_REMOTE_SENSE = 1 << 23
#: the 2400's own error messages (manual appendix B, Table B-1)
DEVICE_ERRORS = {
    803: "Not permitted with OUTPUT off",
    830: "Invalid with INF ARM:COUNT",
}


def _range_for(value: float, ranges: tuple[float, ...], over: float) -> float:
    for r in ranges:
        if abs(value) <= r * over:
            return r
    return ranges[-1]


def _function_names(call: Call) -> list[str]:
    """The quoted function list of ``:SENSe:FUNCtion:ON "VOLT","CURR"``."""
    names = []
    for param in call.params:
        name = parse_string(param).upper()
        if name not in FUNCTIONS:
            raise ScpiError(-224, call.text)
        names.append(FUNCTIONS[name])
    return names


@dataclass
class Reading:
    voltage_v: float
    current_a: float
    resistance_ohm: float
    time_s: float
    status: int

    def element(self, name: str) -> float:
        return {
            "VOLT": self.voltage_v,
            "CURR": self.current_a,
            "RES": self.resistance_ohm,
            "TIME": self.time_s,
            "STAT": float(self.status),
        }[name]


@dataclass
class State2400:
    source_function: str = "VOLT"
    current_mode: str = "FIX"
    current_level_a: float = 0.0
    current_triggered_a: float = 0.0
    current_range_a: float = 1e-4
    current_range_auto: bool = True
    voltage_level_v: float = 0.0
    voltage_triggered_v: float = 0.0
    voltage_range_v: float = 20.0
    voltage_range_auto: bool = True
    source_delay_s: float = AUTO_SOURCE_DELAY_S
    source_delay_auto: bool = True
    auto_output_off: bool = False
    output: bool = False
    off_mode: str = "NORM"
    concurrent: bool = True
    functions: list[str] = field(default_factory=lambda: ["CURR"])
    voltage_compliance_v: float = 21.0
    current_compliance_a: float = 105e-6
    sense_voltage_range_v: float = 21.0 / MEASURE_OVERRANGE
    sense_voltage_auto: bool = True
    sense_current_range_a: float = 1e-4
    sense_current_auto: bool = True
    resistance_range_ohm: float = 2e5
    resistance_auto: bool = True
    nplc: float = 1.0
    four_wire: bool = False
    autozero: bool = True
    average: bool = False
    average_count: int = 10
    average_filter: str = "REP"
    elements: tuple[str, ...] = ELEMENTS
    arm_source: str = "IMM"
    arm_count: int = 1
    arm_infinite: bool = False
    arm_timer_s: float = 0.1
    trigger_source: str = "IMM"
    trigger_count: int = 1
    trigger_delay_s: float = 0.0
    arm_input_line: int = 1
    arm_output_line: int = 2
    trigger_input_line: int = 1
    trigger_output_line: int = 2
    trigger_outputs: tuple[str, ...] = ()
    arm_outputs: tuple[str, ...] = ()
    trigger_inputs: tuple[str, ...] = ()
    waiting_for_bus: bool = False
    samples: list[Reading] = field(default_factory=list)
    trace_points: int = 100
    trace_feed: str = "SENS"
    trace_feed_next: bool = False
    trace: list[Reading] = field(default_factory=list)
    calc3_format: str = "MEAN"
    ttl_bits: int = 4
    ttl_pattern: int = 15  # [E] *RST output pattern: every line high (relays released)
    ttl_auto_clear: bool = False
    time_zero_s: float = 0.0
    beeper: bool = True
    display: bool = True
    terminals: str = "FRON"
    level_changed: bool = True


class Keithley2400(MeasurementStatus, SimInstrument):
    role = "source"
    error_queue_depth = 10  # [E] the 2400's error queue holds 10 messages
    scpi_version = "1996.0"  # manual 18-112
    single_nodes = frozenset({"OUTP", "SENS", "SEQ", "LAY"})

    def __init__(self, world, identity: Identity | None = None) -> None:
        identity = identity or self.default_identity()
        self.cal = CalibrationErrors(identity.serial)
        self.peak_current_a = 0.0  # largest |level| ever programmed (safety tests' ground truth)
        self.measurement = StatusRegister()
        super().__init__(world, identity)

    @staticmethod
    def default_identity() -> Identity:
        # manual 16-3 and a unit's reply: serial, ROM revisions with build date, board revs
        return Identity(
            "KEITHLEY INSTRUMENTS INC.",
            "MODEL 2400",
            "1234567",
            "C30 Mar 17 2006 09:29:29/A02 /K/J",
        )

    # ------------------------------------------------------------------ formats
    def format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    def format_number(self, value: float) -> str:
        if not math.isfinite(value):
            value = OVERFLOW
        return f"{value:+.6E}"

    def _plus_sign_integers(self) -> bool:
        return False

    def check_suffixes(self, pattern, suffixes: list[int]) -> None:
        """``:SOURce1`` is the source, ``:SOURce2`` the digital output port (``TTL``,
        ``BSIZe``, ``CLEar``); ``:CALCulate3`` the buffer statistics (math and limit tests,
        ``CALC1``/``CALC2``, are not simulated)."""
        super().check_suffixes(pattern, suffixes)
        nodes = pattern.nodes
        if not nodes or not suffixes:
            return
        if nodes[0].short == "SOUR":
            second = nodes[1].short if len(nodes) > 1 else ""
            allowed = {2} if second in ("TTL", "BSIZ") else {1, 2} if second == "CLE" else {1}
            if suffixes[0] not in allowed:
                raise ScpiError(-114, f"SOUR{suffixes[0]}")
        if nodes[0].short == "CALC" and suffixes[0] != 3:
            raise ScpiError(-113, f"CALC{suffixes[0]} (math and limits are not simulated)")

    def push_error(self, code: int, detail: str = "") -> None:
        super().push_error(code, DEVICE_ERRORS.get(code, detail) if code > 0 else detail)

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        super().reset()
        self.state = State2400(time_zero_s=self.world.clock.now)
        self.world.set_source(False, 0.0, self.state.voltage_compliance_v)
        for line in range(1, 5):  # every output line high: fixture relays released
            self.world.set_digital_line(line, False)

    def output_enabled(self) -> bool:
        return self.state.output

    def safety_levels(self) -> dict[str, float]:
        return {"current_a": self.state.current_level_a, "voltage_v": self.state.voltage_level_v}

    # ------------------------------------------------------------------ world coupling
    def _voltage_limit_v(self) -> float:
        """Real compliance: the programmed limit, or the voltage measure range's full scale if
        that is lower (manual 'range compliance')."""
        s = self.state
        if s.sense_voltage_auto:
            return s.voltage_compliance_v
        return min(s.voltage_compliance_v, s.sense_voltage_range_v * MEASURE_OVERRANGE)

    def _apply(self) -> None:
        s = self.state
        if s.source_function == "CURR":
            spec = SOURCE_CURRENT_SPEC[s.current_range_a]
            demand = self.cal.apply("source-current", spec, s.current_level_a)
            vlim = self._voltage_limit_v()
        else:
            spec_v = SOURCE_VOLTAGE_SPEC[s.voltage_range_v]
            volts = self.cal.apply("source-voltage", spec_v, s.voltage_level_v)
            r = self.world.input_loop_ohm()
            demand = max(-s.current_compliance_a, min(s.current_compliance_a, volts / r))
            vlim = abs(volts) + 1e-9
        self.world.set_source(s.output, demand if s.output else 0.0, vlim)

    def _in_compliance(self) -> bool:
        s = self.state
        if not s.output:
            return False
        if s.source_function == "CURR":
            return bool(self.world.source_in_compliance)
        r = self.world.input_loop_ohm()
        return abs(s.voltage_level_v) / r >= s.current_compliance_a

    def measurement_condition(self) -> int:
        s = self.state
        condition = MEAS_COMPLIANCE if self._in_compliance() else 0
        if s.samples:
            condition |= MEAS_RAV
        if len(s.trace) >= 2:
            condition |= MEAS_BAV
        if s.trace and len(s.trace) >= s.trace_points:
            condition |= MEAS_BFL
        return condition

    def update_status(self) -> None:
        super().update_status()
        self.measurement.update(self.measurement_condition())

    def extra_stb(self) -> int:
        return 1 if self.measurement.summary else 0  # bit 0: measurement summary (MSB)

    # ------------------------------------------------------------------ :SOURce
    @scpi(":SOURce#:FUNCtion[:MODE]")
    def _source_function(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.source_function
        call.expect(1)
        function = parse_choice(call.param(), ["CURRent", "VOLTage", "MEMory"], short=True)
        if function == "MEM":
            raise ScpiError(-224, "source memory sweeps are not simulated")
        self.state.source_function = function
        self.state.level_changed = True
        self._apply()
        return None

    @scpi(":SOURce#:CURRent:MODE", ":SOURce#:VOLTage:MODE")
    def _source_mode(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.current_mode
        call.expect(1)
        mode = parse_choice(call.param(), ["FIXed", "LIST", "SWEep"], short=True)
        if mode != "FIX":
            raise ScpiError(-224, "list and sweep source modes are not simulated")
        self.state.current_mode = mode
        return None

    def _attrs(self, call: Call) -> tuple[str, str, str, str, tuple[float, ...], float, str]:
        """(level, triggered, range, auto, ranges, limit, unit) of the function a header names."""
        if call.has_node("VOLTage"):
            return (
                "voltage_level_v",
                "voltage_triggered_v",
                "voltage_range_v",
                "voltage_range_auto",
                VOLTAGE_RANGES,
                210.0,
                "V",
            )
        return (
            "current_level_a",
            "current_triggered_a",
            "current_range_a",
            "current_range_auto",
            CURRENT_RANGES,
            1.05,
            "A",
        )

    @scpi(
        ":SOURce#:CURRent[:LEVel][:IMMediate][:AMPLitude]",
        ":SOURce#:VOLTage[:LEVel][:IMMediate][:AMPLitude]",
        ":SOURce#:CURRent[:LEVel]:TRIGgered[:AMPLitude]",
        ":SOURce#:VOLTage[:LEVel]:TRIGgered[:AMPLitude]",
    )
    def _level(self, call: Call) -> str | None:
        s = self.state
        level, triggered, rng, auto, _ranges, top, unit = self._attrs(call)
        attr = triggered if call.has_node("TRIGgered") else level
        if call.query:
            call.expect(0)
            return self.format_number(getattr(s, attr))
        call.expect(1)
        value = parse_number(call.param(), unit=unit, minimum=-top, maximum=top, default=0.0)
        if not getattr(s, auto) and abs(value) > getattr(s, rng) * SOURCE_OVERRANGE + 1e-15:
            raise ScpiError(-222, call.text)  # does not fit the fixed range
        setattr(s, attr, value)
        if attr == level:  # [E] the triggered amplitude follows an immediate one
            setattr(s, triggered, value)
            self._set_level(unit, value)
        return None

    def _set_level(self, unit: str, value: float) -> None:
        """Apply an immediate level (also the source action of a triggered one)."""
        s = self.state
        if unit == "A":
            s.current_level_a = value
            self.peak_current_a = max(self.peak_current_a, abs(value))
            if s.current_range_auto:
                s.current_range_a = _range_for(value, CURRENT_RANGES, SOURCE_OVERRANGE)
        else:
            s.voltage_level_v = value
            if s.voltage_range_auto:
                s.voltage_range_v = _range_for(value, VOLTAGE_RANGES, SOURCE_OVERRANGE)
        s.level_changed = True
        self._apply()

    @scpi(":SOURce#:CURRent:RANGe", ":SOURce#:VOLTage:RANGe")
    def _source_range(self, call: Call) -> str | None:
        s = self.state
        level, _, rng, auto, ranges, top, unit = self._attrs(call)
        if call.query:
            call.expect(0)
            return self.format_number(getattr(s, rng))
        call.expect(1)
        text = call.param().strip().upper()
        index = ranges.index(getattr(s, rng))
        if text == "UP":
            new_range = ranges[min(index + 1, len(ranges) - 1)]
        elif text == "DOWN":
            new_range = ranges[max(index - 1, 0)]
        else:
            value = parse_number(
                text,
                unit=unit,
                minimum=-top,
                maximum=top,
                default=ranges[-1] if unit == "V" else ranges[2],
            )
            new_range = _range_for(value, ranges, 1.0)  # lowest range that holds the value
        if abs(getattr(s, level)) > new_range * SOURCE_OVERRANGE:
            raise ScpiError(-221, call.text)  # range too small for the present level
        setattr(s, rng, new_range)
        setattr(s, auto, False)
        self._apply()
        return None

    @scpi(":SOURce#:CURRent:RANGe:AUTO", ":SOURce#:VOLTage:RANGe:AUTO")
    def _source_range_auto(self, call: Call) -> str | None:
        level, _, rng, auto, ranges, _, _ = self._attrs(call)

        def follow() -> None:
            if getattr(self.state, auto):
                value = getattr(self.state, level)
                setattr(self.state, rng, _range_for(value, ranges, SOURCE_OVERRANGE))
            self._apply()

        return self.bool_setting(call, self.state, auto, after=follow)

    @scpi(":SOURce#:DELay")
    def _source_delay(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.state.source_delay_s)
        call.expect(1)
        self.state.source_delay_s = parse_number(
            call.param(), unit="S", minimum=0.0, maximum=999.9999, default=0.0
        )
        self.state.source_delay_auto = False  # a manual delay turns auto delay off
        return None

    @scpi(":SOURce#:DELay:AUTO")
    def _source_delay_auto(self, call: Call) -> str | None:
        result = self.bool_setting(call, self.state, "source_delay_auto")
        if not call.query and self.state.source_delay_auto:
            self.state.source_delay_s = AUTO_SOURCE_DELAY_S
        return result

    @scpi(":SOURce#:CLEar[:IMMediate]!")
    def _source_clear(self, call: Call) -> None:
        """``:SOUR1:CLE`` turns the output off; ``:SOUR2:CLE`` restores the output pattern."""
        call.expect(0)
        if call.suffixes[0] == 2:
            self._drive_lines()
            return
        self.state.output = False
        self._apply()

    @scpi(":SOURce#:CLEar:AUTO")
    def _source_clear_auto(self, call: Call) -> str | None:
        """``:SOUR1:CLE:AUTO``: auto output-off; ``:SOUR2:CLE:AUTO``: pulse the pattern."""
        attr = "ttl_auto_clear" if call.suffixes[0] == 2 else "auto_output_off"
        return self.bool_setting(call, self.state, attr)

    # ------------------------------------------------------------------ :SOURce2 (digital out)
    def _drive_lines(self) -> None:
        """Line n low sinks its relay coil (energised); lines above the bit size stay high."""
        s = self.state
        for line in range(1, 5):
            low = line <= s.ttl_bits and not (s.ttl_pattern >> (line - 1)) & 1
            self.world.set_digital_line(line, low)

    @scpi(":SOURce#:BSIZe")
    def _ttl_bits(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.state.ttl_bits)
        call.expect(1)
        bits = round(parse_number(call.param(), minimum=3, maximum=4, default=3))
        self.state.ttl_bits = bits
        self.state.ttl_pattern &= (1 << bits) - 1 if bits == 3 else 15
        self._drive_lines()
        return None

    @scpi(":SOURce#:TTL[:LEVel][:DEFault]")
    def _ttl(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            return str(s.ttl_pattern)
        call.expect(1)
        top = (1 << s.ttl_bits) - 1
        s.ttl_pattern = round(parse_number(call.param(), minimum=0, maximum=top, default=top))
        self._drive_lines()
        return None

    @scpi(":SOURce#:TTL[:LEVel]:ACTual?")
    def _ttl_actual(self, call: Call) -> str:
        call.expect(0)
        return str(self.state.ttl_pattern)

    # ------------------------------------------------------------------ :OUTPut
    @scpi(":OUTPut#[:STATe]")
    def _output(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "1" if self.state.output else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on and not self.state.output:
            self.state.level_changed = True
        self.state.output = on
        self._apply()
        return None

    @scpi(":OUTPut#:SMODe")
    def _off_mode(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.off_mode
        call.expect(1)
        self.state.off_mode = parse_choice(
            call.param(), ["HIMPedance", "NORMal", "ZERO", "GUARd"], short=True
        )
        return None

    # ------------------------------------------------------------------ :SENSe
    @scpi("[:SENSe#]:FUNCtion:CONCurrent")
    def _concurrent(self, call: Call) -> str | None:
        def one_function() -> None:
            if not self.state.concurrent:
                self.state.functions = self.state.functions[:1]

        return self.bool_setting(call, self.state, "concurrent", after=one_function)

    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _functions_on(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            return ",".join(FUNCTION_REPLY[f] for f in s.functions)
        call.expect((1, 3))
        names = _function_names(call)
        if not s.concurrent:
            if len(names) > 1:
                raise ScpiError(-221, "concurrent measurements are off")
            s.functions = names
        else:
            s.functions = [f for f in ("VOLT", "CURR", "RES") if f in s.functions or f in names]
        return None

    @scpi("[:SENSe#]:FUNCtion:OFF")
    def _functions_off(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            off = [f for f in ("VOLT", "CURR", "RES") if f not in s.functions]
            return ",".join(FUNCTION_REPLY[f] for f in off)
        call.expect((1, 3))
        names = _function_names(call)
        s.functions = [f for f in s.functions if f not in names]
        return None

    @scpi("[:SENSe#]:FUNCtion:ALL!", "[:SENSe#]:FUNCtion:OFF:ALL!")
    def _functions_all(self, call: Call) -> None:
        call.expect(0)
        if call.has_node("OFF"):
            self.state.functions = []
        else:
            if not self.state.concurrent:
                raise ScpiError(-221, "concurrent measurements are off")
            self.state.functions = ["VOLT", "CURR", "RES"]

    @scpi("[:SENSe#]:FUNCtion:ON:COUNt?", "[:SENSe#]:FUNCtion:OFF:COUNt?")
    def _functions_count(self, call: Call) -> str:
        call.expect(0)
        on = len(self.state.functions)
        return str(3 - on if call.has_node("OFF") else on)

    @scpi("[:SENSe#]:VOLTage[:DC]:PROTection[:LEVel]")
    def _voltage_compliance(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.state.voltage_compliance_v)
        call.expect(1)
        value = parse_number(call.param(), unit="V", minimum=-210.0, maximum=210.0, default=21.0)
        self.state.voltage_compliance_v = max(abs(value), 1e-6)
        self._apply()
        return None

    @scpi("[:SENSe#]:CURRent[:DC]:PROTection[:LEVel]")
    def _current_compliance(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.state.current_compliance_a)
        call.expect(1)
        value = parse_number(call.param(), unit="A", minimum=-1.05, maximum=1.05, default=105e-6)
        self.state.current_compliance_a = max(abs(value), 1e-9)
        self._apply()
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", "[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]")
    def _sense_range(self, call: Call) -> str | None:
        s = self.state
        voltage = call.has_node("VOLTage")
        attr, auto = (
            ("sense_voltage_range_v", "sense_voltage_auto")
            if voltage
            else ("sense_current_range_a", "sense_current_auto")
        )
        ranges, unit, top = (VOLTAGE_RANGES, "V", 210.0) if voltage else (CURRENT_RANGES, "A", 1.05)
        if call.query:
            call.expect(0)
            return self.format_number(getattr(s, attr))
        call.expect(1)
        text = call.param().strip().upper()
        current = getattr(s, attr) if getattr(s, attr) in ranges else ranges[-1]
        index = ranges.index(current)
        if text == "UP":
            value = ranges[min(index + 1, len(ranges) - 1)]
        elif text == "DOWN":
            value = ranges[max(index - 1, 0)]
        else:
            value = _range_for(
                parse_number(text, unit=unit, minimum=-top, maximum=top, default=ranges[-2]),
                ranges,
                1.0,
            )
        if not voltage and s.source_function == "CURR":
            return None  # sourcing current, the current measure range is the source range
        setattr(s, attr, value)
        setattr(s, auto, False)
        self._apply()
        return None

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:RANGe:AUTO",
        "[:SENSe#]:CURRent[:DC]:RANGe:AUTO",
        "[:SENSe#]:RESistance:RANGe:AUTO",
    )
    def _sense_range_auto(self, call: Call) -> str | None:
        if call.has_node("VOLTage"):
            attr = "sense_voltage_auto"
        elif call.has_node("CURRent"):
            attr = "sense_current_auto"
        else:
            attr = "resistance_auto"
        return self.bool_setting(call, self.state, attr, after=self._apply)

    @scpi("[:SENSe#]:RESistance:RANGe[:UPPer]")
    def _resistance_range(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.state.resistance_range_ohm)
        call.expect(1)
        value = parse_number(call.param(), unit="OHM", minimum=0.0, maximum=2.1e8, default=2e5)
        self.state.resistance_range_ohm = _range_for(value, RESISTANCE_RANGES, 1.0)
        self.state.resistance_auto = False
        return None

    @scpi("[:SENSe#]:RESistance:MODE")
    def _resistance_mode(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "MAN"
        call.expect(1)
        if parse_choice(call.param(), ["MANual", "AUTO"], short=True) != "MAN":
            raise ScpiError(-224, "auto ohms is not simulated")
        return None

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:NPLCycles",
        "[:SENSe#]:CURRent[:DC]:NPLCycles",
        "[:SENSe#]:RESistance:NPLCycles",
    )
    def _nplc(self, call: Call) -> str | None:
        # one global speed: any function's NPLC sets it (2400 Quick Start Table 1-12)
        return self.number_setting(
            call, self.state, "nplc", minimum=0.01, maximum=10.0, default=1.0
        )

    @scpi("[:SENSe#]:AVERage[:STATe]")
    def _average(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "average")

    @scpi("[:SENSe#]:AVERage:COUNt")
    def _average_count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.state.average_count)
        call.expect(1)
        self.state.average_count = round(
            parse_number(call.param(), minimum=1, maximum=100, default=10)
        )
        return None

    @scpi("[:SENSe#]:AVERage:TCONtrol")
    def _average_filter(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.average_filter
        call.expect(1)
        self.state.average_filter = parse_choice(call.param(), ["REPeat", "MOVing"], short=True)
        return None

    # ------------------------------------------------------------------ :SYSTem
    @scpi(":SYSTem:RSENse")
    def _rsense(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "four_wire")

    @scpi(":SYSTem:AZERo[:STATe]")
    def _autozero(self, call: Call) -> str | None:
        if not call.query and call.params and call.params[0].strip().upper() == "ONCE":
            call.expect(1)
            self.world.clock.advance(self.state.nplc / self.world.line_frequency_hz)
            return None
        return self.bool_setting(call, self.state, "autozero")

    @scpi(":SYSTem:LFRequency")
    def _line_frequency(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(round(self.world.line_frequency_hz))
        call.expect(1)
        value = round(parse_number(call.param(), minimum=50, maximum=60))
        if value not in (50, 60):
            raise ScpiError(-224, call.text)
        if value != round(self.world.line_frequency_hz):
            raise ScpiError(-221, "the simulated mains frequency is fixed by the bench")
        return None

    @scpi(":SYSTem:LFRequency:AUTO")
    def _line_frequency_auto(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "1"
        call.expect(1)
        parse_bool(call.param())
        return None

    @scpi(":SYSTem:TIME?")
    def _time(self, call: Call) -> str:
        call.expect(0)
        return self.format_number(self.world.clock.now - self.state.time_zero_s)

    @scpi(":SYSTem:TIME:RESet!")
    def _time_reset(self, call: Call) -> None:
        call.expect(0)
        self.state.time_zero_s = self.world.clock.now

    @scpi(":SYSTem:BEEPer[:IMMediate]!")
    def _beep(self, call: Call) -> None:
        call.expect(2)
        parse_number(call.param(0), minimum=65.0, maximum=2e6)
        duration = parse_number(call.param(1), minimum=0.0, maximum=7.9)
        if self.state.beeper:
            self.world.clock.advance(duration)

    @scpi(":SYSTem:BEEPer:STATe")
    def _beeper(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "beeper")

    @scpi(":SYSTem:PRESet!")
    def _preset(self, call: Call) -> None:
        call.expect(0)
        self.reset()  # [E] :SYST:PRES differs from *RST in a few front-panel settings

    @scpi(":DISPlay:ENABle")
    def _display(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "display")

    @scpi(":ROUTe:TERMinals")
    def _terminals(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.terminals
        call.expect(1)
        terminals = parse_choice(call.param(), ["FRONt", "REAR"], short=True)
        if terminals != self.state.terminals:
            self.state.output = False  # switching terminals turns the output off
            self.state.terminals = terminals
            self._apply()
        return None

    # ------------------------------------------------------------------ :FORMat
    @scpi(":FORMat:ELEMents[:SENSe#]")
    def _elements(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return ",".join(self.state.elements)
        call.expect((1, 5))
        chosen = {
            parse_choice(p, ["VOLTage", "CURRent", "RESistance", "TIME", "STATus"], short=True)
            for p in call.params
        }
        self.state.elements = tuple(e for e in ELEMENTS if e in chosen)  # always V,I,R,T,S order
        return None

    @scpi(":FORMat[:DATA]")
    def _data_format(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "ASC"
        call.expect((1, 2))
        if parse_choice(call.param(), ["ASCii", "REAL", "SREal"], short=True) != "ASC":
            raise ScpiError(-221, "binary formats do not pass a text socket")
        return None

    # ------------------------------------------------------------------ trigger model
    @scpi(":ARM[:SEQuence#][:LAYer#]:SOURce")
    def _arm_source(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.arm_source
        call.expect(1)
        source = parse_choice(
            call.param(),
            ["IMMediate", "TLINk", "TIMer", "MANual", "BUS", "NSTest", "PSTest", "BSTest"],
            short=True,
        )
        if source not in ("IMM", "BUS", "TIM"):
            raise ScpiError(-224, f"arm source {source} is not simulated (no input wired)")
        self.state.arm_source = source
        return None

    @scpi(":ARM[:SEQuence#][:LAYer#]:COUNt")
    def _arm_count(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            return "INF" if s.arm_infinite else str(s.arm_count)
        call.expect(1)
        if call.param().strip().upper().startswith("INF"):
            s.arm_infinite = True
            return None
        count = round(parse_number(call.param(), minimum=1, maximum=MAX_SAMPLES, default=1))
        if count * s.trigger_count > MAX_SAMPLES:
            raise ScpiError(-221, "arm count x trigger count exceeds 2500")
        s.arm_count, s.arm_infinite = count, False
        return None

    @scpi(":ARM[:SEQuence#][:LAYer#]:TIMer")
    def _arm_timer(self, call: Call) -> str | None:
        return self.number_setting(
            call, self.state, "arm_timer_s", unit="S", minimum=0.001, maximum=99999.99, default=0.1
        )

    @scpi(":TRIGger[:SEQuence#]:SOURce")
    def _trigger_source(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.trigger_source
        call.expect(1)
        source = parse_choice(call.param(), ["IMMediate", "TLINk"], short=True)
        if source != "IMM":
            raise ScpiError(-224, "trigger link input is not simulated (no input wired)")
        self.state.trigger_source = source
        return None

    @scpi(":TRIGger[:SEQuence#]:COUNt")
    def _trigger_count(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            return str(s.trigger_count)
        call.expect(1)
        count = round(parse_number(call.param(), minimum=1, maximum=MAX_SAMPLES, default=1))
        if count * s.arm_count > MAX_SAMPLES:
            raise ScpiError(-221, "arm count x trigger count exceeds 2500")
        s.trigger_count = count
        return None

    @scpi(":TRIGger[:SEQuence#]:DELay")
    def _trigger_delay(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "trigger_delay_s",
            unit="S",
            minimum=0.0,
            maximum=999.9999,
            default=0.0,
        )

    @scpi(
        ":ARM[:SEQuence#][:LAYer#]:ILINe",
        ":ARM[:SEQuence#][:LAYer#]:OLINe",
        ":TRIGger[:SEQuence#]:ILINe",
        ":TRIGger[:SEQuence#]:OLINe",
    )
    def _link_line(self, call: Call) -> str | None:
        layer = "arm" if call.has_node("ARM") else "trigger"
        kind = "input" if call.has_node("ILINe") else "output"
        attr = f"{layer}_{kind}_line"
        if call.query:
            call.expect(0)
            return str(getattr(self.state, attr))
        call.expect(1)
        setattr(self.state, attr, round(parse_number(call.param(), minimum=1, maximum=4)))
        return None

    @scpi(":TRIGger[:SEQuence#]:OUTPut", ":TRIGger[:SEQuence#]:INPut")
    def _trigger_events(self, call: Call) -> str | None:
        attr = "trigger_outputs" if call.has_node("OUTPut") else "trigger_inputs"
        if call.query:
            call.expect(0)
            return ",".join(getattr(self.state, attr)) or "NONE"
        call.expect((1, 3))
        events = [
            parse_choice(p, ["SOURce", "DELay", "SENSe", "NONE"], short=True) for p in call.params
        ]
        if "NONE" in events and len(events) > 1:
            raise ScpiError(-224, call.text)
        if attr == "trigger_inputs" and "NONE" not in events:
            raise ScpiError(-224, "trigger link input is not simulated (no input wired)")
        setattr(self.state, attr, tuple(e for e in events if e != "NONE"))
        return None

    @scpi(":ARM[:SEQuence#][:LAYer#]:OUTPut")
    def _arm_events(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return ",".join(self.state.arm_outputs) or "NONE"
        call.expect((1, 2))
        events = [parse_choice(p, ["TENTer", "TEXit", "NONE"], short=True) for p in call.params]
        self.state.arm_outputs = tuple(e for e in events if e != "NONE")
        return None

    @scpi(":TRIGger[:SEQuence#]:CLEar!")
    def _trigger_clear(self, call: Call) -> None:
        call.expect(0)  # no latched input triggers: nothing is wired to the inputs

    def _sdm_cycle(self) -> Reading:
        """One source-delay-measure cycle (manual 11-4): delay, source action, source delay,
        measure; advances the clock and returns the reading."""
        s = self.state
        clock = self.world.clock
        clock.advance(s.trigger_delay_s)
        if s.current_triggered_a != s.current_level_a and s.source_function == "CURR":
            self._set_level("A", s.current_triggered_a)  # [E] the triggered level stays applied
        elif s.voltage_triggered_v != s.voltage_level_v and s.source_function == "VOLT":
            self._set_level("V", s.voltage_triggered_v)
        if s.auto_output_off and not s.output:
            s.output, s.level_changed = True, True
            self._apply()
        if "SOUR" in s.trigger_outputs:
            self.world.fire_hardware_trigger(clock.now)
        if s.level_changed:
            clock.advance(s.source_delay_s)
            s.level_changed = False
        if "DEL" in s.trigger_outputs:
            self.world.fire_hardware_trigger(clock.now)
        reading = self._measure()
        if "SENS" in s.trigger_outputs:
            self.world.fire_hardware_trigger(clock.now)
        if s.auto_output_off:
            s.output = False
            self._apply()
        return reading

    def _measure(self) -> Reading:
        s = self.state
        clock = self.world.clock
        conversions = max(len(s.functions), 1)
        filter_count = s.average_count if s.average and s.average_filter == "REP" else 1
        aperture = s.nplc / self.world.line_frequency_hz
        start = clock.now
        clock.advance(filter_count * conversions * (aperture + CONVERSION_OVERHEAD_S))
        rng = self.world.rng
        noise = math.sqrt(1.0 / max(s.nplc, 0.01) / filter_count)
        current_true = self.world.input_a if s.output else 0.0
        four_wire = s.four_wire and s.output
        compliance = self._in_compliance()
        voltage_true = self.world.input_voltage_v(four_wire) if s.output else 0.0
        if compliance and s.source_function == "CURR":
            voltage_true = math.copysign(self._voltage_limit_v(), current_true or 1.0)
        if s.source_function == "CURR":
            i_range = s.current_range_a  # the measure range follows the source range
        elif s.sense_current_auto:
            i_range = _range_for(current_true, CURRENT_RANGES, MEASURE_OVERRANGE)
        else:
            i_range = s.sense_current_range_a
        v_range = (
            _range_for(voltage_true, VOLTAGE_RANGES, MEASURE_OVERRANGE)
            if s.sense_voltage_auto
            else s.sense_voltage_range_v
        )
        i_spec, v_spec = MEASURE_CURRENT_SPEC[i_range], MEASURE_VOLTAGE_SPEC[v_range]
        current = self.cal.apply("measure-current", i_spec, current_true)
        current += rng.normal(0.0, 0.02 * i_spec.offset * noise)
        voltage = self.cal.apply("measure-voltage", v_spec, voltage_true)
        voltage += rng.normal(0.0, 0.02 * v_spec.offset * noise)
        # over-range judged on the input signal (a reading at the range compliance is valid)
        if abs(voltage_true) > v_range * MEASURE_OVERRANGE * (1 + 1e-9):
            voltage = OVERFLOW
        if abs(current_true) > i_range * MEASURE_OVERRANGE * (1 + 1e-9):
            current = OVERFLOW
        word = (WORD_I_SOUR if s.source_function == "CURR" else WORD_V_SOUR) | (
            WORD_REMOTE_SENSE if s.four_wire else 0
        )
        if compliance:
            word |= WORD_COMPLIANCE
        # an element not measured: the programmed source value for the sourced quantity,
        # NAN otherwise (manual 18-51)
        v_element = (
            voltage
            if "VOLT" in s.functions
            else (s.voltage_level_v if s.source_function == "VOLT" else NAN)
        )
        i_element = (
            current
            if "CURR" in s.functions
            else (s.current_level_a if s.source_function == "CURR" else NAN)
        )
        if "VOLT" in s.functions:
            word |= WORD_V_MEAS
        if "CURR" in s.functions:
            word |= WORD_I_MEAS
        r_element = NAN
        if "RES" in s.functions:
            word |= WORD_R_MEAS
            r_element = (
                voltage / current if abs(current) > 1e-12 and voltage != OVERFLOW else OVERFLOW
            )
        reading = Reading(v_element, i_element, r_element, start - s.time_zero_s, word)
        if s.trace_feed_next and len(s.trace) < s.trace_points:
            s.trace.append(reading)
            if len(s.trace) >= s.trace_points:
                s.trace_feed_next = False  # a full buffer stops storing (FEED:CONT -> NEV)
        return reading

    def _run(self, call: Call) -> None:
        """Leave idle: arm count x trigger count SDM cycles (the output must be on, or auto
        output-off enabled: +803)."""
        s = self.state
        if not s.output and not s.auto_output_off:
            raise ScpiError(803, "Not permitted with OUTPUT off")
        if s.arm_infinite:
            raise ScpiError(830, "Invalid with INF ARM:COUNT")
        s.samples = []
        for arm in range(s.arm_count):
            if arm and s.arm_source == "TIM":
                self.world.clock.advance(s.arm_timer_s)
            if "TENT" in s.arm_outputs:
                self.world.fire_hardware_trigger(self.world.clock.now)
            for _ in range(s.trigger_count):
                s.samples.append(self._sdm_cycle())
            if "TEX" in s.arm_outputs:
                self.world.fire_hardware_trigger(self.world.clock.now)

    @scpi(":INITiate[:IMMediate]!")
    def _initiate(self, call: Call) -> None:
        call.expect(0)
        if self.state.arm_source == "BUS":
            if not self.state.output and not self.state.auto_output_off:
                raise ScpiError(803, "Not permitted with OUTPUT off")
            self.state.waiting_for_bus = True  # the arm layer waits for *TRG
            return
        self._run(call)

    @scpi("*TRG!")
    def _trg(self, call: Call) -> None:
        """Satisfies the arm layer only (``:ARM:SOURce BUS``; manual Table 11-1)."""
        call.expect(0)
        if not self.state.waiting_for_bus:
            raise ScpiError(-211, "*TRG")
        self.state.waiting_for_bus = False
        self._run(call)

    @scpi(":ABORt!")
    def _abort(self, call: Call) -> None:
        call.expect(0)
        self.state.waiting_for_bus = False

    def _format(self, readings: list[Reading]) -> str:
        return ",".join(
            self.format_number(r.element(e)) for r in readings for e in self.state.elements
        )

    @scpi(":FETCh?")
    def _fetch(self, call: Call) -> str:
        call.expect(0)
        if not self.state.samples:
            raise ScpiError(-230, "no readings: nothing was triggered")
        return self._format(self.state.samples)

    @scpi(":READ?")
    def _read(self, call: Call) -> str:
        call.expect(0)
        self.state.waiting_for_bus = False  # READ? = ABORt + INITiate + FETCh?
        self._run(call)
        return self._format(self.state.samples)

    @scpi(":CONFigure:VOLTage[:DC]!", ":CONFigure:CURRent[:DC]!", ":CONFigure:RESistance!")
    def _configure(self, call: Call) -> None:
        call.expect(0)
        self._configure_for(call)

    def _configure_for(self, call: Call) -> None:
        """One-shot set-up (manual 17-3): the one function, auto range, counts 1, immediate
        trigger and arm."""
        s = self.state
        function = (
            "VOLT" if call.has_node("VOLTage") else "CURR" if call.has_node("CURRent") else "RES"
        )
        s.concurrent, s.functions = False, [function]
        s.arm_source, s.trigger_source, s.arm_count, s.trigger_count = "IMM", "IMM", 1, 1
        s.arm_infinite = False
        s.trigger_delay_s = 0.0
        if function == "VOLT":
            s.sense_voltage_auto = True
        elif function == "CURR" and s.source_function != "CURR":
            s.sense_current_auto = True

    @scpi(":CONFigure?")
    def _configure_q(self, call: Call) -> str:
        call.expect(0)
        return ",".join(FUNCTION_REPLY[f] for f in self.state.functions)

    @scpi(
        ":MEASure[:VOLTage][:DC]?",
        ":MEASure:CURRent[:DC]?",
        ":MEASure:RESistance?",
    )
    def _measure_q(self, call: Call) -> str:
        call.expect(0)
        if len(call.header) > 1:
            self._configure_for(call)
        if not self.state.output:  # :MEASure? turns the output on (manual 17-5)
            self.state.output, self.state.level_changed = True, True
            self._apply()
        return self._read(call)

    # ------------------------------------------------------------------ :TRACe (buffer)
    @scpi(":TRACe:POINts", ":DATA:POINts")
    def _trace_points(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.state.trace_points)
        call.expect(1)
        self.state.trace_points = round(
            parse_number(call.param(), minimum=1, maximum=MAX_SAMPLES, default=100)
        )
        return None

    @scpi(":TRACe:POINts:ACTual?", ":DATA:POINts:ACTual?")
    def _trace_actual(self, call: Call) -> str:
        call.expect(0)
        return str(len(self.state.trace))

    @scpi(":TRACe:FEED", ":DATA:FEED")
    def _trace_feed(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.trace_feed
        call.expect(1)
        text = call.param().strip().upper()
        feed = parse_choice(text.rstrip("0123456789") or text, ["SENSe", "CALCulate"], short=True)
        if feed != "SENS" or text.endswith(("2", "3")):
            raise ScpiError(-224, "math and limit results are not simulated")
        self.state.trace_feed = feed
        return None

    @scpi(":TRACe:FEED:CONTrol", ":DATA:FEED:CONTrol")
    def _trace_control(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "NEXT" if self.state.trace_feed_next else "NEV"
        call.expect(1)
        self.state.trace_feed_next = (
            parse_choice(call.param(), ["NEXT", "NEVer"], short=True) == "NEXT"
        )
        return None

    @scpi(":TRACe:CLEar!", ":DATA:CLEar!")
    def _trace_clear(self, call: Call) -> None:
        call.expect(0)
        self.state.trace = []

    @scpi(":TRACe:DATA?", ":DATA:DATA?")
    def _trace_data(self, call: Call) -> str:
        call.expect(0)
        if not self.state.trace:
            raise ScpiError(-230, "the buffer is empty")
        return self._format(self.state.trace)

    @scpi(":CALCulate#:FORMat")
    def _calc3_format(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.calc3_format
        call.expect(1)
        self.state.calc3_format = parse_choice(
            call.param(), ["MEAN", "SDEViation", "MAXimum", "MINimum", "PKPK"], short=True
        )
        return None

    @scpi(":CALCulate#:DATA?")
    def _calc3_data(self, call: Call) -> str:
        """Buffer statistics per element (V, I, R in the element list's order)."""
        call.expect(0)
        if not self.state.trace:
            raise ScpiError(-230, "the buffer is empty")
        stats = {
            "MEAN": np.mean,
            "SDEV": lambda v: np.std(v, ddof=1) if len(v) > 1 else 0.0,
            "MAX": np.max,
            "MIN": np.min,
            "PKPK": np.ptp,
        }[self.state.calc3_format]
        values = []
        for element in ("VOLT", "CURR", "RES"):
            if element in self.state.elements:
                column = np.array([r.element(element) for r in self.state.trace])
                values.append(float(stats(column)))
        return ",".join(self.format_number(v) for v in values)
