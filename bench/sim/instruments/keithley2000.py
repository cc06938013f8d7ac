"""Simulated Keithley 2000 6.5-digit multimeter with a 2000-SCAN 10-channel scanner card (SCPI).

Sources (``[V]`` Model 2000 User's Manual 2000-900-01 / Quick Start Guide / data sheet as
summarised in docs/instruments-second-models.md section 2, ``[OS]`` PyMeasure's Keithley 2000
driver and buffer mixin written against real units, ``[E]`` an assumption of this simulator,
to verify on hardware):

* identity ``KEITHLEY INSTRUMENTS INC.,MODEL 2000,<serial>,<rev>`` [V, spacing E]; the classic
  SCPI error queue ``-113,"Undefined header"`` (10 entries [E]); numbers ``+1.23456789E+00``,
  overflow ``+9.9E37`` [V];
* functions DC volts (100 mV .. 1000 V) and DC current (10 mA .. 3 A) [V]; ``:CONFigure:<fn>``,
  ``:CONFigure?`` -> ``"VOLT:DC"`` [OS], ``:MEASure:<fn>?``, ``[:SENSe]:FUNCtion 'VOLT:DC'``,
  ``:RANGe[:UPPer]``, ``:RANGe:AUTO``, ``:NPLCycles`` 0.01 .. 10, ``:DIGits`` 4 .. 7,
  ``:AVERage[:STATe]|:TCONtrol|:COUNt`` (1 .. 100), ``:REFerence[:STATe]|:ACQuire`` [V, OS];
  autozero ``:SYSTem:AZERo[:STATe]`` [V, spelling unconfirmed]; the other functions (AC,
  resistance, frequency, temperature, ...) are not simulated (-224);
* trigger model [V Fig. 4-11]: ``:INITiate`` (or ``:INITiate:CONTinuous ON``) -> control source
  ``:TRIGger:SOURce IMMediate|EXTernal|TIMer|MANual|BUS`` -> ``:TRIGger:DELay`` (0 ..
  999999.999 s; ``:AUTO`` 1 ms for DC [E]) -> device action (``:SAMPle:COUNt`` readings, 1 ..
  1024) -> output trigger (VMC) -> ``:TRIGger:COUNt`` (1 .. 9999 or INF); EXTernal is met by
  the Trigger Link EXT TRIG line (``world.trigger_listeners``), ``*TRG`` / GET [V];
  ``:TRIGger:TIMer`` 0.001 .. 999999.999 s; ``:ABORt``; ``:READ?`` (-213 with continuous
  initiation on), ``:FETCh?``;
* reading time per reading from the data sheet's rates at 60 Hz (2000/s at 0.01 PLC, 1000/s at
  0.04, 500/s at 0.1, 50/s at 1, 5/s at 10 PLC, autozero off) interpolated in NPLC, the
  integration part scaled to the line frequency; autozero on adds one more integration [E];
  trigger latency 2 us with +-0.5 us jitter [E, order of magnitude from the Model 2002 spec];
  the trigger delay is applied as sent (1 us resolution [E]: the manual writes the range
  999999.999 s, which may mean a 1 ms timer - confirm on hardware);
* rms noise from the data sheet's 10 V range column (0.15 / 0.4 / 2.2 / 15 ppm of range at
  10 / 1 / 0.1 / 0.01 PLC) [V], the same parts of range on every range [E]; the averaging
  filter divides it by sqrt(count), the repeating filter takes count conversions per reading;
* accuracy 1 year +-(ppm rdg + ppm rng) of the 2000-family DC front end (Model 2016 sheet:
  [unconfirmed for the 2000]); 1 A / 3 A ranges [E];
* buffer ``:TRACe:POINts`` 2 .. 1024, ``:FEED SENSe|CALCulate|NONE``, ``:FEED:CONTrol
  NEXT|NEVer``, ``:DATA?``, ``:CLEar``, ``:FREE?``; the buffer fills with NEXT and stops when
  full [V, OS]; ``:FORMat[:DATA] ASCii`` (binary formats -221), ``:FORMat:ELEMents
  READing,CHANnel,UNITs`` always sent in that order [V];
* 2000-SCAN [V]: ``:ROUTe:CLOSe (@n)`` closes one channel after opening the closed one
  (3 ms [E]), ``:ROUTe:CLOSe:STATe?``, ``:ROUTe:OPEN:ALL``, ``:ROUTe:SCAN[:INTernal] (@list)``,
  ``:ROUTe:SCAN:LSELect INTernal|NONE``: with the internal list selected each reading of the
  trigger model is taken on the next channel of the list; the card switches volts only
  (current is measured at the AMPS input) [E];
* status [V Quick Start Fig. 1-3/1-4]: measurement event register (bit 0 reading overflow,
  5 reading available, 7 buffer available, 8 buffer half full, 9 buffer full) with
  ``:STATus:MEASurement[:EVENt]?|:CONDition?|:ENABle``, summarised in status byte bit 0;
  operation bits 4 measuring, 5 waiting for a trigger, 10 idle; ``:STATus:QUEue[:NEXT]?``,
  ``:STATus:QUEue:CLEar``; ``:SYSTem:PRESet``, ``:SYSTem:LFRequency?``, ``:SYSTem:BEEPer``,
  ``:SYSTem:KEY``, ``:SYSTem:LOCal|REMote|RWLock`` and ``:DISPlay`` accepted.
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
    format_keysight_number,
    parse_bool,
    parse_channel_list,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)
from bench.sim.status import StatusRegister
from bench.sim.zero_drift import ZeroDrift

CHANNELS = range(1, 11)
VOLTAGE_RANGES = (0.1, 1.0, 10.0, 100.0, 1000.0)
CURRENT_RANGES = (0.01, 0.1, 1.0, 3.0)
#: 1 year +-(gain of reading, offset); 2000-family DC front end (Model 2016 sheet), [E] 1 A, 3 A
VOLTAGE_SPEC = {
    0.1: RangeSpec(0.1, 50e-6, 35e-6 * 0.1),
    1.0: RangeSpec(1.0, 30e-6, 7e-6 * 1.0),
    10.0: RangeSpec(10.0, 30e-6, 5e-6 * 10.0),
    100.0: RangeSpec(100.0, 45e-6, 6e-6 * 100.0),
    1000.0: RangeSpec(1000.0, 45e-6, 10e-6 * 1000.0),
}
CURRENT_SPEC = {
    0.01: RangeSpec(0.01, 500e-6, 80e-6 * 0.01),
    0.1: RangeSpec(0.1, 500e-6, 800e-6 * 0.1),
    1.0: RangeSpec(1.0, 1000e-6, 100e-6 * 1.0),
    3.0: RangeSpec(3.0, 1200e-6, 200e-6 * 3.0),
}
SHUNT_OHM = {0.01: 10.0, 0.1: 0.1, 1.0: 0.1, 3.0: 0.1}  # [V] data sheet
#: autozero-off error "add +-(2 ppm of range + 5 uV) for < 10 minutes and +-1 degC change"
#: [V sister: Model 2015 data sheet, the 2000's DC front end; the 2000 sheet not retrieved];
#: DC current: the 5 uV across the range's shunt [E]
AUTOZERO_OFF_HOLD_S = 600.0


def autozero_off_error(volts: bool, range_value: float) -> float:
    """Half-width of the added zero error with autozero off, in V or A (docs/metrology.md 4.1)."""
    if volts:
        return 2e-6 * range_value + 5e-6
    return 2e-6 * range_value + 5e-6 / SHUNT_OHM[range_value]


OVERRANGE = {1000.0: 1.01, 3.0: 1.01}  # [V] 120 % except 1000 V and 3 A
NPLC_LIMITS = (0.01, 10.0)
#: readings per second at 60 Hz, autozero off, fixed range, into the buffer [V data sheet]
RATE_TABLE_60HZ = ((0.01, 2000.0), (0.04, 1000.0), (0.1, 500.0), (1.0, 50.0), (10.0, 5.0))
#: rms noise in parts of range (10 V range column of the data sheet) [V]
NOISE_TABLE = ((0.01, 15e-6), (0.1, 2.2e-6), (1.0, 0.4e-6), (10.0, 0.15e-6))
BUFFER_MAX = 1024
SAMPLE_MAX = 1024
TRIGGER_COUNT_MAX = 9999
RELAY_SWITCH_S = 0.003  # [E] 2000-SCAN relay break-before-make incl. settling
TRIGGER_LATENCY_S = 2e-6  # [E]
TRIGGER_JITTER_S = 0.5e-6  # [E] half-width, uniform
AUTO_DELAY_S = 0.001  # [E] auto trigger delay of the DC functions
HIGH_Z_OHM = 10e9  # [V] > 10 Gohm on 100 mV .. 10 V
TEN_MEG_OHM = 10e6  # [V] 100 V, 1000 V
OVERFLOW = 9.9e37
FUNCTIONS = {
    **dict.fromkeys(("VOLT", "VOLT:DC", "VOLTAGE", "VOLTAGE:DC"), "VOLT:DC"),
    **dict.fromkeys(("CURR", "CURR:DC", "CURRENT", "CURRENT:DC"), "CURR:DC"),
}
OTHER_FUNCTIONS = {"VOLT:AC", "CURR:AC", "RES", "FRES", "FREQ", "PER", "TEMP", "DIOD", "CONT"}
UNIT_TEXT = {"VOLT:DC": "VDC", "CURR:DC": "ADC"}
ELEMENTS = ("READing", "CHANnel", "UNITs")
# measurement event register bits [V]
MEAS_ROF = 1 << 0
MEAS_RAV = 1 << 5
MEAS_BAV = 1 << 7
MEAS_BHF = 1 << 8
MEAS_BFL = 1 << 9
OPER_MEASURING = 1 << 4
OPER_TRIGGERING = 1 << 5
OPER_IDLE = 1 << 10
STB_MSB = 1 << 0


def _interp_loglog(table: tuple[tuple[float, float], ...], x: float) -> float:
    xs = np.log([p[0] for p in table])
    ys = np.log([p[1] for p in table])
    return float(np.exp(np.interp(math.log(x), xs, ys)))


def reading_period_s(nplc: float, line_hz: float, autozero: bool) -> float:
    """Time from one reading's start to the next (data-sheet rates, see the module docstring)."""
    at_60 = 1.0 / _interp_loglog(RATE_TABLE_60HZ, nplc)
    integration = nplc / line_hz
    period = at_60 + integration - nplc / 60.0
    return period + (integration if autozero else 0.0)


