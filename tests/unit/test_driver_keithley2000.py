"""Keithley 2000 + 2000-SCAN driver at the command/response level (no simulator).

Replies in the 2000's formats (``+1.23456789E+00``, ``0,"No error"``). Hand-computed
figures: 10 V DCV +-(30 ppm rdg + 5 ppm rng) -> 350 uV at 10 V; reading period at 0.01 PLC,
50 Hz, autozero off = 1/2000 s + 0.01/50 - 0.01/60 = 533.3 us (data-sheet rate table).
"""

from __future__ import annotations

import numpy as np
import pytest

from drivers.errors import (
    InstrumentError,
    InstrumentErrorQueue,
    InstrumentIdentityError,
    InstrumentReplyError,
    ValidationError,
)
from drivers.keithley2000 import Keithley2000, reading_period_s
from drivers.roles import Digitiser, TriggeredReading
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A19  /A02"
NO_ERROR = '0,"No error"'

Script = list[tuple[str, str | None]]

INITIALIZE_50HZ: Script = [
    ("*IDN?", IDN),
    ("*RST", None),
    ("*CLS", None),
    (":INIT:CONT OFF", None),
    (":ABOR", None),
    (":FORM:ELEM READ", None),
    (":SYST:LFR?", "50"),
    (":SYST:ERR?", NO_ERROR),
]
CONFIGURE_10V_FAST: Script = [
    (":SENS:FUNC 'VOLT:DC'", None),
    (":SENS:VOLT:DC:RANG 10", None),
    (":SENS:VOLT:DC:NPLC 0.01", None),
    (":SENS:VOLT:DC:AVER:STAT OFF", None),
    (":SYST:AZER:STAT OFF", None),
    (":SYST:ERR?", NO_ERROR),
]


def nr3(values: list[float]) -> str:
    return ",".join(f"{v:+.8E}" for v in values)


def test_initialize_checks_identity_one_shot_readings_and_line_frequency() -> None:
    with expected_protocol(Keithley2000, INITIALIZE_50HZ) as drv:
        identity = drv.initialize()
    assert identity.model == "MODEL 2000"
    assert identity.serial == "1234567"


def test_initialize_refuses_another_keithley_before_resetting() -> None:
    transport = ScriptedTransport([("*IDN?", "KEITHLEY INSTRUMENTS INC.,MODEL 2010,1,A")])
    with pytest.raises(InstrumentIdentityError) as info:
        Keithley2000(transport).initialize()
    transport.assert_done()
    assert "expected a Keithley 2000" in str(info.value)


def test_configure_channels_sets_the_one_set_of_dc_volt_settings() -> None:
    with expected_protocol(Keithley2000, CONFIGURE_10V_FAST) as drv:
        drv.configure_channels([1, 2, 3, 4], range_v=10.0, nplc=0.01, autozero=False)


def test_configure_dc_current_on_the_amps_input() -> None:
    script = [
        (":SENS:FUNC 'CURR:DC'", None),
        (":SENS:CURR:DC:RANG 0.1", None),
        (":SENS:CURR:DC:NPLC 1", None),
        (":SENS:CURR:DC:AVER:STAT OFF", None),
        (":SYST:AZER:STAT ON", None),
        (":SYST:ERR?", NO_ERROR),
    ]
    with expected_protocol(Keithley2000, script) as drv:
        drv.configure_dc_current(range_a=0.1, nplc=1.0)
    assert drv.accuracy(0.02).half_width(0.02) == pytest.approx(500e-6 * 0.02 + 800e-6 * 0.1)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"range_v": 2.0, "nplc": 1.0}, "2.0 is not one of"),
        ({"range_v": 10.0, "nplc": 0.005}, r"outside 0.01 \.\.\. 10"),
        ({"range_v": 10.0, "nplc": 20.0}, r"outside 0.01 \.\.\. 10"),
    ],
)
def test_configuration_is_validated_before_anything_is_sent(kwargs: dict, text: str) -> None:
    transport = ScriptedTransport([])
    with pytest.raises(ValidationError, match=text):
        Keithley2000(transport).configure_dc_voltage(**kwargs)


def test_channels_are_validated() -> None:
    drv = Keithley2000(ScriptedTransport([]))
    for bad in ([], [0], [11], [True], [1.0]):
        with pytest.raises(ValidationError, match=r"not all in 1 \.\.\. 10"):
            drv.configure_channels(bad, range_v=10.0, nplc=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"channel 12 is not 1 \.\.\. 10"):
        drv.select_channel(12)


def test_select_channel_waits_for_the_relay() -> None:
    with expected_protocol(Keithley2000, [(":ROUT:CLOS (@2);*OPC?", "1")]) as drv:
        drv.select_channel(2)
    with expected_protocol(Keithley2000, [(":ROUT:OPEN:ALL;*OPC?", "1")]) as drv:
        drv.open_channels()


