"""Simulated Keithley 2400 SourceMeter driven directly through ``process()``.

Expected behaviour from the 2400 Series User's Manual 2400S-900-01: ``*IDN?`` form (16-3),
*RST source function VOLT and output off, error replies ``-113,"Undefined header"`` and the
2400's own +803 "Not permitted with OUTPUT off" (appendix B), the SDM cycle with
``:SOUR:CURR:TRIG`` and the Trigger Link output (section 11), ``:FORM:ELEM`` always replied in
V, I, R, T, S order (18-49), compliance in the measurement event register bit 14 (15-14),
``:SOUR2:TTL`` driving the digital output lines (13-5), ranges and 105 % source over-range
(Table 3-1).
"""

from __future__ import annotations

import pytest

from bench.sim.instruments.keithley2400 import Keithley2400
from bench.sim.instruments.keysight_e36104b import KeysightE36104B
from bench.sim.instruments.keysight_el34143a import KeysightEL34143A
from bench.sim.unit import SimulatedUnit
from bench.sim.world import Wiring, World
from procedures.model import ModuleParameters
from tests.sim._helpers import drain_errors, next_error, number, numbers, query, send

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30 Mar 17 2006 09:29:29/A02 /K/J"
NO_ERROR = '0,"No error"'


@pytest.fixture
def world() -> World:
    return World(SimulatedUnit())


@pytest.fixture
def smu(world: World) -> Keithley2400:
    inst = Keithley2400(world)
    inst.process("*CLS")
    return inst


def power_module(world: World, load_ohm: float = 250.0) -> None:
    """Supply 24 V and the load on, so the module's input is live."""
    supply, load = KeysightE36104B(world), KeysightEL34143A(world)
    assert supply.process("VOLT 24;:OUTP ON") is None
    assert load.process(f"FUNC RES;:RES {load_ohm};:INP ON") is None
    world.clock.advance(0.2)


def source_current(smu: Keithley2400, level_a: float, *, limit_v: float = 5.0) -> None:
    send(
        smu,
        f":SOUR:FUNC CURR;:SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV {level_a};"
        f':SENS:FUNC:CONC ON;:SENS:FUNC "VOLT","CURR";:SENS:VOLT:RANG 20;'
        f":SENS:VOLT:PROT {limit_v};:SYST:RSEN ON;:FORM:ELEM VOLT,CURR;:OUTP ON",
    )


# ------------------------------------------------------------------ identity and common commands
def test_idn_and_common_commands(smu: Keithley2400) -> None:
    assert query(smu, "*IDN?") == IDN
    assert query(smu, "*OPC?") == "1"
    assert query(smu, "*ESR?") == "0"
    assert query(smu, ":SYST:VERS?") == "1996.0"
    assert query(smu, "*STB?") == "0"


def test_rst_defaults(smu: Keithley2400, world: World) -> None:
    source_current(smu, 0.01)
    assert world.source_on
    send(smu, "*RST")
    assert query(smu, ":OUTP?") == "0"
    assert query(smu, ":SOUR:FUNC?") == "VOLT"
    assert query(smu, ":SENS:FUNC?") == '"CURR:DC"'
    assert query(smu, ":SENS:FUNC:CONC?") == "1"
    assert number(smu, ":SENS:VOLT:PROT?") == 21.0
    assert number(smu, ":SENS:CURR:PROT?") == pytest.approx(105e-6)
    assert number(smu, ":SOUR:CURR:LEV?") == 0.0
    assert query(smu, ":SOUR:DEL:AUTO?") == "1"
    assert query(smu, ":SYST:RSEN?") == "0"
    assert query(smu, ":FORM:ELEM?") == "VOLT,CURR,RES,TIME,STAT"
    assert query(smu, ":OUTP:SMOD?") == "NORM"
    assert not world.source_on and world.input_a == 0.0


# ------------------------------------------------------------------ error queue
def test_error_format_and_undefined_header(smu: Keithley2400) -> None:
    assert next_error(smu) == NO_ERROR
    assert smu.process(":SOUR:BOGUS 1") is None
    assert next_error(smu) == '-113,"Undefined header"'
    assert next_error(smu) == NO_ERROR


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (":SOUR:CURR:LEV 1.2", -222),  # beyond 1.05 A
        (":SOUR:CURR:RANG 0.01;:SOUR:CURR:LEV 0.02", -222),  # beyond 105 % of a fixed range
        (":SOUR:CURR:LEV 0.02;:SOUR:CURR:RANG 0.001", -221),  # range too small for the level
        (":SENS:VOLT:NPLC 20", -222),  # 0.01 ... 10
        (":SOUR:FUNC RES", -224),
        (':SENS:FUNC "FREQ"', -224),
        (":OUTP:SMOD OPEN", -224),
        (":SOUR3:CURR 0.01", -114),  # SOURce1 source, SOURce2 digital port only
        (":SOUR1:TTL 3", -114),
        (":TRIG:COUN 2501", -222),
        (":FORM:ELEM FREQ", -224),
        ("*TRG", -211),  # arm source is IMMediate: trigger ignored
        (":SOUR2:TTL 16", -222),  # 4 lines at most
    ],
)
def test_real_error_codes(smu: Keithley2400, message: str, code: int) -> None:
    smu.process(message)
    assert code in drain_errors(smu), message


