"""Simulated Keysight EL34143A DC electronic load (EL30000 series): CC, CV, CR and CP modes.

The physics of each mode against the module's current-source output is in
``bench.sim.load_physics``; protection (OV, OC, OP) switches the input off and latches until
``INPut:PROTection:CLEar``; CC/CV/CP levels are limited by their range (``...:RANGe``), a level
above the range is -222 [E: range values and the 2 % margin are to verify on hardware].

Command shape after the Keysight EL30000 Series Programming Guide
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
from bench.sim.load_physics import operating_ohm
from bench.sim.scpi import Call, ScpiError, parse_bool, parse_choice, parse_number, scpi

RATED_V = 150.0
RATED_A = 40.0  # the instrument's LXI web page says 40 A (sources conflict; unverified)
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


CURRENT_RANGES = (4.0, RATED_A)  # [E] low/high CC range
VOLTAGE_RANGES = (15.0, RATED_V)  # [E] low/high CV range
RATED_W = 350.0
POWER_RANGES = (35.0, RATED_W)  # [E] low/high CP range
QUES_OV = 1 << 0
QUES_OC = 1 << 1
QUES_OP = 1 << 3
OPER_CC, OPER_CV, OPER_CR, OPER_CP = 1 << 8, 1 << 9, 1 << 10, 1 << 11  # [E] mode bits
FUNCTIONS = {"CURRENT": "CURR", "VOLTAGE": "VOLT", "RESISTANCE": "RES", "POWER": "POW"}


@dataclass
class StateEL34143A:
    function: str = "CURR"
    current_a: float = 0.0
    current_range_a: float = RATED_A
    voltage_v: float = RATED_V
    voltage_range_v: float = RATED_V
    resistance_ohm: float = 15000.0
    resistance_range_ohm: float = 15000.0
    power_w: float = 0.0
    power_range_w: float = RATED_W
    input_on: bool = False
    ocp_enabled: bool = False
    ocp_a: float = RATED_A * 1.02
    ovp_v: float = RATED_V * 1.05
    opp_w: float = RATED_W * 1.02
    protection_tripped: str = ""  # "", "OV", "OC", "OP"


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

    def _level(self) -> float:
        s = self.state
        return {
            "CURR": s.current_a,
            "VOLT": s.voltage_v,
            "RES": self._actual_resistance(),
            "POW": s.power_w,
        }[s.function]

    def _apply(self) -> None:
        s = self.state
        if not s.input_on:
            self.world.set_load(False, math.inf)
            return
        mode, level = s.function, self._level()
        compliance = self.world.unit.params.output_compliance_v

        def characteristic(module_a: float, other_ohm: float) -> float:
            return operating_ohm(mode, level, module_a, compliance, other_ohm, CR_MIN_OHM)

        self.world.set_load(True, characteristic(0.0, 0.0), characteristic)
        self._check_protection()

    def _check_protection(self) -> None:
        """OV/OC/OP protection: a level exceeded switches the input off, latched (settled)."""
        s = self.state
        if not s.input_on:
            return
        current = float(self.world.unit.output_a(self.world.clock.now)[0])
        voltage = self.world.load_voltage_v()
        trip = ""
        if voltage > s.ovp_v:
            trip = "OV"
        elif s.ocp_enabled and current > s.ocp_a:
            trip = "OC"
        elif current * voltage > s.opp_w:
            trip = "OP"
        if trip:
            s.input_on, s.protection_tripped = False, trip
            self.world.set_load(False, math.inf)

    def status_conditions(self) -> tuple[int, int]:
        s = self.state
        ques = {"OV": QUES_OV, "OC": QUES_OC, "OP": QUES_OP}.get(s.protection_tripped, 0)
        mode = {"CURR": OPER_CC, "VOLT": OPER_CV, "RES": OPER_CR, "POW": OPER_CP}
        return (mode[s.function] if s.input_on else 0), ques

    @scpi("[SOURce:]FUNCtion")
    def _function(self, call: Call) -> str | None:
        if call.query:
            return self.state.function
        call.expect(1)
        choice = parse_choice(call.param(), ["CURRent", "VOLTage", "RESistance", "POWer"])
        self.state.function = FUNCTIONS[choice]
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

    def _ranged_level(
        self, call: Call, level: str, rng: str, ranges: tuple[float, ...], unit: str
    ) -> str | None:
        """A CC/CV/CP level: limited by its range (105 % [E]); a larger level is -222."""
        s = self.state
        if call.query:
            call.expect((0, 1))
            if call.params:
                which = call.param().strip().upper()
                return self.format_number(0.0 if which.startswith("MIN") else ranges[-1] * 1.02)
            return self.format_number(getattr(s, level))
        call.expect(1)
        top = getattr(s, rng) * 1.02
        value = parse_number(call.param(), unit=unit, minimum=0.0, maximum=top, default=0.0)
        setattr(s, level, value)
        self._apply()
        return None

    def _range(self, call: Call, level: str, rng: str, ranges: tuple[float, ...], unit: str):
        s = self.state
        if call.query:
            call.expect(0)
            return self.format_number(getattr(s, rng))
        call.expect(1)
        value = parse_number(
            call.param(), unit=unit, minimum=0.0, maximum=ranges[-1], default=ranges[-1]
        )
        new = next(r for r in ranges if value <= r)
        setattr(s, rng, new)
        setattr(s, level, min(getattr(s, level), new * 1.02))  # the level is clamped into it
        self._apply()
        return None

    @scpi("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _current(self, call: Call) -> str | None:
        return self._ranged_level(call, "current_a", "current_range_a", CURRENT_RANGES, "A")

    @scpi("[SOURce:]CURRent:RANGe")
    def _current_range(self, call: Call) -> str | None:
        return self._range(call, "current_a", "current_range_a", CURRENT_RANGES, "A")

    @scpi("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _voltage(self, call: Call) -> str | None:
        return self._ranged_level(call, "voltage_v", "voltage_range_v", VOLTAGE_RANGES, "V")

    @scpi("[SOURce:]VOLTage:RANGe")
    def _voltage_range(self, call: Call) -> str | None:
        return self._range(call, "voltage_v", "voltage_range_v", VOLTAGE_RANGES, "V")

    @scpi("[SOURce:]POWer[:LEVel][:IMMediate][:AMPLitude]")
    def _power(self, call: Call) -> str | None:
        return self._ranged_level(call, "power_w", "power_range_w", POWER_RANGES, "W")

    @scpi("[SOURce:]POWer:RANGe")
    def _power_range(self, call: Call) -> str | None:
        return self._range(call, "power_w", "power_range_w", POWER_RANGES, "W")

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
            default=RATED_A * 1.02,
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
            after=self._apply,
        )

    @scpi("[SOURce:]POWer:PROTection[:LEVel]")
    def _opp_level(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "opp_w",
            unit="W",
            minimum=0.0,
            maximum=RATED_W * 1.02,
            default=RATED_W * 1.02,
            after=self._apply,
        )

    @scpi("INPut:PROTection:TRIPped?", "INPut:PROTection[:EVENt]?")
    def _protection_tripped(self, call: Call) -> str:
        call.expect(0)
        return "1" if self.state.protection_tripped else "0"

    @scpi("INPut:PROTection:CLEar!")
    def _protection_clear(self, call: Call) -> None:
        call.expect(0)
        self.state.protection_tripped = ""

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
        self._check_protection()
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
