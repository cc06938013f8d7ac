"""Simulated Rigol DL3021 DC electronic load (150 V, 40 A, 200 W): CC, CV, CR and CP modes.

Command set from the Rigol DL3000 Series Programming Guide (chapter 2): ``[:SOURce]:FUNCtion``
(static operation) and ``:FUNCtion:MODE FIXed``; per mode the level ``[:LEVel][:IMMediate]``
(queries take ``MINimum|MAXimum|DEFault``), ``:RANGe`` (a value selects the range that holds
it, ``MIN`` the low and ``MAX`` the high range; the query answers the range's top) and the
start voltage ``:VON`` (the load sinks only above it); CC ``:SLEW[:BOTH]|:POSitive|:NEGative``
and ``:VLIMt`` (the manual's spelling; ``VLIMit`` is accepted too), CV ``:ILIMit``;
``[:SOURce]:INPut[:STATe]``; ``:MEASure[:SCALar]:VOLTage|CURRent|POWer|RESistance[:DC]?``.

Physics of every mode against the module's current-source output: ``bench.sim.load_physics``;
below Von the load draws nothing (quasi-static: judged at the settled operating point). A
level beyond the active range is clamped to it silently (the DL3000 does so; read it back),
beyond the model's limits it is -222. The fixed ratings (150 V, 40 A, 200 W) act as
protection: the input switches off and questionable bit 0 (OV), 1 (OC) or 2 (OP) latches in
the event register [E: bit positions from third-party DL3000 summaries].

[E] where the DL3000 documents were not at hand: CR high range 2 ohm-15 kohm, CR accuracy
+-(1 % + offset conductance) per range, readback accuracy, 20 ms per readback, the ``*IDN?``
firmware string, the ``:SOURce:FUNCtion?`` reply form (``RES``; some firmware is reported to
answer ``CR``: ``function_reply`` switches it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.rigol import RigolInstrument
from bench.sim.load_physics import OPEN_OHM, operating_ohm
from bench.sim.scpi import Call, ScpiError, parse_bool, parse_choice, parse_number, scpi

RATED_V = 150.0
RATED_A = 40.0
RATED_W = 200.0


@dataclass(frozen=True)
class ModeRanges:
    """One mode's ranges as (lowest, highest) level, low range first; its unit and default."""

    ranges: tuple[tuple[float, float], ...]
    unit: str
    default_level: float

    @property
    def minimum(self) -> float:
        return self.ranges[0][0]

    @property
    def maximum(self) -> float:
        return self.ranges[-1][1]

    def range_for(self, value: float) -> tuple[float, float]:
        """The lowest range whose top holds ``value``."""
        for low, high in self.ranges:
            if value <= high:
                return low, high
        return self.ranges[-1]


MODES = {
    "CURR": ModeRanges(((0.0, 4.0), (0.0, RATED_A)), "A", 0.0),
    "VOLT": ModeRanges(((0.0, 15.0), (0.0, RATED_V)), "V", RATED_V),
    "RES": ModeRanges(((0.08, 15.0), (2.0, 15000.0)), "OHM", 15000.0),  # high range [E]
    "POW": ModeRanges(((0.0, RATED_W),), "W", 0.0),
}
FUNCTIONS = {"CURRENT": "CURR", "VOLTAGE": "VOLT", "RESISTANCE": "RES", "POWER": "POW"}
#: CR accuracy as conductance +-(rel * G + offset S) per range top [E]
CR_ACCURACY = {15.0: RangeSpec(1 / 0.08, 0.01, 1e-3), 15000.0: RangeSpec(0.5, 0.01, 1e-5)}
CR_MIN_OHM = 0.08
VOLTAGE_READBACK = RangeSpec(RATED_V, 0.00025, 0.005)  # [E]
CURRENT_READBACK = RangeSpec(4.0, 0.0005, 0.0005)  # [E] low range; 40 A class at mA levels
QUES_OV, QUES_OC, QUES_OP = 1 << 0, 1 << 1, 1 << 2  # [E]


