"""The simulated bench clock: modelled instrument time, never slept for."""

from __future__ import annotations


class SimClock:
    """Monotonic modelled time in seconds since the simulated bench was switched on.

    Instruments advance it by what an operation takes on the real instrument (message
    handling, integration, trigger and source delays, sample timers). Nothing sleeps: a run
    that would take minutes on the bench takes as long as the Python code needs.
    """

    def __init__(self) -> None:
        self._now = 0.0

    @property
    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds > 0.0:
            self._now += seconds
        return self._now

    def advance_to(self, t: float) -> float:
        if t > self._now:
            self._now = t
        return self._now
