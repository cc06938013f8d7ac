"""Injectable instrument faults for the simulated bench.

A ``Fault`` names what goes wrong (``kind``), on which instrument (``role``) and when: after
``after_commands`` messages to that instrument (counted from the moment it is injected), on
the first message with a program unit whose header starts with ``on_command`` (case
insensitive, leading colon ignored), on the first message after both, or - with neither - on
the instrument's very next message. Reply faults (no-reply, garbage, truncated, slow) wait for
the next *query*: a message without a reply has nothing to lose or garble. ``messages`` counts
every message the instrument receives, queries or not.

``duration`` says how long it lasts once it fired (1 = once, ``None`` = until cleared):

=================  ================================================================  ==========
kind               what the instrument does                                           duration
=================  ================================================================  ==========
no-reply           executes the query, sends no reply (``execute=False``: a hung      queries
                   instrument, from the next message on it ignores every command)
garbage            answers ``payload`` (default: control characters) instead          queries
truncated          answers the first half of its reply ("1" becomes "")               queries
slow               answers ``delay_s`` seconds late, in *real* time (pyvisa timeouts   queries
                   are real); keep it short in tests
socket-closed      drops every connection, then refuses (accepts and closes) the next  refused
                   ``duration`` new ones - 0: only the drop; None: lost until cleared  connects
reboot             a power cycle: ``*RST`` defaults, outputs off, error queue empty,   one event
                   ESR power-on bit set (``drop_connections=True``: the LAN restarts)
error              pushes ``code`` (default -200) with ``message`` into the queue     one event
compliance-trip    the module's input goes open (input resistance ``ohm``, default     one event
                   1e9): a current source runs into its voltage limit
supply-trip        the supply's ``protection`` (``"OVP"`` default, or ``"OCP"``)       one event
                   trips: output off, trip latched
wrong-idn          ``*IDN?`` answers ``idn`` (default: another model) - a wrong        *IDN?
                   instrument at the address                                          replies
=================  ================================================================  ==========

Install through ``SimBench.inject(fault)`` (from text: ``bench.sim.fault_spec.parse_fault``);
it returns an ``InjectedFault`` whose ``fired`` event a test can wait on. Everything happens
in the server thread under the world lock, at the simulated instant the triggering message
arrives. ``on_fire`` (optional) is called right then, e.g. to inject a second fault at exactly
that moment.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from bench.sim.instrument import SimInstrument
from bench.sim.server import FaultAction

if TYPE_CHECKING:
    from bench.sim.bench import SimBench

FaultKind = Literal[
    "no-reply",
    "garbage",
    "truncated",
    "socket-closed",
    "reboot",
    "error",
    "compliance-trip",
    "supply-trip",
    "wrong-idn",
    "slow",
]
KINDS: tuple[str, ...] = get_args(FaultKind)
#: faults that change what comes back for a query
REPLY_FAULTS = frozenset({"no-reply", "garbage", "truncated", "slow"})
#: faults that happen once, at the triggering message, and are over
EVENT_FAULTS = frozenset({"reboot", "error", "compliance-trip", "supply-trip"})

DEFAULT_GARBAGE = "\x15\x7f#?garbage"
#: what a wrong instrument at the address answers (another model of the same role)
WRONG_IDN = {
    "source": "KEITHLEY INSTRUMENTS,MODEL 2460,04400000,1.7.0",
    "dmm": "Keysight Technologies,34461A,MY00000000,A.02.14-02.40-02.14-00.49-01-01",
    "supply": "Keysight Technologies,E36312A,MY00000000,1.0.4-1.0.0-1.0.2",
    "load": "Keysight Technologies,EL34243A,MY00000000,1.0.3.1001",
}
#: the settings each kind takes (Fault.params)
FAULT_PARAMS = {
    "no-reply": {"execute"},
    "garbage": {"payload"},
    "truncated": set(),
    "slow": {"delay_s"},
    "socket-closed": set(),
    "reboot": {"drop_connections"},
    "error": {"code", "message"},
    "compliance-trip": {"ohm"},
    "supply-trip": {"protection"},
    "wrong-idn": {"idn"},
}


@dataclass
class Fault:
    kind: FaultKind
    role: str
    after_commands: int | None = None
    on_command: str | None = None
    duration: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)
    on_fire: Callable[[Fault], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; kinds: {', '.join(KINDS)}")
        if self.after_commands is not None and self.after_commands < 0:
            raise ValueError("after_commands must be >= 0")
        if self.duration is not None and self.duration < 0:
            raise ValueError("duration must be >= 0 or None (until cleared)")
        unknown = set(self.params) - FAULT_PARAMS[self.kind]
        if unknown:
            allowed = ", ".join(sorted(FAULT_PARAMS[self.kind])) or "none"
            raise ValueError(
                f"{self.kind}: unknown parameter(s) {', '.join(sorted(unknown))} "
                f"(allowed: {allowed})"
            )
        if self.kind == "slow" and float(self.params.get("delay_s", 0.0)) <= 0.0:
            raise ValueError("slow: give delay_s > 0 (real seconds)")
        if self.kind == "supply-trip" and self.params.get("protection", "OVP") not in (
            "OVP",
            "OCP",
        ):
            raise ValueError("supply-trip: protection is 'OVP' or 'OCP'")

    @property
    def once(self) -> bool:
        return self.duration == 1

    def describe(self) -> str:
        when = []
        if self.after_commands is not None:
            when.append(f"after {self.after_commands} commands")
        if self.on_command:
            when.append(f"on {self.on_command}")
        return f"{self.kind} on the {self.role} ({', '.join(when) or 'next message'})"


def _units(line: str) -> list[str]:
    return [u.strip().lstrip(":").upper() for u in line.split(";") if u.strip()]


class InjectedFault:
    """One installed fault and its state; ``fired`` is set when it triggers."""

    def __init__(self, fault: Fault, injector: FaultInjector) -> None:
        self.fault = fault
        self._injector = injector
        self.fired = threading.Event()
        #: the instrument's message count when the fault fired
        self.fired_at_message: int | None = None
        self.seen = 0  # messages before triggering
        self.active = False
        self.done = False
        self.remaining = fault.duration
        self._restore: Callable[[], None] | None = None

    def __repr__(self) -> str:
        state = "done" if self.done else "active" if self.active else "armed"
        return f"<InjectedFault {self.fault.describe()}: {state}>"

    def wait(self, timeout: float) -> bool:
        """Real-time wait until the fault fired (for tests that poll a running bench)."""
        return self.fired.wait(timeout)

    def clear(self) -> None:
        """End the fault (the lost instrument comes back, the wrong one is replaced...)."""
        with self._injector.lock:
            self._finish()

    # ------------------------------------------------------------------ per message
    def _triggered(self, line: str, is_query: bool) -> bool:
        f = self.fault
        before, self.seen = self.seen, self.seen + 1
        if f.after_commands is not None and before < f.after_commands:
            return False
        if f.on_command:
            prefix = f.on_command.strip().lstrip(":").upper()
            if not any(unit.startswith(prefix) for unit in _units(line)):
                return False
        hung = f.kind == "no-reply" and not f.params.get("execute", True)
        return is_query or hung or f.kind not in REPLY_FAULTS

    def on_message(self, instrument: SimInstrument, line: str) -> FaultAction | None:
        if self.done:
            return None
        is_query = "?" in line
        if not self.active:
            if not self._triggered(line, is_query):
                return None
            return self._fire(instrument, line, is_query)
        return self._continue(instrument, line, is_query)

    def _fire(self, instrument: SimInstrument, line: str, is_query: bool) -> FaultAction | None:
        f = self.fault
        self.active = True
        self.fired_at_message = instrument.messages_processed
        action: FaultAction | None = None
        p = f.params
        if f.kind in EVENT_FAULTS:
            action = self._event(instrument)
            self.done = True  # over; clear() still undoes a world change (the open input)
        elif f.kind == "socket-closed":
            self._injector.server.disconnect_all(f.role)
            action = FaultAction("close")
            if self.remaining == 0:
                self.done = True
        elif f.kind == "wrong-idn":
            instrument.idn_override = str(p.get("idn", WRONG_IDN.get(f.role, "ACME,X,0,0")))
            self._restore = lambda: setattr(instrument, "idn_override", None)
            action = self._continue(instrument, line, is_query)
        else:  # reply faults
            action = self._continue(instrument, line, is_query)
        self.fired.set()
        if f.on_fire is not None:
            f.on_fire(f)
        return action

    def _event(self, instrument: SimInstrument) -> FaultAction | None:
        f, p = self.fault, self.fault.params
        if f.kind == "reboot":
            instrument.power_cycle()
            if p.get("drop_connections", False):
                self._injector.server.disconnect_all(f.role)
                return FaultAction("close")
        elif f.kind == "error":
            instrument.push_error(int(p.get("code", -200)), str(p.get("message", "")))
        elif f.kind == "compliance-trip":
            world = instrument.world
            unit, original = world.unit, world.unit.params
            ohm = float(p.get("ohm", 1e9))
            unit.params = dataclasses.replace(original, input_resistance_ohm=ohm)
            world.refresh()

            def reconnect_input() -> None:
                unit.params = original
                world.refresh()

            self._restore = reconnect_input
        elif f.kind == "supply-trip":
            trip = getattr(instrument, "trip", None)
            if trip is None:
                raise TypeError(f"supply-trip: the {f.role} has no protection to trip")
            trip(p.get("protection", "OVP"))
        return None

    def _continue(self, instrument: SimInstrument, line: str, is_query: bool) -> FaultAction | None:
        """While active: the effect on one message; counts down the duration."""
        f = self.fault
        if f.kind == "wrong-idn":  # only *IDN? replies count; the override ends lazily
            if "*IDN?" in line.upper():
                if self.remaining == 0:
                    self._finish()  # this *IDN? is answered by the right instrument again
                elif self.remaining is not None:
                    self.remaining -= 1
            return None
        if f.kind not in REPLY_FAULTS:
            return None
        execute = bool(f.params.get("execute", True))
        if not is_query:
            return None if execute else FaultAction("ignore")
        self._count_down()
        if f.kind == "no-reply":
            return FaultAction("no-reply" if execute else "ignore")
        if f.kind == "garbage":
            return FaultAction("garbage", str(f.params.get("payload", DEFAULT_GARBAGE)))
        if f.kind == "truncated":
            return FaultAction("truncate")
        return FaultAction("pass", delay_s=float(f.params["delay_s"]))

    def _count_down(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.done = True

    def on_connect(self) -> bool:
        """socket-closed: refuse new connections while the instrument is lost."""
        if self.fault.kind != "socket-closed" or not self.active or self.done:
            return True
        if self.remaining is not None:
            self.remaining -= 1
            if self.remaining <= 0:
                self.done = True
        return False

    def _finish(self) -> None:
        self.done = True
        self.active = False
        if self._restore is not None:
            self._restore()
            self._restore = None


class FaultInjector:
    """The fault plan of one simulated bench: hooks into its server, per instrument."""

    def __init__(self, bench: SimBench) -> None:
        self.bench = bench
        self.server = bench.server
        self.lock = bench.world.lock
        self.faults: dict[str, list[InjectedFault]] = {}

    def inject(self, fault: Fault) -> InjectedFault:
        if fault.role not in self.bench.instruments:
            raise ValueError(
                f"no {fault.role!r} on this bench (roles: {', '.join(self.bench.instruments)})"
            )
        injected = InjectedFault(fault, self)
        with self.lock:
            self.faults.setdefault(fault.role, []).append(injected)
            self.server.fault_hooks[fault.role] = self._message_hook(fault.role)
            self.server.accept_hooks[fault.role] = self._accept_hook(fault.role)
        return injected

    def clear(self, role: str | None = None) -> None:
        with self.lock:
            for name, faults in self.faults.items():
                if role is None or name == role:
                    for injected in faults:
                        injected._finish()

    def injected(self, role: str | None = None) -> list[InjectedFault]:
        return [f for name, fs in self.faults.items() if role in (None, name) for f in fs]

    def _message_hook(self, role: str) -> Callable[[SimInstrument, str], FaultAction | None]:
        def hook(instrument: SimInstrument, line: str) -> FaultAction | None:
            action = None
            for injected in list(self.faults.get(role, ())):  # every fault sees every message
                result = injected.on_message(instrument, line)
                action = action or result  # the first fault's action wins
            return action

        return hook

    def _accept_hook(self, role: str) -> Callable[[SimInstrument], bool]:
        def hook(instrument: SimInstrument) -> bool:
            accepted = True
            for injected in list(self.faults.get(role, ())):
                accepted = injected.on_connect() and accepted
            return accepted

        return hook
