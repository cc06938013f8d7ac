"""Base class of every simulated SCPI instrument: dispatch, error queue, status, common commands.

A simulated instrument is a Python object with a command table built from ``@scpi``-decorated
methods. ``process(message)`` executes one newline-terminated message exactly like the real
instrument: program units separated by ``;``, replies only to queries (joined by ``;``), and
every problem queued as an SCPI error for ``SYST:ERR?`` instead of a crash.
"""

from __future__ import annotations

import logging
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from bench.sim.scpi import (
    ERRORS,
    Call,
    CommandTable,
    ScpiError,
    parse_bool,
    parse_number,
    parse_unit,
    scpi,
    split_outside_quotes,
)

if TYPE_CHECKING:
    from bench.sim.world import World

log = logging.getLogger(__name__)

# IEEE 488.2 standard event status register bits
ESR_OPC = 1 << 0
ESR_QUERY_ERROR = 1 << 2
ESR_DEVICE_ERROR = 1 << 3
ESR_EXECUTION_ERROR = 1 << 4
ESR_COMMAND_ERROR = 1 << 5
ESR_POWER_ON = 1 << 7

# status byte bits (IEEE 488.2 / SCPI)
STB_ERROR_QUEUE = 1 << 2
STB_ESB = 1 << 5


def _esr_bit(code: int) -> int:
    if -199 <= code <= -100:
        return ESR_COMMAND_ERROR
    if -299 <= code <= -200:
        return ESR_EXECUTION_ERROR
    if -399 <= code <= -300 or code > 0:
        return ESR_DEVICE_ERROR
    if -499 <= code <= -400:
        return ESR_QUERY_ERROR
    return 0


@dataclass(frozen=True)
class Identity:
    manufacturer: str
    model: str
    serial: str
    firmware: str

    def idn(self) -> str:
        return f"{self.manufacturer},{self.model},{self.serial},{self.firmware}"


