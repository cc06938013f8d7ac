"""Simulated Keithley DMM6500 with a 2000-SCAN 10-channel scanner card, native SCPI.

Sources (``[V]`` seen in the manual text, ``[V sister]`` seen in the DMM7510 / 2461 / 2450
reference manual of the same TTI family, ``[OS]`` open-source drivers talking to a real unit,
``[E]`` an assumption of this simulator, to verify on hardware):

* channels are plain numbers 1..10 (``(@1)``, ``(@1:4)``, ``(@1,3)``), not ``(@101)`` [OS:
  PyMeasure ``keithleyDMM6500.py``, MSL DMM6500 driver]; ``:ROUTe:CLOSe`` on a multiplexer opens
  the previously closed channel first [V sister: Model 2000 / 2750 manuals]; an invalid channel
  gives -222 [V sister: 2750 "Trying to close an invalid channel ... error -222"];
  ``:ROUTe:CLOSe?`` answers ``(@n)`` [unverified]; relay switch time 3 ms [E];
* per-channel settings ``[:SENSe]:FUNCtion "VOLT:DC", (@list)``,
  ``[:SENSe]:VOLTage[:DC]:RANGe|NPLCycles|AZERo|INPutimpedance <v>, (@list)`` [OS: MSL driver
  ``:VOLTAGE:DC:AZERO ON, (@n)``, user scripts ``SENS:VOLT:INP MOHM10, (@101:103)``]; without a
  channel list a setting applies to the terminals; a channel whose function is not DC volts in
  a list gives -221 [V sister: 2700]. Closing a channel makes its settings the active ones
  [E]. NPLC 0.0005 .. 15 (60 Hz) / 12 (50 Hz) [V sister: DMM7510 aperture 8.333 us .. 0.25 s];
* readings: ``:READ? ["buf"[, elements]]`` makes ``[:SENSe]:COUNt`` readings into the buffer
  and returns the last [V sister: DMM7510 p. 6-11]; buffer elements READing, RELative (time
  since the buffer's first entry, 0 for entry 1 [V sister: ``bufferVar.relativetimestamps``]),
  SEConds, FRACtional, UNIT; ``:TRACe:MAKE|CLEar|ACTual?|DATA?|TRIGger|POINts``;
* digitize ``[:SENSe]:DIGitize:FUNCtion "VOLT"``, ``:DIGitize:VOLTage:RANGe|SRATe|APERture``,
  ``[:SENSe]:DIGitize:COUNt``, ``:READ:DIGitize?``, ``:MEASure:DIGitize?`` [V sister: DMM7510,
  2461; QCoDeS DMM7510 driver]; SRATe 1 000 .. 1 000 000 /s, APERture AUTO = 1 / SRATe, 1 us ..
  1 ms in 1 us steps, longer than 1 / SRATe is an error [V sister: DMM7510 8-83]. That
  digitize measures the closed scanner channel is [E] (verify on hardware; the alternative is to
  wire the rear input across the output shunt);
* trigger model: ``:TRIGger:LOAD "Empty"``, ``:TRIGger:BLOCk:BUFFer:CLEar``, ``:WAIT <n>,
  EXTernal|COMMand[, ENTer|NEVer]``, ``:DELay:CONStant``, ``:MDIGitize <n>, "buf", <count|AUTO>``,
  ``:NOP``, ``:TRIGger:EXTernal:IN:EDGE|CLEar``, ``:INITiate``, ``:ABORt``, ``*TRG``,
  ``:TRIGger:STATe?`` -> ``RUNNING;RUNNING;2`` / ``WAITING;WAITING;2`` (same wait block > 100 ms)
  / ``IDLE;IDLE;4`` [V sister: 2450 p. 6-166, 2461 p. 6-235; OS: MSL driver]. The source's
  digital line (``world.trigger_listeners``) is the EXT TRIG IN line; it carries pulses, so
  every edge setting detects them;
* ``*WAI`` / ``*OPC?`` wait for the running trigger model on the simulated clock (IEEE 488.2
  overlapped INITiate). A real instrument also waits while the model sits in a WAIT block for a
  trigger that has not come (the controller then times out). The simulator serves one message at
  a time and cannot block: it queues -214 "Trigger deadlock", answers, and leaves the model
  waiting, so a later trigger still starts the acquisition [E, documented divergence];
* accuracy (1 year, 23 +-5 C): 10 V DCV +-(25 ppm rdg + 5 ppm rng) [V: DMM6500 calibration
  manual DMM6500-905-01 Rev. A p. 2-4]; 100 mV, 1 V, 100 V, 1000 V and all digitize figures [E].

Readings are computed from the world when their integration window has passed on the
simulated clock, so an acquisition fetched late still sees every change at its true time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keithley import KeithleyTti
from bench.sim.scpi import (
    Call,
    ScpiError,
    parse_bool,
    parse_channel_list,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)
from bench.sim.zero_drift import ZeroDrift

CHANNELS = range(1, 11)
VOLTAGE_RANGES = (0.1, 1.0, 10.0, 100.0, 1000.0)
#: +-(gain of reading, offset V); 10 V [V] calibration manual, the others [E]
VOLTAGE_SPEC = {
    0.1: RangeSpec(0.1, 40e-6, 35e-6 * 0.1),
    1.0: RangeSpec(1.0, 30e-6, 6e-6 * 1.0),
    10.0: RangeSpec(10.0, 25e-6, 5e-6 * 10.0),
    100.0: RangeSpec(100.0, 30e-6, 6e-6 * 100.0),
    1000.0: RangeSpec(1000.0, 30e-6, 10e-6 * 1000.0),
}
#: [E] 16-bit digitizer: +-(100 ppm rdg + 50 ppm rng)
DIGITIZE_SPEC = {r: RangeSpec(r, 100e-6, 50e-6 * r) for r in VOLTAGE_RANGES}
OVERRANGE = {0.1: 1.2, 1.0: 1.2, 10.0: 1.2, 100.0: 1.2, 1000.0: 1.01}  # [E] 20 %, 1010 V
RELAY_SWITCH_S = 0.003  # [E] 2000-SCAN relay close/open incl. settling
READING_OVERHEAD_S = 50e-6  # [E] per reading besides the integration (ADC, buffer store)
TRIGGER_LATENCY_S = 0.0  # [E] EXT TRIG IN to start of the next block
WAITING_AFTER_S = 0.1  # [V sister] "Waiting": same wait block for more than 100 ms
MAX_BLOCK = 63  # [E]
HIGH_Z_OHM = 10e9  # input impedance AUTO on the 100 mV .. 10 V ranges [V sister: > 10 Gohm]
TEN_MEG_OHM = 10e6
#: measure functions modelled (DC volts); the others (RES, CURR:DC, ...) answer -224
FUNCTION_NAMES = {
    **dict.fromkeys(("VOLT", "VOLT:DC", "VOLTAGE", "VOLTAGE:DC"), "VOLT:DC"),
    **dict.fromkeys(("CURR", "CURR:DC", "CURRENT", "CURRENT:DC"), "CURR:DC"),
}
CURRENT_RANGES = (10e-6, 100e-6, 1e-3, 10e-3, 100e-3, 1.0, 3.0)
#: [E] DC current, +-(gain of reading, offset A): 10 mA from the calibration manual's
#: 60 ppm rdg + 9 ppm rng (DMM6500 calibration manual, docs/metrology.md section 4.1), the
#: other ranges scaled alike
CURRENT_SPEC = {r: RangeSpec(r, 60e-6 if r < 1.0 else 500e-6, 9e-6 * r) for r in CURRENT_RANGES}
UNITS = {"VOLT:DC": "Volt DC", "CURR:DC": "Amp DC"}
#: autozero-off additional error, within +-1 degC and 10 minutes since the last autozero: the
#: data sheet gives +-(0.0005 % of range + 5 mohm) for resistance [V]; DC volts taken alike as
#: +-(0.0005 % of range + 5 uV) and DC current as 0.0005 % of range [E: DCV row not retrieved]
AUTOZERO_OFF_HOLD_S = 600.0


def autozero_off_error(function: str, range_value: float) -> float:
    """Half-width of the added zero error with autozero off, in V or A (docs/metrology.md 4.1)."""
    if function == "CURR:DC":
        return 5e-6 * range_value
    return 5e-6 * range_value + 5e-6


def _range_for(value: float, ranges: tuple[float, ...] = VOLTAGE_RANGES) -> float:
    for r in ranges:
        if abs(value) <= r * (1.0 + 1e-9):
            return r
    return ranges[-1]


def _channel_text(channels: list[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``(@1:3,5)`` (how the instrument answers channel lists)."""
    parts: list[str] = []
    for ch in channels:
        if parts and "-" not in parts[-1] and ch == int(parts[-1].split(":")[-1]) + 1:
            parts[-1] = f"{parts[-1].split(':')[0]}:{ch}"
        else:
            parts.append(str(ch))
    return f"(@{','.join(parts)})"


