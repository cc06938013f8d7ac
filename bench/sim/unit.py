"""A simulated 857-411 unit: the reference model plus per-unit deviations, in continuous time.

Inputs (input current, supply, loop resistance) change only when an instrument executes a
command, so they are piecewise constant. Between changes the linear dynamics (one pole, an
optional second pole, dead time) have an exact closed-form solution; the unit therefore
evaluates its output at any array of instants without a fixed tick, and an acquisition that is
fetched late still sees every input change at its true simulated time.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import lfilter

from procedures.model import FloatArray, ModuleModel, ModuleParameters

#: extra behaviour on top of the model: t -> additive output current (drift, drop-outs...)
Additive = Callable[[FloatArray], FloatArray]


@dataclass
class UnitConditions:
    input_a: float = 0.0
    supply_v: float = 0.0  # effective voltage at the module terminals (0 = unpowered)
    loop_ohm: float = math.inf  # whole output loop; inf = open
    temperature_c: float = 23.0


@dataclass
class SimulatedUnit:
    """One module on the simulated bench."""

    params: ModuleParameters = field(default_factory=ModuleParameters)
    serial: str = "SIM-0001"
    noise_rms_a: float = 0.5e-6  # wide-band output noise after the 100 Hz filter
    start_delay_s: float = 0.05  # output valid this long after the supply comes up
    additive: list[Additive] = field(default_factory=list)
    #: multiplicative gates (1 = output present, 0 = dropped out), for intermittent defects
    gates: list[Callable[[FloatArray], FloatArray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = ModuleModel(self.params)
        self.conditions = UnitConditions()
        self._direction = 0.0
        # filter target u (the transfer, effective after the dead time) as change points
        self._u_times: list[float] = [0.0]
        self._u_values: list[float] = [0.0]
        self._states: list[tuple[float, float]] = [(0.0, 0.0)]  # (x1, x2) at each u time
        # output-stage limit (no dead time) as change points
        self._lim_times: list[float] = [0.0]
        self._lim_values: list[float] = [0.0]
        self._power_on_time: float | None = None

    # ------------------------------------------------------------------ inputs
    def update(self, t: float, conditions: UnitConditions) -> None:
        """New conditions from ``t`` on (called by the world at the command's simulated time)."""
        previous = self.conditions
        if conditions.input_a != previous.input_a:
            self._direction = math.copysign(1.0, conditions.input_a - previous.input_a)
        powered = conditions.supply_v >= self.params.uvlo_v
        was_powered = previous.supply_v >= self.params.uvlo_v
        if powered and not was_powered:
            self._power_on_time = t
        elif not powered:
            self._power_on_time = None
        self.conditions = conditions
        if powered:
            u = float(
                self.model.transfer_a(
                    conditions.input_a,
                    conditions.supply_v,
                    conditions.loop_ohm if math.isfinite(conditions.loop_ohm) else 0.0,
                    self._direction,
                    conditions.temperature_c,
                )
            )
            limit = float(self.model.output_limit_a(conditions.loop_ohm, conditions.supply_v))
        else:
            u, limit = 0.0, 0.0
        self._push(self._u_times, self._u_values, t + self.params.dead_time_s, u, track_state=True)
        self._push(self._lim_times, self._lim_values, t, limit, track_state=False)

    def _push(
        self, times: list[float], values: list[float], t: float, v: float, track_state: bool
    ) -> None:
        if t <= times[-1]:
            # same instant (or a dead-time reorder): the last change wins
            t = times[-1]
            values[-1] = v
            return
        if track_state:
            x1, x2 = self._states[-1]
            s1, s2 = self._propagate(x1, x2, values[-1], t - times[-1])
            self._states.append((float(s1), float(s2)))
        times.append(t)
        values.append(v)

    # ------------------------------------------------------------------ dynamics
    def _propagate(self, x1, x2, u, dt):
        """Exact solution of two cascaded first-order sections for a constant target u."""
        tau1, tau2 = self.params.tau_s, self.params.tau2_s
        dt = np.asarray(dt, dtype=float)
        e1 = np.asarray(x1, dtype=float) - u
        a1 = np.exp(-dt / tau1)
        if tau2 <= 0.0:
            y = u + e1 * a1
            return y, y
        if abs(tau1 - tau2) < 1e-9 * tau1:
            tau2 = tau1 * (1.0 + 1e-6)
        e2 = np.asarray(x2, dtype=float) - u
        a2 = np.exp(-dt / tau2)
        amp = e1 * tau1 / (tau1 - tau2)
        return u + e1 * a1, u + amp * a1 + (e2 - amp) * a2

    def output_a(self, t: float | FloatArray) -> FloatArray:
        """Noise-free output current at the instants ``t`` (any order, any past time)."""
        times = np.atleast_1d(np.asarray(t, dtype=float))
        idx = np.searchsorted(self._u_times, times, side="right") - 1
        idx = np.clip(idx, 0, len(self._u_times) - 1)
        u_t = np.asarray(self._u_times)[idx]
        u_v = np.asarray(self._u_values)[idx]
        states = np.asarray(self._states)[idx]
        _, x2 = self._propagate(states[:, 0], states[:, 1], u_v, np.maximum(times - u_t, 0.0))
        for extra in self.additive:
            x2 = x2 + extra(times)
        lidx = np.clip(np.searchsorted(self._lim_times, times, side="right") - 1, 0, None)
        limit = np.asarray(self._lim_values)[lidx]
        if self._power_on_time is not None:
            limit = np.where(times >= self._power_on_time + self.start_delay_s, limit, 0.0)
        out = np.clip(x2, 0.0, limit)
        for gate in self.gates:
            out = out * gate(times)
        return out

    def mean_output_a(self, t0: float, t1: float, points: int = 65) -> float:
        """Average output over an integration window (what an integrating DMM sees)."""
        if t1 <= t0:
            return float(self.output_a(t0)[0])
        return float(np.mean(self.output_a(np.linspace(t0, t1, points))))

    def noise_of_mean_a(self, window_s: float) -> float:
        """Rms noise of the mean over ``window_s`` of low-pass filtered white noise."""
        tau = self.params.tau_s
        if window_s <= 0.0:
            return self.noise_rms_a
        return self.noise_rms_a * math.sqrt(min(1.0, 2.0 * tau / window_s))

    def noise_samples_a(self, n: int, dt: float, rng: np.random.Generator) -> FloatArray:
        """Correlated (first-order filtered) noise for a digitised record."""
        phi = math.exp(-dt / self.params.tau_s) if dt > 0 else 0.0
        innovations = rng.normal(0.0, self.noise_rms_a * math.sqrt(1.0 - phi * phi), n)
        start = rng.normal(0.0, self.noise_rms_a)
        out, _ = lfilter([1.0], [1.0, -phi], innovations, zi=[phi * start])
        return np.asarray(out, dtype=float)

    def supply_current_a(self, t: float) -> float:
        out = float(self.output_a(t)[0])
        return float(self.model.supply_current_a(out, self.conditions.supply_v))

    def supply_demand_a(self, conditions: UnitConditions) -> float:
        """Settled supply current the unit would draw under ``conditions`` (for CC decisions)."""
        out = float(
            self.model.static_output_a(
                conditions.input_a,
                conditions.supply_v,
                conditions.loop_ohm if math.isfinite(conditions.loop_ohm) else 1e12,
            )
        )
        return float(self.model.supply_current_a(out, conditions.supply_v))

    def trim_history(self, before: float) -> None:
        """Forget change points older than ``before`` (keep the one in force at that time)."""
        k = bisect.bisect_right(self._u_times, before) - 1
        if k > 0:
            del self._u_times[:k], self._u_values[:k], self._states[:k]
        k = bisect.bisect_right(self._lim_times, before) - 1
        if k > 0:
            del self._lim_times[:k], self._lim_values[:k]
