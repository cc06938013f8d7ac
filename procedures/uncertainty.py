"""Uncertainty budgets: type B from specifications, type A from (pooled) repeats, k from nu_eff.

GUM (JCGM 100:2008) throughout, formulas and numbers in ``docs/metrology.md`` section 2:

* a specification +-a taken as a rectangular distribution gives ``u = a / sqrt(3)`` (4.3.7),
  with infinitely many degrees of freedom (G.4.3: the bounds are taken as exactly known);
* repeated readings give ``u = s / sqrt(n)`` with ``n - 1`` degrees of freedom (4.2.3, G.3.3);
  a well-characterised measurement uses the *pooled* estimate ``s_p`` of many groups instead,
  ``u = s_p / sqrt(n)`` with the pooled degrees of freedom ``sum(n_i - 1)`` (4.2.4);
* uncorrelated components combine by root-sum-square (5.1.2, eq. 10);
* the effective degrees of freedom of the combination follow Welch-Satterthwaite (G.4.1,
  eq. G.2b) ``nu_eff = u_c^4 / sum(u_i^4 / nu_i)``, and the coverage factor for a 95 % coverage
  interval is the Student-t quantile ``k = t_0.975(nu_eff)`` (G.3.2, G.4.1, G.6.4);
  ``k = 1.96`` for ``nu_eff = inf``.

The specification used for each reading is the one of the instrument's model and the range it
was on: never one global U.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from drivers.scpi import Accuracy
from procedures.decision import combine, coverage_factor, rectangular

#: coverage probability of every expanded uncertainty the inspection states (docs 2.4)
COVERAGE_PROBABILITY = 0.95


@dataclass(frozen=True)
class Component:
    name: str
    u: float  # standard uncertainty, in the unit of the measurand
    kind: str  # "B rectangular", "A", ...
    source: str = ""
    dof: float = math.inf  # degrees of freedom nu_i (GUM G.3, G.4.2)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "u": self.u,
            "kind": self.kind,
            "source": self.source,
            "dof": self.dof if math.isfinite(self.dof) else None,
        }


def welch_satterthwaite(components: Sequence[Component]) -> float:
    """Effective degrees of freedom, GUM G.4.1 eq. (G.2b): ``u_c^4 / sum(u_i^4 / nu_i)``.

    Components with ``nu_i = inf`` add nothing to the denominator; a budget of type B only (or
    empty) has ``nu_eff = inf``.
    """
    u_c = combine(*(c.u for c in components))
    denominator = sum(c.u**4 / c.dof for c in components if math.isfinite(c.dof) and c.u > 0.0)
    if u_c == 0.0 or denominator == 0.0:
        return math.inf
    return u_c**4 / denominator


@dataclass(frozen=True)
class Budget:
    components: tuple[Component, ...] = field(default_factory=tuple)
    coverage: float = COVERAGE_PROBABILITY

    @property
    def u(self) -> float:
        return combine(*(c.u for c in self.components))

    @property
    def dof(self) -> float:
        """Effective degrees of freedom nu_eff (Welch-Satterthwaite)."""
        return welch_satterthwaite(self.components)

    @property
    def k(self) -> float:
        """Coverage factor ``t_p(nu_eff)`` for the budget's coverage probability."""
        return coverage_factor(self.dof, self.coverage)

    @property
    def expanded(self) -> float:
        return self.k * self.u

    def to_dict(self) -> dict[str, object]:
        dof = self.dof
        return {
            "u": self.u,
            "k": self.k,
            "U": self.expanded,
            "dof": dof if math.isfinite(dof) else None,
            "coverage": self.coverage,
            "components": [c.to_dict() for c in self.components],
        }


def type_b(name: str, accuracy: Accuracy, value: float, sensitivity: float = 1.0) -> Component:
    """Rectangular type-B component from a +-(gain x |value| + offset) specification."""
    u = rectangular(accuracy.half_width(value)) * abs(sensitivity)
    return Component(name, u, "B rectangular", f"{accuracy.source}; range {accuracy.range:g}")


def type_a(name: str, readings: Sequence[float] | np.ndarray, scale: float = 1.0) -> Component:
    """Type-A component of one group: ``s / sqrt(n)`` with ``n - 1`` degrees of freedom."""
    values = np.asarray(readings, dtype=float)
    if not np.isfinite(values).all():
        return Component(name, 0.0, "A (overload)", "a reading overloaded: no type A estimate")
    if values.size < 2:
        return Component(name, 0.0, "A (single reading)", "no repeat; covered by type B noise")
    s = float(np.std(values, ddof=1))
    return Component(
        name,
        abs(scale) * s / math.sqrt(values.size),
        f"A (n={values.size})",
        "repeated readings",
        dof=float(values.size - 1),
    )


