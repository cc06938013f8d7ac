"""Simulated Keithley 2450 SourceMeter, native SCPI command set (``*LANG SCPI``).

Sources: 2450 Reference Manual 2450-901-01 (command pages for :SOURce, :SENSe, :OUTPut,
:READ?, :DIGital, :TRIGger:DIGital), SPEC-2450 Rev. A (accuracy table). Defaults after
``*RST``: output off, source function voltage, measure function current, VLIM 21 V,
readback on, NPLC 1, 2-wire sense, automatic source delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.keithley import KeithleyTti
from bench.sim.scpi import (
    Call,
    ScpiError,
    parse_bool,
    parse_choice,
    parse_number,
    parse_string,
    scpi,
)

# SPEC-2450 Rev. A, 1 year: source +-(% setting + offset), measure +-(% reading + offset)
CURRENT_RANGES = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
SOURCE_CURRENT_SPEC = {
    1e-8: RangeSpec(1e-8, 0.0010, 100e-12),
    1e-7: RangeSpec(1e-7, 0.0006, 150e-12),
    1e-6: RangeSpec(1e-6, 0.00025, 400e-12),
    1e-5: RangeSpec(1e-5, 0.00025, 1.5e-9),
    1e-4: RangeSpec(1e-4, 0.0002, 15e-9),
    1e-3: RangeSpec(1e-3, 0.0002, 150e-9),
    1e-2: RangeSpec(1e-2, 0.0002, 1.5e-6),
    1e-1: RangeSpec(1e-1, 0.00025, 15e-6),
    1.0: RangeSpec(1.0, 0.00067, 900e-6),
}
MEASURE_CURRENT_SPEC = {
    1e-8: RangeSpec(1e-8, 0.0010, 50e-12),
    1e-7: RangeSpec(1e-7, 0.0006, 100e-12),
    1e-6: RangeSpec(1e-6, 0.00025, 300e-12),
    1e-5: RangeSpec(1e-5, 0.00025, 700e-12),
    1e-4: RangeSpec(1e-4, 0.0002, 6e-9),
    1e-3: RangeSpec(1e-3, 0.0002, 60e-9),
    1e-2: RangeSpec(1e-2, 0.0002, 600e-9),
    1e-1: RangeSpec(1e-1, 0.00025, 6e-6),
    1.0: RangeSpec(1.0, 0.0003, 500e-6),
}
VOLTAGE_RANGES = (0.02, 0.2, 2.0, 20.0, 200.0)
MEASURE_VOLTAGE_SPEC = {
    0.02: RangeSpec(0.02, 0.0010, 150e-6),
    0.2: RangeSpec(0.2, 0.00012, 200e-6),
    2.0: RangeSpec(2.0, 0.00012, 300e-6),
    20.0: RangeSpec(20.0, 0.00015, 1e-3),
    200.0: RangeSpec(200.0, 0.00015, 10e-3),
}
OVP_LEVELS = {
    "PROT2": 2.0,
    "PROT5": 5.0,
    "PROT10": 10.0,
    "PROT20": 20.0,
    "PROT40": 40.0,
    "PROT60": 60.0,
    "PROT80": 80.0,
    "PROT100": 100.0,
    "PROT120": 120.0,
    "PROT140": 140.0,
    "PROT160": 160.0,
    "PROT180": 180.0,
    "NONE": math.inf,
}
AUTO_SOURCE_DELAY_S = 0.001  # [E] automatic source delay on the mA ranges
OVERRANGE = 1.05
RESISTANCE_RANGES = (2.0, 20.0, 200.0, 2e3, 2e4, 2e5, 2e6, 2e7, 2e8)
SENSE_RANGES = {"CURR": CURRENT_RANGES, "VOLT": VOLTAGE_RANGES, "RES": RESISTANCE_RANGES}
SENSE_UNIT = {"CURR": "A", "VOLT": "V", "RES": "OHM"}
SENSE_NAMES = {
    **dict.fromkeys(("VOLT", "VOLT:DC", "VOLTAGE", "VOLTAGE:DC"), "VOLT"),
    **dict.fromkeys(("CURR", "CURR:DC", "CURRENT", "CURRENT:DC"), "CURR"),
    **dict.fromkeys(("RES", "RESISTANCE"), "RES"),
}


def _sense_name(call: Call) -> str:
    """The function named in ``:SENSe:FUNCtion "VOLT:DC"`` (quoted; long or short form)."""
    name = parse_string(call.param()).upper()
    if name not in SENSE_NAMES:
        raise ScpiError(-224, call.text)
    return SENSE_NAMES[name]


def _function_of(call: Call) -> str:
    """The function a header names (``:SENSe:VOLTage:NPLC`` -> VOLT)."""
    for node, function in (("VOLTage", "VOLT"), ("CURRent", "CURR"), ("RESistance", "RES")):
        if call.has_node(node):
            return function
    return "CURR"


def _range_for(value: float, ranges: tuple[float, ...]) -> float:
    for r in ranges:
        if abs(value) <= r * OVERRANGE:
            return r
    return ranges[-1]


@dataclass
class SenseSettings:
    range_auto: bool = True
    range: float = 0.0
    nplc: float = 1.0
    four_wire: bool = False
    autozero: bool = True
    user_delay_s: dict[int, float] = field(default_factory=dict)
    average: bool = False
    average_count: int = 10
    average_filter: str = "REP"


@dataclass
class Sweep:
    """A source sweep loaded into the trigger model (``:SOURce:SWEep:<fn>:LINear`` ...)."""

    function: str
    levels: list[float]
    delay_s: float  # -1: auto delay
    count: int
    range_mode: str  # AUTO, BEST, FIXed
    fail_abort: bool
    buffer: str


@dataclass
class State2450:
    source_function: str = "VOLT"
    current_level_a: float = 0.0
    current_range_a: float = 1e-8
    current_range_auto: bool = True
    vlim_v: float = 21.0
    voltage_level_v: float = 0.0
    voltage_range_v: float = 0.02
    voltage_range_auto: bool = True
    ilim_a: float = 105e-6
    source_delay_s: float = AUTO_SOURCE_DELAY_S
    source_delay_auto: bool = True
    readback: bool = True
    output: bool = False
    off_mode: dict[str, str] = field(default_factory=lambda: {"CURR": "NORMAL", "VOLT": "NORMAL"})
    sense_function: str = "CURR"
    sense: dict[str, SenseSettings] = field(
        default_factory=lambda: {
            "CURR": SenseSettings(range=1e-4),
            "VOLT": SenseSettings(range=0.02),
            "RES": SenseSettings(range=2e5),
        }
    )
    count: int = 1  # [:SENSe]:COUNt: readings per READ?/MEASure?/TRACe:TRIGger
    terminals: str = "FRON"
    trigger_model: str = "EMPTY"  # EMPTY, SWEEP, SIMPLELOOP
    sweep: Sweep | None = None
    loop: tuple[int, float, str] | None = None  # SimpleLoop: count, delay, buffer
    last_block: int = 0
    aborted: bool = False
    source_user_delay_s: dict[str, dict[int, float]] = field(default_factory=dict)
    ovp_v: float = math.inf
    ovp_tripped: bool = False
    dig_line_mode: dict[int, tuple[str, str]] = field(default_factory=dict)
    dig_line_state: dict[int, bool] = field(default_factory=dict)
    dig_out_stimulus: dict[int, str] = field(default_factory=dict)
    dig_out_logic: dict[int, str] = field(default_factory=dict)
    dig_out_pulse_s: dict[int, float] = field(default_factory=dict)
    level_changed: bool = True


class Keithley2450(KeithleyTti):
    role = "source"
    languages = ("SCPI", "TSP", "SCPI2400")
    single_nodes = frozenset({"SOUR", "OUTP", "SENS"})
    command_overhead_s = 0.0005

    def __init__(self, world, identity: Identity | None = None) -> None:
        self.cal = CalibrationErrors((identity or self.default_identity()).serial)
        self.peak_current_a = 0.0  # largest |level| ever programmed (safety tests' ground truth)
        super().__init__(world, identity or self.default_identity())

    @staticmethod
    def default_identity() -> Identity:
        return Identity("KEITHLEY INSTRUMENTS", "MODEL 2450", "04512345", "1.7.12b")

    def reset(self) -> None:
        super().reset()
        self.state = State2450()
        self.world.set_source(False, 0.0, self.state.vlim_v)
        for line in range(1, 7):  # *RST makes every digital line an input: relays drop out
            self.world.set_digital_line(line, False)

    def safety_levels(self) -> dict[str, float]:
        return {"current_a": self.state.current_level_a, "voltage_v": self.state.voltage_level_v}

    def output_enabled(self) -> bool:
        return self.state.output

    # ------------------------------------------------------------------ world coupling
    def _demand_a(self) -> tuple[float, float]:
        """Current the source forces (with its calibration error) and its voltage limit."""
        s = self.state
        if s.source_function == "CURR":
            rng = s.current_range_a
            demand = self.cal.apply("source-current", SOURCE_CURRENT_SPEC[rng], s.current_level_a)
            return demand, min(s.vlim_v, s.ovp_v)
        # voltage source: I = V / R up to the current limit
        r = self.world.input_loop_ohm()
        demand = max(-s.ilim_a, min(s.ilim_a, s.voltage_level_v / r))
        return demand, abs(s.voltage_level_v) + 1e-9

    def _apply(self) -> None:
        s = self.state
        demand, vlim = self._demand_a()
        if s.output and s.source_function == "VOLT" and abs(s.voltage_level_v) > s.ovp_v:
            s.ovp_tripped, s.output = True, False
        self.world.set_source(s.output, demand if s.output else 0.0, vlim)

    # ------------------------------------------------------------------ source
    @scpi(":SOURce#:FUNCtion[:MODE]")
    def _source_function(self, call: Call) -> str | None:
        if call.query:
            return self.state.source_function
        call.expect(1)
        function = parse_choice(call.param(), ["CURRent", "VOLTage"])[:4]
        if self.state.output and function != self.state.source_function:
            self.state.output = False  # changing the source function turns the output off
        self.state.source_function = function
        self._apply()
        return None

    @scpi(":SOURce#:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _current_level(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            return self.format_number(s.current_level_a)
        call.expect(1)
        limit = 1.05 if s.current_range_auto else s.current_range_a * OVERRANGE
        value = parse_number(call.param(), unit="A", minimum=-1.05, maximum=1.05, default=0.0)
        if abs(value) > limit + 1e-15:
            raise ScpiError(-222, call.text)
        s.current_level_a = value
        self.peak_current_a = max(self.peak_current_a, abs(value))
        if s.current_range_auto:
            s.current_range_a = _range_for(value, CURRENT_RANGES)
        s.level_changed = True
        self._apply()
        return None

    def _source_attrs(self, call: Call) -> tuple[str, str, str, tuple[float, ...], str]:
        """(level, range, auto attribute names, ranges, unit) of the function a header names."""
        if call.has_node("VOLTage"):
            return "voltage_level_v", "voltage_range_v", "voltage_range_auto", VOLTAGE_RANGES, "V"
        return "current_level_a", "current_range_a", "current_range_auto", CURRENT_RANGES, "A"

    @scpi(":SOURce#:CURRent:RANGe", ":SOURce#:VOLTage:RANGe")
    def _source_range(self, call: Call) -> str | None:
        s = self.state
        level, rng, auto, ranges, unit = self._source_attrs(call)
        if call.query:
            return self.format_number(getattr(s, rng))
        call.expect(1)
        top = ranges[-1] * OVERRANGE
        value = parse_number(call.param(), unit=unit, minimum=-top, maximum=top, default=ranges[0])
        new_range = _range_for(value, ranges)
        if abs(getattr(s, level)) > new_range * OVERRANGE:
            raise ScpiError(-221, call.text)  # range too small for the present level
        setattr(s, rng, new_range)
        setattr(s, auto, False)
        self._apply()
        return None

    @scpi(":SOURce#:CURRent:RANGe:AUTO", ":SOURce#:VOLTage:RANGe:AUTO")
    def _source_range_auto(self, call: Call) -> str | None:
        level, rng, auto, ranges, _ = self._source_attrs(call)

        def follow() -> None:
            if getattr(self.state, auto):
                setattr(self.state, rng, _range_for(getattr(self.state, level), ranges))
            self._apply()

        return self.bool_setting(call, self.state, auto, after=follow)

    @scpi(":SOURce#:CURRent:VLIMit[:LEVel]")
    def _vlim(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.state.vlim_v)
        call.expect(1)
        value = abs(
            parse_number(call.param(), unit="V", minimum=-210.0, maximum=210.0, default=21.0)
        )
        if value < 0.02:
            raise ScpiError(-222, call.text)  # refused: the limit stays as it was
        self.state.vlim_v = value
        self._apply()
        return None

    @scpi(":SOURce#:CURRent:VLIMit[:LEVel]:TRIPped?")
    def _vlim_tripped(self, call: Call) -> str:
        call.expect(0)
        tripped = (
            self.state.output
            and self.state.source_function == "CURR"
            and (self.world.source_in_compliance)
        )
        return "1" if tripped else "0"

    @scpi(":SOURce#:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _voltage_level(self, call: Call) -> str | None:
        s = self.state
        if call.query:
            return self.format_number(s.voltage_level_v)
        call.expect(1)
        limit = 210.0 if s.voltage_range_auto else s.voltage_range_v * OVERRANGE
        value = parse_number(call.param(), unit="V", minimum=-210.0, maximum=210.0, default=0.0)
        if abs(value) > limit:
            raise ScpiError(-222, call.text)
        s.voltage_level_v = value
        if s.voltage_range_auto:
            s.voltage_range_v = _range_for(value, VOLTAGE_RANGES)
        s.level_changed = True
        self._apply()
        return None

    @scpi(":SOURce#:VOLTage:ILIMit[:LEVel]")
    def _ilim(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.state.ilim_a)
        call.expect(1)
        value = parse_number(call.param(), unit="A", minimum=-1.05, maximum=1.05, default=105e-6)
        if abs(value) < 1e-9:
            raise ScpiError(-222, call.text)
        self.state.ilim_a = abs(value)
        self._apply()
        return None

    @scpi(":SOURce#:VOLTage:ILIMit[:LEVel]:TRIPped?")
    def _ilim_tripped(self, call: Call) -> str:
        call.expect(0)
        s = self.state
        r = self.world.input_loop_ohm()
        tripped = (
            s.output and s.source_function == "VOLT" and abs(s.voltage_level_v) / r >= s.ilim_a
        )
        return "1" if tripped else "0"

    @scpi(":SOURce#:VOLTage:PROTection[:LEVel]")
    def _ovp(self, call: Call) -> str | None:
        if call.query:
            for name, level in OVP_LEVELS.items():
                if level == self.state.ovp_v:
                    return name
        call.expect(1)
        name = call.param().strip().upper()
        if name not in OVP_LEVELS:
            raise ScpiError(-224, call.text)
        self.state.ovp_v = OVP_LEVELS[name]
        self._apply()
        return None

    @scpi(":SOURce#:VOLTage:PROTection[:LEVel]:TRIPped?")
    def _ovp_tripped(self, call: Call) -> str:
        call.expect(0)
        return "1" if self.state.ovp_tripped else "0"

    @scpi(":SOURce#:CURRent:DELay", ":SOURce#:VOLTage:DELay")
    def _delay(self, call: Call) -> str | None:
        if call.query:
            return self.format_number(self.state.source_delay_s)
        call.expect(1)
        self.state.source_delay_s = parse_number(
            call.param(), unit="S", minimum=0.0, maximum=10000.0, default=0.0
        )
        self.state.source_delay_auto = False  # a manual delay turns auto delay off
        return None

    @scpi(":SOURce#:CURRent:DELay:AUTO", ":SOURce#:VOLTage:DELay:AUTO")
    def _delay_auto(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.source_delay_auto else "0"
        call.expect(1)
        self.state.source_delay_auto = parse_bool(call.param())
        if self.state.source_delay_auto:
            self.state.source_delay_s = AUTO_SOURCE_DELAY_S
        return None

    @scpi(":SOURce#:CURRent:READ:BACK", ":SOURce#:VOLTage:READ:BACK")
    def _readback(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.readback else "0"
        call.expect(1)
        self.state.readback = parse_bool(call.param())
        return None

    # ------------------------------------------------------------------ output
    @scpi(":OUTPut#[:STATe]")
    def _output(self, call: Call) -> str | None:
        if call.query:
            return "1" if self.state.output else "0"
        call.expect(1)
        on = parse_bool(call.param())
        if on and self.state.ovp_tripped:
            self.state.ovp_tripped = False
        if on and not self.state.output:
            self.state.level_changed = True
        self.state.output = on
        self._apply()
        return None

    @scpi(":OUTPut#:CURRent:SMODe", ":OUTPut#:VOLTage:SMODe", ":OUTPut#:SMODe")
    def _off_mode(self, call: Call) -> str | None:
        functions = (
            ["CURR"]
            if call.has_node("CURRent")
            else ["VOLT"]
            if call.has_node("VOLTage")
            else ["CURR", "VOLT"]
        )
        if call.query:
            return self.state.off_mode[functions[0]][:4]
        call.expect(1)
        mode = parse_choice(call.param(), ["NORMal", "HIMPedance", "ZERO", "GUARd"])
        for function in functions:
            self.state.off_mode[function] = mode
        return None

    # ------------------------------------------------------------------ sense
    @scpi("[:SENSe#]:FUNCtion[:ON]")
    def _sense_function(self, call: Call) -> str | None:
        if call.query:
            name = self.state.sense_function
            return f'"{name}"' if name == "RES" else f'"{name}:DC"'
        call.expect(1)
        self.state.sense_function = _sense_name(call)
        return None

    def _sense(self, call: Call) -> SenseSettings:
        return self.state.sense[_function_of(call)]

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:RANGe[:UPPer]",
        "[:SENSe#]:CURRent[:DC]:RANGe[:UPPer]",
        "[:SENSe#]:RESistance:RANGe[:UPPer]",
    )
    def _sense_range(self, call: Call) -> str | None:
        sense = self._sense(call)
        function = _function_of(call)
        ranges = SENSE_RANGES[function]
        if call.query:
            return self.format_number(sense.range)
        call.expect(1)
        top = ranges[-1] * (OVERRANGE if function != "RES" else 1.0)
        value = parse_number(
            call.param(), unit=SENSE_UNIT[function], minimum=-top, maximum=top, default=ranges[0]
        )
        sense.range, sense.range_auto = _range_for(value, ranges), False
        return None

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:RANGe:AUTO",
        "[:SENSe#]:CURRent[:DC]:RANGe:AUTO",
        "[:SENSe#]:RESistance:RANGe:AUTO",
    )
    def _sense_range_auto(self, call: Call) -> str | None:
        return self.bool_setting(call, self._sense(call), "range_auto")

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:NPLCycles",
        "[:SENSe#]:CURRent[:DC]:NPLCycles",
        "[:SENSe#]:RESistance:NPLCycles",
    )
    def _nplc(self, call: Call) -> str | None:
        return self.number_setting(
            call, self._sense(call), "nplc", minimum=0.01, maximum=10.0, default=1.0
        )

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:RSENse",
        "[:SENSe#]:CURRent[:DC]:RSENse",
        "[:SENSe#]:RESistance:RSENse",
    )
    def _rsense(self, call: Call) -> str | None:
        return self.bool_setting(call, self._sense(call), "four_wire")

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:AZERo[:STATe]",
        "[:SENSe#]:CURRent[:DC]:AZERo[:STATe]",
        "[:SENSe#]:RESistance:AZERo[:STATe]",
    )
    def _autozero(self, call: Call) -> str | None:
        return self.bool_setting(call, self._sense(call), "autozero")

    @scpi("[:SENSe#]:AZERo:ONCE!")
    def _autozero_once(self, call: Call) -> None:
        call.expect(0)
        sense = self.state.sense[self.state.sense_function]
        self.world.clock.advance(sense.nplc / self.world.line_frequency_hz)

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:DELay:USER#",
        "[:SENSe#]:CURRent[:DC]:DELay:USER#",
        "[:SENSe#]:RESistance:DELay:USER#",
        ":SOURce#:VOLTage:DELay:USER#",
        ":SOURce#:CURRent:DELay:USER#",
    )
    def _user_delay(self, call: Call) -> str | None:
        number = call.suffixes[-1]
        if not 1 <= number <= 5:
            raise ScpiError(-114, call.text)
        source = call.header[0].startswith("SOUR")
        delays = (
            self.state.source_user_delay_s.setdefault(_function_of(call), {})
            if source
            else self._sense(call).user_delay_s
        )
        if call.query:
            return self.format_number(delays.get(number, 0.0))
        call.expect(1)
        delays[number] = parse_number(call.param(), unit="S", minimum=0.0, maximum=10_000.0)
        return None

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:AVERage[:STATe]",
        "[:SENSe#]:CURRent[:DC]:AVERage[:STATe]",
        "[:SENSe#]:RESistance:AVERage[:STATe]",
    )
    def _average(self, call: Call) -> str | None:
        return self.bool_setting(call, self._sense(call), "average")

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:AVERage:COUNt",
        "[:SENSe#]:CURRent[:DC]:AVERage:COUNt",
        "[:SENSe#]:RESistance:AVERage:COUNt",
    )
    def _average_count(self, call: Call) -> str | None:
        sense = self._sense(call)
        if call.query:
            return str(sense.average_count)
        call.expect(1)
        sense.average_count = round(parse_number(call.param(), minimum=1, maximum=100, default=10))
        return None

    @scpi(
        "[:SENSe#]:VOLTage[:DC]:AVERage:TCONtrol",
        "[:SENSe#]:CURRent[:DC]:AVERage:TCONtrol",
        "[:SENSe#]:RESistance:AVERage:TCONtrol",
    )
    def _average_filter(self, call: Call) -> str | None:
        sense = self._sense(call)
        if call.query:
            return sense.average_filter
        call.expect(1)
        sense.average_filter = parse_choice(call.param(), ["REPeat", "MOVing"], short=True)
        return None

    @scpi("[:SENSe#]:COUNt")
    def _count(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.state.count)
        call.expect(1)
        self.state.count = round(parse_number(call.param(), minimum=1, maximum=300_000, default=1))
        return None

    @scpi(":ROUTe:TERMinals")
    def _terminals(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return self.state.terminals
        call.expect(1)
        terminals = parse_choice(call.param(), ["FRONt", "REAR"], short=True)
        if terminals != self.state.terminals:
            self.state.output = False  # changing terminals turns the output off (manual)
            self.state.terminals = terminals
            self._apply()
        return None

    # ------------------------------------------------------------------ measurements
    def _measure(self) -> tuple[float, float]:
        """One reading: (source value element, measurement element); advances the clock."""
        s = self.state
        clock = self.world.clock
        if s.level_changed and s.output:
            clock.advance(s.source_delay_s)
        s.level_changed = False
        sense = s.sense[s.sense_function]
        aperture = sense.nplc / self.world.line_frequency_hz
        clock.advance(aperture + 0.0002)  # [E] autozero refs taken between readings
        rng = self.world.rng
        current_true = self.world.input_a
        four_wire = sense.four_wire and s.output
        voltage_true = self.world.input_voltage_v(four_wire) if s.output else 0.0
        if s.output and s.source_function == "CURR" and self.world.source_in_compliance:
            voltage_true = math.copysign(min(s.vlim_v, s.ovp_v), current_true)
        noise_scale = math.sqrt(1.0 / max(sense.nplc, 0.01))
        current_sense = s.sense["CURR"]
        i_range = (
            s.current_range_a
            if s.source_function == "CURR"
            else (
                current_sense.range
                if not current_sense.range_auto
                else _range_for(current_true, CURRENT_RANGES)
            )
        )
        i_spec = MEASURE_CURRENT_SPEC[i_range]
        current = self.cal.apply("measure-current", i_spec, current_true)
        current += rng.normal(0.0, 0.02 * i_spec.offset * noise_scale)
        v_range = (
            s.sense["VOLT"].range
            if not s.sense["VOLT"].range_auto
            else _range_for(voltage_true, VOLTAGE_RANGES)
        )
        v_spec = MEASURE_VOLTAGE_SPEC[v_range]
        voltage = self.cal.apply("measure-voltage", v_spec, voltage_true)
        voltage += rng.normal(0.0, 0.02 * v_spec.offset * noise_scale)
        if s.sense_function == "CURR":
            reading = current
        elif s.sense_function == "VOLT":
            reading = voltage
        else:  # resistance: V / I (overflow when no current flows)
            reading = voltage / current if abs(current) > 1e-12 else math.inf
        if s.source_function == "CURR":
            source = current if s.readback else s.current_level_a
        else:
            source = voltage if s.readback else s.voltage_level_v
        return source, reading

    def _take(self, count: int, buffer: str) -> None:
        """``count`` readings into ``buffer`` (what READ?, MEASure? and TRACe:TRIGger do)."""
        unit = {"CURR": "Amp DC", "VOLT": "Volt DC", "RES": "Ohm"}[self.state.sense_function]
        for _ in range(count):
            start = self.world.clock.now
            source, reading = self._measure()
            self.buffers[buffer].add([reading], [start], unit=unit, sources=[source])

    def source_unit(self) -> str:
        return "Amp DC" if self.state.source_function == "CURR" else "Volt DC"

    def trace_trigger(self, buffer: str) -> None:
        self._take(self.state.count, buffer)

    def _read_into(self, call: Call) -> str:
        call.expect((0, 16))
        buffer = self.buffer_name(call.params[0] if call.params else None)
        self._take(self.state.count, buffer)
        last = len(self.buffers[buffer]) - 1
        if last < 0:  # fill mode ONCE and the buffer is full: nothing new was stored
            raise ScpiError(-225, f"buffer {buffer} is full")
        return self.format_elements(buffer, range(last, last + 1), call.params[1:])

    @scpi(":READ?")
    def _read(self, call: Call) -> str:
        return self._read_into(call)

    @scpi(
        ":MEASure[:VOLTage][:DC]?",
        ":MEASure:CURRent[:DC]?",
        ":MEASure:RESistance?",
    )
    def _measure_q(self, call: Call) -> str:
        if len(call.header) > 1:  # :MEASure:<function>? selects the function first
            self.state.sense_function = _function_of(call)
        return self._read_into(call)

    # ------------------------------------------------------------------ sweeps, trigger model
    @scpi(
        ":SOURce#:SWEep:CURRent:LINear!",
        ":SOURce#:SWEep:VOLTage:LINear!",
        ":SOURce#:SWEep:CURRent:LINear:STEP!",
        ":SOURce#:SWEep:VOLTage:LINear:STEP!",
        ":SOURce#:SWEep:CURRent:LOG!",
        ":SOURce#:SWEep:VOLTage:LOG!",
    )
    def _sweep(self, call: Call) -> None:
        """Load a sweep into the trigger model: start, stop, points (or step), delay, count,
        range type, fail/abort, dual, buffer (2450 Reference Manual, :SOURce:SWEep)."""
        call.expect((3, 9))
        function = "VOLT" if call.has_node("VOLTage") else "CURR"
        self._idle_required(call)
        top = 1.05 if function == "CURR" else 210.0
        unit = "A" if function == "CURR" else "V"
        start = parse_number(call.param(0), unit=unit, minimum=-top, maximum=top)
        stop = parse_number(call.param(1), unit=unit, minimum=-top, maximum=top)
        if call.has_node("STEP"):
            step = parse_number(call.param(2), unit=unit, minimum=-2 * top, maximum=2 * top)
            if step == 0.0 or (stop - start) * step < 0:
                raise ScpiError(-221, "step does not lead from start to stop")
            points = math.floor(abs((stop - start) / step) + 1e-9) + 1
            levels = [start + k * step for k in range(points)]
        else:
            points = round(parse_number(call.param(2), minimum=2, maximum=1_000_000))
            if call.has_node("LOG"):
                if start * stop <= 0:
                    raise ScpiError(-221, "a log sweep needs start and stop of one sign")
                levels = list(np.geomspace(start, stop, points))
            else:
                levels = list(np.linspace(start, stop, points))
        params = call.params
        delay = (
            parse_number(params[3], unit="S", minimum=-1.0, maximum=10_000.0)
            if len(params) > 3
            else -1.0
        )
        count = (
            round(parse_number(params[4], minimum=1, maximum=268_435_455))
            if len(params) > 4 and not params[4].strip().upper().startswith("INF")
            else 1
        )
        range_mode = (
            parse_choice(params[5], ["AUTO", "BEST", "FIXed"], short=True)
            if len(params) > 5
            else "BEST"
        )
        fail_abort = parse_bool(params[6]) if len(params) > 6 else True
        dual = parse_bool(params[7]) if len(params) > 7 else False
        buffer = self.buffer_name(params[8] if len(params) > 8 else None)
        if dual:
            levels = levels + levels[::-1]
        self.state.sweep = Sweep(function, levels, delay, count, range_mode, fail_abort, buffer)
        self.state.trigger_model, self.state.loop = "SWEEP", None
        self.state.source_function = function
        self._apply()

    @scpi(":TRIGger:LOAD!")
    def _trig_load(self, call: Call) -> None:
        call.expect((1, 8))
        self._idle_required(call)
        name = parse_string(call.param(0)).upper()
        if name == "EMPTY":
            call.expect(1)
            self.state.trigger_model, self.state.sweep, self.state.loop = "EMPTY", None, None
        elif name == "SIMPLELOOP":
            call.expect((2, 4))
            count = round(parse_number(call.param(1), minimum=1, maximum=268_435_455))
            delay = (
                parse_number(call.params[2], unit="S", minimum=0.0, maximum=10_000.0)
                if len(call.params) > 2
                else 0.0
            )
            buffer = self.buffer_name(call.params[3] if len(call.params) > 3 else None)
            self.state.trigger_model, self.state.sweep = "SIMPLELOOP", None
            self.state.loop = (count, delay, buffer)
        else:
            raise ScpiError(-224, f"trigger model template not simulated: {name}")

    def _idle_required(self, call: Call) -> None:
        """Trigger models run to completion at :INITiate (see the module docstring)."""

    @scpi(":INITiate[:IMMediate]!")
    def _initiate(self, call: Call) -> None:
        call.expect(0)
        s = self.state
        s.aborted = False
        if s.trigger_model == "SWEEP" and s.sweep is not None:
            self._run_sweep(s.sweep)
        elif s.trigger_model == "SIMPLELOOP" and s.loop is not None:
            count, delay, buffer = s.loop
            for _ in range(count):
                self.world.clock.advance(delay)
                self._take(1, buffer)
            s.last_block = 3
        else:
            raise ScpiError(-221, "the trigger model has no blocks")

    def _run_sweep(self, sweep: Sweep) -> None:
        s = self.state
        self.buffers[sweep.buffer].clear()  # the sweep model's first block clears the buffer
        s.output = True  # the sweep's first block turns the output on
        for _ in range(sweep.count):
            for level in sweep.levels:
                if sweep.function == "CURR":
                    s.current_level_a = level
                    self.peak_current_a = max(self.peak_current_a, abs(level))
                    if sweep.range_mode != "FIX":
                        s.current_range_a = _range_for(
                            max(abs(v) for v in sweep.levels)
                            if sweep.range_mode == "BEST"
                            else level,
                            CURRENT_RANGES,
                        )
                else:
                    s.voltage_level_v = level
                self._apply()
                delay = AUTO_SOURCE_DELAY_S if sweep.delay_s < 0 else sweep.delay_s
                self.world.clock.advance(delay)
                s.level_changed = False
                self._take(1, sweep.buffer)
                if (
                    sweep.fail_abort
                    and sweep.function == "CURR"
                    and self.world.source_in_compliance
                ):
                    s.last_block = 7
                    self.push_error(5074, "Output reached the source limit, sweep aborted")
                    return
        s.last_block = 10

    @scpi(":ABORt!")
    def _abort(self, call: Call) -> None:
        call.expect(0)
        self.state.aborted = True

    @scpi(":TRIGger:STATe?")
    def _trig_state(self, call: Call) -> str:
        call.expect(0)
        s = self.state
        if s.trigger_model == "EMPTY":
            return "EMPTY;EMPTY;0"
        state = "ABORTED" if s.aborted else "IDLE"
        return f"{state};{state};{s.last_block}"

    # ------------------------------------------------------------------ digital I/O triggers
    @scpi(":DIGital:LINE#:MODE")
    def _dig_mode(self, call: Call) -> str | None:
        line = call.suffixes[1]
        if not 1 <= line <= 6:
            raise ScpiError(-114, call.text)
        if call.query:
            mode, direction = self.state.dig_line_mode.get(line, ("DIG", "IN"))
            return f"{mode},{direction}"
        call.expect(2)
        mode = parse_choice(call.param(0), ["DIGital", "TRIGger", "SYNChronous"], short=True)
        direction = parse_choice(
            call.param(1), ["IN", "OUT", "OPENdrain", "MASTer", "ACCeptor"], short=True
        )
        self.state.dig_line_mode[line] = (mode, direction)
        return None

    @scpi(":DIGital:LINE#:STATe")
    def _dig_state(self, call: Call) -> str | None:
        line = call.suffixes[1]
        if not 1 <= line <= 6:
            raise ScpiError(-114, call.text)
        if call.query:
            return "1" if self.state.dig_line_state.get(line, False) else "0"
        call.expect(1)
        if self.state.dig_line_mode.get(line, ("DIG", "IN")) != ("DIG", "OUT"):
            raise ScpiError(-221, "line is not a digital output")
        state = parse_bool(call.param())
        self.state.dig_line_state[line] = state
        self.world.set_digital_line(line, state)
        return None

    @scpi(":TRIGger:DIGital#:OUT:STIMulus")
    def _dig_stim(self, call: Call) -> str | None:
        line = call.suffixes[1]
        if not 1 <= line <= 6:
            raise ScpiError(-114, call.text)
        if call.query:
            return self.state.dig_out_stimulus.get(line, "NONE")
        call.expect(1)
        value = call.param().strip().upper()
        if value not in ("NONE", "COMM", "COMMAND") and not value.startswith(("NOT", "TIM")):
            raise ScpiError(-224, call.text)
        self.state.dig_out_stimulus[line] = "COMM" if value.startswith("COMM") else value
        return None

    @scpi(":TRIGger:DIGital#:OUT:LOGic")
    def _dig_logic(self, call: Call) -> str | None:
        line = call.suffixes[1]
        if call.query:
            return self.state.dig_out_logic.get(line, "NEG")
        call.expect(1)
        self.state.dig_out_logic[line] = parse_choice(call.param(), ["POSitive", "NEGative"])[:3]
        return None

    @scpi(":TRIGger:DIGital#:OUT:PULSewidth")
    def _dig_pulse(self, call: Call) -> str | None:
        line = call.suffixes[1]
        if call.query:
            return self.format_number(self.state.dig_out_pulse_s.get(line, 10e-6))
        call.expect(1)
        self.state.dig_out_pulse_s[line] = parse_number(
            call.param(), unit="S", minimum=4e-6, maximum=100.0, default=10e-6
        )
        return None

    @scpi("*TRG!")
    def _trg(self, call: Call) -> None:
        """A command trigger event: pulses every digital line whose stimulus is COMMand."""
        call.expect(0)
        for line, stimulus in self.state.dig_out_stimulus.items():
            mode = self.state.dig_line_mode.get(line, ("DIG", "IN"))
            if stimulus == "COMM" and mode == ("TRIG", "OUT"):
                self.world.fire_hardware_trigger(self.world.clock.now)
