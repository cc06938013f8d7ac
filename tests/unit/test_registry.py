"""The model registry: every entry is consistent with its driver and its simulated instrument,
real code never imports the simulator, and a bad model choice is one line naming the valid ones.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from drivers import capabilities as cap
from drivers import registry
from drivers.registry import ROLE_INTERFACES, ROLES
from drivers.roles import CAPABILITY_INTERFACES
from tests.helpers import ROOT

MODELS = sorted(registry.models())


@pytest.mark.parametrize("name", MODELS)
def test_driver_implements_its_roles_and_declared_capabilities(name: str) -> None:
    """A declared capability with an interface is implemented by the driver, and an
    implemented capability interface is declared (the plan check trusts the entry)."""
    model = registry.get(name)
    driver = model.driver_class
    for role in model.roles:
        assert issubclass(driver, ROLE_INTERFACES[role]), (name, role)
    for capability, interface in CAPABILITY_INTERFACES.items():
        declared = model.capabilities.get(capability, 0) > 0
        assert declared == issubclass(driver, interface), (name, capability)
    assert model.manual
    assert re.compile(model.identity)


@pytest.mark.parametrize("name", [n for n in MODELS if registry.get(n).simulator])
def test_simulated_instrument_answers_to_the_identity_pattern(name: str) -> None:
    """The simulator's ``*IDN?`` is what the driver accepts, and ``identify`` names the model."""
    from bench.sim.instrument import SimInstrument
    from bench.sim.unit import SimulatedUnit
    from bench.sim.world import World
    from procedures.model import ModuleParameters

    model = registry.get(name)
    cls = model.simulator_class()
    assert issubclass(cls, SimInstrument)
    instrument = cls(World(SimulatedUnit(ModuleParameters(), serial="REG-1")))
    reply = instrument.process("*IDN?")
    assert reply is not None and re.match(model.identity, reply), reply
    assert registry.identify(reply) == [name]


def test_each_topology_has_its_reference_models_and_valid_combinations() -> None:
    for topology in registry.TOPOLOGIES:
        defaults = registry.DEFAULT_MODELS[topology]
        assert set(defaults) == set(ROLES)
        combos = list(registry.combinations(topology))
        assert defaults in combos
        for combo in combos:
            for role, name in combo.items():
                assert not registry.choice_problem(role, name, topology, simulated=True)


def test_topology_needs_follow_capabilities() -> None:
    """The shunt-scan topology needs a scanner, direct a DC current input: not model names."""
    assert registry.models_for("dmm", "shunt-scan") == sorted(
        n for n, m in registry.models().items() if "dmm" in m.roles and m.has(cap.SCANNER, 4)
    )
    assert registry.models_for("dmm", "direct") == sorted(
        n for n, m in registry.models().items() if "dmm" in m.roles and m.has(cap.DC_CURRENT, 0.1)
    )


@pytest.mark.parametrize(
    ("role", "name", "topology", "expected"),
    [
        ("dmm", "nosuch", None, "unknown dmm model 'nosuch'; dmm models: "),
        ("source", "keysight34465a", None, "keysight34465a cannot be the source (it is a dmm)"),
        ("dmm", "keithley-dmm6500", "direct", "the direct topology needs a DC current input"),
        ("dmm", "keysight34465a", "shunt-scan", "needs a scanner with >= 4 channels on the dmm"),
        ("rack", "x", None, "unknown role 'rack'"),
    ],
)
def test_a_bad_choice_is_one_line_listing_the_valid_models(
    role: str, name: str, topology: str | None, expected: str
) -> None:
    problem = registry.choice_problem(role, name, topology, simulated=True)
    assert expected in problem and "\n" not in problem
    if role in ROLES:
        assert ", ".join(registry.models_for(role, topology, simulated=True)) in problem


def test_real_code_never_imports_the_simulator() -> None:
    """Import every module of the real code (drivers, procedures, reports, bench outside
    bench/sim) in a fresh interpreter: no ``bench.sim`` module is loaded."""
    code = """
import importlib, pathlib, sys
names = []
for package in ("drivers", "procedures", "reports", "bench"):
    for path in sorted(pathlib.Path(package).rglob("*.py")):
        parts = path.with_suffix("").parts
        if parts[:2] == ("bench", "sim") or "migrations" in parts or parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        importlib.import_module(name)
        names.append(name)
loaded = sorted(m for m in sys.modules if m.startswith("bench.sim"))
print(len(names), loaded)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    count, loaded = out.stdout.strip().split(" ", 1)
    assert int(count) > 40
    assert loaded == "[]"


def test_registering_a_variant_is_one_entry() -> None:
    """What the combination and refusal tests rely on: a new entry is a new station model."""
    base = registry.get("keithley2450")
    variant = registry.Model(
        "test-variant-2450",
        roles=("source",),
        driver=base.driver,
        simulator=base.simulator,
        capabilities={cap.SOURCE_READBACK: 1},
        manual=base.manual,
    )
    registry.register(variant)
    try:
        assert "test-variant-2450" in registry.models_for("source", simulated=True)
        with pytest.raises(ValueError, match="registered already"):
            registry.register(variant)
    finally:
        registry.unregister("test-variant-2450")
    assert "test-variant-2450" not in registry.models()
