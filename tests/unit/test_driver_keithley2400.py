"""Keithley 2400 driver at the command/response level (no simulator).

Every message the driver sends is pinned with ScriptedTransport; replies use the 2400's formats
(``+1.000000E-02``, ``0,"No error"``; manual 2400S-900-01 section 18). Spec figures are
SPEC-2400 Rev. H, 1 year: measure current 100 mA range 0.055 % + 6 uA, 10 mA range
0.035 % + 600 nA; measure voltage 20 V range 0.015 % + 1.5 mV, 2 V range 0.012 % + 300 uV.
"""

from __future__ import annotations

import math

import pytest

from drivers.errors import (
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    InstrumentTripped,
    ValidationError,
)
from drivers.keithley2400 import Keithley2400
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30 Mar 17 2006 09:29:29/A02 /K/J"
NO_ERROR = '0,"No error"'

Script = list[tuple[str, str | None]]

CONFIGURE_5V: Script = [
    (":OUTP OFF", None),
    (":SOUR:CLE:AUTO OFF", None),
    (":OUTP:SMOD NORM", None),
    (":SOUR:FUNC CURR", None),
    (":SOUR:CURR:MODE FIX", None),
    (":SOUR:CURR:RANG 0.01", None),
    (":SOUR:CURR:LEV 0", None),
    (":SENS:FUNC:CONC ON", None),
    (':SENS:FUNC "VOLT","CURR"', None),
    (":SENS:VOLT:RANG 20", None),
    (":SENS:VOLT:PROT 5", None),
    (":SENS:VOLT:NPLC 1", None),
    (":SYST:RSEN ON", None),
    (":FORM:ELEM VOLT,CURR", None),
    (":SYST:ERR?", NO_ERROR),
]


