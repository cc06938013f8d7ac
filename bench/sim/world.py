"""The simulated bench's one physical world: the wiring between the instruments and the unit.

Input loop:   source HI -> [input shunt] -> module input (R_in) -> source LO
Output loop:  module output -> [output shunt] -> DMM current input (direct topology)
              -> electronic load (constant resistance) -> module output return
Supply:       supply + -> [supply shunt] -> module Us ; supply - -> module GND

Shunt-scan topology (docs/metrology.md 4.3): 4-wire shunts in the three loops are read by one DMM
through a 2-pole scanner card (``SCANNER_CHANNELS``), and a fixture relay driven by the
source's digital output line ``BYPASS_LINE`` bypasses the module so the same current flows
through the input and output shunts in series (in-situ shunt-ratio calibration).

Instruments never talk to each other; they change the world (a level, an output state) at
the simulated time of the command and read it back (a current, a voltage) averaged over their
own integration window. All access happens under ``lock`` (the server thread processes one
message at a time; tests may look in from another thread).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bench.sim.clock import SimClock
from bench.sim.unit import SimulatedUnit, UnitConditions
from bench.station import Wiring as StationWiring

#: the simulated fixture is the station file's default wiring (``bench.station.Wiring``): one
#: table of channels, lines, shunts and tolerance for the controller and the simulator
FIXTURE = StationWiring()

Topology = Literal["direct", "shunt-scan"]


def _simpson_weights(points: int) -> np.ndarray:
    """Weights of the composite Simpson rule on ``points`` (odd) equally spaced samples that
    give the mean over the window: an integrating meter reads the integral mean, and a plain
    average of the samples would overweight the window's ends (wrong on a fast edge)."""
    w = np.ones(points)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w / w.sum()


@dataclass(frozen=True)
class Wiring:
    """Fixed resistances of the bench wiring (ohm)."""

    topology: Topology = "direct"
    input_shunt_ohm: float = 0.0
    output_shunt_ohm: float = 0.0
    supply_shunt_ohm: float = 0.0
    lead_ohm: float = 0.04  # one 2-wire lead pair, terminals included

    @classmethod
    def shunt_scan(cls) -> Wiring:
        """docs/metrology.md 4.3: 100 ohm 4-wire shunts in both loops, 10 ohm in the supply line."""
        return cls(
            "shunt-scan",
            input_shunt_ohm=FIXTURE.input_shunt_ohm,
            output_shunt_ohm=FIXTURE.output_shunt_ohm,
            supply_shunt_ohm=FIXTURE.supply_shunt_ohm,
        )


#: scanner card channel -> what it is wired across (shunt-scan topology); channel 5, the module
#: input terminals, is the fixture's spare (not in the station's wiring)
SCANNER_CHANNELS = {
    FIXTURE.input_shunt_channel: "input shunt",
    FIXTURE.output_shunt_channel: "output shunt",
    FIXTURE.supply_shunt_channel: "supply shunt",
    FIXTURE.load_channel: "load terminals",
    5: "module input terminals",
}
#: the source's digital output line that drives the fixture's module-bypass relay
BYPASS_LINE = FIXTURE.bypass_line
#: shunt tolerance of the bench's precision resistors (+-0.01 %, docs/metrology.md 4.1 [E])
SHUNT_TOLERANCE = FIXTURE.shunt_tolerance


@dataclass
class SupplyState:
    on: bool = False
    set_v: float = 0.0
    current_limit_a: float = 1.0
    mode: Literal["OFF", "CV", "CC"] = "OFF"
    terminal_v: float = 0.0


@dataclass(frozen=True)
class LoopState:
    """The bench's piecewise-constant state from ``t`` on: what a record taken then saw.

    A digitised record may be fetched long after it was taken, when the levels have moved on;
    its samples must show the bench as it was at their own times.
    """

    t: float
    input_a: float
    dut_connected: bool
    input_resistance_ohm: float
    load_ohm: float  # 0 while the load's input is off (no current flows)
    supply_mode: str
    supply_limit_a: float
    module_supply_v: float


