"""SCPI message parsing for the simulated instruments (IEEE 488.2 / SCPI-1999 rules).

What real instruments do and the simulator must do too:

* headers are case-insensitive and accept the short form (the upper-case part of the
  mnemonic in the manual, ``SOUR``) or the long form (``SOURCE``), nothing in between;
* optional nodes (``[:LEVel]``) may be omitted, numeric suffixes (``SOUR1``, ``DIG2``) are
  part of the node;
* ``;`` separates program units inside one message; a unit without a leading ``:`` is
  resolved relative to the path of the previous unit (IEEE 488.2 section 7.6); common
  commands (``*IDN?``, also written ``:*IDN?``) do not change that path; a message may end
  with ``;`` (an empty *last* unit is legal, an empty unit between two others is -102);
* parameters are separated by ``,``; strings are quoted with ``"`` or ``'``; channel lists
  are ``(@...)``;
* an error never raises out of the parser: it becomes an error-queue entry with the SCPI
  standard code (-113 undefined header, -222 data out of range, ...).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# SCPI-1999 standard error codes used by the simulator (negative = standard, shared by all
# vendors; the text is vendor-formatted by the instrument).
ERRORS: dict[int, str] = {
    -100: "Command error",
    -101: "Invalid character",
    -102: "Syntax error",
    -103: "Invalid separator",
    -104: "Data type error",
    -108: "Parameter not allowed",
    -109: "Missing parameter",
    -113: "Undefined header",
    -114: "Header suffix out of range",
    -120: "Numeric data error",
    -131: "Invalid suffix",
    -141: "Invalid character data",
    -151: "Invalid string data",
    -200: "Execution error",
    -211: "Trigger ignored",
    -213: "Init ignored",
    -214: "Trigger deadlock",
    -221: "Settings conflict",
    -222: "Data out of range",
    -224: "Illegal parameter value",
    -230: "Data corrupt or stale",
    -350: "Queue overflow",
    -410: "Query INTERRUPTED",
    -420: "Query UNTERMINATED",
}


class ScpiError(Exception):
    """An error the instrument puts in its error queue instead of executing the unit."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code},{ERRORS.get(code, 'Error')}{'; ' + detail if detail else ''}")

    @property
    def message(self) -> str:
        return ERRORS.get(self.code, "Error")


# ---------------------------------------------------------------------------------------------
# Header patterns


@dataclass(frozen=True)
class Node:
    short: str  # upper case
    long: str  # upper case
    optional: bool
    suffix: bool  # accepts a numeric suffix (default 1)

    def match(self, token: str) -> int | None:
        """Return the numeric suffix (1 if absent) when ``token`` names this node, else None."""
        m = _TOKEN_RE.fullmatch(token)
        if not m:
            return None
        name, digits = m.group(1), m.group(2)
        if name not in (self.short, self.long):
            return None
        if digits:
            if not self.suffix or len(digits) > 6:
                return None
            return int(digits)
        return 1


_TOKEN_RE = re.compile(r"([A-Z_][A-Z_]*?)(\d*)")
_NODE_SPEC_RE = re.compile(r"(\[)?:?([A-Za-z_]+)(#)?(\])?")


def _parse_node(spec: str, optional: bool) -> Node:
    m = re.fullmatch(r"([A-Za-z_]+)(#)?", spec)
    if not m:
        raise ValueError(f"bad SCPI node spec {spec!r}")
    word, suffix = m.group(1), bool(m.group(2))
    short = "".join(ch for ch in word if ch.isupper() or ch == "_")
    if not short:
        short = word.upper()
    return Node(short=short, long=word.upper(), optional=optional, suffix=suffix)


@dataclass(frozen=True)
class HeaderPattern:
    """A command header as written in the manuals: ``[:SOURce#]:CURRent[:LEVel]?``.

    ``#`` after a mnemonic allows a numeric suffix. A trailing ``?`` marks a query-only
    pattern; without it the pattern accepts both the command and its query form.
    """

    nodes: tuple[Node, ...]
    common: str | None  # "*IDN" for common commands
    query_only: bool
    spec: str

    @classmethod
    def parse(cls, spec: str) -> HeaderPattern:
        text = spec.strip()
        query_only = text.endswith("?")
        if query_only:
            text = text[:-1]
        if text.startswith("*"):
            return cls((), text.upper(), query_only, spec)
        nodes: list[Node] = []
        pos = 0
        while pos < len(text):
            if text[pos] == "[":
                end = text.index("]", pos)
                inner = text[pos + 1 : end]
                # "[:SOURce#]" or "SOURce[#]" style; a nested "[...]" is not used in specs
                nodes.append(_parse_node(inner.strip(":"), optional=True))
                pos = end + 1
            else:
                if text[pos] == ":":
                    pos += 1
                m = re.match(r"[A-Za-z_]+#?", text[pos:])
                if not m:
                    raise ValueError(f"bad SCPI pattern {spec!r} at {pos}")
                nodes.append(_parse_node(m.group(0), optional=False))
                pos += m.end()
        return cls(tuple(nodes), None, query_only, spec)

    def match(self, tokens: Sequence[str]) -> list[int] | None:
        """Match header tokens; return the suffixes of every node (omitted nodes give 1)."""
        return _match(self.nodes, 0, tokens, 0, [])


