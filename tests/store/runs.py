"""Run folders for the store tests, written by the real RunRecord/Recorder (no simulator)."""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

from procedures.decision import decide
from procedures.record import MeasurementRecord, Recorder, RunRecord, StepRecord, utc_now

LIMIT_A = 20e-6  # +-0.1 % of 20 mA


def make_run_folder(
    root: Path,
    serial: str = "SN-0001",
    *,
    errors: tuple[float, ...] = (1e-6, -4e-6, 6e-6),
    lot: str = "",
    n_readings: int = 8,
    widen_columns: bool = True,
    started_at: str | None = None,
    waveform: bool = True,
    extra: dict[str, Any] | None = None,
) -> Path:
    """A finished run folder (record.json + readings.csv) for one unit.

    ``errors`` are the judged transfer errors (A); ``math.nan`` gives a reading that could not be
    taken (FAIL, value None in the record). With ``widen_columns`` a column appears half-way,
    so the Recorder rewrites readings.csv with a wider header, as real runs can. With
    ``waveform`` the run also writes ``waveforms/step_response.csv``.
    """
    record = RunRecord(
        serial=serial,
        module_type="WAGO 857-411",
        profile="wago-857-411",
        station="sim",
        topology="direct",
        operator="tester",
        lot=lot,
    )
    if started_at is not None:
        record.started_at = started_at
    folder = root / f"{serial}_{record.run_id[:8]}_{uuid.uuid4().hex[:4]}"
    recorder = Recorder(folder, record)
    record.steps.append(StepRecord("transfer", "Transfer accuracy", "running", utc_now()))
    for i in range(n_readings):
        i_in = 0.004 + 0.016 * i / max(n_readings - 1, 1)
        row: dict[str, Any] = {"step": "transfer", "point": i, "i_in_a": i_in}
        row["i_out_a"] = i_in + 2e-6 * (-1) ** i
        if widen_columns and i >= n_readings // 2:
            row["dmm_range_a"] = 0.1
        recorder.reading(**row)
    for index, error in enumerate(errors):
        decision = decide(error, 4e-6, lower=-LIMIT_A, upper=LIMIT_A)
        recorder.measurement(
            MeasurementRecord(
                characteristic="transfer_error",
                title="Transfer error I_out - I_in",
                step="transfer",
                value=decision.y,
                unit="A",
                statement=decision.statement.value,
                conditions={"i_in_a": 0.004 * (index + 1), "supply_v": 24.0},
                decision=decision.to_dict(),
                budget={"u": 4e-6},
            )
        )
    if waveform:
        recorder.waveform(
            "step_response",
            {"t_s": [0.0, 1e-3, 2e-3, 5e-3], "i_out_a": [0.004, 0.0105, 0.0142, 0.0190]},
        )
    record.step("transfer").status = "completed"
    record.step("transfer").ended_at = utc_now()
    record.compute_verdict()
    record.outcome = "completed"
    record.safe_state_verified = True
    record.safe_state = {"source": "verified", "dmm": "verified"}
    record.ended_at = utc_now()
    recorder.close()
    if extra:
        edit_record(folder, **extra)
    return folder


def read_record(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "record.json").read_text(encoding="utf-8"))


def edit_record(folder: Path, **changes: Any) -> dict[str, Any]:
    data = read_record(folder)
    data.update(changes)
    (folder / "record.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    return data


NAN = math.nan
