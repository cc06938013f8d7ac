"""The run record: what was measured, how it was judged, and how the run ended.

Data, not presentation: reports render it, the store keeps it. Everything is written to disk
as it is taken (readings appended to CSV, the record rewritten atomically after every step),
so an aborted run still leaves every reading and a record that says what did not run.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import platform
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from procedures.decision import Decision, Statement, worst
from procedures.interrupts import interrupts_deferred

if TYPE_CHECKING:  # pandas is for the readers (reports, tests): the run itself does not need it
    import pandas as pd


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def software_version() -> str:
    try:
        from importlib.metadata import version

        return version("isobench")
    except Exception:
        return "0+source"


def _clean(value: Any) -> Any:
    """JSON-safe values: non-finite floats become None, numpy scalars plain Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _measurement_dict(m: MeasurementRecord) -> dict[str, Any]:
    cached = m.__dict__.get("_json")
    if cached is None:
        cached = _clean(asdict(m))
        m.__dict__["_json"] = cached
    return cached


@dataclass
class MeasurementRecord:
    """One judged (or informative) value of one characteristic under stated conditions."""

    characteristic: str
    title: str
    step: str
    value: float
    unit: str
    statement: str
    conditions: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    predicted: float | None = None  # reference-model prediction for the same conditions
    residual: float | None = None  # measured - predicted
    note: str = ""

    @classmethod
    def judged(
        cls,
        characteristic: Any,
        step: str,
        decision: Decision,
        conditions: dict[str, Any],
        budget: dict[str, Any] | None = None,
        predicted: float | None = None,
        note: str = "",
    ) -> MeasurementRecord:
        residual = None if predicted is None else decision.y - predicted
        return cls(
            characteristic.name,
            characteristic.title,
            step,
            decision.y,
            characteristic.unit,
            decision.statement.value,
            conditions,
            decision.to_dict(),
            budget or {},
            predicted,
            residual,
            note,
        )


@dataclass
class StepRecord:
    name: str
    title: str
    status: str = "not run"  # not run | running | completed | failed | aborted | error
    started_at: str | None = None
    ended_at: str | None = None
    message: str = ""


