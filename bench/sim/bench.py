"""The simulated bench: one world, the four instruments wired to it, served on TCP sockets.

Any registry model with a simulated instrument can fill its role (``drivers/registry.py``);
``SimBenchConfig.models`` chooses them, the topology's reference bench is the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.sim.defects import DefectSpec, resolve
from bench.sim.errors_model import seeded_rng
from bench.sim.instrument import SimInstrument
from bench.sim.module import SimModule, sim_module
from bench.sim.population import make_unit
from bench.sim.server import ScpiSocketServer
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Topology, Wiring, World
from bench.station import Station, StationError, load_station
from drivers import registry
from drivers.registry import DEFAULT_MODELS, ROLES

if TYPE_CHECKING:
    from bench.sim.faults import Fault, FaultInjector, InjectedFault

__all__ = ["DEFAULT_MODELS", "ROLES", "SimBench", "SimBenchConfig", "is_safe", "sim_station"]


class SimModelError(ValueError):
    """A model the simulator cannot serve in a role; ``str()`` is one line listing valid ones."""


def choose_models(
    topology: str, chosen: dict[str, str] | None = None, *, flag: str = "--model"
) -> dict[str, str]:
    """The topology's reference models with ``chosen`` (role -> registry name) put in; a model
    that is unknown, not for that role, not simulated or not usable in the topology is refused
    with one line listing the valid models for the role."""
    models = dict(DEFAULT_MODELS[topology])
    for role, name in (chosen or {}).items():
        problem = registry.choice_problem(role, name, topology, simulated=True)
        if problem:
            raise SimModelError(f"{flag} {role}={name}: {problem}")
        models[role] = name
    return models


def topology_for(chosen: dict[str, str]) -> str:
    """The first topology (shunt-scan, then direct) in which every chosen model can serve."""
    for topology in registry.TOPOLOGIES:
        if not any(
            registry.choice_problem(role, name, topology, simulated=True)
            for role, name in chosen.items()
        ):
            return topology
    return registry.TOPOLOGIES[0]  # choose_models then names the model that does not fit


@dataclass
class SimBenchConfig:
    serial: str = "SIM-0001"
    overrides: dict[str, float | str] = field(default_factory=dict)
    #: catalogue defects of the unit (bench/sim/defects.toml): ("gain", 0.003), ("gain", None)
    #: for the default severity, or "gain=0.003"
    defects: list[DefectSpec | str] = field(default_factory=list)
    healthy_spread: bool = True
    topology: Topology = "shunt-scan"
    #: role -> registry model name; roles not given get the topology's reference model
    models: dict[str, str] | None = None
    seed: int | None = None
    ambient_c: float = 23.0
    line_frequency_hz: float = 50.0
    host: str = "127.0.0.1"
    ports: dict[str, int] | None = None
    #: the simulated clock never falls behind the wall clock (``isobench sim``); in-process
    #: use keeps the pure virtual clock so tests never sleep
    realtime: bool = False


class SimBench:
    """Start with ``SimBench(config).start()`` or as a context manager; ``stop()`` frees ports."""

    def __init__(self, config: SimBenchConfig | None = None) -> None:
        self.config = config or SimBenchConfig()
        cfg = self.config
        cfg.defects = list(resolve(cfg.defects))
        unit = make_unit(cfg.serial, cfg.overrides, cfg.healthy_spread, cfg.defects)
        wiring = Wiring.shunt_scan() if cfg.topology == "shunt-scan" else Wiring()
        # reproducible per serial (not hash(): that changes with every interpreter)
        seed = (
            cfg.seed
            if cfg.seed is not None
            else int(seeded_rng("bench", cfg.serial).integers(2**32))
        )
        self.world = World(
            unit,
            wiring,
            seed=seed,
            ambient_c=cfg.ambient_c,
            line_frequency_hz=cfg.line_frequency_hz,
            realtime=cfg.realtime,
        )
        models = choose_models(cfg.topology, cfg.models)
        self.instruments: dict[str, SimInstrument] = {
            role: registry.get(models[role]).simulator_class()(self.world) for role in ROLES
        }
        #: role -> registry model name of the instrument served
        self.models = models
        self.server = ScpiSocketServer(self.instruments, self.world.lock, cfg.host, cfg.ports)
        self._started = False
        self._faults: FaultInjector | None = None

    # ------------------------------------------------------------------ life cycle
    def start(self) -> SimBench:
        self.server.start()
        self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self.server.close()
            self._started = False

    def __enter__(self) -> SimBench:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ views
    @property
    def resources(self) -> dict[str, str]:
        return {role: self.server.resource(role) for role in ROLES}

    @property
    def unit(self) -> SimulatedUnit:
        return self.world.unit

    @property
    def bench_time_s(self) -> float:
        with self.world.lock:
            return self.world.clock.now

    def outputs_on(self) -> dict[str, bool]:
        """Which instruments drive the bench, read inside the simulator (not via the controller)."""
        with self.world.lock:
            return {role: inst.output_enabled() for role, inst in self.instruments.items()}

    def levels(self) -> dict[str, float]:
        """Programmed levels that matter for a safe state (source current, supply voltage)."""
        with self.world.lock:
            return {
                f"{role}_{name}": value
                for role, inst in self.instruments.items()
                for name, value in inst.safety_levels().items()
            }

    def station(self) -> Station:
        """The built-in ``sim`` station pointing at this bench."""
        return sim_station(
            self.resources,
            self.models,
            topology=self.config.topology,
            line_frequency_hz=int(self.config.line_frequency_hz),
        )

    def insert_unit(
        self,
        serial: str,
        overrides: dict[str, float | str] | None = None,
        defects: list[DefectSpec | str] | None = None,
    ) -> SimulatedUnit:
        """The operator swaps the module under test (the world keeps its clock and wiring).

        The new unit is drawn from the population model for ``serial``, with ``overrides``
        and catalogue ``defects`` applied; it starts cold and unpowered (if the supply is on,
        it powers up now).
        """
        unit = make_unit(serial, overrides, self.config.healthy_spread, resolve(defects or []))
        with self.world.lock:
            self.world.unit = unit
            self.world.refresh()
        return unit

    # ------------------------------------------------------------------ fault injection
    @property
    def faults(self) -> FaultInjector:
        if self._faults is None:
            from bench.sim.faults import FaultInjector

            self._faults = FaultInjector(self)
        return self._faults

    def inject(self, fault: Fault) -> InjectedFault:
        """Install a fault (see ``bench.sim.faults``); it triggers on a later message."""
        return self.faults.inject(fault)

    def clear_faults(self, role: str | None = None) -> None:
        """End every injected fault (of one instrument): a lost instrument comes back."""
        if self._faults is not None:
            self._faults.clear(role)

    def internal_errors(self) -> list[str]:
        return [e for inst in self.instruments.values() for e in inst.internal_errors]


def is_safe(bench: SimBench) -> bool:
    levels = bench.levels()
    return (
        not any(bench.outputs_on().values())
        and math.isclose(levels.get("source_current_a", 0.0), 0.0, abs_tol=1e-12)
        and math.isclose(levels.get("supply_voltage_v", 0.0), 0.0, abs_tol=1e-12)
    )


def sim_station(
    resources: dict[str, str],
    models: dict[str, str],
    topology: str | None = None,
    line_frequency_hz: int = 50,
) -> Station:
    """The built-in station for a simulated bench whose resources are known at run time.

    The topology is the first in which every model can serve, unless given.
    """
    return Station.model_validate(
        {
            "station": {
                "name": "sim",
                "topology": topology or topology_for(models),
                "line_frequency_hz": line_frequency_hz,
                "location": "simulated bench",
            },
            "instruments": {
                role: {"model": models[role], "resource": resources[role]} for role in ROLES
            },
        }
    )


def served_by_station(
    path: str | Path,
) -> tuple[str, dict[str, int], Topology, SimModule, dict[str, str]]:
    """What ``isobench sim --station FILE`` serves: host, ports, topology, [sim] table and
    models.

    The file must describe a simulated bench (one host, raw sockets, simulated models valid
    for its topology), as ``isobench sim --write-station`` writes it.
    """
    station = load_station(path)
    try:
        module = sim_module(station.sim, f"station file {path}")
    except ValueError as exc:
        raise StationError(str(exc)) from None
    hosts, ports = set(), {}
    for role, cfg in station.instruments.items():
        parts = cfg.resource.split("::")
        if not (parts[0].upper().startswith("TCPIP") and parts[-1].upper() == "SOCKET"):
            raise StationError(
                f"station file {path}: instruments.{role}.resource: the simulator serves raw "
                "sockets only (TCPIP0::host::port::SOCKET)"
            )
        hosts.add(parts[1])
        ports[role] = int(parts[2])
    topology = station.station.topology
    models = {role: cfg.model for role, cfg in station.instruments.items()}
    if len(hosts) != 1:
        raise StationError(
            f"station file {path}: not a simulated bench (its instruments are on "
            f"{len(hosts)} hosts); write one with 'isobench sim --write-station'"
        )
    for role, name in models.items():
        if registry.get(name).simulator is None:
            raise StationError(
                f"station file {path}: instruments.{role}.model: {name} has no simulated "
                f"instrument; simulated {role} models: "
                f"{', '.join(registry.models_for(role, topology, simulated=True))}"
            )
    return hosts.pop(), ports, topology, module, models
