"""Simulated Rigol DP821A two-output DC supply (CH1 60 V / 1 A, CH2 8 V / 10 A).

Command set from the Rigol DP800 Series Programming Guide (chapter 2): ``:APPLy``,
``:INSTrument[:SELect]`` / ``:NSELect``, ``[:SOURce[<n>]]:VOLTage|CURRent[:LEVel][:IMMediate]
[:AMPLitude]`` with their ``:PROTection[:LEVel]`` / ``:STATe`` / ``:QUEStion?`` / ``:CLEar``,
``:OUTPut[:STATe]``, ``:OUTPut:MODE?`` / ``:CVCC?``, ``:OUTPut:OVP|OCP[:STATe]`` / ``:VALue``
/ ``:QUEStion?`` / ``:ALARm?`` / ``:CLEar``, ``:MEASure[:VOLTage]|:CURRent|:POWEr|:ALL[:DC]?``.
A command without a channel acts on the selected channel (``:INST``; ``:APPL CH<n>`` selects
it too); settable ranges are 105 % of the rating (DP800 Programming Guide Table 2-1); an
OVP/OCP trip switches that output off and latches until ``...:CLEar``.

Channel 1 is wired to the module's supply terminals (the world's supply); channel 2 drives
nothing (it reads back its level with the output on and no current). Figures marked [E] are
the simulator's assumptions where the DP821A documents were not at hand: voltage programming
+-(0.05 % + 20 mV) and readback +-(0.05 % + 10 mV) (the DP832's figures), the 11 ms rise time
(DP1308A sibling), the status bit positions and the ``YES|NO`` reply of the trip queries.
Current readback +-(0.15 % + 10 mA) is the DP800 Performance Verification Manual's DP821A row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from bench.sim.errors_model import CalibrationErrors, RangeSpec
from bench.sim.instrument import Identity
from bench.sim.instruments.rigol import RigolInstrument, parse_channel
from bench.sim.scpi import Call, ScpiError, parse_bool, parse_choice, parse_number, scpi


@dataclass(frozen=True)
class ChannelSpec:
    rated_v: float
    rated_a: float
    ovp_v: tuple[float, float]  # settable OVP range
    ocp_a: tuple[float, float]

    @property
    def max_v(self) -> float:
        return self.rated_v * 1.05

    @property
    def max_a(self) -> float:
        return self.rated_a * 1.05

    @property
    def label(self) -> str:
        return f"{self.rated_v:g}V/{self.rated_a:g}A"


CHANNELS = {
    1: ChannelSpec(60.0, 1.0, (0.01, 66.0), (0.01, 1.1)),
    2: ChannelSpec(8.0, 10.0, (0.01, 8.8), (0.01, 11.0)),
}
#: the output wired to the module (the world's supply)
WIRED = 1
VOLTAGE_PROGRAM = RangeSpec(60.0, 0.0005, 0.020)  # [E]
VOLTAGE_READBACK = RangeSpec(60.0, 0.0005, 0.010)  # [E]
CURRENT_READBACK = RangeSpec(1.0, 0.0015, 0.010)  # DP800 PVM, DP821A CC readback
QUES_OV, QUES_OC = 1 << 0, 1 << 1  # [E] channel 1's trips
OPER_CV, OPER_CC = 1 << 8, 1 << 10  # [E] channel 1's regulation mode
_SOURCE_TOKEN = re.compile(r"(SOUR|SOURCE)(\d*)")


@dataclass
class ChannelState:
    voltage_v: float = 0.0
    current_a: float = 0.0
    output: bool = False
    ovp_v: float = 0.0
    ovp_enabled: bool = False
    ocp_a: float = 0.0
    ocp_enabled: bool = False
    ov_tripped: bool = False
    oc_tripped: bool = False

    @classmethod
    def defaults(cls, spec: ChannelSpec) -> ChannelState:
        """``*RST``: 0 V, the rated current, output off, OVP/OCP off at their maximum [E]."""
        return cls(current_a=spec.rated_a, ovp_v=spec.ovp_v[1], ocp_a=spec.ocp_a[1])


class RigolDP821(RigolInstrument):
    role = "supply"
    command_overhead_s = 0.001  # [E]
    #: output rise to a new level (DP1308A sibling: 11 ms) [E]
    settle_s = 0.011
    #: one readback conversion [E]
    measure_s = 0.02
    decimals: ClassVar[dict[str, int]] = {"V": 3, "A": 4, "W": 3, "OHM": 3, "MV": 4, "MA": 4}

    def __init__(self, world, identity: Identity | None = None) -> None:
        ident = identity or self.default_identity()
        self.cal = CalibrationErrors(ident.serial)
        self.peak_voltage_v = 0.0  # largest level ever programmed on CH1 (safety tests)
        super().__init__(world, ident)

    @staticmethod
    def default_identity() -> Identity:
        return Identity("RIGOL TECHNOLOGIES", "DP821A", "DP8F234500123", "00.01.16")  # [E]

    def reset(self) -> None:
        super().reset()
        self.channels = {n: ChannelState.defaults(spec) for n, spec in CHANNELS.items()}
        self.selected = 1
        self._apply()

    @property
    def state(self) -> ChannelState:
        """Channel 1, the one the bench uses (``SimBench.levels`` reads ``state.voltage_v``)."""
        return self.channels[WIRED]

    def output_enabled(self) -> bool:
        return any(ch.output for ch in self.channels.values())

    def safety_levels(self) -> dict[str, float]:
        """Channel 1's programmed voltage (channel 2 drives nothing; its output state is in
        ``output_enabled``)."""
        return {"voltage_v": self.channels[WIRED].voltage_v}

    def trip(self, protection: str) -> None:
        """An OVP/OCP trip of channel 1 (fault injection): output off, latched."""
        s = self.channels[WIRED]
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
        """Channel 1 drives the world; protections act on what the output would do."""
        for number, s in self.channels.items():
            if s.output and s.ovp_enabled and s.voltage_v > s.ovp_v:
                s.output, s.ov_tripped = False, True
            if number != WIRED:
                continue
            actual_v = (
                self.cal.apply("program-voltage", VOLTAGE_PROGRAM, s.voltage_v)
                if s.voltage_v
                else 0.0
            )
            self.world.set_supply(s.output, max(actual_v, 0.0), s.current_a)
            if s.output and s.ocp_enabled and self._over_current(s):
                s.output, s.oc_tripped = False, True
                self.world.set_supply(False, 0.0, s.current_a)

    def process(self, message: str) -> str | None:
        """Every message first sees channel 1's protection act on the module's present draw
        (the real supply watches it continuously; the bench changes between messages)."""
        with self.world.lock:
            s = self.channels[WIRED]
            if s.output and s.ocp_enabled and self._over_current(s):
                s.output, s.oc_tripped = False, True
                self.world.set_supply(False, 0.0, s.current_a)
        return super().process(message)

    def _over_current(self, s: ChannelState) -> bool:
        """The output current reaches the OCP level: in CC (held at the limit) when the limit
        is at or above the OCP level, in CV when the drawn current exceeds it."""
        supply = self.world.supply
        if supply.mode == "CC":
            return s.current_a >= s.ocp_a * (1 - 1e-9)
        return self.world.supply_current_a() > s.ocp_a

    def _mode(self, number: int) -> str:
        """``CV`` or ``CC`` (``UR``, unregulated, does not occur in this model)."""
        if number == WIRED and self.world.supply.mode == "CC":
            return "CC"
        return "CV"  # channel 2 has nothing connected: never current-limited

    # ------------------------------------------------------------------ channel selection
    def _channel_of(self, call: Call) -> int:
        """``:SOURce<n>`` in the header names the channel; no suffix: the selected one."""
        for token in call.header:
            m = _SOURCE_TOKEN.fullmatch(token)
            if m:
                if not m.group(2):
                    return self.selected
                number = int(m.group(2))
                if number not in CHANNELS:
                    raise ScpiError(-114, token)
                return number
        return self.selected

    def _channel_param(self, call: Call, params: list[str]) -> tuple[int, list[str]]:
        """A leading ``CH<n>`` parameter, else the selected channel; the remaining params."""
        if params and params[0].strip().upper().startswith("CH"):
            return parse_channel(params[0], len(CHANNELS)), params[1:]
        return self.selected, params

    @scpi("INSTrument[:SELect]")
    def _instrument_select(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return f"CH{self.selected}"
        call.expect(1)
        self.selected = parse_channel(call.param(), len(CHANNELS))
        return None

    @scpi("INSTrument:NSELect")
    def _instrument_nselect(self, call: Call) -> str | None:
        if call.query:
            call.expect(0)
            return str(self.selected)
        call.expect(1)
        number = parse_number(call.param(), minimum=1, maximum=len(CHANNELS))
        if number != int(number):
            raise ScpiError(-224, call.param())
        self.selected = int(number)
        return None

    # ------------------------------------------------------------------ levels
    def _level(self, call: Call, attr: str, unit: str, maximum: float, default: float):
        number = self._channel_of(call)
        s = self.channels[number]
        if call.query:
            call.expect((0, 1))
            if call.params:
                which = parse_choice(call.param(), ["MINimum", "MAXimum"])
                return self.fixed(0.0 if which == "MINIMUM" else maximum, unit)
            return self.fixed(getattr(s, attr), unit)
        call.expect(1)
        value = parse_number(call.param(), unit=unit, minimum=0.0, maximum=maximum, default=default)
        setattr(s, attr, value)
        if number == WIRED and attr == "voltage_v":
            self.peak_voltage_v = max(self.peak_voltage_v, value)
        self._apply()
        if s.output:
            self.world.clock.advance(self.settle_s)
        return None

    @scpi("[SOURce#]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _voltage(self, call: Call) -> str | None:
        spec = CHANNELS[self._channel_of(call)]
        return self._level(call, "voltage_v", "V", spec.max_v, 0.0)

    @scpi("[SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _current(self, call: Call) -> str | None:
        spec = CHANNELS[self._channel_of(call)]
        return self._level(call, "current_a", "A", spec.max_a, spec.rated_a)

    @scpi("APPLy")
    def _apply_cmd(self, call: Call) -> str | None:
        if call.query:
            call.expect((0, 2))
            number, rest = self._channel_param(call, list(call.params))
            s, spec = self.channels[number], CHANNELS[number]
            volts, amps = self.fixed(s.voltage_v, "V"), self.fixed(s.current_a, "A")
            if rest:
                which = parse_choice(rest[0], ["VOLTage", "CURRent"])
                return volts if which == "VOLTAGE" else amps
            return f"CH{number}:{spec.label},{volts},{amps}"
        call.expect((1, 3))
        number = parse_channel(call.param(0), len(CHANNELS))
        spec, s = CHANNELS[number], self.channels[number]
        voltage, current = s.voltage_v, s.current_a
        if len(call.params) > 1:
            voltage = parse_number(
                call.param(1), unit="V", minimum=0.0, maximum=spec.max_v, default=0.0
            )
        if len(call.params) > 2:
            current = parse_number(
                call.param(2), unit="A", minimum=0.0, maximum=spec.max_a, default=spec.rated_a
            )
        self.selected = number
        s.voltage_v, s.current_a = voltage, current
        if number == WIRED:
            self.peak_voltage_v = max(self.peak_voltage_v, voltage)
        self._apply()
        if s.output:
            self.world.clock.advance(self.settle_s)
        return None

    # ------------------------------------------------------------------ protection
    def _protection_level(self, call: Call, attr: str, unit: str, limits: tuple[float, float]):
        s = self.channels[self._channel_of(call)]
        if call.query:
            call.expect(0)
            return self.fixed(getattr(s, attr), unit)
        call.expect(1)
        value = parse_number(
            call.param(), unit=unit, minimum=limits[0], maximum=limits[1], default=limits[1]
        )
        setattr(s, attr, value)
        self._apply()
        return None

    @scpi("[SOURce#]:VOLTage:PROTection[:LEVel]")
    def _ovp_level(self, call: Call) -> str | None:
        return self._protection_level(call, "ovp_v", "V", CHANNELS[self._channel_of(call)].ovp_v)

    @scpi("[SOURce#]:CURRent:PROTection[:LEVel]")
    def _ocp_level(self, call: Call) -> str | None:
        return self._protection_level(call, "ocp_a", "A", CHANNELS[self._channel_of(call)].ocp_a)

    @scpi("[SOURce#]:VOLTage:PROTection:STATe", "[SOURce#]:CURRent:PROTection:STATe")
    def _protection_state(self, call: Call) -> str | None:
        s = self.channels[self._channel_of(call)]
        attr = "ovp_enabled" if call.has_node("VOLTage") else "ocp_enabled"
        if call.query:
            call.expect(0)
            return "ON" if getattr(s, attr) else "OFF"
        call.expect(1)
        setattr(s, attr, parse_bool(call.param()))
        self._apply()
        return None

    @scpi("[SOURce#]:VOLTage:PROTection:QUEStion?", "[SOURce#]:CURRent:PROTection:QUEStion?")
    def _protection_question(self, call: Call) -> str:
        call.expect(0)
        s = self.channels[self._channel_of(call)]
        tripped = s.ov_tripped if call.has_node("VOLTage") else s.oc_tripped
        return "YES" if tripped else "NO"

    @scpi("[SOURce#]:VOLTage:PROTection:CLEar!", "[SOURce#]:CURRent:PROTection:CLEar!")
    def _protection_clear(self, call: Call) -> None:
        call.expect(0)
        self._clear(self._channel_of(call), "OVP" if call.has_node("VOLTage") else "OCP")

    def _clear(self, number: int, which: str) -> None:
        s = self.channels[number]
        if which == "OVP":
            if s.ovp_enabled and s.voltage_v > s.ovp_v:
                raise ScpiError(-221, "voltage above the OVP level")
            s.ov_tripped = False
        else:
            s.oc_tripped = False

    # the :OUTPut:OVP / :OUTPut:OCP forms with a channel parameter
    def _which(self, call: Call) -> tuple[str, str, str, str]:
        """(protection, its switch attribute, its level attribute, the level's unit)."""
        if call.has_node("OVP"):
            return "OVP", "ovp_enabled", "ovp_v", "V"
        return "OCP", "ocp_enabled", "ocp_a", "A"

    @scpi("OUTPut:OVP[:STATe]", "OUTPut:OCP[:STATe]")
    def _outp_protection_state(self, call: Call) -> str | None:
        _, attr, _, _ = self._which(call)
        if call.query:
            call.expect((0, 1))
            number, _ = self._channel_param(call, list(call.params))
            return "ON" if getattr(self.channels[number], attr) else "OFF"
        call.expect((1, 2))
        number, rest = self._channel_param(call, list(call.params))
        if len(rest) != 1:
            raise ScpiError(-109, call.text)
        setattr(self.channels[number], attr, parse_bool(rest[0]))
        self._apply()
        return None

    @scpi("OUTPut:OVP:VALue", "OUTPut:OCP:VALue")
    def _outp_protection_value(self, call: Call) -> str | None:
        which, _, attr, unit = self._which(call)
        if call.query:
            call.expect((0, 1))
            number, _ = self._channel_param(call, list(call.params))
            return self.fixed(getattr(self.channels[number], attr), unit)
        call.expect((1, 2))
        number, rest = self._channel_param(call, list(call.params))
        if len(rest) != 1:
            raise ScpiError(-109, call.text)
        spec = CHANNELS[number]
        limits = spec.ovp_v if which == "OVP" else spec.ocp_a
        value = parse_number(rest[0], unit=unit, minimum=limits[0], maximum=limits[1])
        setattr(self.channels[number], attr, value)
        self._apply()
        return None

    @scpi(
        "OUTPut:OVP:QUEStion?",
        "OUTPut:OCP:QUEStion?",
        "OUTPut:OVP:ALARm?",
        "OUTPut:OCP:ALARm?",
    )
    def _outp_protection_question(self, call: Call) -> str:
        call.expect((0, 1))
        number, _ = self._channel_param(call, list(call.params))
        s = self.channels[number]
        tripped = s.ov_tripped if call.has_node("OVP") else s.oc_tripped
        return "YES" if tripped else "NO"

    @scpi("OUTPut:OVP:CLEar!", "OUTPut:OCP:CLEar!")
    def _outp_protection_clear(self, call: Call) -> None:
        call.expect((0, 1))
        number, _ = self._channel_param(call, list(call.params))
        self._clear(number, "OVP" if call.has_node("OVP") else "OCP")

    # ------------------------------------------------------------------ output
    @scpi("OUTPut[:STATe]")
    def _output(self, call: Call) -> str | None:
        if call.query:
            call.expect((0, 1))
            number, _ = self._channel_param(call, list(call.params))
            return "ON" if self.channels[number].output else "OFF"
        call.expect((1, 2))
        number, rest = self._channel_param(call, list(call.params))
        if len(rest) != 1:
            raise ScpiError(-109, call.text)
        on = parse_bool(rest[0])
        s = self.channels[number]
        if on and (s.ov_tripped or s.oc_tripped):
            raise ScpiError(-221, "protection tripped; clear it first")
        was_on, s.output = s.output, on
        self._apply()
        if on and not was_on:
            self.world.clock.advance(self.settle_s)
        return None

    @scpi("OUTPut:MODE?", "OUTPut:CVCC?")
    def _output_mode(self, call: Call) -> str:
        call.expect((0, 1))
        number, _ = self._channel_param(call, list(call.params))
        return self._mode(number)

    # ------------------------------------------------------------------ readback
    def _true_values(self, number: int) -> tuple[float, float]:
        s = self.channels[number]
        if not s.output:
            return 0.0, 0.0
        if number != WIRED:
            return s.voltage_v, 0.0
        return self.world.supply.terminal_v, self.world.supply_current_a()

    def _read(self, call: Call) -> tuple[float, float]:
        call.expect((0, 1))
        number, _ = self._channel_param(call, list(call.params))
        self.world.clock.advance(self.measure_s)
        true_v, true_a = self._true_values(number)
        volts = self.cal.apply(f"readback-voltage-{number}", VOLTAGE_READBACK, true_v)
        amps = self.cal.apply(f"readback-current-{number}", CURRENT_READBACK, true_a)
        volts += self.world.rng.normal(0.0, 0.0005)
        amps += self.world.rng.normal(0.0, 0.0002)
        if number == WIRED:
            self._apply()  # the module's draw may have moved: OCP acts on it
        return volts, amps

    @scpi("MEASure[:VOLTage][:DC]?")
    def _meas_voltage(self, call: Call) -> str:
        return self.fixed(self._read(call)[0], "MV")

    @scpi("MEASure:CURRent[:DC]?")
    def _meas_current(self, call: Call) -> str:
        return self.fixed(self._read(call)[1], "MA")

    @scpi("MEASure:POWEr[:DC]?")
    def _meas_power(self, call: Call) -> str:
        volts, amps = self._read(call)
        return self.fixed(volts * amps, "W")

    @scpi("MEASure:ALL[:DC]?")
    def _meas_all(self, call: Call) -> str:
        volts, amps = self._read(call)
        return ",".join(
            (self.fixed(volts, "MV"), self.fixed(amps, "MA"), self.fixed(volts * amps, "W"))
        )

    # ------------------------------------------------------------------ status
    def status_conditions(self) -> tuple[int, int]:
        """Questionable OV bit 0 / OC bit 1, operation CV bit 8 / CC bit 10, channel 1 [E]."""
        s = self.channels[WIRED]
        mode = self.world.supply.mode if s.output else "OFF"
        operation = OPER_CV if mode == "CV" else OPER_CC if mode == "CC" else 0
        questionable = (QUES_OV if s.ov_tripped else 0) | (QUES_OC if s.oc_tripped else 0)
        return operation, questionable
