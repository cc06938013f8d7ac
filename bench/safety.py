"""The safety envelope: limits and output order enforced before any command reaches a driver.

The envelope is the intersection of the station's own limits and the module's absolute
ratings from its profile (input max 50 mA, supply range 16.8-31.2 V for the 857-411). Procedures
only ever see the guarded roles below; a command outside the envelope, or an output switched
in the wrong order, raises SafetyError before anything is sent.

Output order: enable supply, then load, then source; disable in reverse.

Each guard offers its role interface and the capability interfaces (``drivers/roles.py``)
explicitly, nothing else: a model-specific method is not reachable from a procedure. Asking for
a capability the model lacks raises :class:`~drivers.capabilities.CapabilityMissing` (the plan
check refuses such a run before anything is switched on).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from bench.station import Limits
from drivers import capabilities as cap
from drivers.capabilities import CapabilityMissing
from drivers.roles import (
    CAPABILITY_INTERFACES,
    CurrentSource,
    DigitalOut,
    Digitiser,
    Dmm,
    Load,
    Scanner,
    Supply,
    TriggeredReading,
    TriggerOut,
    TriggerTiming,
)
from drivers.scpi import Accuracy
from procedures.profile import Ratings


class SafetyError(RuntimeError):
    """A command refused by the safety envelope (one line: what, the limit, where it is set)."""


@dataclass(frozen=True)
class SafetyEnvelope:
    max_source_current_a: float
    source_voltage_limit_v: float
    supply_min_v: float
    supply_max_v: float
    supply_current_limit_a: float
    supply_ovp_v: float
    load_max_ohm: float

    @classmethod
    def build(cls, limits: Limits, ratings: Ratings, supply_capability_v: float) -> SafetyEnvelope:
        if limits.supply_max_v > supply_capability_v:
            raise SafetyError(
                f"station limit supply_max_v {limits.supply_max_v:g} V exceeds what the supply "
                f"can deliver ({supply_capability_v:g} V); use a 35 V class supply or lower "
                "the limit"
            )
        ovp = min(limits.supply_ovp_v, supply_capability_v * 1.1)
        return cls(
            max_source_current_a=min(limits.max_source_current_a, ratings.input_current_max_a),
            source_voltage_limit_v=limits.source_voltage_limit_v,
            supply_min_v=max(limits.supply_min_v, 0.0),
            supply_max_v=min(limits.supply_max_v, ratings.supply_max_v),
            supply_current_limit_a=limits.supply_current_limit_a,
            supply_ovp_v=ovp,
            load_max_ohm=limits.load_max_ohm,
        )

    # ------------------------------------------------------------------ checks
    def check_source_current(self, level_a: float) -> None:
        if not math.isfinite(level_a) or abs(level_a) > self.max_source_current_a + 1e-12:
            raise SafetyError(
                f"safety envelope: refused source current {level_a:g} A (limit "
                f"{self.max_source_current_a:g} A from the station's max_source_current_a and the "
                "module's maximum input current)"
            )

    def check_source_voltage_limit(self, volts: float) -> None:
        if not 0.0 < volts <= self.source_voltage_limit_v:
            raise SafetyError(
                f"safety envelope: refused source voltage limit {volts:g} V (station "
                f"source_voltage_limit_v is {self.source_voltage_limit_v:g} V)"
            )

    def check_supply_voltage(self, volts: float) -> None:
        if volts == 0.0:
            return
        if not self.supply_min_v - 1e-9 <= volts <= self.supply_max_v + 1e-9:
            raise SafetyError(
                f"safety envelope: refused supply voltage {volts:g} V (allowed 0 or "
                f"{self.supply_min_v:g} ... {self.supply_max_v:g} V from the station limits and "
                "the module's supply range)"
            )

    def check_load(self, ohm: float) -> None:
        if not 0.0 < ohm <= self.load_max_ohm:
            raise SafetyError(
                f"safety envelope: refused load {ohm:g} ohm (station load_max_ohm "
                f"is {self.load_max_ohm:g} ohm)"
            )


OutputName = Literal["supply", "load", "source"]


class OutputOrder:
    """Which outputs the controller switched on, and the rule that governs switching."""

    ORDER: tuple[OutputName, ...] = ("supply", "load", "source")

    def __init__(self) -> None:
        self.on: set[str] = set()

    def enable(self, name: OutputName) -> None:
        needed = self.ORDER[: self.ORDER.index(name)]
        missing = [n for n in needed if n not in self.on]
        if missing:
            raise SafetyError(
                f"safety envelope: refused to enable the {name} before the "
                f"{' and '.join(missing)} (order: supply, load, source)"
            )
        self.on.add(name)

    def disable(self, name: OutputName) -> None:
        later = self.ORDER[self.ORDER.index(name) + 1 :]
        still_on = [n for n in later if n in self.on]
        if still_on:
            raise SafetyError(
                f"safety envelope: refused to disable the {name} while the "
                f"{' and '.join(still_on)} is on (disable source, load, supply)"
            )
        self.on.discard(name)


def _interlocked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: _Guard, *args: Any, **kwargs: Any) -> Any:
        if self.interlock is not None:
            self.interlock()
        return method(self, *args, **kwargs)

    return guarded


_I = TypeVar("_I")


class _Guard:
    """Every public method of a guard first calls ``interlock`` (when set): the run's abort
    check, so an abort asked for from another thread stops the run at the next command."""

    interlock: Callable[[], None] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and callable(member):
                setattr(cls, name, _interlocked(member))

    def __init__(self, driver: Any, envelope: SafetyEnvelope, order: OutputOrder) -> None:
        self._driver = driver
        self.envelope = envelope
        self.order = order

    @property
    def label(self) -> str:
        return self._driver.label

    @property
    def identity(self) -> Any:
        return self._driver.identity

    def check_errors(self, context: str = "configuration") -> None:
        if self.interlock is not None:
            self.interlock()
        self._driver.check_errors(context)

    def has(self, capability: str) -> bool:
        """Whether the instrument implements ``capability``'s interface."""
        return isinstance(self._driver, CAPABILITY_INTERFACES[capability])

    def _capability(self, capability: str, interface: type[_I]) -> _I:
        if not isinstance(self._driver, interface):
            raise CapabilityMissing(
                f"{self._driver.label}: lacks {cap.CAPABILITIES[capability]} "
                "(the plan check should have refused this run)"
            )
        return self._driver


