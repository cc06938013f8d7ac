"""What passes between the runner and a front-end: run events out, an abort request in.

A front-end (the CLI, the operator panel, the pytest plugin) renders :class:`RunEvent` objects
and may ask for an abort through :class:`RunControl`; it never re-implements a part of a run.
Event data is JSON-serialisable, so the panel can forward it to a browser as it is.

Kinds and their data keys (docs: RUNNER API in the README's "Front-ends" section):

``run_started``   run_id, serial, station, topology, operator, lot, engineering, front_end,
                  steps [{name, title}], folder
``notice``        level ("info" | "warning"), text (one line: a repeated serial, a lot note);
                  a repeated serial's also key ("repeat_<case>") and values (the
                  procedures.sampling.RepeatCount), so a front-end can say it in its language
``step_started``  name, title, index, total
``step_finished`` name, title, index, total, status (completed | failed | aborted), message
``progress``      step, done, total, text
``point``         step, characteristic, title, conditions, value, unit, U, lower, upper,
                  acceptance_lower, acceptance_upper, statement
``interrupt``     phase ("measuring" | "finishing"), text (the answer to a Ctrl-C/SIGTERM/abort)
``safe_state``    results {role: "verified" | problem}, verified
``run_finished``  outcome, verdict, exit_code, headline, engineering, failing [{characteristic,
                  title, value, limit, U, statement}], abort_reason, abort_fix, folder,
                  reports {name: path}, store (one line), lot_tally (one line or "")
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EVENT_KINDS = (
    "run_started",
    "notice",
    "step_started",
    "step_finished",
    "progress",
    "point",
    "interrupt",
    "safe_state",
    "run_finished",
)

OPERATOR_INTERRUPT = "interrupted by the operator (Ctrl-C or SIGTERM)"


@dataclass(frozen=True)
class RunEvent:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[RunEvent], None]


def ignore(event: RunEvent) -> None:
    """The listener of a front-end that renders nothing."""


class RunAborted(KeyboardInterrupt):
    """An abort asked for through :meth:`RunControl.abort`: handled exactly like Ctrl-C (a
    ``KeyboardInterrupt``, so no ``except Exception`` in a step can swallow it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunControl:
    """Thread-safe abort of one run.

    ``abort(reason)`` may be called from any thread (the panel's request handler, a pytest
    timeout). The run stops at its next instrument command or reading - every guarded role
    checks :meth:`check` first - and then finalises normally: safe state, record, reports,
    store, lot. An abort after the last reading only says the run is finishing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reason: str | None = None
        #: set by the runner: "idle" -> "measuring" -> "finishing" -> "done"
        self.phase = "idle"
        #: set by the runner: answers an abort (argument: True for the first request)
        self.on_abort: Callable[[bool], None] | None = None

    @property
    def abort_requested(self) -> bool:
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        return self._reason

    def abort(self, reason: str = "aborted by the operator") -> None:
        with self._lock:
            first = self._reason is None
            if first:
                self._reason = " ".join(reason.split()) or "aborted by the operator"
        if self.on_abort is not None:
            self.on_abort(first)

    def check(self) -> None:
        """Raise :class:`RunAborted` if an abort was asked for while the run measures."""
        if self._reason is not None and self.phase == "measuring":
            raise RunAborted(self._reason)