@dataclass
class RunRecord:
    serial: str
    module_type: str
    profile: str
    station: str
    topology: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    operator: str = ""
    lot: str = ""
    supplier: str = ""
    date_code: str = ""
    ambient_c: float | None = None
    humidity_pct: float | None = None
    engineering: bool = False  # production checks overridden: "ENGINEERING RUN - NOT FOR RELEASE"
    instruments: dict[str, dict[str, str]] = field(default_factory=dict)
    software: dict[str, str] = field(
        default_factory=lambda: {
            "isobench": software_version(),
            "python": platform.python_version(),
        }
    )
    started_at: str = field(default_factory=utc_now)
    ended_at: str | None = None
    outcome: str = "running"  # running | completed | aborted
    abort_reason: str = ""
    verdict: str = Statement.INFORMATIVE.value
    steps: list[StepRecord] = field(default_factory=list)
    measurements: list[MeasurementRecord] = field(default_factory=list)
    safe_state: dict[str, str] = field(default_factory=dict)
    safe_state_verified: bool = False
    bench_time_s: float | None = None
    #: "simulator" (the simulated bench's modelled clock) or "wall" (elapsed real time; on a
    #: simulator reached through a station file this is shorter than the modelled time)
    bench_clock: str = "wall"
    lower_bound_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def step(self, name: str) -> StepRecord:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def characteristic_statements(self) -> dict[str, str]:
        """Worst statement per characteristic (judged ones only)."""
        by_char: dict[str, list[str]] = {}
        for m in self.measurements:
            by_char.setdefault(m.characteristic, []).append(m.statement)
        return {name: worst(values).value for name, values in by_char.items()}

    def compute_verdict(self) -> str:
        """Unit verdict = worst characteristic; an aborted run can never pass."""
        statement = worst(Statement(m.statement) for m in self.measurements)
        self.verdict = statement.value
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict. Measurements are append-only, so each is converted once and the
        conversion reused on every later save (the record is rewritten after every step)."""
        data: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "measurements":
                data[f.name] = [_measurement_dict(m) for m in value]
            else:
                data[f.name] = _clean([asdict(s) for s in value] if f.name == "steps" else value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        data = dict(data)
        steps = [StepRecord(**s) for s in data.pop("steps", [])]
        measurements = [MeasurementRecord(**m) for m in data.pop("measurements", [])]
        record = cls(**data)
        record.steps, record.measurements = steps, measurements
        return record


class OutputWriteError(OSError):
    """The run folder cannot be written (disk full, read-only, removed): one line."""

    def __init__(self, folder: Path, exc: OSError) -> None:
        self.message = (
            f"output folder {folder}: cannot write ({exc.strerror or exc}); free space or "
            "give --out a folder you can write to"
        )
        super().__init__(exc.errno, self.message)

    def __str__(self) -> str:
        return self.message


class Recorder:
    """Writes the record and the raw readings into one run folder as the run goes."""

    READINGS = "readings.csv"
    RECORD = "record.json"

    def __init__(self, folder: Path, record: RunRecord) -> None:
        self.folder = folder
        self.record = record
        folder.mkdir(parents=True, exist_ok=True)
        self._readings_file = (folder / self.READINGS).open("w", newline="", encoding="utf-8")
        self._writer: csv.DictWriter | None = None
        self._columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        self.save()

    # ------------------------------------------------------------------ readings
    def reading(self, **row: Any) -> None:
        """Append one raw reading row to disk immediately (flushed before returning).

        An interrupt waits until the row is written: a header rewrite cut short would lose
        the readings taken so far.
        """
        with interrupts_deferred():
            self._append_row({"timestamp": utc_now(), **row})

    def point(self, measurement: MeasurementRecord, **row: Any) -> None:
        """A reading and the measurement judged from it, written as one: an interrupt never
        leaves a row in readings.csv that the record does not have, or the other way round."""
        with interrupts_deferred():
            self._append_row({"timestamp": utc_now(), **row})
            self.record.measurements.append(measurement)

    def _append_row(self, row: dict[str, Any]) -> None:
        try:
            self._write_row(row)
        except OutputWriteError:
            raise
        except OSError as exc:
            raise OutputWriteError(self.folder, exc) from exc

    def _write_row(self, row: dict[str, Any]) -> None:
        if self._writer is None:
            self._columns = list(row)
            self._writer = csv.DictWriter(
                self._readings_file, fieldnames=self._columns, extrasaction="ignore"
            )
            self._writer.writeheader()
        else:
            for key in row:
                if key not in self._columns:
                    self._extend_columns(key)
        self._writer.writerow(row)
        self._readings_file.flush()
        self.rows.append(row)

    def _extend_columns(self, key: str) -> None:
        """A new column: rewrite the file with the wider header (rare, small files)."""
        self._columns.append(key)
        self._readings_file.close()
        with (self.folder / self.READINGS).open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=self._columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows)
        self._readings_file = (self.folder / self.READINGS).open("a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(
            self._readings_file, fieldnames=self._columns, extrasaction="ignore"
        )

    def readings(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows)

    def waveform(self, name: str, columns: dict[str, Any]) -> Path:
        """A digitised record (e.g. a step response) as its own CSV under waveforms/."""
        folder = self.folder / "waveforms"
        path = folder / f"{name}.csv"
        names = list(columns)
        data = [np.asarray(columns[name]).tolist() for name in names]
        try:
            folder.mkdir(exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(names)
                writer.writerows(zip(*data, strict=True))
        except OSError as exc:
            raise OutputWriteError(self.folder, exc) from exc
        return path

    # ------------------------------------------------------------------ record
    def measurement(self, measurement: MeasurementRecord) -> None:
        self.record.measurements.append(measurement)

    def save(self) -> None:
        """Atomic rewrite of record.json: a crash or a full disk never leaves half a file -
        the previous complete record stays until the new one is whole on disk."""
        path = self.folder / self.RECORD
        tmp = path.with_suffix(".json.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as out:
                # compact and in one piece: only json.dumps uses the C encoder (json.dump
                # streams through the pure-Python one, ~20x slower); the record is rewritten
                # after every step. Read it with any JSON viewer
                out.write(json.dumps(self.record.to_dict(), separators=(",", ":")))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise OutputWriteError(self.folder, exc) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._readings_file.flush()
            os.fsync(self._readings_file.fileno())
        with contextlib.suppress(OSError):  # a full disk: the rows written so far stay
            self._readings_file.close()
        self.save()
