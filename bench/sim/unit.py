"""A simulated 857-411 unit: the reference model plus per-unit deviations, in continuous time.

Inputs (input current, supply, loop resistance) change only when an instrument executes a
command, so they are piecewise constant. Between changes the linear dynamics (one pole, then an
optional second real pole *or* an optional resonant second-order stage, plus dead time) have an
exact closed-form solution; the unit therefore evaluates its output at any array of instants
without a fixed tick, and an acquisition that is fetched late still sees every input change at
its true simulated time.

Behaviour on top of the model is plugged in as callables of time (docs/metrology.md 6.5, 6.6):

* ``additive`` (t -> A, added to the output before the output-stage limits): warm-up drift,
  decaying offsets...;
* ``gates`` (t -> 0/1, multiplying the limited output): drop-outs of an intermittent contact;
* ``ripple`` (t -> A): carrier ripple of the isolating converter. It is added only to
  *digitised* records (:meth:`noise_samples_a`): an integrating reading averages a 50-500 kHz
  ripple to nothing, and the world's averaging windows (a few dozen instants per aperture)
  would alias it into the DC readings instead, which no real DMM does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.sim.ar1 import ar1
from bench.sim.errors_model import seeded_rng
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
    #: carrier ripple, seen only by digitised records (see the module docstring)
    ripple: list[Additive] = field(default_factory=list)
    #: resonant second stage instead of the second real pole (0 = none): natural frequency
    resonance_hz: float = 0.0
    resonance_damping: float = 0.5  # damping ratio zeta of the resonant stage (0 < zeta < 1)
    #: what was done to the unit (defect name -> severity), for the simulator's own reports
    defects: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.resonance_hz > 0.0 and self.params.resonance_hz <= 0.0:
            # the reference model describes a resonant stage too: keep it in the parameters
            self.params = self.params.with_(
                resonance_hz=self.resonance_hz, resonance_damping=self.resonance_damping
            )
        self.set_params(self.params)
        self.conditions = UnitConditions()
        self._direction = 0.0
        # filter target u (the transfer, effective after the dead time) as change points
        self._u_times: list[float] = [0.0]
        self._u_values: list[float] = [0.0]
        # filter state at each u time: (first pole, output, output derivative)
        self._states: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)]
        # output-stage limit (no dead time) as change points
        self._lim_times: list[float] = [0.0]
        self._lim_values: list[float] = [0.0]
        self._power_on_time: float | None = None
        #: (time, powered) at every change of the powered state, oldest first
        self.power_events: list[tuple[float, bool]] = []

    def set_params(self, params: ModuleParameters) -> None:
        """Replace the parameters (before the unit is used on the bench)."""
        if params.resonance_hz > 0.0 and not 0.0 < params.resonance_damping < 1.0:
            raise ValueError("resonance_damping must be between 0 and 1 (an underdamped stage)")
        self.params = params
        self.resonance_hz = params.resonance_hz
        self.resonance_damping = params.resonance_damping
        self.model = ModuleModel(params)

    @property
    def ever_powered(self) -> bool:
        """The unit has been supplied at least once since it was made (inserted)."""
        return bool(self.power_events)

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
            self.power_events.append((t, True))
        elif not powered:
            if was_powered:
                self.power_events.append((t, False))
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
            state = np.asarray([self._states[-1]], dtype=float)
            new = self._propagate(state, np.array([values[-1]]), np.array([t - times[-1]]))
            self._states.append((float(new[0, 0]), float(new[0, 1]), float(new[0, 2])))
        times.append(t)
        values.append(v)

    # ------------------------------------------------------------------ dynamics
    def _propagate(self, states: np.ndarray, u: np.ndarray, dt: np.ndarray) -> np.ndarray:
        """Exact solution for a constant target ``u`` over ``dt`` from ``states`` (rows).

        First stage: one pole ``tau``. Second stage: nothing, a second real pole ``tau2``, or
        a resonant second-order low-pass (natural frequency ``resonance_hz``, damping zeta).
        """
        tau1, tau2 = self.params.tau_s, self.params.tau2_s
        dt = np.asarray(dt, dtype=float)
        u = np.asarray(u, dtype=float)
        e1 = states[:, 0] - u
        a1 = np.exp(-dt / tau1)
        out = np.zeros_like(states)
        out[:, 0] = u + e1 * a1
        if self.resonance_hz > 0.0:
            w = 2.0 * math.pi * self.resonance_hz
            zeta = self.resonance_damping
            sigma, wd = zeta * w, w * math.sqrt(1.0 - zeta * zeta)
            # particular solution for the exponential drive u + e1 exp(-t / tau1)
            k = e1 * w * w / (1.0 / tau1**2 - 2.0 * zeta * w / tau1 + w * w)
            a = states[:, 1] - u - k
            b = (states[:, 2] + k / tau1 + sigma * a) / wd
            env, c, s = np.exp(-sigma * dt), np.cos(wd * dt), np.sin(wd * dt)
            out[:, 1] = u + k * a1 + env * (a * c + b * s)
            out[:, 2] = -k / tau1 * a1 + env * ((wd * b - sigma * a) * c - (sigma * b + wd * a) * s)
        elif tau2 > 0.0:
            if abs(tau1 - tau2) < 1e-9 * tau1:
                tau2 = tau1 * (1.0 + 1e-6)
            e2 = states[:, 1] - u
            a2 = np.exp(-dt / tau2)
            amp = e1 * tau1 / (tau1 - tau2)
            out[:, 1] = u + amp * a1 + (e2 - amp) * a2
        else:
            out[:, 1] = out[:, 0]
        return out

    def output_a(self, t: float | FloatArray) -> FloatArray:
        """Noise-free output current at the instants ``t`` (any order, any past time)."""
        times = np.atleast_1d(np.asarray(t, dtype=float))
        idx = np.searchsorted(self._u_times, times, side="right") - 1
        idx = np.clip(idx, 0, len(self._u_times) - 1)
        u_t = np.asarray(self._u_times)[idx]
        u_v = np.asarray(self._u_values)[idx]
        states = np.asarray(self._states)[idx]
        x2 = self._propagate(states, u_v, np.maximum(times - u_t, 0.0))[:, 1]
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

    def noise_samples_a(
        self, n: int, dt: float, rng: np.random.Generator, aperture_s: float = 0.0
    ) -> FloatArray:
        """Correlated (first-order filtered) noise plus the carrier ripple, for a digitised
        record (the ripple's phase is random: it is not synchronous with the trigger).

        Each sample integrates over ``aperture_s``: a sine of frequency f averaged over T keeps
        ``|sin(pi f T) / (pi f T)|`` of its amplitude, so a 20 us aperture passes at most 22 %
        of a 50-500 kHz carrier ripple."""
        phi = math.exp(-dt / self.params.tau_s) if dt > 0 else 0.0
        innovations = rng.normal(0.0, self.noise_rms_a * math.sqrt(1.0 - phi * phi), n)
        start = rng.normal(0.0, self.noise_rms_a)
        out = ar1(innovations, phi, start)
        if self.ripple:
            t = rng.uniform(0.0, 1.0) + np.arange(n) * dt
            for ripple in self.ripple:
                out = out + ripple(t) * ripple.aperture_gain(aperture_s)
        return out

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

    def warm_fraction(self, times: FloatArray, tau_s: float) -> FloatArray:
        """Thermal state at ``times``: 0 cold, 1 warm; first order with ``tau_s`` both ways.

        Heats towards 1 while the unit is powered and cools towards 0 while it is not, from
        cold when it was made (inserted).
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        events = self.power_events
        if not events:
            return np.zeros(times.shape)
        event_t = np.array([t for t, _ in events])
        event_on = np.array([on for _, on in events])
        theta = np.zeros(len(events))
        for k in range(1, len(events)):
            decay = math.exp(-(event_t[k] - event_t[k - 1]) / tau_s)
            previous = theta[k - 1]
            theta[k] = 1.0 - (1.0 - previous) * decay if event_on[k - 1] else previous * decay
        idx = np.searchsorted(event_t, times, side="right") - 1
        before = idx < 0
        idx = np.clip(idx, 0, None)
        decay = np.exp(-np.maximum(times - event_t[idx], 0.0) / tau_s)
        value = np.where(event_on[idx], 1.0 - (1.0 - theta[idx]) * decay, theta[idx] * decay)
        return np.where(before, 0.0, value)


# ---------------------------------------------------------------------- behaviours
@dataclass(frozen=True)
class Ripple:
    """Carrier ripple of the isolating converter: a sine, ``amplitude_pp_a`` peak to peak."""

    amplitude_pp_a: float
    frequency_hz: float
    phase_rad: float = 0.0

    def __call__(self, t: FloatArray) -> FloatArray:
        t = np.asarray(t, dtype=float)
        return (
            0.5
            * self.amplitude_pp_a
            * np.sin(2.0 * math.pi * self.frequency_hz * t + self.phase_rad)
        )

    def aperture_gain(self, aperture_s: float) -> float:
        """Share of the amplitude left after averaging over ``aperture_s`` (|sinc|)."""
        x = math.pi * self.frequency_hz * aperture_s
        return 1.0 if x < 1e-9 else abs(math.sin(x) / x)


@dataclass(eq=False)
class WarmUpDrift:
    """Warm-up drift ``A exp(-t_on / tau_w)``: ``A`` right after power-on from cold, fading as
    the unit warms up (and coming back as it cools while unpowered)."""

    unit: SimulatedUnit = field(repr=False)
    amplitude_a: float = 0.0
    tau_s: float = 300.0

    def __call__(self, t: FloatArray) -> FloatArray:
        return self.amplitude_a * (1.0 - self.unit.warm_fraction(t, self.tau_s))


@dataclass(eq=False)
class Dropouts:
    """Intermittent output: Poisson drop-outs to 0 A (rate ``rate_per_s``), each lasting
    ``U(min_s, max_s)``; reproducible from ``seed`` at every simulated time (drawn lazily in
    blocks of ``block_s``)."""

    rate_per_s: float
    min_s: float
    max_s: float
    seed: str
    block_s: float = 10.0

    def __post_init__(self) -> None:
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _block(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self._blocks:
            rng = seeded_rng("dropouts", self.seed, index)
            n = rng.poisson(self.rate_per_s * self.block_s)
            starts = np.sort(rng.uniform(index * self.block_s, (index + 1) * self.block_s, n))
            self._blocks[index] = (starts, starts + rng.uniform(self.min_s, self.max_s, n))
        return self._blocks[index]

    def intervals(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Drop-outs that overlap [t0, t1] (start, end), sorted by start."""
        span = max(self.max_s, 0.0)
        first = math.floor((t0 - span) / self.block_s)
        last = math.floor(t1 / self.block_s)
        parts = [self._block(i) for i in range(first, last + 1)]
        starts = np.concatenate([p[0] for p in parts])
        ends = np.concatenate([p[1] for p in parts])
        keep = (ends >= t0) & (starts <= t1)
        return starts[keep], ends[keep]

    def __call__(self, t: FloatArray) -> FloatArray:
        times = np.atleast_1d(np.asarray(t, dtype=float))
        if times.size == 0:
            return np.ones(0)
        starts, ends = self.intervals(float(times.min()), float(times.max()))
        if starts.size == 0:
            return np.ones(times.shape)
        idx = np.searchsorted(starts, times, side="right") - 1
        reach = np.maximum.accumulate(ends)  # latest end of any drop-out started so far
        inside = (idx >= 0) & (times < reach[np.clip(idx, 0, None)])
        return np.where(inside, 0.0, 1.0)
