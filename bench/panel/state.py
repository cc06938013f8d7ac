"""The station's state, held by the server: one truth for every tab and every reload.

A small state machine:

    setup --operator--> idle --scan--> ready --start--> running --run_finished--> verdict
                         ^               |  (Esc)                                   |
                         +----cancel-----+          verdict --scan--> ready <-------+

The runner's events (``bench.runner``, see RUNNER_API in the repository's docs) move a run
from ``running`` to ``verdict``; an abort is a request the runner honours at its next
instrument command, so the phase stays ``running`` (with ``aborting`` set) until the runner
says the run has finished and the bench is safe. Every change bumps ``version`` and wakes the
subscribers (the server-sent event streams); a snapshot is plain JSON-ready data.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

#: units kept for the side panel's "last units" list
LAST_UNITS = 20
#: the end time shown beside each of the last units: with seconds, so that two runs of one
#: serial within a minute (a retest) are told apart
UNIT_TIME_FORMAT = "%H:%M:%S"


class Phase(StrEnum):
    SETUP = "setup"  # the operator's name is needed first
    IDLE = "idle"  # waiting for a serial
    READY = "ready"  # serial scanned: insert the module, Enter starts
    RUNNING = "running"
    VERDICT = "verdict"  # the last result, kept until the next serial is scanned


class PanelConflict(ValueError):
    """An action the station's current state does not allow (HTTP 409); one line."""


@dataclass
class Notice:
    """A message for the operator about the last action (a refused scan, a warning)."""

    level: str  # "error" | "warning" | "info"
    text: str  # English, as the core said it
    #: the catalogue key and blanks that say it in the tab's language (bench.panel.i18n)
    key: str = ""
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepView:
    name: str
    title: str
    status: str = "pending"  # pending | running | completed | failed | aborted | not run
    done: int = 0
    total: int = 0
    text: str = ""
    message: str = ""


@dataclass
class RunView:
    """What the panel knows of the run in progress (or the last one), from the runner's events."""

    serial: str
    run_id: str = ""
    started_epoch: float = field(default_factory=time.time)
    ended_epoch: float | None = None
    expected_s: float | None = None
    engineering: bool = False
    steps: list[StepView] = field(default_factory=list)
    #: judged transfer points (error vs measured input) for the live plot
    points: list[dict[str, Any]] = field(default_factory=list)
    abort_requested: str = ""
    #: the runner's notices (a lot database out of reach) and answers to an abort
    notices: list[Notice] = field(default_factory=list)
    safe_state: dict[str, Any] | None = None
    #: the runner's run_finished data: outcome, verdict, headline, failing, reports ...
    result: dict[str, Any] | None = None


