"""The Keithley 2400 driver against the simulated 2400 through the real socket path (pyvisa-py,
TCP, the simulator's server), in the bench session with the safety envelope: what a station
with a 2400 does before and around an inspection."""

from __future__ import annotations

import pytest

from bench.safety import SafetyError
from bench.session import BenchSession
from bench.sim.bench import SimBench, SimBenchConfig, is_safe
from drivers import capabilities as cap
from drivers.keithley2400 import Keithley2400
from procedures.profile import builtin_profile


@pytest.mark.parametrize("topology", ["direct", "shunt-scan"])
def test_a_session_sources_reads_back_steps_and_ends_safe(topology: str) -> None:
    from bench.safety import SafetyEnvelope

    config = SimBenchConfig(serial="S2400-1", topology=topology, models={"source": "keithley2400"})
    profile = builtin_profile()
    with SimBench(config) as sim:
        station = sim.station()
        assert station.instruments["source"].model == "keithley2400"

        def envelope(supply_v: float) -> SafetyEnvelope:
            return SafetyEnvelope.build(station.limits, profile.ratings, supply_v)

        with BenchSession(station, envelope) as session:
            driver = session.drivers["source"]
            assert isinstance(driver, Keithley2400)
            assert driver.identity is not None and driver.identity.model == "MODEL 2400"
            source = session.source
            assert source.has(cap.TRIGGER_OUT) and source.has(cap.DIGITAL_OUT)
            session.supply.configure(voltage_v=24.0)
            session.supply.enable_output()
            session.load.configure_resistance(250.0)
            session.load.enable_input()
            source.configure(voltage_limit_v=5.0)
            source.set_current(0.02)
            source.enable_output()
            reading = source.measure()
            truth = sim.world.input_a
            assert reading.current_a == pytest.approx(
                truth, abs=reading.current_accuracy.half_width(truth)
            )
            assert reading.current_a != 0.02
            assert 0.5 < reading.voltage_v < 2.0
            assert not source.in_compliance()
            with pytest.raises(SafetyError):
                source.set_current(0.06)  # above the module's 50 mA rating
            source.configure_trigger_output(1)
            fired: list[float] = []
            sim.world.trigger_listeners.append(fired.append)
            source.step_with_trigger(0.004)
            assert len(fired) == 1 and sim.world.source_demand_a == pytest.approx(0.004, rel=2e-3)
            source.set_digital_output(2, True)
            assert sim.instruments["source"].state.ttl_pattern == 0b1101
            source.set_digital_output(2, False)
        assert session.safe_state_report is not None and session.safe_state_report.verified
        assert is_safe(sim)
        assert sim.internal_errors() == []