def noise_rel(nplc: float) -> float:
    return _interp_loglog(NOISE_TABLE, nplc)


def _range_for(value: float, ranges: tuple[float, ...]) -> float:
    for r in ranges:
        if abs(value) <= r * (1.0 + 1e-9):
            return r
    return ranges[-1]


@dataclass
class FunctionSettings:
    range: float
    range_auto: bool = True
    nplc: float = 1.0
    digits: int = 7
    average: bool = False
    average_repeat: bool = False  # TCONtrol REPeat (True) or MOVing
    average_count: int = 10
    reference: float = 0.0
    reference_on: bool = False


def _default_settings() -> dict[str, FunctionSettings]:
    return {"VOLT:DC": FunctionSettings(10.0), "CURR:DC": FunctionSettings(3.0)}


@dataclass
class Reading:
    value: float
    channel: int
    function: str


@dataclass
class Acquisition:
    """One INITiate: the triggers still expected and the readings scheduled on the clock."""

    triggers_left: float  # math.inf for an INF trigger count
    starts: list[float] = field(default_factory=list)
    channels: list[int] = field(default_factory=list)
    done: int = 0
    busy_until: float = 0.0
    next_timer: float = 0.0  # next TIMer trigger
    readings: list[Reading] = field(default_factory=list)


