"""Keysight EL34143A electronic load driver at the command/response level (no simulator)."""

from __future__ import annotations

import pytest

from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keysight_el34143a import KeysightEL34143A
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "Keysight Technologies,EL34143A,MY61000123,A.01.02"
NO_ERROR = '+0,"No error"'

Script = list[tuple[str, str | None]]


class FailingTransport(ScriptedTransport):
    """Scripted transport whose writes of ``fail_on`` commands are lost (after being sent)."""

    def __init__(self, script: Script, fail_on: set[str]) -> None:
        super().__init__(script)
        self.fail_on = fail_on

    def write(self, command: str) -> None:
        super().write(command)
        if command in self.fail_on:
            raise InstrumentCommunicationError(self.name, f"lost connection sending {command!r}")


def load(script: Script) -> tuple[KeysightEL34143A, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return KeysightEL34143A(transport), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# ------------------------------------------------------------------ initialize
def test_initialize_checks_identity_resets_and_drains_errors() -> None:
    with expected_protocol(
        KeysightEL34143A,
        [("*IDN?", IDN), ("*RST", None), ("*CLS", None), (":SYST:ERR?", NO_ERROR)],
    ) as drv:
        identity = drv.initialize()
    assert identity.model == "EL34143A"


def test_initialize_refuses_another_model_before_resetting() -> None:
    drv, transport = load([("*IDN?", "Keysight Technologies,EL34243A,MY1,A.01")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Keysight EL34143A" in assert_one_line(info.value)


# ------------------------------------------------------------------ configuration
def test_configure_resistance_turns_the_input_off_first() -> None:
    with expected_protocol(
        KeysightEL34143A,
        [
            ("INP OFF", None),
            ("FUNC RES", None),
            ("RES 1200", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_resistance(1200.0)


def test_configure_resistance_reports_errors_from_the_instrument() -> None:
    drv, transport = load(
        [
            ("INP OFF", None),
            ("FUNC RES", None),
            ("RES 250", None),
            (":SYST:ERR?", '-113,"Undefined header"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure_resistance(250.0)
    transport.assert_done()
    assert "-113" in assert_one_line(info.value)


def test_configure_resistance_refuses_out_of_range_before_anything_is_sent() -> None:
    drv, transport = load([])
    with pytest.raises(ValidationError):
        drv.configure_resistance(0.01)
    assert transport.sent == []


def test_set_resistance_is_synced() -> None:
    with expected_protocol(
        KeysightEL34143A, [("RES 250;*OPC?", "1"), ("RES 0.05;*OPC?", "1")]
    ) as drv:
        drv.set_resistance(250.0)
        drv.set_resistance(0.05)


@pytest.mark.parametrize("ohms", [0.01, 20000.0, -1.0])
def test_set_resistance_refuses_out_of_range_before_anything_is_sent(ohms: float) -> None:
    drv, transport = load([])
    with pytest.raises(ValidationError) as info:
        drv.set_resistance(ohms)
    assert transport.sent == []
    assert "Keysight EL34143A" in str(info.value)


def test_input_on_and_off_are_synced() -> None:
    with expected_protocol(
        KeysightEL34143A, [("INP ON;*OPC?", "1"), ("INP OFF;*OPC?", "1")]
    ) as drv:
        drv.enable_input()
        drv.disable_input()


def test_enable_input_refuses_an_opc_reply_other_than_one() -> None:
    drv, transport = load([("INP ON;*OPC?", "0")])
    with pytest.raises(InstrumentReplyError):
        drv.enable_input()
    transport.assert_done()


# ------------------------------------------------------------------ measurement
def test_measure_voltage_and_current() -> None:
    with expected_protocol(
        KeysightEL34143A,
        [("MEAS:VOLT?", "+5.00123000E+00"), ("MEAS:CURR?", "+2.00000000E-02")],
    ) as drv:
        assert drv.measure_voltage() == pytest.approx(5.00123, rel=1e-12)
        assert drv.measure_current() == pytest.approx(0.02, rel=1e-12)


def test_garbage_reply_is_a_one_line_reply_error_naming_the_instrument() -> None:
    drv, _ = load([("MEAS:VOLT?", "\x00\x15garbage\r\n+5.0")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure_voltage()
    text = assert_one_line(info.value)
    assert text.startswith("load (Keysight EL34143A) at scripted: ")
    assert "MEAS:VOLT?" in text


# ------------------------------------------------------------------ safety
def test_safe_state_turns_the_input_off_then_zeroes_the_level() -> None:
    with expected_protocol(KeysightEL34143A, [("INP OFF", None), ("CURR 0", None)]) as drv:
        drv.safe_state()


def test_safe_state_continues_after_a_failed_write_and_raises_the_first_failure() -> None:
    transport = FailingTransport([("INP OFF", None), ("CURR 0", None)], fail_on={"INP OFF"})
    drv = KeysightEL34143A(transport)
    with pytest.raises(InstrumentCommunicationError) as info:
        drv.safe_state()
    transport.assert_done()  # CURR 0 was still sent
    assert "INP OFF" in str(info.value)


@pytest.mark.parametrize(("reply", "problems"), [("0", []), ("1", ["input is on"])])
def test_safe_state_problems_read_back_the_input(reply: str, problems: list[str]) -> None:
    with expected_protocol(KeysightEL34143A, [("INP?", reply)]) as drv:
        assert drv.safe_state_problems() == problems
