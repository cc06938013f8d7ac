"""The model registry: every instrument model the bench knows, as data.

One :class:`Model` entry per model: its registry name (what a station file's ``model`` says),
the roles it can fill, its capabilities (``drivers/capabilities.py``), its driver class, its
simulated instrument and its manual. Station validation (``bench/station.py``), the plan check
(``bench/plan_check.py``), ``isobench check``, the simulator (``bench/sim/bench.py``) and the
docs' model table all read it; nothing else lists models.

The driver is imported here (real code); the simulated instrument is a dotted name resolved only
by the simulator, so real code never imports ``bench/sim``. The ``*IDN?`` pattern is the
driver's ``IDN_PATTERN`` (next to its SCPI), exposed as :attr:`Model.identity`.

Adding a model: a driver file, a simulator file, one entry in :data:`MODELS`, their tests
(see docs/simulator.md, "Adding a model").
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers import capabilities as cap
from drivers.capabilities import Need
from drivers.roles import CurrentSource, Dmm, Load, Role, Supply
from drivers.transport import Transport, VisaTransport

#: the bench's roles, in the order they are opened and listed
ROLES = ("source", "dmm", "supply", "load")
#: the role interface each role's driver implements
ROLE_INTERFACES: dict[str, type[Role]] = {
    "source": CurrentSource,
    "dmm": Dmm,
    "supply": Supply,
    "load": Load,
}
#: measurement topologies (procedures/measurement.py)
TOPOLOGIES = ("shunt-scan", "direct")
#: what each topology's measurer needs of the station, besides its steps' own needs:
#: shunt-scan reads four shunts/terminals through a scanner (bench.station.Wiring channels);
#: direct reads the output current on the DMM's own input and the supply current and loop
#: voltage from the supply's and the load's read-backs
TOPOLOGY_NEEDS: dict[str, tuple[Need, ...]] = {
    "shunt-scan": (Need("dmm", cap.SCANNER, 4),),
    "direct": (
        Need("dmm", cap.DC_CURRENT, 0.1),
        Need("supply", cap.SUPPLY_READBACK),
        Need("load", cap.LOAD_READBACK),
    ),
}


@dataclass(frozen=True)
class Model:
    """One instrument model."""

    name: str  #: registry name, as in station files (lower case, e.g. ``keithley2400``)
    roles: tuple[str, ...]
    driver: type[Role] | str  #: driver class, or ``"package.module:Class"``
    #: simulated instrument as ``"bench.sim.instruments.<file>:<Class>"`` (None: not simulated)
    simulator: str | None
    capabilities: Mapping[str, float] = field(default_factory=dict)
    manual: str = ""  #: the manual the driver and simulator follow

    def __post_init__(self) -> None:
        for role in self.roles:
            if role not in ROLE_INTERFACES:
                raise ValueError(f"model {self.name}: unknown role {role!r}; roles are {ROLES}")
        for name in self.capabilities:
            if name not in cap.CAPABILITIES:
                raise ValueError(f"model {self.name}: unknown capability {name!r}")

    @property
    def driver_class(self) -> type[Role]:
        return resolve(self.driver) if isinstance(self.driver, str) else self.driver

    def simulator_class(self) -> type[Any]:
        """The simulated instrument (imports ``bench.sim``: for the simulator only)."""
        if self.simulator is None:
            raise LookupError(f"model {self.name} has no simulated instrument")
        return resolve(self.simulator)

    @property
    def identity(self) -> str:
        """Regular expression the ``*IDN?`` reply must match (the driver's ``IDN_PATTERN``)."""
        return self.driver_class.IDN_PATTERN.pattern  # type: ignore[attr-defined]

    @property
    def title(self) -> str:
        """Human-readable model name, e.g. ``Keithley 2450``."""
        return str(getattr(self.driver_class, "MODEL", self.name))

    def has(self, capability: str, amount: float = 1.0) -> bool:
        return self.capabilities.get(capability, 0.0) >= amount


def resolve(dotted: str) -> Any:
    """``"package.module:Name"`` -> the object (imported on first use)."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


_REGISTRY: dict[str, Model] = {}


def register(model: Model) -> Model:
    """Add ``model`` (its name must be new)."""
    if model.name in _REGISTRY:
        raise ValueError(f"model {model.name} is registered already")
    _REGISTRY[model.name] = model
    return model


def unregister(name: str) -> None:
    """Remove a model (tests that register a variant)."""
    _REGISTRY.pop(name, None)


# ------------------------------------------------------------------------------ the models
register(
    Model(
        "keithley2450",
        roles=("source",),
        driver="drivers.keithley2450:Keithley2450",
        simulator="bench.sim.instruments.keithley2450:Keithley2450",
        capabilities={cap.TRIGGER_OUT: 1, cap.DIGITAL_OUT: 6, cap.SOURCE_READBACK: 1},
        manual="Keithley 2450 Reference Manual 2450-901-01",
    )
)
register(
    Model(
        "keithley2400",
        roles=("source",),
        driver="drivers.keithley2400:Keithley2400",
        simulator="bench.sim.instruments.keithley2400:Keithley2400",
        # Trigger Link output (4 lines); digital output port OUT1-4 with :SOUR2:BSIZ 4
        capabilities={cap.TRIGGER_OUT: 1, cap.DIGITAL_OUT: 4, cap.SOURCE_READBACK: 1},
        manual="Keithley 2400 Series SourceMeter User's Manual 2400S-900-01 Rev. K",
    )
)
register(
    Model(
        "keithley-dmm6500",
        roles=("dmm",),
        driver="drivers.keithley_dmm6500:KeithleyDMM6500",
        simulator="bench.sim.instruments.keithley_dmm6500:KeithleyDMM6500",
        # 2000-SCAN card in the rear slot: 10 voltage channels, no current (the driver refuses
        # DC current); digitize up to 1 MS/s
        capabilities={cap.SCANNER: 10, cap.DIGITISER: 1e6, cap.TRIGGER_IN: 1},
        manual="Keithley DMM6500 Reference Manual DMM6500-901-01",
    )
)
register(
    Model(
        "keysight34465a",
        roles=("dmm",),
        driver="drivers.keysight34465a:Keysight34465A",
        simulator="bench.sim.instruments.keysight34465a:Keysight34465A",
        # DIG option (standard from firmware A.03): 50 kS/s timed sampling; 3 A current input
        capabilities={cap.DC_CURRENT: 3.0, cap.DIGITISER: 50e3, cap.TRIGGER_IN: 1},
        manual="Keysight Truevolt Series Operating and Service Guide 34460-90901",
    )
)
register(
    Model(
        "keithley2000",
        roles=("dmm",),
        driver="drivers.keithley2000:Keithley2000",
        simulator="bench.sim.instruments.keithley2000:Keithley2000",
        # 2000-SCAN card: 10 voltage channels; no digitiser (2000 readings/s at most): the step
        # response by equivalent-time sampling on EXT TRIG. Its AMPS input (100 mA range
        # +-90 uA at 20 mA) is not declared: it cannot judge a +-20 uA tolerance (direct)
        capabilities={cap.SCANNER: 10, cap.TRIGGER_IN: 1, cap.TRIGGERED_READING: 1},
        manual="Keithley Model 2000 Multimeter User's Manual 2000-900-01",
    )
)
register(
    Model(
        "keysight34461a",
        roles=("dmm",),
        driver="drivers.keysight34461a:Keysight34461A",
        simulator="bench.sim.instruments.keysight34461a:Keysight34461A",
        # Truevolt without the DIG option: no sample timer; one reading per Ext Trig at a
        # delay (equivalent-time sampling); 3 A current input
        capabilities={cap.DC_CURRENT: 3.0, cap.TRIGGER_IN: 1, cap.TRIGGERED_READING: 1},
        manual="Keysight Truevolt Series Operating and Service Guide 34460-90901",
    )
)
register(
    Model(
        "keysight-e36104b",
        roles=("supply",),
        driver="drivers.keysight_e36104b:KeysightE36104B",
        simulator="bench.sim.instruments.keysight_e36104b:KeysightE36104B",
        capabilities={cap.SUPPLY_READBACK: 1},
        manual="Keysight E36100B Series Programming Guide",
    )
)
register(
    Model(
        "keysight-el34143a",
        roles=("load",),
        driver="drivers.keysight_el34143a:KeysightEL34143A",
        simulator="bench.sim.instruments.keysight_el34143a:KeysightEL34143A",
        capabilities={cap.LOAD_CR: 15000.0, cap.LOAD_READBACK: 1},
        manual="Keysight EL30000 Series Programming Guide",
    )
)

register(
    Model(
        "rigol-dp821",
        roles=("supply",),
        driver="drivers.rigol_dp821:RigolDP821",
        simulator="bench.sim.instruments.rigol_dp821:RigolDP821",
        # channel 1 (60 V / 1 A) feeds the module; current read-back +-(0.15 % + 10 mA)
        capabilities={cap.SUPPLY_READBACK: 1},
        manual="Rigol DP800 Series Programming Guide; DP800 Performance Verification Manual",
    )
)
register(
    Model(
        "rigol-dl3021",
        roles=("load",),
        driver="drivers.rigol_dl3021:RigolDL3021",
        simulator="bench.sim.instruments.rigol_dl3021:RigolDL3021",
        # CR high range up to 15 kohm [to confirm on hardware]
        capabilities={cap.LOAD_CR: 15000.0, cap.LOAD_READBACK: 1},
        manual="Rigol DL3000 Series Programming Guide",
    )
)

#: the reference bench of each topology (the simulator's default models)
DEFAULT_MODELS: dict[str, dict[str, str]] = {
    "shunt-scan": {
        "source": "keithley2450",
        "dmm": "keithley-dmm6500",
        "supply": "keysight-e36104b",
        "load": "keysight-el34143a",
    },
    "direct": {
        "source": "keithley2450",
        "dmm": "keysight34465a",
        "supply": "keysight-e36104b",
        "load": "keysight-el34143a",
    },
}


# ------------------------------------------------------------------------------ queries
def models() -> dict[str, Model]:
    """Every registered model by name."""
    return dict(_REGISTRY)


def get(name: str) -> Model:
    """The model called ``name``; a ``KeyError`` whose text lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown model {name!r}; known models: {', '.join(sorted(_REGISTRY))}"
        ) from None


