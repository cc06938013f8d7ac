"""Keithley 2000 6.5-digit DMM with a 2000-SCAN 10-channel scanner card (SCPI).

Commands from the Model 2000 User's Manual 2000-900-01 (SCPI tables, trigger model Fig. 4-11,
ROUTe subsystem) as summarised in docs/instruments-second-models.md section 2; ``[OS]`` seen in
PyMeasure's Keithley 2000 driver written against real units; ``[unconfirmed]`` to check on
hardware:

* ``:SENS:FUNC 'VOLT:DC'`` / ``'CURR:DC'``, ``:SENS:<fn>:RANG <r>``, ``:SENS:<fn>:NPLC``
  (0.01 .. 10), ``:SENS:<fn>:AVER:STAT OFF`` [OS]; autozero ``:SYST:AZER:STAT`` [unconfirmed
  spelling]; ``:SYST:LFR?`` [unconfirmed for the 2000];
* ``:ROUT:CLOS (@n)`` closes one channel after opening the closed one, ``:ROUT:OPEN:ALL``;
  the 2000 has one set of measure settings (not per channel), so :meth:`configure_channels`
  sets them for every channel;
* ``:TRIG:SOUR IMM|EXT|BUS``, ``:TRIG:DEL`` (0 .. 999999.999 s), ``:TRIG:COUN``, ``:SAMP:COUN``
  (1 .. 1024), ``:INIT``, ``:READ?``, ``:FETC?``, ``:ABOR``, ``:INIT:CONT OFF``,
  ``:FORM:ELEM READ``.

Autozero has ON and OFF only (no ONCE found in the manual's SYSTem table [unconfirmed]):
:meth:`autozero_once` turns it off and sets the integration rate to 0.01 PLC and back, which
forces a fresh reference and zero measurement [V sister: Model 2700 manual, autozero note
"to force a rapid update of the internal reference points, set the integration rate to 0.01
PLC, and then back to the desired rate"; unconfirmed for the 2000 with autozero off].

It cannot digitise: at most 2000 readings/s at 0.01 PLC (data sheet). The step response is
taken by equivalent-time sampling (:class:`drivers.roles.TriggeredReading`): one reading
per EXT TRIG (Trigger Link line 2) at a programmed delay.

Reading period per reading from the data sheet's rates (60 Hz, autozero off, into the buffer):
2000/s at 0.01 PLC, 1000/s at 0.04, 500/s at 0.1, 50/s at 1, 5/s at 10 PLC; the integration
part scales with the line frequency, autozero adds one integration [unconfirmed]. Accuracy:
1 year, 2000-family DC front end (Model 2016 sheet, [unconfirmed for the 2000]).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Literal

import numpy as np

from drivers.errors import (
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentReplyError,
    ValidationError,
)
from drivers.roles import Dmm, Scanner, TriggeredReading, TriggerTiming
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    in_range,
    in_set,
    parse_error,
    parse_readings,
    smallest_range,
)

CHANNELS = tuple(range(1, 11))
VOLTAGE_RANGES_V = (0.1, 1.0, 10.0, 100.0, 1000.0)
CURRENT_RANGES_A = (0.01, 0.1, 1.0, 3.0)
OVERRANGE = 1.2
NPLC_RANGE = (0.01, 10.0)
SAMPLE_MAX = 1024
MAX_DELAY_S = 999999.999
#: readings per second at 60 Hz, autozero off, fixed range (Model 2000 data sheet)
RATE_TABLE_60HZ = ((0.01, 2000.0), (0.04, 1000.0), (0.1, 500.0), (1.0, 50.0), (10.0, 5.0))
SPEC_SOURCE = "Keithley 2000 1-year spec (2000-family DC front end, Model 2016 sheet [unconfirmed])"
#: +-(fraction of reading, fraction of range)
VOLTAGE_SPEC = {
    0.1: (50e-6, 35e-6),
    1.0: (30e-6, 7e-6),
    10.0: (30e-6, 5e-6),
    100.0: (45e-6, 6e-6),
    1000.0: (45e-6, 10e-6),
}
CURRENT_SPEC = {
    0.01: (500e-6, 80e-6),
    0.1: (500e-6, 800e-6),
    1.0: (1e-3, 100e-6),  # [E]
    3.0: (1.2e-3, 200e-6),  # [E]
}
#: [E] EXT TRIG latency and jitter (Model 2002 spec as the order of magnitude), delay step and
#: timebase; the 2000's delay range is written 999999.999 s, which may mean 1 ms steps: to
#: confirm on hardware before trusting equivalent-time captures finer than 1 ms
TRIGGER_LATENCY_S = 2e-6
TRIGGER_JITTER_S = 0.5e-6
DELAY_RESOLUTION_S = 1e-6
TIMEBASE_REL = 1e-4
TIMING_SOURCE = "[E] 2000 EXT TRIG latency 2 us, jitter +-0.5 us (Model 2002 spec), 100 ppm"
FUNCTIONS = {"VOLT": "VOLT:DC", "CURR": "CURR:DC"}
#: "AUTOZERO OFF ERROR: add +-(2 ppm of range error + 5 uV) for < 10 minutes and +-1 degC
#: change" [V sister: Model 2015 data sheet, the 2000's DC front end; the 2000 sheet not
#: retrieved]; DC current: the 5 uV across the range's shunt (10 ohm on 10 mA, 0.1 ohm above,
#: data sheet) [E] (docs/metrology.md 4.1)
AUTOZERO_OFF_RANGE = 2e-6
AUTOZERO_OFF_V = 5e-6
AUTOZERO_OFF_HOLD_S = 600.0
CURRENT_SHUNT_OHM = {0.01: 10.0, 0.1: 0.1, 1.0: 0.1, 3.0: 0.1}


def _text(value: float) -> str:
    return f"{value:.9g}"


def reading_period_s(nplc: float, line_hz: float, autozero: bool) -> float:
    """Time from one reading's start to the next (data-sheet rates, module docstring)."""
    xs = np.log([p[0] for p in RATE_TABLE_60HZ])
    ys = np.log([p[1] for p in RATE_TABLE_60HZ])
    at_60 = 1.0 / float(np.exp(np.interp(math.log(nplc), xs, ys)))
    integration = nplc / line_hz
    return at_60 + integration - nplc / 60.0 + (integration if autozero else 0.0)


