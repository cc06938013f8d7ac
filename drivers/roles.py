"""Role interfaces that procedures program against; each driver implements one of them.

SI units everywhere (amperes, volts, ohms, seconds); names carry the unit. Nothing here knows
about the module under test. ``safe_state`` brings the instrument to outputs off, levels zero;
``safe_state_problems`` reads the instrument back and says what is not safe (an empty list is
a verified safe state).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from drivers import capabilities as cap
from drivers.scpi import Accuracy, Identity


class Role(ABC):
    role: str
    label: str
    identity: Identity | None

    @abstractmethod
    def initialize(self) -> Identity:
        """Check ``*IDN?``, reset to a known state, clear the error queue."""

    @abstractmethod
    def safe_state(self) -> None:
        """Outputs off, levels zero. Must tolerate a half-configured instrument."""

    @abstractmethod
    def safe_state_problems(self) -> list[str]:
        """Read back the output state and levels; describe anything that is not safe."""

    @abstractmethod
    def check_errors(self, context: str = "configuration") -> None: ...

    def check_health(self, context: str = "a reading", *, compliance_ok: bool = False) -> None:
        """Raise an InstrumentError if the instrument rebooted, queued an error or tripped a
        limit since the last check (SCPI drivers: one ``*ESR?`` message; here: nothing)."""
        return None

    @abstractmethod
    def close(self) -> None: ...


@dataclass(frozen=True)
class SourceReading:
    """What the source measured at its terminals while sourcing (never the setpoint)."""

    current_a: float
    voltage_v: float
    current_accuracy: Accuracy
    voltage_accuracy: Accuracy


class CurrentSource(Role):
    role = "source"
    max_current_a: float

    @abstractmethod
    def configure(
        self,
        *,
        voltage_limit_v: float,
        nplc: float = 1.0,
        four_wire: bool = True,
        source_delay_s: float | None = None,
    ) -> None: ...

    @abstractmethod
    def set_current(self, level_a: float) -> None:
        """Program the level; the driver picks the most accurate range that holds it."""

    @abstractmethod
    def set_source_delay(self, seconds: float) -> None:
        """Instrument-side settling wait applied before the next measurement."""

    @abstractmethod
    def enable_output(self) -> None: ...

    @abstractmethod
    def disable_output(self) -> None: ...

    @abstractmethod
    def measure(self) -> SourceReading: ...

    @abstractmethod
    def in_compliance(self) -> bool:
        """True when the voltage limit clamps the current (open input, high burden)."""


class Dmm(Role):
    role = "dmm"
    current_ranges_a: tuple[float, ...]
    voltage_ranges_v: tuple[float, ...]

    @abstractmethod
    def configure_dc_current(
        self, *, range_a: float, nplc: float, autozero: bool = True
    ) -> None: ...

    @abstractmethod
    def configure_dc_voltage(
        self, *, range_v: float, nplc: float, autozero: bool = True
    ) -> None: ...

    @abstractmethod
    def set_trigger_delay(self, seconds: float) -> None: ...

    @abstractmethod
    def read(self) -> float:
        """One triggered reading with the present configuration."""

    @abstractmethod
    def read_many(self, count: int) -> np.ndarray:
        """``count`` back-to-back readings from one trigger."""

    @abstractmethod
    def accuracy(self, value: float) -> Accuracy:
        """Specified accuracy for ``value`` on the present function and range."""

    @abstractmethod
    def reading_time_s(self) -> float:
        """Time one reading takes with the present integration and autozero settings."""

    @abstractmethod
    def autozero_once(self) -> None:
        """Measure the zero once now and hold it; readings on the present function/range(s)
        afterwards run with autozero off (one integration each instead of two)."""

    @abstractmethod
    def autozero_off_error(self) -> float:
        """Half-width of the additional zero error the manual specifies for readings with
        autozero off after one autozero (present function and range, in the reading's unit:
        V or A), within the manual's validity window (docs/metrology.md 4.1)."""

    @abstractmethod
    def autozero_hold_s(self) -> float:
        """How long after autozero_once the manual's autozero-off figure stays valid (s)."""

    @abstractmethod
    def start_readings(self, count: int) -> None:
        """Trigger ``count`` back-to-back readings (present trigger delay) and return at once,
        so another instrument can work while this one integrates."""

    @abstractmethod
    def fetch_readings(self) -> np.ndarray:
        """Wait for the readings ``start_readings`` triggered and return them (same checks
        and units as ``read_many``)."""


