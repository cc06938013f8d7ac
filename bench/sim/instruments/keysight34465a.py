"""Simulated Keysight 34465A Truevolt DMM (DC voltage and current, triggered/timed readings).

Sources: Keysight Truevolt Series Operating and Service Guide, SCPI reference (CONFigure,
MEASure?, [SENSe:], TRIGger, SAMPle, INITiate/FETCh?/READ?/R?, DATA:POINts?). Defaults after
``*RST``: DC voltage, autorange on, NPLC 10, autozero on, TRIG:SOUR IMM, TRIG:DEL:AUTO on,
TRIG:COUN 1, SAMP:COUN 1, SAMP:SOUR IMM.

Accuracy figures are the [K] values of docs/metrology.md 4.1 (to be confirmed against data sheet
5991-1983EN); shunt resistances are [E]. Both are marked where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keysight import KeysightInstrument
from bench.sim.scpi import (
    Call,
    ScpiError,
    parse_bool,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)
from bench.sim.zero_drift import ZeroDrift

VOLTAGE_RANGES = (0.1, 1.0, 10.0, 100.0, 1000.0)
CURRENT_RANGES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0)
# [K] 1-year accuracy, % of reading and % of range (docs/metrology.md 4.1; verify with 5991-1983EN)
VOLTAGE_SPEC = {
    0.1: RangeSpec(0.1, 0.000050, 0.000035 * 0.1),
    1.0: RangeSpec(1.0, 0.000040, 0.000007 * 1.0),
    10.0: RangeSpec(10.0, 0.000030, 0.000005 * 10.0),
    100.0: RangeSpec(100.0, 0.000045, 0.000006 * 100.0),
    1000.0: RangeSpec(1000.0, 0.000045, 0.000010 * 1000.0),
}
CURRENT_SPEC = {
    1e-4: RangeSpec(1e-4, 0.0005, 0.00025 * 1e-4),
    1e-3: RangeSpec(1e-3, 0.0005, 0.00005 * 1e-3),
    1e-2: RangeSpec(1e-2, 0.0005, 0.0002 * 1e-2),
    1e-1: RangeSpec(1e-1, 0.0005, 0.00005 * 1e-1),
    1.0: RangeSpec(1.0, 0.0008, 0.0001 * 1.0),
    3.0: RangeSpec(3.0, 0.0015, 0.0002 * 3.0),
}
SHUNT_OHM = {1e-4: 100.0, 1e-3: 100.0, 1e-2: 1.0, 1e-1: 1.0, 1.0: 0.1, 3.0: 0.1}  # [E]
NPLC_VALUES = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0)  # with the DIG option
OVERRANGE = 1.2
APERTURE_MIN_S = 20e-6  # with the DIG option
OPER_MEASURING = 1 << 4
OPER_WAIT_TRIGGER = 1 << 5
OVERLOAD = 9.9e37
_RESOLUTION = {
    0.001: 30e-6,
    0.002: 15e-6,
    0.006: 6e-6,
    0.02: 3e-6,
    0.06: 1.5e-6,
    0.2: 0.7e-6,
    1.0: 0.3e-6,
    10.0: 0.1e-6,
    100.0: 0.03e-6,
}
#: [E] autozero-off additional error: the 34401A/34410A/34970A family's data-sheet figure
#: (+-(0.0002 % of range + 5 uV) after a zero, +-1 degC, < 10 minutes), the Truevolt data sheet
#: 5991-1983EN not retrieved; DC current: the same 5 uV across the [E] shunt of the range
AUTOZERO_OFF_HOLD_S = 600.0


def autozero_off_error(function: str, range_value: float) -> float:
    """Half-width of the added zero error with autozero off, in V or A (docs/metrology.md 4.1)."""
    if function == "VOLT":
        return 2e-6 * range_value + 5e-6
    return 2e-6 * range_value + 5e-6 / SHUNT_OHM[range_value]


MEMORY = 50_000  # [E] reading memory without the MEM option
AUTO_TRIGGER_DELAY_S = 0.0015  # [E]


@dataclass
class FunctionSettings:
    range: float
    range_auto: bool = True
    nplc: float = 10.0
    autozero: bool = True
    aperture_s: float = 0.1  # [SENSe:]<function>:APERture (used while APERture:ENABled)
    aperture_enabled: bool = False

    def integration_s(self, line_hz: float) -> float:
        return self.aperture_s if self.aperture_enabled else self.nplc / line_hz


@dataclass
class State34465A:
    function: str = "VOLT"
    settings: dict[str, FunctionSettings] = field(
        default_factory=lambda: {"VOLT": FunctionSettings(10.0), "CURR": FunctionSettings(0.1)}
    )
    trigger_source: str = "IMM"
    trigger_delay_s: float = AUTO_TRIGGER_DELAY_S
    trigger_delay_auto: bool = True
    trigger_count: int = 1
    trigger_slope: str = "NEG"
    sample_count: int = 1
    sample_source: str = "IMM"
    sample_timer_s: float = 1.0
    pretrigger: int = 0
    trigger_level_v: float = 0.0
    current_terminals: int = 3
    display_on: bool = True
    display_text: str = ""
    display_view: str = "NUM"


@dataclass
class Acquisition:
    """An INIT: waiting for triggers, then each trigger takes SAMP:COUN readings."""

    triggers_left: int
    pending: list[float] = field(default_factory=list)  # trigger instants not yet measured
    busy_until: float = 0.0
    # TRIG:SOUR IMM: every burst follows the previous one; kept as arithmetic, not a list,
    # so TRIG:COUN MAX costs nothing until readings are asked for
    imm_start: float | None = None
    imm_count: int = 0
    imm_taken: int = 0


class Keysight34465A(KeysightInstrument):
    role = "dmm"
    command_overhead_s = 0.0005
    options_reply = "DIG"  # [E] DIG is standard from firmware A.03; no MEM option
    scpi_version = "1994.0"  # [E] Truevolt SYSTem:VERSion? (verify on hardware)
    licenses_reply = '"DIG"'
    #: supported integration times (NPLC) and their resolution in parts of range
    nplc_values: tuple[float, ...] = NPLC_VALUES
    resolution_table: ClassVar[dict[float, float]] = _RESOLUTION
    memory_size = MEMORY
    voltage_spec = VOLTAGE_SPEC
    current_spec = CURRENT_SPEC
    max_count = 1e9
    reading_overhead_s = 20e-6  # [E] per reading besides the integration

    def _resolution(self, nplc: float) -> float:
        """Noise/resolution in parts of range per NPLC (Truevolt resolution table)."""
        return self.resolution_table.get(nplc, 0.3e-6)

    def _nplc_for_resolution(self, relative: float) -> float:
        """Shortest integration time whose resolution is at least as fine as ``relative``."""
        for nplc in sorted(self.resolution_table):
            if self.resolution_table[nplc] <= relative * (1 + 1e-9):
                return nplc
        return max(self.resolution_table)

    def _keep_memory(self) -> None:
        """Reading memory full: the oldest readings are overwritten [E]."""
        del self.memory[: -self.memory_size]

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        self.memory: list[float] = []
        self.acquisition: Acquisition | None = None
        #: the zero each function holds while its autozero is off (docs/metrology.md 4.1)
        self.zero = {
            fn: ZeroDrift(world.seed, ident.serial, fn, hold_s=AUTOZERO_OFF_HOLD_S)
            for fn in ("VOLT", "CURR")
        }
        super().__init__(world, ident)
        world.trigger_listeners.append(self._external_trigger)

    @staticmethod
    def default_identity() -> Identity:
        return Identity(
            "Keysight Technologies", "34465A", "MY59012345", "A.03.01-03.15-03.01-00.52-03-02"
        )

    def reset(self) -> None:
        self.state = State34465A()
        self.memory = []
        self.acquisition = None
        for fn in self.zero:
            self._rezero(fn)
        self._update_burden()

    def _rezero(self, function: str) -> None:
        """A new zero for ``function`` (Truevolt guide, ``ZERO:AUTO``: with autozero OFF a new
        zero is taken at each change of function, range or integration time) [E: no time]."""
        self.zero[function].rezero(self.world.clock.now)

    # ------------------------------------------------------------------ wiring
    def _update_burden(self) -> None:
        """The current input's shunt stays in the output loop (direct topology)."""
        if self.world.wiring.topology == "direct":
            self.world.set_output_meter_burden(SHUNT_OHM[self.state.settings["CURR"].range])

    # ------------------------------------------------------------------ configuration
    def _configure(self, function: str, params: list[str]) -> None:
        s = self.state
        settings = s.settings[function]
        ranges = VOLTAGE_RANGES if function == "VOLT" else CURRENT_RANGES
        if params and params[0].strip().upper() != "AUTO":
            value = parse_number(
                params[0],
                unit="V" if function == "VOLT" else "A",
                minimum=0.0,
                maximum=ranges[-1],
                default=ranges[2],
            )
            settings.range = _range_for(value, ranges)
            settings.range_auto = False
        else:
            settings.range_auto = True
        if len(params) > 1:
            resolution = parse_number(
                params[1], minimum=0.0, maximum=settings.range, default=3e-7 * settings.range
            )
            settings.nplc = self._nplc_for_resolution(resolution / settings.range)
        else:
            settings.nplc = 1.0  # [E] CONFigure's default resolution taken as 1 PLC
        settings.autozero = True
        self._rezero(function)
        s.function = function
        s.trigger_source, s.trigger_count, s.sample_count = "IMM", 1, 1
        s.trigger_delay_auto, s.trigger_delay_s = True, AUTO_TRIGGER_DELAY_S
        s.sample_source = "IMM"
        self._update_burden()

    @scpi("CONFigure:VOLTage[:DC]!", "CONFigure:CURRent[:DC]!")
    def _conf(self, call: Call) -> None:
        call.expect((0, 2))
        self._configure("VOLT" if call.has_node("VOLTage") else "CURR", call.params)

    @scpi("CONFigure?")
    def _conf_q(self, call: Call) -> str:
        call.expect(0)
        st = self.state.settings[self.state.function]
        resolution = self._resolution(st.nplc) * st.range
        text = f"{self.format_number(st.range)},{self.format_number(resolution)}"
        return f'"{self.state.function} {text}"'

    @scpi("MEASure:VOLTage[:DC]?", "MEASure:CURRent[:DC]?")
    def _meas(self, call: Call) -> str:
        call.expect((0, 2))
        self._configure("VOLT" if call.has_node("VOLTage") else "CURR", call.params)
        return self._read_now()

    @scpi("[SENSe:]FUNCtion[:ON]")
    def _function(self, call: Call) -> str | None:
        if call.query:
            return f'"{self.state.function}"'
        call.expect(1)
        name = parse_string(call.param()).upper()
        mapping = {
            "VOLT": "VOLT",
            "VOLT:DC": "VOLT",
            "VOLTAGE": "VOLT",
            "VOLTAGE:DC": "VOLT",
            "CURR": "CURR",
            "CURR:DC": "CURR",
            "CURRENT": "CURR",
            "CURRENT:DC": "CURR",
        }
        if name not in mapping:
            raise ScpiError(-224, call.text)
        self.state.function = mapping[name]
        return None

    @scpi("[SENSe:]VOLTage[:DC]:RANGe", "[SENSe:]CURRent[:DC]:RANGe")
    def _range(self, call: Call) -> str | None:
        voltage = call.has_node("VOLTage")
        st = self.state.settings["VOLT" if voltage else "CURR"]
        ranges = VOLTAGE_RANGES if voltage else CURRENT_RANGES
        if call.query:
            return self.format_number(st.range)
        call.expect(1)
        value = parse_number(
            call.param(),
            unit="V" if voltage else "A",
            minimum=0.0,
            maximum=ranges[-1],
            default=ranges[2] if voltage else 0.1,
        )
        st.range, st.range_auto = _range_for(value, ranges), False
        self._rezero("VOLT" if voltage else "CURR")
        if not voltage:
            self._update_burden()
        return None

    @scpi("[SENSe:]VOLTage[:DC]:RANGe:AUTO", "[SENSe:]CURRent[:DC]:RANGe:AUTO")
    def _range_auto(self, call: Call) -> str | None:
        voltage = call.has_node("VOLTage")
        st = self.state.settings["VOLT" if voltage else "CURR"]
        if call.query:
            return "1" if st.range_auto else "0"
        call.expect(1)
        if call.param().strip().upper() == "ONCE":
            st.range_auto = False
        else:
            st.range_auto = parse_bool(call.param())
        return None

    @scpi("[SENSe:]VOLTage[:DC]:NPLCycles", "[SENSe:]CURRent[:DC]:NPLCycles")
    def _nplc(self, call: Call) -> str | None:
        voltage = call.has_node("VOLTage")
        st = self.state.settings["VOLT" if voltage else "CURR"]
        if call.query:
            return self.format_number(st.nplc)
        call.expect(1)
        value = parse_number(call.param(), minimum=0.001, maximum=100.0, default=10.0)
        # the instrument rounds up to the next supported integration time
        st.nplc = min((n for n in self.nplc_values if n >= value - 1e-12), default=100.0)
        st.aperture_enabled = False  # setting the NPLC leaves aperture mode
        self._rezero("VOLT" if voltage else "CURR")
        return None

    @scpi("[SENSe:]VOLTage[:DC]:ZERO:AUTO", "[SENSe:]CURRent[:DC]:ZERO:AUTO")
    def _autozero(self, call: Call) -> str | None:
        voltage = call.has_node("VOLTage")
        st = self.state.settings["VOLT" if voltage else "CURR"]
        if call.query:
            return "1" if st.autozero else "0"
        call.expect(1)
        function = "VOLT" if voltage else "CURR"
        if call.param().strip().upper() == "ONCE":
            # one zero now, then autozero OFF; below 1 PLC the zero integrates 1 PLC
            # (Truevolt guide, [SENSe:]VOLTage[:DC]:ZERO:AUTO)
            line_hz = self.world.line_frequency_hz
            self.world.clock.advance(max(st.integration_s(line_hz), 1.0 / line_hz))
            st.autozero = False
            self._rezero(function)
            return None
        state = parse_bool(call.param())
        if st.autozero and not state:
            self._rezero(function)  # OFF keeps the last zero, taken with the last reading
        st.autozero = state
        return None

    @scpi("[SENSe:]VOLTage[:DC]:IMPedance:AUTO")
    def _impedance(self, call: Call) -> str | None:
        if call.query:
            return "0"
        call.expect(1)
        parse_bool(call.param())
        return None

    def _settings(self, call: Call) -> FunctionSettings:
        return self.state.settings["VOLT" if call.has_node("VOLTage") else "CURR"]

    @scpi("[SENSe:]VOLTage[:DC]:RESolution", "[SENSe:]CURRent[:DC]:RESolution")
    def _resolution_cmd(self, call: Call) -> str | None:
        """Resolution in the function's unit; it selects the integration time (Truevolt
        resolution table: parts of range per NPLC)."""
        st = self._settings(call)
        if call.query:
            call.expect(0)
            return self.format_number(self._resolution(st.nplc) * st.range)
        call.expect(1)
        table = self.resolution_table
        finest, coarsest = table[max(table)] * st.range, table[min(table)] * st.range
        value = parse_number(
            call.param(), minimum=0.0, maximum=st.range, default=table[10.0] * st.range
        )
        if call.param().strip().upper().startswith("MIN"):
            value = finest
        elif call.param().strip().upper().startswith("MAX"):
            value = coarsest
        st.nplc = self._nplc_for_resolution(value / st.range)
        st.aperture_enabled = False
        return None

    @scpi("[SENSe:]VOLTage[:DC]:APERture", "[SENSe:]CURRent[:DC]:APERture")
    def _aperture(self, call: Call) -> str | None:
        st = self._settings(call)
        if call.query:
            call.expect((0, 1))
            if call.params:
                which = call.param().strip().upper()
                return self.format_number(APERTURE_MIN_S if which.startswith("MIN") else 1.0)
            return self.format_number(st.aperture_s)
        call.expect(1)
        top = 2.0 if self.world.line_frequency_hz < 55 else 1.67
        value = parse_number(
            call.param(), unit="S", minimum=APERTURE_MIN_S, maximum=top, default=0.1
        )
        st.aperture_s = round(value / 2e-6) * 2e-6 or APERTURE_MIN_S  # [E] 2 us steps
        st.aperture_enabled = True
        return None

    @scpi("[SENSe:]VOLTage[:DC]:APERture:ENABled", "[SENSe:]CURRent[:DC]:APERture:ENABled")
    def _aperture_enabled(self, call: Call) -> str | None:
        return self.bool_setting(call, self._settings(call), "aperture_enabled")

    @scpi("[SENSe:]CURRent[:DC]:TERMinals")
    def _current_terminals(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_int(self.state.current_terminals)
        call.expect(1)
        value = round(parse_number(call.param(), minimum=3, maximum=10, default=3))
        if value not in (3, 10):
            raise ScpiError(-224, call.text)
        self.state.current_terminals = value
        return None

    @scpi("SYSTem:LICense:CATalog?")
    def _licenses(self, call: Call) -> str:
        call.expect(0)
        return self.licenses_reply

    # ------------------------------------------------------------------ display (accepted)
    @scpi("DISPlay[:STATe]")
    def _display_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "display_on")

    @scpi("DISPlay[:WINDow]:TEXT[:DATA]")
    def _display_text(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self.state.display_text}"'
        call.expect(1)
        text = parse_string(call.param())
        if len(text) > 40:  # [E]
            raise ScpiError(-223, "display text too long")
        self.state.display_text = text
        return None

    @scpi("DISPlay[:WINDow]:TEXT:CLEar!")
    def _display_clear(self, call: Call) -> None:
        call.expect(0)
        self.state.display_text = ""

    @scpi("DISPlay:VIEW")
    def _display_view(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.display_view
        call.expect(1)
        self.state.display_view = parse_choice(
            call.param(), ["NUMeric", "HISTogram", "TCHart", "METer"], short=True
        )
        return None

    @scpi("SYSTem:LFRequency?")
    def _lfr(self, call: Call) -> str:
        call.expect(0)
        return f"{int(self.world.line_frequency_hz):+d}"

    # ------------------------------------------------------------------ trigger / sample
    @scpi("TRIGger:SOURce")
    def _trig_source(self, call: Call) -> str | None:
        if call.query:
            return self.state.trigger_source
        call.expect(1)
        self._idle_required(call)
        self.state.trigger_source = parse_choice(
            call.param(), ["IMMediate", "BUS", "EXTernal", "INTernal"]
        )[:3]
        return None

    @scpi("TRIGger:DELay")
    def _trig_delay(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.state.trigger_delay_s)
        call.expect(1)
        self.state.trigger_delay_s = parse_number(
            call.param(), unit="S", minimum=0.0, maximum=3600.0, default=AUTO_TRIGGER_DELAY_S
        )
        self.state.trigger_delay_auto = False
        return None

    @scpi("TRIGger:DELay:AUTO")
    def _trig_delay_auto(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.trigger_delay_auto else "0"
        call.expect(1)
        self.state.trigger_delay_auto = parse_bool(call.param())
        if self.state.trigger_delay_auto:
            self.state.trigger_delay_s = AUTO_TRIGGER_DELAY_S
        return None

    @scpi("TRIGger:COUNt")
    def _trig_count(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.state.trigger_count)
        call.expect(1)
        if call.param().strip().upper() in ("INF", "INFINITY"):
            self.state.trigger_count = int(self.max_count)  # [E] continuous: as many as counted
        else:
            self.state.trigger_count = int(
                parse_number(call.param(), minimum=1, maximum=self.max_count, default=1)
            )
        return None

    @scpi("TRIGger:LEVel")
    def _trig_level(self, call: Call) -> str | None:
        """Level trigger threshold (``TRIG:SOUR INT``, DIG option), in the function's unit."""
        return self.number_setting(
            call, self.state, "trigger_level_v", minimum=-1000.0, maximum=1000.0, default=0.0
        )

    @scpi("TRIGger:SLOPe")
    def _trig_slope(self, call: Call) -> str | None:
        if call.query:
            return self.state.trigger_slope
        call.expect(1)
        self.state.trigger_slope = parse_choice(call.param(), ["POSitive", "NEGative"])[:3]
        return None

    @scpi("SAMPle:COUNt")
    def _samp_count(self, call: Call) -> str | None:
        if call.query:
            return f"{self.state.sample_count:+d}"
        call.expect(1)
        self.state.sample_count = int(
            parse_number(call.param(), minimum=1, maximum=self.max_count, default=1)
        )
        return None

    @scpi("SAMPle:COUNt:PRETrigger")
    def _pretrigger(self, call: Call) -> str | None:
        if call.query:
            return f"{self.state.pretrigger:+d}"
        call.expect(1)
        self.state.pretrigger = int(parse_number(call.param(), minimum=0, maximum=50000, default=0))
        return None

    @scpi("SAMPle:SOURce")
    def _samp_source(self, call: Call) -> str | None:
        if call.query:
            return self.state.sample_source
        call.expect(1)
        self.state.sample_source = parse_choice(call.param(), ["IMMediate", "TIMer"])[:3]
        return None

    @scpi("SAMPle:TIMer")
    def _samp_timer(self, call: Call) -> str | None:
        if call.query:
            if call.params and call.params[0].strip().upper().startswith("MIN"):
                return self.format_number(self._reading_time_s())
            return self.format_number(self.state.sample_timer_s)
        call.expect(1)
        self.state.sample_timer_s = parse_number(
            call.param(), unit="S", minimum=1e-6, maximum=3600.0, default=1.0
        )
        return None

    # ------------------------------------------------------------------ acquisition
    def _idle_required(self, call: Call) -> None:
        if self.acquisition is not None and self._acquiring():
            raise ScpiError(-221, call.text)

    def _reading_time_s(self) -> float:
        st = self.state.settings[self.state.function]
        aperture = st.integration_s(self.world.line_frequency_hz)
        # digitizing apertures (DIG option, below 0.02 PLC) sample back to back [E]
        overhead = (
            0.0 if aperture < 0.02 / self.world.line_frequency_hz else self.reading_overhead_s
        )
        return aperture * (2.0 if st.autozero else 1.0) + overhead

    def _acquiring(self) -> bool:
        acq = self.acquisition
        if acq is None:
            return False
        self._run_pending(self.world.clock.now)
        return acq.triggers_left > 0 or acq.busy_until > self.world.clock.now

    @scpi("INITiate[:IMMediate]!")
    def _init(self, call: Call) -> None:
        call.expect(0)
        if self._acquiring():
            raise ScpiError(-213, call.text)
        s = self.state
        if (
            s.sample_source == "TIM"
            and s.sample_count > 1
            and (s.sample_timer_s < self._reading_time_s() - 1e-9)
        ):
            raise ScpiError(-221, "sample timer shorter than the reading time")
        self.memory = []
        self.acquisition = Acquisition(triggers_left=s.trigger_count)
        if s.trigger_source == "IMM":
            self._trigger(self.world.clock.now)

    def _external_trigger(self, t: float) -> None:
        if self.state.trigger_source == "EXT":
            self._trigger(t)

    @scpi("*TRG!")
    def _trg(self, call: Call) -> None:
        call.expect(0)
        if self.state.trigger_source != "BUS" or self.acquisition is None:
            raise ScpiError(-211, call.text)
        self._trigger(self.world.clock.now)

    def _trigger(self, t: float) -> None:
        acq = self.acquisition
        if acq is None or acq.triggers_left <= 0:
            return
        start = max(t, acq.busy_until)
        if self.state.trigger_source == "IMM":
            acq.imm_start, acq.imm_count, acq.imm_taken = start, acq.triggers_left, 0
            acq.busy_until = start + acq.triggers_left * self._burst_duration_s()
            acq.triggers_left = 0
            return
        acq.pending.append(start)
        acq.triggers_left -= 1
        acq.busy_until = start + self._burst_duration_s()

    def _burst_duration_s(self) -> float:
        s = self.state
        reading = self._reading_time_s()
        if s.sample_source == "TIM":
            span = (s.sample_count - 1) * s.sample_timer_s + reading
        else:
            span = s.sample_count * reading
        return s.trigger_delay_s + span

    def _run_pending(self, now: float) -> None:
        """Turn every trigger whose burst has finished by ``now`` into readings."""
        acq = self.acquisition
        if acq is None:
            return
        burst = self._burst_duration_s()
        if acq.imm_start is not None and acq.imm_taken < acq.imm_count:
            done = min(acq.imm_count, int((now - acq.imm_start + 1e-12) // burst))
            if done > acq.imm_taken:
                # only the bursts that still fit the reading memory are computed
                keep_bursts = max(1, -(-self.memory_size // self.state.sample_count))
                first = max(acq.imm_taken, done - keep_bursts)
                for k in range(first, done):
                    self._take_burst(acq.imm_start + k * burst)
                acq.imm_taken = done
        keep = []
        for start in acq.pending:
            if start + burst <= now + 1e-12:
                self._take_burst(start)
            else:
                keep.append(start)
        acq.pending = keep

    def _take_burst(self, trigger_time: float) -> None:
        s = self.state
        st = s.settings[s.function]
        reading_time = self._reading_time_s()
        step = s.sample_timer_s if s.sample_source == "TIM" else reading_time
        # older readings would be overwritten anyway
        first = max(0, s.sample_count - self.memory_size)
        starts = trigger_time + s.trigger_delay_s + step * np.arange(first, s.sample_count)
        aperture = st.integration_s(self.world.line_frequency_hz)
        values = self._sample(starts, aperture)
        self.memory.extend(values.tolist())
        self._keep_memory()

    def _sample(self, starts: np.ndarray, aperture: float) -> np.ndarray:
        s = self.state
        st = s.settings[s.function]
        rng = self.world.rng
        if s.function == "CURR":
            spec_range = st.range if not st.range_auto else 0.1
            spec = self.current_spec[spec_range]
            if self.world.wiring.topology != "direct":
                true = np.zeros(len(starts))  # the current input is not wired in
            elif len(starts) == 1 or aperture > 0.004:
                true = self.world.mean_output_currents_a(starts, aperture)
            else:
                true = self.world.output_current_a(starts + aperture / 2)
                if np.any(true):
                    true = true + self.world.unit.noise_samples_a(
                        len(starts), float(starts[1] - starts[0]), rng, aperture
                    )
        else:
            spec = self.voltage_spec[st.range if not st.range_auto else 10.0]
            true = np.zeros(len(starts))
        gain, offset = self.cal.errors(s.function, spec)
        if not st.autozero:  # the held zero drifts (bench/sim/zero_drift.py)
            figure = autozero_off_error(s.function, spec.full_scale)
            offset = offset + self.zero[s.function].relative(starts) * figure
        noise = self._resolution(st.nplc) * spec.full_scale
        values = true * (1.0 + gain) + offset + rng.normal(0.0, noise, len(starts))
        return np.where(np.abs(values) > OVERRANGE * spec.full_scale, OVERLOAD, values)

    def wait_for_pending(self) -> None:
        acq = self.acquisition
        if acq is None:
            return
        if acq.triggers_left > 0 and self.state.trigger_source != "IMM":
            return  # waiting for a trigger that only the controller can give
        self.world.clock.advance_to(acq.busy_until)
        self._run_pending(self.world.clock.now)

    def _read_now(self) -> str:
        s = self.state
        if s.trigger_source == "BUS":
            raise ScpiError(-214, "READ? with TRIG:SOUR BUS")
        self.memory = []
        self.acquisition = Acquisition(triggers_left=s.trigger_count)
        if s.trigger_source == "IMM":
            self._trigger(self.world.clock.now)
        return self._fetch()

    def _fetch(self) -> str:
        acq = self.acquisition
        if acq is None:
            raise ScpiError(-230, "no measurement")
        if acq.triggers_left > 0 and self.state.trigger_source != "IMM" and not acq.pending:
            raise ScpiError(-214, "waiting for a trigger")
        self.wait_for_pending()
        if acq.triggers_left > 0:
            raise ScpiError(-214, "waiting for a trigger")
        return ",".join(self.format_number(v) for v in self.memory)

    @scpi("READ?")
    def _read(self, call: Call) -> str:
        call.expect(0)
        return self._read_now()

    @scpi("FETCh?")
    def _fetch_q(self, call: Call) -> str:
        call.expect(0)
        return self._fetch()

    @scpi("R?")
    def _r(self, call: Call) -> str:
        call.expect((0, 1))
        self._run_pending(self.world.clock.now)
        count = len(self.memory)
        if call.params:
            count = min(count, int(parse_number(call.param(), minimum=1, maximum=2e9)))
        taken, self.memory = self.memory[:count], self.memory[count:]
        body = ",".join(self.format_number(v) for v in taken)
        length = str(len(body))
        return f"#{len(length)}{length}{body}"

    @scpi("DATA:POINts?")
    def _points(self, call: Call) -> str:
        call.expect(0)
        self._run_pending(self.world.clock.now)
        return f"{len(self.memory):+d}"

    @scpi("DATA:LAST?")
    def _data_last(self, call: Call) -> str:
        """The last reading with its unit (``+1.73730000E+00 VDC``); 9.91E37 if none."""
        call.expect(0)
        self._run_pending(self.world.clock.now)
        unit = "VDC" if self.state.function == "VOLT" else "ADC"
        if not self.memory:
            return f"{self.format_number(9.91e37)} {unit}"
        return f"{self.format_number(self.memory[-1])} {unit}"

    @scpi("DATA:REMove?")
    def _data_remove(self, call: Call) -> str:
        """Remove and return the oldest ``n`` readings; -222 if fewer are stored (no WAIT:
        the simulator cannot hold a reply, so ``WAIT`` runs the clock to the readings)."""
        call.expect((1, 2))
        count = int(parse_number(call.param(0), minimum=1, maximum=self.memory_size))
        if len(call.params) == 2 and parse_choice(call.param(1), ["WAIT"]):
            self.wait_for_pending()
        self._run_pending(self.world.clock.now)
        if count > len(self.memory):
            raise ScpiError(-222, f"only {len(self.memory)} readings stored")
        taken, self.memory = self.memory[:count], self.memory[count:]
        return ",".join(self.format_number(v) for v in taken)

    def status_conditions(self) -> tuple[int, int]:
        """Operation bit 4 measuring, bit 5 waiting for a trigger (Truevolt status system)."""
        acq = self.acquisition
        if acq is None:
            return 0, 0
        now = self.world.clock.now
        waiting = acq.triggers_left > 0 and self.state.trigger_source != "IMM" and not acq.pending
        measuring = acq.busy_until > now
        return (OPER_MEASURING if measuring else 0) | (OPER_WAIT_TRIGGER if waiting else 0), 0

    @scpi("ABORt!")
    def _abort(self, call: Call) -> None:
        call.expect(0)
        if self.acquisition is not None:
            self._run_pending(self.world.clock.now)
            self.acquisition = None


def _range_for(value: float, ranges: tuple[float, ...]) -> float:
    for r in ranges:
        if abs(value) <= r * (1.0 + 1e-9):
            return r
    return ranges[-1]
