"""Rigol DL3021 electronic load driver at the command/response level (no simulator)."""

from __future__ import annotations

import pytest

from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    InstrumentTripped,
    ValidationError,
)
from drivers.rigol_dl3021 import RigolDL3021, cr_range_for
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "RIGOL TECHNOLOGIES,DL3021,DL3A234500123,00.01.02.00.02"
NO_ERROR = '0,"No error"'

Script = list[tuple[str, str | None]]


def load(script: Script) -> tuple[RigolDL3021, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return RigolDL3021(transport), transport


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


@pytest.mark.parametrize(
    ("ohm", "range_ohm"), [(0.08, 15.0), (15.0, 15.0), (15.1, 15000.0), (600.0, 15000.0)]
)
def test_the_range_table_picks_the_low_range_up_to_15_ohm(ohm: float, range_ohm: float) -> None:
    assert cr_range_for(ohm) == range_ohm


@pytest.mark.parametrize("model", ["DL3021", "DL3021A"])
def test_initialize_checks_identity_resets_and_drains_errors(model: str) -> None:
    idn = f"RIGOL TECHNOLOGIES,{model},DL3A1,00.01.02.00.02"
    with expected_protocol(
        RigolDL3021, [("*IDN?", idn), ("*RST", None), ("*CLS", None), (":SYST:ERR?", NO_ERROR)]
    ) as drv:
        assert drv.initialize().model == model


def test_initialize_refuses_the_60_a_sibling() -> None:
    drv, transport = load([("*IDN?", "RIGOL TECHNOLOGIES,DL3031,DL3B1,00.01.02")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Rigol DL3021" in one_line(info.value)


def test_configure_resistance_input_off_mode_range_level_von() -> None:
    with expected_protocol(
        RigolDL3021,
        [
            (":SOUR:INP:STAT OFF", None),
            (":SOUR:FUNC RES", None),
            (":SOUR:RES:RANG 15000", None),
            (":SOUR:RES:LEV:IMM 600", None),
            (":SOUR:RES:VON 0", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_resistance(600.0)


def test_configure_resistance_reports_errors_from_the_instrument() -> None:
    drv, transport = load(
        [
            (":SOUR:INP:STAT OFF", None),
            (":SOUR:FUNC RES", None),
            (":SOUR:RES:RANG 15", None),
            (":SOUR:RES:LEV:IMM 10", None),
            (":SOUR:RES:VON 0", None),
            (":SYST:ERR?", '-113,"Undefined header"'),
            (":SYST:ERR?", NO_ERROR),
        ]
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure_resistance(10.0)
    transport.assert_done()
    assert "-113" in one_line(info.value)


@pytest.mark.parametrize("ohm", [0.05, 20000.0, -1.0, float("nan")])
def test_out_of_range_resistance_is_refused_before_anything_is_sent(ohm: float) -> None:
    drv, transport = load([])
    with pytest.raises(ValidationError) as info:
        drv.configure_resistance(ohm)
    with pytest.raises(ValidationError):
        drv.set_resistance(ohm)
    assert transport.sent == []
    assert "ohm" in str(info.value)


def test_set_resistance_changes_the_range_only_when_the_level_leaves_it() -> None:
    with expected_protocol(
        RigolDL3021,
        [
            (":SOUR:RES:LEV:IMM 250;*OPC?", "1"),
            (":SOUR:RES:RANG 15;:SOUR:RES:LEV:IMM 10;*OPC?", "1"),
            (":SOUR:RES:LEV:IMM 5;*OPC?", "1"),
            (":SOUR:RES:RANG 15000;:SOUR:RES:LEV:IMM 600;*OPC?", "1"),
        ],
    ) as drv:
        drv.set_resistance(250.0)
        drv.set_resistance(10.0)
        drv.set_resistance(5.0)
        drv.set_resistance(600.0)


def test_input_on_and_off_are_synced() -> None:
    with expected_protocol(
        RigolDL3021, [(":SOUR:INP:STAT ON;*OPC?", "1"), (":SOUR:INP:STAT OFF;*OPC?", "1")]
    ) as drv:
        drv.enable_input()
        drv.disable_input()


def test_measure_voltage_and_current() -> None:
    with expected_protocol(
        RigolDL3021, [(":MEAS:VOLT?", "11.959427"), (":MEAS:CURR?", "0.020143")]
    ) as drv:
        assert drv.measure_voltage() == pytest.approx(11.959427, rel=1e-12)
        assert drv.measure_current() == pytest.approx(0.020143, rel=1e-12)


def test_a_reading_with_a_trailing_status_line_is_a_reply_error() -> None:
    # a DL3021 owner reports replies like '0.000067\n0' on one firmware: refused, not guessed
    drv, _ = load([(":MEAS:CURR?", "0.000067\n0")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure_current()
    assert one_line(info.value).startswith("load (Rigol DL3021) at scripted: ")


@pytest.mark.parametrize(("bits", "name"), [("1", "over-voltage"), ("4", "over-power")])
def test_health_check_reports_a_protection_trip(bits: str, name: str) -> None:
    drv, transport = load([("*ESR?;:STAT:QUES?", f"0;{bits}")])
    with pytest.raises(InstrumentTripped) as info:
        drv.check_health()
    transport.assert_done()
    assert name in one_line(info.value)


def test_health_check_passes_quietly() -> None:
    with expected_protocol(RigolDL3021, [("*ESR?;:STAT:QUES?", "0;0")]) as drv:
        drv.check_health()


def test_safe_state_turns_the_input_off_then_zeroes_the_cc_level() -> None:
    with expected_protocol(
        RigolDL3021, [(":SOUR:INP:STAT OFF", None), (":SOUR:CURR:LEV:IMM 0", None)]
    ) as drv:
        drv.safe_state()


def test_safe_state_continues_after_a_failed_write() -> None:
    class Failing(ScriptedTransport):
        def write(self, command: str) -> None:
            super().write(command)
            if command == ":SOUR:INP:STAT OFF":
                raise InstrumentCommunicationError(self.name, "lost connection")

    transport = Failing([(":SOUR:INP:STAT OFF", None), (":SOUR:CURR:LEV:IMM 0", None)])
    with pytest.raises(InstrumentCommunicationError):
        RigolDL3021(transport).safe_state()
    transport.assert_done()


@pytest.mark.parametrize(("reply", "problems"), [("0", []), ("1", ["input is on"])])
def test_safe_state_problems_read_back_the_input(reply: str, problems: list[str]) -> None:
    with expected_protocol(RigolDL3021, [(":SOUR:INP:STAT?", reply)]) as drv:
        assert drv.safe_state_problems() == problems
