"""Capability interface: one reading per hardware trigger at a programmed delay.

What equivalent-time sampling needs of a DMM without a digitiser (docs/metrology.md section
5.3): the same step is repeated, and each repetition the DMM takes one short-aperture reading a
known delay after the source's trigger pulse. The driver states the timing it can promise
(:class:`TriggerTiming`), so the step's uncertainty budget can say what the times rest on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class TriggerTiming:
    """How well a triggered reading's time after the trigger is known (seconds).

    ``aperture_s``: integration time of one reading (the reading is its mean);
    ``latency_s``: fixed delay from the trigger edge to the start of the delay timer, not
    included in :meth:`TriggeredReading.triggered_time_s` (it adds to the fitted dead time);
    ``jitter_s``: half-width of the trigger-to-reading timing scatter;
    ``delay_resolution_s``: step of the trigger delay timer;
    ``timebase_rel``: relative accuracy of the delay timer; ``source``: where the figures come
    from (``[E]`` = estimate, to confirm on hardware).
    """

    aperture_s: float
    latency_s: float
    jitter_s: float
    delay_resolution_s: float
    timebase_rel: float
    source: str


class TriggeredReading(ABC):
    """A DMM that takes one reading a programmed delay after an external trigger."""

    #: shortest integration the model offers, NPLC (equivalent-time readings use it)
    fastest_nplc: float

    @abstractmethod
    def configure_triggered_reading(
        self,
        *,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
    ) -> None:
        """One reading per trigger, ``delay_s`` after it, with the configured function, range
        and integration; only what changed since the last call is sent."""

    @abstractmethod
    def arm(self) -> None:
        """Wait for the trigger (confirmed before returning)."""

    @abstractmethod
    def fetch(self) -> np.ndarray:
        """The reading(s) of the last acquisition (waits for them)."""

    @abstractmethod
    def triggered_time_s(self) -> float:
        """Time of the configured reading after its trigger, at its aperture centre (s)."""

    @abstractmethod
    def trigger_timing(self) -> TriggerTiming: ...
