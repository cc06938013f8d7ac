"""A bench session: open and verify the station's instruments, hand out guarded roles, and on
every exit path put every instrument in its safe state and read it back.

Traps seen in other hardware-test frameworks, avoided here: safe state is registered before
any output can be enabled (each driver is tracked the moment its transport opens); a half-open
or unreachable instrument does not stop the others from being made safe; Ctrl-C/SIGTERM
arriving during the safe-state sequence is held back until it has finished; an instrument whose
``*IDN?`` did not match is not sent anything (we do not know what it is).

One bad instrument does not keep the others from their safe state: opening goes on past a
failure (so every instrument that answers is identified and reset), and closing reaches every
instrument, reopens a connection that a timeout or an interrupt left out of step, and tries
each instrument that could not be verified once more before naming it in the report.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.safety import (
    GuardedDmm,
    GuardedLoad,
    GuardedSource,
    GuardedSupply,
    OutputOrder,
    SafetyEnvelope,
)
from bench.station import ROLES, Station
from drivers.errors import InstrumentError, InstrumentIdentityError
from drivers.registry import open_driver
from drivers.roles import Role
from procedures.interrupts import interrupts_deferred

#: safe-state order: the input source first, then the load, the supply, the meter
SAFE_ORDER = ("source", "load", "supply", "dmm")
#: further attempts (reopen, safe state, read back) for an instrument not verified at first;
#: each costs at most two controller timeouts on an instrument that does not answer at all
SAFE_STATE_RETRIES = 2

Opener = Callable[[str, str, str, float], Role]


def _default_opener(role: str, model: str, resource: str, timeout_s: float) -> Role:
    return open_driver(role, model, resource, timeout_s=timeout_s)


@dataclass
class SafeStateReport:
    """Per role: ``"verified"`` or what could not be verified and why."""

    results: dict[str, str] = field(default_factory=dict)
    #: roles verified only on a later attempt: what the first attempt found
    retried: dict[str, str] = field(default_factory=dict)
    #: attempts each retried role needed (1 + retries)
    attempts: dict[str, int] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return bool(self.results) and all(v == "verified" for v in self.results.values())

    def retry_notes(self) -> list[str]:
        """One line per instrument verified only after a retry: worth a look at its link."""
        return [
            f"{role} verified on attempt {self.attempts[role]} of {1 + SAFE_STATE_RETRIES} "
            f"(first attempt: {first}) - check its connection"
            for role, first in self.retried.items()
            if self.results.get(role) == "verified"
        ]

    def summary(self) -> str:
        if self.verified:
            text = "safe state verified"
            if self.retried:
                text += " (" + "; ".join(self.retry_notes()) + ")"
            return text
        bad = [f"{role}: {state}" for role, state in self.results.items() if state != "verified"]
        return "safe state NOT verified - " + "; ".join(bad)


def signals_held() -> contextlib.AbstractContextManager[list[int]]:
    """Hold SIGINT/SIGTERM back while the safe-state sequence runs (main thread only); the
    context yields the signals that arrived, which are not delivered afterwards."""
    return interrupts_deferred(redeliver=False)


class BenchSession:
    def __init__(
        self,
        station: Station,
        envelope_factory: Callable[[float], SafetyEnvelope],
        opener: Opener = _default_opener,
        interlock: Callable[[], None] | None = None,
    ) -> None:
        self.station = station
        #: called before every guarded command and reading (the run's abort check)
        self.interlock = interlock
        self._envelope_factory = envelope_factory
        self._opener = opener
        self.drivers: dict[str, Role] = {}
        self.trusted: set[str] = set()  # identity verified: safe to command
        self.identities: dict[str, str] = {}
        #: per role, what kept it from opening (open() raises the first of them)
        self.open_errors: dict[str, InstrumentError] = {}
        self.order = OutputOrder()
        self.envelope: SafetyEnvelope | None = None
        self.safe_state_report: SafeStateReport | None = None
        self.source: GuardedSource
        self.dmm: GuardedDmm
        self.supply: GuardedSupply
        self.load: GuardedLoad

    # ------------------------------------------------------------------ opening
    def open(self) -> BenchSession:
        first_error: InstrumentError | None = None
        for role in ROLES:
            cfg = self.station.instruments[role]
            try:
                driver = self._opener(role, cfg.model, cfg.resource, cfg.timeout_s)
            except InstrumentError as exc:
                first_error = first_error or exc
                self.open_errors[role] = exc
                continue
            self.drivers[role] = driver
            try:
                identity = driver.initialize()
            except InstrumentIdentityError as exc:
                first_error = first_error or exc  # unknown instrument: never commanded
                self.open_errors[role] = exc
                continue
            except InstrumentError as exc:
                first_error = first_error or exc
                self.open_errors[role] = exc
                if getattr(driver, "identity", None) is not None:
                    self.trusted.add(role)  # the right instrument, it failed later: make safe
                continue
            self.trusted.add(role)
            self.identities[role] = str(identity)
        if first_error is not None:
            raise first_error
        # known state everywhere before anything is switched on
        for role in SAFE_ORDER:
            self.drivers[role].safe_state()
        supply = self.drivers["supply"]
        self.envelope = self._envelope_factory(supply.max_voltage_v)  # type: ignore[attr-defined]
        self.source = GuardedSource(self.drivers["source"], self.envelope, self.order)
        self.dmm = GuardedDmm(self.drivers["dmm"], self.envelope, self.order)
        self.supply = GuardedSupply(self.drivers["supply"], self.envelope, self.order)
        self.load = GuardedLoad(self.drivers["load"], self.envelope, self.order)
        for guard in (self.source, self.dmm, self.supply, self.load):
            guard.interlock = self.interlock
        return self

    def __enter__(self) -> BenchSession:
        try:
            return self.open()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ health
    def check_health(self, *, compliance_ok: bool = False) -> None:
        """Each identified instrument's health check (reboot, queued errors, trips); one
        query per instrument. Procedures call it with every reading, before it is judged."""
        if self.interlock is not None:
            self.interlock()
        for role in ("source", "dmm", "supply", "load"):
            if role in self.trusted:
                self.drivers[role].check_health(compliance_ok=compliance_ok)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ closing
    def close(self) -> SafeStateReport:
        """Safe state in order, each instrument read back; never raises.

        1. every identified instrument to its safe state (source, load, supply, DMM), a
           connection that is out of step reopened first;
        2. every one read back;
        3. each that failed in 1 or 2 again, up to ``SAFE_STATE_RETRIES`` times (reopen, safe
           state, read back) - a connection refused once, or a reply lost once, does not leave
           an output unverified.
        """
        if self.safe_state_report is not None:
            return self.safe_state_report
        report = SafeStateReport()
        with signals_held():
            failed: dict[str, str] = {}
            for role in SAFE_ORDER:
                if role in self.trusted:
                    error = self._make_safe(role)
                    if error:
                        failed[role] = error
            for role in SAFE_ORDER:
                driver = self.drivers.get(role)
                if driver is None:
                    report.results[role] = "not opened"
                elif role not in self.trusted:
                    report.results[role] = "not commanded: its identity was not verified"
                else:
                    report.results[role] = self._read_back(role, failed.get(role))
            for role in SAFE_ORDER:  # more chances for what could not be verified
                first = report.results.get(role, "verified")
                for attempt in range(2, 2 + SAFE_STATE_RETRIES):
                    if report.results.get(role, "verified") == "verified":
                        break
                    if role not in self.trusted:
                        break
                    error = self._make_safe(role)
                    report.results[role] = self._read_back(role, error)
                    report.retried[role], report.attempts[role] = first, attempt
            for driver in self.drivers.values():
                with contextlib.suppress(Exception):
                    driver.close()
        self.order.on.clear()
        self.safe_state_report = report
        return report

    def _reopen_if_broken(self, role: str) -> None:
        transport = getattr(self.drivers[role], "transport", None)
        if transport is not None and getattr(transport, "broken", None):
            transport.reopen()

    def _make_safe(self, role: str) -> str | None:
        """Safe state of one instrument; what went wrong, or None."""
        try:
            self._reopen_if_broken(role)
            self.drivers[role].safe_state()
        except InstrumentError as exc:
            return f"safe state failed ({exc.problem})"
        except Exception as exc:
            return f"safe state failed ({type(exc).__name__}: {exc})"
        return None

    def _read_back(self, role: str, failure: str | None) -> str:
        """``verified`` or what is not safe (or could not be read)."""
        try:
            self._reopen_if_broken(role)
            problems = self.drivers[role].safe_state_problems()
        except InstrumentError as exc:
            problems = [f"could not read back ({exc.problem})"]
        except Exception as exc:
            problems = [f"could not read back ({type(exc).__name__}: {exc})"]
        if failure and not problems:
            problems = [failure]
        return "verified" if not problems else "; ".join(problems)
