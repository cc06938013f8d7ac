"""Base class of every simulated SCPI instrument: dispatch, error queue, status, common commands.

A simulated instrument is a Python object with a command table built from ``@scpi``-decorated
methods. ``process(message)`` executes one newline-terminated message exactly like the real
instrument: program units separated by ``;``, replies only to queries (joined by ``;``), and
every problem queued as an SCPI error for ``SYST:ERR?`` instead of a crash.

What every SCPI instrument has lives here, so a new model only adds its own subsystems: the
IEEE 488.2 common commands (``*IDN? *RST *CLS *OPC *WAI *ESR? *ESE *SRE *STB? *TST? *OPT?``),
the SCPI-1999 required subsystems (``SYSTem:ERRor[:NEXT]?``, ``SYSTem:ERRor:COUNt?``,
``SYSTem:VERSion?``, ``STATus:OPERation|QUEStionable[:EVENt]?|:CONDition?|:ENABle|:PTRansition|
:NTRansition``, ``STATus:PRESet``; see ``bench.sim.status``) and the vendor formats a model
chooses by its base class (``KeysightInstrument``, ``KeithleyTti``).
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
from bench.sim.status import STB_EAV, STB_ESB, STB_MAV, STB_MSS, StatusSystem

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
    #: ``SYSTem:VERSion?``: the SCPI standard version the model complies with (YYYY.V)
    scpi_version: ClassVar[str] = "1999.0"
    #: ``*OPT?``: the installed options as the model lists them (None: no ``*OPT?``, -113)
    options_reply: ClassVar[str | None] = "0"

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
        self.status = StatusSystem()
        self._replies: list[str] = []
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

    def format_int(self, value: int) -> str:
        """NR1 integers: Keysight answers ``+0``, Keithley ``0``."""
        return f"{value:+d}" if self._plus_sign_integers() else str(value)

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
        self.status = StatusSystem()

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
        self._replies = replies
        self._path: list[str] = []
        if len(units) > 1 and not units[-1].strip():
            units.pop()  # a message may end with ';' (IEEE 488.2 7.3.3)
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
        self.update_status()
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
        self.status.clear_events()

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
        return self.format_int(value)

    @scpi("*ESE")
    def _ese(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_int(self.ese)
        call.expect(1)
        self.ese = int(parse_number(call.param(0), minimum=0, maximum=255))
        return None

    @scpi("*SRE")
    def _sre(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.format_int(self.sre)
        call.expect(1)
        self.sre = int(parse_number(call.param(0), minimum=0, maximum=255)) & ~STB_MSS
        return None

    def status_byte(self) -> int:
        """``*STB?`` (IEEE 488.2 11.2): summaries of the queues and registers, MSS on top."""
        self.update_status()
        value = (
            (STB_EAV if self.errors else 0)
            | (STB_MAV if self._replies else 0)  # an earlier query of this message answered
            | (STB_ESB if self.esr & self.ese else 0)
            | self.status.stb_bits()
            | self.extra_stb()
        )
        return value | (STB_MSS if value & self.sre else 0)

    def extra_stb(self) -> int:
        """Model-specific status byte bits (e.g. the Keithley measurement summary, bit 0)."""
        return 0

    @scpi("*STB?")
    def _stb(self, call: Call) -> str:
        call.expect(0)
        return self.format_int(self.status_byte())

    @scpi("*TST?")
    def _tst(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(2.0)  # self-test takes seconds on real instruments
        return self.format_int(0)

    @scpi("*OPT?")
    def _opt(self, call: Call) -> str:
        if self.options_reply is None:
            raise ScpiError(-113, "*OPT?")
        call.expect(0)
        return self.options_reply

    @scpi("SYSTem:ERRor[:NEXT]?")
    def _syst_err(self, call: Call) -> str:
        call.expect(0)
        return self.pop_error()

    @scpi("SYSTem:ERRor:COUNt?")
    def _syst_err_count(self, call: Call) -> str:
        call.expect(0)
        return self.format_int(len(self.errors))

    @scpi("SYSTem:VERSion?")
    def _syst_version(self, call: Call) -> str:
        call.expect(0)
        return self.scpi_version

    # ---------------------------------------------------------------- status registers
    def status_conditions(self) -> tuple[int, int]:
        """Live condition bits (operation, questionable); models override."""
        return 0, 0

    def update_status(self) -> None:
        """Recompute the condition registers and latch their transitions."""
        operation, questionable = self.status_conditions()
        self.status.operation.update(operation)
        self.status.questionable.update(questionable)

    @scpi(
        "STATus:OPERation[:EVENt]?",
        "STATus:QUEStionable[:EVENt]?",
    )
    def _status_event(self, call: Call) -> str:
        call.expect(0)
        self.update_status()
        return self.format_int(self._status_register(call).read_event())

    @scpi("STATus:OPERation:CONDition?", "STATus:QUEStionable:CONDition?")
    def _status_condition(self, call: Call) -> str:
        call.expect(0)
        self.update_status()
        return self.format_int(self._status_register(call).condition)

    @scpi(
        "STATus:OPERation:ENABle",
        "STATus:QUEStionable:ENABle",
        "STATus:OPERation:PTRansition",
        "STATus:QUEStionable:PTRansition",
        "STATus:OPERation:NTRansition",
        "STATus:QUEStionable:NTRansition",
    )
    def _status_mask(self, call: Call) -> str | None:
        register = self._status_register(call)
        attr = (
            "ptr"
            if call.has_node("PTRansition")
            else "ntr"
            if call.has_node("NTRansition")
            else "enable"
        )
        if call.query:
            call.expect(0)
            return self.format_int(getattr(register, attr))
        call.expect(1)
        setattr(register, attr, int(parse_number(call.param(), minimum=0, maximum=65535)) & 0x7FFF)
        return None

    def _status_register(self, call: Call):
        return self.status.register("OPER" if call.has_node("OPERation") else "QUES")

    @scpi("STATus:PRESet!")
    def _status_preset(self, call: Call) -> None:
        call.expect(0)
        self.status.preset()

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
    def safety_levels(self) -> dict[str, float]:
        """Programmed levels that must be zero in a safe state (``current_a``, ``voltage_v``),
        read inside the simulator; instruments that drive nothing have none."""
        return {}

    def output_enabled(self) -> bool:
        """Whether this instrument drives anything (checked by tests, not by the controller)."""
        return False
