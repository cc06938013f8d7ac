"""Healthy-lot population model: per-unit parameters drawn reproducibly from the serial number.

The distributions and their sources live in ``population.toml``. A draw that the maker's
outgoing test (the file's ``[screen]``) would reject is drawn again from the same seeded
generator, so a serial always gives the same unit and every healthy unit stays inside the
datasheet with margin. Defects (``bench.sim.defects``) are applied on top of a drawn unit.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from bench.sim.errors_model import seeded_rng
from bench.sim.unit import Ripple, SimulatedUnit, WarmUpDrift
from procedures.model import ModuleModel, ModuleParameters

Value = float | str

_PARAM_FIELDS = {f.name for f in dataclasses.fields(ModuleParameters)}
#: drawn or overridable quantities that are unit behaviour rather than ModuleParameters fields
UNIT_EXTRAS = {
    "noise_rms_a",
    "start_delay_s",
    "ripple_pp_a",
    "ripple_hz",
    "warmup_drift_a",
    "warmup_tau_s",
    "resonance_hz",
    "resonance_damping",
}
DEFAULT_WARMUP_TAU_S = 300.0
DEFAULT_RIPPLE_HZ = 200e3


@cache
def _data() -> dict[str, Any]:
    text = resources.files("bench.sim").joinpath("population.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def distributions() -> dict[str, dict[str, Any]]:
    """Every drawn quantity: name -> its table in ``population.toml``."""
    return _data()["parameters"]


def screen() -> dict[str, Any]:
    """The maker's outgoing test a healthy unit has passed (``[screen]`` of the data file)."""
    return _data()["screen"]


def _draw_one(name: str, spec: dict[str, Any], rng: np.random.Generator) -> Value:
    # every branch consumes the same draws whatever the outcome (stable sequences)
    present = rng.uniform() < spec.get("probability", 1.0)
    dist = spec["dist"]
    if dist == "normal":
        value: Value = float(rng.normal(spec["mean"], spec["sigma"]))
    elif dist == "uniform":
        value = float(rng.uniform(spec["low"], spec["high"]))
    elif dist == "choice":
        weights = np.asarray(spec["weights"], dtype=float)
        value = str(spec["values"][rng.choice(len(weights), p=weights / weights.sum())])
    else:  # pragma: no cover - guarded by tests of the data file
        raise ValueError(f"population.toml: {name}: unknown dist {dist!r}")
    if "clip" in spec and isinstance(value, float):
        low, high = spec["clip"]
        value = min(max(value, low), high)
    if not present:
        return spec.get("absent", 0.0)
    return value


def _draw_raw(rng: np.random.Generator) -> dict[str, Value]:
    return {name: _draw_one(name, spec, rng) for name, spec in distributions().items()}


def module_parameters(values: dict[str, Value]) -> ModuleParameters:
    """ModuleParameters from drawn/override values (unit extras are ignored)."""
    return ModuleParameters(**{k: v for k, v in values.items() if k in _PARAM_FIELDS})  # type: ignore[arg-type]


def screen_failures(values: dict[str, Value]) -> list[str]:
    """Why the maker's outgoing test would reject a unit with these values ([] = it passes)."""
    spec = screen()
    params = module_parameters(values)
    model = ModuleModel(params)
    problems = []
    grid = np.array(
        list(
            itertools.product(
                spec["inputs_a"],
                spec["supplies_v"],
                spec["loops_ohm"],
                spec["temperatures_c"],
                (-1.0, 1.0),
            )
        )
    )
    inputs, supplies, loops, temperatures, directions = grid.T
    out = model.transfer_a(inputs, supplies, loops, directions, temperatures)
    out = np.clip(out, 0.0, model.output_limit_a(loops, supplies))
    worst = float(np.max(np.abs(out - inputs))) + abs(float(values.get("warmup_drift_a", 0.0)))
    if worst > spec["max_static_error_a"]:
        problems.append(f"static error {worst * 1e6:.1f} uA")
    f_c = model.limit_frequency_hz()
    if f_c < spec["min_limit_frequency_hz"]:
        problems.append(f"limit frequency {f_c:.1f} Hz")
    full = float(model.static_output_a(0.02, 24.0, 600.0))
    supply_a = float(model.supply_current_a(full, 24.0))
    if supply_a > spec["max_supply_current_a"]:
        problems.append(f"supply current {supply_a * 1e3:.2f} mA")
    return problems


def draw(serial: str) -> dict[str, Value]:
    """Draw every distributed quantity for one unit (same serial, same unit, every time)."""
    rng = seeded_rng("population", serial)
    for _ in range(int(screen()["max_draws"])):
        values = _draw_raw(rng)
        if not screen_failures(values):
            return values
    raise RuntimeError(  # pragma: no cover - the screen passes > 90 % of draws
        f"population.toml: no draw for {serial!r} passes the [screen] in "
        f"{screen()['max_draws']} tries; the distributions and the screen disagree"
    )


def make_unit(
    serial: str,
    overrides: dict[str, Value] | None = None,
    healthy_spread: bool = True,
    defects: Iterable[tuple[str, float | None]] | None = None,
) -> SimulatedUnit:
    """A simulated unit: the nominal model, plus the drawn deviations, plus explicit overrides,
    plus defects from the catalogue (``bench.sim.defects``: ``[(name, severity or None)]``).

    ``healthy_spread=False`` gives the exact nominal module (useful to test the bench itself).
    """
    values: dict[str, Value] = dict(draw(serial)) if healthy_spread else {}
    values.update(overrides or {})
    unknown = set(values) - _PARAM_FIELDS - UNIT_EXTRAS
    if unknown:
        known = ", ".join(sorted(_PARAM_FIELDS | UNIT_EXTRAS))
        raise ValueError(
            f"unknown unit parameter(s): {', '.join(sorted(unknown))} (known: {known})"
        )
    unit = SimulatedUnit(
        params=module_parameters(values),
        serial=serial,
        resonance_hz=float(values.get("resonance_hz", 0.0)),
        resonance_damping=float(values.get("resonance_damping", 0.5)),
    )
    if "noise_rms_a" in values:
        unit.noise_rms_a = float(values["noise_rms_a"])
    if "start_delay_s" in values:
        unit.start_delay_s = float(values["start_delay_s"])
    ripple_pp = float(values.get("ripple_pp_a", 0.0))
    if ripple_pp > 0.0:
        unit.ripple.append(Ripple(ripple_pp, float(values.get("ripple_hz", DEFAULT_RIPPLE_HZ))))
    drift = float(values.get("warmup_drift_a", 0.0))
    if drift != 0.0:
        tau = float(values.get("warmup_tau_s", DEFAULT_WARMUP_TAU_S))
        unit.additive.append(WarmUpDrift(unit, drift, tau))
    if defects:
        from bench.sim.defects import apply_defects

        apply_defects(unit, list(defects))
    return unit


def healthy_serials(count: int, prefix: str = "POP") -> Sequence[str]:
    """``count`` serials for population samples: ``POP-00001`` ..."""
    return [f"{prefix}-{i:05d}" for i in range(1, count + 1)]