@dataclass
class NoisePool:
    """Pooled experimental variance per noise class (GUM 4.2.4), kept for one run.

    A class is one quantity read one way (e.g. the output shunt at 1 PLC). Every group of
    readings taken under repeatability conditions adds its sum of squared deviations and its
    ``n - 1`` degrees of freedom; ``s_p^2 = sum(SS_i) / sum(n_i - 1)``. The mean of ``n`` later
    readings of the class then has the type-A standard uncertainty ``s_p / sqrt(n)`` with the
    pooled degrees of freedom, however few readings that point itself took.
    """

    _ss: dict[Hashable, float] = field(default_factory=dict)
    _dof: dict[Hashable, int] = field(default_factory=dict)

    def add(self, key: Hashable, readings: Sequence[float] | np.ndarray) -> None:
        values = np.asarray(readings, dtype=float)
        if values.size < 2 or not np.isfinite(values).all():
            return
        self._ss[key] = self._ss.get(key, 0.0) + float(np.sum((values - values.mean()) ** 2))
        self._dof[key] = self._dof.get(key, 0) + values.size - 1

    def dof(self, key: Hashable) -> int:
        return self._dof.get(key, 0)

    def s(self, key: Hashable) -> float:
        """Pooled standard deviation (NaN while the class has no degrees of freedom)."""
        dof = self.dof(key)
        return math.sqrt(self._ss[key] / dof) if dof else math.nan

    def component(self, name: str, key: Hashable, n: int, scale: float = 1.0) -> Component:
        """Type-A component of the mean of ``n`` readings of class ``key``."""
        dof = self.dof(key)
        if dof == 0 or n < 1:
            return Component(name, 0.0, "A (no estimate)", "no repeated readings of this class")
        return Component(
            name,
            abs(scale) * self.s(key) / math.sqrt(n),
            f"A pooled (n={n})",
            f"s_p over the run's repeated readings of this class, {dof} degrees of freedom",
            dof=float(dof),
        )


def budget(*components: Component, coverage: float = COVERAGE_PROBABILITY) -> Budget:
    return Budget(tuple(components), coverage)


def varies_between_readings(component: Component) -> bool:
    """True for a component whose error is drawn anew at every reading (independent between
    points): type A noise and the residual settling of each approach. Everything else (a
    specification on one range, the shunt ratio, the transfer term) is one error common to every
    reading that used the same source of error (docs/metrology.md section 2.6)."""
    kind = component.kind
    return kind == "A" or kind.startswith("A ") or component.name == "residual settling"


def propagate(coefficients: Sequence[float], budgets: Sequence[Budget], prefix: str = "") -> Budget:
    """Budget of a linear combination ``y = sum(a_i x_i)`` of recorded results ``x_i``.

    GUM 5.1.2 (eq. 10) for the components that vary between readings, each kept with its own
    degrees of freedom; GUM 5.2.2 (eq. 13) with r = +1 for the components shared by several
    readings: a common error source (same component name and source, i.e. the same
    specification on the same range, or the same calibrated ratio) enters as
    ``|sum(a_i u_i)|``. A common gain or offset thus cancels where the combination removes it
    (the difference of an up and a down reading at one level; a deviation from a line) and adds
    up fully where it does not (a fitted slope). The result's nu_eff follows Welch-Satterthwaite
    (docs/metrology.md section 2.6).
    """
    if len(coefficients) != len(budgets):
        raise ValueError("one coefficient per budget")
    parts: list[Component] = []
    independent: dict[tuple[str, str], list[tuple[float, Component]]] = {}
    shared: dict[tuple[str, str], list[tuple[float, Component]]] = {}
    for a, b in zip(coefficients, budgets, strict=True):
        if a == 0.0:
            continue
        for c in b.components:
            if varies_between_readings(c):
                independent.setdefault((c.name, c.kind.split(" (")[0]), []).append((a, c))
            else:
                shared.setdefault((c.name, c.source), []).append((a, c))
    # independent errors add in quadrature; the u of one class (e.g. "output noise") at several
    # points rest on one growing pooled s_p, not on independent estimates, so the class keeps
    # the smallest dof of its members instead of gaining dof from Welch-Satterthwaite
    for (name, _kind), terms in independent.items():
        source = terms[-1][1].source
        u = math.sqrt(sum((a * c.u) ** 2 for a, c in terms))
        dof = min(c.dof for _, c in terms)
        parts.append(Component(f"{prefix}{name}", u, terms[0][1].kind, source, dof))
    for (name, source), terms in shared.items():
        u = abs(sum(a * c.u for a, c in terms))
        dof = min(c.dof for _, c in terms)
        parts.append(Component(f"{prefix}{name}", u, terms[0][1].kind, source, dof))
    return budget(*parts)
