"""The reference numpy model of the 857-411 (procedures/model.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from procedures.model import NOMINAL, NOMINAL_TAU_S, ModuleModel, ModuleParameters


def test_nominal_is_the_datasheet_module() -> None:
    assert NOMINAL_TAU_S == pytest.approx(1.0 / (2 * math.pi * 100.0))
    assert NOMINAL.limit_frequency_hz() == pytest.approx(100.0)
    inputs = np.array([0.0, 4e-3, 12e-3, 20e-3])
    np.testing.assert_allclose(NOMINAL.static_output_a(inputs), inputs)  # identity transfer


def test_first_order_rise_time_is_tau_ln_9() -> None:
    """docs/metrology.md 1.5: t90 - t10 = tau ln 9 = 3.497 ms for f_c 100 Hz (datasheet 3.5 ms)."""
    assert NOMINAL.rise_time_s() == pytest.approx(NOMINAL_TAU_S * math.log(9.0), rel=1e-9)
    assert NOMINAL.rise_time_s() == pytest.approx(3.497e-3, abs=1e-6)
    slow = ModuleModel(ModuleParameters(tau_s=3e-3))
    assert slow.rise_time_s() == pytest.approx(3e-3 * math.log(9.0))


def test_settling_to_0_1_percent_is_6_9_tau() -> None:
    assert NOMINAL.settling_time_s(1e-3) == pytest.approx(NOMINAL_TAU_S * math.log(1000.0))
    assert NOMINAL.settling_time_s(1e-3) == pytest.approx(10.99e-3, abs=0.01e-3)


def test_two_equal_poles_match_the_metrology_table() -> None:
    """docs/metrology.md 1.5: two equal real poles at 155.4 Hz: t10 0.545, t90 3.984, f_c 100 Hz."""
    tau = 1.0 / (2 * math.pi * 155.4)
    model = ModuleModel(ModuleParameters(tau_s=tau, tau2_s=tau))
    t10, t90 = model.crossing_times_s([0.1, 0.9])
    assert t10 == pytest.approx(0.545e-3, abs=2e-6)
    assert t90 == pytest.approx(3.984e-3, abs=2e-6)
    assert model.limit_frequency_hz() == pytest.approx(100.0, rel=2e-3)


def test_limit_frequency_of_two_poles_is_where_the_gain_is_minus_3_db() -> None:
    p = ModuleParameters(tau_s=1.2e-3, tau2_s=0.4e-3)
    f = ModuleModel(p).limit_frequency_hz()
    w = 2 * math.pi * f
    gain = 1.0 / math.sqrt((1 + (w * p.tau_s) ** 2) * (1 + (w * p.tau2_s) ** 2))
    assert gain == pytest.approx(1 / math.sqrt(2), rel=1e-9)


def test_dead_time_delays_the_response() -> None:
    model = ModuleModel(ModuleParameters(dead_time_s=0.5e-3))
    t = np.array([0.0, 0.4e-3, 0.5e-3, 0.5e-3 + NOMINAL_TAU_S])
    h = model.unit_step_response(t)
    assert h[0] == h[1] == h[2] == 0.0
    assert h[3] == pytest.approx(1 - math.exp(-1))


def test_step_response_broadcasts_and_clips_to_the_compliance() -> None:
    t = np.linspace(0, 20e-3, 201)
    y = NOMINAL.step_response_a(t, 2e-3, 18e-3)
    assert y.shape == t.shape and y[0] == pytest.approx(2e-3)
    assert y[-1] == pytest.approx(18e-3 - 16e-3 * math.exp(-20e-3 / NOMINAL_TAU_S), rel=1e-12)
    # 20 mA into 1000 ohm needs 20 V: the 13.5 V output stage clamps at 13.5 mA
    assert NOMINAL.static_output_a(20e-3, load_ohm=1000.0) == pytest.approx(13.5e-3)
    assert NOMINAL.static_output_a(20e-3, load_ohm=600.0) == pytest.approx(20e-3)


def test_vectorised_over_inputs_supplies_and_loads() -> None:
    inputs = np.array([4e-3, 20e-3])[:, None, None]
    supplies = np.array([16.8, 24.0, 31.2])[None, :, None]
    loads = np.array([100.0, 250.0, 600.0])[None, None, :]
    out = NOMINAL.static_output_a(inputs, supplies, loads)
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out[1], 20e-3)


def test_no_output_without_supply() -> None:
    assert NOMINAL.static_output_a(20e-3, supply_v=0.0) == 0.0
    assert NOMINAL.static_output_a(20e-3, supply_v=10.0) == 0.0  # below UVLO


def test_supply_current_models() -> None:
    """docs/metrology.md 6.4: DC/DC about 23 mA at 24 V / 20 mA; linear I_q + k I_out."""
    assert NOMINAL.supply_current_a(20e-3, 24.0) == pytest.approx(22.9e-3, abs=0.1e-3)
    assert NOMINAL.supply_current_a(20e-3, 16.8) > NOMINAL.supply_current_a(20e-3, 31.2)
    linear = ModuleModel(ModuleParameters(supply_model="linear"))
    assert linear.supply_current_a(20e-3, 16.8) == linear.supply_current_a(20e-3, 31.2)
    assert linear.supply_current_a(20e-3, 24.0) == pytest.approx(0.005 + 0.95 * 20e-3)


def test_static_errors_follow_their_parameters() -> None:
    p = ModuleParameters(gain_error=1e-3, offset_a=2e-6, bow_a=5e-6, hysteresis_a=2e-6)
    model = ModuleModel(p)
    assert model.transfer_a(20e-3) == pytest.approx(20e-3 * 1.001 + 2e-6)
    assert model.transfer_a(10e-3) == pytest.approx(10e-3 * 1.001 + 2e-6 - 5e-6)  # bow peak
    up = model.transfer_a(10e-3, direction=1.0)
    down = model.transfer_a(10e-3, direction=-1.0)
    assert down - up == pytest.approx(2e-6)