class Supply(Role):
    role = "supply"
    max_voltage_v: float
    max_current_a: float

    @abstractmethod
    def configure(self, *, voltage_v: float, current_limit_a: float, ovp_v: float) -> None:
        """Program protections first (OVP, current limit), then the level; output stays off."""

    @abstractmethod
    def set_voltage(self, voltage_v: float) -> None: ...

    @abstractmethod
    def enable_output(self) -> None: ...

    @abstractmethod
    def disable_output(self) -> None: ...

    @abstractmethod
    def measure_voltage(self) -> float: ...

    @abstractmethod
    def measure_current(self) -> float: ...

    @abstractmethod
    def current_accuracy(self, value_a: float) -> Accuracy: ...

    @abstractmethod
    def protection_tripped(self) -> str | None:
        """Name of a tripped protection (``"OVP"``, ``"OCP"``) or None."""


class Load(Role):
    role = "load"
    #: lowest constant-resistance setting of the model (a short on the bench is this)
    min_resistance_ohm: float

    @abstractmethod
    def configure_resistance(self, resistance_ohm: float) -> None:
        """Constant-resistance mode at ``resistance_ohm``; input stays off."""

    @abstractmethod
    def set_resistance(self, resistance_ohm: float) -> None: ...

    @abstractmethod
    def enable_input(self) -> None: ...

    @abstractmethod
    def disable_input(self) -> None: ...

    @abstractmethod
    def measure_voltage(self) -> float: ...

    @abstractmethod
    def measure_current(self) -> float: ...


# ---------------------------------------------------------------------- capability interfaces
# A model's driver implements the interface of every capability its registry entry declares
# (tests/unit/test_registry.py checks that); procedures reach them through the guarded roles
# (bench/safety.py), never through a model's own methods.


class TriggerOut(ABC):
    """A source that steps its level and fires a hardware trigger pulse together."""

    @abstractmethod
    def configure_trigger_output(self, line: int = 1) -> None:
        """Route the trigger pulse to digital ``line`` (the line wired to the DMM)."""

    @abstractmethod
    def step_with_trigger(self, level_a: float) -> None:
        """Step to ``level_a`` and fire the trigger pulse in the same message."""


class DigitalOut(ABC):
    """Digital output lines that drive fixture relays (e.g. the module bypass)."""

    @abstractmethod
    def set_digital_output(self, line: int, state: bool) -> None: ...


class Scanner(ABC):
    """A DMM that reads DC volts on scanner card channels."""

    @abstractmethod
    def configure_channels(
        self, channels: list[int], range_v: float, nplc: float, autozero: bool = True
    ) -> None:
        """DC volts on ``channels``: fixed range, NPLC, autozero."""

    @abstractmethod
    def select_channel(self, channel: int) -> None:
        """Close ``channel`` (the previous one opens); returns when the relay has settled."""

    @abstractmethod
    def open_channels(self) -> None: ...


class Digitiser(ABC):
    """A DMM that samples on its own timer after one trigger."""

    @abstractmethod
    def configure_capture(
        self,
        *,
        samples: int,
        interval_s: float,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
        range_v: float | None = None,
    ) -> None:
        """``samples`` samples every ``interval_s`` after the trigger (plus ``delay_s``);
        ``range_v``: a DC-volt capture on that range (scanner channel), None keeps the
        configured function and range."""

    @abstractmethod
    def arm(self) -> None: ...

    @abstractmethod
    def fetch(self) -> np.ndarray: ...

    @abstractmethod
    def capture_times_s(self) -> np.ndarray:
        """Time of each sample of the configured capture after its trigger (s), at the centre
        of the sample's aperture: a digitised sample is the mean over its aperture, so that is
        the instant it represents (docs/metrology.md section 5.1)."""


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
    """A DMM that takes one reading a programmed delay after an external trigger: what
    equivalent-time sampling of the step response needs (docs/equivalent-time.md)."""

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


#: the interface a driver implements for each capability that has methods of its own
CAPABILITY_INTERFACES: dict[str, type] = {
    cap.TRIGGER_OUT: TriggerOut,
    cap.DIGITAL_OUT: DigitalOut,
    cap.SCANNER: Scanner,
    cap.DIGITISER: Digitiser,
    cap.TRIGGERED_READING: TriggeredReading,
}
