"""Rigol DP821 supply driver at the command/response level (no simulator).

Channel 1 (60 V / 1 A) feeds the module: every command names it, protections are programmed
before the level, the level stays below the OVP, and safe_state turns both outputs off even
when one write is lost.
"""

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
from drivers.rigol_dp821 import CHANNELS, RigolDP821
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "RIGOL TECHNOLOGIES,DP821A,DP8F234500123,00.01.16"
NO_ERROR = '0,"No error"'

Script = list[tuple[str, str | None]]

CONFIGURE_24V: Script = [
    (":OUTP CH1,OFF", None),
    (":SOUR1:VOLT:PROT 26", None),
    (":SOUR1:VOLT:PROT:STAT ON", None),
    (":SOUR1:CURR:PROT 0.06", None),
    (":SOUR1:CURR:PROT:STAT ON", None),
    (":APPL CH1,24,0.06", None),
    (":SYST:ERR?", NO_ERROR),
]


class FailingTransport(ScriptedTransport):
    def __init__(self, script: Script, fail_on: set[str]) -> None:
        super().__init__(script)
        self.fail_on = fail_on

    def write(self, command: str) -> None:
        super().write(command)
        if command in self.fail_on:
            raise InstrumentCommunicationError(self.name, f"lost connection sending {command!r}")


def supply(script: Script) -> tuple[RigolDP821, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return RigolDP821(transport), transport


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


def test_ranges_are_the_manuals_table() -> None:
    ch1, ch2 = CHANNELS[1], CHANNELS[2]
    assert (ch1.rated_v, ch1.rated_a, ch1.max_v, ch1.max_a) == (60.0, 1.0, 63.0, 1.05)
    assert (ch2.rated_v, ch2.rated_a, ch2.max_v, ch2.max_a) == (8.0, 10.0, 8.4, 10.5)
    assert RigolDP821.max_voltage_v == 60.0  # reaches the module's 31.2 V


# ------------------------------------------------------------------ initialize
@pytest.mark.parametrize("model", ["DP821", "DP821A"])
def test_initialize_checks_identity_resets_and_drains_errors(model: str) -> None:
    idn = f"RIGOL TECHNOLOGIES,{model},DP8F1,00.01.16"
    with expected_protocol(
        RigolDP821, [("*IDN?", idn), ("*RST", None), ("*CLS", None), (":SYST:ERR?", NO_ERROR)]
    ) as drv:
        assert drv.initialize().model == model


@pytest.mark.parametrize(
    "idn", ["RIGOL TECHNOLOGIES,DP832,DP8C1,00.01.16", "Keysight Technologies,E36104B,MY1,1.0"]
)
def test_initialize_refuses_another_model_before_resetting(idn: str) -> None:
    drv, transport = supply([("*IDN?", idn)])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Rigol DP821" in one_line(info.value)


# ------------------------------------------------------------------ configure
def test_configure_programs_protections_before_the_level_with_output_off() -> None:
    with expected_protocol(RigolDP821, CONFIGURE_24V) as drv:
        drv.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=26.0)