def _impedance(text: str) -> str:
    value = text.strip().upper()
    if value not in ("AUTO", "MOHM10"):
        raise ScpiError(-224 if value else -109, text)
    return value


def _noise_rel(nplc: float) -> float:
    """[E] rms noise in parts of range, shaped after a 6.5-digit 10 V range noise table."""
    return 0.1e-6 + 0.35e-6 * nplc**-0.75


def _digitize_noise_rel(aperture_s: float) -> float:
    """[E] rms noise of one digitized sample in parts of range (16-bit converter)."""
    return 3e-6 + 20e-6 * math.sqrt(1e-6 / max(aperture_s, 1e-6))


# ---------------------------------------------------------------------------------------------
# state


@dataclass
class MeasureSettings:
    """DC voltage settings of the terminals or of one card channel (after ``*RST``)."""

    function: str = "VOLT:DC"  # or "NONE" (card channels)
    range_v: float = 10.0  # [E] range reported while autoranging before the first reading
    range_auto: bool = True
    nplc: float = 1.0
    autozero: bool = True
    impedance: str = "MOHM10"  # [OS] 10 Mohm divider is the default


@dataclass
class DigitizeSettings:
    function: str = "NONE"
    range_v: float = 10.0  # [E]
    srate: float = 1_000_000.0  # [E] (2461 default is 100 000)
    aperture_auto: bool = True
    aperture_s: float = 1e-6
    impedance: str = "MOHM10"
    count: int = 1

    @property
    def aperture(self) -> float:
        return 1.0 / self.srate if self.aperture_auto else self.aperture_s


@dataclass
class Block:
    kind: str  # BUFFER_CLEAR, WAIT, DELAY, MDIGITIZE, NOP
    buffer: str = "defbuffer1"
    event: str = ""
    clear: str = "NEVER"
    seconds: float = 0.0
    count: int | None = None  # None: AUTO


@dataclass
class Acquisition:
    """Readings scheduled on the clock; values are computed once their window has passed."""

    kind: str  # "MEAS" or "DIG"
    buffer: str
    channel: int | None  # None: terminals (nothing connected)
    starts: np.ndarray  # start of each reading's integration window (s)
    aperture: float
    step: float  # time from one reading's start to the next (integration, autozero, overhead)
    settings: MeasureSettings | DigitizeSettings
    meter_noise: np.ndarray  # pre-drawn, in volts before scaling (rel * range, or 0 if auto)
    module_noise: np.ndarray | None = None  # correlated module noise (A), digitize only
    #: held-zero drift at each reading (units of the autozero-off figure), autozero off only
    zero_drift: np.ndarray | None = None
    done: int = 0

    @property
    def finish(self) -> float:
        """When the last reading is complete (its autozero and overhead included)."""
        return float(self.starts[-1]) + self.step


