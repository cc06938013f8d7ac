"""Keysight 34461A Truevolt DMM: the 34465A's SCPI without the DIG option (no timed sampling).

Commands from the Keysight Truevolt Series Operating and Service Guide (34460A/61A edition):
``CONFigure:CURRent:DC``, ``CONFigure:VOLTage:DC``, ``[SENSe:]<function>:NPLCycles`` (0.02,
0.2, 1, 10, 100), ``[SENSe:]<function>:ZERO:AUTO``, ``[SENSe:]VOLTage:DC:IMPedance:AUTO``,
``TRIGger:SOURce IMMediate|BUS|EXTernal``, ``TRIGger:DELay`` (0 .. 3600 s), ``TRIGger:SLOPe``,
``TRIGger:COUNt``, ``SAMPle:COUNt`` (1 .. 1 000 000; reading memory 10 000), ``INITiate``,
``READ?``, ``FETCh?``, ``ABORt``, ``SYSTem:LFRequency?``. ``SAMPle:SOURce TIMer``,
``SAMPle:TIMer``, ``APERture`` and level triggering belong to the 34465A/70A with DIG: this
model cannot digitise a step. It takes one reading per external trigger at a programmed delay
(:class:`drivers.roles.TriggeredReading`), which is what equivalent-time sampling of the
step response needs (docs/equivalent-time.md).

Accuracy: DCV 10 V 0.0035 % + 0.0005 %, DCI 10 mA 0.050 % + 0.020 %, 100 mA 0.050 % + 0.005 %
([unconfirmed], data sheet 5991-1983EN not retrieved: docs/instruments-second-models.md 3.3);
the other ranges as the 34465A's [K] table.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

from drivers.errors import InstrumentError, ValidationError
from drivers.keysight34465a import CURRENT_SPEC as SPEC_34465A
from drivers.keysight34465a import VOLTAGE_SPEC as VSPEC_34465A
from drivers.keysight34465a import Truevolt
from drivers.roles import TriggeredReading, TriggerTiming
from drivers.scpi import Setting, in_range, in_set, parse_readings

NPLC_VALUES = (0.02, 0.2, 1.0, 10.0, 100.0)
MAX_COUNT = 1_000_000
MEMORY = 10_000
SPEC_SOURCE = "Keysight 34461A 1-year spec [unconfirmed: docs/instruments-second-models.md 3.3]"
CURRENT_SPEC = {**SPEC_34465A, 1e-2: (0.0005, 0.0002), 1e-1: (0.0005, 0.00005)}
VOLTAGE_SPEC = {**VSPEC_34465A, 10.0: (0.000035, 0.000005)}
#: [E] Ext Trig latency and jitter, delay-timer step (Truevolt guide: about 1 us for DC) and
#: timebase; to confirm on hardware (docs/instruments-second-models.md 3.2, open item 4)
TRIGGER_LATENCY_S = 2e-6
TRIGGER_JITTER_S = 1e-6
DELAY_RESOLUTION_S = 1e-6
TIMEBASE_REL = 1e-4
TIMING_SOURCE = "[E] 34461A Ext Trig latency 2 us, jitter +-1 us, 1 us delay steps, 100 ppm"


class Keysight34461A(Truevolt, TriggeredReading):
    MODEL = "Keysight 34461A"
    IDN_PATTERN = re.compile(r"(Keysight|Agilent) Technologies,34461A,")
    NPLC_VALUES = NPLC_VALUES
    CURRENT_SPEC = CURRENT_SPEC
    VOLTAGE_SPEC = VOLTAGE_SPEC
    SPEC_SOURCE = SPEC_SOURCE
    fastest_nplc = NPLC_VALUES[0]

    trigger_source = Setting(
        "TRIG:SOUR?", "TRIG:SOUR {}", parse=str, validator=in_set(["IMM", "BUS", "EXT"])
    )
    sample_count = Setting(
        "SAMP:COUN?",
        "SAMP:COUN {}",
        parse=lambda r: int(float(r)),
        validator=in_range(1, MAX_COUNT),
        to_text=lambda v: str(int(v)),
    )

    def __init__(self, transport, *, role: str = "dmm") -> None:
        super().__init__(transport, role=role)
        #: what the instrument holds of the triggered-reading set-up (None: unknown)
        self._sent: dict[str, str] = {}

    def initialize(self):
        identity = super().initialize()
        self._sent = {}
        return identity

    def _configure(self, function: str, range_value: float, nplc: float, autozero: bool) -> None:
        super()._configure(function, range_value, nplc, autozero)
        self._sent = {}  # CONFigure resets the trigger system (IMM, delay AUTO, counts 1)

    def _prepare_readings(self, count: int) -> None:
        if count > MEMORY:
            raise ValidationError(
                f"{self.label}: count {count} exceeds the {MEMORY}-reading memory"
            )
        if self._sent:  # a triggered reading changed the trigger source: back to immediate
            for command in ("TRIG:SOUR IMM", "TRIG:COUN 1"):
                self.write(command)
            self._sent = {}
        super()._prepare_readings(count)

    # ------------------------------------------------------------------ triggered reading
    def configure_triggered_reading(
        self,
        *,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
    ) -> None:
        """One reading per trigger (``TRIG:COUN 1``, ``SAMP:COUN 1``) ``delay_s`` after it;
        the external trigger on the falling edge. Sends only what changed."""
        source = {"external": "EXT", "bus": "BUS", "immediate": "IMM"}.get(trigger)
        if source is None:
            raise ValidationError(
                f"{self.label}: trigger {trigger!r} is not external, bus or immediate"
            )
        wanted = {
            "source": self.setting("trigger_source", source),
            "slope": "TRIG:SLOP NEG",
            "delay": self.setting("trigger_delay_s", delay_s),
            "count": "TRIG:COUN 1",
            "samples": self.setting("sample_count", 1),
        }
        changed = [cmd for key, cmd in wanted.items() if self._sent.get(key) != cmd]
        for command in changed:
            self.write(command)
        self._sent = wanted
        self._samples = 1
        self._capture = (1, 0.0, float(delay_s))
        if changed:
            self.check_errors("triggered reading configuration")

    def triggered_time_s(self) -> float:
        """Delay + half the aperture (NPLC / line frequency) after the trigger."""
        if self._capture is None:
            raise InstrumentError(
                self.label, "no triggered reading configured", "call configure_triggered_reading"
            )
        return self._capture[2] + 0.5 * self._nplc / self._line_hz

    def trigger_timing(self) -> TriggerTiming:
        return TriggerTiming(
            aperture_s=self._nplc / self._line_hz,
            latency_s=TRIGGER_LATENCY_S,
            jitter_s=TRIGGER_JITTER_S,
            delay_resolution_s=DELAY_RESOLUTION_S,
            timebase_rel=TIMEBASE_REL,
            source=TIMING_SOURCE,
        )

    def fetch(self, expected: int | None = None) -> np.ndarray:
        values = np.asarray(self.ask("FETC?", parse_readings), dtype=float)
        count = expected if expected is not None else self._samples
        if len(values) != count:
            raise InstrumentError(
                self.label,
                f"FETC? returned {len(values)} readings, expected {count}",
                "check the trigger wiring",
            )
        return values
