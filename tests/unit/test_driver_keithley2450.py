"""Keithley 2450 driver at the command/response level (no simulator).

Every message the driver sends is pinned with ScriptedTransport; replies use the 2450's
formats (``1.200000E-02``, ``0,"No error;0;0 0"``). Spec figures are SPEC-2450 Rev. A,
1 year: measure current 100 mA range 0.025 % + 6 uA, 10 mA range 0.020 % + 600 nA; measure
voltage 20 V range 0.015 % + 1 mV.
"""

from __future__ import annotations

import math

import pytest

from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keithley2450 import Keithley2450
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,04096331,1.7.12b"
NO_ERROR = '0,"No error;0;0 0"'
READ = ':READ? "defbuffer1", SOUR, READ'

Script = list[tuple[str, str | None]]

CONFIGURE_10V: Script = [
    (":OUTP OFF", None),
    (":SOUR:FUNC CURR", None),
    (":SOUR:CURR:RANG 0.01", None),
    (":SOUR:CURR 0", None),
    (":SOUR:CURR:VLIM 10", None),
    (":SOUR:VOLT:PROT PROT20", None),
    (":OUTP:CURR:SMOD NORM", None),
    (":SOUR:CURR:READ:BACK ON", None),
    (':SENS:FUNC "VOLT"', None),
    (":SENS:VOLT:RANG 20", None),
    (":SENS:VOLT:NPLC 1", None),
    (":SENS:VOLT:RSEN ON", None),
    (":SYST:ERR?", NO_ERROR),
]


class FailingTransport(ScriptedTransport):
    """Scripted transport whose writes of ``fail_on`` commands are lost (after being sent)."""

    def __init__(self, script: Script, fail_on: set[str]) -> None:
        super().__init__(script)
        self.fail_on = fail_on

    def write(self, command: str) -> None:
        super().write(command)
        if command in self.fail_on:
            raise InstrumentCommunicationError(self.name, f"lost connection sending {command!r}")


