"""Simulated Keysight E36104B single-output DC supply (35 V / 1 A, E36100 series).

Command set: E36100 Series Operating and Service Guide (``[SOURce:]VOLTage``, ``CURRent``,
``OUTPut``, ``VOLTage:PROTection``, ``CURRent:PROTection:STATe``, ``MEASure:VOLTage?``,
``MEASure:CURRent?``, ``APPLy``, ``STATus:QUEStionable``); protection semantics as on the
E36xx family (a trip disables the output and latches until ``...:PROTection:CLEar``).
Ratings and accuracy figures are [E] (the E36100 data sheet was not retrieved): 35 V / 1 A,
programming to 102 %, readback +-(0.05 % + 10 mV) and +-(0.1 % + 2 mA).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keysight import KeysightInstrument
from bench.sim.scpi import Call, ScpiError, parse_bool, parse_choice, parse_number, scpi

RATED_V = 35.0
RATED_A = 1.0
MAX_V = RATED_V * 1.02
MAX_A = RATED_A * 1.02
MAX_OVP_V = 38.5  # [E]
VOLTAGE_PROGRAM = RangeSpec(RATED_V, 0.0005, 0.010)  # [E]
VOLTAGE_READBACK = RangeSpec(RATED_V, 0.0005, 0.010)  # [E]
CURRENT_READBACK = RangeSpec(RATED_A, 0.001, 0.002)  # [E]

QUES_OV = 1 << 0
QUES_OC = 1 << 1
OPER_CV = 1 << 8
OPER_CC = 1 << 10


@dataclass
class StateE36104B:
    voltage_v: float = 0.0
    current_a: float = MAX_A
    output: bool = False
    ovp_v: float = MAX_OVP_V
    ovp_enabled: bool = True
    ocp_enabled: bool = False
    ov_tripped: bool = False
    oc_tripped: bool = False
    sense_external: bool = False


class KeysightE36104B(KeysightInstrument):
    role = "supply"
    command_overhead_s = 0.0005
    #: output voltage slew to a new level (the measurement after a change waits for it) [E]
    settle_s = 0.010

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        self.peak_voltage_v = 0.0  # largest level ever programmed (safety tests' ground truth)
        super().__init__(world, ident)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("Keysight Technologies", "E36104B", "MY61004321", "1.0.4-1.0.0-1.0.2")

    def reset(self) -> None:
        self.state = StateE36104B()
        self._apply()

    def safety_levels(self) -> dict[str, float]:
        return {"voltage_v": self.state.voltage_v}

    def output_enabled(self) -> bool:
        return self.state.output

    def trip(self, protection: str) -> None:
        """An over-voltage (``"OVP"``) or over-current (``"OCP"``) protection trip (fault
        injection): the output switches off and the trip latches until cleared."""
        s = self.state
        if protection == "OVP":
            s.ov_tripped = True
        elif protection == "OCP":
            s.oc_tripped = True
        else:
            raise ValueError(f"protection {protection!r} is not 'OVP' or 'OCP'")
        s.output = False
        self._apply()

    # ------------------------------------------------------------------ world coupling
    def _apply(self) -> None:
        s = self.state
        actual_v = (
            self.cal.apply("program-voltage", VOLTAGE_PROGRAM, s.voltage_v) if s.voltage_v else 0.0
        )
        if s.output and s.ovp_enabled and actual_v > s.ovp_v:
            s.output, s.ov_tripped = False, True
        self.world.set_supply(s.output, max(actual_v, 0.0), s.current_a)
        if s.output and s.ocp_enabled and self.world.supply.mode == "CC":
            s.output, s.oc_tripped = False, True
            self.world.set_supply(False, 0.0, s.current_a)

    # ------------------------------------------------------------------ levels
    @scpi("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _voltage(self, call: Call) -> str | None:
        if call.query:
            if call.params:
                return self.format_number(parse_number(call.param(), minimum=0.0, maximum=MAX_V))
            return self.format_number(self.state.voltage_v)
        call.expect(1)
        self.state.voltage_v = parse_number(
            call.param(), unit="V", minimum=0.0, maximum=MAX_V, default=0.0
        )
        self.peak_voltage_v = max(self.peak_voltage_v, self.state.voltage_v)
        self._apply()
        self.world.clock.advance(self.settle_s if self.state.output else 0.0)
        return None

    @scpi("[SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _current(self, call: Call) -> str | None:
        if call.query:
            if call.params:
                return self.format_number(parse_number(call.param(), minimum=0.001, maximum=MAX_A))
            return self.format_number(self.state.current_a)
        call.expect(1)
        self.state.current_a = parse_number(
            call.param(), unit="A", minimum=0.001, maximum=MAX_A, default=MAX_A
        )
        self._apply()
        return None

    @scpi("APPLy")
    def _apply_cmd(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f'"{self.state.voltage_v:.5f},{self.state.current_a:.5f}"'
        call.expect((1, 2))
        voltage = parse_number(call.param(0), unit="V", minimum=0.0, maximum=MAX_V, default=0.0)
        current = self.state.current_a
        if len(call.params) > 1:
            current = parse_number(
                call.param(1), unit="A", minimum=0.001, maximum=MAX_A, default=MAX_A
            )
        self.state.voltage_v, self.state.current_a = voltage, current
        self.peak_voltage_v = max(self.peak_voltage_v, voltage)
        self._apply()
        return None

    # ------------------------------------------------------------------ protection
    @scpi("[SOURce:]VOLTage:PROTection[:LEVel]")
    def _ovp(self, call: Call) -> str | None:
        return self.number_setting(
            call,
            self.state,
            "ovp_v",
            unit="V",
            minimum=1.0,
            maximum=MAX_OVP_V,
            default=MAX_OVP_V,
            after=self._apply,
        )

    @scpi("[SOURce:]VOLTage:PROTection:STATe")
    def _ovp_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "ovp_enabled", after=self._apply)

    @scpi("[SOURce:]VOLTage:PROTection:TRIPped?")
    def _ovp_tripped(self, call: Call) -> str:
        call.expect(0)
        return "1" if self.state.ov_tripped else "0"

    @scpi("[SOURce:]VOLTage:PROTection:CLEar!")
    def _ovp_clear(self, call: Call) -> None:
        call.expect(0)
        if self.state.voltage_v > self.state.ovp_v:
            raise ScpiError(-221, "voltage above the OVP level")
        self.state.ov_tripped = False

    @scpi("[SOURce:]CURRent:PROTection:STATe")
    def _ocp_state(self, call: Call) -> str | None:
        return self.bool_setting(call, self.state, "ocp_enabled", after=self._apply)

    @scpi("[SOURce:]CURRent:PROTection:TRIPped?")
    def _ocp_tripped(self, call: Call) -> str:
        call.expect(0)
        return "1" if self.state.oc_tripped else "0"

    @scpi("[SOURce:]CURRent:PROTection:CLEar!")
    def _ocp_clear(self, call: Call) -> None:
        call.expect(0)
        self.state.oc_tripped = False

    @scpi("[SOURce:]VOLTage:SENSe[:SOURce]")
    def _sense(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.sense_external else "0"
        call.expect(1)
        self.state.sense_external = parse_choice(call.param(), ["INTernal", "EXTernal"]) == (
            "EXTERNAL"
        )
        return None

    # ------------------------------------------------------------------ output and readback
    @scpi("OUTPut[:STATe]")
    def _output(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.output else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on and (self.state.ov_tripped or self.state.oc_tripped):
            raise ScpiError(-221, "protection tripped; clear it first")
        was_on = self.state.output
        self.state.output = on
        self._apply()
        if on and not was_on:
            self.world.clock.advance(self.settle_s)
        return None

    @scpi("MEASure[:SCALar]:VOLTage[:DC]?")
    def _meas_voltage(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(0.02)  # [E] readback conversion time
        true = self.world.supply.terminal_v if self.state.output else 0.0
        value = self.cal.apply("readback-voltage", VOLTAGE_READBACK, true)
        value += self.world.rng.normal(0.0, 0.0005)
        return self.format_number(value)

    @scpi("MEASure[:SCALar]:CURRent[:DC]?")
    def _meas_current(self, call: Call) -> str:
        call.expect(0)
        self.world.clock.advance(0.02)  # [E]
        true = self.world.supply_current_a() if self.state.output else 0.0
        value = self.cal.apply("readback-current", CURRENT_READBACK, true)
        value += self.world.rng.normal(0.0, 0.0002)
        return self.format_number(value)

    def status_conditions(self) -> tuple[int, int]:
        """Operation: CV bit 8, CC bit 10; questionable: OV bit 0, OC bit 1 (E36100 guide)."""
        s = self.state
        mode = self.world.supply.mode if s.output else "OFF"
        operation = OPER_CV if mode == "CV" else OPER_CC if mode == "CC" else 0
        questionable = (QUES_OV if s.ov_tripped else 0) | (QUES_OC if s.oc_tripped else 0)
        return operation, questionable
