"""The station controller: the panel's actions checked against the state, the run on a worker.

The run itself is the runner's (``bench.runner``): the controller builds the request from what
the operator entered, runs it on one worker thread with a listener that feeds the state, and
forwards an abort to the runner's ``RunControl`` (handled exactly like Ctrl-C). Lots, the
repeated-serial warning and the last units come from the results store the CLI uses.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.panel.state import UNIT_TIME_FORMAT, Notice, PanelConflict, PanelState, Phase
from bench.station import Station

log = logging.getLogger(__name__)

#: how often the station lock's holder note is read (another process may take the station)
LOCK_POLL_S = 1.0
STOPPED = "the operator station was stopped (Ctrl-C)"


@dataclass
class PanelConfig:
    station: str  # "sim" or a station .toml path (as for isobench inspect)
    profile: str = "wago-857-411"
    plan: str = "full"
    out_dir: Path = Path("isobench-output")
    db_url: str | None = None
    operator: str = ""
    lot: str = ""
    engineering: bool = False
    #: options of the built-in simulated station (as for isobench inspect --station sim)
    sim: dict[str, Any] = field(default_factory=dict)


class PanelController:
    def __init__(self, config: PanelConfig, display_station: Station) -> None:
        self.config = config
        self.station = display_station
        self.state = PanelState(operator=config.operator)
        self._worker: threading.Thread | None = None
        self._control: Any = None  # the active run's bench.events.RunControl
        self._reports: dict[str, dict[str, str]] = {}  # run_id -> {kind: path}
        self._closing = threading.Event()
        #: wall durations of this panel's completed runs (the expected time of the next)
        self._durations: list[float] = []
        self._stored_durations: list[float] = []
        self._poller: threading.Thread | None = None
        if config.lot:
            self.state.update_lot(self._lot_view(config.lot))
        self.state.set_units(self._recent_units())

    # ------------------------------------------------------------------ life cycle
    def start_background(self) -> None:
        """Watch the station lock's holder note (a second ``isobench station``, a CLI run)."""
        if self.config.station == "sim":
            return  # every simulated run has its own simulator: nothing shared to watch
        self._poller = threading.Thread(target=self._poll_lock, name="panel-lock", daemon=True)
        self._poller.start()

    def _poll_lock(self) -> None:
        while not self._closing.wait(LOCK_POLL_S):
            self._refresh_lock()

    def _refresh_lock(self) -> None:
        if self.config.station == "sim":
            return
        from bench.lock import lock_holder

        try:
            holder = lock_holder(self.station)
        except Exception:  # a note being rewritten: read it next time
            return
        self.state.set_lock_holder(_holder_dict(holder))

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def shutdown(self, timeout_s: float = 120.0) -> bool:
        """Stop: abort an active run and wait until the runner has made the bench safe.

        Returns whether the worker finished (False only if it is still running after
        ``timeout_s``: the runner is stuck in an instrument call longer than its timeouts)."""
        self._closing.set()
        self.state.wake()  # the event streams see the station closing and end
        self.abort(STOPPED)
        worker = self._worker
        if worker is not None:
            worker.join(timeout_s)
            return not worker.is_alive()
        return True

    # ------------------------------------------------------------------ operator
    def set_operator(self, name: str, lot_id: str | None = None) -> None:
        lot = self._lot_view(lot_id) if lot_id else None
        self.state.set_operator(name)
        if lot_id is not None:
            self.state.set_lot(lot)

    def choose_lot(self, lot_id: str) -> None:
        self.state.set_lot(self._lot_view(lot_id) if lot_id else None)

    def open_lot(
        self, lot_size: int, aql: float, supplier: str, level: str = "II", lot_id: str = ""
    ) -> dict[str, Any]:
        from bench.records_cli import start_lot

        with self._store() as store:
            lot, _ = start_lot(store, lot_size, aql, supplier.strip(), level, lot_id or None)
        self.state.set_lot(self._lot_view(lot["lot_id"]))
        return lot

    def open_lots(self) -> list[dict[str, Any]]:
        try:
            with self._store() as store:
                return store.lots(status="open")
        except Exception as exc:  # the setup screen still works without the store
            log.warning("open lots not listed: %s", exc)
            return []

    def scan(self, serial: str) -> None:
        """Validate a scanned serial (the CLI's rules, then the profile's serial pattern);
        on success the instruction screen shows, with a warning for a serial seen before."""
        from bench.cli import _serial
        from procedures.profile import ProfileError, resolve_profile

        if self.state.running:
            raise PanelConflict(f"scan: {self.state._busy_text()}")
        try:
            value = _serial(serial)
        except Exception as exc:
            text = f"serial {serial.strip()!r}: {exc}"
            self.state.refuse(text)
            raise PanelConflict(text) from None
        try:
            resolve_profile(self.config.profile).check_serial(value)
        except ProfileError as exc:  # a pattern the serial misses, or a profile not usable
            self.state.refuse(str(exc))
            raise PanelConflict(str(exc)) from None
        self.state.scanned(value, self._repeat_notes(value))

    def _repeat_notes(self, serial: str) -> list[Notice]:
        """A serial seen before warns: in the lot, how this run will count under the lot's
        retest policy (the runner's own sentence); else its last stored run and verdict."""
        from bench.records_cli import repeated_serial_count

        lot_id = (self.state.lot or {}).get("lot_id", "")
        counted = bool(lot_id) and not self.config.engineering  # engineering runs never count
        try:
            with self._store() as store:
                runs = store.history(serial)
                count = repeated_serial_count(store, store.lot(lot_id), serial) if counted else None
        except Exception as exc:
            log.warning("history of %s not read: %s", serial, exc)
            return []
        if count is not None:
            return [Notice("warning", count.text, f"repeat_{count.case}", asdict(count))]
        if not runs:
            return []
        last = runs[-1]
        notes = [
            _notice(
                "warning",
                "repeated_serial",
                serial=serial,
                n=len(runs),
                when=_local_time(last["started_at"], "%Y-%m-%d %H:%M"),
                verdict=(last["verdict"] or "informative")
                if last["outcome"] != "aborted"
                else "aborted",
                lot=last["lot"] or "-",
            )
        ]
        if counted:
            notes.append(_notice("info", "repeat_not_in_lot", lot=lot_id))
        return notes

    # ------------------------------------------------------------------ runs
    def start(self, serial: str = "") -> None:
        self.state.begin_run(serial, self._expected_s())
        snapshot = self.state.snapshot()
        self._worker = threading.Thread(
            target=self._run, args=(snapshot["run"]["serial"],), name="panel-run", daemon=True
        )
        self._worker.start()

    def _run(self, serial: str) -> None:
        from bench.errors import one_line
        from bench.events import RunControl
        from bench.runner import Runner

        control = RunControl()
        self._control = control
        if self._closing.is_set():
            control.abort(STOPPED)
        lot = self.state.lot
        started = time.monotonic()
        try:
            result = Runner(self._request(serial), self._on_event, control).run()
        except Exception as exc:  # refused before anything was switched on
            self.state.start_failed(one_line(exc))
            return
        finally:
            self._control = None
        self._refresh_lock()  # released: say so now, not at the next poll
        record = result.record
        self._reports[record.run_id] = {k: str(v) for k, v in result.reports.items()}
        self.state.set_identities({r: i.get("idn", "") for r, i in record.instruments.items()})
        if record.outcome == "completed":
            self._durations.append(time.monotonic() - started)
        if lot:
            self.state.update_lot(self._lot_view(lot["lot_id"]))

    def _expected_s(self) -> float | None:
        """Typical wall time from Start to verdict: this panel's last completed runs, else
        the station's last stored ones (start to stored, reports included)."""
        recent = self._durations[-5:] or self._stored_durations[-5:]
        return statistics.median(recent) if recent else None

    def _request(self, serial: str) -> Any:
        from bench.runner import RunRequest

        lot = self.state.lot
        return RunRequest(
            station=self.config.station,
            serial=serial,
            profile=self.config.profile,
            plan=self.config.plan,
            operator=self.state.operator,
            lot=lot["lot_id"] if lot else "",
            engineering=self.config.engineering,
            out_dir=self.config.out_dir,
            db_url=self.config.db_url,
            front_end="panel",
        )

    def _on_event(self, event: Any) -> None:
        self.state.on_event(event.kind, event.data)

    def abort(self, reason: str) -> bool:
        """Ask the runner to abort the active run (returns at once; False if none is active)."""
        requested = self.state.request_abort(reason)
        control = self._control
        if control is not None:
            control.abort(reason)
        return requested

    def cancel(self) -> None:
        self.state.cancel()

    def report_file(self, run_id: str, kind: str) -> Path | None:
        path = self._reports.get(run_id, {}).get(kind)
        return Path(path) if path else None

    # ------------------------------------------------------------------ the store
    def _store(self) -> Any:
        from bench.store import ResultStore, default_url

        return ResultStore.open(self.config.db_url or self._station_db() or default_url())

    def _station_db(self) -> str | None:
        return self.station.station.database_url

    def _lot_view(self, lot_id: str) -> dict[str, Any]:
        from bench.records_cli import lot_counts
        from bench.store import StoreError

        try:
            with self._store() as store:
                lot = store.lot(lot_id)
                inspected, nonconforming = lot_counts(store, lot)  # distinct units
        except StoreError as exc:
            text = f"lot {lot_id}: {exc}"
            self.state.refuse(text)
            raise PanelConflict(text) from None
        lot.pop("plan", None)
        lot["tally"] = {"inspected": inspected, "nonconforming": nonconforming}
        return _jsonable(lot)

    def _recent_units(self) -> list[dict[str, Any]]:
        """The station's last stored units (and how long they took, for the expected time)."""
        try:
            with self._store() as store:
                runs = [r for r in store.runs() if r["station"] == self.station.name][-20:]
        except Exception as exc:
            log.warning("last units not read: %s", exc)
            return []
        for r in runs:
            took = _seconds_between(r.get("started_at"), r.get("created_at"))
            if r["outcome"] == "completed" and took is not None:
                self._stored_durations.append(took)
        return [
            {
                "serial": r["serial"],
                "run_id": r["run_id"],
                "verdict": r["verdict"],
                "outcome": r["outcome"],
                "engineering": bool(r["engineering"]),
                "safe_state_verified": bool(r["safe_state_verified"]),
                "ended": _local_time(r["ended_at"] or r["started_at"], UNIT_TIME_FORMAT),
            }
            for r in reversed(runs)
        ]


def _notice(level: str, key: str, **values: Any) -> Notice:
    """A notice from the panel's catalogue: English text, and the key and blanks per tab."""
    from bench.panel.i18n import notice_text, translator

    note = {"key": key, "values": values}
    return Notice(level, notice_text(note, translator("en")), key, values)


def _local_time(stamp: Any, form: str) -> str:
    """A stored UTC time stamp as the bench's local clock time (as the panel's own runs)."""
    try:
        return datetime.fromisoformat(str(stamp)).astimezone().strftime(form)
    except ValueError:
        return ""


def _seconds_between(start: Any, end: Any) -> float | None:
    try:
        seconds = datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
    except ValueError:
        return None
    return seconds.total_seconds() if seconds.total_seconds() >= 0 else None


def _holder_dict(holder: Any) -> dict[str, Any] | None:
    if holder is None:
        return None
    return asdict(holder)


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}


__all__ = ["PanelConfig", "PanelConflict", "PanelController", "Phase"]
