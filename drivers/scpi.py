"""SCPI instrument base: declarative settings, validated against the model's range tables.

In the spirit of PyMeasure's ``control``/``measurement`` descriptors, with three differences
that matter on a production bench: every setter validates against the model's real range
table before anything is sent, every parse failure raises (never a silent NaN), and
configuration ends with a full read of the error queue.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from drivers.errors import (
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentRebooted,
    InstrumentReplyError,
    ValidationError,
)
from drivers.transport import Transport

T = TypeVar("T")

OVERFLOW = 9.9e37

# IEEE 488.2 standard event status register (*ESR?): the bits the health check reads
ESR_QUERY_ERROR = 1 << 2
ESR_DEVICE_ERROR = 1 << 3
ESR_EXECUTION_ERROR = 1 << 4
ESR_COMMAND_ERROR = 1 << 5
ESR_ERRORS = ESR_QUERY_ERROR | ESR_DEVICE_ERROR | ESR_EXECUTION_ERROR | ESR_COMMAND_ERROR
ESR_POWER_ON = 1 << 7


# ------------------------------------------------------------------ validators
def in_range(low: float, high: float) -> Callable[[float], float]:
    def check(value: float) -> float:
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ValidationError(f"{value!r} is not a finite number")
        if not low <= value <= high:
            raise ValidationError(f"{value:g} is outside {low:g} ... {high:g}")
        return float(value)

    return check


def in_set(values: Sequence[Any]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in values:
            raise ValidationError(f"{value!r} is not one of {', '.join(map(str, values))}")
        return value

    return check


def smallest_range(ranges: Sequence[float], value: float, overrange: float = 1.0) -> float:
    """The most sensitive range that holds ``value`` (ranges ascending)."""
    for r in ranges:
        if abs(value) <= r * overrange * (1.0 + 1e-12):
            return r
    raise ValidationError(f"{value:g} exceeds the largest range {ranges[-1]:g}")


# ------------------------------------------------------------------ reply parsers
def parse_float(reply: str) -> float:
    """NR1/NR2/NR3 number; the 9.9E37 overflow marker becomes +-inf (sign kept)."""
    value = float(reply.strip().strip('"'))
    return math.copysign(math.inf, value) if abs(value) >= OVERFLOW else value


def parse_bool(reply: str) -> bool:
    text = reply.strip().upper()
    if text in ("1", "ON", "+1"):
        return True
    if text in ("0", "OFF", "+0"):
        return False
    raise ValueError(reply)


_NR3 = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def parse_nr3(reply: str) -> float:
    """A measured value as the instruments send it: NR3, mantissa *and* exponent.

    Stricter than ``parse_float`` on purpose: a reply cut short (``+2.40012000E+01`` ->
    ``+2.4001``) still looks like a number, but a wrong one; without its exponent it is refused.
    """
    text = reply.strip()
    if not _NR3.fullmatch(text):
        raise ValueError(f"not a complete NR3 number: {reply[:40]!r}")
    return parse_float(text)


_DECIMAL = re.compile(r"[+-]?\d+\.\d+([eE][+-]?\d+)?")


def parse_decimal(reply: str) -> float:
    """A measured value as Rigol instruments send it (``24.0012``, NR2): digits, a decimal
    point and digits, optionally an exponent; an integer or a bare word is refused."""
    text = reply.strip()
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"not a decimal reading: {reply[:40]!r}")
    return parse_float(text)


def parse_readings(reply: str) -> list[float]:
    """Measured values (a list or an IEEE 488.2 block), each a complete NR3 number."""
    text = _unblock(reply.strip())
    if not text:
        return []
    return [parse_nr3(part) for part in text.split(",")]


def _unblock(text: str) -> str:
    """The data of an IEEE 488.2 definite-length block ``#<n><len><data>``; else the text."""
    if not text.startswith("#"):
        return text
    digits = int(text[1])
    length = int(text[2 : 2 + digits])
    if len(text) < 2 + digits + length:
        raise ValueError(f"block announces {length} bytes, {len(text) - 2 - digits} arrived")
    return text[2 + digits : 2 + digits + length]


def parse_floats(reply: str) -> list[float]:
    text = _unblock(reply.strip())
    if not text:
        return []
    return [parse_float(part) for part in text.split(",")]


