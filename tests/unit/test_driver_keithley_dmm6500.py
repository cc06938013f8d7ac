"""Keithley DMM6500 + 2000-SCAN driver at the command/response level (no simulator).

Replies use the TTI formats (``1.000000E+00``, ``0,"No error;0;0 0"``, ``RUNNING;RUNNING;2``).
Accuracy: 10 V DCV +-(25 ppm rdg + 5 ppm rng) (DMM6500 calibration manual); 1 V is the
driver's [E] +-(30 ppm + 6 ppm).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from drivers import registry
from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keithley_dmm6500 import KeithleyDMM6500, channel_list
from drivers.registry import models_for
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "KEITHLEY INSTRUMENTS,MODEL DMM6500,04512346,1.7.12b"
NO_ERROR = '0,"No error;0;0 0"'

Script = list[tuple[str, str | None]]

INITIALIZE_50HZ: Script = [
    ("*IDN?", IDN),
    ("*LANG?", "SCPI"),
    ("*RST", None),
    ("*CLS", None),
    (":SYST:LFR?", "50"),
    (":ROUT:TERM?", "REAR"),
    (":SYST:ERR?", NO_ERROR),
]
READ_MODEL_5: Script = [
    (':TRIG:LOAD "Empty"', None),
    (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
    (":TRIG:BLOC:DEL:CONS 2, 0", None),
    (':TRIG:BLOC:MDIG 3, "defbuffer1", 5', None),
    (":SYST:ERR?", NO_ERROR),
]
CAPTURE_EXTERNAL: Script = [
    (':DIG:FUNC "VOLT"', None),
    (":DIG:VOLT:RANG 10", None),
    (":DIG:VOLT:SRAT 50000", None),
    (":DIG:VOLT:APER AUTO", None),
    (':TRIG:LOAD "Empty"', None),
    (":TRIG:EXT:IN:EDGE FALL", None),
    (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
    (":TRIG:BLOC:WAIT 2, EXT, ENT", None),
    (":TRIG:BLOC:DEL:CONS 3, 0", None),
    (':TRIG:BLOC:MDIG 4, "defbuffer1", 3', None),
    (":SYST:ERR?", NO_ERROR),
]


def dmm(script: Script) -> tuple[KeithleyDMM6500, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return KeithleyDMM6500(transport), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


def tti(values: list[float]) -> str:
    return ",".join(f"{v:.6E}" for v in values)


def channel_commands(where: str, range_text: str = "1", nplc: str = "1", az: str = "ON") -> Script:
    return [
        (f':SENS:FUNC "VOLT:DC", {where}', None),
        (f":SENS:VOLT:RANG {range_text}, {where}", None),
        (f":SENS:VOLT:NPLC {nplc}, {where}", None),
        (f":SENS:VOLT:AZER {az}, {where}", None),
        (f":SENS:VOLT:INP AUTO, {where}", None),
    ]


# ------------------------------------------------------------------ registration
def test_registered_as_a_dmm_without_current_ranges() -> None:
    assert registry.get("keithley-dmm6500").driver_class is KeithleyDMM6500
    assert "keithley-dmm6500" in models_for("dmm")
    assert KeithleyDMM6500.current_ranges_a == ()
    assert KeithleyDMM6500.voltage_ranges_v == (0.1, 1.0, 10.0, 100.0, 1000.0)


# ------------------------------------------------------------------ initialize
def test_initialize() -> None:
    with expected_protocol(KeithleyDMM6500, INITIALIZE_50HZ) as drv:
        identity = drv.initialize()
    assert (identity.model, identity.serial, identity.firmware) == (
        "MODEL DMM6500",
        "04512346",
        "1.7.12b",
    )


def test_initialize_accepts_the_older_inc_spelling() -> None:
    script = [("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL DMM6500,1,1.0"), *INITIALIZE_50HZ[1:]]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.initialize()


def test_initialize_refuses_another_model_before_resetting() -> None:
    drv, transport = dmm([("*IDN?", "KEITHLEY INSTRUMENTS,MODEL DAQ6510,04512346,1.7.12b")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Keithley DMM6500" in assert_one_line(info.value)


def test_initialize_refuses_a_non_scpi_command_set_naming_the_fix() -> None:
    drv, transport = dmm([("*IDN?", IDN), ("*LANG?", "SCPI2000")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()  # nothing reset
    text = assert_one_line(info.value)
    assert "SCPI2000" in text and "Command Set" in text and "reboot" in text


def test_initialize_refuses_the_front_terminals() -> None:
    drv, transport = dmm([*INITIALIZE_50HZ[:5], (":ROUT:TERM?", "FRON")])
    with pytest.raises(InstrumentError) as info:
        drv.initialize()
    transport.assert_done()
    assert "FRONT/REAR switch to REAR" in assert_one_line(info.value)


def test_initialize_reports_errors_left_after_reset() -> None:
    script = [*INITIALIZE_50HZ[:-1], (":SYST:ERR?", '-285,"Program syntax error;1;x"')]
    drv, transport = dmm([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.initialize()
    transport.assert_done()
    assert info.value.errors == [(-285, "Program syntax error")]


def test_line_frequency_sets_the_nplc_limit_and_reading_time() -> None:
    script = [*INITIALIZE_50HZ[:4], (":SYST:LFR?", "60"), *INITIALIZE_50HZ[5:]]
    with expected_protocol(
        KeithleyDMM6500,
        [*script, *channel_commands("(@2)", "10", "15", "OFF"), (":SYST:ERR?", NO_ERROR)],
    ) as drv:
        drv.initialize()
        drv.configure_channels([2], range_v=10.0, nplc=15.0, autozero=False)
    drv, transport = dmm(INITIALIZE_50HZ)
    drv.initialize()
    with pytest.raises(ValidationError):
        drv.configure_channels([2], range_v=10.0, nplc=15.0)  # 12 PLC at 50 Hz
    assert transport.sent == [command for command, _ in INITIALIZE_50HZ]


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize(
    ("channels", "text"),
    [
        ([1], "(@1)"),
        ([1, 2, 3, 4], "(@1:4)"),
        ([3, 1], "(@1,3)"),
        ([1, 2, 3, 5, 7, 8], "(@1:3,5,7:8)"),
    ],
)
def test_channel_list_text(channels: list[int], text: str) -> None:
    assert channel_list(channels) == text


def test_configure_channels() -> None:
    with expected_protocol(
        KeithleyDMM6500, [*channel_commands("(@1:4)"), (":SYST:ERR?", NO_ERROR)]
    ) as drv:
        drv.configure_channels([1, 2, 3, 4], range_v=1.0, nplc=1.0)


def test_configure_dc_voltage_sets_the_terminals_and_every_channel() -> None:
    script = [
        (':SENS:FUNC "VOLT:DC"', None),
        (":SENS:VOLT:RANG 10", None),
        (":SENS:VOLT:NPLC 0.5", None),
        (":SENS:VOLT:AZER OFF", None),
        (":SENS:VOLT:INP AUTO", None),
        *channel_commands("(@1:10)", "10", "0.5", "OFF"),
        (":SYST:ERR?", NO_ERROR),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.configure_dc_voltage(range_v=10.0, nplc=0.5, autozero=False)
        assert drv.reading_time_s() == pytest.approx(0.5 / 50)


def test_configure_dc_current_is_refused_with_the_fix() -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError) as info:
        drv.configure_dc_current(range_a=0.1, nplc=1.0)
    assert transport.sent == []
    text = assert_one_line(info.value)
    assert "2000-SCAN" in text and "shunt" in text and "configure_channels" in text


def test_configure_reports_errors_from_the_instrument() -> None:
    script = [*channel_commands("(@1)"), (":SYST:ERR?", '-221,"Settings conflict;1;x"')]
    drv, transport = dmm([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure_channels([1], range_v=1.0, nplc=1.0)
    transport.assert_done()
    assert "-221" in assert_one_line(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.configure_channels([], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([0], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([11], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([101], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([1, 1], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([1.0], range_v=1.0, nplc=1.0),
        lambda d: d.configure_channels([1], range_v=2.0, nplc=1.0),
        lambda d: d.configure_channels([1], range_v=1.0, nplc=0.0001),
        lambda d: d.configure_channels([1], range_v=1.0, nplc=13.0),
        lambda d: d.configure_channels([1], range_v=1.0, nplc=float("nan")),
        lambda d: d.configure_dc_voltage(range_v=20.0, nplc=1.0),
        lambda d: d.select_channel(0),
        lambda d: d.select_channel(11),
        lambda d: d.select_channel(True),
        lambda d: d.set_trigger_delay(-0.1),
        lambda d: d.set_trigger_delay(20_000.0),
        lambda d: d.read_many(0),
        lambda d: d.read_many(100_001),
        lambda d: d.read_many(2.0),
        lambda d: d.configure_capture(samples=0, interval_s=2e-5),
        lambda d: d.configure_capture(samples=100_001, interval_s=2e-5),
        lambda d: d.configure_capture(samples=10, interval_s=1e-7),  # 10 MS/s
        lambda d: d.configure_capture(samples=10, interval_s=0.01),  # 100 S/s
        lambda d: d.configure_capture(samples=10, interval_s=7.5e-4),  # 1333.3 /s: not whole
        lambda d: d.configure_capture(samples=10, interval_s=2e-5, trigger="timer"),
        lambda d: d.configure_capture(samples=10, interval_s=2e-5, delay_s=-1.0),
        lambda d: d.configure_capture(samples=10, interval_s=2e-5, range_v=2.0),
    ],
)
def test_a_refused_call_sends_nothing(call: Callable[[KeithleyDMM6500], object]) -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError) as info:
        call(drv)
    assert transport.sent == []
    assert "Keithley DMM6500" in assert_one_line(info.value)


def test_select_channel_waits_for_the_relay() -> None:
    with expected_protocol(KeithleyDMM6500, [(":ROUT:CLOS (@3);*OPC?", "1")]) as drv:
        drv.select_channel(3)


def test_select_channel_refuses_a_wrong_opc_reply() -> None:
    drv, _ = dmm([(":ROUT:CLOS (@3);*OPC?", "0")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.select_channel(3)
    assert_one_line(info.value)


# ------------------------------------------------------------------ readings
def test_read_many_loads_the_trigger_model_once_and_reuses_it() -> None:
    five = tti([1.0, 1.1, 1.2, 1.3, 1.4])
    read5 = [(':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "5"), (':TRAC:DATA? 1, 5, "defbuffer1"', five)]
    with expected_protocol(KeithleyDMM6500, [*READ_MODEL_5, *read5, *read5]) as drv:
        first = drv.read_many(5)
        drv.read_many(5)
    assert isinstance(first, np.ndarray)
    assert first.tolist() == pytest.approx([1.0, 1.1, 1.2, 1.3, 1.4])


def test_trigger_delay_is_a_delay_block_sent_with_the_next_read() -> None:
    script = [
        (':TRIG:LOAD "Empty"', None),
        (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
        (":TRIG:BLOC:DEL:CONS 2, 0.25", None),
        (':TRIG:BLOC:MDIG 3, "defbuffer1", 1', None),
        (":SYST:ERR?", NO_ERROR),
        (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "1"),
        (':TRAC:DATA? 1, 1, "defbuffer1"', "1.234568E+00"),
    ]
    drv, transport = dmm(script)
    drv.set_trigger_delay(0.25)
    assert transport.sent == []  # nothing until the next reading
    assert drv.read() == pytest.approx(1.234568)
    transport.assert_done()


def test_a_new_count_reloads_the_model() -> None:
    script = [
        *READ_MODEL_5,
        (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "5"),
        (':TRAC:DATA? 1, 5, "defbuffer1"', tti([1.0] * 5)),
        *[(c, r) for c, r in READ_MODEL_5 if "MDIG" not in c],
    ]
    script.insert(-1, (':TRIG:BLOC:MDIG 3, "defbuffer1", 2', None))
    script += [
        (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "2"),
        (':TRAC:DATA? 1, 2, "defbuffer1"', tti([1.0] * 2)),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.read_many(5)
        assert len(drv.read_many(2)) == 2


@pytest.mark.parametrize("reply", ["garbage", "1.0,2.0", "", "#\x15?"])
def test_a_garbage_reading_reply_is_one_line(reply: str) -> None:
    drv, _ = dmm(
        [
            *READ_MODEL_5,
            (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "5"),
            (':TRAC:DATA? 1, 5, "defbuffer1"', reply),
        ]
    )
    with pytest.raises(InstrumentReplyError) as info:
        drv.read_many(5)
    text = assert_one_line(info.value)
    assert "Keithley DMM6500" in text


def test_communication_errors_pass_through() -> None:
    class Dead(ScriptedTransport):
        def query(self, command: str) -> str:
            raise InstrumentCommunicationError("dmm", f"no reply to {command!r}", "check")

    drv = KeithleyDMM6500(Dead([]))
    with pytest.raises(InstrumentCommunicationError):
        drv.select_channel(1)


def test_accuracy_and_reading_time_follow_the_closed_channel() -> None:
    script = [
        *channel_commands("(@1)", "10", "10"),
        (":SYST:ERR?", NO_ERROR),
        *channel_commands("(@3)", "1", "1", "OFF"),
        (":SYST:ERR?", NO_ERROR),
        (":ROUT:CLOS (@1);*OPC?", "1"),
        (":ROUT:CLOS (@3);*OPC?", "1"),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.configure_channels([1], range_v=10.0, nplc=10.0)
        drv.configure_channels([3], range_v=1.0, nplc=1.0, autozero=False)
        drv.select_channel(1)
        acc = drv.accuracy(2.0)
        assert (acc.gain_rel, acc.offset, acc.range) == (25e-6, pytest.approx(50e-6), 10.0)
        assert acc.half_width(2.0) == pytest.approx(2.0 * 25e-6 + 50e-6)
        assert "calibration manual" in acc.source
        assert drv.reading_time_s() == pytest.approx(2 * 10 / 50)
        drv.select_channel(3)
        acc = drv.accuracy(0.25)
        assert (acc.gain_rel, acc.offset, acc.range) == (30e-6, pytest.approx(6e-6), 1.0)
        assert drv.reading_time_s() == pytest.approx(1 / 50)


def test_accuracy_on_autorange_uses_the_range_that_holds_the_value() -> None:
    drv, _ = dmm([])
    assert drv.accuracy(0.5).range == 1.0
    assert drv.accuracy(1.1).range == 1.0  # 20 % overrange
    assert drv.accuracy(1.3).range == 10.0


# ------------------------------------------------------------------ capture
def test_configure_capture_external() -> None:
    with expected_protocol(KeithleyDMM6500, CAPTURE_EXTERNAL) as drv:
        drv.configure_capture(samples=3, interval_s=2e-5, trigger="external")


@pytest.mark.parametrize(
    ("trigger", "blocks"),
    [
        (
            "immediate",
            [
                (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
                (":TRIG:BLOC:DEL:CONS 2, 0.001", None),
                (':TRIG:BLOC:MDIG 3, "defbuffer1", 3', None),
            ],
        ),
        (
            "bus",
            [
                (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
                (":TRIG:BLOC:WAIT 2, COMM, ENT", None),
                (":TRIG:BLOC:DEL:CONS 3, 0.001", None),
                (':TRIG:BLOC:MDIG 4, "defbuffer1", 3', None),
            ],
        ),
    ],
)
def test_configure_capture_other_triggers(trigger: str, blocks: Script) -> None:
    script = [
        (':DIG:FUNC "VOLT"', None),
        (":DIG:VOLT:RANG 1", None),
        (":DIG:VOLT:SRAT 1000000", None),
        (":DIG:VOLT:APER AUTO", None),
        (':TRIG:LOAD "Empty"', None),
        *blocks,
        (":SYST:ERR?", NO_ERROR),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.configure_capture(
            samples=3, interval_s=1e-6, trigger=trigger, delay_s=0.001, range_v=1.0
        )
    # APER AUTO: one sample interval; each sample stands at its aperture's centre
    np.testing.assert_allclose(drv.capture_times_s(), [0.0010005, 0.0010015, 0.0010025])


def test_capture_range_defaults_to_the_closed_channels_range() -> None:
    script = [
        *channel_commands("(@2)", "1"),
        (":SYST:ERR?", NO_ERROR),
        (":ROUT:CLOS (@2);*OPC?", "1"),
        *[(c.replace("RANG 10", "RANG 1"), r) for c, r in CAPTURE_EXTERNAL],
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.configure_channels([2], range_v=1.0, nplc=1.0)
        drv.select_channel(2)
        drv.configure_capture(samples=3, interval_s=2e-5)


def test_arm_fetch_and_times() -> None:
    script = [
        *CAPTURE_EXTERNAL,
        (":INIT;:TRIG:STAT?", "RUNNING;RUNNING;2"),
        ('*WAI;:TRAC:ACT? "defbuffer1"', "3"),
        (':TRAC:DATA? 1, 3, "defbuffer1", READ, REL', tti([0.2, 0.0, 1.0, 2e-5, 1.7, 4e-5])),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.configure_capture(samples=3, interval_s=2e-5)
        drv.arm()
        values = drv.fetch()
        times = drv.fetch_times()
    assert values.tolist() == pytest.approx([0.2, 1.0, 1.7])
    assert times.tolist() == pytest.approx([0.0, 2e-5, 4e-5])


@pytest.mark.parametrize("state", ["IDLE;IDLE;0", "FAILED;FAILED;4", "ABORTED;ABORTED;2"])
def test_arm_refuses_a_model_that_does_not_run(state: str) -> None:
    drv, _ = dmm([*CAPTURE_EXTERNAL, (":INIT;:TRIG:STAT?", state)])
    drv.configure_capture(samples=3, interval_s=2e-5)
    with pytest.raises(InstrumentError) as info:
        drv.arm()
    assert state.split(";")[0] in assert_one_line(info.value)


@pytest.mark.parametrize("reply", ["1", "RUNNING", "garbage;x;y", ""])
def test_arm_garbage_reply_is_one_line(reply: str) -> None:
    drv, _ = dmm([*CAPTURE_EXTERNAL, (":INIT;:TRIG:STAT?", reply)])
    drv.configure_capture(samples=3, interval_s=2e-5)
    with pytest.raises(InstrumentReplyError) as info:
        drv.arm()
    assert_one_line(info.value)


def test_fetch_of_an_untriggered_capture_aborts_and_says_why() -> None:
    script = [
        *CAPTURE_EXTERNAL,
        ('*WAI;:TRAC:ACT? "defbuffer1"', "0"),
        (":ABOR", None),
        (":SYST:ERR?", '-214,"Trigger deadlock;1;2026/01/01 00:00:00.000"'),
        (":SYST:ERR?", NO_ERROR),
    ]
    drv, transport = dmm(script)
    drv.configure_capture(samples=3, interval_s=2e-5)
    with pytest.raises(InstrumentError) as info:
        drv.fetch()
    transport.assert_done()
    text = assert_one_line(info.value)
    assert "0 of 3" in text and "-214" in text and "EXT TRIG IN" in text


def test_fetch_without_a_capture_and_times_before_fetch_are_refused() -> None:
    drv, transport = dmm([])
    with pytest.raises(InstrumentError):
        drv.fetch()
    with pytest.raises(InstrumentError):
        drv.fetch_times()
    assert transport.sent == []


def test_reading_after_a_capture_returns_to_the_measure_function() -> None:
    script = [
        (":ROUT:CLOS (@2);*OPC?", "1"),
        *CAPTURE_EXTERNAL,
        (":ROUT:CLOS (@2)", None),  # re-applies the channel's measure settings
        *READ_MODEL_5,
        (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "5"),
        (':TRAC:DATA? 1, 5, "defbuffer1"', tti([1.0] * 5)),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.select_channel(2)
        drv.configure_capture(samples=3, interval_s=2e-5)
        drv.read_many(5)


def test_trigger_sends_a_bus_trigger() -> None:
    with expected_protocol(KeithleyDMM6500, [("*TRG", None)]) as drv:
        drv.trigger()


# ------------------------------------------------------------------ safety
def test_safe_state_aborts_and_opens_every_channel() -> None:
    with expected_protocol(KeithleyDMM6500, [(":ABOR", None), (":ROUT:OPEN:ALL", None)]) as drv:
        drv.safe_state()
        assert drv.safe_state_problems() == []  # a DMM drives nothing; no I/O needed


def test_safe_state_tries_every_step_then_reports_the_first_failure() -> None:
    class Flaky(ScriptedTransport):
        def write(self, command: str) -> None:
            self.sent.append(command)
            if command == ":ABOR":
                raise InstrumentCommunicationError("dmm", "lost connection", "check the cable")

    transport = Flaky([])
    drv = KeithleyDMM6500(transport)
    with pytest.raises(InstrumentCommunicationError):
        drv.safe_state()
    assert transport.sent == [":ABOR", ":ROUT:OPEN:ALL"]


def test_only_a_changed_delay_redefines_the_delay_block_alone() -> None:
    """A new settling wait with the same count: one command, not a reloaded trigger model."""
    read = [
        (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "5"),
        (':TRAC:DATA? 1, 5, "defbuffer1"', tti([1.0] * 5)),
    ]
    script = [*READ_MODEL_5, *read, (":TRIG:BLOC:DEL:CONS 2, 0.0125", None), *read]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.read_many(5)
        drv.set_trigger_delay(0.0125)
        drv.read_many(5)


def test_a_reset_instrument_making_no_readings_is_a_clear_error_not_a_timeout() -> None:
    """Its trigger model gone after a reset, the DMM makes no readings: :TRAC:ACT? says so
    before a :TRAC:DATA? that would never reply."""
    drv, _ = dmm([*READ_MODEL_5, (':INIT;*WAI;:TRAC:ACT? "defbuffer1"', "0")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.read_many(5)
    assert "made 0 of 5 readings" in assert_one_line(info.value)
