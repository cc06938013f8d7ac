"""Once-autozero, held-zero drift and overlapped readings on every simulated DMM, driven by
its real driver over an in-process transport.

Expected: the zero takes one integration (Truevolt guide ``ZERO:AUTO ONCE``; TTI
``:AZERo:ONCE``; Keithley 2000 integration-rate detour, 0.01 PLC + the present rate); a
reading with autozero off takes one integration instead of two; the held zero drifts by less
than the manual's autozero-off figure within its window (bench/sim/zero_drift.py: at most 0.4
of it) and by more than it (at least 2.4 of it) twenty windows later; ``start_readings`` lets
another instrument work during the integration, so the two take the longer of their times,
not the sum; a misspelt once-command gives the manual's error (-224 illegal parameter value,
-113 undefined header).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from bench.sim.instrument import SimInstrument
from bench.sim.instruments.keithley2000 import Keithley2000 as Sim2000
from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keithley_dmm6500 import KeithleyDMM6500 as SimDMM6500
from bench.sim.instruments.keysight34461a import Keysight34461A as Sim34461A
from bench.sim.instruments.keysight34465a import Keysight34465A as Sim34465A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from drivers.keithley2000 import Keithley2000
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.keysight34461a import Keysight34461A
from drivers.keysight34465a import Keysight34465A
from drivers.roles import Dmm
from tests.sim._helpers import drain_errors, error_code, query, send

LINE_S = 1.0 / 50.0  # one power-line cycle at the world's 50 Hz


class SimTransport:
    """The driver's messages straight into a simulated instrument's ``process``."""

    name = "sim"

    def __init__(self, inst: SimInstrument) -> None:
        self.inst = inst

    def write(self, command: str) -> None:
        assert self.inst.process(command) is None, command

    def query(self, command: str) -> str:
        reply = self.inst.process(command)
        assert reply is not None, command
        return reply

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Model:
    name: str
    sim: type
    driver: type
    shunt_scan: bool
    #: integrations (at 1 PLC) the driver's autozero_once takes
    once_plc: float
    #: messages autozero_once sends (each takes the simulator's command overhead)
    once_messages: int
    bad_once: str
    bad_code: int


MODELS = [
    Model("34465A", Sim34465A, Keysight34465A, False, 1.0, 2, "VOLT:ZERO:AUTO ONC", -224),
    Model("34461A", Sim34461A, Keysight34461A, False, 1.0, 2, "VOLT:DC:ZERO:AUTO ONC", -224),
    Model("DMM6500", SimDMM6500, KeithleyDMM6500, True, 1.0, 4, ":SENS:AZER:ONC", -113),
    Model("2000", Sim2000, Keithley2000, True, 1.01, 4, ":SYST:AZER:STAT ONCE", -224),
]


@dataclass
class Rig:
    world: World
    sim: SimInstrument
    dmm: Dmm
    smu: Keithley2450

    def elapsed(self, action: Callable[[], object]) -> float:
        t0 = self.world.clock.now
        action()
        return self.world.clock.now - t0


def rig(model: Model, seed: int = 0, nplc: float = 1.0) -> Rig:
    wiring = Wiring.shunt_scan() if model.shunt_scan else Wiring()
    world = World(SimulatedUnit(), wiring, seed=seed)
    sim = model.sim(world)
    smu = Keithley2450(world)
    dmm = model.driver(SimTransport(sim))
    dmm.initialize()
    dmm.configure_dc_voltage(range_v=10.0, nplc=nplc, autozero=True)
    return Rig(world, sim, dmm, smu)


@pytest.fixture(params=MODELS, ids=lambda m: m.name)
def model(request: pytest.FixtureRequest) -> Model:
    return request.param


def test_the_once_zero_takes_one_integration(model: Model) -> None:
    r = rig(model)
    took = r.elapsed(r.dmm.autozero_once)
    overhead = model.once_messages * r.sim.command_overhead_s
    assert took - overhead == pytest.approx(model.once_plc * LINE_S, abs=1e-9)
    assert drain_errors(r.sim) == []


def test_a_reading_with_autozero_off_takes_half_the_time(model: Model) -> None:
    r = rig(model)
    r.dmm.read_many(10)  # sends the trigger settings once
    with_az = r.elapsed(lambda: r.dmm.read_many(10))
    r.dmm.autozero_once()
    without = r.elapsed(lambda: r.dmm.read_many(10))
    assert with_az - without == pytest.approx(10 * LINE_S, rel=0.02)  # one integration each
    assert without / with_az < 0.6  # half, plus the per-reading overhead
    assert r.dmm.reading_time_s() == pytest.approx(without / 10, rel=0.2)


def _mean(r: Rig, n: int = 20) -> float:
    return float(np.mean(r.dmm.read_many(n)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_held_zero_drifts_inside_the_figure_within_the_window_and_beyond_it_later(
    model: Model, seed: int
) -> None:
    r = rig(model, seed, nplc=10.0)  # 10 PLC: the noise of a 20-reading mean is ~2 uV
    baseline = _mean(r)  # autozero on: the calibrated offset only (nothing on the input)
    r.dmm.autozero_once()
    figure, hold = r.dmm.autozero_off_error(), r.dmm.autozero_hold_s()
    assert _mean(r) - baseline == pytest.approx(0.0, abs=0.3 * figure)
    r.world.clock.advance(0.98 * hold)
    inside = _mean(r) - baseline
    assert abs(inside) < figure
    r.world.clock.advance(20 * hold)
    later = _mean(r) - baseline
    assert abs(later) > 2 * figure


def test_the_drift_is_reproducible_under_the_world_seed(model: Model) -> None:
    def drifted(seed: int) -> float:
        r = rig(model, seed)
        r.dmm.autozero_once()
        r.world.clock.advance(5 * r.dmm.autozero_hold_s())
        return _mean(r)

    assert drifted(3) == drifted(3)


def test_readings_overlap_another_instruments_measurement(model: Model) -> None:
    r = rig(model)
    send(r.smu, ':SENS:FUNC "CURR";:SENS:CURR:NPLC 10')
    smu_alone = r.elapsed(lambda: query(r.smu, ":READ?"))

    def dmm_only() -> None:
        r.dmm.start_readings(5)
        r.dmm.fetch_readings()

    dmm_only()  # the trigger settings go once
    dmm_alone = r.elapsed(dmm_only)

    def both() -> None:
        r.dmm.start_readings(5)
        query(r.smu, ":READ?")
        assert len(r.dmm.fetch_readings()) == 5

    together = r.elapsed(both)
    assert smu_alone > 0.15 and dmm_alone > 0.15  # 10 PLC, and 5 x 2 x 1 PLC
    assert together == pytest.approx(max(smu_alone, dmm_alone), abs=5e-3)
    assert together < 0.75 * (smu_alone + dmm_alone)


def test_read_many_still_matches_start_and_fetch(model: Model) -> None:
    r = rig(model)
    assert len(r.dmm.read_many(3)) == 3
    r.dmm.start_readings(3)
    assert len(r.dmm.fetch_readings()) == 3


def test_a_misspelt_once_command_gives_the_manuals_error(model: Model) -> None:
    r = rig(model)
    r.sim.process(model.bad_once)
    assert error_code(query(r.sim, "SYST:ERR?")) == model.bad_code
