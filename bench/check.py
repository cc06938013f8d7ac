"""``isobench check``: is this bench ready for a production run? Asked without a module.

The bench maintainer's question after wiring a station, moving it, or swapping an instrument:
does every address answer with the right model and serial, is its error queue clean after a
reset, is its calibration current, does the safety envelope fit the instruments, and does every
output read back off? Each instrument is reset (``*RST``, as before an inspection); nothing is
switched on; every instrument ends in its safe state, read back, exactly as at the end of an
inspection (``BenchSession.close``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bench.calibration import is_builtin_sim, missing_calibration_data, traceability_problems
from bench.lock import StationLock
from bench.plan_check import plan_problems
from bench.safety import SafetyEnvelope, SafetyError
from bench.session import BenchSession, Opener, SafeStateReport, _default_opener
from bench.station import ROLES, Station
from drivers.errors import InstrumentError
from procedures.plan import PlanSettings
from procedures.plans import full_plan
from procedures.profile import Profile

#: exit codes: ready; usable for engineering runs only (traceability); not usable
READY, ENGINEERING_ONLY, NOT_READY = 0, 1, 2
#: a calibration due within this many days is flagged (not refused)
CALIBRATION_WARNING_DAYS = 30


@dataclass
class InstrumentCheck:
    role: str
    model: str
    resource: str
    identity: str = ""
    problem: str = ""  # one line: what kept it from opening, and the fix, or ""
    message: str = ""  # the same with the instrument named, for a one-line error
    calibration: str = ""  # due date in words

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class StationCheck:
    station: str
    instruments: list[InstrumentCheck] = field(default_factory=list)
    envelope: str = ""  # the envelope in words, or why it cannot be built
    envelope_ok: bool = False
    safe_state: SafeStateReport = field(default_factory=SafeStateReport)
    traceability: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: what keeps the full plan from running on this station's limits (bench.plan_check)
    plan: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        usable = (
            all(i.ok for i in self.instruments)
            and self.envelope_ok
            and self.safe_state.verified
            and not self.plan
        )
        if not usable:
            return NOT_READY
        return ENGINEERING_ONLY if self.traceability else READY

    def verdict(self) -> str:
        return {
            READY: "READY for production runs",
            ENGINEERING_ONLY: "ENGINEERING ONLY - usable for engineering runs only "
            "(--engineering): " + "; ".join(self.traceability),
            NOT_READY: "NOT READY - fix the problems above, then check again",
        }[self.exit_code]

    def lines(self) -> list[str]:
        """The check as the console shows it (one line per finding)."""
        out = [f"station {self.station}:"]
        for i in self.instruments:
            state = self.safe_state.results.get(i.role, "")
            head = f"  {i.role:<7} {i.model:<18} {i.resource}"
            out.append(head)
            if i.ok:
                out.append(f"          {i.identity}")
                out.append(f"          calibration {i.calibration}; safe state {state}")
            else:
                out.append(f"          PROBLEM: {i.problem}")
                if state and state != "not opened":
                    out.append(f"          safe state {state}")
        out.append(f"safety envelope: {self.envelope}")
        out += [f"plan: {text}" for text in self.plan]
        out += [f"warning: {text}" for text in self.warnings]
        out.append(self.safe_state.summary())
        out.append(f"result: {self.verdict()}")
        return out


def _calibration_words(due: dt.date | None, today: dt.date) -> tuple[str, str | None]:
    """(words, warning or None) for one instrument's calibration due date."""
    if due is None:
        return "due date unknown", "no calibration due date in the station file"
    days = (due - today).days
    if days < 0:
        return f"OVERDUE since {due.isoformat()}", None  # a traceability problem already
    words = f"due {due.isoformat()} (in {days} days)"
    if days <= CALIBRATION_WARNING_DAYS:
        return words, f"calibration due in {days} days"
    return words, None


def _envelope_words(envelope: SafetyEnvelope) -> str:
    return (
        f"source <= {envelope.max_source_current_a * 1e3:g} mA at <= "
        f"{envelope.source_voltage_limit_v:g} V, supply {envelope.supply_min_v:g}-"
        f"{envelope.supply_max_v:g} V (OVP {envelope.supply_ovp_v:g} V, current limit "
        f"{envelope.supply_current_limit_a * 1e3:g} mA), load <= {envelope.load_max_ohm:g} ohm"
    )


def check_station(
    station: Station,
    profile: Profile,
    opener: Opener = _default_opener,
    today: dt.date | None = None,
    front_end: str = "isobench check",
) -> StationCheck:
    """Open every instrument (each on its own: one failure does not hide the others), build
    the safety envelope, then put everything in its safe state and read it back.

    The check holds the station lock (it resets every instrument): during a run it is
    refused with :class:`~bench.lock.StationBusy` naming the run."""
    with StationLock(station, front_end=front_end):
        return _check(station, profile, opener, today)


def _check(
    station: Station, profile: Profile, opener: Opener, today: dt.date | None
) -> StationCheck:
    today = today or dt.date.today()
    result = StationCheck(station.station.name)

    def envelope(supply_capability_v: float) -> SafetyEnvelope:
        return SafetyEnvelope.build(station.limits, profile.ratings, supply_capability_v)

    session = BenchSession(station, envelope, opener)
    try:
        session.open()
        assert session.envelope is not None
        result.envelope, result.envelope_ok = _envelope_words(session.envelope), True
    except InstrumentError:
        result.envelope = "not built: an instrument did not open"
    except SafetyError as exc:
        result.envelope = f"cannot be built: {exc}"
    finally:
        result.safe_state = session.close()
    for role in ROLES:
        cfg = station.instruments[role]
        check = InstrumentCheck(role, cfg.model, cfg.resource)
        error = session.open_errors.get(role)
        if error is not None:
            text = error.problem + (f" - {error.fix}" if error.fix else "")
            check.problem, check.message = " ".join(text.split()), " ".join(str(error).split())
        check.identity = session.identities.get(role, "")
        check.calibration, warning = _calibration_words(cfg.calibration_due, today)
        builtin = is_builtin_sim(station)  # the simulator's own: traceable by construction
        if warning and not builtin:
            result.warnings.append(f"{role} ({cfg.model}): {warning}")
        if not cfg.serial and not builtin:
            result.warnings.append(f"{role} ({cfg.model}): no serial in the station file")
        result.instruments.append(check)
    result.traceability = traceability_problems(station, session.identities, today)
    # production needs every instrument traceable: the same test refuses a production inspect
    # (bench.calibration.untraceable_refusal)
    result.traceability += [
        f"{role} ({station.instruments[role].model}): no serial or calibration due date "
        "in the station file"
        for role in missing_calibration_data(station)
    ]
    result.plan = plan_problems(
        station, profile, full_plan(station.station.topology), PlanSettings()
    )
    return result
