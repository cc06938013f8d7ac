"""Simulated Keysight EL34143A DC electronic load (EL30000 series), constant-resistance use.

Command shape after the EL30000 programming reference as summarised in instruments.md 2.4
(``[SOURce:]FUNCtion``, ``[SOURce:]RESistance[:LEVel]``, ``RESistance:RANGe``,
``INPut[:STATe]``, ``MEASure:VOLTage?/CURRent?/POWer?``); protection commands follow the
family's ``...:PROTection`` pattern and are marked unverified. CR ranges, their accuracy (in
siemens, as the service guide specifies them) and readback accuracy are [E].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keysight import KeysightInstrument
from bench.sim.scpi import Call, ScpiError, parse_bool, parse_choice, parse_number, scpi

RATED_V = 150.0
RATED_A = 40.0  # lxi-web says 40 A (instruments.md: conflicting, unverified)
# CR ranges (upper resistance, ohm) and conductance accuracy +-(rel * G + offset S) [E]
CR_RANGES = (15.0, 150.0, 1500.0, 15000.0)
CR_ACCURACY = {
    15.0: RangeSpec(1 / 0.05, 0.001, 2e-3),
    150.0: RangeSpec(1 / 1.0, 0.001, 2e-4),
    1500.0: RangeSpec(1 / 10.0, 0.001, 2e-5),
    15000.0: RangeSpec(1 / 100.0, 0.001, 2e-6),
}
CR_MIN_OHM = 0.05
VOLTAGE_READBACK = RangeSpec(RATED_V, 0.0005, 0.010)  # [E]
CURRENT_READBACK = RangeSpec(RATED_A, 0.0005, 0.004)  # [E] useless at mA levels, as noted


@dataclass
class StateEL34143A:
    function: str = "CURR"
    current_a: float = 0.0
    voltage_v: float = RATED_V
    resistance_ohm: float = 15000.0
    resistance_range_ohm: float = 15000.0
    power_w: float = 0.0
    input_on: bool = False
    ocp_enabled: bool = False
    ocp_a: float = RATED_A
    ovp_v: float = RATED_V * 1.05
    protection_tripped: bool = False


class KeysightEL34143A(KeysightInstrument):
    role = "load"
    command_overhead_s = 0.0005

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        super().__init__(world, ident)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("Keysight Technologies", "EL34143A", "MY61001508", "1.0.3.1001")

    def reset(self) -> None:
        self.state = StateEL34143A()
        self._apply()

    def output_enabled(self) -> bool:
        return self.state.input_on

    def _actual_resistance(self) -> float:
        s = self.state
        conductance = self.cal.apply(
            f"cr-{s.resistance_range_ohm}",
            CR_ACCURACY[s.resistance_range_ohm],
            1.0 / s.resistance_ohm,
        )
        return 1.0 / max(conductance, 1e-9)

    def _apply(self) -> None:
        s = self.state
        if not s.input_on:
            self.world.set_load(False, math.inf)
            return
        if s.function == "RES":
            self.world.set_load(True, self._actual_resistance())
        else:
            # CC/CV/CP into a 20 mA current source: modelled as a short circuit (0.05 ohm) [E]
            self.world.set_load(True, CR_MIN_OHM)
        if s.ocp_enabled and self.world.unit.output_a(self.world.clock.now)[0] > s.ocp_a:
            s.input_on, s.protection_tripped = False, True
            self.world.set_load(False, math.inf)

    @scpi("[SOURce:]FUNCtion")
    def _function(self, call: Call) -> str | None:
        if call.query:
            return self.state.function
        call.expect(1)
        choice = parse_choice(call.param(), ["CURRent", "VOLTage", "RESistance", "POWer"])
        self.state.function = {
            "CURRENT": "CURR",
            "VOLTAGE": "VOLT",
            "RESISTANCE": "RES",
            "POWER": "POW",
        }[choice]
        self._apply()
        return None

    @scpi("[SOURce:]RESistance[:LEVel][:IMMediate][:AMPLitude]")
    def _resistance(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            return self.format_number(s.resistance_ohm)
        call.expect(1)
        value = parse_number(
            call.param(),
            unit="OHM",
            minimum=CR_MIN_OHM,
            maximum=CR_RANGES[-1],
            default=CR_RANGES[-1],
        )
        if value > s.resistance_range_ohm:
            # the level selects the range that holds it (the range then follows the level)
            s.resistance_range_ohm = next(r for r in CR_RANGES if value <= r)
        s.resistance_ohm = value
        self._apply()
        return None

    @scpi("[SOURce:]RESistance:RANGe")
    def _resistance_range(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            return self.format_number(s.resistance_range_ohm)
        call.expect(1)
        value = parse_number(
            call.param(),
            unit="OHM",
            minimum=CR_MIN_OHM,
            maximum=CR_RANGES[-1],
            default=CR_RANGES[-1],
        )
        s.resistance_range_ohm = next(r for r in CR_RANGES if value <= r)
        s.resistance_ohm = min(s.resistance_ohm, s.resistance_range_ohm)
        self._apply()
        return None

    @scpi("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _current(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "current_a",
            unit="A",
            minimum=0.0,
            maximum=RATED_A * 1.02,
            default=0.0,
            after=self._apply,
        )

    @scpi("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _voltage(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "voltage_v",
            unit="V",
            minimum=0.0,
            maximum=RATED_V * 1.02,
            default=RATED_V,
            after=self._apply,
        )

    @scpi("[SOURce:]CURRent:PROTection:STATe")
    def _ocp_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "ocp_enabled", after=self._apply)

    @scpi("[SOURce:]CURRent:PROTection[:LEVel]")
    def _ocp_level(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "ocp_a",
            unit="A",
            minimum=0.0,
            maximum=RATED_A * 1.02,
            default=RATED_A,
            after=self._apply,
        )

    @scpi("[SOURce:]VOLTage:PROTection[:LEVel]")
    def _ovp_level(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "ovp_v",
            unit="V",
            minimum=0.0,
            maximum=RATED_V * 1.05,
            default=RATED_V * 1.05,
        )

    @scpi("INPut:PROTection:CLEar!")
    def _protection_clear(self, call: Call) -> None:
        call.expect(0)
        self.state.protection_tripped = False

    @scpi("INPut[:STATe]")
    def _input(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.input_on else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on and self.state.protection_tripped:
            raise ScpiError(-221, "protection tripped; clear it first")
        self.state.input_on = on
        self._apply()
        return None

    @scpi("MEASure[:SCALar]:VOLTage[:DC]?")
    def _meas_voltage(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(0.02)  # [E]
        value = self.cal.apply("readback-voltage", VOLTAGE_READBACK, self.world.load_voltage_v())
        return self.format_number(value + self.world.rng.normal(0.0, 0.0005))

    @scpi("MEASure[:SCALar]:CURRent[:DC]?")
    def _meas_current(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(0.02)  # [E]
        true = (
            float(self.world.unit.output_a(self.world.clock.now)[0]) if self.state.input_on else 0.0
        )
        value = self.cal.apply("readback-current", CURRENT_READBACK, true)
        return self.format_number(value + self.world.rng.normal(0.0, 0.0005))

    @scpi("MEASure[:SCALar]:POWer[:DC]?")
    def _meas_power(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(0.02)
        current = (
            float(self.world.unit.output_a(self.world.clock.now)[0]) if self.state.input_on else 0.0
        )
        return self.format_number(current * self.world.load_voltage_v())
