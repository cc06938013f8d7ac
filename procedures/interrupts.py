"""Keep Ctrl-C/SIGTERM out of the middle of a write that must happen whole.

A reading and the judgement made from it are written together: if the operator's interrupt
landed between the two, readings.csv would hold a point the record does not (CI saw exactly
that: 8 rows against 7 measurements). Inside ``interrupts_deferred()`` a SIGINT/SIGTERM is only
noted; it is delivered again, to the handler that was in place before, as soon as the block
ends, so the run still aborts at once, just one write later.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: called with the signal number whenever a deferred signal arrives (the runner answers the
#: operator: "run complete, finishing reports" / "already stopping")
_observers: list[Callable[[int], None]] = []


@contextlib.contextmanager
def deferred_signals_observed(callback: Callable[[int], None]) -> Iterator[None]:
    """Call ``callback(signum)`` for every signal a deferring block receives meanwhile."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


def _note(received: list[int], signum: int) -> None:
    received.append(signum)
    for callback in list(_observers):
        with contextlib.suppress(Exception):
            callback(signum)


@contextlib.contextmanager
def interrupts_deferred(*, redeliver: bool = True) -> Iterator[list[int]]:
    """Defer SIGINT/SIGTERM until the block ends; yields the signals that arrived.

    ``redeliver``: raise each one once, to the handler that was in place before, when the block
    ends (the default); False holds them for good - the caller decides (the safe-state
    sequence, which a second Ctrl-C must not cut short). Only the main thread can handle
    signals; anywhere else this is a no-op. Nested blocks work: the inner one re-delivers to
    the outer one's handler, which delivers at its own end.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous: dict[int, object] = {}
    for sig in DEFERRED_SIGNALS:
        handler = signal.getsignal(sig)
        if handler is None:  # installed outside Python: leave it alone
            continue
        previous[sig] = handler
        signal.signal(sig, lambda signum, _frame: _note(received, signum))
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        if redeliver:
            for sig in dict.fromkeys(received):
                signal.raise_signal(sig)
