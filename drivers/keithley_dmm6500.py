"""Keithley DMM6500 with a 2000-SCAN 10-channel scanner card, native SCPI (``*LANG SCPI``).

DC volts through the card's channels 1..10 (plain numbers, ``(@1)``); readings and timed
captures run in the trigger model and land in ``defbuffer1``. Commands (TTI family; ``[OS]``
seen in open-source drivers used on a real DMM6500, ``[V sister]`` in the DMM7510 / 2461 /
2450 reference manuals, ``[unverified]`` chosen by analogy):

* ``*LANG?`` [OS], ``:SYST:LFR?`` [OS], ``:ROUT:TERM?`` -> ``FRON|REAR`` [OS];
* ``:ROUT:CLOS (@n)``, ``:ROUT:OPEN:ALL`` [OS];
* ``:SENS:FUNC "VOLT:DC"[, (@list)]``, ``:SENS:VOLT:RANG|NPLC|AZER|INP <v>[, (@list)]`` [OS];
* ``:TRIG:LOAD "Empty"``, ``:TRIG:BLOC:BUFF:CLE``, ``:TRIG:BLOC:WAIT <n>, EXT|COMM, ENT``,
  ``:TRIG:BLOC:DEL:CONS``, ``:TRIG:BLOC:MDIG <n>, "buf", <count>`` [OS, V sister];
  ``:TRIG:EXT:IN:EDGE FALL`` [OS]; ``:INIT``, ``*WAI``, ``:ABOR``, ``*TRG``; ``:TRIG:STAT?``
  -> ``RUNNING;RUNNING;2`` [V sister];
* ``:DIG:FUNC "VOLT"``, ``:DIG:VOLT:RANG|SRAT|APER AUTO`` [V sister];
* ``:TRAC:ACT? "buf"``, ``:TRAC:DATA? <start>, <end>, "buf", READ, REL`` (REL: seconds since
  the buffer's first reading) [V sister];
* ``:SENS:AZER:ONCE`` "causes the instrument to refresh the reference and zero measurements
  once" [V sister: 2450/2461 reference manuals, QCoDeS DMM6500 driver ``auto_zero_once``]; it
  does not change the autozero setting, so readings with ``:SENS:VOLT:AZER OFF[, (@list)]``
  use the fresh zero (the references are per aperture [V sister]: the once-zero runs at the
  active channel's NPLC, which :meth:`autozero_once` expects the channels to share).

The trigger delay is a DELAY block before the MEASURE/DIGITIZE block (the TTI family has no
``TRIG:DEL``). That digitize samples the closed card channel is an assumption to verify on
hardware. Accuracy: 10 V range +-(25 ppm rdg + 5 ppm rng), 1 year [DMM6500 calibration manual];
the other ranges are [E] estimates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from drivers.errors import (
    InstrumentError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.roles import Digitiser, Dmm, Scanner
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    in_range,
    in_set,
    parse_readings,
    smallest_range,
)

CHANNELS = tuple(range(1, 11))
VOLTAGE_RANGES_V = (0.1, 1.0, 10.0, 100.0, 1000.0)
OVERRANGE = 1.2
NPLC_MIN = 0.0005
NPLC_MAX = {50: 12.0, 60: 15.0}  # aperture up to 0.24 s (50 Hz) / 0.25 s (60 Hz)
SAMPLE_RATES = (1_000, 1_000_000)  # digitize, readings per second
BUFFER = "defbuffer1"
BUFFER_SIZE = 100_000  # [E] capacity of defbuffer1 after *RST
MAX_DELAY_S = 10_000.0
SPEC_SOURCE = "Keithley DMM6500 1-year DCV spec (10 V: calibration manual; other ranges [E])"
#: +-(fraction of reading, fraction of range); 10 V verified, the others [E]
VOLTAGE_SPEC = {
    0.1: (40e-6, 35e-6),
    1.0: (30e-6, 6e-6),
    10.0: (25e-6, 5e-6),
    100.0: (30e-6, 6e-6),
    1000.0: (30e-6, 10e-6),
}
RUNNING_STATES = ("RUNNING", "WAITING")
#: autozero-off additional error within +-1 degC and 10 minutes since the last autozero: the
#: data sheet's resistance row is +-(0.0005 % of range + 5 mohm) [V]; DC volts taken alike as
#: +-(0.0005 % of range + 5 uV) [E: the DCV row not retrieved] (docs/metrology.md 4.1)
AUTOZERO_OFF_RANGE = 5e-6
AUTOZERO_OFF_V = 5e-6
AUTOZERO_OFF_HOLD_S = 600.0


def _text(value: float) -> str:
    return f"{value:.9g}"


def channel_list(channels: Iterable[int]) -> str:
    """``[1, 2, 3, 5]`` -> ``(@1:3,5)``."""
    ordered = sorted(channels)
    parts: list[str] = []
    start = prev = ordered[0]
    for ch in [*ordered[1:], None]:
        if ch is not None and ch == prev + 1:
            prev = ch
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if ch is not None:
            start = prev = ch
    return f"(@{','.join(parts)})"


def _parse_state(reply: str) -> tuple[str, int]:
    parts = reply.strip().split(";")
    if len(parts) != 3 or not parts[0].isalpha():
        raise ValueError(reply)
    return parts[0].upper(), int(parts[2])


@dataclass(frozen=True)
class ChannelConfig:
    """DC-volt settings of a card channel or the terminals; ``range_v=None`` is autorange."""

    range_v: float | None = None
    nplc: float = 1.0
    autozero: bool = True


@dataclass(frozen=True)
class _Capture:
    samples: int
    interval_s: float
    delay_s: float = 0.0


class KeithleyDMM6500(ScpiInstrument, Dmm, Scanner, Digitiser):
    MODEL = "Keithley DMM6500"
    IDN_PATTERN = re.compile(r"KEITHLEY INSTRUMENTS( INC\.)?,MODEL DMM6500,")
    current_ranges_a: tuple[float, ...] = ()  # the 2000-SCAN card switches voltage only
    voltage_ranges_v = VOLTAGE_RANGES_V

    def __init__(self, transport, *, role: str = "dmm") -> None:
        super().__init__(transport, role=role)
        self._line_hz = 50.0
        self._reset_state()

    def _reset_state(self) -> None:
        """What the driver knows after ``*RST``: all open, autorange, NPLC 1, autozero on."""
        self._configs: dict[int | None, ChannelConfig] = {
            key: ChannelConfig() for key in (None, *CHANNELS)
        }
        self._closed: int | None = None
        self._delay_s = 0.0
        self._model: tuple[int, float] | _Capture | None = None  # trigger model loaded
        self._times: np.ndarray | None = None
        self._started: int | None = None  # readings start_readings triggered, not fetched

    # ------------------------------------------------------------------ set-up
    def initialize(self) -> Identity:
        """``*IDN?``, ``*LANG?`` = SCPI, ``*RST``, ``*CLS``, line frequency, rear input."""
        identity = self.verify_identity()
        self.require_scpi_language("Menu > System > Settings")
        self.write("*RST")
        self.write("*CLS")
        self._reset_state()
        line_hz = self.ask(":SYST:LFR?")
        self._line_hz = 60.0 if line_hz > 55.0 else 50.0
        terminals = self.ask(":ROUT:TERM?", str).strip().upper()
        if not terminals.startswith("REAR"):
            raise InstrumentError(
                self.label,
                f"the front input terminals are selected (:ROUT:TERM? = {terminals}); "
                "the scanner card is on the rear input",
                "press the FRONT/REAR switch to REAR",
            )
        self.check_errors("reset")
        return identity

    # ------------------------------------------------------------------ configuration
    def _check(self, what: str, check: Callable[[Any], Any], value: Any) -> Any:
        try:
            return check(value)
        except ValidationError as exc:
            raise ValidationError(f"{self.label}: {what}: {exc}") from None

    def _validated(self, range_v: float, nplc: float, autozero: bool) -> ChannelConfig:
        self._check("range", in_set(VOLTAGE_RANGES_V), range_v)
        top = NPLC_MAX[60 if self._line_hz > 55.0 else 50]
        self._check("NPLC", in_range(NPLC_MIN, top), nplc)
        if not isinstance(autozero, bool):
            raise ValidationError(f"{self.label}: autozero must be True or False")
        return ChannelConfig(float(range_v), float(nplc), autozero)

    @staticmethod
    def _commands(config: ChannelConfig, where: str) -> list[str]:
        suffix = f", {where}" if where else ""
        assert config.range_v is not None
        return [
            f':SENS:FUNC "VOLT:DC"{suffix}',
            f":SENS:VOLT:RANG {_text(config.range_v)}{suffix}",
            f":SENS:VOLT:NPLC {_text(config.nplc)}{suffix}",
            f":SENS:VOLT:AZER {'ON' if config.autozero else 'OFF'}{suffix}",
            f":SENS:VOLT:INP AUTO{suffix}",  # > 10 Gohm on <= 10 V: no shunt loading
        ]

    def configure_channels(
        self, channels: Iterable[int], range_v: float, nplc: float, autozero: bool = True
    ) -> None:
        """DC volts on card ``channels``: fixed range (V), NPLC, autozero, high input impedance."""
        chans = list(channels)
        if not chans or any(
            isinstance(ch, bool) or not isinstance(ch, int) or ch not in CHANNELS for ch in chans
        ):
            raise ValidationError(f"{self.label}: channels {chans!r} are not all in 1 ... 10")
        if len(set(chans)) != len(chans):
            raise ValidationError(f"{self.label}: channel listed twice in {chans!r}")
        config = self._validated(range_v, nplc, autozero)
        for command in self._commands(config, channel_list(chans)):
            self.write(command)
        for ch in chans:
            self._configs[ch] = config
        self.check_errors("channel configuration")

    def configure_dc_voltage(self, *, range_v: float, nplc: float, autozero: bool = True) -> None:
        """DC volts with the same settings on the terminals and all ten card channels."""
        config = self._validated(range_v, nplc, autozero)
        for command in [*self._commands(config, ""), *self._commands(config, "(@1:10)")]:
            self.write(command)
        self._configs = dict.fromkeys(self._configs, config)
        self.check_errors("configuration")

    def configure_dc_current(self, *, range_a: float, nplc: float, autozero: bool = True) -> None:
        """Refused: the 2000-SCAN card switches voltage only."""
        raise ValidationError(
            f"{self.label}: the 2000-SCAN card cannot carry current - measure the voltage "
            "across a shunt with configure_channels() (shunt-scan topology)"
        )

    def select_channel(self, channel: int) -> None:
        """Close card ``channel`` (the previous one opens); waits for the relay (``*OPC?``)."""
        if isinstance(channel, bool) or not isinstance(channel, int) or channel not in CHANNELS:
            raise ValidationError(f"{self.label}: channel {channel!r} is not 1 ... 10")
        self.write_synced(f":ROUT:CLOS (@{channel})")
        self._closed = channel
        if isinstance(self._model, _Capture):
            self._model = None  # closing a channel makes its measure settings active again

    def open_channels(self) -> None:
        """Open every card channel (``:ROUT:OPEN:ALL``)."""
        self.write_synced(":ROUT:OPEN:ALL")
        self._closed = None

    def set_trigger_delay(self, seconds: float) -> None:
        """Delay (s) before each read; applied by the trigger model's DELAY block."""
        self._delay_s = self._check("trigger delay", in_range(0.0, MAX_DELAY_S), seconds)

    # ------------------------------------------------------------------ readings
    def _active(self) -> ChannelConfig:
        return self._configs[self._closed]

    def _load_read_model(self, count: int) -> None:
        commands = []
        if isinstance(self._model, _Capture):  # leave digitize: re-apply the measure settings
            commands.append(
                f":ROUT:CLOS (@{self._closed})"
                if self._closed is not None
                else ':SENS:FUNC "VOLT:DC"'
            )
        commands += [
            ':TRIG:LOAD "Empty"',
            f':TRIG:BLOC:BUFF:CLE 1, "{BUFFER}"',
            f":TRIG:BLOC:DEL:CONS 2, {_text(self._delay_s)}",
            f':TRIG:BLOC:MDIG 3, "{BUFFER}", {count}',
        ]
        for command in commands:
            self.write(command)
        self._model = (count, self._delay_s)
        self.check_errors("trigger model")

    def read(self) -> float:
        """One DC-volt reading (V) after the trigger delay."""
        return float(self.read_many(1)[0])

    def _prepare_readings(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= BUFFER_SIZE:
            raise ValidationError(f"{self.label}: count {count!r} is not 1 ... {BUFFER_SIZE}")
        model = self._model
        if isinstance(model, tuple) and model[0] == count and model[1] != self._delay_s:
            # only the delay changed: redefine block 2 of the loaded model (the Reference
            # Manual's :TRIGger:BLOCk:DELay:CONStant replaces a block of the same number)
            self.write(f":TRIG:BLOC:DEL:CONS 2, {_text(self._delay_s)}")
            self._model = (count, self._delay_s)
        elif model != (count, self._delay_s):
            self._load_read_model(count)

    def read_many(self, count: int) -> np.ndarray:
        """``count`` back-to-back readings (V) after one trigger delay."""
        self._prepare_readings(count)
        self._started = None
        return self._collect(":INIT;*WAI", count)

    def start_readings(self, count: int) -> None:
        """``:INIT`` the read model, confirmed running by :meth:`arm` before the controller turns
        to another instrument; :meth:`fetch_readings` collects the readings."""
        self._prepare_readings(count)
        self.arm()
        self._started = count

    def fetch_readings(self) -> np.ndarray:
        """``*WAI`` for the trigger model, then ``:TRAC:DATA?`` of the started readings (V)."""
        count = self._started
        if count is None:
            raise InstrumentError(self.label, "no readings started", "call start_readings")
        self._started = None
        return self._collect("*WAI", count)

    def _collect(self, wait: str, count: int) -> np.ndarray:
        """How many readings the trigger model made, then those readings: an instrument reset
        meanwhile (its trigger model gone, so no readings) is a clear error here instead of a
        :TRAC:DATA? that never replies."""
        made = self.ask(f'{wait};:TRAC:ACT? "{BUFFER}"', lambda r: int(float(r)))
        if made < count:
            raise InstrumentReplyError(
                self.label,
                f"the trigger model made {made} of {count} readings (was the instrument reset?)",
                "check the instrument and its trigger model, then rerun",
            )
        values = self.ask(f':TRAC:DATA? 1, {count}, "{BUFFER}"', parse_readings)
        return self._checked(values, count)

    def _checked(self, values: list[float], count: int) -> np.ndarray:
        if len(values) != count:
            raise InstrumentReplyError(
                self.label,
                f":TRAC:DATA? returned {len(values)} values, expected {count} "
                "(truncated or garbled reply?)",
                "check the cable and the trigger model settings",
            )
        return np.asarray(values, dtype=float)

    def reading_time_s(self) -> float:
        """Integration time (s) of one reading, doubled by autozero."""
        config = self._active()
        return config.nplc / self._line_hz * (2.0 if config.autozero else 1.0)

    def autozero_once(self) -> None:
        """Autozero off on the terminals and all ten channels, then ``:SENS:AZER:ONCE`` (one
        fresh reference and zero measurement, held by the readings that follow)."""
        for command in (":SENS:VOLT:AZER OFF", ":SENS:VOLT:AZER OFF, (@1:10)", ":SENS:AZER:ONCE"):
            self.write(command)
        self._configs = {key: replace(c, autozero=False) for key, c in self._configs.items()}
        self.check_errors("autozero once")

    def autozero_off_error(self) -> float:
        """[E] +-(0.0005 % of range + 5 uV) on the active range (10 V while autoranging)."""
        range_v = self._active().range_v or 10.0
        return AUTOZERO_OFF_RANGE * range_v + AUTOZERO_OFF_V

    def autozero_hold_s(self) -> float:
        """Data sheet: within 10 minutes (and +-1 degC) since the last autozero."""
        return AUTOZERO_OFF_HOLD_S

    def accuracy(self, value: float) -> Accuracy:
        """1-year DCV accuracy for ``value`` (V) on the closed channel's range."""
        range_v = self._active().range_v
        if range_v is None:  # autorange picks the smallest range that holds the value
            range_v = smallest_range(VOLTAGE_RANGES_V, value, OVERRANGE)
        gain, range_fraction = VOLTAGE_SPEC[range_v]
        return Accuracy(gain, range_fraction * range_v, range_v, SPEC_SOURCE)

    # ------------------------------------------------------------------ timed capture
    def configure_capture(
        self,
        *,
        samples: int,
        interval_s: float,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
        range_v: float | None = None,
    ) -> None:
        """Digitize ``samples`` DC-volt samples every ``interval_s`` (s) after one trigger."""
        if isinstance(samples, bool) or not isinstance(samples, int):
            raise ValidationError(f"{self.label}: samples {samples!r} is not an integer")
        self._check("samples", in_range(1, BUFFER_SIZE), samples)
        self._check("interval", in_range(1.0 / SAMPLE_RATES[1], 1.0 / SAMPLE_RATES[0]), interval_s)
        rate = round(1.0 / interval_s)
        if abs(rate * interval_s - 1.0) > 1e-4:  # SRATe is whole readings per second
            raise ValidationError(
                f"{self.label}: interval {interval_s:g} s is not 1/n s (n readings per second)"
            )
        self._check("trigger", in_set(["external", "bus", "immediate"]), trigger)
        self._check("delay", in_range(0.0, MAX_DELAY_S), delay_s)
        if range_v is None:
            range_v = self._active().range_v or 10.0
        self._check("range", in_set(VOLTAGE_RANGES_V), range_v)
        wait = {"external": "EXT", "bus": "COMM", "immediate": None}[trigger]
        commands = [
            ':DIG:FUNC "VOLT"',
            f":DIG:VOLT:RANG {_text(range_v)}",
            f":DIG:VOLT:SRAT {rate}",
            ":DIG:VOLT:APER AUTO",
            ':TRIG:LOAD "Empty"',
        ]
        if wait == "EXT":
            commands.append(":TRIG:EXT:IN:EDGE FALL")
        commands.append(f':TRIG:BLOC:BUFF:CLE 1, "{BUFFER}"')
        block = 2
        if wait is not None:
            commands.append(f":TRIG:BLOC:WAIT {block}, {wait}, ENT")
            block += 1
        commands += [
            f":TRIG:BLOC:DEL:CONS {block}, {_text(delay_s)}",
            f':TRIG:BLOC:MDIG {block + 1}, "{BUFFER}", {samples}',
        ]  # all validated before the first is sent
        for command in commands:
            self.write(command)
        self._model = _Capture(samples, 1.0 / rate, float(delay_s))
        self.check_errors("capture configuration")

    def arm(self) -> None:
        """Start the trigger model; the state query confirms it runs before anyone triggers."""
        state, block = self.ask(":INIT;:TRIG:STAT?", _parse_state)
        if state not in RUNNING_STATES and not (state == "IDLE" and block > 0):
            raise InstrumentError(
                self.label,
                f"trigger model is {state} at block {block} after :INIT",
                "check the capture configuration and the error queue",
            )

    def trigger(self) -> None:
        """Bus trigger (``*TRG``) for a capture armed with ``trigger="bus"``."""
        self.write("*TRG")

    def fetch(self) -> np.ndarray:
        """Wait for the capture to finish; return its samples (V). Times: ``fetch_times()``."""
        capture = self._model
        if not isinstance(capture, _Capture):
            raise InstrumentError(self.label, "no capture configured", "call configure_capture")
        actual = self.ask(f'*WAI;:TRAC:ACT? "{BUFFER}"', lambda r: int(float(r)))
        if actual < capture.samples:
            self.write(":ABOR")
            errors = self.read_errors()
            listed = "; ".join(f"{code} {message}" for code, message in errors)
            raise InstrumentError(
                self.label,
                f"capture incomplete: {actual} of {capture.samples} readings"
                + (f" (instrument: {listed})" if listed else ""),
                "check the trigger cable from the source's digital I/O to EXT TRIG IN",
            )
        n = capture.samples
        values = self.ask(f':TRAC:DATA? 1, {n}, "{BUFFER}", READ, REL', parse_readings)
        if len(values) != 2 * n:
            raise InstrumentReplyError(
                self.label,
                f":TRAC:DATA? returned {len(values)} values, expected {2 * n}",
                "check the instrument's buffer settings",
            )
        pairs = np.asarray(values, dtype=float).reshape(n, 2)
        self._times = pairs[:, 1]
        return pairs[:, 0]

    def capture_times_s(self) -> np.ndarray:
        """Sample k at ``delay + k / SRATe + aperture / 2`` after the trigger: the capture runs
        with ``:DIG:VOLT:APER AUTO``, an aperture of one sample interval [V sister: DMM7510
        8-83], whose centre is half an interval after the sample's start."""
        capture = self._model
        if not isinstance(capture, _Capture):
            raise InstrumentError(self.label, "no capture configured", "call configure_capture")
        k = np.arange(capture.samples)
        return capture.delay_s + (k + 0.5) * capture.interval_s

    def fetch_times(self) -> np.ndarray:
        """Seconds since the first sample of the last ``fetch()`` (the buffer's REL times)."""
        if self._times is None:
            raise InstrumentError(self.label, "no capture fetched yet", "call fetch() first")
        return self._times.copy()

    # ------------------------------------------------------------------ safety
    def safe_state(self) -> None:
        """Stop the trigger model (``:ABOR``) and open every channel; a DMM drives nothing."""
        try:
            self.write_all((":ABOR", ":ROUT:OPEN:ALL"))
        finally:
            self._closed = None

    def safe_state_problems(self) -> list[str]:
        return []
