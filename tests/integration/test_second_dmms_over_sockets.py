"""The second DMM models over pyvisa-py sockets with their real drivers.

Keithley 2000 + 2000-SCAN on the shunt-scan bench: supply 24 V, load 250 ohm, source 10 mA;
channels 1 and 2 (100 ohm input and output shunts) read 1.0 V each within the module's 0.1 %
class. Keysight 34461A on the direct bench: the output current through its 100 mA range,
10 mA within 0.1 %; and one externally triggered reading 30 ms after a 2 -> 18 mA step
(19 nominal time constants) reads 18 mA.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from bench.sim.bench import SimBench, SimBenchConfig
from drivers.keithley2000 import Keithley2000
from drivers.keysight34461a import Keysight34461A
from drivers.registry import open_driver
from drivers.roles import Role

ROLES = ("source", "dmm", "supply", "load")


@pytest.fixture
def drivers(request: pytest.FixtureRequest) -> Iterator[tuple[SimBench, dict[str, Role]]]:
    topology, dmm = request.param
    with SimBench(SimBenchConfig(topology=topology, models={"dmm": dmm})) as sim:
        opened = {role: open_driver(role, sim.models[role], sim.resources[role]) for role in ROLES}
        try:
            for driver in opened.values():
                driver.initialize()
            supply, load, source = opened["supply"], opened["load"], opened["source"]
            supply.configure(voltage_v=24.0, current_limit_a=0.1, ovp_v=30.0)  # type: ignore[attr-defined]
            load.configure_resistance(250.0)  # type: ignore[attr-defined]
            source.configure(voltage_limit_v=5.0)  # type: ignore[attr-defined]
            supply.enable_output()  # type: ignore[attr-defined]
            load.enable_input()  # type: ignore[attr-defined]
            source.enable_output()  # type: ignore[attr-defined]
            source.set_current(0.010, range_a=0.1)  # type: ignore[attr-defined]
            yield sim, opened
            for role in ("source", "load", "supply", "dmm"):
                opened[role].safe_state()
            assert all(opened[role].safe_state_problems() == [] for role in ROLES)
            assert sim.internal_errors() == []
        finally:
            for driver in opened.values():
                driver.close()


@pytest.mark.parametrize("drivers", [("shunt-scan", "keithley2000")], indirect=True)
def test_keithley_2000_reads_the_shunts_through_the_card(drivers) -> None:
    _sim, opened = drivers
    dmm = opened["dmm"]
    assert isinstance(dmm, Keithley2000) and dmm.identity is not None
    dmm.configure_channels([1, 2], range_v=10.0, nplc=1.0)
    dmm.set_trigger_delay(0.2)  # settling, on the simulator's clock
    dmm.select_channel(1)
    v_in = dmm.read_many(5)
    dmm.select_channel(2)
    v_out = dmm.read_many(5)
    assert float(np.mean(v_in)) == pytest.approx(1.0, rel=2e-3)
    assert float(np.mean(v_out)) / float(np.mean(v_in)) == pytest.approx(1.0, abs=1e-3)
    assert np.std(v_out) < 1e-4


@pytest.mark.parametrize("drivers", [("direct", "keysight34461a")], indirect=True)
def test_keysight_34461a_reads_the_output_loop_and_a_triggered_reading(drivers) -> None:
    _sim, opened = drivers
    dmm, source = opened["dmm"], opened["source"]
    assert isinstance(dmm, Keysight34461A)
    dmm.configure_dc_current(range_a=0.1, nplc=1.0)
    dmm.set_trigger_delay(0.2)
    assert float(np.mean(dmm.read_many(5))) == pytest.approx(0.010, rel=1e-3)
    source.configure_trigger_output(1)  # type: ignore[attr-defined]
    source.set_current(0.002, range_a=0.1)  # type: ignore[attr-defined]
    dmm.configure_dc_current(range_a=0.1, nplc=0.02, autozero=False)
    dmm.configure_triggered_reading(trigger="immediate", delay_s=0.1)  # settle at 2 mA
    dmm.arm()
    assert float(dmm.fetch()[0]) == pytest.approx(0.002, rel=5e-3)
    dmm.configure_triggered_reading(trigger="external", delay_s=0.03)
    dmm.arm()
    source.step_with_trigger(0.018)  # type: ignore[attr-defined]
    assert float(dmm.fetch()[0]) == pytest.approx(0.018, rel=2e-3)
