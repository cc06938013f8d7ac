"""Simulated Keithley DMM6500 + 2000-SCAN driven directly through ``process()``.

Expected values come from the Model DMM6500 6½-Digit Bench/System Digital Multimeter Reference
Manual (DMM6500-901-01), SCPI command reference, with the details the simulator's docstring
marks from sister manuals of the same family (``bench/sim/instruments/keithley_dmm6500.py``):
``*IDN?`` ``KEITHLEY INSTRUMENTS,MODEL DMM6500,...``; event-log errors ``0,"No error;0;0 0"`` /
``-113,"Undefined header;1;<date time>"``; 2000-SCAN channels 1..10; ``:TRIG:STAT?``
``RUNNING;RUNNING;n`` / ``IDLE;IDLE;n``; REL = seconds since the buffer's first reading; and
the DMM6500 data sheet: 10 V DCV +-(25 ppm rdg + 5 ppm rng). The shunt-scan world
(docs/metrology.md 4.3, topology): channel 1 across the 100 ohm input shunt, 2
across the 100 ohm output shunt, 3 across the 10 ohm supply shunt; the source's digital line 2
bypasses the module.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pytest

from bench.sim.instruments.keithley2450 import Keithley2450
from bench.sim.instruments.keithley_dmm6500 import KeithleyDMM6500
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from tests.sim._helpers import (
    KEITHLEY_ERROR_RE,
    KEITHLEY_NO_ERROR,
    drain_errors,
    next_error,
    number,
    numbers,
    query,
    send,
)

IDN = "KEITHLEY INSTRUMENTS,MODEL DMM6500,04512346,1.7.12b"


@dataclass
class ScanBench:
    world: World
    smu: Keithley2450
    dmm: KeithleyDMM6500
    supply: KeysightE36104B
    load: KeysightEL34143A


def make_scan_bench(**world_kwargs: float) -> ScanBench:
    world = World(SimulatedUnit(), Wiring.shunt_scan(), **world_kwargs)  # type: ignore[arg-type]
    return ScanBench(
        world,
        Keithley2450(world),
        KeithleyDMM6500(world),
        KeysightE36104B(world),
        KeysightEL34143A(world),
    )


@pytest.fixture
def sb() -> ScanBench:
    return make_scan_bench()


@pytest.fixture
def dmm(sb: ScanBench) -> KeithleyDMM6500:
    return sb.dmm


def power(b: ScanBench, input_a: float = 0.010, load_ohm: float = 250.0) -> None:
    """Supply 24 V, load 250 ohm CR, source ``input_a`` on its 100 mA range; settle 0.5 s."""
    for inst, message in (
        (b.supply, "VOLT 24;:OUTP ON"),
        (b.load, f"FUNC RES;:RES {load_ohm};:INP ON"),
        (b.smu, f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR {input_a};:OUTP ON"),
    ):
        send(inst, message)
    b.world.clock.advance(0.5)


def read_channel(dmm: KeithleyDMM6500, channel: int, count: int = 3) -> float:
    """Mean of ``count`` readings of one channel (``:READ?`` appends, so clear first)."""
    send(dmm, f":ROUT:CLOS (@{channel});:COUN {count};:TRAC:CLE")
    query(dmm, ":READ?")
    return float(np.mean(numbers(dmm, f':TRAC:DATA? 1, {count}, "defbuffer1"')))


def error_codes_after(dmm: KeithleyDMM6500, message: str) -> list[int]:
    assert dmm.process(message) is None, message
    return drain_errors(dmm)


# ---------------------------------------------------------------------------------------------
# identity, reset, error queue


def test_idn_and_language(dmm: KeithleyDMM6500) -> None:
    assert query(dmm, "*IDN?") == IDN
    assert query(dmm, "*LANG?") == "SCPI"
    assert query(dmm, ":SYST:LFR?") == "50"
    assert query(dmm, ":ROUT:TERM?") == "REAR"


def test_line_frequency_of_a_60_hz_bench() -> None:
    b = make_scan_bench(line_frequency_hz=60.0)
    assert query(b.dmm, ":SYSTem:LFRequency?") == "60"
    send(b.dmm, ":SENS:VOLT:NPLC 15")  # 15 PLC allowed at 60 Hz, 12 at 50 Hz
    assert number(b.dmm, ":SENS:VOLT:NPLC?") == 15.0


def test_error_queue_formats(dmm: KeithleyDMM6500) -> None:
    assert next_error(dmm) == KEITHLEY_NO_ERROR
    assert dmm.process(":ROUT:BOGUS (@1)") is None
    m = KEITHLEY_ERROR_RE.fullmatch(next_error(dmm))
    assert m
    assert (m["code"], m["msg"], m["sev"]) == ("-113", "Undefined header", "1")
    assert next_error(dmm) == KEITHLEY_NO_ERROR


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (":ROUT:CLOS (@0)", -222),
        (":ROUT:CLOS (@11)", -222),
        (":ROUT:CLOS (@101)", -222),  # DAQ6510/2700 style numbering is not the 2000-SCAN's
        (":ROUT:CLOS (@1:2)", -222),  # a multiplexer closes one channel
        (":SENS:VOLT:RANG 1, (@11)", -222),
        (":SENS:VOLT:RANG 1001", -222),
        (":SENS:VOLT:NPLC 13", -222),  # 12 PLC at 50 Hz
        (":SENS:VOLT:NPLC 0.0001", -222),
        (":DIG:VOLT:SRAT 500", -222),
        (":DIG:VOLT:SRAT 2000000", -222),
        (':SENS:FUNC "RES"', -224),
        (":SENS:VOLT:INP HIGH", -224),
        (':TRAC:CLE "nobuffer"', -224),
        (":SENS:VOLT:RANG", -109),
        (":SENS:VOLT:RANG 1, (@1), 3", -108),
        (":LANG SCPI", -113),
        ("*LANG TSP", -221),  # needs a reboot; the simulator speaks SCPI only
    ],
)
def test_errors(dmm: KeithleyDMM6500, message: str, code: int) -> None:
    assert error_codes_after(dmm, message) == [code]


def test_rst_defaults(sb: ScanBench) -> None:
    dmm = sb.dmm
    send(
        dmm,
        ":ROUT:CLOS (@3);:SENS:VOLT:RANG 1;:SENS:VOLT:NPLC 5;:SENS:VOLT:AZER OFF;"
        ':SENS:VOLT:INP AUTO;:COUN 7;:SENS:VOLT:RANG 0.1, (@2);:DIG:FUNC "VOLT";'
        ':TRIG:LOAD "Empty";:TRIG:BLOC:NOP 1;:TRAC:MAKE "mine", 100',
    )
    send(dmm, "*RST")
    assert query(dmm, ":ROUT:CLOS?") == "(@)"
    assert query(dmm, ":SENS:FUNC?") == '"VOLT:DC"'
    assert query(dmm, ":SENS:VOLT:RANG:AUTO?") == "1"
    assert number(dmm, ":SENS:VOLT:NPLC?") == 1.0
    assert query(dmm, ":SENS:VOLT:AZER?") == "1"
    assert query(dmm, ":SENS:VOLT:INP?") == "MOHM10"
    assert query(dmm, ":SENS:VOLT:RANG:AUTO? (@2)") == "1"
    assert query(dmm, ":COUN?") == "1"
    assert query(dmm, ":DIG:FUNC?") == '"NONE"'
    assert query(dmm, ":TRIG:STAT?") == "EMPTY;EMPTY;0"
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"
    assert error_codes_after(dmm, ':TRAC:CLE "mine"') == [-224]  # user buffers are deleted


# ---------------------------------------------------------------------------------------------
# per-channel settings and routing


def test_channel_settings_are_kept_per_channel_and_apart_from_the_terminals(
    dmm: KeithleyDMM6500,
) -> None:
    send(dmm, ":SENS:VOLT:RANG 1, (@1:4);:SENS:VOLT:NPLC 10, (@2);:SENS:VOLT:AZER OFF, (@1,3)")
    send(dmm, ":SENS:VOLT:INP AUTO, (@1)")
    assert numbers(dmm, ":SENS:VOLT:RANG? (@1:5)") == [1.0, 1.0, 1.0, 1.0, 10.0]
    assert query(dmm, ":SENS:VOLT:RANG:AUTO? (@4,5)") == "0,1"
    assert numbers(dmm, ":SENS:VOLT:NPLC? (@1:3)") == [1.0, 10.0, 1.0]
    assert query(dmm, ":SENS:VOLT:AZER? (@1:3)") == "0,1,0"
    assert query(dmm, ":SENSe:VOLTage:DC:INPutimpedance? (@1,2)") == "AUTO,MOHM10"
    # the terminals keep their own settings
    assert query(dmm, ":SENS:VOLT:RANG:AUTO?") == "1"
    assert number(dmm, ":SENS:VOLT:NPLC?") == 1.0
    assert query(dmm, ":SENS:VOLT:AZER?") == "1"


def test_a_dc_setting_on_a_channel_without_dc_volts_is_a_conflict(dmm: KeithleyDMM6500) -> None:
    send(dmm, ':SENS:FUNC "NONE", (@4)')
    assert query(dmm, ":SENS:FUNC? (@3,4)") == '"VOLT:DC","NONE"'
    assert error_codes_after(dmm, ":SENS:VOLT:RANG 1, (@3:4)") == [-221]
    send(dmm, ':SENS:FUNC "VOLT:DC", (@4)')
    send(dmm, ":SENS:VOLT:RANG 1, (@3:4)")


def test_routing_is_a_multiplexer_with_relay_time(dmm: KeithleyDMM6500, sb: ScanBench) -> None:
    clock = sb.world.clock
    t0 = clock.now
    assert dmm.process(":ROUT:CLOS (@2)") is None
    assert clock.now - t0 == pytest.approx(0.003 + 0.0005)  # relay + message handling
    assert query(dmm, ":ROUT:CLOS?") == "(@2)"
    t1 = clock.now
    assert dmm.process(":ROUT:CLOS (@2)") is None  # already closed: no relay moves
    assert clock.now - t1 == pytest.approx(0.0005)
    send(dmm, ":ROUT:CLOS (@5)")  # closing 5 opens 2
    assert query(dmm, ":ROUT:CLOS?") == "(@5)"
    send(dmm, ":ROUT:OPEN:ALL")
    assert query(dmm, ":ROUT:CLOS?") == "(@)"


def test_each_channel_reads_its_own_world_quantity(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm, world = sb.dmm, sb.world
    send(dmm, ":SENS:VOLT:RANG 10, (@1:3);:SENS:VOLT:NPLC 1, (@1:3)")
    v1 = read_channel(dmm, 1)
    v2 = read_channel(dmm, 2)
    v3 = read_channel(dmm, 3)
    r = world.shunt_ohm
    i_in = world.input_a
    i_out = float(world.unit.output_a(world.clock.now)[0])
    i_supply = world.supply_current_a()
    assert i_in == pytest.approx(0.010, rel=1e-3)
    assert v1 == pytest.approx(i_in * r["input"], rel=1e-4)  # ~1.0 V across ~100 ohm
    assert v2 == pytest.approx(i_out * r["output"], rel=1e-4)
    assert v3 == pytest.approx(i_supply * r["supply"], rel=1e-3)  # ~10 ohm supply shunt
    assert 0.005 < i_supply < 0.05
    assert v1 != pytest.approx(v2, rel=1e-6)  # different loops, different values


def test_bypass_relay_sends_the_input_current_through_the_output_shunt(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm, world = sb.dmm, sb.world
    send(dmm, ":SENS:VOLT:RANG 10, (@1:2);:SENS:VOLT:NPLC 10, (@1:2)")
    world.set_digital_line(2, True)
    world.clock.advance(0.1)
    v1 = read_channel(dmm, 1)
    v2 = read_channel(dmm, 2)
    ratio = world.shunt_ohm["output"] / world.shunt_ohm["input"]
    assert v2 / v1 == pytest.approx(ratio, abs=2e-6)  # same current, same range, same meter
    assert v1 / world.shunt_ohm["input"] == pytest.approx(world.input_a, rel=1e-4)


def test_open_channels_read_zero_plus_noise(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm = sb.dmm
    send(dmm, ":SENS:VOLT:RANG 10;:COUN 5")
    query(dmm, ":READ?")
    values = numbers(dmm, ':TRAC:DATA? 1, 5, "defbuffer1"')
    assert all(abs(v) < 1e-4 for v in values)
    assert len(set(values)) > 1  # noise, not a constant


def test_front_terminals_disconnect_the_card(sb: ScanBench) -> None:
    power(sb, 0.010)
    sb.dmm.terminals = "FRONT"  # the operator pressed FRONT/REAR
    assert query(sb.dmm, ":ROUT:TERM?") == "FRON"
    assert abs(read_channel(sb.dmm, 1)) < 1e-4


def test_readings_advance_the_clock_not_the_wall(sb: ScanBench) -> None:
    dmm, clock = sb.dmm, sb.world.clock
    send(dmm, ":ROUT:CLOS (@1);:SENS:VOLT:NPLC 1, (@1);:COUN 5")
    t0 = clock.now
    query(dmm, ":READ?")
    # 5 x (aperture 20 ms x 2 for autozero + 50 us) + one message
    assert clock.now - t0 == pytest.approx(5 * (0.040 + 50e-6) + 0.0005, rel=1e-9)
    send(dmm, ":SENS:VOLT:AZER OFF, (@1)")
    t0 = clock.now
    query(dmm, ":READ?")
    assert clock.now - t0 == pytest.approx(5 * (0.020 + 50e-6) + 0.0005, rel=1e-9)
    send(dmm, ":SENS:VOLT:NPLC 12, (@1);:COUN 50")
    wall, t0 = time.perf_counter(), clock.now
    query(dmm, ":READ?")
    assert clock.now - t0 > 12.0  # 50 x 0.24 s modelled
    assert time.perf_counter() - wall < 2.0  # but not waited for


def test_noise_falls_with_nplc(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm = sb.dmm

    def spread(nplc: float) -> float:
        send(dmm, f":SENS:VOLT:RANG 10, (@1);:SENS:VOLT:NPLC {nplc}, (@1);:COUN 40")
        read_channel(dmm, 1, 40)
        return float(np.std(numbers(dmm, ':TRAC:DATA? 1, 40, "defbuffer1"')))

    assert spread(0.001) > 5 * spread(10)


def test_overrange_reads_9_9e37(sb: ScanBench) -> None:
    power(sb, 0.010)
    send(sb.dmm, ":SENS:VOLT:RANG 0.1, (@1)")  # ~1 V on the 100 mV range
    assert read_channel(sb.dmm, 1, 1) == pytest.approx(9.9e37)


def test_autorange_picks_the_range_that_holds_the_reading(sb: ScanBench) -> None:
    power(sb, 0.010)
    send(sb.dmm, ":SENS:VOLT:RANG:AUTO ON, (@1)")
    assert read_channel(sb.dmm, 1, 1) == pytest.approx(1.0, rel=0.01)
    assert number(sb.dmm, ":SENS:VOLT:RANG? (@1)") == 10.0  # 1.0x V does not fit 1 V


# ---------------------------------------------------------------------------------------------
# buffers


def test_buffers_and_relative_times(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm = sb.dmm
    send(dmm, ':TRAC:MAKE "scan", 100;:ROUT:CLOS (@1);:COUN 4')
    last = numbers(dmm, ':READ? "scan", READ, REL')
    assert query(dmm, ':TRAC:ACT? "scan"') == "4"
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"
    data = numbers(dmm, ':TRAC:DATA? 1, 4, "scan", READ, REL')
    values, rel = data[0::2], data[1::2]
    assert last == [values[-1], rel[-1]]
    step = 2 * 1 / 50 + 50e-6  # NPLC 1, autozero on, 50 Hz
    assert rel == pytest.approx([0.0, step, 2 * step, 3 * step], abs=1e-6)
    assert values == pytest.approx([values[0]] * 4, rel=1e-4)
    send(dmm, ':TRAC:TRIG "scan"')  # four more readings, appended
    assert query(dmm, ':TRAC:ACT? "scan"') == "8"
    assert query(dmm, ':TRAC:DATA? 8, 8, "scan", UNIT') == "Volt DC"
    send(dmm, ':TRAC:CLE "scan"')
    assert query(dmm, ':TRAC:ACT? "scan"') == "0"
    assert error_codes_after(dmm, ':TRAC:DATA? 1, 1, "scan"') == [-222]
    assert error_codes_after(dmm, ':TRAC:MAKE "scan", 100') == [-224]  # exists
    assert error_codes_after(dmm, ':TRAC:MAKE "tiny", 5') == [-222]


def test_measure_query_reads_the_closed_channel(sb: ScanBench) -> None:
    power(sb, 0.010)
    send(sb.dmm, ":ROUT:CLOS (@1)")
    assert number(sb.dmm, ":MEAS:VOLT:DC?") == pytest.approx(1.0, rel=0.01)
    assert number(sb.dmm, ":MEASure?") == pytest.approx(1.0, rel=0.01)


# ---------------------------------------------------------------------------------------------
# digitize and the trigger model


def test_digitize_settings(dmm: KeithleyDMM6500) -> None:
    send(dmm, ':DIG:FUNC "VOLT";:DIG:VOLT:RANG 2;:DIG:VOLT:SRAT 50000;:DIG:VOLT:APER AUTO')
    assert query(dmm, ":DIG:FUNC?") == '"VOLT"'
    assert query(dmm, ":SENS:FUNC?") == '"NONE"'
    assert number(dmm, ":DIG:VOLT:RANG?") == 10.0
    assert number(dmm, ":DIG:VOLT:SRAT?") == 50000.0
    assert number(dmm, ":DIG:VOLT:APER?") == pytest.approx(20e-6)
    send(dmm, ":DIG:VOLT:APER 5e-6")
    assert number(dmm, ":DIG:VOLT:APER?") == pytest.approx(5e-6)
    assert error_codes_after(dmm, ":DIG:VOLT:APER 50e-6") == [-222]  # > 1 / SRATe
    send(dmm, ":SENS:DIG:COUN 20")
    assert query(dmm, ":DIG:COUN?") == "20"
    assert error_codes_after(dmm, ":READ?") == [-221]  # a digitize function is active
    send(dmm, ':SENS:FUNC "VOLT:DC"')
    assert error_codes_after(dmm, ":READ:DIG?") == [-221]


def test_read_digitize_makes_count_samples_at_the_sample_rate(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm, clock = sb.dmm, sb.world.clock
    send(dmm, ':ROUT:CLOS (@2);:DIG:FUNC "VOLT";:DIG:VOLT:RANG 10;:DIG:VOLT:SRAT 100000')
    send(dmm, ":DIG:COUN 1000")
    t0 = clock.now
    last = number(dmm, ':READ:DIG? "defbuffer1"')
    assert clock.now - t0 == pytest.approx(1000 / 100000 + 0.0005)
    data = numbers(dmm, ':TRAC:DATA? 1, 1000, "defbuffer1", READ, REL')
    values, rel = np.array(data[0::2]), np.array(data[1::2])
    assert last == values[-1]
    assert np.diff(rel) == pytest.approx(np.full(999, 1e-5))
    assert np.mean(values) == pytest.approx(1.0, rel=2e-3)
    assert number(dmm, ":MEAS:DIG?") == pytest.approx(1.0, rel=5e-3)


def arm_external_capture(
    dmm: KeithleyDMM6500, samples: int, srate: int = 50000, channel: int = 2
) -> None:
    send(
        dmm,
        f':ROUT:CLOS (@{channel});:DIG:FUNC "VOLT";:DIG:VOLT:RANG 10;:DIG:VOLT:SRAT {srate};'
        ':DIG:VOLT:APER AUTO;:TRIG:LOAD "Empty";:TRIG:EXT:IN:EDGE FALL;'
        ':TRIG:BLOC:BUFF:CLE 1, "defbuffer1";:TRIG:BLOC:WAIT 2, EXT, ENT;'
        f':TRIG:BLOC:DEL:CONS 3, 0;:TRIG:BLOC:MDIG 4, "defbuffer1", {samples}',
    )
    assert query(dmm, ":TRIG:STAT?") == "BUILDING;BUILDING;0"
    assert query(dmm, ":INIT;:TRIG:STAT?") == "RUNNING;RUNNING;2"


def step_with_trigger(smu: Keithley2450, level_a: float) -> None:
    """The 2450 changes its level and pulses digital line 1 in the same message."""
    send(smu, ":DIG:LINE1:MODE TRIG, OUT;:TRIG:DIG1:OUT:STIM COMM")
    assert query(smu, f":SOUR:CURR {level_a};*TRG;*OPC?") == "1"


def test_externally_triggered_digitize_shows_the_first_order_step(sb: ScanBench) -> None:
    power(sb, 0.002)
    dmm, world = sb.dmm, sb.world
    arm_external_capture(dmm, samples=1500)  # 30 ms at 50 kS/s, ~19 time constants
    world.clock.advance(0.2)
    assert query(dmm, ":TRIG:STAT?") == "WAITING;WAITING;2"
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"
    t_step = world.clock.now + sb.smu.command_overhead_s
    step_with_trigger(sb.smu, 0.018)
    assert query(dmm, "*OPC?") == "1"
    assert world.clock.now == pytest.approx(t_step + 1500 / 50000, abs=2e-3)
    assert query(dmm, ":TRIG:STAT?") == "IDLE;IDLE;4"
    assert drain_errors(dmm) == []
    data = numbers(dmm, ':TRAC:DATA? 1, 1500, "defbuffer1", READ, REL')
    volts, rel = np.array(data[0::2]), np.array(data[1::2])
    assert rel[0] == 0.0
    assert np.diff(rel) == pytest.approx(np.full(1499, 20e-6))
    r_out = world.shunt_ohm["output"]
    current = volts / r_out
    tau = world.unit.params.tau_s
    # the step starts at the trigger: the first sample integrates its first 20 us
    assert current[0] == pytest.approx(0.018 - 0.016 * math.exp(-10e-6 / tau), abs=20e-6)
    assert current[-1] == pytest.approx(0.018, abs=20e-6)
    # first order: ln((i_end - i) / (i_end - i_0)) falls linearly with slope -1/tau (10-90 %)
    i0, i1 = float(np.mean(current[:1])), float(np.mean(current[-100:]))
    frac = (i1 - current) / (i1 - i0)
    sel = (frac < 0.9) & (frac > 0.1)
    slope = np.polyfit(rel[sel], np.log(frac[sel]), 1)[0]
    fitted = -1.0 / slope
    assert fitted == pytest.approx(tau, rel=0.05)
    assert 1.3e-3 < fitted < 1.8e-3


def test_capture_is_evaluated_lazily_at_the_trigger_time(sb: ScanBench) -> None:
    """Fetched a second later, after the source moved again, the record still shows the step."""
    power(sb, 0.002)
    dmm, world = sb.dmm, sb.world
    arm_external_capture(dmm, samples=250)
    step_with_trigger(sb.smu, 0.018)
    world.clock.advance(1.0)
    send(sb.smu, ":SOUR:CURR 0.005")
    world.clock.advance(1.0)
    volts = np.array(numbers(dmm, ':TRAC:DATA? 1, 250, "defbuffer1"'))
    current = volts / world.shunt_ohm["output"]
    assert current[0] == pytest.approx(0.002, abs=0.2e-3)
    assert current[-1] == pytest.approx(0.018 - 0.016 * math.exp(-5e-3 / 1.59e-3), abs=0.3e-3)


@pytest.mark.parametrize(
    "channel", [1, 3, 4, 5], ids=["input-shunt", "supply-shunt", "load", "module-input"]
)
def test_every_channel_fetched_late_shows_the_bench_as_it_was(sb: ScanBench, channel: int) -> None:
    """Not only the output shunt: each channel's record shows the levels in force at its own
    sample times, although the source, the load and the supply have all moved on since."""
    power(sb, 0.002)
    dmm, world = sb.dmm, sb.world
    arm_external_capture(dmm, samples=1500, channel=channel)  # 30 ms
    step_with_trigger(sb.smu, 0.018)
    before = world.clock.now
    world.clock.advance(0.5)
    expected = world.channel_voltage_v(channel, np.array([before - 0.5e-3, before + 0.5]))
    send(sb.smu, ":SOUR:CURR 0.005")  # everything changes before the fetch
    send(sb.load, ":RES 100")
    send(sb.supply, ":VOLT 16.8")
    world.clock.advance(1.0)
    volts = np.array(numbers(dmm, ':TRAC:DATA? 1, 1500, "defbuffer1"'))
    r_in, r_load = world.unit.params.input_resistance_ohm, 250.0
    settled = {  # the level each channel had reached at the end of the 30 ms capture
        1: 0.018 * world.shunt_ohm["input"],
        3: expected[1],  # the supply current at 18 mA, 24 V, as the bench was then
        4: 0.018 * r_load,
        5: 0.018 * r_in,
    }[channel]
    assert volts[-1] == pytest.approx(settled, rel=2e-3, abs=5e-5)
    if channel in (1, 5):  # the input loop steps at the trigger, no dynamics
        assert volts[0] == pytest.approx(settled, rel=2e-3)
    else:  # the output loop's first sample is still near the 2 mA level
        assert abs(volts[0] - expected[0]) < abs(volts[-1] - expected[0]) / 4
    now = world.channel_voltage_v(channel, np.array([world.clock.now]))[0]
    assert abs(now - settled) > 0.05 * abs(settled)  # the present state is really different


def test_opc_while_waiting_for_a_trigger_answers_and_queues_minus_214(sb: ScanBench) -> None:
    power(sb, 0.002)
    dmm = sb.dmm
    arm_external_capture(dmm, samples=100)
    t0 = sb.world.clock.now
    assert query(dmm, "*OPC?") == "1"  # the simulator cannot block: see the module docstring
    assert sb.world.clock.now - t0 < 0.01
    assert drain_errors(dmm) == [-214]
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"
    assert error_codes_after(dmm, ":ROUT:CLOS (@1)") == [-221]  # not while the model runs
    step_with_trigger(sb.smu, 0.010)  # the model still waits, so a late trigger starts it
    assert query(dmm, "*OPC?") == "1"
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "100"


def test_abort_stops_a_waiting_model(sb: ScanBench) -> None:
    dmm = sb.dmm
    arm_external_capture(dmm, samples=100)
    send(dmm, ":ABOR")
    assert query(dmm, ":TRIG:STAT?") == "ABORTED;ABORTED;2"
    step_with_trigger(sb.smu, 0.010)
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"
    assert error_codes_after(dmm, ":INIT;:INIT") == [-213]


def test_a_trigger_before_the_wait_block_is_cleared_on_entry(sb: ScanBench) -> None:
    dmm = sb.dmm
    step_with_trigger(sb.smu, 0.002)  # a pulse before the model runs
    arm_external_capture(dmm, samples=10)
    assert query(dmm, ":TRIG:STAT?") == "RUNNING;RUNNING;2"
    assert query(dmm, ':TRAC:ACT? "defbuffer1"') == "0"


def test_bus_trigger_and_measure_blocks_with_a_delay(sb: ScanBench) -> None:
    power(sb, 0.010)
    dmm, clock = sb.dmm, sb.world.clock
    send(
        dmm,
        ':ROUT:CLOS (@1);:COUN 3;:TRIG:LOAD "Empty";:TRIG:BLOC:BUFF:CLE 1;'
        ':TRIG:BLOC:WAIT 2, COMM;:TRIG:BLOC:DEL:CONS 3, 0.25;:TRIG:BLOC:MDIG 4, "defbuffer1"',
    )
    send(dmm, ":INIT")
    send(dmm, "*TRG")
    t_trg = clock.now
    assert query(dmm, "*OPC?") == "1"
    assert clock.now - t_trg == pytest.approx(0.25 + 3 * (0.04 + 50e-6), abs=1e-3)
    values = numbers(dmm, ':TRAC:DATA? 1, 3, "defbuffer1"')
    assert values == pytest.approx([1.0] * 3, rel=0.01)


def test_trigger_model_errors(dmm: KeithleyDMM6500) -> None:
    assert error_codes_after(dmm, ":INIT") == [-221]  # no blocks
    assert error_codes_after(dmm, ':TRIG:LOAD "SimpleLoop", 5') == [-224]  # not modelled
    assert error_codes_after(dmm, ":TRIG:BLOC:WAIT 2, TIMER1") == [-224]
    assert error_codes_after(dmm, ":TRIG:BLOC:DEL:CONS 64, 1") == [-222]
    assert error_codes_after(dmm, ':TRIG:BLOC:MDIG 2, "nobuffer", 5') == [-224]
    send(dmm, ":TRIG:EXT:IN:EDGE RIS")
    assert query(dmm, ":TRIG:EXT:IN:EDGE?") == "RIS"
