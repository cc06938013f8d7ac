"""The simulated unit's own truth, for tests that check measurements against it.

Nothing here uses the inspection's code: the true transmission error comes from the unit's
parameters and the bench state the simulator holds at the moment a point is recorded, the true
limit frequency from the unit's transfer function evaluated with ``scipy.signal``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

from bench.sim.bench import SimBench
from bench.sim.unit import SimulatedUnit
from procedures.record import Recorder

TRANSFER_CHARACTERISTICS = ("transmission_error", "supply_effect", "load_effect")


@dataclass(frozen=True)
class JudgedPoint:
    """One judged transmission-error point next to the unit's true error at that moment."""

    serial: str
    characteristic: str
    set_a: float
    measured_a: float
    true_a: float
    expanded_a: float
    statement: str

    @property
    def covered(self) -> bool:
        return abs(self.measured_a - self.true_a) <= self.expanded_a


def true_error_a(sim: SimBench) -> float:
    """Settled output minus actual input of the unit on the bench now: the unit's static
    transfer (its own parameters) under the conditions the simulator applies (actual input
    current, supply at its terminals, whole loop resistance, approach direction, ambient),
    plus its slow additive behaviour (warm-up drift) at this instant."""
    unit = sim.world.unit
    c = unit.conditions
    now = sim.world.clock.now
    out = float(
        unit.model.static_output_a(
            c.input_a, c.supply_v, c.loop_ohm, unit._direction, c.temperature_c
        )
    )
    out += sum(float(extra(np.array([now]))[0]) for extra in unit.additive)
    return out - c.input_a


@contextmanager
def judged_points(sim: SimBench, points: list[JudgedPoint]) -> Iterator[None]:
    """Collect every judged transfer point of the runs inside the block with its truth.

    The recorder writes a point right after its reading (nothing changes the bench in
    between), so the simulator's state at that call is the state the reading saw.
    """
    original = Recorder.point

    def point(self: Recorder, measurement, **row) -> None:  # type: ignore[no-untyped-def]
        if row.get("characteristic") in TRANSFER_CHARACTERISTICS and row.get("error_a") is not None:
            points.append(
                JudgedPoint(
                    self.record.serial,
                    row["characteristic"],
                    float(row["set_a"]),
                    float(row["error_a"]),
                    true_error_a(sim),
                    float(row["expanded_u_a"]),
                    str(row["statement"]),
                )
            )
        original(self, measurement, **row)

    Recorder.point = point  # type: ignore[method-assign]
    try:
        yield
    finally:
        Recorder.point = original  # type: ignore[method-assign]


def true_limit_frequency_hz(unit: SimulatedUnit) -> float:
    """-3 dB frequency of the unit's own dynamics (first pole, then a second real pole or the
    resonant stage), by ``scipy.signal.freqs`` and Brent's method."""
    p = unit.params
    num, den = np.array([1.0]), np.array([p.tau_s, 1.0])
    if unit.resonance_hz > 0.0:
        w = 2.0 * math.pi * unit.resonance_hz
        den = np.polymul(den, [1.0, 2.0 * unit.resonance_damping * w, w * w])
        num = np.array([w * w])
    elif p.tau2_s > 0.0:
        den = np.polymul(den, [p.tau2_s, 1.0])

    def excess(f: float) -> float:
        _, h = signal.freqs(num, den, worN=[2.0 * math.pi * f])
        return float(abs(h[0]) ** 2) - 0.5

    grid = np.geomspace(1.0, 1e5, 400)
    values = np.array([excess(f) for f in grid])
    last = int(np.nonzero(values >= 0.0)[0][-1])
    return float(optimize.brentq(excess, grid[last], grid[last + 1], xtol=1e-9))