@dataclass
class BufferClear:
    time: float
    buffer: str


@dataclass
class TriggerRun:
    blocks: list[tuple[int, Block]]
    index: int = 0
    cursor: float = 0.0
    history: list[tuple[int, float]] = field(default_factory=list)  # (block, start time)
    waiting: Block | None = None
    waiting_block: int = 0
    wait_entered: float = 0.0
    end: float | None = None
    aborted: bool = False
    failed: bool = False


class KeithleyDMM6500(KeithleyTti):
    role = "dmm"
    languages = ("SCPI", "TSP", "SCPI2000", "SCPI34401")
    command_overhead_s = 0.0005

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        #: the front-panel FRONT/REAR switch (not settable over the bus): the card is on REAR
        self.terminals = "REAR"
        #: the zero the ADC holds while autozero is off (one for all channels) [E]
        self.zero = ZeroDrift(world.seed, ident.serial, hold_s=AUTOZERO_OFF_HOLD_S)
        super().__init__(world, ident)
        world.trigger_listeners.append(self._external_trigger)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("KEITHLEY INSTRUMENTS", "MODEL DMM6500", "04512346", "1.7.12b")

    def reset(self) -> None:
        super().reset()
        #: the terminals keep settings per function; the active one is ``terminal``
        self.terminal_settings = {
            "VOLT:DC": MeasureSettings(),
            "CURR:DC": MeasureSettings(function="CURR:DC", range_v=0.1),
        }
        self.terminal_function = "VOLT:DC"
        self.scan_list: list[int] = []
        self.scan_count = 1
        self.scan_interval_s = 0.0
        self.scan_buffer = "defbuffer1"
        self.channels = {ch: MeasureSettings() for ch in CHANNELS}
        self.digitize = DigitizeSettings()
        self.active = "MEAS"  # which function family READ? and MDIGitize blocks use
        self.count = 1
        self.closed: int | None = None
        self.blocks: dict[int, Block] = {}
        self.model_state = "EMPTY"
        self.last_block = 0
        self.run: TriggerRun | None = None
        self.pending: deque[Acquisition | BufferClear] = deque()
        self.ext_edge = "FALLING"
        self.detected: dict[str, float | None] = {"EXTERNAL": None, "COMMAND": None}
        self.zero.rezero(self.world.clock.now)

    # ------------------------------------------------------------------ helpers
    def _channels(self, text: str) -> list[int]:
        channels = parse_channel_list(text)
        if any(ch not in CHANNELS for ch in channels):
            raise ScpiError(-222, f"channel not on the 2000-SCAN card: {text}")
        return channels

    @property
    def terminal(self) -> MeasureSettings:
        return self.terminal_settings[self.terminal_function]

    def _header_function(self, call: Call) -> str:
        return "CURR:DC" if call.has_node("CURRent") else "VOLT:DC"

    def _targets(self, call: Call, *, function: bool = False) -> list[MeasureSettings]:
        """Settings a command addresses: the channel list after the value, else the terminals.

        A DC-voltage setting sent to a channel whose function is not DC voltage is a settings
        conflict (-221), as on the 2700 family [V sister].
        """
        if len(call.params) == 2:
            targets = [self.channels[ch] for ch in self._channels(call.params[1])]
            if not function and any(t.function != "VOLT:DC" for t in targets):
                raise ScpiError(-221, "channel function is not DC voltage")
            return targets
        if function:
            return [self.terminal]
        return [self.terminal_settings[self._header_function(call)]]

    def _query_targets(self, call: Call) -> list[MeasureSettings]:
        call.expect((0, 1))
        if call.params:
            return [self.channels[ch] for ch in self._channels(call.params[0])]
        if call.has_node("FUNCtion"):
            return [self.terminal]
        return [self.terminal_settings[self._header_function(call)]]

    def _max_nplc(self) -> float:
        return 15.0 if self.world.line_frequency_hz >= 59.0 else 12.0

    def _running(self) -> bool:
        run = self.run
        if run is None or run.aborted or run.failed:
            return False
        now = self.world.clock.now
        return run.waiting is not None or (run.end is not None and now < run.end - 1e-12)

    def _idle_required(self, call: Call) -> None:
        if self._running():
            raise ScpiError(-221, f"trigger model running: {call.text.strip()[:40]}")

    def _active_settings(self) -> tuple[MeasureSettings, int | None]:
        """Measure settings in force and the channel whose terminals the meter sees."""
        channel = self.closed if self.terminals == "REAR" else None
        settings = self.channels[channel] if channel is not None else self.terminal
        return settings, channel

    def _reading_time_s(self, st: MeasureSettings) -> float:
        aperture = st.nplc / self.world.line_frequency_hz
        return aperture * (2.0 if st.autozero else 1.0) + READING_OVERHEAD_S

    def _source_ohm(self, channel: int | None) -> float:
        """Thevenin resistance behind a channel (meter loading), for the shunt channels."""
        shunts = {1: "input", 2: "output", 3: "supply"}
        if channel in shunts:
            return self.world.shunt_ohm[shunts[channel]]
        return 0.0

    def _loading(self, channel: int | None, range_v: float, impedance: str) -> float:
        r_in = HIGH_Z_OHM if impedance == "AUTO" and range_v <= 10.0 else TEN_MEG_OHM
        r_src = self._source_ohm(channel)
        return r_in / (r_in + r_src)

    # ------------------------------------------------------------------ routing
    @scpi(":ROUTe:CLOSe")
    def _route_close(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f"(@{self.closed})" if self.closed is not None else "(@)"
        call.expect(1)
        channels = self._channels(call.param())
        if len(channels) != 1:
            raise ScpiError(-222, "a multiplexer closes one channel at a time")
        self._idle_required(call)
        channel = channels[0]
        self.active = "MEAS"  # closing a channel makes its settings the active ones [E]
        if channel != self.closed:
            # the previously closed channel opens first (break before make), then the new one
            self.closed = channel
            self.world.clock.advance(RELAY_SWITCH_S)
        return None

    @scpi(":ROUTe:OPEN:ALL!")
    def _route_open_all(self, call: Call) -> None:
        call.expect(0)
        self._idle_required(call)
        if self.closed is not None:
            self.closed = None
            self.world.clock.advance(RELAY_SWITCH_S)

    @scpi(":ROUTe:OPEN!")
    def _route_open(self, call: Call) -> None:
        call.expect(1)
        channels = self._channels(call.param())
        self._idle_required(call)
        if self.closed in channels:
            self.closed = None
            self.world.clock.advance(RELAY_SWITCH_S)

    @scpi(":ROUTe:TERMinals?")
    def _route_terminals(self, call: Call) -> str:
        call.expect(0)
        return "REAR" if self.terminals == "REAR" else "FRON"

    # ------------------------------------------------------------------ scanning
    @scpi(":ROUTe:SCAN[:CREate]")
    def _scan_create(self, call: Call) -> str | None:
        """Create the scan list; it replaces the trigger model by a scan model (manual:
        ``:ROUTe:SCAN:CREate`` builds the trigger model the scan runs)."""
        if call.query:
            call.expect(0)
            return _channel_text(self.scan_list)
        call.expect(1)
        self._idle_required(call)
        self.scan_list = self._channels(call.param())
        self.blocks, self.model_state, self.run = {}, "SCAN", None
        return None

    @scpi(":ROUTe:SCAN:ADD!")
    def _scan_add(self, call: Call) -> None:
        call.expect(1)
        self._idle_required(call)
        self.scan_list = [*self.scan_list, *self._channels(call.param())]
        self.blocks, self.model_state, self.run = {}, "SCAN", None

    @scpi(":ROUTe:SCAN:COUNt:SCAN")
    def _scan_count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.scan_count)
        call.expect(1)
        self._idle_required(call)
        self.scan_count = round(parse_number(call.param(), minimum=1, maximum=100_000, default=1))
        return None

    @scpi(":ROUTe:SCAN:INTerval")
    def _scan_interval(self, call: Call) -> str | None:
        """Time from the start of one scan to the start of the next (0: back to back)."""
        return self.number_setting(
            call, self, "scan_interval_s", unit="S", minimum=0.0, maximum=100_000.0, default=0.0
        )

    @scpi(":ROUTe:SCAN:BUFFer")
    def _scan_buffer(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self.scan_buffer}"'
        call.expect(1)
        self.scan_buffer = self.buffer_name(call.param())
        return None

    @scpi(":ROUTe:SCAN:STATe?")
    def _scan_state(self, call: Call) -> str:
        """``RUNNING;<scan>;<channel>`` while a scan runs, else the trigger model's state."""
        call.expect(0)
        self._materialize(self.world.clock.now)
        if self.model_state == "SCAN" and self._running():
            return f"RUNNING;{self.scan_count};{self.closed or 0}"
        return "IDLE;0;0" if self.scan_list else "EMPTY;0;0"

    def _run_scan(self) -> None:
        """The buffer is cleared, then every scan: each listed channel closes (relay time),
        then ``[:SENSe]:COUNt`` readings with the channel's settings; scans start
        ``INTerval`` apart."""
        now = self.world.clock.now
        cursor = now
        self.pending.append(BufferClear(now, self.scan_buffer))  # the scan model's first block
        for _ in range(self.scan_count):
            scan_start = cursor
            for channel in self.scan_list:
                cursor += RELAY_SWITCH_S
                acq = self._schedule_measure(cursor, self.count, self.scan_buffer, channel)
                self.pending.append(acq)
                cursor = acq.finish
            cursor = max(cursor, scan_start + self.scan_interval_s)
        self.closed = self.scan_list[-1]
        self.active = "MEAS"
        self.run = TriggerRun([], cursor=cursor, history=[(1, now)], end=cursor)

    @scpi(":SYSTem:CARD#:IDN?")
    def _card_idn(self, call: Call) -> str:
        call.expect(0)
        if call.suffixes[1] != 1:
            return "Empty Slot"  # [E] the DMM6500 has one card slot
        return "2000-SCAN,10-Channel Scanner Card,SIM00001,1.0.0"  # [E] reply form

    @scpi(":SYSTem:CARD#:VCHannel:STARt?", ":SYSTem:CARD#:VCHannel:END?")
    def _card_channels(self, call: Call) -> str:
        call.expect(0)
        return str(CHANNELS[-1] if call.has_node("END") else CHANNELS[0])

    @scpi(":SYSTem:CARD#:VMAX?")
    def _card_vmax(self, call: Call) -> str:
        call.expect(0)
        return "300"  # [E] 2000-SCAN: 300 V between any two terminals

    # ------------------------------------------------------------------ measure settings
    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _function(self, call: Call) -> str | None:
        if call.query:
            targets = self._query_targets(call)
            if not call.params and self.active == "DIG":
                return '"NONE"'
            return ",".join(f'"{t.function}"' for t in targets)
        call.expect((1, 2))
        name = parse_string(call.param(0)).upper()
        with_list = len(call.params) == 2
        if name == "NONE" and with_list:
            function = "NONE"
        elif name in FUNCTION_NAMES:
            function = FUNCTION_NAMES[name]
        else:
            raise ScpiError(-224, f"function not modelled: {name}")
        if with_list:
            if function == "CURR:DC":
                raise ScpiError(-221, "the 2000-SCAN card switches voltage only")
            for target in self._targets(call, function=True):
                target.function = function
        else:
            self.terminal_function = function
            self.active = "MEAS"
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]", "[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]")
    def _range(self, call: Call) -> str | None:
        if call.query:
            return ",".join(self.format_number(t.range_v) for t in self._query_targets(call))
        call.expect((1, 2))
        current = call.has_node("CURRent")
        ranges = CURRENT_RANGES if current else VOLTAGE_RANGES
        value = parse_number(
            call.param(0),
            unit="A" if current else "V",
            minimum=-ranges[-1],
            maximum=ranges[-1],
            default=ranges[-1],
        )
        for target in self._targets(call):
            target.range_v, target.range_auto = _range_for(value, ranges), False
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:RANGe:AUTO", "[:SENSe#]:CURRent[:DC]:RANGe:AUTO")
    def _range_auto(self, call: Call) -> str | None:
        if call.query:
            return ",".join("1" if t.range_auto else "0" for t in self._query_targets(call))
        call.expect((1, 2))
        state = parse_bool(call.param(0))
        for target in self._targets(call):
            target.range_auto = state
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:NPLCycles", "[:SENSe#]:CURRent[:DC]:NPLCycles")
    def _nplc(self, call: Call) -> str | None:
        if call.query:
            return ",".join(self.format_number(t.nplc) for t in self._query_targets(call))
        call.expect((1, 2))
        top = self._max_nplc()
        value = parse_number(call.param(0), minimum=0.0005, maximum=top, default=1.0)
        for target in self._targets(call):
            target.nplc = value
        return None

    @scpi("[:SENSe#]:VOLTage[:DC]:AZERo[:STATe]", "[:SENSe#]:CURRent[:DC]:AZERo[:STATe]")
    def _autozero(self, call: Call) -> str | None:
        if call.query:
            return ",".join("1" if t.autozero else "0" for t in self._query_targets(call))
        call.expect((1, 2))
        state = parse_bool(call.param(0))
        for target in self._targets(call):
            if target.autozero and not state:
                self.zero.rezero(self.world.clock.now)  # OFF keeps the latest references
            target.autozero = state
        return None

    @scpi("[:SENSe#]:AZERo:ONCE!")
    def _autozero_once(self, call: Call) -> None:
        """Refresh the reference and zero measurements once (one integration with the active
        settings [V sister: 2450/2461 ``:AZERo:ONCE``]); the autozero settings stay as they
        are, so readings with autozero off use the fresh zero from now on."""
        call.expect(0)
        self._idle_required(call)
        settings, _ = self._active_settings()
        self.world.clock.advance(settings.nplc / self.world.line_frequency_hz)
        self.zero.rezero(self.world.clock.now)

    @scpi("[:SENSe#]:VOLTage[:DC]:INPutimpedance")
    def _impedance(self, call: Call) -> str | None:
        if call.query:
            return ",".join(t.impedance for t in self._query_targets(call))
        call.expect((1, 2))
        value = _impedance(call.param(0))
        for target in self._targets(call):
            target.impedance = value
        return None

    @scpi("[:SENSe#]:COUNt")
    def _count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.count)
        call.expect(1)
        self.count = int(parse_number(call.param(), minimum=1, maximum=1_000_000, default=1))
        return None

    @scpi(":SYSTem:LFRequency?")
    def _lfr(self, call: Call) -> str:
        call.expect(0)
        return str(round(self.world.line_frequency_hz))

    # ------------------------------------------------------------------ digitize settings
    @scpi("[:SENSe#]:DIGitize:FUNCtion[:ON]")
    def _dig_function(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return '"VOLT"' if self.active == "DIG" else '"NONE"'
        call.expect(1)
        name = parse_string(call.param()).upper()
        if name in ("VOLT", "VOLTAGE"):
            self.digitize.function, self.active = "VOLT", "DIG"
        elif name == "NONE":
            self.digitize.function, self.active = "NONE", "MEAS"
        else:
            raise ScpiError(-224, f"digitize function not modelled: {name}")
        return None

    @scpi("[:SENSe#]:DIGitize:VOLTage:RANGe[:UPPer]")
    def _dig_range(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_number(self.digitize.range_v)
        call.expect(1)
        value = parse_number(
            call.param(), unit="V", minimum=-1000.0, maximum=1000.0, default=1000.0
        )
        self.digitize.range_v = _range_for(value)
        return None

    @scpi("[:SENSe#]:DIGitize:VOLTage:SRATe")
    def _dig_srate(self, call: Call) -> str | None:
        d = self.digitize
        if call.query:
            call.expect((0, 1))
            return self.format_number(d.srate)
        call.expect(1)
        d.srate = float(
            round(parse_number(call.param(), minimum=1000, maximum=1_000_000, default=1_000_000))
        )
        if not d.aperture_auto and d.aperture_s > 1.0 / d.srate:
            d.aperture_s = math.floor(1e6 / d.srate) * 1e-6  # adjusted down to fit [V sister]
        return None

    @scpi("[:SENSe#]:DIGitize:VOLTage:APERture")
    def _dig_aperture(self, call: Call) -> str | None:
        d = self.digitize
        if call.query:
            call.expect((0, 1))
            return self.format_number(d.aperture)
        call.expect(1)
        if call.param().strip().upper() == "AUTO":
            d.aperture_auto = True
            return None
        value = parse_number(call.param(), unit="S", minimum=1e-6, maximum=1e-3, default=0.0)
        value = math.floor(value * 1e6 + 1e-6) * 1e-6  # 1 us steps, rounded down
        if value > 1.0 / d.srate + 1e-12:
            raise ScpiError(-222, "aperture longer than the sample interval")
        d.aperture_auto, d.aperture_s = False, value
        return None

    @scpi("[:SENSe#]:DIGitize:VOLTage:INPutimpedance")
    def _dig_impedance(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.digitize.impedance
        call.expect(1)
        self.digitize.impedance = _impedance(call.param())
        return None

    @scpi("[:SENSe#]:DIGitize:COUNt")
    def _dig_count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.digitize.count)
        call.expect(1)
        self.digitize.count = int(
            parse_number(call.param(), minimum=1, maximum=55_000_000, default=1)
        )
        return None

    # ------------------------------------------------------------------ acquisitions
    def _kept(self, count: int, buffer: str) -> np.ndarray:
        """Indices of the readings the buffer keeps (the oldest of a longer run are overwritten)."""
        return np.arange(max(0, count - self.buffers[buffer].size), count)

    def _schedule_measure(
        self, start: float, count: int, buffer: str, channel: int | None = None
    ) -> Acquisition:
        if channel is None:
            settings, channel = self._active_settings()
        else:
            settings = self.channels[channel]
        if settings.function == "NONE":
            raise ScpiError(-221, "the closed channel has no measure function")
        step = self._reading_time_s(settings)
        aperture = settings.nplc / self.world.line_frequency_hz
        starts = start + step * self._kept(count, buffer)
        noise = self.world.rng.normal(0.0, _noise_rel(settings.nplc), len(starts))
        snapshot = MeasureSettings(**vars(settings))
        drift = None if settings.autozero else self.zero.relative(starts)
        return Acquisition(
            "MEAS", buffer, channel, starts, aperture, step, snapshot, noise, zero_drift=drift
        )

    def _schedule_digitize(self, start: float, count: int, buffer: str) -> Acquisition:
        d = self.digitize
        _, channel = self._active_settings()
        dt = 1.0 / d.srate
        starts = start + dt * self._kept(count, buffer)
        rng = self.world.rng
        noise = rng.normal(0.0, _digitize_noise_rel(d.aperture), len(starts))
        module = None
        if channel in (2, 4) and self.world.dut_connected:
            module = self.world.unit.noise_samples_a(len(starts), dt, rng, d.aperture)
        snapshot = DigitizeSettings(**vars(d))
        return Acquisition("DIG", buffer, channel, starts, d.aperture, dt, snapshot, noise, module)

    def _values(self, acq: Acquisition, lo: int, hi: int) -> np.ndarray:
        """Readings lo..hi-1 of an acquisition, from the world as it was at their times."""
        world = self.world
        starts = acq.starts[lo:hi]
        st = acq.settings
        if acq.kind == "DIG":
            assert isinstance(st, DigitizeSettings)
            if acq.channel is None:
                true = np.zeros(len(starts))
            else:
                mid = starts + acq.aperture / 2.0
                true = world.channel_voltage_v(acq.channel, mid)
                if acq.module_noise is not None:
                    scale = (
                        world.shunt_ohm["output"] if acq.channel == 2 else world.load_ohm_at(mid)
                    )
                    true = np.where(true != 0.0, true + acq.module_noise[lo:hi] * scale, true)
            ranges = np.full(len(starts), st.range_v)
            specs = [DIGITIZE_SPEC[st.range_v]] * len(starts)
            function = "DIGV"
        else:
            assert isinstance(st, MeasureSettings)
            if acq.channel is None or st.function == "CURR:DC":
                # the terminals (and the AMPS input) carry nothing on this bench
                true = np.zeros(len(starts))
            else:
                true = np.array(
                    [world.channel_mean_v(acq.channel, t, t + acq.aperture) for t in starts]
                )
            table = CURRENT_RANGES if st.function == "CURR:DC" else VOLTAGE_RANGES
            if st.range_auto:
                ranges = np.array([_range_for(v, table) for v in true])
                st.range_v = float(ranges[-1])
                self._remember_autorange(acq.channel, st.range_v)
            else:
                ranges = np.full(len(starts), st.range_v)
            spec_table = CURRENT_SPEC if st.function == "CURR:DC" else VOLTAGE_SPEC
            specs = [spec_table[r] for r in ranges]
            function = "DCI" if st.function == "CURR:DC" else "DCV"
        loading = np.array(
            [
                1.0 if function == "DCI" else self._loading(acq.channel, r, st.impedance)
                for r in ranges
            ]
        )
        gains, offsets = zip(*(self.cal.errors(function, s) for s in specs), strict=True)
        offset = np.asarray(offsets)
        if acq.zero_drift is not None:  # the held zero drifts (bench/sim/zero_drift.py)
            assert isinstance(st, MeasureSettings)
            figures = np.array([autozero_off_error(st.function, r) for r in ranges])
            offset = offset + acq.zero_drift[lo:hi] * figures
        values = (
            true * loading * (1.0 + np.asarray(gains)) + offset + acq.meter_noise[lo:hi] * ranges
        )
        limits = np.array([OVERRANGE.get(r, 1.2) * r for r in ranges])
        return np.where(np.abs(values) > limits, np.copysign(math.inf, values), values)

    def _remember_autorange(self, channel: int | None, range_v: float) -> None:
        target = self.channels[channel] if channel is not None else self.terminal
        if target.range_auto:
            target.range_v = range_v

    def _materialize(self, now: float) -> None:
        """Store every reading whose integration window has passed by ``now``."""
        while self.pending:
            op = self.pending[0]
            if isinstance(op, BufferClear):
                if op.time > now + 1e-12:
                    return
                if op.buffer in self.buffers:
                    self.buffers[op.buffer].clear()
                self.pending.popleft()
                continue
            due = int(np.searchsorted(op.starts + op.aperture, now + 1e-12, side="right"))
            if due > op.done:
                values = self._values(op, op.done, due)
                if op.buffer in self.buffers:
                    unit = "Volt DC" if op.kind == "DIG" else UNITS[op.settings.function]
                    self.buffers[op.buffer].add(
                        values, op.starts[op.done : due], unit=unit, channel=op.channel or 0
                    )
                op.done = due
            if op.done < len(op.starts):
                return
            self.pending.popleft()

    def _acquire_now(self, acq: Acquisition) -> None:
        """A READ?-style acquisition: the clock runs to its end, then the readings are stored."""
        self.pending.append(acq)
        self.world.clock.advance_to(acq.finish)
        self._materialize(self.world.clock.now)

    # ------------------------------------------------------------------ reading queries
    def reading_status(self, name: str, value: float) -> float:
        """STATus element: bit 8 = front terminals [V sister]; digitizer origin not kept."""
        return 0.0 if self.terminals == "REAR" else 8.0

    def sync_buffers(self) -> None:
        self._materialize(self.world.clock.now)

    def _read(self, call: Call, digitize: bool) -> str:
        call.expect((0, 12))
        self._materialize(self.world.clock.now)
        if self._running():
            raise ScpiError(-221, "trigger model running")
        if digitize != (self.active == "DIG"):
            raise ScpiError(
                -221,
                "select the digitize function first"
                if digitize
                else "a digitize function is active",
            )
        buffer = self.buffer_name(call.params[0] if call.params else None)
        start = self.world.clock.now
        if digitize:
            acq = self._schedule_digitize(start, self.digitize.count, buffer)
        else:
            acq = self._schedule_measure(start, self.count, buffer)
        self._acquire_now(acq)
        buf = self.buffers[buffer]
        last = len(buf.values) - 1
        return self.format_elements(buffer, range(last, last + 1), call.params[1:])

    @scpi(":READ?")
    def _read_q(self, call: Call) -> str:
        return self._read(call, digitize=False)

    @scpi(":READ:DIGitize?")
    def _read_dig(self, call: Call) -> str:
        return self._read(call, digitize=True)

    @scpi(":MEASure[:VOLTage][:DC]?", ":MEASure:CURRent[:DC]?")
    def _measure(self, call: Call) -> str:
        if len(call.header) > 1:  # :MEASure:<function>? selects the function first
            self.terminal_function = self._header_function(call)
        self.active = "MEAS"
        return self._read(call, digitize=False)

    @scpi(":MEASure:DIGitize?")
    def _measure_dig(self, call: Call) -> str:
        if self.digitize.function == "NONE":
            raise ScpiError(-221, "no digitize function selected")
        self.active = "DIG"
        return self._read(call, digitize=True)

    # ------------------------------------------------------------------ buffers
    def trace_trigger(self, buffer: str) -> None:
        if self._running():
            raise ScpiError(-221, "trigger model running")
        if self.active == "DIG":
            acq = self._schedule_digitize(self.world.clock.now, self.digitize.count, buffer)
        else:
            acq = self._schedule_measure(self.world.clock.now, self.count, buffer)
        self._acquire_now(acq)

    # ------------------------------------------------------------------ trigger model
    def _block_number(self, call: Call) -> int:
        self._idle_required(call)
        number = int(parse_number(call.param(0), minimum=1, maximum=MAX_BLOCK))
        return number

    def _define(self, number: int, block: Block) -> None:
        self.blocks[number] = block
        self.model_state, self.run = "BUILDING", None

    @scpi(":TRIGger:LOAD!")
    def _trig_load(self, call: Call) -> None:
        call.expect((1, 8))
        self._idle_required(call)
        name = parse_string(call.param(0))
        if name.upper() != "EMPTY":
            raise ScpiError(-224, f"trigger model template not modelled: {name}")
        call.expect(1)
        self.blocks = {}
        self.model_state, self.last_block, self.run = "EMPTY", 0, None

    @scpi(":TRIGger:BLOCk:BUFFer:CLEar!")
    def _block_buffer_clear(self, call: Call) -> None:
        call.expect((1, 2))
        number = self._block_number(call)
        buffer = self.buffer_name(call.params[1] if len(call.params) > 1 else None)
        self._define(number, Block("BUFFER_CLEAR", buffer=buffer))

    @scpi(":TRIGger:BLOCk:WAIT!")
    def _block_wait(self, call: Call) -> None:
        call.expect((2, 3))
        number = self._block_number(call)
        event = parse_choice(call.param(1), ["EXTernal", "COMMand"])
        clear = "NEVER"
        if len(call.params) == 3:
            clear = parse_choice(call.param(2), ["ENTer", "NEVer"])
        self._define(number, Block("WAIT", event=event, clear=clear))

    @scpi(":TRIGger:BLOCk:DELay:CONStant!")
    def _block_delay(self, call: Call) -> None:
        call.expect(2)
        number = self._block_number(call)
        seconds = parse_number(call.param(1), unit="S", minimum=0.0, maximum=10_000.0)
        self._define(number, Block("DELAY", seconds=seconds))

    @scpi(":TRIGger:BLOCk:MDIGitize!")
    def _block_mdigitize(self, call: Call) -> None:
        call.expect((1, 3))
        number = self._block_number(call)
        buffer = self.buffer_name(call.params[1] if len(call.params) > 1 else None)
        count = None
        if len(call.params) == 3 and call.param(2).strip().upper() != "AUTO":
            if call.param(2).strip().upper().startswith("INF"):
                raise ScpiError(-224, "infinite count not modelled")
            count = int(parse_number(call.param(2), minimum=1, maximum=55_000_000))
        self._define(number, Block("MDIGITIZE", buffer=buffer, count=count))

    @scpi(":TRIGger:BLOCk:NOP!")
    def _block_nop(self, call: Call) -> None:
        call.expect(1)
        self._define(self._block_number(call), Block("NOP"))

    @scpi(":TRIGger:EXTernal:IN:EDGE")
    def _ext_edge(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return {"FALLING": "FALL", "RISING": "RIS", "EITHER": "EITH"}[self.ext_edge]
        call.expect(1)
        self.ext_edge = parse_choice(call.param(), ["FALLing", "RISing", "EITHer"])
        return None

    @scpi(":TRIGger:EXTernal:IN:CLEar!")
    def _ext_clear(self, call: Call) -> None:
        call.expect(0)
        self.detected["EXTERNAL"] = None

    @scpi(":TRIGger:STATe?")
    def _trig_state(self, call: Call) -> str:
        call.expect(0)
        now = self.world.clock.now
        self._materialize(now)
        run = self.run
        if run is None or run.aborted or run.failed:
            state, block = self.model_state, self.last_block
        elif run.waiting is not None:
            waited = now - run.wait_entered
            state = "WAITING" if waited > WAITING_AFTER_S else "RUNNING"
            block = run.waiting_block
        elif run.end is not None and now < run.end - 1e-12:
            state = "RUNNING"
            block = max((b for b, t in run.history if t <= now + 1e-12), default=0)
        else:
            state, block = "IDLE", run.history[-1][0] if run.history else 0
        return f"{state};{state};{block}"

    @scpi(":INITiate[:IMMediate]!")
    def _initiate(self, call: Call) -> None:
        call.expect(0)
        self._materialize(self.world.clock.now)
        if self._running():
            raise ScpiError(-213, call.text)
        if self.model_state == "SCAN" and self.scan_list:
            self._run_scan()
            return
        if not self.blocks:
            raise ScpiError(-221, "the trigger model has no blocks")
        self.run = TriggerRun(sorted(self.blocks.items()), cursor=self.world.clock.now)
        self._run_blocks()

    def _run_blocks(self) -> None:
        """Execute blocks from the cursor until the model ends or waits for an event."""
        run = self.run
        assert run is not None
        while run.index < len(run.blocks):
            number, block = run.blocks[run.index]
            run.history.append((number, run.cursor))
            if block.kind == "WAIT":
                if block.clear == "ENTER":
                    self.detected[block.event] = None
                seen = self.detected[block.event]
                if seen is None:
                    run.waiting, run.waiting_block = block, number
                    run.wait_entered = run.cursor
                    return
                self.detected[block.event] = None
                run.cursor = max(run.cursor, seen + TRIGGER_LATENCY_S)
            elif block.kind == "BUFFER_CLEAR":
                self.pending.append(BufferClear(run.cursor, block.buffer))
            elif block.kind == "DELAY":
                run.cursor += block.seconds
            elif block.kind == "MDIGITIZE":
                try:
                    if self.active == "DIG":
                        count = block.count or self.digitize.count
                        acq = self._schedule_digitize(run.cursor, count, block.buffer)
                    else:
                        count = block.count or self.count
                        acq = self._schedule_measure(run.cursor, count, block.buffer)
                except ScpiError as exc:
                    run.failed, self.model_state, self.last_block = True, "FAILED", number
                    self.push_error(exc.code, exc.detail)
                    return
                self.pending.append(acq)
                run.cursor = acq.finish
            run.index += 1
        run.end = run.cursor
        self.model_state = "IDLE"
        self.last_block = run.blocks[-1][0] if run.blocks else 0

    def _event(self, event: str, t: float) -> None:
        """A trigger event (EXT TRIG IN edge or ``*TRG``) detected at ``t``."""
        run = self.run
        if (
            run is not None
            and not run.aborted
            and not run.failed
            and run.waiting is not None
            and run.waiting.event == event
        ):
            if t < run.wait_entered - 1e-12:
                if run.waiting.clear == "ENTER":
                    return  # detected before the block was entered, cleared on entry
                t = run.wait_entered
            run.waiting = None
            run.cursor = max(run.cursor, t + TRIGGER_LATENCY_S)
            run.index += 1
            self._run_blocks()
            return
        if self.detected[event] is None:
            self.detected[event] = t  # latched until a wait block consumes or clears it

    def _external_trigger(self, t: float) -> None:
        self._event("EXTERNAL", t)

    @scpi("*TRG!")
    def _trg(self, call: Call) -> None:
        call.expect(0)
        self._event("COMMAND", self.world.clock.now)

    @scpi(":ABORt!")
    def _abort(self, call: Call) -> None:
        call.expect(0)
        now = self.world.clock.now
        self._materialize(now)
        run = self.run
        if run is not None and self._running():
            self.pending.clear()  # what was measured by now is stored; the rest is dropped
            run.aborted = True
            self.model_state = "ABORTED"
            self.last_block = run.waiting_block or (run.history[-1][0] if run.history else 0)

    def wait_for_pending(self) -> None:
        run = self.run
        if run is None or run.aborted or run.failed:
            self._materialize(self.world.clock.now)
            return
        if run.waiting is not None:
            # a real DMM6500 would hold the reply until the trigger comes; see module docstring
            self.push_error(-214, "trigger model waits for a trigger event")
            self._materialize(self.world.clock.now)
            return
        if run.end is not None:
            self.world.clock.advance_to(run.end)
        self._materialize(self.world.clock.now)