def topology_problem(topology: str, role: str, name: str) -> str:
    """Why model ``name`` cannot be the ``role`` in ``topology`` ("" when it can)."""
    model = _REGISTRY[name]
    missing = [
        n for n in TOPOLOGY_NEEDS[topology] if n.role == role and not n.met_by(model.capabilities)
    ]
    return "; ".join(
        f"the {topology} topology needs {n.describe()} ({n.shortfall(name, model.capabilities)})"
        for n in missing
    )


def models_for(role: str, topology: str | None = None, *, simulated: bool = False) -> list[str]:
    """Names of the models that can be the ``role`` (in ``topology``; with a simulator)."""
    return sorted(
        name
        for name, model in _REGISTRY.items()
        if role in model.roles
        and (topology is None or not topology_problem(topology, role, name))
        and (not simulated or model.simulator is not None)
    )


def combinations(topology: str, *, simulated: bool = True) -> Iterator[dict[str, str]]:
    """Every assignment of models to roles valid for ``topology`` (role -> name)."""
    choices = [models_for(role, topology, simulated=simulated) for role in ROLES]
    for chosen in itertools.product(*choices):
        yield dict(zip(ROLES, chosen, strict=True))


def identify(idn_reply: str) -> list[str]:
    """Names of the models whose identity pattern matches an ``*IDN?`` reply."""
    import re

    return sorted(n for n, m in _REGISTRY.items() if re.match(m.identity, idn_reply))