def test_read_many_sends_only_the_trigger_settings_that_changed() -> None:
    script = [
        (":TRIG:SOUR IMM", None),
        (":TRIG:DEL 0.005", None),
        (":TRIG:COUN 1", None),
        (":SAMP:COUN 3", None),
        (":READ?", nr3([1.0, 1.1, 1.2])),
        (":TRIG:DEL 0", None),
        (":READ?", nr3([2.0, 2.1, 2.2])),
        (":SAMP:COUN 1", None),
        (":READ?", "+9.9E37"),
    ]
    with expected_protocol(Keithley2000, script) as drv:
        drv.set_trigger_delay(0.005)
        assert drv.read_many(3) == pytest.approx([1.0, 1.1, 1.2])
        drv.set_trigger_delay(0.0)
        assert drv.read_many(3) == pytest.approx([2.0, 2.1, 2.2])
        assert drv.read() == np.inf  # overflow


def test_read_many_refuses_a_short_reply_and_a_count_beyond_the_buffer() -> None:
    script = [
        (":TRIG:SOUR IMM", None),
        (":TRIG:DEL 0", None),
        (":TRIG:COUN 1", None),
        (":SAMP:COUN 2", None),
        (":READ?", "+1.00000000E+00"),
    ]
    with (
        expected_protocol(Keithley2000, script) as drv,
        pytest.raises(InstrumentReplyError, match="returned 1 values, expected 2"),
    ):
        drv.read_many(2)
    with pytest.raises(ValidationError, match=r"1 \.\.\. 1024"):
        Keithley2000(ScriptedTransport([])).read_many(1025)


def test_reading_time_follows_the_data_sheet_rates() -> None:
    assert reading_period_s(0.01, 60.0, False) == pytest.approx(1 / 2000)
    assert reading_period_s(0.01, 50.0, False) == pytest.approx(1 / 2000 + 0.01 / 50 - 0.01 / 60)
    assert reading_period_s(1.0, 60.0, False) == pytest.approx(1 / 50)
    assert reading_period_s(1.0, 50.0, True) == pytest.approx(1 / 50 + 1 / 50 - 1 / 60 + 1 / 50)
    with expected_protocol(Keithley2000, [*INITIALIZE_50HZ, *CONFIGURE_10V_FAST]) as drv:
        drv.initialize()
        drv.configure_dc_voltage(range_v=10.0, nplc=0.01, autozero=False)
    assert drv.reading_time_s() == pytest.approx(533.33e-6, rel=1e-4)
    assert drv.accuracy(10.0).half_width(10.0) == pytest.approx(350e-6)


def test_triggered_reading_for_equivalent_time_sampling() -> None:
    script = [
        *INITIALIZE_50HZ,
        *CONFIGURE_10V_FAST,
        (":TRIG:SOUR EXT", None),
        (":TRIG:DEL 0.0012", None),
        (":TRIG:COUN 1", None),
        (":SAMP:COUN 1", None),
        (":SYST:ERR?", NO_ERROR),
        (":INIT;:SYST:ERR?", NO_ERROR),
        (":FETC?", "+1.60000000E+00"),
        (":TRIG:DEL 0.0013", None),  # the next delay: only the delay changes
        (":SYST:ERR?", NO_ERROR),
        (":TRIG:SOUR IMM", None),
        (":TRIG:DEL 0.06", None),
        (":SYST:ERR?", NO_ERROR),
    ]
    with expected_protocol(Keithley2000, script) as drv:
        drv.initialize()
        drv.configure_channels([2], range_v=10.0, nplc=0.01, autozero=False)
        drv.configure_triggered_reading(trigger="external", delay_s=0.0012)
        drv.arm()
        assert drv.fetch() == pytest.approx([1.6])
        # aperture 0.01 PLC at 50 Hz = 200 us: the reading stands for delay + 100 us
        assert drv.triggered_time_s() == pytest.approx(0.0013)
        drv.configure_triggered_reading(trigger="external", delay_s=0.0013)
        drv.configure_triggered_reading(trigger="immediate", delay_s=0.06)
    timing = drv.trigger_timing()
    assert timing.aperture_s == pytest.approx(200e-6)
    assert timing.source.startswith("[E]")


def test_arm_reports_an_init_error_and_fetch_checks_the_count() -> None:
    script = [(":INIT;:SYST:ERR?", '-213,"Init ignored"'), (":SYST:ERR?", NO_ERROR)]
    with (
        expected_protocol(Keithley2000, script) as drv,
        pytest.raises(InstrumentErrorQueue, match="-213"),
    ):
        drv.arm()
    fetch = [(":FETC?", "+1.0E+00,+2.0E+00")]
    with (
        expected_protocol(Keithley2000, fetch) as drv,
        pytest.raises(InstrumentReplyError, match="expected 1"),
    ):
        drv.fetch()


def test_no_digitiser() -> None:
    drv = Keithley2000(ScriptedTransport([]))
    assert not isinstance(drv, Digitiser) and isinstance(drv, TriggeredReading)
    with pytest.raises(InstrumentError, match="no triggered reading configured"):
        drv.triggered_time_s()


def test_safe_state_stops_and_opens_the_card() -> None:
    with expected_protocol(Keithley2000, [(":ABOR", None), (":ROUT:OPEN:ALL", None)]) as drv:
        drv.safe_state()
    assert drv.safe_state_problems() == []