def _match(nodes: Sequence[Node], i: int, tokens: Sequence[str], j: int, acc: list[int]):
    if i == len(nodes):
        return acc if j == len(tokens) else None
    node = nodes[i]
    if j < len(tokens):
        suffix = node.match(tokens[j])
        if suffix is not None:
            found = _match(nodes, i + 1, tokens, j + 1, [*acc, suffix])
            if found is not None:
                return found
    if node.optional:
        return _match(nodes, i + 1, tokens, j, [*acc, 1])
    return None


# ---------------------------------------------------------------------------------------------
# Message splitting and parameters


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on ``sep`` where it is not inside quotes or parentheses."""
    parts: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    depth = 0
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    if quote:
        raise ScpiError(-151, "unterminated string")
    parts.append("".join(buf))
    return parts


@dataclass
class ProgramUnit:
    absolute: bool  # header started with ':'
    common: str | None
    tokens: list[str]
    query: bool
    params: list[str]
    text: str


_HEADER_RE = re.compile(
    r"\s*(:?)(\*?[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)*)(\?)?(.*)", re.S
)


def parse_unit(text: str) -> ProgramUnit:
    """Parse one program unit (no ';'). Raises ScpiError for malformed headers."""
    m = _HEADER_RE.fullmatch(text)
    if not m:
        if any((ord(c) < 32 and c not in "\t\r") or ord(c) > 126 for c in text):
            raise ScpiError(-101, repr(text[:20]))
        raise ScpiError(-102, repr(text[:40]))
    absolute, header, q, rest = m.group(1) == ":", m.group(2), bool(m.group(3)), m.group(4)
    if rest and not rest[0].isspace():
        # e.g. "VOLT?X" or "VOLT,3": header must be followed by white space
        raise ScpiError(-102, repr(text[:40]))
    rest = rest.strip()
    params: list[str] = []
    if rest:
        params = [p.strip() for p in split_outside_quotes(rest, ",")]
        if any(p == "" for p in params):
            raise ScpiError(-103 if len(params) > 1 else -102, repr(rest[:40]))
    if header.startswith("*"):
        # ":*CLS" is legal (the colon before a common command is ignored, IEEE 488.2 7.6.1.5);
        # "*IDN:X?" is not
        if ":" in header:
            raise ScpiError(-102, repr(text[:40]))
        return ProgramUnit(False, header.upper(), [], q, params, text)
    tokens = header.upper().split(":")
    return ProgramUnit(absolute, None, tokens, q, params, text)


# ---------------------------------------------------------------------------------------------
# Parameter conversion helpers used by handlers

_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_number(
    text: str,
    *,
    unit: str | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    default: float | None = None,
) -> float:
    """Numeric parameter: NR1/NR2/NR3, optional base-unit suffix, MIN/MAX/DEF, range-checked.

    Out-of-range values give -222 (Data out of range), as SCPI-1999 and the manuals require.
    """
    t = text.strip()
    upper = t.upper()
    specials = {
        "MIN": minimum,
        "MINIMUM": minimum,
        "MAX": maximum,
        "MAXIMUM": maximum,
        "DEF": default,
        "DEFAULT": default,
    }
    if upper in specials:
        value = specials[upper]
        if value is None:
            raise ScpiError(-224, t)
        return value
    m = _NUMBER_RE.match(t)
    if not m:
        if t.startswith(('"', "'")):
            raise ScpiError(-104, t)
        raise ScpiError(-104 if t and t[0].isalpha() else -120, t)
    suffix = t[m.end() :].strip().upper()
    if suffix and (unit is None or suffix != unit.upper()):
        raise ScpiError(-131, t)
    try:
        value = float(m.group(0))
    except ValueError as exc:  # pragma: no cover - regex guarantees a float
        raise ScpiError(-120, t) from exc
    if not math.isfinite(value):
        raise ScpiError(-120, t)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ScpiError(-222, t)
    return value


def parse_bool(text: str) -> bool:
    t = text.strip().upper()
    if t in ("ON",):
        return True
    if t in ("OFF",):
        return False
    m = _NUMBER_RE.fullmatch(t)
    if m:
        return round(float(t)) != 0
    raise ScpiError(-224 if t.isalpha() else -104, text)


def parse_choice(text: str, choices: Iterable[str], short: bool = False) -> str:
    """Character data: match the short or long form of one of ``choices`` (manual spelling).

    Returns the long form, or the short form (what queries answer) with ``short=True``.
    """
    t = text.strip().strip("\"'").upper()
    for choice in choices:
        node = _parse_node(choice, optional=False)
        if t in (node.short, node.long):
            return node.short if short else node.long
    raise ScpiError(-224 if t else -109, text)


def parse_string(text: str) -> str:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    raise ScpiError(-104 if t else -109, text)


def parse_channel_list(text: str) -> list[int]:
    """``(@1)``, ``(@1,3)``, ``(@101:105)`` -> list of channel numbers."""
    t = text.strip()
    if not (t.startswith("(@") and t.endswith(")")):
        raise ScpiError(-104, t)
    body = t[2:-1].strip()
    if not body:
        raise ScpiError(-109, t)
    channels: list[int] = []
    for part in body.split(","):
        part = part.strip()
        try:
            if ":" in part:
                a, b = (int(x) for x in part.split(":"))
                if b < a:
                    a, b = b, a
                if b - a > 1000:
                    raise ScpiError(-222, t)
                channels.extend(range(a, b + 1))
            else:
                channels.append(int(part))
        except ValueError as exc:
            raise ScpiError(-104, t) from exc
    return channels


# ---------------------------------------------------------------------------------------------
# Command table


@dataclass
class Call:
    """What a handler gets: the parsed unit plus helpers that raise the right SCPI errors."""

    query: bool
    params: list[str]
    suffixes: list[int]
    text: str
    header: tuple[str, ...] = ()  # the resolved header's tokens (path applied), upper case

    def has_node(self, mnemonic: str) -> bool:
        """Whether the resolved header contains ``mnemonic`` (manual spelling, e.g. VOLTage)."""
        node = _parse_node(mnemonic, optional=False)
        return any(node.match(token) is not None for token in self.header)

    def expect(self, count: int | tuple[int, int]) -> None:
        lo, hi = (count, count) if isinstance(count, int) else count
        if len(self.params) > hi:
            raise ScpiError(-108, self.text)
        if len(self.params) < lo:
            raise ScpiError(-109, self.text)

    def param(self, index: int = 0) -> str:
        if index >= len(self.params):
            raise ScpiError(-109, self.text)
        return self.params[index]


Handler = Callable[..., "str | None"]


@dataclass
class Command:
    pattern: HeaderPattern
    handler: Handler
    set_allowed: bool = True
    query_allowed: bool = True


@dataclass
class CommandTable:
    """Resolves program units to handlers; one table per instrument class."""

    commands: list[Command] = field(default_factory=list)
    _common: dict[str, list[Command]] = field(default_factory=dict)
    _first: dict[str, list[Command]] = field(default_factory=dict)
    _optional_first: list[Command] = field(default_factory=list)

    def add(self, spec: str, handler: Handler) -> None:
        pattern = HeaderPattern.parse(spec)
        command = Command(pattern, handler, set_allowed=not pattern.query_only)
        self.commands.append(command)
        if pattern.common:
            self._common.setdefault(pattern.common, []).append(command)
        elif pattern.nodes[0].optional:
            self._optional_first.append(command)
        else:
            first = pattern.nodes[0]
            self._first.setdefault(first.short, []).append(command)
            if first.long != first.short:
                self._first.setdefault(first.long, []).append(command)

    def resolve(self, unit: ProgramUnit, tokens: list[str]) -> tuple[Command, list[int]] | None:
        if unit.common:
            for command in self._common.get(unit.common, []):
                return command, []
            return None
        head = _TOKEN_RE.fullmatch(tokens[0]) if tokens else None
        candidates = self._first.get(head.group(1), []) if head else []
        for command in [*candidates, *self._optional_first]:
            suffixes = command.pattern.match(tokens)
            if suffixes is not None:
                return command, suffixes
        return None


def scpi(*specs: str) -> Callable[[Handler], Handler]:
    """Mark a simulator method as the handler of one or more header patterns."""

    def mark(fn: Handler) -> Handler:
        existing = getattr(fn, "_scpi_specs", ())
        fn._scpi_specs = (*existing, *specs)  # type: ignore[attr-defined]
        return fn

    return mark


def format_keysight_number(value: float) -> str:
    """Keysight NR3 reply format: ``+1.00000000E-01``; overflow is ``+9.90000000E+37``."""
    if not math.isfinite(value):
        value = 9.9e37
    return f"{value:+.8E}"


def format_keithley_number(value: float) -> str:
    """Keithley TTI (2450, DMM6500) reply format: ``1.000000E-01``; overflow ``9.9E+37``."""
    if not math.isfinite(value):
        return "9.9E+37"
    return f"{value:.6E}"
