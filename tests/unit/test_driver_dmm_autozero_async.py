"""Once-autozero and started/fetched readings of every DMM driver, at the command level.

Commands: Truevolt ``<function>:ZERO:AUTO ONCE``, ``INIT``, ``FETC?`` (Truevolt guide pp. 197,
223); DMM6500 ``:SENS:VOLT:AZER OFF[, (@1:10)]`` then ``:SENS:AZER:ONCE``, ``:INIT``, ``*WAI;
:TRAC:DATA?`` (TTI family reference manuals); Keithley 2000 ``:SYST:AZER:STAT OFF`` and the
integration rate to 0.01 PLC and back (Model 2700 manual's autozero note), ``:INIT``,
``:FETC?``. Autozero-off figures: docs/metrology.md 4.1.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.safety import GuardedDmm, OutputOrder
from drivers.errors import InstrumentError, InstrumentReplyError
from drivers.keithley2000 import Keithley2000
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.keysight34461a import Keysight34461A
from drivers.keysight34465a import Keysight34465A
from tests.protocol import ScriptedTransport, expected_protocol

KEYSIGHT_OK = '+0,"No error"'
TTI_OK = '0,"No error;0;0 0"'
K2000_OK = '0,"No error"'


# ------------------------------------------------------------------ Keysight Truevolt
@pytest.mark.parametrize("cls", [Keysight34465A, Keysight34461A])
def test_truevolt_autozero_once_on_the_present_function(cls: type) -> None:
    script = [
        ("CONF:CURR:DC 0.1", None),
        ("CURR:NPLC 1", None),
        ("CURR:ZERO:AUTO ON", None),
        (":SYST:ERR?", KEYSIGHT_OK),
        ("CURR:ZERO:AUTO ONCE", None),
        (":SYST:ERR?", KEYSIGHT_OK),
    ]
    with expected_protocol(cls, script) as drv:
        drv.configure_dc_current(range_a=0.1, nplc=1.0)
        assert drv.reading_time_s() == pytest.approx(0.04)  # 50 Hz until initialize
        drv.autozero_once()
        assert drv.reading_time_s() == pytest.approx(0.02)
    # [E] 0.0002 % of 100 mA + 5 uV over the 1 ohm shunt
    assert drv.autozero_off_error() == pytest.approx(2e-7 + 5e-6)
    assert drv.autozero_hold_s() == 600.0


def test_truevolt_autozero_off_error_for_volts() -> None:
    drv = Keysight34465A(ScriptedTransport([]))  # *RST state: DC volts, 10 V
    assert drv.autozero_off_error() == pytest.approx(2e-6 * 10 + 5e-6)


def test_truevolt_start_then_fetch_readings() -> None:
    script = [
        ("SAMP:COUN 3", None),
        ("INIT;SYST:ERR?", KEYSIGHT_OK),
        ("FETC?", "+1.0E-02,+1.1E-02,+1.2E-02"),
    ]
    with expected_protocol(Keysight34465A, script) as drv:
        drv.start_readings(3)
        values = drv.fetch_readings()
    assert isinstance(values, np.ndarray)
    assert values.tolist() == pytest.approx([0.010, 0.011, 0.012])


def test_truevolt_fetch_checks_the_count_and_needs_a_start() -> None:
    drv = Keysight34465A(
        ScriptedTransport([("INIT;SYST:ERR?", KEYSIGHT_OK), ("FETC?", "+1.0E-02")])
    )
    with pytest.raises(InstrumentError, match="no readings started"):
        drv.fetch_readings()
    drv._samples = 2  # as after a read_many(2)
    drv.start_readings(2)
    with pytest.raises(InstrumentReplyError, match="returned 1 values, expected 2"):
        drv.fetch_readings()


def test_34461a_start_readings_restores_the_immediate_trigger() -> None:
    script = [
        ("TRIG:SOUR EXT", None),
        ("TRIG:SLOP NEG", None),
        ("TRIG:DEL 0", None),
        ("TRIG:COUN 1", None),
        ("SAMP:COUN 1", None),
        (":SYST:ERR?", KEYSIGHT_OK),
        ("TRIG:SOUR IMM", None),
        ("TRIG:COUN 1", None),
        ("SAMP:COUN 2", None),
        ("INIT;SYST:ERR?", KEYSIGHT_OK),
        ("FETC?", "+1.0E-02,+1.0E-02"),
    ]
    with expected_protocol(Keysight34461A, script) as drv:
        drv.configure_triggered_reading(trigger="external", delay_s=0.0)
        drv.start_readings(2)
        assert drv.fetch_readings().tolist() == pytest.approx([0.01, 0.01])


# ------------------------------------------------------------------ Keithley DMM6500
READ_MODEL_2 = [
    (':TRIG:LOAD "Empty"', None),
    (':TRIG:BLOC:BUFF:CLE 1, "defbuffer1"', None),
    (":TRIG:BLOC:DEL:CONS 2, 0", None),
    (':TRIG:BLOC:MDIG 3, "defbuffer1", 2', None),
    (":SYST:ERR?", TTI_OK),
]


def test_dmm6500_autozero_once_turns_autozero_off_everywhere_then_zeroes_once() -> None:
    script = [
        (":SENS:VOLT:AZER OFF", None),
        (":SENS:VOLT:AZER OFF, (@1:10)", None),
        (":SENS:AZER:ONCE", None),
        (":SYST:ERR?", TTI_OK),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        assert drv.reading_time_s() == pytest.approx(0.04)  # NPLC 1 at 50 Hz, autozero on
        drv.autozero_once()
        assert drv.reading_time_s() == pytest.approx(0.02)
    assert drv.autozero_off_error() == pytest.approx(5e-6 * 10 + 5e-6)  # autorange: 10 V
    assert drv.autozero_hold_s() == 600.0


def test_dmm6500_start_then_fetch_split_the_init_from_the_data_query() -> None:
    script = [
        *READ_MODEL_2,
        (":INIT;:TRIG:STAT?", "RUNNING;RUNNING;2"),
        ('*WAI;:TRAC:ACT? "defbuffer1"', "2"),
        (':TRAC:DATA? 1, 2, "defbuffer1"', "1.000000E+00,1.100000E+00"),
        (":INIT;:TRIG:STAT?", "RUNNING;RUNNING;2"),
        ('*WAI;:TRAC:ACT? "defbuffer1"', "2"),
        (':TRAC:DATA? 1, 2, "defbuffer1"', "1.000000E+00"),
    ]
    with expected_protocol(KeithleyDMM6500, script) as drv:
        drv.start_readings(2)
        assert drv.fetch_readings().tolist() == pytest.approx([1.0, 1.1])
        drv.start_readings(2)  # the model is loaded already
        with pytest.raises(InstrumentReplyError, match="returned 1 values, expected 2"):
            drv.fetch_readings()


# ------------------------------------------------------------------ Keithley 2000
def test_k2000_autozero_once_detours_the_integration_rate() -> None:
    script = [
        (":SENS:FUNC 'VOLT:DC'", None),
        (":SENS:VOLT:DC:RANG 10", None),
        (":SENS:VOLT:DC:NPLC 1", None),
        (":SENS:VOLT:DC:AVER:STAT OFF", None),
        (":SYST:AZER:STAT ON", None),
        (":SYST:ERR?", K2000_OK),
        (":SYST:AZER:STAT OFF", None),
        (":SENS:VOLT:DC:NPLC 0.01", None),
        (":SENS:VOLT:DC:NPLC 1", None),
        (":SYST:ERR?", K2000_OK),
    ]
    with expected_protocol(Keithley2000, script) as drv:
        drv.configure_dc_voltage(range_v=10.0, nplc=1.0)
        on = drv.reading_time_s()
        drv.autozero_once()
        assert on - drv.reading_time_s() == pytest.approx(0.02)  # one 1 PLC integration
    assert drv.autozero_off_error() == pytest.approx(2e-6 * 10 + 5e-6)
    assert drv.autozero_hold_s() == 600.0


def test_k2000_autozero_once_at_the_fastest_rate_detours_to_0_1_plc() -> None:
    script = [(":SYST:AZER:STAT OFF", None), (":SENS:VOLT:DC:NPLC 0.1", None)]
    script += [(":SENS:VOLT:DC:NPLC 0.01", None), (":SYST:ERR?", K2000_OK)]
    with expected_protocol(Keithley2000, script) as drv:
        drv._nplc = 0.01
        drv.autozero_once()


def test_k2000_current_figure_divides_the_5_uv_by_the_shunt() -> None:
    drv = Keithley2000(ScriptedTransport([]))
    drv._function, drv._range = "CURR", 0.01
    assert drv.autozero_off_error() == pytest.approx(2e-6 * 0.01 + 5e-6 / 10.0)


def test_k2000_start_then_fetch() -> None:
    script = [
        (":TRIG:SOUR IMM", None),
        (":TRIG:DEL 0", None),
        (":TRIG:COUN 1", None),
        (":SAMP:COUN 2", None),
        (":INIT;:SYST:ERR?", K2000_OK),
        (":FETC?", "+1.00000000E+00,+2.00000000E+00"),
    ]
    with expected_protocol(Keithley2000, script) as drv:
        drv.start_readings(2)
        assert drv.fetch_readings().tolist() == pytest.approx([1.0, 2.0])


# ------------------------------------------------------------------ guarded pass-through
def test_guarded_dmm_passes_the_new_methods_through() -> None:
    script = [
        ("VOLT:ZERO:AUTO ONCE", None),
        (":SYST:ERR?", KEYSIGHT_OK),
        ("SAMP:COUN 2", None),
        ("INIT;SYST:ERR?", KEYSIGHT_OK),
        ("FETC?", "+1.0E+00,+2.0E+00"),
    ]
    transport = ScriptedTransport(script)
    guard = GuardedDmm(Keysight34465A(transport), envelope=None, order=OutputOrder())  # type: ignore[arg-type]
    guard.autozero_once()
    assert guard.autozero_off_error() == pytest.approx(25e-6)
    assert guard.autozero_hold_s() == 600.0
    guard.start_readings(2)
    assert guard.fetch_readings().tolist() == [1.0, 2.0]
    transport.assert_done()
