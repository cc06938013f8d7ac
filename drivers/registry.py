"""Driver model names (as written in station files) and how to open one."""

from __future__ import annotations

from drivers.keithley2450 import Keithley2450
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.keysight34465a import Keysight34465A
from drivers.keysight_e36104b import KeysightE36104B
from drivers.keysight_el34143a import KeysightEL34143A
from drivers.roles import CurrentSource, Dmm, Load, Role, Supply
from drivers.transport import Transport, VisaTransport

DRIVERS: dict[str, type[Role]] = {
    "keithley2450": Keithley2450,
    "keithley-dmm6500": KeithleyDMM6500,
    "keysight34465a": Keysight34465A,
    "keysight-e36104b": KeysightE36104B,
    "keysight-el34143a": KeysightEL34143A,
}

ROLE_INTERFACES: dict[str, type[Role]] = {
    "source": CurrentSource,
    "dmm": Dmm,
    "supply": Supply,
    "load": Load,
}


def models_for(role: str) -> list[str]:
    return sorted(name for name, cls in DRIVERS.items() if issubclass(cls, ROLE_INTERFACES[role]))


def open_driver(
    role: str,
    model: str,
    resource: str,
    *,
    timeout_s: float = 5.0,
    transport: Transport | None = None,
) -> Role:
    """Open the transport and build the driver (no instrument I/O until ``initialize``)."""
    cls = DRIVERS[model]
    name = f"{role} ({cls.MODEL}) at {resource}"  # type: ignore[attr-defined]
    transport = transport or VisaTransport(resource, name=name, timeout_s=timeout_s)
    return cls(transport, role=role)  # type: ignore[call-arg]
