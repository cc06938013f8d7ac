"""What the Keithley TTI-generation instruments (2450, DMM6500, ...) share, native SCPI.

Sources: 2450 Reference Manual 2450-901-01 and DMM6500 Reference Manual DMM6500-901-01 (the
two share these subsystems word for word): appendix B common commands (``*LANG``; no
``*OPT?`` in either list, so it is an undefined header), ``:FETCh?``, ``:FORMat:DATA``,
``:TRACe`` (reading buffers), ``:STATus:CLEar``, ``:SYSTem:CLEar``, ``:SYSTem:BEEPer``,
``:SYSTem:LFRequency?``, ``:DISPlay`` (accepted, nothing is drawn).

Formats: numbers ``1.000000E-01`` (overflow ``9.9E+37``), integers without a sign, the error
queue as the event log ``-113,"Undefined header;1;2026/11/26 11:00:00.000"``. Buffer elements
(``:TRACe:DATA?``, ``:FETCh?``, ``:READ?``): READing, SOURce, RELative (seconds since the
buffer's first reading), SEConds, FRACtional, UNIT, SOURUNIT, STATus, SOURSTATus, CHANnel,
TSTamp / DATE / TIME (``MM/DD/YYYY HH:MM:SS.ffffff`` [E]), FORMatted / SOURFORMatted
(``value unit-symbol`` [E]).
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import numpy as np

from bench.sim.buffers import ReadingBuffer
from bench.sim.instrument import SimInstrument
from bench.sim.scpi import (
    Call,
    ScpiError,
    format_keithley_number,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)

DEFAULT_BUFFERS = ("defbuffer1", "defbuffer2")
ELEMENTS = [
    "READing",
    "SOURce",
    "RELative",
    "SEConds",
    "FRACtional",
    "UNIT",
    "SOURUNIT",
    "STATus",
    "SOURSTATus",
    "CHANnel",
    "TSTamp",
    "DATE",
    "TIME",
    "FORMatted",
    "SOURFORMatted",
]
UNIT_SYMBOL = {"Volt DC": "V", "Amp DC": "A", "Ohm": "Ohm", "Watt DC": "W"}


class KeithleyTti(SimInstrument):
    """Event-log style error queue: ``-113,"Undefined header;1;2026/11/26 11:00:00.000"``."""

    error_queue_depth = 100
    options_reply = None  # *OPT? is not in the TTI common command set
    scpi_version = "1996.0"  # [E] the TTI manuals do not list :SYSTem:VERSion?'s reply
    #: reading buffers: default capacity after *RST, smallest and total sizes
    default_buffer_size: int = 100_000
    min_buffer_size: int = 10
    max_buffer_total: int = 7_000_000
    #: command sets ``*LANG`` names (only SCPI is simulated)
    languages: tuple[str, ...] = ("SCPI", "TSP")

    def __init__(self, world, identity) -> None:
        self.epoch = time.time()  # wall time of simulated t = 0, for SEConds/TSTamp elements
        super().__init__(world, identity)

    def format_error(self, code: int, message: str) -> str:
        if code == 0:
            return '0,"No error;0;0 0"'
        stamp = datetime.now().strftime("%Y/%m/%d %H:%M:%S.%f")[:-3]
        return f'{code},"{message};1;{stamp}"'

    def format_number(self, value: float) -> str:
        return format_keithley_number(value)

    def _plus_sign_integers(self) -> bool:
        return False

    def reset(self) -> None:
        self.buffers = {name: ReadingBuffer(self.default_buffer_size) for name in DEFAULT_BUFFERS}
        self.display_text = {1: "", 2: ""}

    @scpi("*LANG")
    def _lang(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "SCPI"
        call.expect(1)
        language = parse_choice(call.param(), list(self.languages))
        if language != "SCPI":
            # takes effect after a reboot on the instrument; the simulator speaks SCPI only
            raise ScpiError(-221, f"command set {language} is not simulated")
        return None  # already SCPI: nothing changes

    @scpi(":SYSTem:LFRequency?")
    def _lfr(self, call: Call) -> str:
        call.expect(0)
        return str(round(self.world.line_frequency_hz))

    @scpi(":STATus:CLEar!")
    def _status_clear(self, call: Call) -> None:
        call.expect(0)
        self.status.clear_events()

    @scpi(":SYSTem:CLEar!")
    def _system_clear(self, call: Call) -> None:
        call.expect(0)
        self.errors.clear()

    @scpi(":SYSTem:BEEPer[:IMMediate]!")
    def _beep(self, call: Call) -> None:
        call.expect(2)
        parse_number(call.param(0), unit="HZ", minimum=20.0, maximum=8000.0)
        seconds = parse_number(call.param(1), unit="S", minimum=0.001, maximum=100.0)
        self.world.clock.advance(0.0 * seconds)  # the beeper does not block the bus

    # ------------------------------------------------------------------ display (accepted)
    @scpi(":DISPlay:CLEar!")
    def _display_clear(self, call: Call) -> None:
        call.expect(0)
        self.display_text = {1: "", 2: ""}

    @scpi(":DISPlay:USER#:TEXT[:DATA]!")
    def _display_user_text(self, call: Call) -> None:
        call.expect(1)
        line = call.suffixes[1]
        if line not in (1, 2):
            raise ScpiError(-114, call.text)
        text = parse_string(call.param())
        if len(text) > (20 if line == 1 else 32):
            raise ScpiError(-222, "text too long for the user screen line")
        self.display_text[line] = text

    @scpi(":DISPlay:SCReen!")
    def _display_screen(self, call: Call) -> None:
        call.expect(1)
        parse_choice(
            call.param(),
            [
                "HOME",
                "HOMELargereading",
                "READingtable",
                "GRAPh",
                "HISTogram",
                "SWIPEGraph",
                "SWIPESettings",
                "SWIPEStatistics",
                "SWIPEUser",
                "USER",
                "PROCessing",
            ],
        )

    @scpi(":DISPlay:LIGHt:STATe")
    def _display_light(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return getattr(self, "_light", "ON50")
        call.expect(1)
        self._light = parse_choice(
            call.param(), ["ON100", "ON75", "ON50", "ON25", "OFF", "BLACkout"], short=True
        )
        return None

    @scpi(
        ":DISPlay:VOLTage[:DC]:DIGits",
        ":DISPlay:CURRent[:DC]:DIGits",
        ":DISPlay:RESistance:DIGits",
        ":DISPlay[:DIGits]",
    )
    def _display_digits(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(getattr(self, "_digits", 6))
        call.expect(1)
        value = round(parse_number(call.param(), minimum=3, maximum=6, default=6))
        self._digits = value
        return None

    # ------------------------------------------------------------------ format
    @scpi(":FORMat[:DATA]")
    def _format(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "ASC"
        call.expect(1)
        data = parse_choice(call.param(), ["ASCii", "REAL", "SREal"], short=True)
        if data != "ASC":
            # binary blocks do not pass the simulator's text socket: a documented divergence
            raise ScpiError(-221, f"FORMat:DATA {data} is not simulated (ASCii only)")
        return None

    # ------------------------------------------------------------------ reading buffers
    def sync_buffers(self) -> None:
        """Store readings whose time has come (acquisitions running in the background)."""

    def buffer_name(self, text: str | None) -> str:
        name = "defbuffer1" if text is None else parse_string(text)
        if name not in self.buffers:
            raise ScpiError(-224, f"no buffer {name!r}")
        return name

    def trace_trigger(self, buffer: str) -> None:
        """``:TRACe:TRIGger``: make the sense count's readings into ``buffer`` (models)."""
        raise ScpiError(-113, ":TRACe:TRIGger")

    def format_elements(self, buffer: str, indices: range, elements: list[str]) -> str:
        buf = self.buffers[buffer]
        names = [parse_choice(element, ELEMENTS) for element in elements or ["READ"]]
        first = buf.times[0] if buf.times else 0.0
        out: list[str] = []
        for i in indices:
            value, t, unit, source = buf.values[i], buf.times[i], buf.units[i], buf.sources[i]
            wall = self.epoch + t
            for name in names:
                out.append(self._element(name, value, t - first, wall, unit, source, buf, i))
        return ",".join(out)

    def _element(
        self,
        name: str,
        value: float,
        relative: float,
        wall: float,
        unit: str,
        source: float,
        buf: ReadingBuffer,
        i: int,
    ) -> str:
        stamp = datetime.fromtimestamp(wall, UTC)
        if name == "READING":
            return self.format_number(value)
        if name == "SOURCE":
            return self.format_number(0.0 if math.isnan(source) else source)
        if name == "RELATIVE":
            return self.format_number(relative)
        if name == "SECONDS":
            return str(math.floor(wall))
        if name == "FRACTIONAL":
            return self.format_number(wall - math.floor(wall))
        if name == "UNIT":
            return unit
        if name == "SOURUNIT":
            return self.source_unit()
        if name in ("STATUS", "SOURSTATUS"):
            return self.format_number(self.reading_status(name, value))
        if name == "CHANNEL":
            return str(buf.channels[i]) if buf.channels[i] else ""
        if name == "TSTAMP":
            return stamp.strftime("%m/%d/%Y %H:%M:%S.%f")
        if name == "DATE":
            return stamp.strftime("%m/%d/%Y")
        if name == "TIME":
            return stamp.strftime("%H:%M:%S.%f")
        if name == "FORMATTED":
            return f"{value:+.6f} {UNIT_SYMBOL.get(unit, '')}".rstrip()
        # SOURFORMATTED
        symbol = UNIT_SYMBOL.get(self.source_unit(), "")
        return f"{(0.0 if math.isnan(source) else source):+.6f} {symbol}".rstrip()

    def source_unit(self) -> str:
        return "Volt DC"

    def reading_status(self, name: str, value: float) -> float:
        """STATus element bits (bit 8 = front terminals on the DMM6500); models refine."""
        return 0.0

    @scpi(":TRACe:MAKE!")
    def _trace_make(self, call: Call) -> None:
        call.expect((2, 3))
        name = parse_string(call.param(0))
        if not name or name in self.buffers or not name[0].isalpha() or len(name) > 31:
            raise ScpiError(-224, f"buffer name {name!r} exists or is invalid")
        size = int(
            parse_number(call.param(1), minimum=self.min_buffer_size, maximum=self.max_buffer_total)
        )
        if len(call.params) == 3:
            parse_choice(call.param(2), ["STANdard", "COMPact", "FULL", "WRITable", "FULLWRITable"])
        if sum(b.size for b in self.buffers.values()) + size > self.max_buffer_total:
            raise ScpiError(-222, "not enough reading memory")
        self.buffers[name] = ReadingBuffer(size)

    @scpi(":TRACe:DELete!")
    def _trace_delete(self, call: Call) -> None:
        call.expect(1)
        name = self.buffer_name(call.param())
        if name in DEFAULT_BUFFERS:
            raise ScpiError(-221, "default buffers cannot be deleted")
        self.sync_buffers()
        del self.buffers[name]

    @scpi(":TRACe:CLEar!")
    def _trace_clear(self, call: Call) -> None:
        call.expect((0, 1))
        name = self.buffer_name(call.params[0] if call.params else None)
        self.sync_buffers()
        self.buffers[name].clear()

    def _query_buffer(self, call: Call) -> ReadingBuffer:
        call.expect((0, 1))
        name = self.buffer_name(call.params[0] if call.params else None)
        self.sync_buffers()
        return self.buffers[name]

    @scpi(":TRACe:ACTual?")
    def _trace_actual(self, call: Call) -> str:
        return str(len(self._query_buffer(call)))

    @scpi(":TRACe:ACTual:STARt?")
    def _trace_actual_start(self, call: Call) -> str:
        return "1" if len(self._query_buffer(call)) else "0"

    @scpi(":TRACe:ACTual:END?")
    def _trace_actual_end(self, call: Call) -> str:
        return str(len(self._query_buffer(call)))

    @scpi(":TRACe:POINts")
    def _trace_points(self, call: Call) -> str | None:
        if call.query:
            return str(self._query_buffer(call).size)
        call.expect((1, 2))
        name = self.buffer_name(call.params[1] if len(call.params) > 1 else None)
        size = int(
            parse_number(call.param(0), minimum=self.min_buffer_size, maximum=self.max_buffer_total)
        )
        self.sync_buffers()
        buf = self.buffers[name]
        buf.size = size
        buf.clear()  # changing the capacity clears the buffer [E]
        return None

    @scpi(":TRACe:FILL:MODE")
    def _trace_fill(self, call: Call) -> str | None:
        if call.query:
            return "CONT" if self._query_buffer(call).fill_continuous else "ONCE"
        call.expect((1, 2))
        name = self.buffer_name(call.params[1] if len(call.params) > 1 else None)
        mode = parse_choice(call.param(0), ["CONTinuous", "ONCE"])
        self.buffers[name].fill_continuous = mode == "CONTINUOUS"
        return None

    @scpi(":TRACe:DATA?")
    def _trace_data(self, call: Call) -> str:
        call.expect((2, 3 + len(ELEMENTS)))
        start = int(parse_number(call.param(0), minimum=1, maximum=self.max_buffer_total))
        end = int(parse_number(call.param(1), minimum=1, maximum=self.max_buffer_total))
        name = self.buffer_name(call.params[2] if len(call.params) > 2 else None)
        self.sync_buffers()
        actual = len(self.buffers[name])
        if end < start or end > actual:
            raise ScpiError(-222, f"buffer {name} holds {actual} readings")
        return self.format_elements(name, range(start - 1, end), call.params[3:])

    @scpi(":TRACe:TRIGger!")
    def _trace_trigger(self, call: Call) -> None:
        call.expect((0, 1))
        self.sync_buffers()
        self.trace_trigger(self.buffer_name(call.params[0] if call.params else None))

    @scpi(
        ":TRACe:STATistics:AVERage?",
        ":TRACe:STATistics:MAXimum?",
        ":TRACe:STATistics:MINimum?",
        ":TRACe:STATistics:STDDev?",
    )
    def _trace_statistics(self, call: Call) -> str:
        values = np.asarray(self._query_buffer(call).values, dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return self.format_number(0.0)
        header = call.header[-1]
        if header.startswith("AVER"):
            result = float(finite.mean())
        elif header.startswith("MAX"):
            result = float(finite.max())
        elif header.startswith("MIN"):
            result = float(finite.min())
        else:
            result = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        return self.format_number(result)

    @scpi(":TRACe:STATistics:CLEar!")
    def _trace_statistics_clear(self, call: Call) -> None:
        self._query_buffer(call)  # statistics are computed from the buffer's readings

    @scpi(":FETCh?")
    def _fetch(self, call: Call) -> str:
        call.expect((0, 1 + len(ELEMENTS)))
        name = self.buffer_name(call.params[0] if call.params else None)
        self.sync_buffers()
        count = len(self.buffers[name])
        if count == 0:
            raise ScpiError(-230, "the buffer holds no reading")
        return self.format_elements(name, range(count - 1, count), call.params[1:])
