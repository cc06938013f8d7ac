"""Keysight 34461A driver at the command/response level (no simulator).

Truevolt reply formats as the 34465A's. Hand-computed: DCI 100 mA range +-(0.050 % rdg +
0.005 % rng) -> 15 uA at 20 mA; NPLC 0.02 at 50 Hz = 400 us aperture.
"""

from __future__ import annotations

import pytest

from drivers.errors import InstrumentIdentityError, ValidationError
from drivers.keysight34461a import Keysight34461A
from drivers.roles import Digitiser, TriggeredReading
from tests.protocol import ScriptedTransport, expected_protocol

IDN = "Keysight Technologies,34461A,MY57800123,A.02.17-02.40-02.17-00.52-03-01"
NO_ERROR = '+0,"No error"'

INITIALIZE_50HZ = [
    ("*IDN?", IDN),
    ("*RST", None),
    ("*CLS", None),
    ("SYST:LFR?", "+50"),
    (":SYST:ERR?", NO_ERROR),
]
CONFIGURE_100MA_FAST = [
    ("CONF:CURR:DC 0.1", None),
    ("CURR:NPLC 0.02", None),
    ("CURR:ZERO:AUTO OFF", None),
    (":SYST:ERR?", NO_ERROR),
]


def test_initialize_accepts_only_a_34461a() -> None:
    with expected_protocol(Keysight34461A, INITIALIZE_50HZ) as drv:
        assert drv.initialize().model == "34461A"
    transport = ScriptedTransport([("*IDN?", "Keysight Technologies,34465A,MY1,A.03")])
    with pytest.raises(InstrumentIdentityError, match="expected a Keysight 34461A"):
        Keysight34461A(transport).initialize()
    transport.assert_done()


def test_nplc_is_one_of_the_34461a_values() -> None:
    with expected_protocol(Keysight34461A, CONFIGURE_100MA_FAST) as drv:
        drv.configure_dc_current(range_a=0.1, nplc=0.02, autozero=False)
    assert drv.accuracy(0.02).half_width(0.02) == pytest.approx(0.0005 * 0.02 + 0.00005 * 0.1)
    for nplc in (0.001, 0.006, 0.06):  # DIG-option and 34465A-only values
        with pytest.raises(ValidationError, match="NPLC"):
            Keysight34461A(ScriptedTransport([])).configure_dc_current(range_a=0.1, nplc=nplc)


def test_no_timed_capture_without_the_dig_option() -> None:
    drv = Keysight34461A(ScriptedTransport([]))
    assert not isinstance(drv, Digitiser) and isinstance(drv, TriggeredReading)
    assert not hasattr(drv, "configure_capture")


def test_trigger_source_has_no_level_trigger() -> None:
    with pytest.raises(ValidationError, match="'INT' is not one of"):
        Keysight34461A(ScriptedTransport([])).trigger_source = "INT"


def test_triggered_readings_send_only_what_changed_and_read_many_restores_immediate() -> None:
    script = [
        *INITIALIZE_50HZ,
        *CONFIGURE_100MA_FAST,
        ("TRIG:SOUR EXT", None),
        ("TRIG:SLOP NEG", None),
        ("TRIG:DEL 0.0005", None),
        ("TRIG:COUN 1", None),
        ("SAMP:COUN 1", None),
        (":SYST:ERR?", NO_ERROR),
        ("INIT;SYST:ERR?", NO_ERROR),
        ("FETC?", "+1.80000000E-02"),
        ("TRIG:DEL 0.0006", None),
        (":SYST:ERR?", NO_ERROR),
        ("TRIG:SOUR IMM", None),
        ("TRIG:COUN 1", None),
        ("SAMP:COUN 4", None),
        ("READ?", "+1.0E-02,+1.0E-02,+1.0E-02,+1.0E-02"),
    ]
    with expected_protocol(Keysight34461A, script) as drv:
        drv.initialize()
        drv.configure_dc_current(range_a=0.1, nplc=0.02, autozero=False)
        drv.configure_triggered_reading(trigger="external", delay_s=0.0005)
        drv.arm()
        assert drv.fetch() == pytest.approx([0.018])
        assert drv.triggered_time_s() == pytest.approx(0.0005 + 0.0002)
        drv.configure_triggered_reading(trigger="external", delay_s=0.0006)
        assert list(drv.read_many(4)) == pytest.approx([0.01] * 4)
    assert drv.trigger_timing().aperture_s == pytest.approx(400e-6)


def test_count_beyond_the_reading_memory_is_refused() -> None:
    with pytest.raises(ValidationError, match="10000-reading memory"):
        Keysight34461A(ScriptedTransport([])).read_many(10_001)
    with pytest.raises(ValidationError, match=r"outside 1 \.\.\. 1e"):
        Keysight34461A(ScriptedTransport([])).sample_count = 2_000_000
