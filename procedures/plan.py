"""Inspection plans as steps (OpenHTF's phases): each step records named, judged measurements.

A step knows the module (through the profile and the reference model) and talks to the bench
only through the four role interfaces handed to it. ``run_plan`` keeps the record's step list
honest: every step is listed before the first runs, so an aborted run still shows which steps
did not run.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from drivers import capabilities as cap
from drivers.capabilities import Need, Requirement
from procedures.lower_bound import LowerBound
from procedures.model import ModuleModel, ModuleParameters
from procedures.profile import Profile
from procedures.record import Recorder, StepRecord, utc_now


class Instruments(Protocol):
    """What a step may use: the four roles (guarded by the safety envelope on a real run)."""

    source: Any
    dmm: Any
    supply: Any
    load: Any


class PlanStopped(Exception):
    """A gate step decided the rest of the plan must not run (e.g. a wiring fault)."""


class ModuleNotMeasured(PlanStopped):
    """A gate found that the module was never measured (no module, not seated, a fixture
    wiring fault): the run ends ABORTED, never as the unit's FAIL."""


@dataclass
class WiringSettings:
    """The fixture as the station file describes it (see bench/stations/example.toml)."""

    input_shunt_ohm: float = 100.0
    output_shunt_ohm: float = 100.0
    supply_shunt_ohm: float = 10.0
    shunt_tolerance: float = 1e-4
    input_shunt_channel: int = 1
    output_shunt_channel: int = 2
    supply_shunt_channel: int = 3
    load_channel: int = 4
    trigger_line: int = 1
    bypass_line: int = 2


@dataclass
class PlanSettings:
    #: integration of every static reading (power-line cycles); the readings per point follow
    #: the profile's uncertainty targets (docs/metrology.md section 8)
    nplc: float = 1.0
    settle_band_a: float = 0.5e-6  # residual settling error allowed before a reading
    source_voltage_limit_v: float = 5.0  # input burden at 50 mA is <= 2.5 V (50 ohm)
    nominal_load_ohm: float = 250.0
    line_frequency_hz: float = 50.0
    topology: str = "direct"
    wiring: WiringSettings = field(default_factory=WiringSettings)
    transfer_points_a: tuple[float, ...] = tuple(i * 2e-3 for i in range(11))


ProgressFn = Callable[[str, int, int, str], None]


@dataclass
class RunContext:
    bench: Instruments
    profile: Profile
    recorder: Recorder
    settings: PlanSettings = field(default_factory=PlanSettings)
    progress: ProgressFn = lambda step, done, total, text: None
    ambient_c: float | None = None
    #: the physical needs of what was measured so far (procedures.lower_bound)
    bound: LowerBound = field(default_factory=LowerBound)
    #: points whose U came out above their characteristic's target, by characteristic
    target_misses: dict[str, int] = field(default_factory=dict)
    #: the unit's own dynamics once the step response has measured them (settling waits)
    fitted_dynamics: ModuleModel | None = None
    _measurer: Any = None
    _ops: Any = None

    @property
    def lower_bound_s(self) -> float:
        """Physical minimum time of what was measured so far (docs/metrology.md 8)."""
        return self.bound.total_s

    @property
    def ops(self) -> Any:
        """The run's one ``BenchOps``: the module stays powered from step to step (one
        start-up per run), and the levels it remembers save redundant commands."""
        if self._ops is None:
            from procedures.operations import BenchOps

            self._ops = BenchOps(self)
        return self._ops

    @property
    def dynamics(self) -> ModuleModel:
        """Model for settling waits: the fitted unit if slower than nominal, else the nominal."""
        if self.fitted_dynamics is not None:
            fitted = self.fitted_dynamics.settling_time_s(1e-4)
            if fitted > self.reference.settling_time_s(1e-4):
                return self.fitted_dynamics
        return self.reference

    @property
    def measurer(self) -> Any:
        """The station's measurement topology (one per run: it keeps the shunt calibration)."""
        if self._measurer is None:
            from procedures.measurement import measurer_for

            self._measurer = measurer_for(self)
        return self._measurer

    @property
    def reference(self) -> ModuleModel:
        """The nominal module the profile describes (identity transfer, f_c from the profile)."""
        m = self.profile.module
        return ModuleModel(
            ModuleParameters(
                urv_a=m.upper_range_value_a,
                tau_s=1.0 / (2.0 * math.pi * m.limit_frequency_hz),
                nominal_supply_v=m.nominal_supply_v,
            )
        )

    @property
    def temperature_allowance_a(self) -> float:
        return self.profile.temperature_allowance_a(self.ambient_c)


#: what every step that powers the module and measures a point needs: the source's read-back
#: (input current and 4-wire voltage) and the load's constant-resistance mode
POWERED_POINT: tuple[Need, ...] = (
    Need("source", cap.SOURCE_READBACK),
    Need("load", cap.LOAD_CR),
)


class Step(ABC):
    name: str
    title: str
    #: a failing gate step stops the plan (PlanStopped); later steps are recorded as not run
    gate: bool = False
    #: capabilities the step needs of the station's instruments (drivers/capabilities.py);
    #: the plan check refuses a station that lacks one before anything is switched on
    requires: tuple[Requirement, ...] = ()

    def requirements(self, settings: PlanSettings) -> tuple[Requirement, ...]:
        """The step's needs with these settings (wiring, topology); default ``requires``."""
        return self.requires

    @abstractmethod
    def run(self, ctx: RunContext) -> None: ...


def run_plan(steps: list[Step], ctx: RunContext) -> None:
    """Run the steps in order; the record shows each step's status whatever happens.

    Steps of an earlier call stay listed (a front-end may run its own steps after the plan, or
    the plan a few steps at a time); a step already listed keeps its place, new ones are added.
    """
    record = ctx.recorder.record
    listed = {s.name: i for i, s in enumerate(record.steps)}
    for step in steps:
        fresh = StepRecord(step.name, step.title)
        if step.name in listed:
            record.steps[listed[step.name]] = fresh
        else:
            record.steps.append(fresh)
    ctx.recorder.save()
    try:
        for step in steps:
            status = record.step(step.name)
            status.status, status.started_at = "running", utc_now()
            ctx.bound.step = step.name
            ctx.recorder.save()
            try:
                step.run(ctx)
                status.status = "completed"
            except PlanStopped as exc:
                status.status, status.message = "failed", str(exc)
                raise
            except BaseException as exc:
                status.status = "aborted"
                status.message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise
            finally:
                status.ended_at = utc_now()
                ctx.recorder.save()
    except PlanStopped:
        if ctx._ops is not None:
            ctx._ops.power_down()  # a gate stopped the plan: switch off in the safe order
        raise
    if ctx._ops is not None:
        ctx._ops.power_down()  # the reverse order; the runner then verifies the safe state
