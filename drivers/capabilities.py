"""Capabilities: what an instrument model can do beyond its role, and what a step needs.

A model declares its capabilities in its registry entry (``drivers/registry.py``) as
``{name: amount}``; a step declares its needs as :class:`Need` (or :class:`AnyOf` when another
honest way exists). The plan check (``bench/plan_check.py``) compares them before anything is
switched on, so a station that cannot run a step is told which step and which capability, in
one line, instead of failing half-way with the module powered.

The amount is the capability's size in SI units (a digitiser's sample rate in S/s, a
scanner's channel count, a DC-current input's largest range in A) or ``1`` for a plain yes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: the source steps its level and fires a trigger pulse in one message (roles.TriggerOut)
TRIGGER_OUT = "trigger-out"
#: the source drives fixture relays on digital output lines; amount: line count (DigitalOut)
DIGITAL_OUT = "digital-out"
#: the source measures its own current and (4-wire) terminal voltage while sourcing
SOURCE_READBACK = "source-readback"
#: the DMM samples on a timer after one trigger; amount: highest sample rate, S/s (Digitiser)
DIGITISER = "digitiser"
#: the DMM starts a reading or a capture on an external hardware trigger
TRIGGER_IN = "trigger-in"
#: the DMM takes one reading a programmed delay after an external trigger, so a repeated step
#: can be sampled in equivalent time (TriggeredReading, docs/equivalent-time.md)
TRIGGERED_READING = "triggered-reading"
#: the DMM reads card channels through a scanner; amount: channel count (Scanner)
SCANNER = "scanner"
#: the DMM measures DC current on its own input; amount: largest current range, A
DC_CURRENT = "dc-current"
#: the electronic load holds a constant resistance (CR mode); amount: largest resistance, ohm
LOAD_CR = "load-cr"
#: the supply reads back its output current (the direct topology's supply current)
SUPPLY_READBACK = "supply-readback"
#: the load reads back the voltage at its input (the direct topology's loop voltage)
LOAD_READBACK = "load-readback"

#: every capability name with what it means, for messages and the docs' model table
CAPABILITIES: dict[str, str] = {
    TRIGGER_OUT: "a trigger output (step and trigger pulse in one message)",
    DIGITAL_OUT: "digital output lines for fixture relays",
    SOURCE_READBACK: "a read-back of the sourced current and terminal voltage",
    DIGITISER: "a digitiser",
    TRIGGER_IN: "an external trigger input",
    TRIGGERED_READING: "delayed readings on an external trigger (equivalent-time sampling)",
    SCANNER: "a scanner",
    DC_CURRENT: "a DC current input",
    LOAD_CR: "a constant-resistance (CR) mode",
    SUPPLY_READBACK: "a supply-current read-back",
    LOAD_READBACK: "a load-voltage read-back",
}

#: how an amount reads in a message, per capability: (words before a need, the amount)
_AMOUNT = {
    DIGITISER: ("of >=", lambda v: f"{v / 1e3:g} kS/s"),
    SCANNER: ("with >=", lambda v: f"{v:g} channels"),
    DIGITAL_OUT: ("with >=", lambda v: f"{v:g} lines"),
    DC_CURRENT: ("with a >=", lambda v: f"{v * 1e3:g} mA range"),
    LOAD_CR: ("up to >=", lambda v: f"{v:g} ohm"),
}


@dataclass(frozen=True)
class Need:
    """One capability of the instrument in ``role``, at least ``amount`` of it."""

    role: str
    capability: str
    amount: float = 1.0

    def __post_init__(self) -> None:
        if self.capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {self.capability!r}; use one of {CAPABILITIES}")

    def met_by(self, capabilities: Mapping[str, float]) -> bool:
        return capabilities.get(self.capability, 0.0) >= self.amount

    def describe(self) -> str:
        """E.g. ``a digitiser of >= 50 kS/s on the dmm``."""
        what = CAPABILITIES[self.capability]
        if self.capability in _AMOUNT and self.amount != 1:
            words, amount = _AMOUNT[self.capability]
            what = f"{what} {words} {amount(self.amount)}"
        return f"{what} on the {self.role}"

    def shortfall(self, model: str, capabilities: Mapping[str, float]) -> str:
        """What ``model`` has of the capability, in words (for the refusal message)."""
        have = capabilities.get(self.capability, 0.0)
        if not have:
            return f"{model} has none"
        if self.capability in _AMOUNT:
            return f"{model} has {_AMOUNT[self.capability][1](have)}"
        return f"{model} has too little"


@dataclass(frozen=True)
class AnyOf:
    """Alternatives: any one met is enough (e.g. a digitiser, or equivalent-time sampling with
    an external trigger and a trigger delay)."""

    needs: tuple[Need | tuple[Need, ...], ...]

    def describe(self) -> str:
        parts = []
        for option in self.needs:
            group = option if isinstance(option, tuple) else (option,)
            parts.append(" and ".join(n.describe() for n in group))
        return " or ".join(parts)


Requirement = Need | AnyOf


def unmet(requirement: Requirement, models: Mapping[str, tuple[str, Mapping[str, float]]]) -> str:
    """``""`` when ``requirement`` is met by the station's ``models`` (role -> (name,
    capabilities)), else what is missing and what the station has, in words."""
    options: tuple[Need | tuple[Need, ...], ...] = (
        requirement.needs if isinstance(requirement, AnyOf) else (requirement,)
    )
    for option in options:
        group = option if isinstance(option, tuple) else (option,)
        if all(n.met_by(models[n.role][1]) for n in group if n.role in models):
            return ""
    first = options[0]
    group = first if isinstance(first, tuple) else (first,)
    missing = [n for n in group if n.role in models and not n.met_by(models[n.role][1])]
    have = "; ".join(n.shortfall(*models[n.role]) for n in missing)
    return f"{requirement.describe()} ({have})"


class CapabilityMissing(RuntimeError):
    """A procedure asked an instrument for a capability its model lacks (the plan check
    refuses such a run before it starts; this is the last line of defence)."""
