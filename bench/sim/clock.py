"""The simulated bench clock: modelled instrument time, never slept for.

Two modes:

* virtual (in-process use: pytest, the integration tests, ``SimBench`` from Python): time moves
  only when an instrument operation takes time, so nothing ever sleeps;
* real time (``isobench sim`` serving external clients): on top of that, every second of wall
  clock that passes between two looks at the clock is added, so the simulated clock never falls
  behind the wall clock. A script that sleeps one second sees the module settle and an
  acquisition progress by (at least) one second, as on a real bench. Operations that take
  modelled time still move the clock ahead at once (a reply is not held back for them).
"""

from __future__ import annotations

import time


class SimClock:
    """Monotonic modelled time in seconds since the simulated bench was switched on.

    Instruments advance it by what an operation takes on the real instrument (message
    handling, integration, trigger and source delays, sample timers).
    """

    def __init__(self, realtime: bool = False) -> None:
        self._now = 0.0
        self.realtime = realtime
        self._wall = time.monotonic()

    def _follow_wall(self) -> None:
        if self.realtime:
            wall = time.monotonic()
            self._now += wall - self._wall
            self._wall = wall

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