#: loop states kept for late fetches (a few hundred per inspection step)
HISTORY_LENGTH = 4096


@dataclass
class World:
    unit: SimulatedUnit
    wiring: Wiring = field(default_factory=Wiring)
    seed: int = 0
    ambient_c: float = 23.0
    line_frequency_hz: float = 50.0
    #: the clock follows the wall clock too (``isobench sim``; see ``bench.sim.clock``)
    realtime: bool = False

    def __post_init__(self) -> None:
        self.clock = SimClock(realtime=self.realtime)
        self.lock = threading.RLock()
        self.rng = np.random.default_rng(self.seed)
        # source (input loop)
        self.source_on = False
        self.source_demand_a = 0.0  # what the source tries to force (its setpoint incl. error)
        self.source_vlim_v = 21.0
        self.input_a = 0.0  # actual loop current
        self.source_in_compliance = False
        # supply
        self.supply = SupplyState()
        # load and meters in the output loop
        self.load_on = False
        self.load_ohm = math.inf
        #: a load in CC/CV/CP mode: module output target (A) -> the resistance it presents
        self.load_characteristic: Callable[[float, float], float] | None = None
        self.output_meter_burden_ohm = 0.0
        self.dut_connected = True  # False: in-situ shunt calibration relay bypasses the module
        # the bench's shunts are within their tolerance of nominal, fixed for this bench
        rng = np.random.default_rng(self.seed + 7919)
        self.shunt_ohm = {
            name: nominal * (1.0 + rng.uniform(-1.0, 1.0) * SHUNT_TOLERANCE)
            for name, nominal in (
                ("input", self.wiring.input_shunt_ohm),
                ("output", self.wiring.output_shunt_ohm),
                ("supply", self.wiring.supply_shunt_ohm),
            )
        }
        # trigger wiring: the source's digital output drives every listener's external input
        self.trigger_listeners: list[Callable[[float], None]] = []
        self.history: list[LoopState] = []

    # ------------------------------------------------------------------ topology helpers
    def input_loop_ohm(self) -> float:
        if not self.dut_connected:  # bypass: input shunt -> relay -> output shunt -> source LO
            return self.shunt_ohm["input"] + self.shunt_ohm["output"] + self.wiring.lead_ohm
        r_in = self.unit.params.input_resistance_ohm
        return r_in + self.shunt_ohm["input"] + self.wiring.lead_ohm

    def output_loop_ohm(self) -> float:
        if not self.load_on:
            return math.inf
        return (
            self.load_ohm
            + self.shunt_ohm["output"]
            + self.output_meter_burden_ohm
            + self.wiring.lead_ohm
        )

    def set_digital_line(self, line: int, state: bool) -> None:
        """The source's digital output lines drive the fixture (line 2: module bypass relay)."""
        if line == BYPASS_LINE and self.wiring.topology == "shunt-scan":
            self.dut_connected = not state
            self.refresh()

    # ------------------------------------------------------------------ instrument actions
    def set_source(self, on: bool, demand_a: float, vlim_v: float) -> None:
        self.source_on, self.source_demand_a, self.source_vlim_v = on, demand_a, vlim_v
        self.refresh()

    def set_supply(self, on: bool, voltage_v: float, current_limit_a: float) -> None:
        self.supply.on, self.supply.set_v, self.supply.current_limit_a = (
            on,
            voltage_v,
            current_limit_a,
        )
        self.refresh()

    def set_load(
        self,
        on: bool,
        resistance_ohm: float,
        characteristic: Callable[[float, float], float] | None = None,
    ) -> None:
        """Constant resistance, or a characteristic ``(I_target, R_other) -> R`` (CC, CV, CP
        loads) evaluated at every change of the bench (see ``load_operating_ohm``)."""
        self.load_on, self.load_ohm, self.load_characteristic = on, resistance_ohm, characteristic
        self.refresh()

    def _loop_other_ohm(self) -> float:
        """The output loop without the load: shunt, meter burden, leads."""
        return self.shunt_ohm["output"] + self.output_meter_burden_ohm + self.wiring.lead_ohm

    def _module_target_a(self) -> float:
        """The current the module's output stage drives when it is not limited (settled)."""
        supply = self.supply
        if not (supply.on and supply.set_v >= self.unit.params.uvlo_v) or not self.dut_connected:
            return self.input_a if not self.dut_connected else 0.0
        target = self.unit.model.transfer_a(
            self.input_a, supply.set_v, self._loop_other_ohm(), 0.0, self.ambient_c
        )
        return max(float(target), 0.0)

    def set_output_meter_burden(self, ohm: float) -> None:
        self.output_meter_burden_ohm = ohm
        self.refresh()

    def refresh(self) -> None:
        """Recompute loop currents and supply mode, and hand the unit its new conditions."""
        # input loop: a current source up to its voltage limit
        if self.source_on:
            r_in = self.input_loop_ohm()
            i_max = self.source_vlim_v / r_in
            self.source_in_compliance = abs(self.source_demand_a) > i_max
            self.input_a = float(np.clip(self.source_demand_a, -i_max, i_max))
        else:
            self.input_a, self.source_in_compliance = 0.0, False
        if self.load_on and self.load_characteristic is not None:
            self.load_ohm = self.load_characteristic(
                self._module_target_a(), self._loop_other_ohm()
            )
        loop = self.output_loop_ohm()
        module_input = self.input_a if self.dut_connected else 0.0
        # supply: constant voltage unless the module would need more than the current limit
        supply = self.supply
        if not supply.on:
            supply.mode, supply.terminal_v, module_supply = "OFF", 0.0, 0.0
        else:
            probe = UnitConditions(module_input, supply.set_v, loop, self.ambient_c)
            demand = self.unit.supply_demand_a(probe)
            if demand > supply.current_limit_a:
                # constant-power input stage collapses into under-voltage lock-out
                supply.mode, supply.terminal_v, module_supply = "CC", 0.0, 0.0
            else:
                series = self.shunt_ohm["supply"] + self.wiring.lead_ohm
                supply.mode, supply.terminal_v = "CV", supply.set_v
                module_supply = supply.set_v - demand * series
        self.unit.update(
            self.clock.now, UnitConditions(module_input, module_supply, loop, self.ambient_c)
        )
        self._remember(module_supply)

    def _remember(self, module_supply_v: float) -> None:
        state = LoopState(
            self.clock.now,
            self.input_a,
            self.dut_connected,
            self.unit.params.input_resistance_ohm,
            self.load_ohm if self.load_on else 0.0,
            self.supply.mode,
            self.supply.current_limit_a,
            module_supply_v,
        )
        if self.history and self.history[-1].t >= state.t:
            self.history[-1] = state  # several changes at one instant: the last one holds
        else:
            self.history.append(state)
        if len(self.history) > 2 * HISTORY_LENGTH:
            del self.history[:-HISTORY_LENGTH]

    def states_at(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Each ``LoopState`` field, as in force at each of ``times`` (one array per field;
        before the first state: the first state)."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        if not self.history:
            self.refresh()
        last = self.history[-1]
        if times.size and times.min() >= last.t:  # the usual case: now or later
            used, index = [last], np.zeros(times.shape, dtype=int)
        else:
            starts = np.fromiter((state.t for state in self.history), float, len(self.history))
            where = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, None)
            unique, index = np.unique(where, return_inverse=True)
            used = [self.history[i] for i in unique]
        return {
            name: np.array([getattr(state, name) for state in used])[index]
            for name in LoopState.__dataclass_fields__
        }

    # ------------------------------------------------------------------ what meters see
    def output_current_a(self, times: np.ndarray) -> np.ndarray:
        """Current in the output shunt: the module's output, or the input current in bypass."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        return self._output_current_a(times, self.states_at(times))

    def _output_current_a(self, times: np.ndarray, state: dict[str, np.ndarray]) -> np.ndarray:
        """``output_current_a`` with the loop states at ``times`` already looked up."""
        bypass = ~state["dut_connected"]
        if not bypass.any():
            return self.unit.output_a(times)
        if bypass.all():
            return state["input_a"]
        return np.where(bypass, state["input_a"], self.unit.output_a(times))

    def mean_output_currents_a(self, starts: np.ndarray, window_s: float) -> np.ndarray:
        """Mean output-loop current over integration windows of one length starting at ``starts``,
        with the module's noise for that window length (what an integrating meter reads)."""
        starts = np.asarray(starts, dtype=float)
        if not self.dut_connected:
            return np.full(starts.shape, self.input_a)
        grid = starts[:, None] + np.linspace(0.0, window_s, 17)[None, :]
        means = self.unit.output_a(grid.ravel()).reshape(grid.shape) @ _simpson_weights(17)
        noise = self.rng.normal(0.0, self.unit.noise_of_mean_a(window_s), len(starts))
        return np.where(means != 0.0, means + noise, 0.0)

    def supply_current_a(self) -> float:
        if self.supply.mode != "CV":
            return self.supply.current_limit_a if self.supply.mode == "CC" else 0.0
        return self.unit.supply_current_a(self.clock.now)

    def input_voltage_v(self, four_wire: bool) -> float:
        """Voltage the source senses at the module input (4-wire), plus leads without."""
        r = self.unit.params.input_resistance_ohm if self.dut_connected else 0.0
        if not four_wire:
            r += self.input_loop_ohm() - r
        return self.input_a * r

    # ------------------------------------------------------------------ scanner channels
    def channel_voltage_v(self, channel: int, times: np.ndarray) -> np.ndarray:
        """Noise-free voltage across a scanner channel's terminals at ``times``, each from the
        bench state in force at that time (``states_at``), so a late fetch sees the past."""
        times = np.atleast_1d(np.asarray(times, dtype=float))
        state = self.states_at(times)
        wired = SCANNER_CHANNELS.get(channel)
        if wired == "input shunt":
            return state["input_a"] * self.shunt_ohm["input"]
        if wired == "output shunt":
            return self._output_current_a(times, state) * self.shunt_ohm["output"]
        if wired == "supply shunt":
            modes = state["supply_mode"]
            out = self._output_current_a(times, state)
            cv = self.unit.model.supply_current_a(out, state["module_supply_v"])
            cc = np.where(modes == "CC", state["supply_limit_a"], 0.0)
            current = np.where(modes == "CV", np.asarray(cv, dtype=float), cc)
            return current * self.shunt_ohm["supply"]
        if wired == "load terminals":
            return self._output_current_a(times, state) * state["load_ohm"]
        if wired == "module input terminals":
            r_in = np.where(state["dut_connected"], state["input_resistance_ohm"], 0.0)
            return state["input_a"] * r_in
        return np.zeros(times.shape)  # an unwired channel reads 0 V (plus the meter's noise)

    def load_ohm_at(self, times: np.ndarray) -> np.ndarray:
        """The load resistance in force at ``times`` (0 while its input was off)."""
        return self.states_at(times)["load_ohm"]

    def channel_mean_v(self, channel: int, t0: float, t1: float) -> float:
        """Mean over an integration window, with the module's output noise where it appears."""
        if t1 > t0:
            mean = float(
                self.channel_voltage_v(channel, np.linspace(t0, t1, 65)) @ _simpson_weights(65)
            )
        else:
            mean = float(self.channel_voltage_v(channel, np.array([t0]))[0])
        wired = SCANNER_CHANNELS.get(channel)
        if wired in ("output shunt", "load terminals") and self.dut_connected and mean != 0.0:
            scale = self.shunt_ohm["output"] if wired == "output shunt" else self.load_ohm
            mean += float(self.rng.normal(0.0, self.unit.noise_of_mean_a(t1 - t0))) * scale
        return mean

    def load_voltage_v(self) -> float:
        if not self.load_on:
            return 0.0
        return float(self.unit.output_a(self.clock.now)[0]) * self.load_ohm

    def fire_hardware_trigger(self, t: float) -> None:
        for listener in list(self.trigger_listeners):
            listener(t)

    def outputs_on(self) -> dict[str, bool]:
        """Ground truth for safety tests: which sources drive the bench right now."""
        return {"source": self.source_on, "supply": self.supply.on, "load": self.load_on}