class Keithley2000(ScpiInstrument, Dmm, Scanner, TriggeredReading):
    MODEL = "Keithley 2000"
    IDN_PATTERN = re.compile(r"KEITHLEY INSTRUMENTS INC\.,\s*MODEL 2000,")
    current_ranges_a = CURRENT_RANGES_A
    voltage_ranges_v = VOLTAGE_RANGES_V
    fastest_nplc = NPLC_RANGE[0]

    def __init__(self, transport, *, role: str = "dmm") -> None:
        super().__init__(transport, role=role)
        self._line_hz = 50.0
        self._reset_state()

    def _reset_state(self) -> None:
        """What ``*RST`` leaves: DC volts, autorange, 1 PLC, autozero on, one immediate sample."""
        self._function = "VOLT"
        self._range: float | None = None
        self._nplc = 1.0
        self._autozero = True
        self._closed: int | None = None
        self._sent: dict[str, str] = {}  # trigger settings the instrument holds
        self._delay_s = 0.0
        self._triggered_delay: float | None = None
        self._started: int | None = None  # readings start_readings triggered, not fetched

    # ------------------------------------------------------------------ set-up
    def initialize(self) -> Identity:
        """``*IDN?``, ``*RST``, ``*CLS``, one-shot triggering, readings only, line frequency."""
        identity = self.verify_identity()
        for command in ("*RST", "*CLS", ":INIT:CONT OFF", ":ABOR", ":FORM:ELEM READ"):
            self.write(command)
        self._reset_state()
        self._line_hz = 60.0 if self.ask(":SYST:LFR?") > 55.0 else 50.0
        self.check_errors("reset")
        return identity

    def _configure(self, function: str, range_value: float, nplc: float, autozero: bool) -> None:
        ranges = CURRENT_RANGES_A if function == "CURR" else VOLTAGE_RANGES_V
        try:
            in_set(ranges)(range_value)
            in_range(*NPLC_RANGE)(nplc)
        except ValidationError as exc:
            raise ValidationError(f"{self.label}: {exc}") from None
        if not isinstance(autozero, bool):
            raise ValidationError(f"{self.label}: autozero must be True or False")
        fn = FUNCTIONS[function]
        commands = [
            f":SENS:FUNC '{fn}'",
            f":SENS:{fn}:RANG {_text(range_value)}",
            f":SENS:{fn}:NPLC {_text(nplc)}",
            f":SENS:{fn}:AVER:STAT OFF",
            f":SYST:AZER:STAT {'ON' if autozero else 'OFF'}",
        ]
        for command in commands:
            self.write(command)
        self._function, self._range, self._nplc, self._autozero = (
            function,
            float(range_value),
            float(nplc),
            autozero,
        )
        self.check_errors("configuration")

    def configure_dc_voltage(self, *, range_v: float, nplc: float, autozero: bool = True) -> None:
        self._configure("VOLT", range_v, nplc, autozero)

    def configure_dc_current(self, *, range_a: float, nplc: float, autozero: bool = True) -> None:
        """DC current on the front AMPS input (10 mA .. 3 A ranges; not through the card)."""
        self._configure("CURR", range_a, nplc, autozero)

    def configure_channels(
        self, channels: Iterable[int], range_v: float, nplc: float, autozero: bool = True
    ) -> None:
        """DC volts for card ``channels`` (the 2000 has one set of settings for all)."""
        chans = list(channels)
        if not chans or any(
            isinstance(ch, bool) or not isinstance(ch, int) or ch not in CHANNELS for ch in chans
        ):
            raise ValidationError(f"{self.label}: channels {chans!r} are not all in 1 ... 10")
        self.configure_dc_voltage(range_v=range_v, nplc=nplc, autozero=autozero)

    def select_channel(self, channel: int) -> None:
        """Close card ``channel`` (the previous one opens); waits for the relay (``*OPC?``)."""
        if isinstance(channel, bool) or not isinstance(channel, int) or channel not in CHANNELS:
            raise ValidationError(f"{self.label}: channel {channel!r} is not 1 ... 10")
        self.write_synced(f":ROUT:CLOS (@{channel})")
        self._closed = channel

    def open_channels(self) -> None:
        self.write_synced(":ROUT:OPEN:ALL")
        self._closed = None

    def set_trigger_delay(self, seconds: float) -> None:
        """Delay (s) between the trigger and the readings of ``read``/``read_many``."""
        try:
            self._delay_s = in_range(0.0, MAX_DELAY_S)(seconds)
        except ValidationError as exc:
            raise ValidationError(f"{self.label}: trigger delay: {exc}") from None

    def _send_trigger(self, **wanted: str) -> bool:
        changed = [cmd for key, cmd in wanted.items() if self._sent.get(key) != cmd]
        for command in changed:
            self.write(command)
        self._sent.update(wanted)
        return bool(changed)

    # ------------------------------------------------------------------ readings
    def read(self) -> float:
        return float(self.read_many(1)[0])

    def _prepare_readings(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= SAMPLE_MAX:
            raise ValidationError(f"{self.label}: count {count!r} is not 1 ... {SAMPLE_MAX}")
        self._send_trigger(
            source=":TRIG:SOUR IMM",
            delay=f":TRIG:DEL {_text(self._delay_s)}",
            count=":TRIG:COUN 1",
            samples=f":SAMP:COUN {count}",
        )

    def _checked(self, values: list[float], count: int, query: str) -> np.ndarray:
        if len(values) != count:
            raise InstrumentReplyError(
                self.label,
                f"{query} returned {len(values)} values, expected {count} "
                "(truncated or garbled reply?)",
                "check the cable and the trigger settings",
            )
        return np.asarray(values, dtype=float)

    def read_many(self, count: int) -> np.ndarray:
        """``count`` readings back to back after one immediate trigger and the delay."""
        self._prepare_readings(count)
        self._started = None
        return self._checked(self.ask(":READ?", parse_readings), count, ":READ?")

    def start_readings(self, count: int) -> None:
        """``:INIT`` (one-shot initiation, immediate trigger), confirmed by :meth:`arm`: the
        readings run while the controller works elsewhere; :meth:`fetch_readings` collects them."""
        self._prepare_readings(count)
        self.arm()
        self._started = count

    def fetch_readings(self) -> np.ndarray:
        """``:FETC?`` waits for the readings of the last ``:INIT`` (manual, FETCh?)."""
        count = self._started
        if count is None:
            raise InstrumentError(self.label, "no readings started", "call start_readings")
        self._started = None
        return self._checked(self.ask(":FETC?", parse_readings), count, ":FETC?")

    def autozero_once(self) -> None:
        """Autozero off, then the integration rate to 0.01 PLC and back: one fresh reference
        and zero measurement, held by the readings that follow (module docstring)."""
        fn = FUNCTIONS[self._function]
        detour = NPLC_RANGE[0] if self._nplc != NPLC_RANGE[0] else 0.1
        for command in (
            ":SYST:AZER:STAT OFF",
            f":SENS:{fn}:NPLC {_text(detour)}",
            f":SENS:{fn}:NPLC {_text(self._nplc)}",
        ):
            self.write(command)
        self._autozero = False
        self.check_errors("autozero once")

    def autozero_off_error(self) -> float:
        """+-(2 ppm of range + 5 uV) [V sister]; for current the 5 uV over the shunt [E]."""
        ranges = CURRENT_RANGES_A if self._function == "CURR" else VOLTAGE_RANGES_V
        range_value = self._range or ranges[-1]
        floor = AUTOZERO_OFF_V
        if self._function == "CURR":
            floor /= CURRENT_SHUNT_OHM[range_value]
        return AUTOZERO_OFF_RANGE * range_value + floor

    def autozero_hold_s(self) -> float:
        """Data sheet: < 10 minutes (and +-1 degC change) [V sister]."""
        return AUTOZERO_OFF_HOLD_S

    def reading_time_s(self) -> float:
        return reading_period_s(self._nplc, self._line_hz, self._autozero)

    def accuracy(self, value: float) -> Accuracy:
        ranges = CURRENT_RANGES_A if self._function == "CURR" else VOLTAGE_RANGES_V
        table = CURRENT_SPEC if self._function == "CURR" else VOLTAGE_SPEC
        range_value = self._range or smallest_range(ranges, value, OVERRANGE)
        gain, range_fraction = table[range_value]
        return Accuracy(gain, range_fraction * range_value, range_value, SPEC_SOURCE)

    # ------------------------------------------------------------------ triggered reading
    def configure_triggered_reading(
        self,
        *,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
    ) -> None:
        """One reading per trigger ``delay_s`` after it (EXT: Trigger Link EXT TRIG line)."""
        source = {"external": "EXT", "bus": "BUS", "immediate": "IMM"}.get(trigger)
        if source is None:
            raise ValidationError(
                f"{self.label}: trigger {trigger!r} is not external, bus or immediate"
            )
        try:
            delay = in_range(0.0, MAX_DELAY_S)(delay_s)
        except ValidationError as exc:
            raise ValidationError(f"{self.label}: trigger delay: {exc}") from None
        changed = self._send_trigger(
            source=f":TRIG:SOUR {source}",
            delay=f":TRIG:DEL {_text(delay)}",
            count=":TRIG:COUN 1",
            samples=":SAMP:COUN 1",
        )
        self._triggered_delay = delay
        if changed:
            self.check_errors("triggered reading configuration")

    def arm(self) -> None:
        """``:INIT``; the error query in the same message confirms it was accepted."""
        code, message = self.ask(":INIT;:SYST:ERR?", parse_error)
        if code != 0:
            raise InstrumentErrorQueue(self.label, [(code, message), *self.read_errors()], "INIT")

    def trigger(self) -> None:
        self.write("*TRG")

    def fetch(self) -> np.ndarray:
        values = np.asarray(self.ask(":FETC?", parse_readings), dtype=float)
        if len(values) != 1:
            raise InstrumentReplyError(
                self.label,
                f":FETC? returned {len(values)} readings, expected 1",
                "check the Trigger Link cable to EXT TRIG",
            )
        return values

    def triggered_time_s(self) -> float:
        if self._triggered_delay is None:
            raise InstrumentError(
                self.label, "no triggered reading configured", "call configure_triggered_reading"
            )
        return self._triggered_delay + 0.5 * self._nplc / self._line_hz

    def trigger_timing(self) -> TriggerTiming:
        return TriggerTiming(
            aperture_s=self._nplc / self._line_hz,
            latency_s=TRIGGER_LATENCY_S,
            jitter_s=TRIGGER_JITTER_S,
            delay_resolution_s=DELAY_RESOLUTION_S,
            timebase_rel=TIMEBASE_REL,
            source=TIMING_SOURCE,
        )

    # ------------------------------------------------------------------ safety
    def safe_state(self) -> None:
        """Stop any acquisition and open the card; a DMM drives nothing."""
        try:
            self.write_all((":ABOR", ":ROUT:OPEN:ALL"))
        finally:
            self._closed = None
            self._sent = {}

    def safe_state_problems(self) -> list[str]:
        return []