def test_read_with_the_output_off_is_803_and_no_reply(smu: Keithley2400) -> None:
    """Manual: with auto output-off disabled, READ?/INIT need the output on (+803)."""
    assert smu.process(":READ?") is None
    assert next_error(smu) == '803,"Not permitted with OUTPUT off"'
    assert smu.process(":INIT") is None
    assert drain_errors(smu) == [803]
    assert query(smu, "*ESR?") == "8"  # device-dependent error bit


def test_error_queue_overflows_into_minus_350(smu: Keithley2400) -> None:
    for _ in range(15):
        smu.process(":NOPE")
    codes = drain_errors(smu)
    assert len(codes) == 10 and codes[-1] == -350 and codes[0] == -113


# ------------------------------------------------------------------ state and measurement
def test_measured_current_and_four_wire_voltage_follow_the_module(
    smu: Keithley2400, world: World
) -> None:
    power_module(world)
    source_current(smu, 0.02)
    volts, amps = numbers(smu, ":READ?")
    assert amps == pytest.approx(world.input_a, abs=30e-6)  # measured, within the spec
    assert amps != 0.02  # the setpoint is never the reading (calibration error, noise)
    assert volts == pytest.approx(world.input_voltage_v(True), abs=2e-3)
    assert 0.1 < volts < 2.0  # about 50 ohm at 20 mA
    send(smu, ":SYST:RSEN OFF")
    two_wire, _ = numbers(smu, ":READ?")
    assert two_wire > volts  # 2-wire adds the lead resistance
    assert query(smu, ":STAT:MEAS:COND?") == "64"  # reading available, not in compliance


def test_elements_are_always_v_i_r_t_s_and_nan_when_not_measured(smu: Keithley2400) -> None:
    source_current(smu, 0.001)
    send(smu, ":FORM:ELEM STAT,CURR,VOLT,TIME,RES")
    assert query(smu, ":FORM:ELEM?") == "VOLT,CURR,RES,TIME,STAT"
    _, amps, ohms, seconds, status = numbers(smu, ":READ?")
    assert ohms == pytest.approx(9.91e37)  # resistance not measured
    assert seconds >= 0 and int(status) & (1 << 16)  # sourcing current
    send(smu, ':SENS:FUNC:OFF "CURR"')
    _, amps, *_ = numbers(smu, ":READ?")
    assert amps == pytest.approx(0.001)  # not measured: the programmed source value


def open_input_source() -> Keithley2400:
    """A 2400 on a module whose input is open (1 Mohm: a cracked shunt, an unseated module)."""
    world = World(SimulatedUnit(params=ModuleParameters(input_resistance_ohm=1e6)))
    smu = Keithley2400(world)
    smu.process("*CLS")
    return smu


def test_open_input_drives_the_source_into_compliance() -> None:
    smu = open_input_source()
    source_current(smu, 0.01, limit_v=3.0)
    volts, amps = numbers(smu, ":READ?")
    assert volts == pytest.approx(3.0, rel=2e-3) and abs(amps) < 5e-6  # 3 V / 1 Mohm
    condition = int(query(smu, ":STAT:MEAS:COND?"))
    assert condition & (1 << 14)
    send(smu, ":STAT:MEAS:ENAB 16384")
    assert int(query(smu, "*STB?")) & 1  # measurement summary bit


def test_compliance_is_limited_by_the_voltage_range() -> None:
    """Real compliance: a 21 V limit on the fixed 2 V range clamps at 2.11 V (105.5 %)."""
    smu = open_input_source()
    source_current(smu, 0.01, limit_v=21.0)
    send(smu, ":SENS:VOLT:RANG 2")
    volts, _ = numbers(smu, ":READ?")
    assert volts == pytest.approx(2.11, rel=3e-3)


