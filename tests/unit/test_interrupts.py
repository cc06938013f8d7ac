"""Ctrl-C/SIGTERM never split a write that must happen whole, and a second one never cuts the
safe-state sequence short."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import _InterruptOnce
from procedures.decision import Statement
from procedures.interrupts import interrupts_deferred
from procedures.record import MeasurementRecord, Recorder, RunRecord


def _raise(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture
def raising_handlers() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt, as they do under ``isobench inspect``."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, _raise)
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_inside_the_block_is_delivered_when_it_ends(
    raising_handlers: None, sig: signal.Signals
) -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(sig)
        done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert signal.getsignal(sig) is _raise  # the previous handler is back


def test_nested_blocks_deliver_once_at_the_outermost_end(raising_handlers: None) -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        with interrupts_deferred():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGTERM)
        done.append("outer block")
    assert done == ["outer block"]


def test_no_signal_no_interrupt(raising_handlers: None) -> None:
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is _raise


def _measurement(value: float) -> MeasurementRecord:
    return MeasurementRecord(
        characteristic="transmission_error",
        title="Transmission error",
        step="accuracy",
        value=value,
        unit="A",
        statement=Statement.PASS.value,
    )


def test_an_interrupt_while_a_point_is_written_keeps_reading_and_measurement_together(
    tmp_path: Path, raising_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI failure: the interrupt landed after the CSV row and before the measurement."""
    recorder = Recorder(tmp_path, RunRecord("X", "857-411", "wago-857-411", "test", "direct"))
    write_row = Recorder._append_row

    def row_then_signal(self: Recorder, row: dict) -> None:
        write_row(self, row)
        signal.raise_signal(signal.SIGTERM)  # exactly between the row and the measurement

    recorder.point(_measurement(1e-6), step="accuracy", error_a=1e-6)
    monkeypatch.setattr(Recorder, "_append_row", row_then_signal)
    with pytest.raises(KeyboardInterrupt):
        recorder.point(_measurement(2e-6), step="accuracy", error_a=2e-6)
    recorder.close()
    rows = pd.read_csv(tmp_path / Recorder.READINGS)
    assert list(rows["error_a"]) == [m.value for m in recorder.record.measurements]
    assert list(rows["error_a"]) == [1e-6, 2e-6]


def test_an_interrupt_during_a_header_rewrite_loses_no_reading(
    tmp_path: Path, raising_handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder(tmp_path, RunRecord("X", "857-411", "wago-857-411", "test", "direct"))
    recorder.reading(step="a", value=1.0)
    extend = Recorder._extend_columns

    def extend_with_signal(self: Recorder, key: str) -> None:
        signal.raise_signal(signal.SIGINT)  # the old file is about to be rewritten
        extend(self, key)

    monkeypatch.setattr(Recorder, "_extend_columns", extend_with_signal)
    with pytest.raises(KeyboardInterrupt):
        recorder.reading(step="b", value=2.0, extra=3.0)
    recorder.close()
    rows = pd.read_csv(tmp_path / Recorder.READINGS)
    assert list(rows["value"]) == [1.0, 2.0]
    assert list(rows.columns) == ["timestamp", "step", "value", "extra"]


def test_only_the_first_signal_aborts_a_command() -> None:
    handler = _InterruptOnce()
    with pytest.raises(KeyboardInterrupt):
        handler(signal.SIGINT, None)
    handler(signal.SIGTERM, None)  # while the abort makes the bench safe: ignored
    handler(signal.SIGINT, None)
    assert handler.received == [signal.SIGINT, signal.SIGTERM, signal.SIGINT]
