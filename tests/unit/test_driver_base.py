"""Tests of drivers/scpi.py at the command/response level (no simulator).

A minimal driver (``Probe``) built from the same ``Setting`` descriptors as the real drivers is
run against ``ScriptedTransport``, which pins every message sent and fails on anything else.
Reply formats are those of the instruments' manuals: Keysight ``+0,"No error"``, Keithley
``-113,"Undefined header;1;<timestamp>"``, IEEE 488.2 definite-length blocks, and the SCPI
overflow value 9.9E37.
"""

from __future__ import annotations

import math
import re

import pytest

from drivers.errors import (
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.scpi import (
    Accuracy,
    ScpiInstrument,
    Setting,
    in_range,
    in_set,
    parse_bool,
    parse_error,
    parse_float,
    parse_floats,
    smallest_range,
)
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "ACME INSTRUMENTS,MODEL 1000,SN0042,FW 1.2,build 7"


class Probe(ScpiInstrument):
    MODEL = "Acme 1000"
    IDN_PATTERN = re.compile(r"ACME INSTRUMENTS,MODEL 1000,")

    level_v = Setting("LEV?", "LEV {}", validator=in_range(0.0, 10.0))
    mode = Setting("MODE?", "MODE {}", parse=str, validator=in_set(["FAST", "SLOW"]))
    enabled = Setting("OUTP?", "OUTP {}", parse=parse_bool)
    reading = Setting("MEAS?", None)
    preset = Setting(None, "PRES {}")


def probe(script: list[tuple[str, str | None]], role: str = "") -> tuple[Probe, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Probe(transport, role=role), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# ------------------------------------------------------------------ parse_error
@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('+0,"No error"', (0, "No error")),
        ('-113,"Undefined header"', (-113, "Undefined header")),
        ('-222,"Data out of range"', (-222, "Data out of range")),
        ('+100,"Device-dependent error"', (100, "Device-dependent error")),
    ],
)
def test_parse_error_keysight_format(reply: str, expected: tuple[int, str]) -> None:
    assert parse_error(reply) == expected


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('-113,"Undefined header;1;2026/11/26 11:00:00.000"', (-113, "Undefined header")),
        ('0,"No error;0;0 0"', (0, "No error")),
        ('-222,"Parameter data out of range;1;2026/11/26 11:00:01.250"', (-222, None)),
    ],
)
def test_parse_error_keithley_format_drops_severity_and_timestamp(
    reply: str, expected: tuple[int, str | None]
) -> None:
    code, message = parse_error(reply)
    assert code == expected[0]
    if expected[1] is not None:
        assert message == expected[1]
    assert ";" not in message and "2026" not in message


@pytest.mark.parametrize("reply", ["", "No error", '"No error",0', "garbage"])
def test_parse_error_refuses_a_reply_without_a_code(reply: str) -> None:
    with pytest.raises(ValueError):
        parse_error(reply)


# ------------------------------------------------------------------ number parsers
def test_parse_floats_reads_a_comma_separated_list() -> None:
    assert parse_floats("+1.00000000E-02,-2.50000000E-03, 3.0\n") == [0.01, -0.0025, 3.0]


def test_parse_floats_reads_a_definite_length_block() -> None:
    payload = "+1.00000000E-02,+2.00000000E-02"
    assert len(payload) == 31
    assert parse_floats(f"#231{payload}") == [0.01, 0.02]


def test_parse_floats_block_with_one_length_digit() -> None:
    assert parse_floats("#15+1E-3") == [0.001]


def test_parse_floats_of_an_empty_reply_is_empty() -> None:
    assert parse_floats("") == []
    assert parse_floats("#10") == []


@pytest.mark.parametrize("reply", ["+9.90000000E+37", "9.9E+37", "9.9E37"])
def test_overflow_value_parses_as_infinity(reply: str) -> None:
    assert parse_float(reply) == math.inf


def test_overflow_inside_a_list_parses_as_infinity() -> None:
    values = parse_floats("+1.00000000E-03,+9.90000000E+37,-2.0E-03")
    assert values == [0.001, math.inf, -0.002]


def test_negative_overflow_parses_as_negative_infinity() -> None:
    assert parse_float("-9.90000000E+37") == -math.inf