class Keithley2000(MeasurementStatus, SimInstrument):
    role = "dmm"
    error_queue_depth = 10  # [E]
    command_overhead_s = 0.002  # [E] GPIB-era parser: a few ms per message
    options_reply = "0"  # [E] no memory or interface options; the card is not an *OPT? option
    scpi_version = "1991.0"  # [E]
    single_nodes = frozenset({"SENS", "SEQ", "WIND"})

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        self.measurement = StatusRegister()
        self.buffer: list[Reading] = []
        #: the zero the front end holds while autozero is off [E]
        self.zero = ZeroDrift(world.seed, ident.serial, hold_s=AUTOZERO_OFF_HOLD_S)
        super().__init__(world, ident)
        world.trigger_listeners.append(self._external_trigger)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("KEITHLEY INSTRUMENTS INC.", "MODEL 2000", "1234567", "A19  /A02")

    # ------------------------------------------------------------------ formats
    def format_error(self, code: int, message: str) -> str:
        return f'{code},"{message}"'

    def format_number(self, value: float) -> str:
        if not math.isfinite(value) or abs(value) >= OVERFLOW:
            return "+9.9E37"
        return format_keysight_number(value)

    def _plus_sign_integers(self) -> bool:
        return False

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """``*RST`` defaults [V]: DC volts, autorange, 1 PLC... (front-panel defaults differ:
        ``:SYSTem:PRESet`` turns continuous initiation on)."""
        self.function = "VOLT:DC"
        self.settings = _default_settings()
        self.autozero = True
        self.trigger_source = "IMM"
        self.trigger_delay_s = AUTO_DELAY_S
        self.trigger_delay_auto = True
        self.trigger_count: float = 1
        self.trigger_timer_s = 0.1
        self.sample_count = 1
        self.init_continuous = False
        self.elements = ["READ"]
        self.closed: int | None = None
        self.scan_list: list[int] = []
        self.scan_internal = False
        self.scan_index = 0
        self.trace_points = 100  # [E]
        self.trace_feed = "SENS"
        self.trace_next = False
        self.buffer = []
        self.display_on = True
        self.display_text = ""
        self.display_text_on = False
        self.beeper = True
        self.acquisition: Acquisition | None = None
        self.latest: list[Reading] = []
        self.zero.rezero(self.world.clock.now)
        self._update_burden()

    def _update_burden(self) -> None:
        """Direct topology: the AMPS input's shunt sits in the output loop."""
        if self.world.wiring.topology == "direct":
            self.world.set_output_meter_burden(SHUNT_OHM[self.settings["CURR:DC"].range])

    def _st(self, call: Call | None = None) -> FunctionSettings:
        if call is None:
            return self.settings[self.function]
        return self.settings["CURR:DC" if call.has_node("CURRent") else "VOLT:DC"]

    # ------------------------------------------------------------------ configure / measure
    def _configure(self, function: str, params: list[str]) -> None:
        """``CONFigure``: function, range (value or AUTO) and the one-shot trigger set-up."""
        self._idle_required()
        st = self.settings[function]
        ranges = VOLTAGE_RANGES if function == "VOLT:DC" else CURRENT_RANGES
        if params and params[0].strip().upper() not in ("AUTO", "DEF", "DEFAULT"):
            value = parse_number(
                params[0],
                unit="V" if function == "VOLT:DC" else "A",
                minimum=0.0,
                maximum=ranges[-1] * 1.01,
                default=ranges[-1],
            )
            st.range, st.range_auto = _range_for(value, ranges), False
        else:
            st.range_auto = True
        self.function = function
        self.trigger_source, self.trigger_count, self.sample_count = "IMM", 1, 1
        self.trigger_delay_auto, self.trigger_delay_s = True, AUTO_DELAY_S
        self.init_continuous = False
        self._update_burden()

    @scpi(":CONFigure:VOLTage[:DC]!", ":CONFigure:CURRent[:DC]!")
    def _conf(self, call: Call) -> None:
        call.expect((0, 2))
        self._configure("CURR:DC" if call.has_node("CURRent") else "VOLT:DC", call.params)

    @scpi(
        ":CONFigure:VOLTage:AC!",
        ":CONFigure:CURRent:AC!",
        ":CONFigure:RESistance!",
        ":CONFigure:FRESistance!",
        ":CONFigure:FREQuency!",
        ":CONFigure:PERiod!",
        ":CONFigure:TEMPerature!",
        ":CONFigure:DIODe!",
        ":CONFigure:CONTinuity!",
    )
    def _conf_other(self, call: Call) -> None:
        raise ScpiError(-224, f"function not simulated: {call.text.strip()[:40]}")

    @scpi(":CONFigure?")
    def _conf_q(self, call: Call) -> str:
        call.expect(0)
        return f'"{self.function}"'

    @scpi(":MEASure:VOLTage[:DC]?", ":MEASure:CURRent[:DC]?")
    def _measure(self, call: Call) -> str:
        call.expect((0, 2))
        self._configure("CURR:DC" if call.has_node("CURRent") else "VOLT:DC", call.params)
        return self._read()

    @scpi("[:SENSe#]:FUNCtion")
    def _function(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self.function}"'
        call.expect(1)
        name = parse_string(call.param()).upper()
        if name in OTHER_FUNCTIONS:
            raise ScpiError(-224, f"function not simulated: {name}")
        if name not in FUNCTIONS:
            raise ScpiError(-224, call.text.strip()[:40])
        self._idle_required()
        self.function = FUNCTIONS[name]
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", "[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]")
    def _range(self, call: Call) -> str | None:
        st = self._st(call)
        volts = not call.has_node("CURRent")
        ranges = VOLTAGE_RANGES if volts else CURRENT_RANGES
        if call.query:
            call.expect(0)
            return self.format_number(st.range)
        call.expect(1)
        value = parse_number(
            call.param(),
            unit="V" if volts else "A",
            minimum=0.0,
            maximum=ranges[-1] * 1.01,
            default=ranges[-1],
        )
        st.range, st.range_auto = _range_for(value, ranges), False
        self._update_burden()
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", "[:SENSe#]:CURRent[:DC]:RANGe:AUTO")
    def _range_auto(self, call: Call) -> str | None:
        return self.bool_setting(call, self._st(call), "range_auto")

    @scpi("[:SENSe#]:VOLTage[:DC]:NPLCycles", "[:SENSe#]:CURRent[:DC]:NPLCycles")
    def _nplc(self, call: Call) -> str | None:
        """With autozero off a new integration rate takes fresh reference and zero readings
        at it [V sister: Model 2700 manual, autozero note: "to force a rapid update of the
        internal reference points, set the integration rate to 0.01 PLC, and then back"]; it
        takes one integration [E]."""
        reply = self.number_setting(
            call,
            self._st(call),
            "nplc",
            minimum=NPLC_LIMITS[0],
            maximum=NPLC_LIMITS[1],
            default=1.0,
        )
        if not call.query and not self.autozero:
            self.world.clock.advance(self._st(call).nplc / self.world.line_frequency_hz)
            self.zero.rezero(self.world.clock.now)
        return reply

    @scpi("[:SENSe#]:VOLTage[:DC]:DIGits", "[:SENSe#]:CURRent[:DC]:DIGits")
    def _digits(self, call: Call) -> str | None:
        st = self._st(call)
        if call.query:
            call.expect(0)
            return str(st.digits)
        call.expect(1)
        st.digits = round(parse_number(call.param(), minimum=4, maximum=7, default=7))
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:AVERage[:STATe]", "[:SENSe#]:CURRent[:DC]:AVERage[:STATe]")
    def _average(self, call: Call) -> str | None:
        return self.bool_setting(call, self._st(call), "average")

    @scpi("[:SENSe#]:VOLTage[:DC]:AVERage:TCONtrol", "[:SENSe#]:CURRent[:DC]:AVERage:TCONtrol")
    def _average_tcon(self, call: Call) -> str | None:
        st = self._st(call)
        if call.query:
            call.expect(0)
            return "REP" if st.average_repeat else "MOV"
        call.expect(1)
        st.average_repeat = parse_choice(call.param(), ["REPeat", "MOVing"]) == "REPEAT"
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:AVERage:COUNt", "[:SENSe#]:CURRent[:DC]:AVERage:COUNt")
    def _average_count(self, call: Call) -> str | None:
        st = self._st(call)
        if call.query:
            call.expect(0)
            return str(st.average_count)
        call.expect(1)
        st.average_count = round(parse_number(call.param(), minimum=1, maximum=100, default=10))
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:REFerence", "[:SENSe#]:CURRent[:DC]:REFerence")
    def _reference(self, call: Call) -> str | None:
        top = 1010.0 if not call.has_node("CURRent") else 3.1
        return self.number_setting(
            call, self._st(call), "reference", minimum=-top, maximum=top, default=0.0
        )

    @scpi("[:SENSe#]:VOLTage[:DC]:REFerence:STATe", "[:SENSe#]:CURRent[:DC]:REFerence:STATe")
    def _reference_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self._st(call), "reference_on")

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:REFerence:ACQuire!",
        "[:SENSe#]:CURRent[:DC]:REFerence:ACQuire!",
    )
    def _reference_acquire(self, call: Call) -> None:
        call.expect(0)
        function = "CURR:DC" if call.has_node("CURRent") else "VOLT:DC"
        last = next((r for r in reversed(self.latest) if r.function == function), None)
        if last is None:
            raise ScpiError(-230, "no reading to acquire")  # [E]
        self._st(call).reference = last.value

    @scpi(":SYSTem:AZERo[:STATe]")
    def _autozero(self, call: Call) -> str | None:
        """ON/OFF only (no ONCE: -224); OFF keeps the references of the last reading."""
        was_on = self.autozero
        reply = self.bool_setting(call, self, "autozero")
        if was_on and not self.autozero:
            self.zero.rezero(self.world.clock.now)
        return reply

    # ------------------------------------------------------------------ routing (2000-SCAN)
    def _channels(self, text: str) -> list[int]:
        channels = parse_channel_list(text)
        if any(ch not in CHANNELS for ch in channels):
            raise ScpiError(-222, f"channel not on the 2000-SCAN: {text.strip()}")
        return channels

    @scpi(":ROUTe:CLOSe!")
    def _route_close(self, call: Call) -> None:
        call.expect(1)
        channels = self._channels(call.param())
        if len(channels) != 1:
            raise ScpiError(-222, "one channel at a time")
        self._idle_required()
        self._close(channels[0])

    def _close(self, channel: int | None) -> None:
        if channel != self.closed:
            self.closed = channel
            self.world.clock.advance(RELAY_SWITCH_S)

    @scpi(":ROUTe:CLOSe:STATe?")
    def _route_close_state(self, call: Call) -> str:
        call.expect(0)
        return f"(@{self.closed})" if self.closed is not None else "(@)"

    @scpi(":ROUTe:OPEN:ALL!")
    def _route_open_all(self, call: Call) -> None:
        call.expect(0)
        self._idle_required()
        self._close(None)

    @scpi(":ROUTe:SCAN[:INTernal]")
    def _scan(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f"(@{','.join(map(str, self.scan_list))})"
        call.expect(1)
        channels = self._channels(call.param())
        if not 2 <= len(channels) <= 10:
            raise ScpiError(-222, "a scan list holds 2 to 10 channels")
        self._idle_required()
        self.scan_list = channels
        return None

    @scpi(":ROUTe:SCAN:LSELect")
    def _scan_lsel(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "INT" if self.scan_internal else "NONE"
        call.expect(1)
        choice = parse_choice(call.param(), ["INTernal", "EXTernal", "NONE"])
        if choice == "EXTERNAL":
            raise ScpiError(-221, "no external scanner on this bench")
        if choice == "INTERNAL" and not self.scan_list:
            raise ScpiError(-221, "empty scan list")
        self._idle_required()
        self.scan_internal, self.scan_index = choice == "INTERNAL", 0
        return None

    # ------------------------------------------------------------------ trigger model
    @scpi(":TRIGger[:SEQuence#]:SOURce")
    def _trig_source(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.trigger_source
        call.expect(1)
        self._idle_required()
        self.trigger_source = parse_choice(
            call.param(), ["IMMediate", "EXTernal", "TIMer", "MANual", "BUS"], short=True
        )
        return None

    @scpi(":TRIGger[:SEQuence#]:DELay")
    def _trig_delay(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.trigger_delay_s)
        call.expect(1)
        self.trigger_delay_s = parse_number(
            call.param(), unit="S", minimum=0.0, maximum=999999.999, default=0.0
        )
        self.trigger_delay_auto = False
        return None

    @scpi(":TRIGger[:SEQuence#]:DELay:AUTO")
    def _trig_delay_auto(self, call: Call) -> str | None:
        result = self.bool_setting(call, self, "trigger_delay_auto")
        if not call.query and self.trigger_delay_auto:
            self.trigger_delay_s = AUTO_DELAY_S
        return result

    @scpi(":TRIGger[:SEQuence#]:COUNt")
    def _trig_count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            count = self.trigger_count
            return "+9.9E37" if math.isinf(count) else str(int(count))
        call.expect(1)
        self._idle_required()
        if call.param().strip().upper() in ("INF", "INFINITY"):
            self.trigger_count = math.inf
        else:
            self.trigger_count = round(
                parse_number(call.param(), minimum=1, maximum=TRIGGER_COUNT_MAX, default=1)
            )
        return None

    @scpi(":TRIGger[:SEQuence#]:TIMer")
    def _trig_timer(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self,
            "trigger_timer_s",
            unit="S",
            minimum=0.001,
            maximum=999999.999,
            default=0.1,
        )

    @scpi(":SAMPle:COUNt")
    def _samp_count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.sample_count)
        call.expect(1)
        self._idle_required()
        self.sample_count = round(parse_number(call.param(), minimum=1, maximum=SAMPLE_MAX))
        return None

    @scpi(":INITiate[:IMMediate]!")
    def _init(self, call: Call) -> None:
        call.expect(0)
        self._materialize(self.world.clock.now)
        if self._busy():
            raise ScpiError(-213, "Init ignored")
        self._start()

    @scpi(":INITiate:CONTinuous")
    def _init_continuous(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "1" if self.init_continuous else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on and not self.init_continuous:
            self.init_continuous = True
            self.trigger_count = math.inf if self.trigger_source == "IMM" else self.trigger_count
            if not self._busy():
                self._start()
        elif not on:
            self.init_continuous = False
        return None

    @scpi(":ABORt!")
    def _abort(self, call: Call) -> None:
        call.expect(0)
        self._materialize(self.world.clock.now)
        acq = self.acquisition
        if acq is not None:  # readings not complete now are abandoned
            now = self.world.clock.now
            aperture = self._st().nplc / self.world.line_frequency_hz
            keep = [i for i, t in enumerate(acq.starts) if t + aperture <= now + 1e-12]
            acq.starts = [acq.starts[i] for i in keep]
            acq.channels = [acq.channels[i] for i in keep]
            acq.done = min(acq.done, len(keep))
            acq.triggers_left = 0
            acq.busy_until = now
            self._materialize(now)
        if self.init_continuous:
            self._start()  # continuous initiation re-arms at once [V]

    @scpi("*TRG!")
    def _trg(self, call: Call) -> None:
        call.expect(0)
        acq = self.acquisition
        if acq is None or self.trigger_source not in ("BUS", "EXT") or acq.triggers_left <= 0:
            raise ScpiError(-211, "Trigger ignored")
        self._trigger(self.world.clock.now)

    def _external_trigger(self, t: float) -> None:
        """A falling edge on the Trigger Link EXT TRIG line."""
        acq = self.acquisition
        if acq is not None and self.trigger_source == "EXT" and acq.triggers_left > 0:
            self._trigger(t)

    def _idle_required(self) -> None:
        self._materialize(self.world.clock.now)
        if self._busy():
            raise ScpiError(-221, "Settings conflict: measurement in progress")

    def _busy(self) -> bool:
        acq = self.acquisition
        if acq is None:
            return False
        if acq.triggers_left > 0:
            return True
        return acq.busy_until > self.world.clock.now + 1e-12

    def _start(self) -> None:
        total = self.trigger_count * self.sample_count
        if math.isfinite(total) and total > BUFFER_MAX and not self.init_continuous:
            raise ScpiError(-221, "trigger count x sample count exceeds 1024")
        acq = Acquisition(self.trigger_count, busy_until=self.world.clock.now)
        self.acquisition = acq
        self.latest = []
        if self.trigger_source == "IMM":
            self._run_immediate(acq)
        elif self.trigger_source == "TIM":
            acq.next_timer = self.world.clock.now

    def _run_immediate(self, acq: Acquisition, upto: float | None = None) -> None:
        """Immediate (and timer) triggers follow each other; an INF count runs until ``upto``."""
        while acq.triggers_left > 0:
            if math.isinf(acq.triggers_left) and (upto is None or acq.busy_until > upto):
                return
            start = acq.busy_until
            if self.trigger_source == "TIM":
                start = max(start, acq.next_timer)
                acq.next_timer = start + self.trigger_timer_s
            self._trigger(start, jitter=False)

    def _trigger(self, t: float, jitter: bool = True) -> None:
        acq = self.acquisition
        assert acq is not None
        st = self.settings[self.function]
        period = self._reading_period(st)
        begin = max(t, acq.busy_until)
        if jitter:
            begin += TRIGGER_LATENCY_S + self.world.rng.uniform(-1, 1) * TRIGGER_JITTER_S
        begin += self.trigger_delay_s
        for _ in range(self.sample_count):
            channel = self.closed or 0
            if self.scan_internal:
                channel = self.scan_list[self.scan_index % len(self.scan_list)]
                self.scan_index += 1
                if channel != self.closed:
                    begin += RELAY_SWITCH_S
                    self.closed = channel
            acq.starts.append(begin)
            acq.channels.append(channel)
            begin += period
        acq.busy_until = begin
        acq.triggers_left -= 1

    def _reading_period(self, st: FunctionSettings) -> float:
        period = reading_period_s(st.nplc, self.world.line_frequency_hz, self.autozero)
        if st.average and st.average_repeat:
            period *= st.average_count
        return period

    # ------------------------------------------------------------------ readings
    def _materialize(self, now: float) -> None:
        """Compute every reading whose integration has ended by ``now`` (the world keeps its
        history, so a late fetch sees each change at its true time)."""
        acq = self.acquisition
        if acq is None:
            return
        if math.isinf(acq.triggers_left) and self.trigger_source in ("IMM", "TIM"):
            self._run_immediate(acq, upto=now)
            # keep memory bounded: only the last sample count's readings matter to FETCh?
        st = self.settings[self.function]
        aperture = st.nplc / self.world.line_frequency_hz
        while acq.done < len(acq.starts) and acq.starts[acq.done] + aperture <= now + 1e-12:
            lo = acq.done
            hi = lo
            while hi < len(acq.starts) and acq.starts[hi] + aperture <= now + 1e-12:
                hi += 1
            values = self._values(acq.starts[lo:hi], acq.channels[lo:hi], st, aperture)
            for value, channel in zip(values, acq.channels[lo:hi], strict=True):
                self._store(Reading(float(value), channel, self.function))
            acq.done = hi
        if math.isinf(acq.triggers_left) and acq.done > 4 * SAMPLE_MAX:
            drop = acq.done - SAMPLE_MAX
            del acq.starts[:drop], acq.channels[:drop]
            acq.done -= drop

    def _values(
        self, starts: list[float], channels: list[int], st: FunctionSettings, aperture: float
    ) -> np.ndarray:
        world = self.world
        volts = self.function == "VOLT:DC"
        true = np.zeros(len(starts))
        for i, (t0, channel) in enumerate(zip(starts, channels, strict=True)):
            if volts and channel:
                true[i] = world.channel_mean_v(channel, t0, t0 + aperture)
            elif not volts and world.wiring.topology == "direct":
                true[i] = float(world.mean_output_currents_a(np.array([t0]), aperture)[0])
        table = VOLTAGE_RANGES if volts else CURRENT_RANGES
        specs = VOLTAGE_SPEC if volts else CURRENT_SPEC
        if st.range_auto:
            ranges = np.array([_range_for(v / 1.2, table) for v in true])
        else:
            ranges = np.full(len(true), st.range)
        noise = noise_rel(st.nplc)
        if st.average:
            noise /= math.sqrt(st.average_count)
        out = np.empty(len(true))
        for i, r in enumerate(ranges):
            spec = specs[float(r)]
            gain, offset = self.cal.errors("DCV" if volts else "DCI", spec)
            loading = 1.0
            if volts and channels[i]:
                r_in = HIGH_Z_OHM if r <= 10.0 else TEN_MEG_OHM
                r_src = {1: "input", 2: "output", 3: "supply"}.get(channels[i])
                if r_src is not None:
                    loading = r_in / (r_in + world.shunt_ohm[r_src])
            if not self.autozero:  # the held zero drifts (bench/sim/zero_drift.py)
                drift = float(self.zero.relative(np.array([starts[i]]))[0])
                offset = offset + drift * autozero_off_error(volts, float(r))
            value = true[i] * loading * (1.0 + gain) + offset + world.rng.normal(0.0, noise * r)
            if st.reference_on:
                value -= st.reference
            out[i] = OVERFLOW if abs(value) > OVERRANGE.get(float(r), 1.2) * r else value
        if st.range_auto:
            st.range = float(ranges[-1])
        return out

    def _store(self, reading: Reading) -> None:
        self.latest.append(reading)
        if len(self.latest) > 2 * SAMPLE_MAX:  # free running: only recent readings matter
            del self.latest[:-SAMPLE_MAX]
        if self.trace_next and self.trace_feed == "SENS":
            self.buffer.append(reading)
            if len(self.buffer) >= self.trace_points:
                self.trace_next = False  # the buffer is full: storage stops [V]

    def wait_for_pending(self) -> None:
        """``*OPC?`` / ``*WAI``: run the clock to the end of the acquisition unless it waits
        for a trigger only the controller can give (the simulator cannot hold a reply)."""
        acq = self.acquisition
        if acq is None or math.isinf(acq.triggers_left):
            return
        if acq.triggers_left > 0 and self.trigger_source in ("EXT", "BUS", "MAN"):
            return
        if acq.triggers_left > 0:
            self._run_immediate(acq)
        self.world.clock.advance_to(acq.busy_until)
        self._materialize(self.world.clock.now)

    def _format(self, readings: list[Reading]) -> str:
        units = "UNIT" in self.elements
        out: list[str] = []
        for r in readings:
            if "READ" in self.elements:
                text = self.format_number(r.value)
                if units and abs(r.value) < OVERFLOW:
                    text += UNIT_TEXT[r.function]
                out.append(text)
            if "CHAN" in self.elements:
                out.append(f"{r.channel}{'INTCHAN' if units else ''}")
        return ",".join(out)

    def _fetch(self) -> str:
        acq = self.acquisition
        if acq is None and not self.latest:
            raise ScpiError(-230, "Data corrupt or stale")
        free_running = self.init_continuous or (acq is not None and math.isinf(acq.triggers_left))
        if acq is not None and not free_running:
            if acq.triggers_left > 0 and self.trigger_source in ("EXT", "BUS", "MAN"):
                raise ScpiError(-214, "Trigger deadlock")
            self.wait_for_pending()
        elif acq is not None:
            self._materialize(self.world.clock.now)
            if len(self.latest) < self.sample_count:  # the first readings are on their way
                period = self._reading_period(self._st())
                self._run_immediate(acq, upto=self.world.clock.now + self.sample_count * period)
                self.world.clock.advance_to(acq.busy_until)
                self._materialize(self.world.clock.now)
        readings = self.latest[-self.sample_count :] if free_running else self.latest
        if not readings:
            raise ScpiError(-230, "Data corrupt or stale")
        return self._format(readings)

    def _read(self) -> str:
        if self.init_continuous:
            raise ScpiError(-213, "Init ignored")
        if math.isinf(self.trigger_count):
            raise ScpiError(-221, "Settings conflict: READ? with an infinite trigger count")
        if self.trigger_source in ("BUS", "MAN"):
            raise ScpiError(-214, "Trigger deadlock")
        self._materialize(self.world.clock.now)
        if self._busy():
            self.acquisition = None  # READ? aborts first [V]
        self._start()
        return self._fetch()

    @scpi(":READ?")
    def _read_q(self, call: Call) -> str:
        call.expect(0)
        return self._read()

    @scpi(":FETCh?")
    def _fetch_q(self, call: Call) -> str:
        call.expect(0)
        return self._fetch()

    @scpi("[:SENSe#]:DATA[:LATest]?")
    def _data_latest(self, call: Call) -> str:
        """The latest reading, without triggering [V: ``[:SENSe#]:DATA?``]."""
        call.expect(0)
        self._materialize(self.world.clock.now)
        if not self.latest:
            raise ScpiError(-230, "Data corrupt or stale")
        return self._format(self.latest[-1:])

    # ------------------------------------------------------------------ buffer, format
    @scpi(":TRACe:CLEar!", ":DATA:CLEar!")
    def _trace_clear(self, call: Call) -> None:
        call.expect(0)
        self._materialize(self.world.clock.now)
        self.buffer = []

    @scpi(":TRACe:POINts", ":DATA:POINts")
    def _trace_points(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.trace_points)
        call.expect(1)
        self._idle_required()
        self.trace_points = round(parse_number(call.param(), minimum=2, maximum=BUFFER_MAX))
        return None

    @scpi(":TRACe:FEED", ":DATA:FEED")
    def _trace_feed(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.trace_feed
        call.expect(1)
        self.trace_feed = parse_choice(call.param(), ["SENSe", "CALCulate", "NONE"], short=True)
        if self.trace_feed == "NONE":
            self.trace_next = False
        return None

    @scpi(":TRACe:FEED:CONTrol", ":DATA:FEED:CONTrol")
    def _trace_control(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "NEXT" if self.trace_next else "NEV"
        call.expect(1)
        choice = parse_choice(call.param(), ["NEXT", "NEVer"])
        if choice == "NEXT" and self.trace_feed == "NONE":
            raise ScpiError(-221, "feed is NONE")
        self._materialize(self.world.clock.now)
        self.trace_next = choice == "NEXT"
        if self.trace_next:
            self.buffer = []  # storing starts with an empty buffer [E]
        return None

    @scpi(":TRACe:DATA?", ":DATA:DATA?")
    def _trace_data(self, call: Call) -> str:
        call.expect(0)
        self._materialize(self.world.clock.now)
        return self._format(self.buffer)

    @scpi(":TRACe:FREE?", ":DATA:FREE?")
    def _trace_free(self, call: Call) -> str:
        """Bytes available, bytes in use [V form; 12 bytes per reading E]."""
        call.expect(0)
        self._materialize(self.world.clock.now)
        used = 12 * len(self.buffer)
        return f"{12 * BUFFER_MAX - used},{used}"

    @scpi(":FORMat[:DATA]")
    def _format_data(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "ASC"
        call.expect((1, 2))
        data = parse_choice(call.param(), ["ASCii", "SREal", "DREal"], short=True)
        if data != "ASC":
            raise ScpiError(-221, f"FORMat:DATA {data} is not simulated (ASCii only)")
        return None

    @scpi(":FORMat:ELEMents")
    def _format_elements(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return ",".join(self.elements)
        call.expect((1, 3))
        chosen = {parse_choice(p, ELEMENTS, short=True) for p in call.params}
        self.elements = [e for e in ("READ", "CHAN", "UNIT") if e in chosen]
        if "READ" not in self.elements and "CHAN" not in self.elements:
            raise ScpiError(-221, "UNITs alone is not an element list")  # [E]
        return None

    @scpi(":FORMat:BORDer")
    def _format_border(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "SWAP"
        call.expect(1)
        parse_choice(call.param(), ["NORMal", "SWAPped"])
        return None

    # ------------------------------------------------------------------ status
    def status_conditions(self) -> tuple[int, int]:
        acq = self.acquisition
        now = self.world.clock.now
        if acq is None:
            return OPER_IDLE, 0
        self._materialize(now)
        waiting = acq.triggers_left > 0 and self.trigger_source in ("EXT", "BUS", "MAN")
        measuring = acq.done < len(acq.starts) or acq.busy_until > now + 1e-12
        if not waiting and not measuring:
            return OPER_IDLE, 0
        return (OPER_TRIGGERING if waiting else 0) | (OPER_MEASURING if measuring else 0), 0

    def update_status(self) -> None:
        super().update_status()
        condition = 0
        if self.latest:
            condition |= MEAS_RAV
            if abs(self.latest[-1].value) >= OVERFLOW:
                condition |= MEAS_ROF
        if self.buffer:
            condition |= MEAS_BAV
        if len(self.buffer) * 2 >= self.trace_points:
            condition |= MEAS_BHF
        if len(self.buffer) >= self.trace_points:
            condition |= MEAS_BFL
        self.measurement.update(condition)

    def extra_stb(self) -> int:
        return STB_MSB if self.measurement.summary else 0

    @scpi(":STATus:QUEue[:NEXT]?")
    def _status_queue(self, call: Call) -> str:
        call.expect(0)
        return self.pop_error()

    @scpi(":STATus:QUEue:CLEar!")
    def _status_queue_clear(self, call: Call) -> None:
        call.expect(0)
        self.errors.clear()

    # ------------------------------------------------------------------ system, display
    @scpi(":SYSTem:PRESet!")
    def _system_preset(self, call: Call) -> None:
        """Front-panel defaults: as ``*RST`` but with continuous initiation on [V]."""
        call.expect(0)
        self.reset()
        self.init_continuous = True
        self.trigger_count = math.inf
        self._start()

    @scpi(":SYSTem:LFRequency?")
    def _lfr(self, call: Call) -> str:
        call.expect(0)
        return str(round(self.world.line_frequency_hz))

    @scpi(":SYSTem:BEEPer:STATe")
    def _beeper(self, call: Call) -> str | None:
        return self.bool_setting(call, self, "beeper")

    @scpi(":SYSTem:BEEPer[:IMMediate]!")
    def _beep(self, call: Call) -> None:
        call.expect(2)
        parse_number(call.param(0), unit="HZ", minimum=65.0, maximum=2e6)
        parse_number(call.param(1), unit="S", minimum=0.0, maximum=7.9)

    @scpi(":SYSTem:KEY")
    def _key(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(getattr(self, "_last_key", 0))
        call.expect(1)
        self._last_key = round(parse_number(call.param(), minimum=1, maximum=31))
        return None

    @scpi(":SYSTem:LOCal!", ":SYSTem:REMote!", ":SYSTem:RWLock!")
    def _remote_state(self, call: Call) -> None:
        call.expect(0)

    @scpi(":SYSTem:CLEar!")
    def _system_clear(self, call: Call) -> None:
        call.expect(0)
        self.errors.clear()

    @scpi(":DISPlay:ENABle")
    def _display_enable(self, call: Call) -> str | None:
        return self.bool_setting(call, self, "display_on")

    @scpi(":DISPlay[:WINDow#]:TEXT:DATA")
    def _display_text_data(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self.display_text}"'
        call.expect(1)
        text = parse_string(call.param())
        if len(text) > 12:  # [V] 12-character message
            raise ScpiError(-223, "Too much data")
        self.display_text = text
        return None

    @scpi(":DISPlay[:WINDow#]:TEXT:STATe")
    def _display_text_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self, "display_text_on")

    def power_cycle(self) -> None:
        super().power_cycle()
        self.measurement = StatusRegister()


__all__ = ["Keithley2000", "SimInstrument", "reading_period_s"]
