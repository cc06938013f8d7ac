"""Behaviours every backend of the results store must show (SQLite and PostgreSQL).

Not collected by itself: ``test_store_sqlite.py`` and ``test_store_postgres.py`` subclass
:class:`StoreBehaviours` and provide the ``store_url`` fixture.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from bench.store import schema as t
from bench.store.store import ResultStore, StoreConflict, StoreError, StoreNotFound
from procedures.sampling import Severity, SwitchingState, single_sampling_plan
from tests.store.runs import NAN, edit_record, make_run_folder, read_record


def count(store: ResultStore, table: sa.Table, **where: str) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for key, value in where.items():
        query = query.where(table.c[key] == value)
    with store.engine.connect() as conn:
        return int(conn.scalar(query) or 0)


class StoreBehaviours:
    """Shared tests; subclasses provide ``store_url``."""

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[ResultStore]:
        with ResultStore.open(store_url) as store:
            yield store

    # ------------------------------------------------------------------ runs
    def test_add_run_keeps_record_measurements_and_raw_readings(
        self, store: ResultStore, run_root: Path
    ) -> None:
        folder = make_run_folder(run_root, "SN-A1", lot="LOT-1", errors=(1e-6, 15e-6, -30e-6))
        record = read_record(folder)

        result = store.add_run(folder)

        assert (result.run_id, result.status) == (record["run_id"], "added")
        run = store.run(record["run_id"])
        assert run["record"] == record  # the whole record.json, nothing lost
        for key in ("serial", "module_type", "lot", "station", "operator", "outcome", "verdict"):
            assert run[key] == record[key]
        assert run["started_at"] == record["started_at"]  # UTC, ...Z, milliseconds
        assert run["ended_at"] == record["ended_at"]
        assert run["safe_state_verified"] is True
        assert run["engineering"] is False
        assert run["profile"] == "wago-857-411"
        assert run["software_version"] == record["software"]["isobench"]
        assert run["verdict"] == "fail"

        stored = run["measurements"]
        assert [m["seq"] for m in stored] == [0, 1, 2]
        for m, original in zip(stored, record["measurements"], strict=True):
            decision = original["decision"]
            assert m["characteristic"] == original["characteristic"]
            assert m["statement"] == original["statement"]
            assert m["value"] == pytest.approx(original["value"], rel=1e-12)
            assert m["lower"] == pytest.approx(decision["lower"])
            assert m["upper"] == pytest.approx(decision["upper"])
            assert m["U"] == pytest.approx(decision["U"])
            assert m["tur"] == pytest.approx(decision["tur"])
            assert m["conformance_probability"] == pytest.approx(
                decision["conformance_probability"]
            )
            assert m["conditions_json"] == original["conditions"]

        csv_bytes = (folder / "readings.csv").read_bytes()
        assert run["readings"]["sha256"] == hashlib.sha256(csv_bytes).hexdigest()
        assert run["readings"]["n_rows"] == 8
        assert run["readings"]["columns"][-1] == "dmm_range_a"  # header widened mid-run
        pd.testing.assert_frame_equal(
            store.readings(record["run_id"]), pd.read_csv(folder / "readings.csv")
        )

        wave_bytes = (folder / "waveforms" / "step_response.csv").read_bytes()
        assert run["waveforms"] == {
            "step_response": {"n_rows": 4, "sha256": hashlib.sha256(wave_bytes).hexdigest()}
        }
        pd.testing.assert_frame_equal(
            store.waveforms(record["run_id"])["step_response"],
            pd.read_csv(folder / "waveforms" / "step_response.csv"),
        )

        [original] = run["verdicts"]
        assert original["kind"] == "original"
        assert original["verdict"] == "fail"
        assert original["profile"] == "wago-857-411"
        assert original["detail"]["characteristics"] == {"transfer_error": "fail"}

    def test_add_run_is_idempotent_on_run_id(self, store: ResultStore, run_root: Path) -> None:
        folder = make_run_folder(run_root, "SN-A2")
        first = store.add_run(folder)
        again = store.add_run(folder)

        assert (first.status, again.status) == ("added", "exists")
        assert count(store, t.runs) == 1
        assert count(store, t.measurements) == 3
        assert count(store, t.readings) == 1
        assert count(store, t.waveforms) == 1
        assert count(store, t.verdicts) == 1

    def test_different_record_under_stored_run_id_is_refused(
        self, store: ResultStore, run_root: Path
    ) -> None:
        folder = make_run_folder(run_root, "SN-A3")
        run_id = store.add_run(folder).run_id
        edit_record(folder, verdict="pass", operator="someone else")

        with pytest.raises(StoreConflict, match=rf"run {run_id} is already stored"):
            store.add_run(folder)
        assert store.run(run_id)["operator"] == "tester"

    def test_concurrent_add_of_the_same_run_stores_it_once(
        self, store_url: str, run_root: Path
    ) -> None:
        folder = make_run_folder(run_root, "SN-A4")
        ResultStore.open(store_url).close()  # schema in place before the race
        statuses: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(3)

        def worker() -> None:
            try:
                with ResultStore.open(store_url) as store:
                    barrier.wait(timeout=10)
                    statuses.append(store.add_run(folder).status)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors
        assert sorted(statuses) == ["added", "exists", "exists"]
        with ResultStore.open(store_url) as store:
            assert count(store, t.runs) == 1
            assert count(store, t.measurements) == 3

    def test_history_lists_the_serials_runs_oldest_first(
        self, store: ResultStore, run_root: Path
    ) -> None:
        late = make_run_folder(run_root, "SN-H1", started_at="2025-03-02T08:00:00.000Z")
        early = make_run_folder(
            run_root, "SN-H1", started_at="2025-03-01T08:00:00.000Z", errors=(30e-6,)
        )
        other = make_run_folder(run_root, "SN-H2")
        for folder in (late, early, other):
            store.add_run(folder)

        history = store.history("SN-H1")

        assert [h["run_id"] for h in history] == [
            read_record(early)["run_id"],
            read_record(late)["run_id"],
        ]
        assert [h["verdict"] for h in history] == ["fail", "pass"]
        assert history[0]["started_at"] == "2025-03-01T08:00:00.000Z"
        assert all(len(h["verdicts"]) == 1 for h in history)
        assert "record_json" not in history[0]
        assert store.history("SN-NONE") == []

    def test_unreadable_values_and_missing_readings_are_kept_as_missing(
        self, store: ResultStore, run_root: Path
    ) -> None:
        folder = make_run_folder(
            run_root, "SN-N1", errors=(NAN, 2e-6), n_readings=0, waveform=False
        )
        (folder / "readings.csv").unlink()
        record = read_record(folder)

        store.add_run(folder, engineering=True)

        run = store.run(record["run_id"])
        assert run["measurements"][0]["value"] is None
        assert run["measurements"][0]["statement"] == "fail"
        assert run["engineering"] is True
        assert run["readings"] == {"n_rows": 0, "columns": None, "sha256": None}
        assert store.readings(record["run_id"]).empty
        assert run["waveforms"] == {}
        assert store.waveforms(record["run_id"]) == {}

    def test_not_a_run_folder_is_one_line_error(self, store: ResultStore, tmp_path: Path) -> None:
        with pytest.raises(StoreError, match=r"no record\.json") as info:
            store.add_run(tmp_path)
        assert "\n" not in str(info.value)
        (tmp_path / "record.json").write_text('{"serial": "X"}', encoding="utf-8")
        with pytest.raises(StoreError, match="'run_id' missing"):
            store.add_run(tmp_path)

    def test_unknown_run_is_not_found(self, store: ResultStore) -> None:
        for call in (store.run, store.readings, store.export_run):
            with pytest.raises(StoreNotFound, match="no run nope"):
                call("nope")
        assert store.verdicts("nope") == []
        with pytest.raises(StoreNotFound):
            store.add_verdict("nope", "p", None, "pass", {})

    # ------------------------------------------------------------------ verdicts
    def test_rejudge_verdicts_live_beside_the_original(
        self, store: ResultStore, run_root: Path
    ) -> None:
        run_id = store.add_run(make_run_folder(run_root, "SN-V1", errors=(15e-6,))).run_id
        assert store.run(run_id)["verdict"] == "conditional pass"

        first = store.add_verdict(
            run_id, "wago-857-411-wide.toml", "sha256:aa", "pass", {"why": "limits widened"}
        )
        second = store.add_verdict(
            run_id, "wago-857-411-tight.toml", "sha256:bb", "fail", {"u_scale": math.inf}
        )

        verdicts = store.verdicts(run_id)
        assert [v["kind"] for v in verdicts] == ["original", "rejudge", "rejudge"]
        assert [v["verdict"] for v in verdicts] == ["conditional pass", "pass", "fail"]
        assert [v["id"] for v in verdicts[1:]] == [first, second]
        assert verdicts[1]["profile_digest"] == "sha256:aa"
        assert verdicts[1]["detail"] == {"why": "limits widened"}
        assert verdicts[2]["detail"] == {"u_scale": None}  # non-finite -> null, valid JSON
        assert store.run(run_id)["verdict"] == "conditional pass"  # the original is untouched

        with pytest.raises(StoreConflict, match="already has its original verdict"):
            store.add_verdict(run_id, "x", None, "pass", {}, kind="original")
        with pytest.raises(StoreError, match="verdict kind"):
            store.add_verdict(run_id, "x", None, "pass", {}, kind="override")
        with pytest.raises(StoreError, match="unknown verdict"):
            store.add_verdict(run_id, "x", None, "ok", {})
        assert len(store.verdicts(run_id)) == 3

    # ------------------------------------------------------------------ lots
    def test_lot_lifecycle(self, store: ResultStore, run_root: Path) -> None:
        plan = single_sampling_plan(50, 1.0, "II")
        lot = store.create_lot("LOT-7", "ACME", plan)
        assert lot["status"] == "open"
        assert (lot["lot_size"], lot["sample_size"], lot["accept"], lot["reject"]) == (
            plan.lot_size,
            plan.sample_size,
            plan.accept,
            plan.reject,
        )
        assert (lot["code_letter"], lot["level"], lot["severity"]) == (
            plan.code_letter,
            "II",
            "normal",
        )
        assert lot["aql"] == pytest.approx(1.0)
        assert lot["plan"]["source"] == plan.source
        assert lot["n_units"] == 0
        with pytest.raises(StoreConflict, match="lot LOT-7 already exists"):
            store.create_lot("LOT-7", "ACME", plan)

        stored = store.add_run(make_run_folder(run_root, "SN-L1", lot="LOT-7")).run_id
        assert store.add_unit_to_lot("LOT-7", stored) is True
        assert store.add_unit_to_lot("LOT-7", stored) is False  # once only
        assert store.add_unit_to_lot("LOT-7", "queued-elsewhere") is True

        units = store.lot_units("LOT-7")
        assert [(u["run_id"], u["stored"]) for u in units] == [
            (stored, True),
            ("queued-elsewhere", False),
        ]
        assert units[0]["serial"] == "SN-L1"
        assert units[0]["verdict"] == "pass"
        assert units[1]["serial"] is None
        assert store.lot("LOT-7")["n_units"] == 2
        assert [r["run_id"] for r in store.runs(lot="LOT-7")] == [stored]
        assert [x["lot_id"] for x in store.lots(status="open")] == ["LOT-7"]

        closed = store.close_lot("LOT-7", "accept", "0 nonconforming in 8; Ac = 0: accept")
        assert closed["status"] == "closed"
        assert closed["disposition"] == "accept"
        assert closed["closed_at"] is not None
        with pytest.raises(StoreConflict, match="already closed"):
            store.close_lot("LOT-7", "reject", "changed my mind")
        with pytest.raises(StoreConflict, match="closed"):
            store.add_unit_to_lot("LOT-7", "late-unit")
        assert store.lot("LOT-7")["disposition"] == "accept"
        assert store.lots(status="open") == []

        for call in (store.lot, store.lot_units):
            with pytest.raises(StoreNotFound, match="no lot LOT-0"):
                call("LOT-0")
        with pytest.raises(StoreNotFound):
            store.close_lot("LOT-0", "accept", "")

    # ------------------------------------------------------------------ suppliers
    def test_supplier_switching_state_round_trip(self, store: ResultStore) -> None:
        assert store.switching_state("ACME") is None
        state = SwitchingState(
            severity=Severity.TIGHTENED,
            consecutive_accepts_tightened=2,
            lots_not_accepted_while_tightened=1,
        )
        assert store.put_switching_state("ACME", state) == 1
        assert store.switching_state("ACME") == state
        row = store.supplier("ACME")
        assert row is not None
        assert row["switching_state"] == state.to_dict()
        assert row["revision"] == 1

        newer = SwitchingState(recent_results=(True, True), switching_score=4)
        assert store.put_switching_state("ACME", newer.to_dict(), expected_revision=1) == 2
        assert store.switching_state("ACME") == newer
        with pytest.raises(StoreConflict, match="revision 2, expected 1"):
            store.put_switching_state("ACME", state, expected_revision=1)
        assert store.switching_state("ACME") == newer
        with pytest.raises(ValueError, match="unknown switching-state keys"):
            store.put_switching_state("ACME", {"severity": "normal", "bogus": 1})