def test_truncated_definite_length_block_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_floats("#231+1.00000000E-02")  # header promises 31 characters, 15 arrived


@pytest.mark.parametrize("reply", ["garbage", "1.0,abc", "#x12", "#"])
def test_parse_floats_raises_on_garbage(reply: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        parse_floats(reply)


@pytest.mark.parametrize(("reply", "value"), [("1", True), ("ON", True), ("0", False)])
def test_parse_bool(reply: str, value: bool) -> None:
    assert parse_bool(reply) is value


def test_parse_bool_refuses_other_text() -> None:
    with pytest.raises(ValueError):
        parse_bool("2")


def test_smallest_range_picks_the_most_sensitive_range_that_holds_the_value() -> None:
    ranges = (0.01, 0.1, 1.0)
    assert smallest_range(ranges, 0.005) == 0.01
    assert smallest_range(ranges, -0.05) == 0.1
    assert smallest_range(ranges, 0.0105, overrange=1.05) == 0.01
    with pytest.raises(ValidationError):
        smallest_range(ranges, 1.5)


def test_accuracy_half_width() -> None:
    accuracy = Accuracy(gain_rel=0.00025, offset=6e-6, range=0.1, source="spec")
    assert accuracy.half_width(-0.02) == pytest.approx(0.00025 * 0.02 + 6e-6)


# ------------------------------------------------------------------ error queue
def test_read_errors_drains_the_queue_until_code_zero() -> None:
    drv, transport = probe(
        [
            (":SYST:ERR?", '-113,"Undefined header"'),
            (":SYST:ERR?", '-222,"Data out of range"'),
            (":SYST:ERR?", '+0,"No error"'),
        ]
    )
    assert drv.read_errors() == [(-113, "Undefined header"), (-222, "Data out of range")]
    transport.assert_done()


def test_check_errors_with_an_empty_queue_asks_once() -> None:
    with expected_protocol(Probe, [(":SYST:ERR?", '+0,"No error"')]) as drv:
        drv.check_errors()


def test_check_errors_raises_with_every_code_and_the_context() -> None:
    drv, transport = probe(
        [
            (":SYST:ERR?", '-113,"Undefined header;1;2026/11/26 11:00:00.000"'),
            (":SYST:ERR?", '-222,"Parameter data out of range;1;2026/11/26 11:00:00.100"'),
            (":SYST:ERR?", '-350,"Queue overflow;1;2026/11/26 11:00:00.200"'),
            (":SYST:ERR?", '0,"No error;0;0 0"'),
        ],
        role="source",
    )
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.check_errors("reset")
    transport.assert_done()
    assert [code for code, _ in info.value.errors] == [-113, -222, -350]
    text = assert_one_line(info.value)
    for code in ("-113", "-222", "-350"):
        assert code in text
    assert "Undefined header" in text
    assert "after reset" in text
    assert text.startswith("source (Acme 1000) at scripted: ")


def test_read_errors_stops_at_the_limit_when_the_queue_never_empties() -> None:
    drv, transport = probe([(":SYST:ERR?", '-100,"Command error"')] * 3)
    assert drv.read_errors(limit=3) == [(-100, "Command error")] * 3
    transport.assert_done()


def test_garbage_from_the_error_queue_is_a_reply_error() -> None:
    drv, _ = probe([(":SYST:ERR?", "\x15\x00garbage")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.check_errors()
    assert "Acme 1000" in assert_one_line(info.value)


# ------------------------------------------------------------------ identity
def test_verify_identity_parses_the_idn_reply() -> None:
    with expected_protocol(Probe, [("*IDN?", IDN)]) as drv:
        identity = drv.verify_identity()
    assert identity.manufacturer == "ACME INSTRUMENTS"
    assert identity.model == "MODEL 1000"
    assert identity.serial == "SN0042"
    assert identity.firmware == "FW 1.2,build 7"
    assert drv.identity == identity
    assert str(identity) == IDN


def test_verify_identity_mismatch_names_the_expected_model() -> None:
    drv, transport = probe([("*IDN?", "OTHER CORP,MODEL 2000,1,1")], role="dmm")
    with pytest.raises(InstrumentIdentityError) as info:
        drv.verify_identity()
    transport.assert_done()
    text = assert_one_line(info.value)
    assert "expected a Acme 1000" in text
    assert "OTHER CORP,MODEL 2000" in text
    assert text.startswith("dmm (Acme 1000) at scripted: ")
    assert drv.identity is None


def test_verify_identity_malformed_reply_is_a_reply_error() -> None:
    drv, _ = probe([("*IDN?", "ACME INSTRUMENTS,MODEL 1000,")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.verify_identity()
    assert "Acme 1000" in assert_one_line(info.value)


# ------------------------------------------------------------------ settings and replies
def test_setting_query_parses_the_reply() -> None:
    with expected_protocol(
        Probe, [("LEV?", "+2.50000000E+00"), ("OUTP?", "1"), ("MODE?", "FAST")]
    ) as drv:
        assert drv.level_v == 2.5
        assert drv.enabled is True
        assert drv.mode == "FAST"


def test_setting_writes_the_formatted_command() -> None:
    with expected_protocol(
        Probe, [("LEV 2.5", None), ("OUTP ON", None), ("OUTP OFF", None), ("MODE SLOW", None)]
    ) as drv:
        drv.level_v = 2.5
        drv.enabled = True
        drv.enabled = False
        drv.mode = "SLOW"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("level_v", 10.5),
        ("level_v", -0.1),
        ("level_v", math.nan),
        ("level_v", math.inf),
        ("level_v", "5"),
        ("mode", "TURBO"),
    ],
)
def test_setting_refuses_an_invalid_value_before_anything_is_sent(name: str, value: object) -> None:
    drv, transport = probe([], role="supply")  # an empty script: any message fails the test
    with pytest.raises(ValidationError) as info:
        setattr(drv, name, value)
    assert transport.sent == []
    assert str(info.value).startswith(f"supply (Acme 1000) at scripted: {name}: ")


def test_setting_command_text_is_validated_without_sending() -> None:
    drv, transport = probe([])
    assert drv.setting("level_v", 1.25) == "LEV 1.25"
    with pytest.raises(ValidationError):
        drv.setting("level_v", 11.0)
    assert transport.sent == []


def test_read_only_and_write_only_settings() -> None:
    drv, transport = probe([])
    with pytest.raises(AttributeError):
        drv.reading = 1.0
    with pytest.raises(AttributeError):
        _ = drv.preset
    assert transport.sent == []


def test_unparseable_reply_is_a_one_line_reply_error() -> None:
    drv, _ = probe([("MEAS?", "OVLD\r\n+1.0\n")], role="dmm")
    with pytest.raises(InstrumentReplyError) as info:
        _ = drv.reading
    text = assert_one_line(info.value)
    assert text.startswith("dmm (Acme 1000) at scripted: ")
    assert "'MEAS?'" in text
    assert info.value.instrument == "dmm (Acme 1000) at scripted"


def test_unparseable_reply_message_is_bounded() -> None:
    drv, _ = probe([("MEAS?", "x" * 5000)])
    with pytest.raises(InstrumentReplyError) as info:
        _ = drv.reading
    assert len(assert_one_line(info.value)) < 300


# ------------------------------------------------------------------ write_synced
def test_write_synced_sends_one_message_ending_in_opc() -> None:
    with expected_protocol(Probe, [("LEV 1;OUTP ON;*OPC?", "1"), ("LEV 2;*OPC?", "+1")]) as drv:
        drv.write_synced("LEV 1", "OUTP ON")
        drv.write_synced("LEV 2")


@pytest.mark.parametrize("reply", ["0", "", "ACME INSTRUMENTS,MODEL 1000", "1;1"])
def test_write_synced_refuses_a_reply_other_than_one(reply: str) -> None:
    drv, transport = probe([("LEV 1;*OPC?", reply)])
    with pytest.raises(InstrumentReplyError) as info:
        drv.write_synced("LEV 1")
    transport.assert_done()
    assert "*OPC?" in assert_one_line(info.value)


def test_label_names_role_model_and_address() -> None:
    assert probe([], role="load")[0].label == "load (Acme 1000) at scripted"
    assert probe([])[0].label == "Acme 1000 at scripted"


def test_clear_and_close() -> None:
    with expected_protocol(Probe, [("*CLS", None)]) as drv:
        drv.clear()
        drv.close()