class GuardedSource(_Guard):
    _driver: CurrentSource

    def configure(
        self,
        *,
        voltage_limit_v: float,
        nplc: float = 1.0,
        four_wire: bool = True,
        source_delay_s: float | None = None,
    ) -> None:
        self.envelope.check_source_voltage_limit(voltage_limit_v)
        self._driver.configure(
            voltage_limit_v=voltage_limit_v,
            nplc=nplc,
            four_wire=four_wire,
            source_delay_s=source_delay_s,
        )

    def set_current(self, level_a: float, range_a: float | None = None) -> None:
        self.envelope.check_source_current(level_a)
        if range_a is None:
            self._driver.set_current(level_a)
        else:
            self._driver.set_current(level_a, range_a=range_a)  # type: ignore[call-arg]

    # TriggerOut
    def step_with_trigger(self, level_a: float) -> None:
        self.envelope.check_source_current(level_a)
        self._capability(cap.TRIGGER_OUT, TriggerOut).step_with_trigger(level_a)

    def configure_trigger_output(self, line: int = 1) -> None:
        self._capability(cap.TRIGGER_OUT, TriggerOut).configure_trigger_output(line)

    # DigitalOut
    def set_digital_output(self, line: int, state: bool) -> None:
        """Fixture relays (e.g. the module bypass); not an output that drives the module."""
        self._capability(cap.DIGITAL_OUT, DigitalOut).set_digital_output(line, state)

    def set_source_delay(self, seconds: float) -> None:
        self._driver.set_source_delay(seconds)

    def enable_output(self) -> None:
        self.order.enable("source")
        self._driver.enable_output()

    def disable_output(self) -> None:
        self._driver.disable_output()
        self.order.disable("source")

    def measure(self):
        return self._driver.measure()

    def in_compliance(self) -> bool:
        return self._driver.in_compliance()


class GuardedSupply(_Guard):
    _driver: Supply

    def configure(self, *, voltage_v: float) -> None:
        """Program OVP and current limit from the envelope, then the level (output off)."""
        self.envelope.check_supply_voltage(voltage_v)
        self._driver.configure(
            voltage_v=voltage_v,
            current_limit_a=self.envelope.supply_current_limit_a,
            ovp_v=self.envelope.supply_ovp_v,
        )

    def set_voltage(self, voltage_v: float) -> None:
        self.envelope.check_supply_voltage(voltage_v)
        self._driver.set_voltage(voltage_v)

    def enable_output(self) -> None:
        self.order.enable("supply")
        self._driver.enable_output()

    def disable_output(self) -> None:
        self.order.disable("supply")
        self._driver.disable_output()

    def measure_voltage(self) -> float:
        return self._driver.measure_voltage()

    def measure_current(self) -> float:
        return self._driver.measure_current()

    def current_accuracy(self, value_a: float):
        return self._driver.current_accuracy(value_a)

    def protection_tripped(self) -> str | None:
        return self._driver.protection_tripped()