class SimInstrument:
    """Common behaviour; subclasses add their command handlers with ``@scpi``."""

    #: vendor-format of the error queue and replies (overridden per model)
    error_queue_depth: ClassVar[int] = 20
    #: modelled time to receive, parse and answer one message over LAN (s)
    command_overhead_s: ClassVar[float] = 0.0005
    table: ClassVar[CommandTable]
    role: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = CommandTable()
        seen: set[str] = set()
        for klass in cls.__mro__:
            for name, attr in vars(klass).items():
                if name in seen:
                    continue
                specs = getattr(attr, "_scpi_specs", None)
                if specs:
                    seen.add(name)
                    for spec in specs:
                        query_only = spec.endswith("?")
                        command_only = spec.endswith("!")
                        text = spec.rstrip("!")
                        table.add(text, attr)
                        entry = table.commands[-1]
                        entry.query_allowed = not command_only
                        entry.set_allowed = not query_only
        cls.table = table

    def __init__(self, world: World, identity: Identity) -> None:
        self.world = world
        self.identity = identity
        self.errors: deque[tuple[int, str]] = deque()
        self.esr = ESR_POWER_ON
        self.ese = 0
        self.sre = 0
        self.internal_errors: list[str] = []
        self.messages_processed = 0
        #: what ``*IDN?`` answers instead of the identity (fault injection: wrong instrument)
        self.idn_override: str | None = None
        self.reset()

    # ---------------------------------------------------------------- vendor formats
    def format_error(self, code: int, message: str) -> str:
        """Keysight style ``-113,"Undefined header"``; overridden by Keithley models."""
        return f'{code:+d},"{message}"'

    def format_number(self, value: float) -> str:
        raise NotImplementedError

    def no_error(self) -> str:
        return self.format_error(0, "No error")

    # ---------------------------------------------------------------- state
    def reset(self) -> None:
        """``*RST``: the manual's reset defaults. Subclasses extend."""

    def power_cycle(self) -> None:
        """Mains lost and back (fault injection): ``*RST`` defaults, outputs off, an empty
        error queue, the power-on bit set in the event status register, ``*ESE``/``*SRE`` 0."""
        self.reset()
        self.errors.clear()
        self.esr = ESR_POWER_ON
        self.ese = self.sre = 0

    def push_error(self, code: int, detail: str = "") -> None:
        message = ERRORS.get(code, "Device-specific error")
        if detail and code > 0:
            message = detail
        if len(self.errors) >= self.error_queue_depth:
            # SCPI-1999 21.8.1: the most recent entry is replaced by -350 Queue overflow
            self.errors[-1] = (-350, ERRORS[-350])
        else:
            self.errors.append((code, message))
        self.esr |= _esr_bit(code)

    def pop_error(self) -> str:
        if not self.errors:
            return self.no_error()
        code, message = self.errors.popleft()
        return self.format_error(code, message)

    # ---------------------------------------------------------------- dispatch
    def process(self, message: str) -> str | None:
        """Execute one message; return the reply line (without terminator) or None."""
        self.messages_processed += 1
        self.world.clock.advance(self.command_overhead_s)
        text = message.strip()
        if not text:
            return None
        try:
            units = split_outside_quotes(text, ";")
        except ScpiError as exc:
            self.push_error(exc.code, exc.detail)
            return None
        replies: list[str] = []
        self._path: list[str] = []
        for unit_text in units:
            if not unit_text.strip():
                self.push_error(-102, text[:40])
                break
            try:
                self._execute(unit_text, replies)
            except ScpiError as exc:
                self.push_error(exc.code, exc.detail)
                if exc.code in range(-199, -99):
                    # a command error aborts the rest of the message (IEEE 488.2 6.1.6.1.1)
                    break
            except Exception:  # a simulator bug must never kill the bench
                detail = traceback.format_exc()
                log.error("simulator bug in %s on %r:\n%s", self.identity.model, unit_text, detail)
                self.internal_errors.append(detail)
                self.push_error(-200, "internal simulator error")
        return ";".join(replies) if replies else None

    def _execute(self, unit_text: str, replies: list[str]) -> None:
        """Resolve one unit (IEEE 488.2 7.6 path rules), then run its handler.

        The path follows the parsed header even when execution then fails (-222 etc.).
        """
        path = self._path
        unit = parse_unit(unit_text)
        if unit.common:
            resolved = self.table.resolve(unit, [])
            tokens: list[str] = []
        else:
            tokens = unit.tokens if unit.absolute or not path else [*path, *unit.tokens]
            resolved = self.table.resolve(unit, tokens)
            if resolved is None and not unit.absolute and path:
                tokens = unit.tokens  # lenient: accept a root-relative header too
                resolved = self.table.resolve(unit, tokens)
        if resolved is None:
            raise ScpiError(-113, unit_text.strip()[:40])
        command, suffixes = resolved
        if not unit.common:
            self._path = tokens[:-1]
        if (unit.query and not command.query_allowed) or (
            not unit.query and not command.set_allowed
        ):
            raise ScpiError(-113, unit_text.strip()[:40])
        self.check_suffixes(command.pattern, suffixes)
        call = Call(
            query=unit.query,
            params=unit.params,
            suffixes=suffixes,
            text=unit_text,
            header=tuple(tokens),
        )
        reply = command.handler(self, call)
        if unit.query:
            replies.append("" if reply is None else str(reply))

    #: node short names that exist once on this model (a suffix other than 1 is -114)
    single_nodes: ClassVar[frozenset[str]] = frozenset()

    def check_suffixes(self, pattern, suffixes: list[int]) -> None:
        for node, suffix in zip(pattern.nodes, suffixes, strict=False):
            if node.short in self.single_nodes and suffix != 1:
                raise ScpiError(-114, f"{node.short}{suffix}")

    # ---------------------------------------------------------------- common commands
    @scpi("*IDN?")
    def _idn(self, call: Call) -> str:
        call.expect(0)
        return self.idn_override or self.identity.idn()

    @scpi("*RST!")
    def _rst(self, call: Call) -> None:
        call.expect(0)
        self.reset()

    @scpi("*CLS!")
    def _cls(self, call: Call) -> None:
        call.expect(0)
        self.errors.clear()
        self.esr = 0

    @scpi("*OPC")
    def _opc(self, call: Call) -> str | None:
        call.expect(0)
        self.wait_for_pending()
        if call.query:
            return "1"
        self.esr |= ESR_OPC
        return None

    @scpi("*WAI!")
    def _wai(self, call: Call) -> None:
        call.expect(0)
        self.wait_for_pending()

    @scpi("*ESR?")
    def _esr_q(self, call: Call) -> str:
        call.expect(0)
        value, self.esr = self.esr, 0
        return f"{value:+d}" if self._plus_sign_integers() else str(value)

    @scpi("*ESE")
    def _ese(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f"{self.ese:+d}" if self._plus_sign_integers() else str(self.ese)
        call.expect(1)
        self.ese = int(parse_number(call.param(0), minimum=0, maximum=255))
        return None

    @scpi("*SRE")
    def _sre(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f"{self.sre:+d}" if self._plus_sign_integers() else str(self.sre)
        call.expect(1)
        self.sre = int(parse_number(call.param(0), minimum=0, maximum=255))
        return None

    @scpi("*STB?")
    def _stb(self, call: Call) -> str:
        call.expect(0)
        value = (STB_ERROR_QUEUE if self.errors else 0) | (STB_ESB if self.esr & self.ese else 0)
        return f"{value:+d}" if self._plus_sign_integers() else str(value)

    @scpi("*TST?")
    def _tst(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(2.0)  # self-test takes seconds on real instruments
        return f"{0:+d}" if self._plus_sign_integers() else "0"

    @scpi("SYSTem:ERRor[:NEXT]?")
    def _syst_err(self, call: Call) -> str:
        call.expect(0)
        return self.pop_error()

    @scpi("SYSTem:ERRor:COUNt?")
    def _syst_err_count(self, call: Call) -> str:
        call.expect(0)
        return f"{len(self.errors):+d}" if self._plus_sign_integers() else str(len(self.errors))

    # ---------------------------------------------------------------- simple settings
    def number_setting(
        self,
        call: Call,
        state: object,
        attr: str,
        *,
        after: Callable[[], None] | None = None,
        **limits: Any,
    ) -> str | None:
        """A numeric setting: the query answers it, the command range-checks and stores it."""
        if call.query:
            return self.format_number(getattr(state, attr))
        call.expect(1)
        setattr(state, attr, parse_number(call.param(), **limits))
        if after is not None:
            after()
        return None

    def bool_setting(
        self, call: Call, state: object, attr: str, *, after: Callable[[], None] | None = None
    ) -> str | None:
        """An ON/OFF setting answered as 1/0."""
        if call.query:
            return "1" if getattr(state, attr) else "0"
        call.expect(1)
        setattr(state, attr, parse_bool(call.param()))
        if after is not None:
            after()
        return None

    def _plus_sign_integers(self) -> bool:
        """Keysight answers integers as ``+0``; Keithley as ``0``."""
        return True

    def wait_for_pending(self) -> None:
        """Advance the simulated clock until pending operations (sweeps, captures) complete."""

    # ---------------------------------------------------------------- safety introspection
    def output_enabled(self) -> bool:
        """Whether this instrument drives anything (checked by tests, not by the controller)."""
        return False
