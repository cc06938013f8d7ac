"""Keysight 34465A Truevolt DMM: DC current and voltage, fixed ranges, NPLC, triggered bursts.

Commands from the Truevolt Series Operating and Service Guide (SCPI reference):
``CONFigure:CURRent:DC``, ``CONFigure:VOLTage:DC``, ``[SENSe:]<function>:NPLCycles``,
``[SENSe:]<function>:ZERO:AUTO``, ``[SENSe:]VOLTage:DC:IMPedance:AUTO``, ``TRIGger:SOURce``,
``TRIGger:DELay``, ``TRIGger:SLOPe``, ``TRIGger:COUNt``, ``SAMPle:COUNt``, ``SAMPle:SOURce``,
``SAMPle:TIMer``, ``INITiate``, ``READ?``, ``FETCh?``, ``ABORt``, ``SYSTem:LFRequency?``;
``[SENSe:]<function>:ZERO:AUTO ONCE`` takes one zero now and leaves autozero OFF (below 1 PLC
the zero integrates 1 PLC; guide pp. 197, 223).

Accuracy figures are the [K] values of docs/metrology.md 4.1 (Keysight 34465A data sheet
5991-1983EN still to be checked); the uncertainty budget cites them as such.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

from drivers.errors import (
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentReplyError,
    ValidationError,
)
from drivers.roles import Digitiser, Dmm
from drivers.scpi import (
    Accuracy,
    Identity,
    ScpiInstrument,
    Setting,
    in_range,
    in_set,
    parse_error,
    parse_readings,
    smallest_range,
)

CURRENT_RANGES_A = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0)
VOLTAGE_RANGES_V = (0.1, 1.0, 10.0, 100.0, 1000.0)
NPLC_VALUES = (0.001, 0.002, 0.006, 0.02, 0.06, 0.2, 1.0, 10.0, 100.0)
OVERRANGE = 1.2
SPEC_SOURCE = "[K] Keysight 34465A 1-year spec per docs/metrology.md 4.1 (verify with 5991-1983EN)"
#: +-(fraction of reading, fraction of range)
CURRENT_SPEC = {
    1e-4: (0.0005, 0.00025),
    1e-3: (0.0005, 0.00005),
    1e-2: (0.0005, 0.0002),
    1e-1: (0.0005, 0.00005),
    1.0: (0.0008, 0.0001),
    3.0: (0.0015, 0.0002),
}
VOLTAGE_SPEC = {
    0.1: (0.000050, 0.000035),
    1.0: (0.000040, 0.000007),
    10.0: (0.000030, 0.000005),
    100.0: (0.000045, 0.000006),
    1000.0: (0.000045, 0.000010),
}


#: autozero-off additional error after one zero, within +-1 degC and < 10 minutes [E]: the
#: 34401A/34410A/34970A family's data-sheet figure +-(0.0002 % of range + 5 uV) (the Truevolt
#: data sheet 5991-1983EN not retrieved); DC current: the 5 uV across the range's shunt, the
#: shunt values [E] as the simulator's (docs/metrology.md 4.1)
AUTOZERO_OFF_RANGE = 2e-6
AUTOZERO_OFF_V = 5e-6
AUTOZERO_OFF_HOLD_S = 600.0
CURRENT_SHUNT_OHM = {1e-4: 100.0, 1e-3: 100.0, 1e-2: 1.0, 1e-1: 1.0, 1.0: 0.1, 3.0: 0.1}


def _text(value: float) -> str:
    return f"{value:.9g}"


class Truevolt(ScpiInstrument, Dmm):
    """What the Truevolt DMMs share (34460A/61A/65A/70A): configuration, readings, triggering,
    ``INIT``/``FETC?``; each model adds its identity and what it has beyond (DIG option)."""

    current_ranges_a = CURRENT_RANGES_A
    voltage_ranges_v = VOLTAGE_RANGES_V
    NPLC_VALUES: tuple[float, ...] = NPLC_VALUES
    CURRENT_SPEC = CURRENT_SPEC
    VOLTAGE_SPEC = VOLTAGE_SPEC
    SPEC_SOURCE = SPEC_SOURCE

    trigger_source = Setting(
        "TRIG:SOUR?", "TRIG:SOUR {}", parse=str, validator=in_set(["IMM", "BUS", "EXT", "INT"])
    )
    trigger_delay_s = Setting(
        "TRIG:DEL?", "TRIG:DEL {}", validator=in_range(0.0, 3600.0), to_text=_text
    )
    sample_count = Setting(
        "SAMP:COUN?",
        "SAMP:COUN {}",
        parse=lambda r: int(float(r)),
        validator=in_range(1, 1e9),
        to_text=lambda v: str(int(v)),
    )
    line_frequency_hz = Setting("SYST:LFR?", None)

    def __init__(self, transport, *, role: str = "dmm") -> None:
        super().__init__(transport, role=role)
        self._function = "VOLT"
        self._range = 10.0
        self._nplc = 10.0
        self._autozero = True
        self._line_hz = 50.0
        self._samples = 1
        self._capture: tuple[int, float, float] | None = None  # samples, interval, delay
        self._started: int | None = None  # readings start_readings triggered, not fetched

    def initialize(self) -> Identity:
        identity = self.verify_identity()
        self.write("*RST")
        self.write("*CLS")
        # what *RST set (Truevolt defaults): DC volts, 10 V autorange, NPLC 10, one sample
        self._function, self._range, self._nplc, self._autozero = "VOLT", 10.0, 10.0, True
        self._samples = 1
        self._line_hz = float(self.line_frequency_hz)
        self.check_errors("reset")
        return identity

    # ------------------------------------------------------------------ configuration
    def _configure(self, function: str, range_value: float, nplc: float, autozero: bool) -> None:
        ranges = self.current_ranges_a if function == "CURR" else self.voltage_ranges_v
        in_set(ranges)(range_value)
        if nplc not in self.NPLC_VALUES:
            raise ValidationError(
                f"{self.label}: NPLC {nplc:g} is not one of "
                f"{', '.join(f'{n:g}' for n in self.NPLC_VALUES)}"
            )
        self.write(f"CONF:{function}:DC {_text(range_value)}")
        self.write(f"{function}:NPLC {_text(nplc)}")
        self.write(f"{function}:ZERO:AUTO {'ON' if autozero else 'OFF'}")
        if function == "VOLT":
            self.write("VOLT:IMP:AUTO ON")  # >10 Gohm on the <=10 V ranges: no shunt loading
        self._function, self._range, self._nplc, self._autozero = (
            function,
            range_value,
            nplc,
            autozero,
        )
        self._samples = 1
        self.check_errors("configuration")

    def configure_dc_current(self, *, range_a: float, nplc: float, autozero: bool = True) -> None:
        self._configure("CURR", range_a, nplc, autozero)

    def configure_dc_voltage(self, *, range_v: float, nplc: float, autozero: bool = True) -> None:
        self._configure("VOLT", range_v, nplc, autozero)

    def set_trigger_delay(self, seconds: float) -> None:
        self.trigger_delay_s = seconds

    @staticmethod
    def range_for_current(value_a: float) -> float:
        return smallest_range(CURRENT_RANGES_A, value_a, OVERRANGE)

    # ------------------------------------------------------------------ readings
    def read(self) -> float:
        values = self.read_many(1)
        return float(values[0])

    def _prepare_readings(self, count: int) -> None:
        """Sample count for ``count`` readings from one immediate trigger."""
        if count != self._samples:
            self.sample_count = count
            self._samples = count

    def read_many(self, count: int) -> np.ndarray:
        self._prepare_readings(count)
        self._started = None
        values = self.ask("READ?", parse_readings)
        if len(values) != count:
            raise InstrumentReplyError(
                self.label,
                f"READ? returned {len(values)} values, expected {count} "
                "(truncated or garbled reply?)",
                "check the cable and the trigger settings",
            )
        return np.asarray(values, dtype=float)

    def start_readings(self, count: int) -> None:
        """``INIT``, confirmed by :meth:`arm`'s error query in the same message: the readings
        run in the instrument before the controller turns to another one; :meth:`fetch_readings`
        collects them."""
        self._prepare_readings(count)
        self.arm()
        self._started = count

    def fetch_readings(self) -> np.ndarray:
        """``FETC?`` waits for the readings of the last ``INIT`` (Truevolt guide, FETCh?)."""
        count = self._started
        if count is None:
            raise InstrumentError(self.label, "no readings started", "call start_readings")
        self._started = None
        values = self.ask("FETC?", parse_readings)
        if len(values) != count:
            raise InstrumentReplyError(
                self.label,
                f"FETC? returned {len(values)} values, expected {count} "
                "(truncated or garbled reply?)",
                "check the cable and the trigger settings",
            )
        return np.asarray(values, dtype=float)

    def reading_time_s(self) -> float:
        aperture = self._nplc / self._line_hz
        return aperture * (2.0 if self._autozero else 1.0)

    def autozero_once(self) -> None:
        """``<function>:ZERO:AUTO ONCE``: one zero now, autozero OFF afterwards; the zero
        holds until the function, range or integration time changes (guide p. 223)."""
        self.write(f"{self._function}:ZERO:AUTO ONCE")
        self._autozero = False
        self.check_errors("autozero once")

    def autozero_off_error(self) -> float:
        """[E] +-(0.0002 % of range + 5 uV), the 5 uV divided by the shunt for current."""
        floor = AUTOZERO_OFF_V
        if self._function == "CURR":
            floor /= CURRENT_SHUNT_OHM[self._range]
        return AUTOZERO_OFF_RANGE * self._range + floor

    def autozero_hold_s(self) -> float:
        """The data-sheet window: < 10 minutes (and +-1 degC) after the zero [E]."""
        return AUTOZERO_OFF_HOLD_S

    def accuracy(self, value: float) -> Accuracy:
        table = self.CURRENT_SPEC if self._function == "CURR" else self.VOLTAGE_SPEC
        gain, range_fraction = table[self._range]
        return Accuracy(gain, range_fraction * self._range, self._range, self.SPEC_SOURCE)

    def arm(self) -> None:
        """Start the acquisition; the error query in the same message confirms it is armed
        (and that INIT was accepted) before anyone triggers it."""
        code, message = self.ask("INIT;SYST:ERR?", parse_error)
        if code != 0:
            raise InstrumentErrorQueue(self.label, [(code, message), *self.read_errors()], "INIT")

    def trigger(self) -> None:
        self.write("*TRG")

    def fetch(self, expected: int | None = None) -> np.ndarray:
        """Readings of the last acquisition (waits for it); checks the count when given."""
        values = np.asarray(self.ask("FETC?", parse_readings), dtype=float)
        count = expected if expected is not None else self._samples
        if len(values) != count:
            raise InstrumentReplyError(
                self.label,
                f"FETC? returned {len(values)} readings, expected {count}",
                "check the trigger wiring",
            )
        return values

    # ------------------------------------------------------------------ safety
    def safe_state(self) -> None:
        """A DMM drives nothing; stop any acquisition so it is ready and quiet."""
        self.write("ABOR")

    def safe_state_problems(self) -> list[str]:
        return []


class Keysight34465A(Truevolt, Digitiser):
    MODEL = "Keysight 34465A"
    IDN_PATTERN = re.compile(r"(Keysight|Agilent) Technologies,34465A,")

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
        """Timed burst: ``samples`` readings every ``interval_s`` after one trigger, on the
        configured function and range (``range_v``: DC volts on that range first)."""
        if range_v is not None:
            self.configure_dc_voltage(range_v=range_v, nplc=self._nplc, autozero=False)
        source = {"external": "EXT", "bus": "BUS", "immediate": "IMM"}[trigger]
        in_range(1e-6, 3600.0)(interval_s)
        commands = [self.setting("trigger_source", source)]
        if source == "EXT":
            commands.append("TRIG:SLOP NEG")
        commands += [
            self.setting("trigger_delay_s", delay_s),
            "TRIG:COUN 1",
            "SAMP:SOUR TIM",
            f"SAMP:TIM {_text(interval_s)}",
            self.setting("sample_count", samples),
        ]  # all validated before the first is sent
        for command in commands:
            self.write(command)
        self._samples = samples
        self._capture = (samples, float(interval_s), float(delay_s))
        self.check_errors("capture configuration")

    def capture_times_s(self) -> np.ndarray:
        """Sample k at ``delay + k SAMP:TIM + aperture / 2`` after the trigger, the aperture
        being the configured integration time NPLC / line frequency (Truevolt guide: a reading
        integrates over its aperture, the sample timer sets the start of each)."""
        if self._capture is None:
            raise InstrumentError(self.label, "no capture configured", "call configure_capture")
        samples, interval, delay = self._capture
        aperture = self._nplc / self._line_hz
        return delay + np.arange(samples) * interval + 0.5 * aperture
