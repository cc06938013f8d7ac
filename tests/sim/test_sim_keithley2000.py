"""Simulated Keithley 2000 + 2000-SCAN: its SCPI command set at the message level.

Hand-computed expectations: channel 2 is the 100 ohm output shunt, so 10 mA in (module gain 1)
reads 1.0 V; the 10 V range's accuracy +-(30 ppm rdg + 5 ppm rng) -> +-80 uV at 1 V (the
simulated meter's errors are drawn inside 40 % of it, plus noise 15 ppm of range at 0.01 PLC).
The data sheet's rate: 2000 readings/s at 0.01 PLC, 60 Hz, autozero off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bench.sim.instruments.keithley2000 import Keithley2000
from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from tests.sim._helpers import drain_errors, next_error, number, numbers, query, send

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A19  /A02"


@dataclass
class Bench:
    world: World
    smu: Keithley2450
    dmm: Keithley2000
    supply: KeysightE36104B
    load: KeysightEL34143A


def make_bench(**world_kwargs: float) -> Bench:
    world = World(SimulatedUnit(), Wiring.shunt_scan(), **world_kwargs)  # type: ignore[arg-type]
    return Bench(
        world,
        Keithley2450(world),
        Keithley2000(world),
        KeysightE36104B(world),
        KeysightEL34143A(world),
    )


@pytest.fixture
def b() -> Bench:
    return make_bench()


@pytest.fixture
def dmm(b: Bench) -> Keithley2000:
    return b.dmm


def power(b: Bench, input_a: float = 0.010) -> None:
    for inst, message in (
        (b.supply, "VOLT 24;:OUTP ON"),
        (b.load, "FUNC RES;:RES 250;:INP ON"),
        (b.smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR {input_a};:OUTP ON"),
    ):
        send(inst, message)
    b.world.clock.advance(0.5)


def codes_after(dmm: Keithley2000, message: str) -> list[int]:
    dmm.process(message)
    return drain_errors(dmm)


# ------------------------------------------------------------------ identity, errors, reset
def test_identity_version_options_and_line_frequency(dmm: Keithley2000) -> None:
    assert query(dmm, "*IDN?") == IDN
    assert query(dmm, ":SYST:VERS?") == "1991.0"
    assert query(dmm, "*OPT?") == "0"
    assert query(dmm, ":SYSTem:LFRequency?") == "50"


def test_error_queue_format_count_and_overflow(dmm: Keithley2000) -> None:
    assert next_error(dmm) == '0,"No error"'
    for _ in range(12):
        dmm.process(":BOGus")
    assert query(dmm, ":SYST:ERR:COUN?") == "10"
    codes = drain_errors(dmm)
    assert codes == [-113] * 9 + [-350]  # the 10-entry queue's last entry becomes overflow
    dmm.process(":BOGus")
    assert query(dmm, ":STAT:QUE?") == '-113,"Undefined header"'
    assert int(query(dmm, "*ESR?")) & 32  # command error bit


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (":ROUT:CLOS (@11)", -222),
        (":ROUT:CLOS (@1:2)", -222),
        (":SENS:VOLT:NPLC 0.005", -222),
        (":SENS:VOLT:NPLC 11", -222),
        (":SAMP:COUN 1025", -222),
        (":TRAC:POIN 1025", -222),
        (":TRAC:POIN 1", -222),
        (":TRIG:COUN 10000", -222),
        (":TRIG:SOUR LINK", -224),
        (":SENS:FUNC 'RES'", -224),  # not simulated (documented)
        (":CONF:FREQ", -224),
        (":FORM:DATA SRE", -221),  # binary formats are not simulated (documented)
        (":ROUT:SCAN (@1)", -222),  # a scan list holds 2 to 10 channels
        (":SENS:VOLT:RANG", -109),
        (":SENS2:VOLT:RANG 10", -114),
        (":DISP:TEXT:DATA 'THIRTEEN CHAR'", -223),
        ("*TRG", -211),
        (":FETC?", -230),
    ],
)
def test_real_error_cases(dmm: Keithley2000, message: str, code: int) -> None:
    assert codes_after(dmm, message) == [code]


def test_rst_defaults_and_short_long_forms(dmm: Keithley2000) -> None:
    send(dmm, ":SENSe:VOLTage:DC:NPLCycles 0.1;:TRIGger:SOURce EXTernal;:SAMPle:COUNt 7")
    send(dmm, "*RST")
    assert query(dmm, ":CONF?") == '"VOLT:DC"'
    assert query(dmm, ":SENS:FUNC?") == '"VOLT:DC"'
    assert number(dmm, ":VOLT:NPLC?") == 1.0
    assert query(dmm, ":VOLT:RANG:AUTO?") == "1"
    assert query(dmm, ":TRIG:SOUR?") == "IMM"
    assert query(dmm, ":TRIGger:SEQuence:COUNt?") == "1"
    assert query(dmm, ":SAMP:COUN?") == "1"
    assert query(dmm, ":INIT:CONT?") == "0"
    assert query(dmm, ":SYST:AZER?") == "1"
    assert query(dmm, ":FORM:ELEM?") == "READ"
    send(dmm, ":sens:curr:dc:rang 0.05;:sens:curr:nplc 2;:syst:azer off")
    assert number(dmm, ":SENSE:CURRENT:DC:RANGE?") == 0.1  # the range that holds 50 mA
    assert number(dmm, ":SENS:CURR:NPLC?") == 2.0
    send(dmm, ":SENS:FUNC 'CURR:DC'")
    assert query(dmm, ":FUNC?") == '"CURR:DC"'


# ------------------------------------------------------------------ readings from the world
def test_output_shunt_reads_the_output_current(b: Bench) -> None:
    power(b, 0.010)
    dmm = b.dmm
    send(dmm, ":ROUT:CLOS (@2);:SENS:VOLT:RANG 10;:SENS:VOLT:NPLC 1;:SAMP:COUN 5")
    values = numbers(dmm, ":READ?")
    expected = b.world.unit.output_a(b.world.clock.now)[0] * 100.0
    assert np.mean(values) == pytest.approx(expected, abs=80e-6 + 20e-6)
    assert query(dmm, ":ROUT:CLOS:STAT?") == "(@2)"
    send(dmm, ":ROUT:OPEN:ALL")
    assert np.all(np.abs(numbers(dmm, ":READ?")) < 1e-3)  # nothing on the terminals
    assert query(dmm, ":ROUT:CLOS:STAT?") == "(@)"


def test_reading_rate_follows_the_data_sheet() -> None:
    b = make_bench(line_frequency_hz=60.0)
    dmm = b.dmm
    send(dmm, ":SENS:VOLT:RANG 10;:SENS:VOLT:NPLC 0.01;:SYST:AZER OFF;:SAMP:COUN 1000")
    t0 = b.world.clock.now
    assert len(numbers(dmm, ":READ?")) == 1000
    assert b.world.clock.now - t0 == pytest.approx(0.5, rel=0.02)  # 2000 readings/s
    send(dmm, ":SENS:VOLT:NPLC 1;:SYST:AZER ON;:SAMP:COUN 2")
    t0 = b.world.clock.now
    query(dmm, ":READ?")
    assert b.world.clock.now - t0 == pytest.approx(2 * (0.02 + 1 / 60), rel=0.05)


def test_elements_units_and_overflow(b: Bench) -> None:
    power(b, 0.010)
    dmm = b.dmm
    send(dmm, ":ROUT:CLOS (@2);:SENS:VOLT:RANG 1;:FORM:ELEM UNIT,CHAN,READ")
    assert query(dmm, ":FORM:ELEM?") == "READ,CHAN,UNIT"  # always in this order
    reply = query(dmm, ":READ?")
    value, channel = reply.split(",")
    assert value.endswith("VDC") and channel == "2INTCHAN"
    send(dmm, ":FORM:ELEM READ;:SENS:VOLT:RANG 0.1")
    assert query(dmm, ":READ?") == "+9.9E37"  # 1 V on the 100 mV range
    assert int(query(dmm, ":STAT:MEAS:COND?")) & 1  # reading overflow


def test_scan_list_takes_each_reading_on_the_next_channel(b: Bench) -> None:
    power(b, 0.010)
    dmm = b.dmm
    send(dmm, ":ROUT:SCAN (@1:3);:ROUT:SCAN:LSEL INT;:FORM:ELEM READ,CHAN;:SAMP:COUN 3")
    reply = query(dmm, ":READ?").split(",")
    assert reply[1::2] == ["1", "2", "3"]
    v_in, v_out, v_supply = (float(v) for v in reply[0::2])
    assert v_in == pytest.approx(1.0, rel=1e-3)  # 10 mA in the 100 ohm input shunt
    assert v_out == pytest.approx(v_in, rel=2e-3)
    assert 0.05 < v_supply < 0.3  # 5 ... 30 mA in the 10 ohm supply shunt
    assert query(dmm, ":ROUT:SCAN?") == "(@1,2,3)"


def test_buffer_full_raises_the_service_request_pymeasure_waits_for(b: Bench) -> None:
    dmm = b.dmm
    send(dmm, ":STAT:PRES;*CLS;*SRE 1;:STAT:MEAS:ENAB 512")
    send(dmm, ":TRAC:CLE;:TRAC:POIN 20;:TRIG:COUN 20;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT")
    send(dmm, ":INIT")
    assert int(query(dmm, "*STB?")) & 65 == 0  # still measuring
    b.world.clock.advance(5.0)
    assert int(query(dmm, "*STB?")) & 65 == 65  # buffer full -> MSB + RQS
    assert len(numbers(dmm, ":TRAC:DATA?")) == 20
    assert query(dmm, ":TRAC:FEED:CONT?") == "NEV"  # storage stopped when full
    assert int(query(dmm, ":STAT:MEAS?")) & (1 << 9)
    assert query(dmm, ":TRAC:FREE?") == f"{12 * 1024 - 240},240"


def test_external_trigger_reading_at_its_delay_sees_the_step(b: Bench) -> None:
    power(b, 0.002)
    dmm, smu = b.dmm, b.smu
    send(smu, ":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM COMM")
    send(dmm, ":ROUT:CLOS (@2);:SENS:VOLT:RANG 10;:SENS:VOLT:NPLC 0.01;:SYST:AZER OFF")
    readings = []
    for delay in (0.0, 0.02):
        send(smu, ":SOUR:CURR 0.002")
        b.world.clock.advance(0.1)
        send(dmm, f":TRIG:SOUR EXT;:TRIG:DEL {delay};:INIT")
        assert int(query(dmm, ":STAT:OPER:COND?")) & (1 << 5)  # waiting for a trigger
        assert codes_after(dmm, ":FETC?") == [-214]  # not triggered yet: deadlock
        assert query(smu, ":SOUR:CURR 0.018;*TRG;*OPC?") == "1"
        readings.append(number(dmm, ":FETC?"))
    assert readings[0] < 0.4  # at the trigger: the output has hardly moved (0.2 V before)
    assert readings[1] == pytest.approx(1.8, rel=0.01)  # 12 time constants later: 18 mA


def test_continuous_initiation(b: Bench) -> None:
    dmm = b.dmm
    send(dmm, ":INIT:CONT ON")
    assert codes_after(dmm, ":READ?") == [-213]
    first = query(dmm, ":FETC?")
    b.world.clock.advance(1.0)
    assert query(dmm, ":FETC?") != first  # a newer reading
    assert codes_after(dmm, ":SENS:FUNC 'CURR:DC'") == [-221]  # busy measuring
    send(dmm, ":INIT:CONT OFF;:ABOR")
    send(dmm, ":SENS:FUNC 'CURR:DC'")


def test_system_preset_turns_continuous_initiation_on(dmm: Keithley2000) -> None:
    send(dmm, ":SYST:PRES")
    assert query(dmm, ":INIT:CONT?") == "1"
    send(dmm, "*RST")
    assert query(dmm, ":INIT:CONT?") == "0"


def test_display_beeper_and_keys_are_accepted(dmm: Keithley2000) -> None:
    send(dmm, ":DISP:ENAB OFF;:DISP:TEXT:DATA 'ISOBENCH';:DISP:TEXT:STAT ON")
    assert query(dmm, ":DISP:TEXT:DATA?") == '"ISOBENCH"'
    send(dmm, ":SYST:BEEP:STAT OFF;:SYST:KEY 5;:SYST:REM;:SYST:LOC")
    assert query(dmm, ":SYST:BEEP:STAT?") == "0"


def test_a_message_may_end_with_a_semicolon_and_star_commands_mid_path(dmm: Keithley2000) -> None:
    send(dmm, ":STAT:QUEUE:CLEAR;*RST;:STAT:PRES;:*CLS;")  # PyMeasure's reset, verbatim
    assert next_error(dmm) == '0,"No error"'


def test_infinite_trigger_count_free_runs_and_read_is_refused(b: Bench) -> None:
    dmm = b.dmm
    send(dmm, ":SENS:VOLT:NPLC 0.01;:TRIG:COUN INF;:SAMP:COUN 2;:INIT")
    assert len(numbers(dmm, ":FETC?")) == 2  # the latest sample count's readings
    b.world.clock.advance(60.0)  # 110 000 readings later: still the latest two
    assert len(numbers(dmm, ":FETC?")) == 2
    assert len(dmm.latest) <= 2 * 1024  # memory stays bounded
    send(dmm, ":ABOR")
    assert codes_after(dmm, ":READ?") == [-221]