class PanelState:
    """Thread-safe: the web handlers and the run's worker thread both change it."""

    def __init__(self, operator: str = "", lot: dict[str, Any] | None = None) -> None:
        self._lock = threading.RLock()
        self._subscribers: list[Callable[[], None]] = []
        self.version = 0
        self.operator = operator
        self.lot: dict[str, Any] | None = lot
        self.phase = Phase.IDLE if operator else Phase.SETUP
        self.serial = ""  # the serial scanned for the next (or current) run
        self.scan_notes: list[Notice] = []  # warnings about the scanned serial
        self.notice: Notice | None = None
        self.run: RunView | None = None
        self.units: list[dict[str, Any]] = []  # newest first
        self.lock_holder: dict[str, Any] | None = None
        self.identities: dict[str, str] = {}  # *IDN? per role, as seen by the last run

    # ------------------------------------------------------------------ subscriptions
    def subscribe(self, wake: Callable[[], None]) -> Callable[[], None]:
        """Call ``wake`` after every change; returns the function that unsubscribes."""
        with self._lock:
            self._subscribers.append(wake)

        def unsubscribe() -> None:
            with self._lock:
                if wake in self._subscribers:
                    self._subscribers.remove(wake)

        return unsubscribe

    def wake(self) -> None:
        """Wake every subscriber without a change (the server is stopping: streams end)."""
        with self._lock:
            for wake in list(self._subscribers):
                wake()

    def _changed(self) -> None:
        """Call with the lock held, at the end of a mutation."""
        self.version += 1
        for wake in list(self._subscribers):
            wake()

    # ------------------------------------------------------------------ operator actions
    def set_operator(self, name: str) -> None:
        name = name.strip()
        if not name:
            raise PanelConflict("operator: the name is empty; type your name")
        with self._lock:
            self._not_running("change the operator")
            self.operator = name
            if self.phase == Phase.SETUP:
                self.phase = Phase.IDLE
            self.notice = None
            self._changed()

    def set_lot(self, lot: dict[str, Any] | None) -> None:
        with self._lock:
            self._not_running("change the lot")
            self.lot = lot
            self.notice = None
            if self.phase == Phase.READY:  # its repeated-serial note depended on the lot
                self.phase, self.serial, self.scan_notes = Phase.IDLE, "", []
            self._changed()

    def edit_setup(self) -> None:
        """Back to the setup screen (operator and lot), e.g. at a change of shift."""
        with self._lock:
            self._not_running("change the operator or lot")
            self.phase, self.serial, self.scan_notes, self.notice = Phase.SETUP, "", [], None
            self._changed()

    def scanned(self, serial: str, notes: list[Notice]) -> None:
        """A valid serial was scanned: show the instruction screen (the verdict goes)."""
        with self._lock:
            self._not_running("scan the next serial")
            if self.phase == Phase.SETUP:
                raise PanelConflict("operator: enter the operator's name before scanning")
            self.phase, self.serial, self.scan_notes, self.notice = (
                Phase.READY,
                serial,
                notes,
                None,
            )
            self._changed()

    def refuse(self, text: str, level: str = "error") -> None:
        """Tell the operator why the last action was refused (the phase is unchanged)."""
        with self._lock:
            self.notice = Notice(level, text)
            self._changed()

    def cancel(self) -> None:
        """Esc on the instruction screen: back to waiting for a serial."""
        with self._lock:
            if self.phase == Phase.READY:
                self.phase, self.serial, self.scan_notes, self.notice = Phase.IDLE, "", [], None
                self._changed()

    def begin_run(self, serial: str, expected_s: float | None = None) -> None:
        """Start pressed: only from the instruction screen, for the serial it shows."""
        with self._lock:
            if self.phase == Phase.RUNNING:
                raise PanelConflict(self._busy_text())
            if self.phase != Phase.READY or not self.serial:
                raise PanelConflict("start: scan the module's serial first")
            if serial and serial != self.serial:
                raise PanelConflict(
                    f"start: this screen is for {serial} but the station now has {self.serial} "
                    "scanned (another tab?); check the module in the fixture"
                )
            self.phase, self.notice = Phase.RUNNING, None
            self.run = RunView(serial=self.serial, expected_s=expected_s)
            self._changed()

    def start_failed(self, text: str) -> None:
        """The runner refused before anything was switched on (e.g. the station lock)."""
        with self._lock:
            self.phase, self.run = Phase.READY, None
            self.notice = Notice("error", text)
            self._changed()

    def request_abort(self, reason: str) -> bool:
        """Mark the abort asked for; False when no run is active (nothing to abort)."""
        with self._lock:
            if self.phase != Phase.RUNNING or self.run is None:
                return False
            if not self.run.abort_requested:
                self.run.abort_requested = reason
                self._changed()
            return True

    def _not_running(self, action: str) -> None:
        if self.phase == Phase.RUNNING:
            raise PanelConflict(f"{action}: {self._busy_text()}")

    def _busy_text(self) -> str:
        run = self.run
        who = f" by {self.operator}" if self.operator else ""
        since = time.strftime("%H:%M:%S", time.localtime(run.started_epoch)) if run else "?"
        serial = run.serial if run else "?"
        return (
            f"a run is active on this station ({serial}, started {since}{who}); "
            "wait for its verdict or abort it"
        )

    # ------------------------------------------------------------------ runner events
    def on_event(self, kind: str, data: dict[str, Any]) -> None:
        """Apply one runner event (called from the run's worker thread)."""
        with self._lock:
            run = self.run
            if run is None:
                return
            handler = getattr(self, f"_on_{kind}", None)
            if handler is not None:
                handler(run, data)
                self._changed()

    def _on_run_started(self, run: RunView, data: dict[str, Any]) -> None:
        run.run_id = str(data.get("run_id", ""))
        run.expected_s = data.get("expected_s", run.expected_s)
        run.engineering = bool(data.get("engineering", False))
        run.steps = [StepView(s["name"], s.get("title", s["name"])) for s in data.get("steps", [])]

    def _step(self, run: RunView, name: str) -> StepView:
        for step in run.steps:
            if step.name == name:
                return step
        step = StepView(name, name)
        run.steps.append(step)
        return step

    def _on_step_started(self, run: RunView, data: dict[str, Any]) -> None:
        self._step(run, data["name"]).status = "running"

    def _on_step_finished(self, run: RunView, data: dict[str, Any]) -> None:
        step = self._step(run, data["name"])
        step.status = str(data.get("status", "completed"))
        step.message = str(data.get("message", "") or "")
        if step.status == "completed" and step.total:
            step.done = step.total

    def _on_progress(self, run: RunView, data: dict[str, Any]) -> None:
        step = self._step(run, data["step"])
        if step.status == "pending":
            step.status = "running"
        step.done, step.total = int(data.get("done", 0)), int(data.get("total", 0))
        step.text = str(data.get("text", ""))

    def _on_point(self, run: RunView, data: dict[str, Any]) -> None:
        conditions = data.get("conditions") or {}
        if "input_a" in conditions and data.get("lower") is not None:
            run.points.append(
                {
                    "characteristic": data.get("characteristic", ""),
                    "input_a": conditions["input_a"],
                    "direction": conditions.get("direction", ""),
                    "value": data.get("value"),
                    "U": data.get("U"),
                    "lower": data.get("lower"),
                    "upper": data.get("upper"),
                    "acceptance_lower": data.get("acceptance_lower"),
                    "acceptance_upper": data.get("acceptance_upper"),
                    "statement": data.get("statement", ""),
                }
            )

    def _on_notice(self, run: RunView, data: dict[str, Any]) -> None:
        run.notices.append(
            Notice(
                str(data.get("level", "info")),
                str(data.get("text", "")),
                str(data.get("key", "")),
                dict(data.get("values") or {}),
            )
        )

    def _on_interrupt(self, run: RunView, data: dict[str, Any]) -> None:
        run.notices.append(Notice("info", str(data.get("text", ""))))

    def _on_safe_state(self, run: RunView, data: dict[str, Any]) -> None:
        run.safe_state = dict(data)

    def _on_run_finished(self, run: RunView, data: dict[str, Any]) -> None:
        run.result = dict(data)
        run.ended_epoch = time.time()
        if data.get("run_id"):
            run.run_id = str(data["run_id"])
        if data.get("lot_tally") and self.lot is not None:
            self.lot = {**self.lot, "tally": data["lot_tally"]}
        self.units.insert(
            0,
            {
                "serial": run.serial,
                "run_id": run.run_id,
                "verdict": data.get("verdict", ""),
                "outcome": data.get("outcome", ""),
                "engineering": run.engineering,
                "safe_state_verified": bool((run.safe_state or {}).get("verified", False)),
                "ended": time.strftime(UNIT_TIME_FORMAT, time.localtime(run.ended_epoch)),
            },
        )
        del self.units[LAST_UNITS:]
        self.phase, self.serial, self.scan_notes, self.notice = Phase.VERDICT, "", [], None

    # ------------------------------------------------------------------ background facts
    def set_lock_holder(self, holder: dict[str, Any] | None) -> None:
        with self._lock:
            if holder != self.lock_holder:
                self.lock_holder = holder
                self._changed()

    def set_units(self, units: list[dict[str, Any]]) -> None:
        with self._lock:
            self.units = list(units[:LAST_UNITS])
            self._changed()

    def set_identities(self, identities: dict[str, str]) -> None:
        with self._lock:
            self.identities = dict(identities)
            self._changed()

    def update_lot(self, lot: dict[str, Any] | None) -> None:
        with self._lock:
            if lot != self.lot:
                self.lot = lot
                self._changed()

    # ------------------------------------------------------------------ views
    @property
    def running(self) -> bool:
        with self._lock:
            return self.phase == Phase.RUNNING

    def snapshot(self) -> dict[str, Any]:
        """Everything a tab shows, as JSON-ready data (a deep copy)."""
        with self._lock:
            return copy.deepcopy(
                {
                    "version": self.version,
                    "phase": self.phase.value,
                    "operator": self.operator,
                    "lot": self.lot,
                    "serial": self.serial,
                    "scan_notes": [asdict(n) for n in self.scan_notes],
                    "notice": asdict(self.notice) if self.notice else None,
                    "run": asdict(self.run) if self.run else None,
                    "units": self.units,
                    "lock_holder": self.lock_holder,
                    "identities": self.identities,
                }
            )
