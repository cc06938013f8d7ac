"""Reference numpy model of a current isolation amplifier (WAGO 857-411 nominal by default).

The nominal instance is *the* reference the inspection compares every measurement with; the
simulator builds its units as this same model with per-unit deviations, so the model is the
reference and a simulated unit is not.

Physics (docs/metrology.md sections 1.5 and 6, [E] where the datasheet is silent):

* static transfer  ``I_t = I_in (1 + g) + o - 4 b x (1 - x) + h d + k_S (U_s - 24 V)
  - I R_L / R_o + TC terms``  with ``x = I_in / URV``, ``d`` the approach direction (+1 up,
  -1 down) and ``h`` half the hysteresis;
* dynamics: first-order low-pass ``tau = 1 / (2 pi f_c)`` with ``f_c = 100 Hz`` (3.5 ms
  10-90 % rise time), optional second real pole ``tau2``, optional resonant second-order stage
  (natural frequency ``resonance_hz``, damping ratio ``resonance_damping``) and dead time: an
  all-pole transfer function ``H(s) = e^(-s t_d) prod(-p_i) / prod(s - p_i)`` with unit DC gain
  (docs/metrology.md section 5);
* output stage: ``0 <= I_out <= min(I_clamp, V_compliance / R_loop)``, nothing without supply
  (under-voltage lock-out);
* supply current: isolated DC/DC (constant power) ``I_s = (P0 + V_rail I_out / eta) / U_s`` or
  linear ``I_s = I_q + k I_out``.

Every function broadcasts over numpy arrays of inputs, supplies, loads and times.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

NOMINAL_LIMIT_FREQUENCY_HZ = 100.0
NOMINAL_TAU_S = 1.0 / (2.0 * math.pi * NOMINAL_LIMIT_FREQUENCY_HZ)


@dataclass(frozen=True)
class ModuleParameters:
    """Parameters of one module; defaults are the nominal 857-411 (datasheet + [E] values)."""

    urv_a: float = 0.020
    gain_error: float = 0.0  # relative, I_out = I_in (1 + gain_error)
    offset_a: float = 0.0
    bow_a: float = 0.0  # peak deviation at mid-scale, zero at 0 and URV
    hysteresis_a: float = 0.0  # output(down) - output(up) at the same input
    tau_s: float = NOMINAL_TAU_S
    tau2_s: float = 0.0  # optional second pole
    dead_time_s: float = 0.0
    #: optional resonant second-order stage (0 = none): natural frequency and damping ratio
    resonance_hz: float = 0.0
    resonance_damping: float = 0.5
    output_compliance_v: float = 13.5  # voltage the output stage can drive (>= 12 V nominal)
    clamp_a: float = math.inf  # output current limit; not in the datasheet
    output_resistance_ohm: float = math.inf  # finite output impedance gives a load effect
    supply_coefficient_a_per_v: float = 0.0
    input_resistance_ohm: float = 35.0  # datasheet: <= 50 ohm
    supply_model: Literal["dcdc", "linear"] = "dcdc"
    quiescent_power_w: float = 0.15  # DC/DC model
    rail_v: float = 15.0
    efficiency: float = 0.75
    quiescent_current_a: float = 0.005  # linear model
    output_current_factor: float = 0.95
    uvlo_v: float = 14.0  # under-voltage lock-out of the supply input
    gain_tc_per_k: float = 0.0
    offset_tc_a_per_k: float = 0.0
    reference_temperature_c: float = 25.0
    nominal_supply_v: float = 24.0

    def with_(self, **changes: float | str) -> ModuleParameters:
        return replace(self, **changes)  # type: ignore[arg-type]


class ModuleModel:
    """Vectorised predictions for one parameter set."""

    def __init__(self, params: ModuleParameters | None = None) -> None:
        self.params = params or ModuleParameters()

    # ------------------------------------------------------------------ static behaviour
    def transfer_a(
        self,
        input_a: ArrayLike,
        supply_v: ArrayLike = 24.0,
        load_ohm: ArrayLike = 250.0,
        direction: ArrayLike = 0.0,
        temperature_c: ArrayLike | None = None,
    ) -> FloatArray:
        """Output the module aims for (before output-stage limits)."""
        p = self.params
        i = np.asarray(input_a, dtype=float)
        x = i / p.urv_a
        dt = 0.0 if temperature_c is None else np.asarray(temperature_c) - p.reference_temperature_c
        out = (
            i * (1.0 + p.gain_error + p.gain_tc_per_k * dt)
            + p.offset_a
            + p.offset_tc_a_per_k * dt
            - 4.0 * p.bow_a * x * (1.0 - x)
            + 0.5 * p.hysteresis_a * -np.sign(np.asarray(direction, dtype=float))
            + p.supply_coefficient_a_per_v
            * (np.asarray(supply_v, dtype=float) - p.nominal_supply_v)
        )
        if math.isfinite(p.output_resistance_ohm):
            out = out * (1.0 - np.asarray(load_ohm, dtype=float) / p.output_resistance_ohm)
        return np.asarray(out, dtype=float)

    def output_limit_a(self, loop_ohm: ArrayLike, supply_v: ArrayLike = 24.0) -> FloatArray:
        """Largest output current the output stage can drive into ``loop_ohm``."""
        p = self.params
        r = np.maximum(np.asarray(loop_ohm, dtype=float), 1e-9)
        limit = np.minimum(p.clamp_a, p.output_compliance_v / r)
        powered = np.asarray(supply_v, dtype=float) >= p.uvlo_v
        return np.where(powered, limit, 0.0)

    def static_output_a(
        self,
        input_a: ArrayLike,
        supply_v: ArrayLike = 24.0,
        load_ohm: ArrayLike = 250.0,
        direction: ArrayLike = 0.0,
        temperature_c: ArrayLike | None = None,
    ) -> FloatArray:
        """Settled output current for the given conditions (``load_ohm`` = whole loop)."""
        target = self.transfer_a(input_a, supply_v, load_ohm, direction, temperature_c)
        return np.clip(target, 0.0, self.output_limit_a(load_ohm, supply_v))

    def input_voltage_v(self, input_a: ArrayLike) -> FloatArray:
        return np.asarray(input_a, dtype=float) * self.params.input_resistance_ohm

    def supply_current_a(self, output_a: ArrayLike, supply_v: ArrayLike = 24.0) -> FloatArray:
        """Current the module draws from its supply while driving ``output_a``."""
        p = self.params
        out = np.asarray(output_a, dtype=float)
        us = np.asarray(supply_v, dtype=float)
        if p.supply_model == "dcdc":
            current = (p.quiescent_power_w + p.rail_v * out / p.efficiency) / np.maximum(us, 1e-3)
        else:
            current = p.quiescent_current_a + p.output_current_factor * out
        return np.where(us >= p.uvlo_v, current, 0.0)

    # ------------------------------------------------------------------ dynamics
    def poles(self) -> NDArray[np.complex128]:
        """Poles of the linear dynamics (rad/s): -1/tau, -1/tau2, the resonant pair."""
        return _poles(self.params.tau_s, self.params.tau2_s, *self._resonance())

    def _resonance(self) -> tuple[float, float]:
        p = self.params
        return (p.resonance_hz, p.resonance_damping) if p.resonance_hz > 0.0 else (0.0, 0.0)

    @property
    def first_order(self) -> bool:
        return self.params.tau2_s <= 0.0 and self.params.resonance_hz <= 0.0

    def unit_step_response(self, t_s: ArrayLike) -> FloatArray:
        """Normalised step response h(t) (0 -> 1) including dead time and every pole.

        Partial fractions of ``H(s) / s``: ``h(t) = 1 + sum_i r_i exp(p_i t)`` with
        ``r_i = prod_j(-p_j) / (p_i prod_{j != i}(p_i - p_j))`` (distinct poles; poles closer
        than 1e-9 relative are moved that far apart, a change far below any measurement).
        """
        p = self.params
        t = np.asarray(t_s, dtype=float) - p.dead_time_s
        tp = np.maximum(t, 0.0)
        h = 1.0 - np.exp(-tp / p.tau_s) if self.first_order else _step_from_poles(self.poles(), tp)
        return np.where(t > 0.0, h, 0.0)

    def step_response_a(
        self,
        t_s: ArrayLike,
        initial_a: float,
        final_a: float,
        supply_v: float = 24.0,
        load_ohm: float = 250.0,
    ) -> FloatArray:
        """Output versus time after an input step at t = 0 (settled before the step)."""
        y0 = self.transfer_a(initial_a, supply_v, load_ohm)
        y1 = self.transfer_a(final_a, supply_v, load_ohm, direction=np.sign(final_a - initial_a))
        y = y0 + (y1 - y0) * self.unit_step_response(t_s)
        return np.clip(y, 0.0, self.output_limit_a(load_ohm, supply_v))

    def rise_time_s(self) -> float:
        """10-90 % rise time of the step response (tau ln 9 for a first-order module)."""
        t10, t90 = self.crossing_times_s([0.1, 0.9])
        return t90 - t10

    def settling_time_s(self, band: float) -> float:
        """Time after the step until the response stays within ``band`` (relative) of final."""
        p = self.params
        if self.first_order:
            return p.dead_time_s + p.tau_s * math.log(1.0 / band)
        return _settling_time(p, band)

    def slowest_time_constant_s(self) -> float:
        """Decay time of the slowest mode, 1 / min |Re p| (what every residue fades with)."""
        return float(1.0 / np.min(np.abs(self.poles().real)))

    def crossing_times_s(self, levels: list[float]) -> list[float]:
        p = self.params
        if self.first_order:
            return [p.dead_time_s - p.tau_s * math.log(1.0 - lv) for lv in levels]
        t, h = _dense_response(p)
        rising = np.maximum.accumulate(h)  # first crossing, also for a ringing response
        return [float(np.interp(lv, rising, t)) for lv in levels]

    def gain(self, frequency_hz: ArrayLike) -> FloatArray:
        """|H(j 2 pi f)| (dead time does not change the magnitude)."""
        w = 2.0 * math.pi * np.asarray(frequency_hz, dtype=float)
        poles = self.poles()
        num = np.prod(np.abs(poles))
        den = np.prod(np.abs(1j * w[..., None] - poles), axis=-1)
        return np.asarray(num / den, dtype=float)

    def limit_frequency_hz(self) -> float:
        """-3 dB frequency: the frequency above which ``|H|`` stays below ``1 / sqrt 2``.

        One pole: ``1 / (2 pi tau)``; otherwise the last crossing of ``|H|^2 = 1/2`` on a
        logarithmic grid, refined by Brent's method (a resonant stage may first lift the gain
        above 1).
        """
        p = self.params
        if self.first_order:
            return 1.0 / (2.0 * math.pi * p.tau_s)
        return _limit_frequency(p)


def _poles(tau: float, tau2: float, f_n: float, zeta: float) -> NDArray[np.complex128]:
    poles = [complex(-1.0 / tau)]
    if tau2 > 0.0:
        poles.append(complex(-1.0 / tau2))
    if f_n > 0.0:
        w = 2.0 * math.pi * f_n
        if zeta < 1.0:
            wd = w * math.sqrt(1.0 - zeta * zeta)
            poles += [complex(-zeta * w, wd), complex(-zeta * w, -wd)]
        else:
            root = math.sqrt(zeta * zeta - 1.0)
            poles += [complex(-w * (zeta - root)), complex(-w * (zeta + root))]
    return np.array(poles, dtype=complex)


def _separated(poles: NDArray[np.complex128]) -> NDArray[np.complex128]:
    out = poles.copy()
    for i in range(len(out)):
        for j in range(i):
            if abs(out[i] - out[j]) < 1e-9 * abs(out[j]):
                out[i] = out[j] * (1.0 + 1e-9)
    return out


def _step_from_poles(poles: NDArray[np.complex128], tp: FloatArray) -> FloatArray:
    p = _separated(poles)
    gain = np.prod(-p)
    h = np.ones(tp.shape, dtype=complex)
    for i, pi in enumerate(p):
        others = np.prod([pi - pj for j, pj in enumerate(p) if j != i])
        h += gain / (pi * others) * np.exp(pi * tp)
    return np.asarray(h.real, dtype=float)


def _dense_response(params: ModuleParameters) -> tuple[FloatArray, FloatArray]:
    model = ModuleModel(params)
    span = 40.0 * model.slowest_time_constant_s() + params.dead_time_s
    t = np.linspace(0.0, span, 200_001)
    return t, model.unit_step_response(t)


@functools.lru_cache(maxsize=1024)
def _settling_time(params: ModuleParameters, band: float) -> float:
    """Numerical settling time (cached: parameters are immutable)."""
    t, h = _dense_response(params)
    outside = np.nonzero(np.abs(1.0 - h) > band)[0]
    return float(t[outside[-1] + 1]) if len(outside) else 0.0


@functools.lru_cache(maxsize=1024)
def _limit_frequency(params: ModuleParameters) -> float:
    from scipy.optimize import brentq

    model = ModuleModel(params)
    grid = np.geomspace(0.1, 1e7, 2001)
    excess = model.gain(grid) ** 2 - 0.5
    above = np.nonzero(excess >= 0.0)[0]
    if len(above) == 0:
        return float(grid[0])
    k = int(above[-1])
    if k == len(grid) - 1:
        return float(grid[-1])
    return float(brentq(lambda f: float(model.gain(f)) ** 2 - 0.5, grid[k], grid[k + 1], xtol=1e-9))


NOMINAL = ModuleModel()