def open_driver(
    role: str,
    model: str,
    resource: str,
    *,
    timeout_s: float = 5.0,
    transport: Transport | None = None,
) -> Role:
    """Open the transport and build the driver (no instrument I/O until ``initialize``)."""
    cls = get(model).driver_class
    name = f"{role} ({cls.MODEL}) at {resource}"  # type: ignore[attr-defined]
    transport = transport or VisaTransport(resource, name=name, timeout_s=timeout_s)
    return cls(transport, role=role)  # type: ignore[call-arg]


def choice_problem(
    role: str, name: str, topology: str | None = None, *, simulated: bool = False
) -> str:
    """Why ``name`` cannot be the ``role`` (in ``topology``; simulated), in one line naming the
    models that can ("" when it can)."""
    if role not in ROLES:
        return f"unknown role {role!r}; roles are {', '.join(ROLES)}"
    valid = models_for(role, topology, simulated=simulated)
    where = f" in the {topology} topology" if topology else ""
    valid_text = f"{role} models{where}: {', '.join(valid) or 'none'}"
    if name not in _REGISTRY:
        return f"unknown {role} model {name!r}; {valid_text}"
    model = _REGISTRY[name]
    if role not in model.roles:
        return f"{name} cannot be the {role} (it is a {'/'.join(model.roles)}); {valid_text}"
    if simulated and model.simulator is None:
        return f"{name} has no simulated instrument; {valid_text}"
    if topology and (problem := topology_problem(topology, role, name)):
        return f"{problem}; {valid_text}"
    return ""
