"""The Rigol DP821 supply and DL3021 load over pyvisa-py sockets, driven by our drivers.

The direct bench with the second-model supply and load: DP821 CH1 at 24 V, DL3021 CR 600 ohm,
the 2450 sourcing 4 and 20 mA, the 34465A reading the loop current. Checked against the
simulated world (not against our own drivers): the load voltage is the loop current times
the load's true resistance, the supply's readback is within the DP821A's +-(0.15 % + 10 mA)
of the module's true draw, and the instruments end in a verified safe state.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from bench.sim.bench import SimBench
from drivers.registry import open_driver
from drivers.rigol_dl3021 import RigolDL3021
from drivers.rigol_dp821 import RigolDP821
from drivers.roles import CurrentSource, Dmm
from drivers.transport import VisaTransport
from tests.sim._rigol import rigol_bench


@pytest.fixture
def bench() -> Iterator[SimBench]:
    sim = rigol_bench("RIGOL-0001").start()
    try:
        yield sim
        assert sim.internal_errors() == []
    finally:
        sim.stop()


def test_dp821_and_dl3021_power_and_load_the_module(bench: SimBench) -> None:
    res = bench.resources
    supply = RigolDP821(VisaTransport(res["supply"], name="supply (Rigol DP821)"))
    load = RigolDL3021(VisaTransport(res["load"], name="load (Rigol DL3021)"))
    source = open_driver("source", "keithley2450", res["source"])
    dmm = open_driver("dmm", "keysight34465a", res["dmm"])
    assert isinstance(source, CurrentSource) and isinstance(dmm, Dmm)
    drivers = (supply, load, source, dmm)
    try:
        for driver in drivers:
            driver.initialize()
        assert supply.identity is not None and supply.identity.model == "DP821A"
        assert load.identity is not None and load.identity.model == "DL3021"

        supply.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=33.0)
        load.configure_resistance(600.0)
        source.configure(voltage_limit_v=5.0)
        dmm.configure_dc_current(range_a=0.1, nplc=1.0)
        dmm.set_trigger_delay(0.2)  # settling, on the simulator's clock
        supply.enable_output()
        load.enable_input()
        source.enable_output()
        for level_a in (0.004, 0.020):
            source.set_current(level_a)
            i_loop = dmm.read()
            assert i_loop == pytest.approx(level_a, rel=2e-3)
            v_load = load.measure_voltage()
            with bench.world.lock:
                now = np.array([bench.world.clock.now])
                true_ohm = float(bench.world.load_ohm_at(now)[0])
                true_a = bench.world.supply_current_a()
            assert v_load == pytest.approx(i_loop * true_ohm, rel=2e-3)
            assert true_ohm == pytest.approx(600.0, rel=0.01)  # CR accuracy [E]
            supply_a = supply.measure_current()
            assert supply_a == pytest.approx(true_a, abs=supply.current_accuracy(true_a).offset)
            assert supply.measure_voltage() == pytest.approx(24.0, abs=0.05)
        for driver in drivers:
            driver.check_health()
        assert supply.protection_tripped() is None

        source.safe_state()
        load.safe_state()
        supply.safe_state()
        dmm.safe_state()
        for driver in drivers:
            assert driver.safe_state_problems() == []
        assert not any(bench.outputs_on().values())
    finally:
        for driver in drivers:
            driver.close()


def test_a_supply_ocp_trip_is_reported_by_the_health_check(bench: SimBench) -> None:
    supply = RigolDP821(VisaTransport(bench.resources["supply"], name="supply (Rigol DP821)"))
    try:
        supply.initialize()
        supply.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=33.0)
        supply.enable_output()
        with bench.world.lock:
            bench.instruments["supply"].trip("OCP")  # type: ignore[attr-defined]
        assert supply.protection_tripped() == "OCP"
        with pytest.raises(Exception, match="over-current protection tripped"):
            supply.check_health()
    finally:
        supply.safe_state()
        supply.close()