# ------------------------------------------------------------------ descriptors
class Setting(Generic[T]):
    """An instrument setting: ``query`` reads it, ``command`` (a format string) writes it."""

    def __init__(
        self,
        query: str | None,
        command: str | None,
        *,
        parse: Callable[[str], T] = parse_float,  # type: ignore[assignment]
        validator: Callable[[Any], Any] | None = None,
        to_text: Callable[[Any], str] | None = None,
        doc: str = "",
    ) -> None:
        self.query, self.command, self.parse = query, command, parse
        self.validator, self.to_text = validator, to_text
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instrument: ScpiInstrument | None, owner: type) -> T:
        if instrument is None:
            return self  # type: ignore[return-value]
        if self.query is None:
            raise AttributeError(f"{self.name} is write-only")
        return instrument.ask(self.query, self.parse)

    def __set__(self, instrument: ScpiInstrument, value: Any) -> None:
        instrument.write(self.command_for(instrument, value))

    def command_for(self, instrument: ScpiInstrument, value: Any) -> str:
        """The validated command string that sets ``value`` (without sending it)."""
        if self.command is None:
            raise AttributeError(f"{self.name} is read-only")
        if self.validator is not None:
            try:
                value = self.validator(value)
            except ValidationError as exc:
                raise ValidationError(f"{instrument.label}: {self.name}: {exc}") from None
        text = self.to_text(value) if self.to_text else format_value(value)
        return self.command.format(text)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, float):
        return f"{value:.9g}"
    return str(value)


@dataclass(frozen=True)
class Identity:
    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, reply: str) -> Identity:
        parts = [p.strip() for p in reply.split(",")]
        if len(parts) < 4:
            raise ValueError(reply)
        return cls(parts[0], parts[1], parts[2], ",".join(parts[3:]))

    def __str__(self) -> str:
        return f"{self.manufacturer},{self.model},{self.serial},{self.firmware}"


@dataclass(frozen=True)
class Accuracy:
    """Specified accuracy of one reading: +-(gain_rel * |value| + offset), 1 year, 23 +-5 C."""

    gain_rel: float
    offset: float
    range: float
    source: str

    def half_width(self, value: float) -> float:
        return self.gain_rel * abs(value) + self.offset