class GuardedLoad(_Guard):
    _driver: Load

    @property
    def min_resistance_ohm(self) -> float:
        return self._driver.min_resistance_ohm

    def configure_resistance(self, resistance_ohm: float) -> None:
        self.envelope.check_load(resistance_ohm)
        self._driver.configure_resistance(resistance_ohm)

    def set_resistance(self, resistance_ohm: float) -> None:
        self.envelope.check_load(resistance_ohm)
        self._driver.set_resistance(resistance_ohm)

    def enable_input(self) -> None:
        self.order.enable("load")
        self._driver.enable_input()

    def disable_input(self) -> None:
        self.order.disable("load")
        self._driver.disable_input()

    def measure_voltage(self) -> float:
        return self._driver.measure_voltage()

    def measure_current(self) -> float:
        return self._driver.measure_current()


class GuardedDmm(_Guard):
    """A DMM drives nothing: its methods pass through, each listed (role and capabilities)."""

    _driver: Dmm

    @property
    def current_ranges_a(self) -> tuple[float, ...]:
        return self._driver.current_ranges_a

    @property
    def voltage_ranges_v(self) -> tuple[float, ...]:
        return self._driver.voltage_ranges_v

    # Dmm
    def configure_dc_current(self, *, range_a: float, nplc: float, autozero: bool = True) -> None:
        self._driver.configure_dc_current(range_a=range_a, nplc=nplc, autozero=autozero)

    def configure_dc_voltage(self, *, range_v: float, nplc: float, autozero: bool = True) -> None:
        self._driver.configure_dc_voltage(range_v=range_v, nplc=nplc, autozero=autozero)

    def set_trigger_delay(self, seconds: float) -> None:
        self._driver.set_trigger_delay(seconds)

    def read(self) -> float:
        return self._driver.read()

    def read_many(self, count: int) -> np.ndarray:
        return self._driver.read_many(count)

    def accuracy(self, value: float) -> Accuracy:
        return self._driver.accuracy(value)

    def reading_time_s(self) -> float:
        return self._driver.reading_time_s()

    def autozero_once(self) -> None:
        self._driver.autozero_once()

    def autozero_off_error(self) -> float:
        return self._driver.autozero_off_error()

    def autozero_hold_s(self) -> float:
        return self._driver.autozero_hold_s()

    def start_readings(self, count: int) -> None:
        self._driver.start_readings(count)

    def fetch_readings(self) -> np.ndarray:
        return self._driver.fetch_readings()

    # Scanner
    def configure_channels(
        self, channels: list[int], range_v: float, nplc: float, autozero: bool = True
    ) -> None:
        self._capability(cap.SCANNER, Scanner).configure_channels(
            channels, range_v=range_v, nplc=nplc, autozero=autozero
        )

    def select_channel(self, channel: int) -> None:
        self._capability(cap.SCANNER, Scanner).select_channel(channel)

    def open_channels(self) -> None:
        self._capability(cap.SCANNER, Scanner).open_channels()

    # Digitiser
    def configure_capture(
        self,
        *,
        samples: int,
        interval_s: float,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
        range_v: float | None = None,
    ) -> None:
        self._capability(cap.DIGITISER, Digitiser).configure_capture(
            samples=samples,
            interval_s=interval_s,
            trigger=trigger,
            delay_s=delay_s,
            range_v=range_v,
        )

    def arm(self) -> None:
        self._acquirer().arm()

    def fetch(self) -> np.ndarray:
        return self._acquirer().fetch()

    def capture_times_s(self) -> np.ndarray:
        return self._capability(cap.DIGITISER, Digitiser).capture_times_s()

    def _acquirer(self) -> Digitiser | TriggeredReading:
        """``arm``/``fetch`` belong to both acquisition interfaces (a capture, a reading)."""
        if isinstance(self._driver, TriggeredReading):
            return self._driver
        return self._capability(cap.DIGITISER, Digitiser)

    # TriggeredReading (equivalent-time sampling, docs/equivalent-time.md)
    @property
    def fastest_nplc(self) -> float:
        return self._capability(cap.TRIGGERED_READING, TriggeredReading).fastest_nplc

    def configure_triggered_reading(
        self,
        *,
        trigger: Literal["external", "bus", "immediate"] = "external",
        delay_s: float = 0.0,
    ) -> None:
        self._capability(cap.TRIGGERED_READING, TriggeredReading).configure_triggered_reading(
            trigger=trigger, delay_s=delay_s
        )

    def triggered_time_s(self) -> float:
        return self._capability(cap.TRIGGERED_READING, TriggeredReading).triggered_time_s()

    def trigger_timing(self) -> TriggerTiming:
        return self._capability(cap.TRIGGERED_READING, TriggeredReading).trigger_timing()
