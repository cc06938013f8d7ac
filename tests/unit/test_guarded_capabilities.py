"""Procedures reach instruments only through the guarded role and capability interfaces: a
model's own methods are not reachable, and a capability the model lacks is one clear error."""

from __future__ import annotations

import pytest

from bench.safety import GuardedDmm, GuardedSource, OutputOrder, SafetyEnvelope
from drivers import capabilities as cap
from drivers.capabilities import CapabilityMissing
from drivers.keithley2450 import Keithley2450
from drivers.keithley_dmm6500 import KeithleyDMM6500
from drivers.keysight34465a import Keysight34465A
from tests.protocol import ScriptedTransport

ENVELOPE = SafetyEnvelope(0.03, 5.0, 16.8, 31.2, 0.06, 33.0, 1000.0)


def _guard(cls, driver_cls):
    return cls(driver_cls(ScriptedTransport([])), ENVELOPE, OutputOrder())


def test_a_dmm_without_a_scanner_is_refused_by_name() -> None:
    dmm = _guard(GuardedDmm, Keysight34465A)
    assert not dmm.has(cap.SCANNER) and dmm.has(cap.DIGITISER)
    with pytest.raises(
        CapabilityMissing, match=r"dmm \(Keysight 34465A\) at scripted: lacks a scanner"
    ):
        dmm.select_channel(1)


def test_model_specific_methods_are_not_passed_through() -> None:
    """The DMM6500's ``trigger`` and ``fetch_times`` exist on the driver, not on the role."""
    dmm = _guard(GuardedDmm, KeithleyDMM6500)
    assert dmm.has(cap.SCANNER) and dmm.has(cap.DIGITISER)
    for name in ("trigger", "fetch_times", "write", "ask", "transport"):
        assert hasattr(dmm._driver, name)
        with pytest.raises(AttributeError):
            getattr(dmm, name)


def test_a_source_guard_offers_its_capabilities() -> None:
    source = _guard(GuardedSource, Keithley2450)
    assert source.has(cap.TRIGGER_OUT) and source.has(cap.DIGITAL_OUT)
    for name in ("write", "ask", "current_level_a", "output_enabled"):
        assert hasattr(type(source._driver), name)
        with pytest.raises(AttributeError):
            getattr(source, name)
