"""Can this station run this plan? Asked before anything is switched on.

A station whose limits do not let a step set what it needs (a 100 ohm ``load_max_ohm`` for a
plan that loads the output with 600 ohm, a supply range narrower than the module's 16.8-31.2 V,
a source limit below the over-range points) would otherwise be refused by the safety envelope
in the middle of a run, with the module powered. Each built-in step's needs are data here,
taken from the step's own constants and the module profile; a front-end's own step may declare
``needs(profile, settings) -> Needs`` itself.

Capabilities are checked the same way: each step declares what it needs of the instruments
(``Step.requirements``: a trigger output, a digitiser of a given rate, digital lines, ...), each
model what it has (its registry entry); a step the station's models cannot run is named with
the missing capability, in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bench.station import Station
from drivers import capabilities as cap
from drivers import registry
from drivers.capabilities import unmet
from procedures.operations import MIN_LOAD_OHM
from procedures.plan import PlanSettings, Step, WiringSettings
from procedures.profile import Profile
from procedures.steps.input_resistance import LEVEL_A
from procedures.steps.over_range import OVER_RANGE_A
from procedures.steps.supply_current import LOAD_OHM as SUPPLY_CURRENT_LOAD_OHM


@dataclass(frozen=True)
class Needs:
    """What one step sets on the bench (the output loop is e-load plus fixture series R)."""

    max_input_a: float
    supply_v: tuple[float, float]  # lowest and highest supply voltage
    max_loop_ohm: float


def _nominal(profile: Profile, settings: PlanSettings, input_a: float = 20e-3) -> Needs:
    v = profile.module.nominal_supply_v
    return Needs(input_a, (v, v), settings.nominal_load_ohm)


_SUPPLY_RANGE = {"supply_current", "supply_effect", "load_effect"}

#: step name -> its needs (profile, plan settings)
BUILT_IN: dict[str, Callable[[Profile, PlanSettings], Needs]] = {
    "shunt_calibration": lambda p, s: _nominal(p, s),
    "terminal_check": lambda p, s: _nominal(p, s, 1e-3),
    "step_response": lambda p, s: _nominal(p, s, 18e-3),
    "supply_current": lambda p, s: Needs(
        20e-3, (p.ratings.supply_min_v, p.ratings.supply_max_v), SUPPLY_CURRENT_LOAD_OHM
    ),
    "input_resistance": lambda p, s: _nominal(p, s, LEVEL_A),
    "accuracy": lambda p, s: _nominal(p, s),
    "supply_effect": lambda p, s: Needs(
        20e-3, (p.ratings.supply_min_v, p.ratings.supply_max_v), s.nominal_load_ohm
    ),
    "load_effect": lambda p, s: Needs(
        20e-3, (p.ratings.supply_min_v, p.module.nominal_supply_v), p.ratings.load_max_ohm
    ),
    "over_range": lambda p, s: _nominal(p, s, max(OVER_RANGE_A)),
    "open_input": lambda p, s: _nominal(p, s, 0.0),
}


def step_needs(step: Step, profile: Profile, settings: PlanSettings) -> Needs | None:
    own = getattr(step, "needs", None)
    if callable(own):
        return own(profile, settings)
    rule = BUILT_IN.get(step.name)
    return rule(profile, settings) if rule else None


def _where(station: Station) -> str:
    return (
        f"station file {station.source_file}" if station.source_file else f"station {station.name}"
    )


def capability_problems(
    station: Station, steps: Sequence[Step], settings: PlanSettings
) -> list[str]:
    """One line per step and capability it needs that the station's models lack."""
    settings = replace(
        settings,
        topology=station.station.topology,
        wiring=WiringSettings(**station.wiring.model_dump()),
    )
    have = {
        role: (cfg.model, registry.get(cfg.model).capabilities)
        for role, cfg in station.instruments.items()
    }
    problems = []
    for step in steps:
        requirements = getattr(step, "requirements", None)
        for requirement in requirements(settings) if callable(requirements) else ():
            missing = unmet(requirement, have)
            if missing:
                problems.append(f"{_where(station)}: the {step.name} step needs {missing}")
    return problems


def plan_problems(
    station: Station, profile: Profile, steps: Sequence[Step], settings: PlanSettings
) -> list[str]:
    """One line per capability a step of the plan needs and the station's instruments lack,
    then per limit of the station that a step would run into."""
    problems = capability_problems(station, steps, settings)
    limits, ratings = station.limits, profile.ratings
    series_ohm = station.wiring.output_shunt_ohm if station.station.topology == "shunt-scan" else 0
    source_max = min(limits.max_source_current_a, ratings.input_current_max_a)
    supply_low, supply_high = limits.supply_min_v, min(limits.supply_max_v, ratings.supply_max_v)
    where = _where(station)
    worst: dict[str, tuple[float, str]] = {}
    for step in steps:
        needs = step_needs(step, profile, settings)
        if needs is None:
            continue
        load = max(needs.max_loop_ohm - series_ohm, MIN_LOAD_OHM)
        for key, value in (
            ("input", needs.max_input_a),
            ("supply_high", needs.supply_v[1]),
            ("supply_low", -needs.supply_v[0]),
            ("load", load),
        ):
            if key not in worst or value > worst[key][0]:
                worst[key] = (value, step.name)
    if "input" in worst and worst["input"][0] > source_max + 1e-12:
        value, step = worst["input"]
        problems.append(
            f"{where}: the plan's {step} step sources {value * 1e3:g} mA but "
            f"limits.max_source_current_a allows {source_max * 1e3:g} mA; raise it to at "
            f"least {value:g} (the module is rated {ratings.input_current_max_a * 1e3:g} mA)"
        )
    if "supply_high" in worst and worst["supply_high"][0] > supply_high + 1e-9:
        value, step = worst["supply_high"]
        problems.append(
            f"{where}: the plan's {step} step sets the supply to {value:g} V but "
            f"limits.supply_max_v is {supply_high:g} V; raise it to {value:g} V"
        )
    if "supply_low" in worst and -worst["supply_low"][0] < supply_low - 1e-9:
        value, step = worst["supply_low"]
        problems.append(
            f"{where}: the plan's {step} step sets the supply to {-value:g} V but "
            f"limits.supply_min_v is {supply_low:g} V; lower it to {-value:g} V"
        )
    if "load" in worst and worst["load"][0] > limits.load_max_ohm:
        value, step = worst["load"]
        fixture = (
            f" (output loop {value + series_ohm:g} ohm less {series_ohm:g} ohm of shunt)"
            if series_ohm
            else ""
        )
        problems.append(
            f"{where}: the plan's {step} step sets the electronic load to {value:g} ohm"
            f"{fixture} but limits.load_max_ohm is {limits.load_max_ohm:g} ohm; raise it to "
            f"at least {value:g}"
        )
    load_model = station.instruments["load"].model
    cr_max = registry.get(load_model).capabilities.get(cap.LOAD_CR, 0.0)
    if "load" in worst and cr_max and worst["load"][0] > cr_max:
        value, step = worst["load"]
        problems.append(
            f"{where}: the {step} step sets the electronic load to {value:g} ohm but "
            f"{load_model} reaches only {cr_max:g} ohm in CR mode; use another load"
        )
    return problems
