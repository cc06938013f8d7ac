"""Uncertainty budgets per reading: type B from instrument specifications, type A from repeats.

GUM (JCGM 100:2008): a specification +-a taken as a rectangular distribution gives
u = a / sqrt(3) (section 4.3.7); repeated readings give u = s / sqrt(n) (section 4.2.3);
uncorrelated components with unit sensitivity combine by root-sum-square (section 5.1.2,
eq. 10); U = k u with k = 2 (section 6.2, about 95 % coverage). The specification used for each
reading is the one of the instrument's model and the range it was on (metrology.md 4.1):
never one global U.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from drivers.scpi import Accuracy
from procedures.decision import combine, rectangular


@dataclass(frozen=True)
class Component:
    name: str
    u: float  # standard uncertainty, in the unit of the measurand
    kind: str  # "B rectangular", "A", ...
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "u": self.u, "kind": self.kind, "source": self.source}


@dataclass(frozen=True)
class Budget:
    components: tuple[Component, ...] = field(default_factory=tuple)
    k: float = 2.0

    @property
    def u(self) -> float:
        return combine(*(c.u for c in self.components))

    @property
    def expanded(self) -> float:
        return self.k * self.u

    def to_dict(self) -> dict[str, object]:
        return {
            "u": self.u,
            "k": self.k,
            "U": self.expanded,
            "components": [c.to_dict() for c in self.components],
        }


def type_b(name: str, accuracy: Accuracy, value: float, sensitivity: float = 1.0) -> Component:
    """Rectangular type-B component from a +-(gain x |value| + offset) specification."""
    u = rectangular(accuracy.half_width(value)) * abs(sensitivity)
    return Component(name, u, "B rectangular", f"{accuracy.source}; range {accuracy.range:g}")


def type_a(name: str, readings: Sequence[float] | np.ndarray, scale: float = 1.0) -> Component:
    """Type-A component: experimental standard deviation of the mean, s / sqrt(n)."""
    values = np.asarray(readings, dtype=float)
    if not np.isfinite(values).all():
        return Component(name, 0.0, "A (overload)", "a reading overloaded: no type A estimate")
    if values.size < 2:
        return Component(name, 0.0, "A (single reading)", "no repeat; covered by type B noise")
    s = float(np.std(values, ddof=1))
    return Component(
        name, abs(scale) * s / math.sqrt(values.size), f"A (n={values.size})", "repeated readings"
    )


def budget(*components: Component, k: float = 2.0) -> Budget:
    return Budget(tuple(components), k)
