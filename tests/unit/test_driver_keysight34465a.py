"""Keysight 34465A driver at the command/response level (no simulator).

Replies use the Truevolt formats (``+1.23456789E-03``, ``+0,"No error"``). Accuracy figures
are the driver's [K] table (docs/metrology.md 4.1): DCI 10 mA range 0.050 % + 0.020 % of range,
100 uA range 0.050 % + 0.025 %; DCV 10 V range 0.0030 % + 0.0005 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.errors import (
    InstrumentCommunicationError,
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keysight34465a import Keysight34465A
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "Keysight Technologies,34465A,MY57500123,A.02.14-02.40-02.14-00.49-02-01"
NO_ERROR = '+0,"No error"'

Script = list[tuple[str, str | None]]

INITIALIZE_50HZ: Script = [
    ("*IDN?", IDN),
    ("*RST", None),
    ("*CLS", None),
    ("SYST:LFR?", "+5.00000000E+01"),
    (":SYST:ERR?", NO_ERROR),
]
CONFIGURE_10MA_1NPLC: Script = [
    ("CONF:CURR:DC 0.01", None),
    ("CURR:NPLC 1", None),
    ("CURR:ZERO:AUTO ON", None),
    (":SYST:ERR?", NO_ERROR),
]


def dmm(script: Script) -> tuple[Keysight34465A, ScriptedTransport]:
    transport = ScriptedTransport(script)
    return Keysight34465A(transport), transport


def assert_one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


def nr3(values: list[float]) -> str:
    return ",".join(f"{v:+.8E}" for v in values)


# ------------------------------------------------------------------ initialize
def test_initialize_checks_identity_resets_reads_line_frequency_and_drains_errors() -> None:
    with expected_protocol(Keysight34465A, INITIALIZE_50HZ) as drv:
        identity = drv.initialize()
    assert identity.model == "34465A"
    assert identity.serial == "MY57500123"


def test_initialize_accepts_an_agilent_branded_unit() -> None:
    script = [("*IDN?", "Agilent Technologies,34465A,MY5300001,A.01.02"), *INITIALIZE_50HZ[1:]]
    with expected_protocol(Keysight34465A, script) as drv:
        drv.initialize()


def test_initialize_refuses_another_model_before_resetting() -> None:
    drv, transport = dmm([("*IDN?", "Keysight Technologies,34461A,MY1,A.03")])
    with pytest.raises(InstrumentIdentityError) as info:
        drv.initialize()
    transport.assert_done()
    assert "expected a Keysight 34465A" in assert_one_line(info.value)


def test_reading_time_uses_the_line_frequency_read_at_initialize() -> None:
    script = [*INITIALIZE_50HZ[:3], ("SYST:LFR?", "+6.00000000E+01"), (":SYST:ERR?", NO_ERROR)]
    with expected_protocol(Keysight34465A, [*script, *CONFIGURE_10MA_1NPLC]) as drv:
        drv.initialize()
        drv.configure_dc_current(range_a=0.01, nplc=1.0)
        assert drv.reading_time_s() == pytest.approx(2 * 1 / 60)


def test_initialize_reports_errors_left_after_reset() -> None:
    script = [
        *INITIALIZE_50HZ[:-1],
        (":SYST:ERR?", '-310,"System error"'),
        (":SYST:ERR?", NO_ERROR),
    ]
    drv, transport = dmm(script)
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.initialize()
    transport.assert_done()
    assert info.value.errors == [(-310, "System error")]


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize(("autozero", "text"), [(True, "ON"), (False, "OFF")])
def test_configure_dc_current(autozero: bool, text: str) -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:CURR:DC 0.01", None),
            ("CURR:NPLC 10", None),
            (f"CURR:ZERO:AUTO {text}", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_current(range_a=0.01, nplc=10.0, autozero=autozero)


def test_configure_dc_current_smallest_range() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:CURR:DC 0.0001", None),
            ("CURR:NPLC 100", None),
            ("CURR:ZERO:AUTO ON", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_current(range_a=1e-4, nplc=100)


def test_configure_dc_voltage_sets_high_input_impedance() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:VOLT:DC 10", None),
            ("VOLT:NPLC 0.2", None),
            ("VOLT:ZERO:AUTO ON", None),
            ("VOLT:IMP:AUTO ON", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_voltage(range_v=10.0, nplc=0.2)


@pytest.mark.parametrize("nplc", [0.5, 2.0, 0.0, 200.0])
def test_configure_refuses_an_nplc_the_34465a_does_not_have(nplc: float) -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError) as info:
        drv.configure_dc_voltage(range_v=10.0, nplc=nplc)
    assert transport.sent == []
    text = str(info.value)
    assert "Keysight 34465A" in text and "NPLC" in text and "100" in text


@pytest.mark.parametrize(
    ("function", "value"),
    [("current", 0.02), ("current", 10.0), ("voltage", 20.0), ("voltage", 0.01)],
)
def test_configure_refuses_a_range_the_34465a_does_not_have(function: str, value: float) -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError):
        if function == "current":
            drv.configure_dc_current(range_a=value, nplc=1.0)
        else:
            drv.configure_dc_voltage(range_v=value, nplc=1.0)
    assert transport.sent == []


def test_configure_reports_errors_from_the_instrument() -> None:
    script = [*CONFIGURE_10MA_1NPLC[:-1], (":SYST:ERR?", '-221,"Settings conflict"')]
    drv, transport = dmm([*script, (":SYST:ERR?", NO_ERROR)])
    with pytest.raises(InstrumentErrorQueue) as info:
        drv.configure_dc_current(range_a=0.01, nplc=1.0)
    transport.assert_done()
    assert "-221" in assert_one_line(info.value)


def test_set_trigger_delay() -> None:
    with expected_protocol(Keysight34465A, [("TRIG:DEL 0.001", None)]) as drv:
        drv.set_trigger_delay(0.001)
    drv, transport = dmm([])
    with pytest.raises(ValidationError):
        drv.set_trigger_delay(-0.5)
    assert transport.sent == []


# ------------------------------------------------------------------ readings
def test_read_takes_one_reading_without_touching_the_sample_count() -> None:
    with expected_protocol(Keysight34465A, [("READ?", "+1.23456789E-03")]) as drv:
        assert drv.read() == pytest.approx(1.23456789e-3, rel=1e-12)


def test_read_many_sends_the_sample_count_only_when_it_changes() -> None:
    five = nr3([1e-3, 2e-3, 3e-3, 4e-3, 5e-3])
    with expected_protocol(
        Keysight34465A,
        [
            ("SAMP:COUN 5", None),
            ("READ?", five),
            ("READ?", five),
            ("SAMP:COUN 1", None),
            ("READ?", "+7.00000000E-03"),
            ("READ?", "+8.00000000E-03"),
        ],
    ) as drv:
        first = drv.read_many(5)
        drv.read_many(5)
        assert drv.read() == pytest.approx(7e-3)
        assert drv.read() == pytest.approx(8e-3)
    assert isinstance(first, np.ndarray)
    np.testing.assert_allclose(first, [1e-3, 2e-3, 3e-3, 4e-3, 5e-3], rtol=1e-12)


def test_configure_resets_the_sample_count_the_driver_remembers() -> None:
    # CONF sets SAMP:COUN back to 1, so the next read_many(5) must send it again
    five = nr3([0.0] * 5)
    with expected_protocol(
        Keysight34465A,
        [
            ("SAMP:COUN 5", None),
            ("READ?", five),
            *CONFIGURE_10MA_1NPLC,
            ("SAMP:COUN 5", None),
            ("READ?", five),
        ],
    ) as drv:
        drv.read_many(5)
        drv.configure_dc_current(range_a=0.01, nplc=1.0)
        drv.read_many(5)


def test_initialize_resets_the_sample_count_the_driver_remembers() -> None:
    five = nr3([0.0] * 5)
    with expected_protocol(
        Keysight34465A,
        [
            ("SAMP:COUN 5", None),
            ("READ?", five),
            *INITIALIZE_50HZ,
            ("SAMP:COUN 5", None),
            ("READ?", five),
        ],
    ) as drv:
        drv.read_many(5)
        drv.initialize()
        drv.read_many(5)


def test_read_many_reads_a_definite_length_block() -> None:
    payload = nr3([1e-2, 2e-2])
    with expected_protocol(
        Keysight34465A, [("SAMP:COUN 2", None), ("READ?", f"#2{len(payload)}{payload}")]
    ) as drv:
        np.testing.assert_allclose(drv.read_many(2), [1e-2, 2e-2])


def test_read_many_refuses_the_wrong_number_of_values() -> None:
    drv, transport = dmm([("SAMP:COUN 3", None), ("READ?", nr3([1.0, 2.0]))])
    with pytest.raises(InstrumentReplyError) as info:
        drv.read_many(3)
    transport.assert_done()
    text = assert_one_line(info.value)
    assert "2 values" in text and "expected 3" in text


@pytest.mark.parametrize("count", [0, -1])
def test_read_many_refuses_a_count_below_one_before_anything_is_sent(count: int) -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError):
        drv.read_many(count)
    assert transport.sent == []


def test_overload_reading_is_infinity() -> None:
    with expected_protocol(Keysight34465A, [("READ?", "+9.90000000E+37")]) as drv:
        assert drv.read() == np.inf


def test_garbage_reply_is_a_one_line_reply_error_naming_the_instrument() -> None:
    drv, _ = dmm([("READ?", "+1.2E-03\r\n-113,\x00garbage")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.read()
    text = assert_one_line(info.value)
    assert text.startswith("dmm (Keysight 34465A) at scripted: ")
    assert "READ?" in text


# ------------------------------------------------------------------ accuracy and timing
def test_accuracy_on_the_10_ma_range() -> None:
    with expected_protocol(Keysight34465A, CONFIGURE_10MA_1NPLC) as drv:
        drv.configure_dc_current(range_a=0.01, nplc=1.0)
    accuracy = drv.accuracy(0.004)
    assert accuracy.gain_rel == 0.0005
    assert accuracy.offset == pytest.approx(2e-6)
    assert accuracy.range == 0.01
    assert accuracy.half_width(0.004) == pytest.approx(0.0005 * 0.004 + 2e-6)


def test_accuracy_on_the_100_ua_range() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:CURR:DC 0.0001", None),
            ("CURR:NPLC 10", None),
            ("CURR:ZERO:AUTO ON", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_current(range_a=1e-4, nplc=10.0)
    accuracy = drv.accuracy(5e-5)
    assert (accuracy.gain_rel, accuracy.range) == (0.0005, 1e-4)
    assert accuracy.offset == pytest.approx(2.5e-8)


def test_accuracy_on_the_10_v_range() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:VOLT:DC 10", None),
            ("VOLT:NPLC 10", None),
            ("VOLT:ZERO:AUTO ON", None),
            ("VOLT:IMP:AUTO ON", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_voltage(range_v=10.0, nplc=10.0)
    accuracy = drv.accuracy(5.0)
    assert (accuracy.gain_rel, accuracy.range) == (0.00003, 10.0)
    assert accuracy.offset == pytest.approx(5e-5)


@pytest.mark.parametrize(("autozero", "seconds"), [(True, 0.04), (False, 0.02)])
def test_reading_time_doubles_with_autozero(autozero: bool, seconds: float) -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("CONF:CURR:DC 0.01", None),
            ("CURR:NPLC 1", None),
            (f"CURR:ZERO:AUTO {'ON' if autozero else 'OFF'}", None),
            (":SYST:ERR?", NO_ERROR),
        ],
    ) as drv:
        drv.configure_dc_current(range_a=0.01, nplc=1.0, autozero=autozero)
        assert drv.reading_time_s() == pytest.approx(seconds)  # 50 Hz default


@pytest.mark.parametrize(("value", "range_a"), [(0.004, 0.01), (0.012, 0.01), (0.02, 0.1)])
def test_range_for_current_uses_the_20_percent_overrange(value: float, range_a: float) -> None:
    assert Keysight34465A.range_for_current(value) == range_a


# ------------------------------------------------------------------ timed capture
def test_configure_capture_on_the_external_trigger() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("TRIG:SOUR EXT", None),
            ("TRIG:SLOP NEG", None),
            ("TRIG:DEL 0", None),
            ("TRIG:COUN 1", None),
            ("SAMP:SOUR TIM", None),
            ("SAMP:TIM 0.001", None),
            ("SAMP:COUN 3", None),
            (":SYST:ERR?", NO_ERROR),
            ("INIT;SYST:ERR?", '+0,"No error"'),
            ("FETC?", nr3([0.004, 0.012, 0.020])),
        ],
    ) as drv:
        drv.configure_capture(samples=3, interval_s=0.001)
        drv.arm()
        values = drv.fetch()
    np.testing.assert_allclose(values, [0.004, 0.012, 0.020])


def test_configure_capture_on_a_bus_trigger_with_delay() -> None:
    with expected_protocol(
        Keysight34465A,
        [
            ("TRIG:SOUR BUS", None),
            ("TRIG:DEL 0.0005", None),
            ("TRIG:COUN 1", None),
            ("SAMP:SOUR TIM", None),
            ("SAMP:TIM 0.002", None),
            ("SAMP:COUN 50", None),
            (":SYST:ERR?", NO_ERROR),
            ("INIT;SYST:ERR?", '+0,"No error"'),
            ("*TRG", None),
        ],
    ) as drv:
        drv.configure_capture(samples=50, interval_s=0.002, trigger="bus", delay_s=0.0005)
        drv.arm()
        drv.trigger()
        # *RST's NPLC 10 at 50 Hz: 200 ms apertures, each sample stands at its centre
        np.testing.assert_allclose(drv.capture_times_s()[:3], [0.1005, 0.1025, 0.1045])


def test_capture_times_need_a_capture() -> None:
    drv, _ = dmm([])
    with pytest.raises(InstrumentError, match="no capture configured"):
        drv.capture_times_s()


def test_configure_capture_immediate_trigger_and_sample_count_is_remembered() -> None:
    payload = nr3([1.0] * 20)
    with expected_protocol(
        Keysight34465A,
        [
            ("TRIG:SOUR IMM", None),
            ("TRIG:DEL 0", None),
            ("TRIG:COUN 1", None),
            ("SAMP:SOUR TIM", None),
            ("SAMP:TIM 0.01", None),
            ("SAMP:COUN 20", None),
            (":SYST:ERR?", NO_ERROR),
            ("READ?", payload),  # the count is already 20: no SAMP:COUN
        ],
    ) as drv:
        drv.configure_capture(samples=20, interval_s=0.01, trigger="immediate")
        assert len(drv.read_many(20)) == 20


def test_configure_capture_refuses_zero_samples_before_anything_is_sent() -> None:
    drv, transport = dmm([])
    with pytest.raises(ValidationError):
        drv.configure_capture(samples=0, interval_s=0.001)
    assert transport.sent == []


def test_fetch_reads_a_definite_length_block() -> None:
    payload = nr3([1e-3, 2e-3, 3e-3])
    with expected_protocol(
        Keysight34465A, [("FETC?", f"#{len(str(len(payload)))}{len(payload)}{payload}")]
    ) as drv:
        np.testing.assert_allclose(drv.fetch(expected=3), [1e-3, 2e-3, 3e-3])


def test_fetch_refuses_a_short_capture() -> None:
    """A capture with fewer readings than configured (a missed trigger) is an error."""
    script = [("FETC?", nr3([1e-3, 2e-3]))]
    with (
        expected_protocol(Keysight34465A, script) as drv,
        pytest.raises(InstrumentReplyError) as info,
    ):
        drv.fetch(expected=3)
    assert "returned 2 readings, expected 3" in assert_one_line(info.value)


def test_arm_raises_when_init_is_refused() -> None:
    with (
        expected_protocol(
            Keysight34465A,
            [("INIT;SYST:ERR?", '-221,"Settings conflict"'), (":SYST:ERR?", '+0,"No error"')],
        ) as drv,
        pytest.raises(InstrumentErrorQueue) as info,
    ):
        drv.arm()
    assert "-221 Settings conflict" in assert_one_line(info.value)


def test_garbage_fetch_reply_is_a_reply_error() -> None:
    drv, _ = dmm([("FETC?", "#9garbage")])
    with pytest.raises(InstrumentReplyError) as info:
        drv.fetch()
    assert "Keysight 34465A" in assert_one_line(info.value)


# ------------------------------------------------------------------ safety
def test_safe_state_aborts_any_acquisition() -> None:
    with expected_protocol(Keysight34465A, [("ABOR", None)]) as drv:
        drv.safe_state()


def test_safe_state_problems_needs_no_io_for_a_dmm() -> None:
    with expected_protocol(Keysight34465A, []) as drv:
        assert drv.safe_state_problems() == []


def test_safe_state_reports_a_lost_connection() -> None:
    class Lost(ScriptedTransport):
        def write(self, command: str) -> None:
            super().write(command)
            raise InstrumentCommunicationError(self.name, f"lost connection sending {command!r}")

    transport = Lost([("ABOR", None)])
    with pytest.raises(InstrumentCommunicationError):
        Keysight34465A(transport).safe_state()
    transport.assert_done()