def test_configure_at_the_module_supply_limit() -> None:
    with expected_protocol(
        RigolDP821,
        [
            (":OUTP CH1,OFF", None),
            (":SOUR1:VOLT:PROT 33", None),
            (":SOUR1:VOLT:PROT:STAT ON", None),
            (":SOUR1:CURR:PROT 0.1", None),
            (":SOUR1:CURR:PROT:STAT ON", None),
            (":APPL CH1,31.2,0.1", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure(voltage_v=31.2, current_limit_a=0.1, ovp_v=33.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"voltage_v": 24.0, "current_limit_a": 0.06, "ovp_v": 24.0},  # level not below OVP
        {"voltage_v": 24.0, "current_limit_a": 0.06, "ovp_v": 70.0},  # OVP above 66 V
        {"voltage_v": 24.0, "current_limit_a": 1.2, "ovp_v": 26.0},  # above 1.05 A settable
        {"voltage_v": 24.0, "current_limit_a": 0.001, "ovp_v": 26.0},  # OCP below 10 mA
        {"voltage_v": 64.0, "current_limit_a": 0.06, "ovp_v": 66.0},  # above 63 V settable
    ],
)
def test_configure_refuses_out_of_range_values_before_anything_is_sent(kwargs: dict) -> None:
    drv, transport = supply([])
    with pytest.raises(ValidationError) as info:
        drv.configure(**kwargs)
    assert transport.sent == []
    assert "Rigol DP821" in str(info.value)


def test_configure_reports_errors_from_the_instrument() -> None:
    script = [*CONFIGURE_24V[:-1], (":SYST:ERR?", '-222,"Data out of range"')]
    drv, transport = supply([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=26.0)
    transport.assert_done()
    assert "-222" in one_line(info.value)


# ------------------------------------------------------------------ level and output
def test_set_voltage_is_synced_and_stays_below_the_configured_ovp() -> None:
    drv, transport = supply([*CONFIGURE_24V, (":SOUR1:VOLT 25.5;*OPC?", "1")])
    drv.configure(voltage_v=24.0, current_limit_a=0.06, ovp_v=26.0)
    drv.set_voltage(25.5)
    with pytest.raises(ValidationError) as info:
        drv.set_voltage(26.0)
    transport.assert_done()
    assert "OVP" in str(info.value)


def test_output_on_and_off_name_the_channel_and_are_synced() -> None:
    with expected_protocol(
        RigolDP821, [(":OUTP CH1,ON;*OPC?", "1"), (":OUTP CH1,OFF;*OPC?", "1")]
    ) as drv:
        drv.enable_output()
        drv.disable_output()


# ------------------------------------------------------------------ measurement
def test_measure_voltage_and_current_read_channel_1() -> None:
    with expected_protocol(
        RigolDP821, [(":MEAS:VOLT? CH1", "24.0012"), (":MEAS:CURR? CH1", "0.0231")]
    ) as drv:
        assert drv.measure_voltage() == pytest.approx(24.0012, rel=1e-12)
        assert drv.measure_current() == pytest.approx(0.0231, rel=1e-12)


@pytest.mark.parametrize("reply", ["24", "ON", "", "24.0012\r\n0"])
def test_a_reading_that_is_not_a_decimal_is_a_one_line_reply_error(reply: str) -> None:
    drv, _ = supply([(":MEAS:VOLT? CH1", reply)])
    with pytest.raises(InstrumentReplyError) as info:
        drv.measure_voltage()
    text = one_line(info.value)
    assert text.startswith("supply (Rigol DP821) at scripted: ")


def test_current_accuracy_is_the_dp821a_readback_spec() -> None:
    drv, transport = supply([])
    accuracy = drv.current_accuracy(0.02)
    assert (accuracy.gain_rel, accuracy.offset, accuracy.range) == (0.0015, 0.010, 1.0)
    assert transport.sent == []


@pytest.mark.parametrize(
    ("script", "tripped"),
    [
        ([(":OUTP:OVP:QUES? CH1", "NO"), (":OUTP:OCP:QUES? CH1", "NO")], None),
        ([(":OUTP:OVP:QUES? CH1", "YES")], "OVP"),
        ([(":OUTP:OVP:QUES? CH1", "NO"), (":OUTP:OCP:QUES? CH1", "YES")], "OCP"),
    ],
)
def test_protection_tripped(script: Script, tripped: str | None) -> None:
    with expected_protocol(RigolDP821, script) as drv:
        assert drv.protection_tripped() == tripped


def test_health_check_reads_both_trips_in_one_message() -> None:
    drv, transport = supply([("*ESR?;:OUTP:OVP:QUES? CH1;:OUTP:OCP:QUES? CH1", "0;NO;YES")])
    with pytest.raises(InstrumentTripped) as info:
        drv.check_health()
    transport.assert_done()
    assert "over-current" in one_line(info.value)


# ------------------------------------------------------------------ safety
def test_safe_state_turns_both_outputs_off_and_zeroes_the_level() -> None:
    with expected_protocol(
        RigolDP821, [(":OUTP CH1,OFF", None), (":SOUR1:VOLT 0", None), (":OUTP CH2,OFF", None)]
    ) as drv:
        drv.safe_state()


def test_safe_state_continues_after_a_failed_write_and_raises_the_first_failure() -> None:
    script: Script = [(":OUTP CH1,OFF", None), (":SOUR1:VOLT 0", None), (":OUTP CH2,OFF", None)]
    transport = FailingTransport(script, fail_on={":OUTP CH1,OFF"})
    with pytest.raises(InstrumentCommunicationError) as info:
        RigolDP821(transport).safe_state()
    transport.assert_done()
    assert ":OUTP CH1,OFF" in str(info.value)


@pytest.mark.parametrize(
    ("replies", "problems"),
    [
        (("OFF", "0.000", "OFF"), []),
        (("ON", "24.000", "OFF"), ["output CH1 is on", "CH1 voltage is programmed to 24 V"]),
        (("OFF", "0.000", "ON"), ["output CH2 is on"]),
    ],
)
def test_safe_state_problems_read_back_both_outputs(replies, problems) -> None:
    ch1, level, ch2 = replies
    with expected_protocol(
        RigolDP821, [(":OUTP? CH1", ch1), (":SOUR1:VOLT?", level), (":OUTP? CH2", ch2)]
    ) as drv:
        assert drv.safe_state_problems() == problems
