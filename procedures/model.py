"""Reference numpy model of a current isolation amplifier (WAGO 857-411 nominal by default).

The nominal instance is *the* reference the inspection compares every measurement with; the
simulator builds its units as this same model with per-unit deviations, so the model is the
reference and a simulated unit is not.

Physics (metrology.md sections 1.5 and 6, [E] where the datasheet is silent):

* static transfer  ``I_t = I_in (1 + g) + o - 4 b x (1 - x) + h d + k_S (U_s - 24 V)
  - I R_L / R_o + TC terms``  with ``x = I_in / URV``, ``d`` the approach direction (+1 up,
  -1 down) and ``h`` half the hysteresis;
* dynamics: first-order low-pass ``tau = 1 / (2 pi f_c)`` with ``f_c = 100 Hz`` (3.5 ms
  10-90 % rise time), optional second pole ``tau2`` and dead time;
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
    def unit_step_response(self, t_s: ArrayLike) -> FloatArray:
        """Normalised step response h(t) (0 -> 1) including dead time and the second pole."""
        p = self.params
        t = np.asarray(t_s, dtype=float) - p.dead_time_s
        tp = np.maximum(t, 0.0)
        tau1, tau2 = p.tau_s, p.tau2_s
        if tau2 <= 0.0:
            h = 1.0 - np.exp(-tp / tau1)
        elif abs(tau1 - tau2) < 1e-12 * tau1:
            h = 1.0 - (1.0 + tp / tau1) * np.exp(-tp / tau1)
        else:
            h = 1.0 - (tau1 * np.exp(-tp / tau1) - tau2 * np.exp(-tp / tau2)) / (tau1 - tau2)
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
        if p.tau2_s <= 0.0:
            return p.dead_time_s + p.tau_s * math.log(1.0 / band)
        return _settling_time_two_pole(p, band)

    def crossing_times_s(self, levels: list[float]) -> list[float]:
        p = self.params
        if p.tau2_s <= 0.0:
            return [p.dead_time_s - p.tau_s * math.log(1.0 - lv) for lv in levels]
        t = np.linspace(0.0, 40.0 * (p.tau_s + p.tau2_s) + p.dead_time_s, 200_001)
        h = self.unit_step_response(t)
        return [float(np.interp(lv, h, t)) for lv in levels]

    def limit_frequency_hz(self) -> float:
        """-3 dB frequency of the linear dynamics (dead time does not change the magnitude)."""
        p = self.params
        if p.tau2_s <= 0.0:
            return 1.0 / (2.0 * math.pi * p.tau_s)
        # |H|^2 = 1 / ((1 + (w t1)^2)(1 + (w t2)^2)) = 1/2  -> quadratic in w^2
        a = (p.tau_s * p.tau2_s) ** 2
        b = p.tau_s**2 + p.tau2_s**2
        w2 = (-b + math.sqrt(b * b + 4.0 * a)) / (2.0 * a)
        return math.sqrt(w2) / (2.0 * math.pi)


@functools.lru_cache(maxsize=1024)
def _settling_time_two_pole(params: ModuleParameters, band: float) -> float:
    """Numerical settling time of the two-pole response (cached: parameters are immutable)."""
    model = ModuleModel(params)
    t = np.linspace(0.0, 40.0 * (params.tau_s + params.tau2_s) + params.dead_time_s, 200_001)
    outside = np.nonzero(np.abs(1.0 - model.unit_step_response(t)) > band)[0]
    return float(t[outside[-1] + 1]) if len(outside) else 0.0


NOMINAL = ModuleModel()
