"""The simulated bench: one world, the four instruments wired to it, served on TCP sockets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench.sim.defects import DefectSpec, resolve
from bench.sim.errors_model import seeded_rng
from bench.sim.instrument import SimInstrument
from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keithley_dmm6500 import KeithleyDMM6500
from bench.sim.instruments.keysight34465a import Keysight34465A
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.population import make_unit
from bench.sim.server import ScpiSocketServer
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Topology, Wiring, World

if TYPE_CHECKING:
    from bench.sim.faults import Fault, FaultInjector, InjectedFault

if TYPE_CHECKING:
    from bench.station import SimModule

ROLES = ("source", "dmm", "supply", "load")

#: simulated instrument class per driver model name (the station file's ``model``)
MODELS: dict[str, type[SimInstrument]] = {
    "keithley2450": Keithley2450,
    "keithley-dmm6500": KeithleyDMM6500,
    "keysight34465a": Keysight34465A,
    "keysight-e36104b": KeysightE36104B,
    "keysight-el34143a": KeysightEL34143A,
}

DEFAULT_MODELS = {
    "direct": {
        "source": "keithley2450",
        "dmm": "keysight34465a",
        "supply": "keysight-e36104b",
        "load": "keysight-el34143a",
    },
    "shunt-scan": {
        "source": "keithley2450",
        "dmm": "keithley-dmm6500",
        "supply": "keysight-e36104b",
        "load": "keysight-el34143a",
    },
}


@dataclass
class SimBenchConfig:
    serial: str = "SIM-0001"
    overrides: dict[str, float | str] = field(default_factory=dict)
    #: catalogue defects of the unit (bench/sim/defects.toml): ("gain", 0.003), ("gain", None)
    #: for the default severity, or "gain=0.003"
    defects: list[DefectSpec | str] = field(default_factory=list)
    healthy_spread: bool = True
    topology: Topology = "shunt-scan"
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
        models = DEFAULT_MODELS[cfg.topology]
        self.instruments: dict[str, SimInstrument] = {
            role: MODELS[models[role]](self.world) for role in ROLES
        }
        self.models = dict(models)
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
            src = self.instruments["source"].state  # type: ignore[attr-defined]
            sup = self.instruments["supply"].state  # type: ignore[attr-defined]
            return {
                "source_current_a": src.current_level_a,
                "source_voltage_v": src.voltage_level_v,
                "supply_voltage_v": sup.voltage_v,
            }

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
        and math.isclose(levels["source_current_a"], 0.0, abs_tol=1e-12)
        and math.isclose(levels["supply_voltage_v"], 0.0, abs_tol=1e-12)
    )


def served_by_station(path: str | Path) -> tuple[str, dict[str, int], Topology, SimModule]:
    """What ``isobench sim --station FILE`` serves: host, ports, topology and [sim] table.

    The file must describe a simulated bench (one host, raw sockets, the simulator's models
    for its topology), as ``isobench sim --write-station`` writes it.
    """
    from bench.station import SimModule, StationError, load_station

    station = load_station(path)
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
    if len(hosts) != 1 or models != DEFAULT_MODELS[topology]:
        raise StationError(
            f"station file {path}: not a simulated bench (one host and the {topology} "
            f"models {', '.join(DEFAULT_MODELS[topology].values())}); write one with "
            "'isobench sim --write-station'"
        )
    return hosts.pop(), ports, topology, station.sim or SimModule()
