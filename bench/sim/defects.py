"""Defect catalogue of the simulated 857-411 (docs/metrology.md 6.6, failure modes F1-F18).

The catalogue is data (``defects.toml``): per defect its description, the severity (default,
unit, accepted range, what it means) and the characteristics of the module profile it trips at
the default severity. This module holds what a severity does to a unit (one small function per
defect) and the helpers every entry point shares:

* ``parse_defect("gain=0.003")`` / ``parse_defect("gain")`` (default severity): the command line
  (``isobench sim --defect``, ``isobench inspect --station sim --defect``) and the station
  file's ``[sim] defects = [...]``;
* ``SimBenchConfig(defects=[("gain", 0.003)])`` and ``SimBench.insert_unit(serial, defects=...)``
  from Python and pytest;
* ``apply_defects(unit_or_overrides, [(name, severity)])``.

A defect is applied on top of the unit drawn from the population model, so the rest of the
unit keeps its healthy spread.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bench.sim.unit import Dropouts, SimulatedUnit, WarmUpDrift
from procedures.model import ModuleParameters

DefectSpec = tuple[str, float | None]


@dataclass(frozen=True)
class Defect:
    """One catalogue entry (see ``defects.toml`` for the meaning of each field)."""

    name: str
    title: str
    failure_mode: str
    description: str
    severity_default: float
    severity_unit: str
    severity_meaning: str
    severity_range: tuple[float, float]
    effect: str
    trips: tuple[str, ...]
    may_trip: tuple[str, ...]
    source: str
    fixed: dict[str, float]
    #: how the inspection is sure to react: "fail" (a failing characteristic, verdict FAIL or
    #: CONDITIONAL FAIL) or "conditional" (never a clean PASS: at least CONDITIONAL PASS)
    detected: str = "fail"

    def check(self, severity: float) -> float:
        low, high = self.severity_range
        if not math.isfinite(severity) or not low <= severity <= high:
            raise ValueError(
                f"defect {self.name}: severity {severity:g} is outside {low:g} ... {high:g} "
                f"{self.severity_unit} ({self.severity_meaning})"
            )
        return severity


@cache
def catalogue() -> dict[str, Defect]:
    """Every defect of ``defects.toml`` by name, in file order."""
    text = resources.files("bench.sim").joinpath("defects.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)["defects"]
    out = {}
    for name, entry in data.items():
        out[name] = Defect(
            name=name,
            title=entry["title"],
            failure_mode=entry["failure_mode"],
            description=entry["description"],
            severity_default=float(entry["severity_default"]),
            severity_unit=entry["severity_unit"],
            severity_meaning=entry["severity_meaning"],
            severity_range=(float(entry["severity_range"][0]), float(entry["severity_range"][1])),
            effect=entry["effect"],
            trips=tuple(entry["trips"]),
            may_trip=tuple(entry.get("may_trip", [])),
            source=entry["source"],
            fixed={k: float(v) for k, v in entry.get("fixed", {}).items()},
            detected=entry.get("detected", "fail"),
        )
    return out


def defect(name: str) -> Defect:
    """The catalogue entry ``name``; a ValueError naming the closest entry otherwise."""
    entries = catalogue()
    key = name.strip().lower().replace("-", "_")
    if key not in entries:
        close = difflib.get_close_matches(key, list(entries), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"unknown defect {name!r}; {hint}known: {', '.join(entries)}")
    return entries[key]


def parse_defect(text: str) -> tuple[str, float]:
    """``"NAME"`` (default severity) or ``"NAME=VALUE"`` -> (name, severity), validated."""
    name, sep, value = text.partition("=")
    entry = defect(name)
    if not sep:
        return entry.name, entry.severity_default
    try:
        severity = float(value)
    except ValueError:
        raise ValueError(
            f"defect {entry.name}: {value.strip()!r} is not a number "
            f"(severity in {entry.severity_unit}, e.g. {entry.name}={entry.severity_default:g})"
        ) from None
    return entry.name, entry.check(severity)


def resolve(defects: Iterable[DefectSpec | str]) -> list[tuple[str, float]]:
    """Normalise ``[("gain", 0.003), ("dead_output", None), "offset=5e-5"]``."""
    out = []
    for item in defects:
        if isinstance(item, str):
            out.append(parse_defect(item))
            continue
        name, severity = item
        entry = defect(name)
        value = entry.severity_default if severity is None else float(severity)
        out.append((entry.name, entry.check(value)))
    return out


def catalogue_text() -> str:
    """The catalogue for the command line (``isobench sim --list-defects``)."""
    lines = []
    for d in catalogue().values():
        trips = ", ".join(d.trips) or "depends on chance"
        extra = [c for c in d.may_trip if c not in d.trips]
        if extra:
            trips += f"; may also trip: {', '.join(extra)}"
        lines += [
            f"{d.name} ({d.failure_mode}): {d.title}",
            f"    severity: {d.severity_meaning}; default {d.severity_default:g} "
            f"{d.severity_unit}, accepted {d.severity_range[0]:g} ... {d.severity_range[1]:g}",
            f"    trips: {trips}",
        ]
    return "\n".join(lines)


def format_defects(defects: Iterable[tuple[str, float]]) -> str:
    """``gain=0.003, dead_output=0`` (for messages and station files)."""
    return ", ".join(f"{name}={severity:g}" for name, severity in defects)


# ---------------------------------------------------------------------- what a defect does
class _Target:
    """A unit, or a plain overrides dict (parameter defects only)."""

    def __init__(self, target: SimulatedUnit | dict[str, Any], name: str) -> None:
        self.target, self.name = target, name
        self.unit = target if isinstance(target, SimulatedUnit) else None
        self.changes: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        if key in self.changes:
            return self.changes[key]
        if self.unit is not None:
            if hasattr(self.unit.params, key):
                return getattr(self.unit.params, key)
            return getattr(self.unit, key)
        assert isinstance(self.target, dict)
        if key in self.target:
            return self.target[key]
        defaults = {f.name: f.default for f in dataclasses.fields(ModuleParameters)}
        return defaults.get(key, 0.0)

    def set(self, **values: Any) -> None:
        self.changes.update(values)

    def need_unit(self) -> SimulatedUnit:
        if self.unit is None:
            raise ValueError(
                f"defect {self.name} adds a behaviour over time: apply it to a SimulatedUnit "
                "(make_unit(..., defects=...)), not to an overrides dict"
            )
        return self.unit

    def commit(self) -> None:
        if self.unit is None:
            assert isinstance(self.target, dict)
            self.target.update(self.changes)
            return
        params = {k: v for k, v in self.changes.items() if hasattr(self.unit.params, k)}
        if params:
            self.unit.set_params(self.unit.params.with_(**params))
        for key, value in self.changes.items():
            if key not in params:
                setattr(self.unit, key, value)


def _dead_output(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    # the output ignores the input: only the residual (offset) is left
    t.set(gain_error=-1.0, gain_tc_per_k=0.0, offset_a=severity, bow_a=0.0, hysteresis_a=0.0)


def _set(parameter: str) -> Callable[[_Target, float, dict[str, float]], None]:
    def apply(t: _Target, severity: float, fixed: dict[str, float]) -> None:
        t.set(**{parameter: severity})

    return apply


def _slow_response(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    t.set(tau_s=t.get("tau_s") * severity)


def _ringing(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    # the output filter's second stage becomes resonant (replaces any second real pole)
    t.set(tau2_s=0.0, resonance_hz=severity, resonance_damping=fixed["damping"])


def _excess_supply_current(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    if t.get("supply_model") == "linear":
        t.set(quiescent_current_a=t.get("quiescent_current_a") + severity)
    else:  # constant power: the leak draws `severity` more at the nominal supply voltage
        extra_w = severity * t.get("nominal_supply_v")
        t.set(quiescent_power_w=t.get("quiescent_power_w") + extra_w)


def _intermittent(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    unit = t.need_unit()
    unit.gates.append(
        Dropouts(severity, fixed["min_duration_s"], fixed["max_duration_s"], seed=unit.serial)
    )


def _warm_up_drift(t: _Target, severity: float, fixed: dict[str, float]) -> None:
    unit = t.need_unit()
    # replaces the unit's healthy warm-up drift
    unit.additive[:] = [a for a in unit.additive if not isinstance(a, WarmUpDrift)]
    unit.additive.append(WarmUpDrift(unit, severity, fixed["tau_s"]))


_EFFECTS: dict[str, Callable[[_Target, float, dict[str, float]], None]] = {
    "dead_output": _dead_output,
    "stuck_output": lambda t, severity, fixed: _dead_output(t, severity, fixed),
    "gain": _set("gain_error"),
    "offset": _set("offset_a"),
    "non_linearity": _set("bow_a"),
    "hysteresis": _set("hysteresis_a"),
    "slow_response": _slow_response,
    "ringing": _ringing,
    "high_input_resistance": _set("input_resistance_ohm"),
    "excess_supply_current": _excess_supply_current,
    "early_compliance": _set("output_compliance_v"),
    "supply_sensitive": _set("supply_coefficient_a_per_v"),
    "intermittent": _intermittent,
    "clamp_too_low": _set("clamp_a"),
    "noisy_output": _set("noise_rms_a"),
    "warm_up_drift": _warm_up_drift,
}


def apply_defects(
    target: SimulatedUnit | dict[str, Any], defects: Iterable[DefectSpec | str]
) -> SimulatedUnit | dict[str, Any]:
    """Apply catalogue defects (severity ``None`` = default) to a unit or an overrides dict.

    On a unit, parameters are changed in place and behaviours (drop-outs, drift) are added;
    the unit records what was applied in ``unit.defects``. An overrides dict (for
    ``make_unit``/``SimBenchConfig.overrides``) takes parameter defects only.
    """
    for name, severity in resolve(defects):
        entry = catalogue()[name]
        t = _Target(target, name)
        _EFFECTS[name](t, severity, entry.fixed)
        t.commit()
        if isinstance(target, SimulatedUnit):
            target.defects[name] = severity
    return target