def smu(script: Script, **kwargs) -> tuple[Keithley2400, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Keithley2400(transport, **kwargs), transport


def configured(extra: Script, **kwargs) -> tuple[Keithley2400, ScriptedTransport]:
    """A driver after ``configure(voltage_limit_v=5)``, then ``extra``."""
    drv, transport = smu([*CONFIGURE_5V, *extra], **kwargs)
    drv.configure(voltage_limit_v=5.0)
    return drv, transport


# ------------------------------------------------------------------ initialize
def test_initialize_checks_identity_then_resets_and_drains_errors() -> None:
    with expected_protocol(
        Keithley2400,
        [("*IDN?", IDN), ("*RST", None), ("*CLS", None), (":SYST:ERR?", NO_ERROR)],
    ) as drv:
        identity = drv.initialize()
    assert identity.serial == "1234567" and identity.model == "MODEL 2400"


@pytest.mark.parametrize(
    "reply",
    [
        "KEITHLEY INSTRUMENTS INC.,MODEL 2410,1234567,C30",  # 1100 V sibling: other ranges
        "KEITHLEY INSTRUMENTS,MODEL 2450,04096331,1.7.12b",  # the TTI 2450
    ],
)
def test_initialize_refuses_another_model_before_resetting(reply: str) -> None:
    drv, transport = smu([("*IDN?", reply)])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()  # no *RST
    assert "expected a Keithley 2400" in str(info.value) and "\n" not in str(info.value)


def test_initialize_reports_errors_left_after_reset() -> None:
    drv, transport = smu(
        [
            ("*IDN?", IDN),
            ("*RST", None),
            ("*CLS", None),
            (":SYST:ERR?", '-113,"Undefined header"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.initialize()
    transport.assert_done()
    assert info.value.errors == [(-113, "Undefined header")]


# ------------------------------------------------------------------ configure
def test_configure_programs_output_off_source_compliance_and_sense_in_order() -> None:
    with expected_protocol(Keithley2400, CONFIGURE_5V) as drv:
        drv.configure(voltage_limit_v=5.0)


def test_configure_picks_the_voltage_range_that_holds_the_compliance() -> None:
    """The compliance cannot exceed the measure range (manual: range compliance), so a 1.5 V
    limit takes the 2 V range and 2-wire, 10 PLC, a manual source delay are as asked."""
    script = [
        *CONFIGURE_5V[:9],
        (":SENS:VOLT:RANG 2", None),
        (":SENS:VOLT:PROT 1.5", None),
        (":SENS:VOLT:NPLC 10", None),
        (":SYST:RSEN OFF", None),
        (":FORM:ELEM VOLT,CURR", None),
        (":SOUR:DEL:AUTO OFF", None),
        (":SOUR:DEL 0.002", None),
        (":SYST:ERR?", NO_ERROR),
    ]
    with expected_protocol(Keithley2400, script) as drv:
        drv.configure(voltage_limit_v=1.5, nplc=10.0, four_wire=False, source_delay_s=0.002)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"voltage_limit_v": 250.0},  # above the 200 V range
        {"voltage_limit_v": 0.0},
        {"voltage_limit_v": 5.0, "nplc": 0.001},  # NPLC 0.01 ... 10
        {"voltage_limit_v": 5.0, "nplc": 20.0},
        {"voltage_limit_v": 5.0, "source_delay_s": 1000.0},  # 0 ... 999.9999 s
    ],
)
def test_configure_refuses_invalid_arguments_before_anything_is_sent(kwargs: dict) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.configure(**kwargs)
    assert transport.sent == []


def test_configure_reports_errors_from_the_instrument() -> None:
    drv, transport = smu(
        [
            *CONFIGURE_5V[:-1],
            (":SYST:ERR?", '-222,"Parameter data out of range"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue):
        drv.configure(voltage_limit_v=5.0)
    transport.assert_done()


# ------------------------------------------------------------------ levels and output
def test_set_current_ranges_up_before_a_larger_level_in_one_synced_message() -> None:
    drv, transport = configured([(":SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV 0.02;*OPC?", "1")])
    drv.set_current(0.02)
    transport.assert_done()


def test_set_current_sets_the_level_before_ranging_down() -> None:
    drv, transport = configured(
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV 0.02;*OPC?", "1"),
            (":SOUR:CURR:LEV 0.004;:SOUR:CURR:RANG 0.01;*OPC?", "1"),
            (":SOUR:CURR:LEV 0.0105;*OPC?", "1"),  # 105 % of the 10 mA range
        ]
    )
    drv.set_current(0.02)
    drv.set_current(0.004)
    drv.set_current(0.0105)
    transport.assert_done()


def test_set_current_with_an_explicit_range_and_refusals() -> None:
    drv, transport = configured([(":SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV 0.002;*OPC?", "1")])
    drv.set_current(0.002, range_a=0.1)
    for level, range_a in ((0.02, 0.01), (1.2, None), (math.nan, None), (0.001, 0.05)):
        with pytest.raises(ValidationError):
            drv.set_current(level, range_a=range_a)
    transport.assert_done()


def test_output_on_and_off_are_synced() -> None:
    drv, transport = smu([(":OUTP ON;*OPC?", "1"), (":OUTP OFF;*OPC?", "1")])
    drv.enable_output()
    drv.disable_output()
    transport.assert_done()


def test_set_source_delay_turns_auto_delay_off() -> None:
    with expected_protocol(
        Keithley2400, [(":SOUR:DEL:AUTO OFF", None), (":SOUR:DEL 0.05", None)]
    ) as drv:
        drv.set_source_delay(0.05)


# ------------------------------------------------------------------ measurement
def test_measure_returns_the_measured_current_and_voltage_with_accuracy() -> None:
    drv, transport = configured(
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV 0.02;*OPC?", "1"),
            (":READ?", "+1.002345E+00,+1.999876E-02"),
        ]
    )
    drv.set_current(0.02)
    reading = drv.measure()
    transport.assert_done()
    assert reading.voltage_v == pytest.approx(1.002345)
    assert reading.current_a == pytest.approx(0.01999876)
    assert reading.current_accuracy.half_width(0.02) == pytest.approx(0.00055 * 0.02 + 6e-6)
    assert reading.voltage_accuracy.half_width(1.0) == pytest.approx(0.00015 + 1.5e-3)
    assert "SPEC-2400" in reading.current_accuracy.source


@pytest.mark.parametrize("reply", ["+1.0E+00", "+1.0E+00,+2.0E-02,+9.91E+37", "garbage"])
def test_measure_refuses_a_reply_that_is_not_two_values(reply: str) -> None:
    drv, _ = smu([(":READ?", reply)])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("reply", "tripped"), [("0", False), ("16384", True), ("16640", True), ("256", False)]
)
def test_in_compliance_reads_bit_14_of_the_measurement_condition(reply: str, tripped: bool) -> None:
    with expected_protocol(Keithley2400, [(":STAT:MEAS:COND?", reply)]) as drv:
        assert drv.in_compliance() is tripped


def test_health_check_reports_compliance_unless_expected() -> None:
    drv, transport = smu(
        [("*ESR?;:STAT:MEAS:COND?", "0;16384"), ("*ESR?;:STAT:MEAS:COND?", "0;16384")]
    )
    with pytest.raises(InstrumentTripped, match="source in compliance"):
        drv.check_health()
    drv.check_health(compliance_ok=True)
    transport.assert_done()


# ------------------------------------------------------------------ trigger link, digital out
@pytest.mark.parametrize("line", [1, 4])
def test_configure_trigger_output_routes_the_source_action_to_a_trigger_link_line(
    line: int,
) -> None:
    with expected_protocol(
        Keithley2400,
        [
            (":ARM:SOUR IMM", None),
            (":ARM:COUN 1", None),
            (":TRIG:SOUR IMM", None),
            (":TRIG:COUN 1", None),
            (":TRIG:DEL 0", None),
            (f":TRIG:OLIN {line}", None),
            (":TRIG:OUTP SOUR", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_trigger_output(line)


@pytest.mark.parametrize("line", [0, 5, 6])
def test_configure_trigger_output_refuses_a_missing_line(line: int) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.configure_trigger_output(line)
    assert transport.sent == []


def test_step_with_trigger_is_one_sdm_cycle_with_the_triggered_level() -> None:
    drv, transport = configured(
        [
            (":SOUR:CURR:RANG 0.1;:SOUR:CURR:LEV 0.002;*OPC?", "1"),
            (":SOUR:CURR:TRIG 0.018;:INIT;*OPC?", "1"),
        ]
    )
    drv.set_current(0.002, range_a=0.1)
    drv.step_with_trigger(0.018)
    with pytest.raises(ValidationError, match=r"leaves the 0\.1 A range"):
        drv.step_with_trigger(0.2)
    transport.assert_done()


def test_digital_outputs_sink_to_energise_and_keep_the_other_lines() -> None:
    """Line 2 low energises the bypass relay; line 4 too; releasing 2 keeps 4 energised."""
    with expected_protocol(
        Keithley2400,
        [
            (":SOUR2:BSIZ 4;:SOUR2:CLE:AUTO OFF;:SOUR2:TTL 13;*OPC?", "1"),
            (":SOUR2:BSIZ 4;:SOUR2:CLE:AUTO OFF;:SOUR2:TTL 5;*OPC?", "1"),
            (":SOUR2:BSIZ 4;:SOUR2:CLE:AUTO OFF;:SOUR2:TTL 7;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_digital_output(2, True)
        drv.set_digital_output(4, True)
        drv.set_digital_output(2, False)


@pytest.mark.parametrize("line", [0, 5])
def test_digital_output_refuses_a_missing_line(line: int) -> None:
    drv, transport = smu([])
    with pytest.raises(ValidationError):
        drv.set_digital_output(line, True)
    assert transport.sent == []


# ------------------------------------------------------------------ safety
def test_safe_state_sends_every_command_and_reads_back() -> None:
    with expected_protocol(
        Keithley2400,
        [
            (":SOUR:CURR:LEV 0", None),
            (":SOUR:VOLT:LEV 0", None),
            (":OUTP OFF", None),
            (":OUTP?", "0"),
            (":SOUR:CURR:LEV?", "+0.000000E+00"),
            (":OUTP?", "1"),
            (":SOUR:CURR:LEV?", "+2.000000E-02"),
        ],
    ) as drv:
        drv.safe_state()
        assert drv.safe_state_problems() == []
        assert drv.safe_state_problems() == ["output is on", "source level is 0.02 A"]