@dataclass
class StateDL3021:
    function: str = "CURR"
    levels: dict[str, float] = field(
        default_factory=lambda: {m: r.default_level for m, r in MODES.items()}
    )
    ranges: dict[str, float] = field(
        default_factory=lambda: {m: r.maximum for m, r in MODES.items()}
    )
    von: dict[str, float] = field(default_factory=lambda: {m: 0.0 for m in MODES})
    slew_rise_a_per_us: float = 1.0  # [E]
    slew_fall_a_per_us: float = 1.0
    cc_vlim_v: float = RATED_V
    cv_ilim_a: float = RATED_A
    input_on: bool = False
    sense: bool = False
    tripped: str = ""  # "", "OV", "OC", "OP"


class RigolDL3021(RigolInstrument):
    role = "load"
    command_overhead_s = 0.001  # [E]
    measure_s = 0.02  # [E]
    decimals: ClassVar[dict[str, int]] = {"V": 6, "A": 6, "W": 6, "OHM": 6}
    #: ``:SOURce:FUNCtion?`` replies per mode (short mnemonics; see the module docstring)
    function_reply: ClassVar[dict[str, str]] = {m: m for m in MODES}

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        super().__init__(world, ident)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("RIGOL TECHNOLOGIES", "DL3021", "DL3A234500123", "00.01.02.00.02")

    def reset(self) -> None:
        super().reset()
        self.state = StateDL3021()
        self._apply()

    def output_enabled(self) -> bool:
        return self.state.input_on

    # ------------------------------------------------------------------ physics
    def _actual_level(self) -> float:
        s = self.state
        level = s.levels[s.function]
        if s.function != "RES":
            return level
        top = s.ranges["RES"]
        conductance = self.cal.apply(f"cr-{top}", CR_ACCURACY[top], 1.0 / level)
        return 1.0 / max(conductance, 1e-9)

    def _apply(self) -> None:
        s = self.state
        if not s.input_on:
            self.world.set_load(False, math.inf)
            return
        mode, level, von = s.function, self._actual_level(), s.von[s.function]
        compliance = self.world.unit.params.output_compliance_v

        def characteristic(module_a: float, other_ohm: float) -> float:
            ohm = operating_ohm(mode, level, module_a, compliance, other_ohm, CR_MIN_OHM)
            if von > 0.0 and module_a * ohm < von:
                return OPEN_OHM  # below its start voltage the load sinks nothing
            return ohm

        self.world.set_load(True, characteristic(0.0, 0.0), characteristic)
        self._check_protection()

    def _check_protection(self) -> None:
        s = self.state
        if not s.input_on:
            return
        current = float(self.world.unit.output_a(self.world.clock.now)[0])
        voltage = self.world.load_voltage_v()
        trip = (
            "OV"
            if voltage > RATED_V
            else "OC"
            if current > RATED_A * 1.1
            else "OP"
            if current * voltage > RATED_W * 1.05
            else ""
        )
        if trip:
            s.input_on, s.tripped = False, trip
            self.world.set_load(False, math.inf)

    def status_conditions(self) -> tuple[int, int]:
        ques = {"OV": QUES_OV, "OC": QUES_OC, "OP": QUES_OP}.get(self.state.tripped, 0)
        return 0, ques

    # ------------------------------------------------------------------ function
    @scpi("[SOURce]:FUNCtion")
    def _function(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.function_reply[self.state.function]
        call.expect(1)
        choice = parse_choice(call.param(), ["CURRent", "VOLTage", "RESistance", "POWer"])
        self.state.function = FUNCTIONS[choice]
        self._apply()
        return None

    @scpi("[SOURce]:FUNCtion:MODE")
    def _function_mode(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return "FIX"
        call.expect(1)
        choice = parse_choice(call.param(), ["FIXed", "LIST", "WAVe", "BATTery", "OCP", "OPP"])
        if choice != "FIXED":
            raise ScpiError(-221, f"{choice} mode is not simulated")
        return None

    # ------------------------------------------------------------------ levels and ranges
    def _mode_of(self, call: Call) -> str:
        for node, mode in (
            ("CURRent", "CURR"),
            ("VOLTage", "VOLT"),
            ("RESistance", "RES"),
            ("POWer", "POW"),
        ):
            if call.has_node(node):
                return mode
        raise ScpiError(-113, call.text)  # pragma: no cover - patterns name a mode

    def _special(self, call: Call, spec: ModeRanges) -> float | None:
        if not call.params:
            return None
        which = parse_choice(call.param(), ["MINimum", "MAXimum", "DEFault"])
        return {"MINIMUM": spec.minimum, "MAXIMUM": spec.maximum}.get(which, spec.default_level)

    @scpi(
        "[SOURce]:CURRent[:LEVel][:IMMediate]",
        "[SOURce]:VOLTage[:LEVel][:IMMediate]",
        "[SOURce]:RESistance[:LEVel][:IMMediate]",
        "[SOURce]:POWer[:LEVel][:IMMediate]",
    )
    def _level(self, call: Call) -> str | None:
        mode = self._mode_of(call)
        spec, s = MODES[mode], self.state
        if call.query:
            call.expect((0, 1))
            special = self._special(call, spec)
            return self.fixed(s.levels[mode] if special is None else special, spec.unit)
        call.expect(1)
        value = parse_number(
            call.param(),
            unit=spec.unit,
            minimum=spec.minimum,
            maximum=spec.maximum,
            default=spec.default_level,
        )
        low, high = next(r for r in spec.ranges if r[1] == s.ranges[mode])
        s.levels[mode] = min(max(value, low), high)  # clamped to the active range
        self._apply()
        return None

    @scpi(
        "[SOURce]:CURRent:RANGe",
        "[SOURce]:VOLTage:RANGe",
        "[SOURce]:RESistance:RANGe",
        "[SOURce]:POWer:RANGe",
    )
    def _range(self, call: Call) -> str | None:
        mode = self._mode_of(call)
        spec, s = MODES[mode], self.state
        if call.query:
            call.expect((0, 1))
            special = self._special(call, spec)
            top = s.ranges[mode] if special is None else spec.range_for(special)[1]
            return self.fixed(top, spec.unit)
        call.expect(1)
        text = call.param().strip().upper()
        if text in ("MIN", "MINIMUM"):
            low, high = spec.ranges[0]
        elif text in ("MAX", "MAXIMUM", "DEF", "DEFAULT"):
            low, high = spec.ranges[-1]
        else:
            value = parse_number(text, unit=spec.unit, minimum=0.0, maximum=spec.maximum)
            low, high = spec.range_for(value)
        s.ranges[mode] = high
        s.levels[mode] = min(max(s.levels[mode], low), high)
        self._apply()
        return None

    @scpi(
        "[SOURce]:CURRent:VON",
        "[SOURce]:VOLTage:VON",
        "[SOURce]:RESistance:VON",
        "[SOURce]:POWer:VON",
    )
    def _von(self, call: Call) -> str | None:
        mode, s = self._mode_of(call), self.state
        if call.query:
            call.expect((0, 1))
            if call.params:
                which = parse_choice(call.param(), ["MINimum", "MAXimum", "DEFault"])
                return self.fixed(RATED_V if which == "MAXIMUM" else 0.0, "V")
            return self.fixed(s.von[mode], "V")
        call.expect(1)
        s.von[mode] = parse_number(
            call.param(), unit="V", minimum=0.0, maximum=RATED_V, default=0.0
        )
        self._apply()
        return None

    @scpi(
        "[SOURce]:CURRent:SLEW[:BOTH]",
        "[SOURce]:CURRent:SLEW:POSitive",
        "[SOURce]:CURRent:SLEW:NEGative",
    )
    def _slew(self, call: Call) -> str | None:
        s = self.state
        rising = not call.has_node("NEGative")
        falling = not call.has_node("POSitive")
        if call.query:
            call.expect(0)
            return self.fixed(s.slew_rise_a_per_us if rising else s.slew_fall_a_per_us, "A")
        call.expect(1)
        value = parse_number(call.param(), minimum=0.001, maximum=2.5, default=1.0)  # [E]
        if rising:
            s.slew_rise_a_per_us = value
        if falling:
            s.slew_fall_a_per_us = value
        return None

    @scpi("[SOURce]:CURRent:VLIMt", "[SOURce]:CURRent:VLIMit")
    def _cc_vlim(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.fixed(self.state.cc_vlim_v, "V")
        call.expect(1)
        self.state.cc_vlim_v = parse_number(
            call.param(), unit="V", minimum=0.0, maximum=RATED_V, default=RATED_V
        )
        return None

    @scpi("[SOURce]:VOLTage:ILIMit")
    def _cv_ilim(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.fixed(self.state.cv_ilim_a, "A")
        call.expect(1)
        self.state.cv_ilim_a = parse_number(
            call.param(), unit="A", minimum=0.0, maximum=RATED_A, default=RATED_A
        )
        return None

    @scpi("[SOURce]:SENSe")
    def _sense(self, call: Call) -> str | None:
        """Remote sense on/off: stored; the simulated loop has no lead drop at the load."""
        return self.bool_setting(call, self.state, "sense")

    # ------------------------------------------------------------------ input
    @scpi("[SOURce]:INPut[:STATe]")
    def _input(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            call.expect(0)
            return "1" if s.input_on else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on:
            s.tripped = ""  # switching on again re-arms the protection [E]
        s.input_on = on
        self._apply()
        return None

    # ------------------------------------------------------------------ measurement
    def _true(self) -> tuple[float, float]:
        self.world.clock.advance(self.measure_s)
        self._check_protection()
        if not self.state.input_on:
            return self.world.load_voltage_v(), 0.0
        current = float(self.world.unit.output_a(self.world.clock.now)[0])
        return self.world.load_voltage_v(), current

    def _volts(self, true_v: float) -> float:
        value = self.cal.apply("readback-voltage", VOLTAGE_READBACK, true_v)
        return value + self.world.rng.normal(0.0, 0.0002)

    def _amps(self, true_a: float) -> float:
        value = self.cal.apply("readback-current", CURRENT_READBACK, true_a)
        return value + self.world.rng.normal(0.0, 0.0001)

    @scpi("MEASure[:SCALar]:VOLTage[:DC]?")
    def _meas_voltage(self, call: Call) -> str:
        call.expect(0)
        return self.fixed(self._volts(self._true()[0]), "V")

    @scpi("MEASure[:SCALar]:CURRent[:DC]?")
    def _meas_current(self, call: Call) -> str:
        call.expect(0)
        return self.fixed(self._amps(self._true()[1]), "A")

    @scpi("MEASure[:SCALar]:POWer[:DC]?")
    def _meas_power(self, call: Call) -> str:
        call.expect(0)
        volts, amps = self._true()
        return self.fixed(self._volts(volts) * self._amps(amps), "W")

    @scpi("MEASure[:SCALar]:RESistance[:DC]?")
    def _meas_resistance(self, call: Call) -> str:
        """V/I of the readbacks; with the input off or no current flowing the overflow marker
        [E: the DL3000's reply in that case is to confirm]."""
        call.expect(0)
        volts, amps = self._true()
        if not self.state.input_on or amps <= 1e-6:
            return "9.9E+37"
        return self.fixed(self._volts(volts) / self._amps(amps), "OHM")