def smu(script: Script, **kwargs) -> tuple[Keithley2450, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Keithley2450(transport, **kwargs), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# ------------------------------------------------------------------ initialize
def test_initialize_checks_identity_and_language_then_resets_and_drains_errors() -> None:
    with expected_protocol(
        Keithley2450,
        [
            ("*IDN?", IDN),
            ("*LANG?", "SCPI"),
            ("*RST", None),
            ("*CLS", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        identity = drv.initialize()
    assert identity.serial == "04096331"
    assert drv.identity == identity


def test_initialize_refuses_another_model_before_resetting() -> None:
    drv, transport = smu([("*IDN?", "KEITHLEY INSTRUMENTS,MODEL 2460,04096331,1.7.12b")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()  # no *LANG?, no *RST
    assert "expected a Keithley 2450" in assert_one_line(info.value)


@pytest.mark.parametrize("language", ["TSP", "SCPI2400"])
def test_initialize_refuses_a_non_scpi_command_set_before_resetting(language: str) -> None:
    drv, transport = smu([("*IDN?", IDN), ("*LANG?", language)])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()  # no *RST
    text = assert_one_line(info.value)
    assert language in text and "SCPI" in text
    assert "Keithley 2450" in text


def test_initialize_reports_errors_left_after_reset() -> None:
    drv, transport = smu(
        [
            ("*IDN?", IDN),
            ("*LANG?", "SCPI"),
            ("*RST", None),
            ("*CLS", None),
            (":SYST:ERR?", '-113,"Undefined header;1;2026/11/26 11:00:00.000"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.initialize()
    transport.assert_done()
    assert info.value.errors == [(-113, "Undefined header")]


# ------------------------------------------------------------------ configure
def test_configure_programs_output_off_protections_and_sense_in_order() -> None:
    with expected_protocol(Keithley2450, CONFIGURE_10V) as drv:
        drv.configure(voltage_limit_v=10.0)


def test_configure_with_two_wire_slow_sense_and_source_delay() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":OUTP OFF", None),
            (":SOUR:FUNC CURR", None),
            (":SOUR:CURR:RANG 0.01", None),
            (":SOUR:CURR 0", None),
            (":SOUR:CURR:VLIM 24", None),
            (":SOUR:VOLT:PROT PROT40", None),  # 24 V * 1.1 = 26.4 V -> next level 40 V
            (":OUTP:CURR:SMOD NORM", None),
            (":SOUR:CURR:READ:BACK ON", None),
            (':SENS:FUNC "VOLT"', None),
            (":SENS:VOLT:RANG 200", None),
            (":SENS:VOLT:NPLC 10", None),
            (":SENS:VOLT:RSEN OFF", None),
            (":SOUR:CURR:DEL 0.05", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure(voltage_limit_v=24.0, nplc=10.0, four_wire=False, source_delay_s=0.05)


def test_configure_reports_errors_from_the_instrument() -> None:
    script = [*CONFIGURE_10V[:-1], (":SYST:ERR?", '-222,"Parameter data out of range;1;x"')]
    drv, transport = smu([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure(voltage_limit_v=10.0)
    transport.assert_done()
    assert "after configuration" in assert_one_line(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"voltage_limit_v": 170.0},  # no OVP level above 187 V
        {"voltage_limit_v": 0.01},  # below the 20 mV limit
        {"voltage_limit_v": 10.0, "nplc": 20.0},  # NPLC above 10
    ],
)
def test_configure_refuses_invalid_arguments_before_anything_is_sent(kwargs: dict) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.configure(**kwargs)
    assert transport.sent == []


def test_set_source_delay() -> None:
    with expected_protocol(Keithley2450, [(":SOUR:CURR:DEL 0.002", None)]) as drv:
        drv.set_source_delay(0.002)
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.set_source_delay(-1.0)
    assert transport.sent == []


# ------------------------------------------------------------------ set_current
def test_set_current_ranges_up_before_a_larger_level_in_one_synced_message() -> None:
    with expected_protocol(
        Keithley2450,
        [*CONFIGURE_10V, (":SOUR:CURR:RANG 0.1;:SOUR:CURR 0.012;*OPC?", "1")],
    ) as drv:
        drv.configure(voltage_limit_v=10.0)
        drv.set_current(0.012)


def test_set_current_sets_the_level_before_ranging_down() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR 0.02;*OPC?", "1"),
            (":SOUR:CURR 0.004;:SOUR:CURR:RANG 0.01;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_current(0.02)
        drv.set_current(0.004)


def test_set_current_within_the_present_range_sends_only_the_level() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR 0.004;*OPC?", "1"),
            (":SOUR:CURR 0.0105;*OPC?", "1"),  # 5 % overrange still fits the 10 mA range
            (":SOUR:CURR -0.008;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_current(0.004)
        drv.set_current(0.0105)
        drv.set_current(-0.008)


def test_set_current_never_goes_below_the_10_ma_minimum_range() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR 0.0001;*OPC?", "1"),
            (":SOUR:CURR 0;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_current(0.0001)
        assert drv.current_accuracy().range == 0.01
        drv.set_current(0.0)
        assert drv.current_accuracy().range == 0.01


def test_set_current_uses_a_lower_minimum_range_when_configured() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR:RANG 0.01;:SOUR:CURR 0.005;*OPC?", "1"),
            (":SOUR:CURR 0.0005;:SOUR:CURR:RANG 0.001;*OPC?", "1"),
        ],
        min_range_a=1e-3,
    ) as drv:
        drv.set_current(0.005)
        drv.set_current(0.0005)
        assert drv.current_accuracy().range == 0.001


def test_set_current_negative_and_one_amp_levels() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR -0.012;*OPC?", "1"),
            (":SOUR:CURR:RANG 1;:SOUR:CURR 0.5;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_current(-0.012)
        drv.set_current(0.5)


def test_set_current_with_an_explicit_range() -> None:
    with expected_protocol(
        Keithley2450, [(":SOUR:CURR:RANG 0.1;:SOUR:CURR 0.005;*OPC?", "1")]
    ) as drv:
        drv.set_current(0.005, range_a=0.1)
        assert drv.current_accuracy().range == 0.1


@pytest.mark.parametrize(
    ("level", "range_a"),
    [
        (1.2, None),  # beyond the 1.05 A maximum
        (0.02, 0.01),  # does not fit the requested range
        (0.02, 0.05),  # not a 2450 range
        (math.nan, None),
    ],
)
def test_set_current_refuses_before_anything_is_sent(level: float, range_a: float | None) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.set_current(level, range_a)
    assert transport.sent == []


def test_set_current_refuses_an_opc_reply_other_than_one() -> None:
    drv, transport = smu([(":SOUR:CURR 0.004;*OPC?", "0")])
    with pytest.raises(InstrumentReplyError):
        drv.set_current(0.004)
    transport.assert_done()


def test_output_on_and_off_are_synced() -> None:
    with expected_protocol(
        Keithley2450, [(":OUTP ON;*OPC?", "1"), (":OUTP OFF;*OPC?", "1")]
    ) as drv:
        drv.enable_output()
        drv.disable_output()


# ------------------------------------------------------------------ measure
def test_measure_returns_the_measured_source_current_and_voltage_with_accuracy() -> None:
    with expected_protocol(
        Keithley2450,
        [
            *CONFIGURE_10V,
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR 0.012;*OPC?", "1"),
            (READ, "1.200123E-02,5.012345E+00"),
        ],
    ) as drv:
        drv.configure(voltage_limit_v=10.0)
        drv.set_current(0.012)
        reading = drv.measure()
    assert reading.current_a == pytest.approx(0.01200123, rel=1e-12)
    assert reading.voltage_v == pytest.approx(5.012345, rel=1e-12)
    current = reading.current_accuracy
    assert (current.gain_rel, current.offset, current.range) == (0.00025, 6e-6, 0.1)
    assert current.half_width(0.012) == pytest.approx(0.012 * 0.00025 + 6e-6)
    voltage = reading.voltage_accuracy
    assert (voltage.gain_rel, voltage.offset, voltage.range) == (0.00015, 1e-3, 20.0)


def test_measure_on_the_10_ma_range_uses_its_spec() -> None:
    with expected_protocol(
        Keithley2450,
        [(":SOUR:CURR 0.004;*OPC?", "1"), (READ, "4.000210E-03,1.600100E+00")],
    ) as drv:
        drv.set_current(0.004)
        reading = drv.measure()
    accuracy = reading.current_accuracy
    assert (accuracy.gain_rel, accuracy.offset, accuracy.range) == (0.0002, 600e-9, 0.01)


def test_measure_reads_overflow_as_infinity() -> None:
    with expected_protocol(Keithley2450, [(READ, "1.200000E-02,9.9E+37")]) as drv:
        reading = drv.measure()
    assert reading.voltage_v == math.inf


@pytest.mark.parametrize("reply", ["1.200000E-02", "1.2E-02,5.0E+00,7.0E+00"])
def test_measure_refuses_a_reply_without_exactly_two_values(reply: str) -> None:
    drv, _ = smu([(READ, reply)])
    with pytest.raises(InstrumentError) as info:
        drv.measure()
    assert "Keithley 2450" in assert_one_line(info.value)


@pytest.mark.parametrize(("reply", "tripped"), [("1", True), ("0", False)])
def test_in_compliance_reads_the_voltage_limit_trip(reply: str, tripped: bool) -> None:
    with expected_protocol(Keithley2450, [(":SOUR:CURR:VLIM:TRIP?", reply)]) as drv:
        assert drv.in_compliance() is tripped


def test_garbage_reply_is_a_one_line_reply_error_naming_the_instrument() -> None:
    drv, _ = smu([(":SOUR:CURR:VLIM:TRIP?", "KEITHLEY\r\n\x00?")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.in_compliance()
    text = assert_one_line(info.value)
    assert text.startswith("source (Keithley 2450) at scripted: ")


def test_garbage_measure_reply_is_a_reply_error() -> None:
    drv, _ = smu([(READ, "-113,Undefined header\n")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure()
    assert "Keithley 2450" in assert_one_line(info.value)


# ------------------------------------------------------------------ trigger output
@pytest.mark.parametrize("line", [1, 6])
def test_configure_trigger_output(line: int) -> None:
    with expected_protocol(
        Keithley2450,
        [
            (f":DIG:LINE{line}:MODE TRIG, OUT", None),
            (f":TRIG:DIG{line}:OUT:LOG NEG", None),
            (f":TRIG:DIG{line}:OUT:PULS 1e-05", None),
            (f":TRIG:DIG{line}:OUT:STIM COMM", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_trigger_output(line)


@pytest.mark.parametrize("line", [0, 7])
def test_configure_trigger_output_refuses_a_missing_line(line: int) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.configure_trigger_output(line)
    assert transport.sent == []


def test_step_with_trigger_changes_level_and_triggers_in_one_message() -> None:
    with expected_protocol(
        Keithley2450,
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR 0.004;*OPC?", "1"),
            (":SOUR:CURR 0.02;*TRG;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_current(0.004, range_a=0.1)
        drv.step_with_trigger(0.02)


def test_step_with_trigger_refuses_a_step_out_of_the_present_range() -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError) as info:
        drv.step_with_trigger(0.02)  # present range is 10 mA
    assert transport.sent == []
    assert "range" in str(info.value)


# ------------------------------------------------------------------ safety
def test_safe_state_zeroes_levels_and_turns_the_output_off() -> None:
    with expected_protocol(
        Keithley2450, [(":SOUR:CURR 0", None), (":SOUR:VOLT 0", None), (":OUTP OFF", None)]
    ) as drv:
        drv.safe_state()


def test_safe_state_continues_after_a_failed_write_and_raises_the_first_failure() -> None:
    transport = FailingTransport(
        [(":SOUR:CURR 0", None), (":SOUR:VOLT 0", None), (":OUTP OFF", None)],
        fail_on={":SOUR:CURR 0", ":OUTP OFF"},
    )
    drv = Keithley2450(transport)
    with pytest.raises(InstrumentCommunicationError) as info:
        drv.safe_state()
    transport.assert_done()  # the output-off command was still sent
    assert ":SOUR:CURR 0" in str(info.value)


def test_safe_state_problems_empty_when_output_off_and_level_zero() -> None:
    with expected_protocol(Keithley2450, [(":OUTP?", "0"), (":SOUR:CURR?", "0.000000E+00")]) as drv:
        assert drv.safe_state_problems() == []


def test_safe_state_problems_report_output_on_and_level() -> None:
    with expected_protocol(Keithley2450, [(":OUTP?", "1"), (":SOUR:CURR?", "1.200000E-02")]) as drv:
        assert drv.safe_state_problems() == ["output is on", "source level is 0.012 A"]


def test_safe_state_problems_report_a_negative_level() -> None:
    with expected_protocol(
        Keithley2450, [(":OUTP?", "0"), (":SOUR:CURR?", "-1.000000E-03")]
    ) as drv:
        assert drv.safe_state_problems() == ["source level is -0.001 A"]