class ScpiInstrument:
    """Base of every driver: transport, identity check, error queue, exact commands."""

    #: regular expression the ``*IDN?`` reply must match (manufacturer and model)
    IDN_PATTERN: ClassVar[re.Pattern[str]]
    MODEL: ClassVar[str]  # human-readable model name, e.g. "Keithley 2450"

    def __init__(self, transport: Transport, *, role: str = "") -> None:
        self.transport = transport
        self.role = role
        self.identity: Identity | None = None

    @property
    def label(self) -> str:
        where = getattr(self.transport, "name", "")
        who = f"{self.role} ({self.MODEL})" if self.role else self.MODEL
        if where.startswith(who):  # the registry names transports "role (model) at resource"
            return where
        return f"{who} at {where}" if where else who

    # ------------------------------------------------------------------ I/O
    def write(self, command: str) -> None:
        self.transport.write(command)

    def write_synced(self, *commands: str) -> None:
        """Send ``commands`` as one message ending in ``*OPC?`` and wait for the ``1``.

        Instruments work in parallel: without this, a reading on another instrument could be
        taken before this instrument has applied its new level.
        """
        reply = self.transport.query(";".join((*commands, "*OPC?")))
        if reply.strip() not in ("1", "+1"):
            raise InstrumentReplyError(
                self.label,
                f"unexpected reply {reply[:60]!r} to *OPC?",
                "check that the right instrument is at this address",
            )

    def setting(self, name: str, value: Any) -> str:
        """Validated command text for the class's Setting ``name`` (see Setting.command_for)."""
        return getattr(type(self), name).command_for(self, value)

    def ask(self, command: str, parse: Callable[[str], T] = parse_float) -> T:  # type: ignore[assignment]
        reply = self.transport.query(command)
        try:
            return parse(reply)
        except (ValueError, IndexError, TypeError) as exc:
            raise InstrumentReplyError(
                self.label,
                f"unexpected reply {reply[:60]!r} to {command!r}",
                "check that the right instrument is at this address and the cable is sound",
            ) from exc

    # ------------------------------------------------------------------ identity and errors
    def verify_identity(self) -> Identity:
        reply = self.transport.query("*IDN?")
        if not self.IDN_PATTERN.match(reply):
            raise InstrumentIdentityError(
                self.label,
                f"expected a {self.MODEL} but *IDN? answered {reply[:80]!r}",
                "check the resource address and driver model in the station file",
            )
        try:
            self.identity = Identity.parse(reply)
        except ValueError as exc:
            raise InstrumentReplyError(self.label, f"malformed *IDN? reply {reply[:80]!r}") from exc
        return self.identity

    def read_errors(self, limit: int = 50) -> list[tuple[int, str]]:
        """Drain the SCPI error queue (``SYST:ERR?`` until code 0)."""
        errors: list[tuple[int, str]] = []
        for _ in range(limit):
            code, message = self.ask(":SYST:ERR?", parse_error)
            if code == 0:
                break
            errors.append((code, message))
        return errors

    def check_errors(self, context: str = "configuration") -> None:
        errors = self.read_errors()
        if errors:
            raise InstrumentErrorQueue(self.label, errors, context)

    # ------------------------------------------------------------------ health
    #: status queries sent with ``*ESR?`` in the health check's one message (model specific)
    STATUS_QUERIES: ClassVar[tuple[str, ...]] = ()

    def check_health(self, context: str = "a reading", *, compliance_ok: bool = False) -> None:
        """One message: ``*ESR?`` plus the model's status queries; raise on anything wrong.

        Catches what is otherwise silent: a reboot (power-on bit: the settings are gone), an
        error in the queue (the error bits; the queue is drained into the message) and, per
        model, a tripped limit (``check_status``; ``compliance_ok``: a source in compliance is
        expected, e.g. while a step diagnoses an open input). ``*ESR?`` clears the register,
        so each event is reported once; ``initialize`` clears the power-on bit of its own
        ``*RST`` with ``*CLS``.
        """
        queries = ("*ESR?", *self.STATUS_QUERIES)
        message = ";".join(queries)
        reply = self.transport.query(message)
        parts = [part.strip() for part in reply.split(";")]
        try:
            if len(parts) != len(queries):
                raise ValueError(reply)
            esr = int(parts[0])
        except ValueError as exc:
            raise InstrumentReplyError(
                self.label,
                f"unexpected reply {reply[:60]!r} to {message!r}",
                "check that the right instrument is at this address and the cable is sound",
            ) from exc
        if esr & ESR_POWER_ON:
            raise InstrumentRebooted(
                self.label,
                "instrument rebooted (power-on event)",
                "its settings were lost; check its mains connection, then rerun",
            )
        if esr & ESR_ERRORS:
            errors = self.read_errors()
            if errors:
                raise InstrumentErrorQueue(self.label, errors, context)
            raise InstrumentError(
                self.label,
                f"error event reported (*ESR? = {esr}) with an empty error queue after {context}",
                "check the instrument's display and error log",
            )
        try:
            self.check_status(parts[1:], compliance_ok=compliance_ok)
        except ValueError as exc:
            raise InstrumentReplyError(
                self.label,
                f"unexpected reply {reply[:60]!r} to {message!r}",
                "check that the right instrument is at this address and the cable is sound",
            ) from exc

    def check_status(self, replies: list[str], *, compliance_ok: bool = False) -> None:
        """Judge the replies to ``STATUS_QUERIES``: raise InstrumentTripped and the like;
        ValueError for a reply that cannot be parsed."""

    def write_all(self, commands: Sequence[str]) -> None:
        """Send every command even if some fail (safe state); then raise the first failure."""
        failures: list[InstrumentError] = []
        for command in commands:
            try:
                self.write(command)
            except InstrumentError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def reset(self) -> None:
        """``*RST`` and ``*CLS``, then the error queue must be empty."""
        self.write("*RST")
        self.write("*CLS")
        self.check_errors("reset")

    def require_scpi_language(self, menu: str) -> None:
        """Keithley TTI instruments: the native SCPI command set must be selected (``*LANG?``)."""
        language = self.ask("*LANG?", str).strip().upper()
        if language != "SCPI":
            raise InstrumentIdentityError(
                self.label,
                f"command set is {language}, not SCPI",
                f"select SCPI under {menu} > Command Set and reboot the instrument",
            )

    def clear(self) -> None:
        self.write("*CLS")

    def close(self) -> None:
        self.transport.close()


_ERROR_RE = re.compile(r'\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$', re.S)


def parse_error(reply: str) -> tuple[int, str]:
    """``+0,"No error"`` (Keysight) or ``-113,"Undefined header;1;2026/..."`` (Keithley)."""
    m = _ERROR_RE.match(reply)
    if not m:
        raise ValueError(reply)
    message = m.group(2).split(";")[0]
    return int(m.group(1)), message
