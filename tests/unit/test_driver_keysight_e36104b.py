"""Keysight E36104B supply driver at the command/response level (no simulator).

The supply feeds the module under test (24 V +-30 %): protections must be programmed before
the level, the level must stay below the OVP, and safe_state must turn the output off even
when one write is lost.
"""

from __future__ import annotations

import pytest

from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keysight_e36104b import KeysightE36104B
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "Keysight Technologies,E36104B,MY59001234,1.0.4-1.0.0-1.00"
NO_ERROR = '+0,"No error"'

Script = list[tuple[str, str | None]]

CONFIGURE_24V: Script = [
    ("OUTP OFF", None),
    ("VOLT:PROT 26", None),
    ("VOLT:PROT:STAT ON", None),
    ("CURR 0.05", None),
    ("CURR:PROT:STAT ON", None),
    ("VOLT 24", None),
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


def supply(script: Script) -> tuple[KeysightE36104B, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return KeysightE36104B(transport), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# ------------------------------------------------------------------ initialize
def test_initialize_checks_identity_resets_and_drains_errors() -> None:
    with expected_protocol(
        KeysightE36104B,
        [("*IDN?", IDN), ("*RST", None), ("*CLS", None), (":SYST:ERR?", NO_ERROR)],
    ) as drv:
        identity = drv.initialize()
    assert identity.model == "E36104B"


def test_initialize_refuses_another_model_before_resetting() -> None:
    drv, transport = supply([("*IDN?", "Keysight Technologies,E36103B,MY1,1.0")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Keysight E36104B" in assert_one_line(info.value)


def test_initialize_reports_errors_left_after_reset() -> None:
    drv, transport = supply(
        [
            ("*IDN?", IDN),
            ("*RST", None),
            ("*CLS", None),
            (":SYST:ERR?", '-100,"Command error"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.initialize()
    transport.assert_done()
    assert info.value.errors == [(-100, "Command error")]


# ------------------------------------------------------------------ configure
def test_configure_programs_protections_before_the_level_with_output_off() -> None:
    with expected_protocol(KeysightE36104B, CONFIGURE_24V) as drv:
        drv.configure(voltage_v=24.0, current_limit_a=0.05, ovp_v=26.0)


def test_configure_at_the_module_supply_limit() -> None:
    with expected_protocol(
        KeysightE36104B,
        [
            ("OUTP OFF", None),
            ("VOLT:PROT 33", None),
            ("VOLT:PROT:STAT ON", None),
            ("CURR 0.1", None),
            ("CURR:PROT:STAT ON", None),
            ("VOLT 31.2", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure(voltage_v=31.2, current_limit_a=0.1, ovp_v=33.0)


@pytest.mark.parametrize(("voltage", "ovp"), [(24.0, 24.0), (25.0, 24.0)])
def test_configure_refuses_a_voltage_not_below_the_ovp(voltage: float, ovp: float) -> None:
    drv, transport = supply([])
    with pytest.raises(ValidationError) as info:
        drv.configure(voltage_v=voltage, current_limit_a=0.05, ovp_v=ovp)
    assert transport.sent == []
    assert "Keysight E36104B" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"voltage_v": 24.0, "current_limit_a": 0.05, "ovp_v": 40.0},  # OVP above 38.5 V
        {"voltage_v": 24.0, "current_limit_a": 1.5, "ovp_v": 26.0},  # above the 1 A rating
        {"voltage_v": 36.0, "current_limit_a": 0.05, "ovp_v": 38.0},  # above the 35 V rating
    ],
)
def test_configure_refuses_out_of_range_values_before_anything_is_sent(kwargs: dict) -> None:
    drv, transport = supply([])
    with pytest.raises(ValidationError):
        drv.configure(**kwargs)
    assert transport.sent == []


def test_configure_reports_errors_from_the_instrument() -> None:
    script = [*CONFIGURE_24V[:-1], (":SYST:ERR?", '-222,"Data out of range"')]
    drv, transport = supply([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure(voltage_v=24.0, current_limit_a=0.05, ovp_v=26.0)
    transport.assert_done()
    assert "-222" in assert_one_line(info.value)


# ------------------------------------------------------------------ level and output
def test_set_voltage_is_synced_and_stays_below_the_configured_ovp() -> None:
    drv, transport = supply([*CONFIGURE_24V, ("VOLT 25.5;*OPC?", "1")])
    drv.configure(voltage_v=24.0, current_limit_a=0.05, ovp_v=26.0)
    drv.set_voltage(25.5)
    with pytest.raises(ValidationError) as info:
        drv.set_voltage(26.0)
    transport.assert_done()  # the refused level was never sent
    assert "OVP" in str(info.value)


@pytest.mark.parametrize("voltage", [36.0, -1.0])
def test_set_voltage_refuses_values_outside_the_rating(voltage: float) -> None:
    drv, transport = supply([])
    with pytest.raises(ValidationError):
        drv.set_voltage(voltage)
    assert transport.sent == []


def test_set_voltage_refuses_an_opc_reply_other_than_one() -> None:
    drv, transport = supply([("VOLT 24;*OPC?", "+0")])
    with pytest.raises(InstrumentReplyError):
        drv.set_voltage(24.0)
    transport.assert_done()


def test_output_on_and_off_are_synced() -> None:
    with expected_protocol(
        KeysightE36104B, [("OUTP ON;*OPC?", "1"), ("OUTP OFF;*OPC?", "1")]
    ) as drv:
        drv.enable_output()
        drv.disable_output()


# ------------------------------------------------------------------ measurement
def test_measure_voltage_and_current() -> None:
    with expected_protocol(
        KeysightE36104B,
        [("MEAS:VOLT?", "+2.40012000E+01"), ("MEAS:CURR?", "+2.10000000E-02")],
    ) as drv:
        assert drv.measure_voltage() == pytest.approx(24.0012, rel=1e-12)
        assert drv.measure_current() == pytest.approx(0.021, rel=1e-12)


def test_current_accuracy_is_the_readback_spec() -> None:
    drv, transport = supply([])
    accuracy = drv.current_accuracy(0.02)
    assert (accuracy.gain_rel, accuracy.offset, accuracy.range) == (0.001, 0.002, 1.0)
    assert transport.sent == []


@pytest.mark.parametrize(
    ("script", "tripped"),
    [
        ([("VOLT:PROT:TRIP?", "0"), ("CURR:PROT:TRIP?", "0")], None),
        ([("VOLT:PROT:TRIP?", "1")], "OVP"),
        ([("VOLT:PROT:TRIP?", "0"), ("CURR:PROT:TRIP?", "1")], "OCP"),
    ],
)
def test_protection_tripped(script: Script, tripped: str | None) -> None:
    with expected_protocol(KeysightE36104B, script) as drv:
        assert drv.protection_tripped() == tripped


def test_garbage_reply_is_a_one_line_reply_error_naming_the_instrument() -> None:
    drv, _ = supply([("MEAS:VOLT?", "+2.4E+01\r\nOVP\x00")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure_voltage()
    text = assert_one_line(info.value)
    assert text.startswith("supply (Keysight E36104B) at scripted: ")
    assert "MEAS:VOLT?" in text


# ------------------------------------------------------------------ safety
def test_safe_state_turns_the_output_off_then_zeroes_the_level() -> None:
    with expected_protocol(KeysightE36104B, [("OUTP OFF", None), ("VOLT 0", None)]) as drv:
        drv.safe_state()


def test_safe_state_continues_after_a_failed_write_and_raises_the_first_failure() -> None:
    transport = FailingTransport([("OUTP OFF", None), ("VOLT 0", None)], fail_on={"OUTP OFF"})
    drv = KeysightE36104B(transport)
    with pytest.raises(InstrumentCommunicationError) as info:
        drv.safe_state()
    transport.assert_done()  # VOLT 0 was still sent
    assert "OUTP OFF" in str(info.value)


def test_safe_state_problems_empty_when_off_and_at_zero() -> None:
    with expected_protocol(KeysightE36104B, [("OUTP?", "0"), ("VOLT?", "+0.00000000E+00")]) as drv:
        assert drv.safe_state_problems() == []


def test_safe_state_problems_report_output_on_and_programmed_voltage() -> None:
    with expected_protocol(KeysightE36104B, [("OUTP?", "1"), ("VOLT?", "+2.40000000E+01")]) as drv:
        assert drv.safe_state_problems() == ["output is on", "voltage is programmed to 24 V"]


def test_safe_state_problems_report_any_voltage_above_zero() -> None:
    with expected_protocol(KeysightE36104B, [("OUTP?", "0"), ("VOLT?", "+5.00000000E-01")]) as drv:
        assert drv.safe_state_problems() == ["voltage is programmed to 0.5 V"]