def test_nplc_is_one_global_setting_and_takes_modelled_time(
    smu: Keithley2400, world: World
) -> None:
    source_current(smu, 0.001)
    send(smu, ":SENS:CURR:NPLC 10")
    assert number(smu, ":SENS:VOLT:NPLC?") == 10.0
    start = world.clock.now
    numbers(smu, ":READ?")
    # two concurrent functions, 10 PLC each at 50 Hz: at least 0.4 s of bench time
    assert world.clock.now - start >= 0.4


def test_arm_and_trigger_counts_fill_fetch_and_the_buffer(smu: Keithley2400) -> None:
    source_current(smu, 0.002)
    send(
        smu, ":TRIG:COUN 5;:ARM:COUN 2;:TRAC:CLE;:TRAC:POIN 8;:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT"
    )
    values = numbers(smu, ":READ?")
    assert len(values) == 2 * 10  # V,I per reading, 10 readings
    assert query(smu, ":TRAC:POIN:ACT?") == "8"  # the buffer stopped when full
    assert query(smu, ":TRAC:FEED:CONT?") == "NEV"
    assert int(query(smu, ":STAT:MEAS:COND?")) & (1 << 9)  # buffer full
    assert len(numbers(smu, ":TRAC:DATA?")) == 16
    _, mean_i = numbers(smu, ":CALC3:FORM MEAN;:CALC3:DATA?")
    assert mean_i == pytest.approx(0.002, abs=5e-6)
    assert len(numbers(smu, ":FETC?")) == 20


def test_triggered_level_applies_at_the_source_action_and_pulses_trigger_link(
    smu: Keithley2400, world: World
) -> None:
    times: list[float] = []
    world.trigger_listeners.append(times.append)
    source_current(smu, 0.002)
    send(smu, ":TRIG:OLIN 2;:TRIG:OUTP SOUR;:SOUR:CURR:TRIG 0.018")
    assert number(smu, ":SOUR:CURR:LEV?") == pytest.approx(0.002)  # not yet applied
    assert world.source_demand_a == pytest.approx(0.002, rel=1e-3)
    before = world.clock.now
    send(smu, ":INIT")
    assert len(times) == 1 and times[0] >= before
    assert number(smu, ":SOUR:CURR:LEV?") == pytest.approx(0.018)
    assert world.source_demand_a == pytest.approx(0.018, rel=1e-3)
    assert query(smu, ":TRIG:OUTP?") == "SOUR"


def test_bus_arm_waits_for_trg(smu: Keithley2400) -> None:
    source_current(smu, 0.001)
    send(smu, ":ARM:SOUR BUS;:INIT")
    assert smu.process(":FETC?") is None
    assert -230 in drain_errors(smu)  # nothing measured yet
    send(smu, "*TRG")
    assert len(numbers(smu, ":FETC?")) == 2


def test_digital_output_pattern_drives_the_fixture_relay() -> None:
    """Line 2 (the shunt-scan fixture's bypass relay) sinks when its bit is 0: energised."""
    world = World(SimulatedUnit(), Wiring.shunt_scan())
    smu = Keithley2400(world)
    assert query(smu, ":SOUR2:TTL?") == "15" and world.dut_connected
    send(smu, ":SOUR2:BSIZ 4;:SOUR2:TTL 13")
    assert not world.dut_connected  # module bypassed
    assert query(smu, ":SOUR2:TTL:ACT?") == "13"
    send(smu, ":SOUR2:TTL 15")
    assert world.dut_connected
    send(smu, ":SOUR2:TTL 13;*RST")
    assert world.dut_connected  # *RST releases every relay


def test_measure_query_turns_the_output_on(smu: Keithley2400, world: World) -> None:
    power_module(world)
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR:LEV 0.004")
    values = numbers(smu, ":MEAS:VOLT?")
    assert query(smu, ":OUTP?") == "1" and world.source_on
    assert len(values) == 5  # the *RST element list: V, I, R, T, S


def test_auto_output_off_switches_the_output_per_reading(smu: Keithley2400, world: World) -> None:
    send(smu, ":SOUR:FUNC CURR;:SOUR:CURR:LEV 0.004;:SOUR:CLE:AUTO ON")
    numbers(smu, ":READ?")  # allowed with the output off: it turns on for the reading
    assert query(smu, ":OUTP?") == "0" and not world.source_on


def test_safety_levels_and_output_state(smu: Keithley2400) -> None:
    source_current(smu, 0.02)
    assert smu.output_enabled() and smu.safety_levels()["current_a"] == pytest.approx(0.02)
    send(smu, ":SOUR:CURR:LEV 0;:OUTP OFF")
    assert not smu.output_enabled() and smu.safety_levels()["current_a"] == 0.0
