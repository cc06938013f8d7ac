"""The simulated bench clock: modelled instrument time, never slept for.

Two modes:

* virtual (in-process use: pytest, the integration tests, ``SimBench`` from Python): time moves
  only when an instrument operation takes time, so nothing ever sleeps;
* real time (``isobench sim`` serving external clients): on top of that, every second of wall
  clock that passes between two looks at the clock is added, so the simulated clock never falls
  behind the wall clock. A script that sleeps one second sees the module settle and an
  acquisition progress by (at least) one second, as on a real bench. Operations that take
  modelled time still move the clock ahead at once (a reply is not held back for them).
  One message executes in modelled time only (:meth:`SimClock.one_message`): the wall time
  the simulator itself spends on it is added after it. Otherwise a level change and the
  trigger pulse sent with it in one message (the step response's ``:SOUR:CURR x;*TRG``) came
  apart by however long Python took between them - milliseconds on a loaded machine - and the
  step preceded its own trigger.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator


class SimClock:
    """Monotonic modelled time in seconds since the simulated bench was switched on.

    Instruments advance it by what an operation takes on the real instrument (message
    handling, integration, trigger and source delays, sample timers).
    """

    def __init__(self, realtime: bool = False, wall: Callable[[], float] = time.monotonic) -> None:
        self._now = 0.0
        self.realtime = realtime
        self._wall_clock = wall
        self._wall = wall()
        self._held = 0  # > 0 while one message executes

    def _follow_wall(self) -> None:
        if self.realtime and not self._held:
            wall = self._wall_clock()
            self._now += wall - self._wall
            self._wall = wall

    @contextlib.contextmanager
    def one_message(self) -> Iterator[None]:
        """Execute one instrument message in modelled time only: the clock catches up with
        the wall once before it, and the wall time spent inside is added at the next look
        after it (so the clock still never falls behind the wall between messages)."""
        self._follow_wall()
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    @property
    def now(self) -> float:
        self._follow_wall()
        return self._now

    def advance(self, seconds: float) -> float:
        self._follow_wall()
        if seconds > 0.0:
            self._now += seconds
        return self._now

    def advance_to(self, t: float) -> float:
        self._follow_wall()
        if t > self._now:
            self._now = t
        return self._now
