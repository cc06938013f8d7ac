"""The plan's honest physical lower bound, computed apart from what the plan programs.

docs/metrology.md section 8. Every reading the plan takes adds what physics alone demands of
it, never the plan's own waits, repeats or instrument overheads:

* **settling**: the time the module needs to come within the band the point needs after the
  input or a condition changed (its first-order or two-pole response, ``ModuleModel``);
* **integration**: the readings that point's uncertainty target needs (``readings_needed``),
  each one power-line cycle long (line-frequency rejection kept, so never shorter), one per
  quantity a single meter must read in turn (one DMM behind a scanner reads the input and the
  output shunt one after the other; two instruments in parallel count once);
* **start-up**: the population's fastest start-up after the module is powered;
* **capture**: a step record's length (baseline plus record), which the dynamics demand.

The plan's bench time over this bound says how much of the run is overhead: message and relay
times, range changes and zeroing, readings that only build the noise pool.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

#: the population's fastest start-up after power-on (docs/metrology.md 6.4: 20 ... 200 ms [E])
FASTEST_STARTUP_S = 0.020
#: no point takes more readings than this: beyond, the unit's own noise makes the target
#: unreachable at any sensible cost; the point is judged with the U it has (the record says so)
MAX_READINGS = 4


def readings_needed(
    target_u: float | None, k: float, u_other: float, s_reading: float, minimum: int = 1
) -> int:
    """Smallest n >= ``minimum`` with ``k sqrt(u_other^2 + s^2 / n) <= target_u``.

    GUM 5.1.2 (root-sum-square) with the mean of n readings' type A ``s / sqrt(n)`` (GUM
    4.2.3). Solved for n: ``n >= s^2 / ((U_t / k)^2 - u_other^2)``. Without a target, or
    where the other components alone use the whole target (more readings cannot help), or
    without a noise estimate, the minimum. Never above ``MAX_READINGS``.
    """
    if target_u is None or not math.isfinite(s_reading) or s_reading <= 0.0:
        return minimum
    room = (target_u / k) ** 2 - u_other**2
    if room <= 0.0:
        return minimum
    n = math.ceil(s_reading**2 / room - 1e-12)
    return max(minimum, min(MAX_READINGS, n))


@dataclass(frozen=True)
class PhysicalNeed:
    """One physical need of the plan: which step, what kind, how long (s)."""

    step: str
    kind: str
    seconds: float


@dataclass
class LowerBound:
    """Sum of the physical needs of everything the plan measured so far."""

    needs: list[PhysicalNeed] = field(default_factory=list)
    step: str = ""

    def add(self, kind: str, seconds: float) -> None:
        if seconds > 0.0 and math.isfinite(seconds):
            self.needs.append(PhysicalNeed(self.step, kind, float(seconds)))

    def point(self, settle_s: float, readings: int, aperture_s: float, meters: int = 1) -> None:
        """A static point: settling, then ``readings`` integrations on each of ``meters``
        quantities one meter reads in turn."""
        self.add("settling", settle_s)
        self.add("integration", readings * aperture_s * meters)

    @property
    def total_s(self) -> float:
        return math.fsum(n.seconds for n in self.needs)

    def by_kind(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for n in self.needs:
            out[n.kind] += n.seconds
        return dict(out)

    def by_step(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for n in self.needs:
            out[n.step] += n.seconds
        return dict(out)

    def summary(self) -> str:
        """One line for the record's notes: the total and its parts."""
        parts = ", ".join(f"{kind} {s:.2f} s" for kind, s in sorted(self.by_kind().items()))
        return f"physical lower bound {self.total_s:.2f} s ({parts})"
