"""Healthy-lot population model: per-unit parameters drawn reproducibly from the serial number."""

from __future__ import annotations

import dataclasses
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from bench.sim.errors_model import seeded_rng
from bench.sim.unit import SimulatedUnit
from procedures.model import ModuleParameters

_PARAM_FIELDS = {f.name for f in dataclasses.fields(ModuleParameters)}


@cache
def distributions() -> dict[str, dict[str, Any]]:
    text = resources.files("bench.sim").joinpath("population.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def draw(serial: str) -> dict[str, float]:
    """Draw every distributed quantity for one unit (same serial, same unit, every time)."""
    rng = seeded_rng("population", serial)
    values: dict[str, float] = {}
    for name, spec in distributions().items():
        if spec["dist"] == "normal":
            value = rng.normal(spec["mean"], spec["sigma"])
        elif spec["dist"] == "uniform":
            value = rng.uniform(spec["low"], spec["high"])
        else:  # pragma: no cover - guarded by tests of the data file
            raise ValueError(f"population.toml: {name}: unknown dist {spec['dist']!r}")
        if "clip" in spec:
            low, high = spec["clip"]
            value = min(max(value, low), high)
        values[name] = float(value)
    return values


def make_unit(
    serial: str, overrides: dict[str, float] | None = None, healthy_spread: bool = True
) -> SimulatedUnit:
    """A simulated unit: the nominal model, plus the drawn deviations, plus explicit overrides.

    ``healthy_spread=False`` gives the exact nominal module (useful to test the bench itself).
    """
    values = draw(serial) if healthy_spread else {}
    values.update(overrides or {})
    params = {k: v for k, v in values.items() if k in _PARAM_FIELDS}
    extras = {k: v for k, v in values.items() if k not in _PARAM_FIELDS}
    unknown = set(extras) - {"noise_rms_a", "start_delay_s"}
    if unknown:
        raise ValueError(f"unknown unit parameter(s): {', '.join(sorted(unknown))}")
    unit = SimulatedUnit(params=ModuleParameters(**params), serial=serial)
    if "noise_rms_a" in extras:
        unit.noise_rms_a = extras["noise_rms_a"]
    if "start_delay_s" in extras:
        unit.start_delay_s = extras["start_delay_s"]
    return unit
