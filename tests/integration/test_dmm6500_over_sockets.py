"""The shunt-scan bench over pyvisa-py sockets: real drivers, DMM6500 reading shunt channels.

Supply 24 V, load 250 ohm, source 10 mA; channel 1 (input shunt) and channel 2 (output shunt)
read through the DMM6500's scanner give I_in and I_out; the module transfers 1:1 within its
0.1 % class, and the two shunts are equal within 0.01 % each.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from bench.sim.bench import SimBench, SimBenchConfig
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.registry import open_driver
from drivers.roles import CurrentSource, Load, Role, Supply

ROLES = ("source", "dmm", "supply", "load")


@pytest.fixture
def scan_bench() -> Iterator[SimBench]:
    bench = SimBench(SimBenchConfig(topology="shunt-scan")).start()
    try:
        yield bench
    finally:
        bench.stop()


def test_dmm6500_reads_input_and_output_shunts(scan_bench: SimBench) -> None:
    assert scan_bench.models["dmm"] == "keithley-dmm6500"
    drivers: dict[str, Role] = {
        role: open_driver(role, scan_bench.models[role], scan_bench.resources[role])
        for role in ROLES
    }
    try:
        for driver in drivers.values():
            driver.initialize()
        source, dmm = drivers["source"], drivers["dmm"]
        supply, load = drivers["supply"], drivers["load"]
        assert isinstance(source, CurrentSource) and isinstance(dmm, KeithleyDMM6500)
        assert isinstance(supply, Supply) and isinstance(load, Load)
        assert dmm.identity is not None and dmm.identity.model == "MODEL DMM6500"

        supply.configure(voltage_v=24.0, current_limit_a=0.1, ovp_v=30.0)
        load.configure_resistance(250.0)
        source.configure(voltage_limit_v=5.0)
        supply.enable_output()
        load.enable_input()
        source.enable_output()
        source.set_current(0.010)

        dmm.configure_channels([1, 2, 3], range_v=10.0, nplc=1.0)
        dmm.set_trigger_delay(0.2)  # settling, modelled on the simulator's clock
        dmm.select_channel(1)
        v_in = dmm.read_many(5)
        dmm.select_channel(2)
        v_out = dmm.read_many(5)
        i_in = float(np.mean(v_in)) / 100.0
        i_out = float(np.mean(v_out)) / 100.0
        assert i_in == pytest.approx(0.010, rel=2e-3)
        assert i_out / i_in == pytest.approx(1.0, abs=1e-3)
        assert np.std(v_out) < 1e-4  # a 6.5-digit reading, not noise

        for role in ("source", "load", "supply", "dmm"):
            drivers[role].safe_state()
        for role in ROLES:
            assert drivers[role].safe_state_problems() == []
        assert scan_bench.internal_errors() == []
    finally:
        for driver in drivers.values():
            driver.close()
