"""Local-first store-and-forward to the central database.

:func:`publish` stores a finished run in the bench's own SQLite store first, then writes an
outbox entry, then tries the central database; the entry is removed only after the central
commit succeeded. Whatever fails (network, server down, crash in between) leaves the entry in
the outbox and the run in the local store, so :func:`sync` (``isobench sync``) can upload it
later. Uploads are idempotent on run_id, so a run uploaded twice (a crash after the central
commit but before the entry was removed, two syncs at once) is stored once.

Nothing here deletes a run folder or anything in the local store; only outbox entries are
removed, and only after their run is in the central database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.store.store import (
    RECORD_FILE,
    ResultStore,
    RunData,
    StoreError,
    StoreNotFound,
    StoreUnavailable,
    data_dir,
    local_url,
    mask_url,
)

__all__ = [
    "LocalQueue",
    "PublishResult",
    "QueueEntry",
    "SyncReport",
    "default_outbox",
    "publish",
    "sync",
]

ENTRY_SCHEMA = "isobench.outbox/1"
_SAFE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def default_outbox() -> Path:
    return data_dir() / "outbox"


def database_key(url: str) -> str:
    """One name per database, however its URL is spelt (a SQLite file by its resolved path,
    a server database by host, port and name): the folder of that database's outbox."""
    try:
        parsed = make_url(url)
    except Exception:
        raise StoreError(f"not a database URL: {mask_url(url)}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = (parsed.database or "").removeprefix("file:").split("?")[0]
        ident = "sqlite:" + (str(Path(path).resolve()) if path else ":memory:")
        slug = Path(path).stem or "memory"
    else:
        ident = f"{backend}://{parsed.host or 'localhost'}:{parsed.port or ''}/{parsed.database}"
        slug = f"{parsed.host or 'localhost'}-{parsed.database or ''}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', slug)[:40]}-{digest}"


def outbox_for(url: str) -> LocalQueue:
    """The outbox of one database: runs queued for it wait there, and only there."""
    return LocalQueue(default_outbox() / database_key(url))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class QueueEntry:
    """One queued run: its id, where its folder was, and what happened at the last try."""

    run_id: str
    folder: str
    queued_at: str
    attempts: int = 0
    last_error: str = ""
    last_attempt_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": ENTRY_SCHEMA,
            "run_id": self.run_id,
            "folder": self.folder,
            "queued_at": self.queued_at,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_attempt_at": self.last_attempt_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueEntry:
        if data.get("schema") != ENTRY_SCHEMA:
            raise ValueError(f"unsupported outbox entry schema {data.get('schema')!r}")
        return cls(
            run_id=str(data["run_id"]),
            folder=str(data.get("folder", "")),
            queued_at=str(data.get("queued_at", "")),
            attempts=int(data.get("attempts", 0)),
            last_error=str(data.get("last_error", "")),
            last_attempt_at=data.get("last_attempt_at"),
        )


class LocalQueue:
    """The outbox: one small JSON file per pending run, ``<folder>/<run_id>.json``.

    An entry points at the run (its id, and its run folder as a fallback); the data itself is
    in the local store. Entries are written atomically (temp file + rename).
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_outbox()

    def _path(self, run_id: str) -> Path:
        if not _SAFE_ID.fullmatch(run_id):
            raise StoreError(f"run id {run_id!r} cannot name an outbox entry")
        return self.folder / f"{run_id}.json"

    def _write(self, entry: QueueEntry) -> None:
        path = self._path(entry.run_id)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{entry.run_id}.", suffix=".tmp", dir=self.folder)
        except OSError as exc:
            raise StoreError(f"outbox {self.folder}: cannot write: {exc}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entry.to_dict(), out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StoreError(f"outbox {path}: cannot write: {exc}") from None
            raise

    def put(self, run_id: str, folder: Path | str) -> QueueEntry:
        """Queue a run (keeps the attempt count of an entry already there)."""
        entry = self.get(run_id) or QueueEntry(run_id, str(Path(folder).resolve()), _now())
        entry.folder = str(Path(folder).resolve())
        self._write(entry)
        return entry

    def get(self, run_id: str) -> QueueEntry | None:
        path = self._path(run_id)
        try:
            return QueueEntry.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"outbox entry {path} unreadable: {exc}") from None

    def record_failure(self, run_id: str, error: str) -> None:
        """Note a failed attempt on the entry (bookkeeping only: never raises)."""
        with contextlib.suppress(StoreError):
            entry = self.get(run_id)
            if entry is None:
                return
            entry.attempts += 1
            entry.last_error = error
            entry.last_attempt_at = _now()
            self._write(entry)

    def remove(self, run_id: str) -> None:
        path = self._path(run_id)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"outbox {path}: cannot remove: {exc}") from None

    def run_ids(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if _SAFE_ID.fullmatch(p.stem))

    def entries(self) -> list[QueueEntry]:
        """Queued runs, oldest first (unreadable entry files are skipped, never deleted)."""
        return self.scan()[0]

    def scan(self) -> tuple[list[QueueEntry], dict[str, str]]:
        """Readable entries oldest first, and ``{run_id: reason}`` for unreadable ones."""
        entries: list[QueueEntry] = []
        broken: dict[str, str] = {}
        for run_id in self.run_ids():
            try:
                entry = self.get(run_id)
            except StoreError as exc:
                broken[run_id] = str(exc)
                continue
            if entry is not None:
                entries.append(entry)
        return sorted(entries, key=lambda e: (e.queued_at, e.run_id)), broken

    def __len__(self) -> int:
        return len(self.run_ids())

    def __contains__(self, run_id: object) -> bool:
        return isinstance(run_id, str) and run_id in self.run_ids()

    def __iter__(self) -> Iterator[QueueEntry]:
        return iter(self.entries())


@dataclass
class PublishResult:
    run_id: str
    local: str  # 'added' | 'exists'
    central: str  # 'uploaded' | 'exists' | 'queued' | 'local-only'
    message: str = ""  # one line, set when queued

    @property
    def queued(self) -> bool:
        return self.central == "queued"


@dataclass
class SyncReport:
    central: str  # masked URL
    uploaded: list[str] = field(default_factory=list)  # newly stored centrally
    already: list[str] = field(default_factory=list)  # were already there (idempotent)
    failed: dict[str, str] = field(default_factory=dict)  # run_id -> one-line reason
    remaining: int = 0  # entries still queued afterwards
    message: str = ""  # one line when the central database could not be reached at all

    @property
    def ok(self) -> bool:
        return not self.failed and not self.message and self.remaining == 0


@contextlib.contextmanager
def _local(local_store: ResultStore | str | None) -> Iterator[ResultStore]:
    if isinstance(local_store, ResultStore):
        yield local_store
        return
    store = ResultStore.open(local_store or local_url())
    try:
        yield store
    finally:
        store.close()


def _run_data(entry_folder: str, run_id: str, local: ResultStore | None) -> RunData:
    """The run from the local store; from its folder if the local store lacks it."""
    if local is not None:
        with contextlib.suppress(StoreNotFound):
            return local.export_run(run_id)
    folder = Path(entry_folder)
    if (folder / RECORD_FILE).is_file():
        return RunData.from_folder(folder)
    raise StoreError(
        f"run {run_id} is neither in the local store {local.url if local else '(unreadable)'} "
        f"nor in its folder {folder}; "
        "its outbox entry is kept"
    )


def publish(
    folder: Path,
    central_url: str | None,
    local_store: ResultStore | str | None = None,
    queue: LocalQueue | None = None,
    record: dict[str, Any] | None = None,
) -> PublishResult:
    """Store the run in ``folder`` locally, then centrally (or queue it for :func:`sync`).

    ``record`` replaces the folder's record.json when the run folder could not take the
    complete record (a full disk: the store must say how the run ended).

    No run is lost: a local store that cannot take it (corrupted, read-only, unwritable)
    queues the run in the local database's outbox, and the central upload then reads the run
    folder. Any failure of the central database returns ``central == 'queued'`` with a
    one-line message; ``queue`` is the central database's outbox (default: its own).
    """
    folder = Path(folder)
    data: RunData | None = None
    local_status, local_message = "added", ""
    try:
        with _local(local_store) as local:
            if record is not None:
                on_disk = RunData.from_folder(folder)
                added = local.import_run(
                    RunData(record, on_disk.readings_csv, None, str(folder), on_disk.waveforms)
                )
            else:
                added = local.add_run(folder)
            local_status = added.status
            if central_url:
                data = local.export_run(added.run_id)
    except StoreError as exc:
        data = RunData.from_folder(folder)  # raises if the folder has no readable record
        target = local_store.url if isinstance(local_store, ResultStore) else local_store
        outbox_for(target or local_url()).put(data.run_id, folder)
        local_status = "queued"
        local_message = (
            f"{exc}; run {data.run_id} queued for the local store, import it with "
            "'isobench sync' once the store is repaired"
        )
    assert data is not None or not central_url
    run_id = data.run_id if data is not None else added.run_id
    if not central_url:
        return PublishResult(run_id, local_status, "local-only", local_message)
    queue = queue if queue is not None else outbox_for(central_url)
    queue.put(run_id, folder)  # before the upload: a crash mid-way loses nothing
    try:
        with ResultStore.open(central_url) as central:
            status = central.import_run(data).status  # type: ignore[arg-type]
            _join_lot_of(central, data)  # type: ignore[arg-type]
    except StoreError as exc:
        message = f"{exc}; run {run_id} queued, upload later with 'isobench sync'"
        queue.record_failure(run_id, str(exc))
        return PublishResult(
            run_id, local_status, "queued", "; ".join(filter(None, [local_message, message]))
        )
    queue.remove(run_id)
    return PublishResult(
        run_id, local_status, "uploaded" if status == "added" else "exists", local_message
    )


def _join_lot_of(store: ResultStore, data: RunData) -> None:
    """A run whose record names an open lot of this database joins it (a run queued while
    the database was away, or imported by sync, keeps its lot membership)."""
    lot = str(data.record.get("lot") or "")
    if not lot:
        return
    with contextlib.suppress(StoreError):
        if store.lot(lot)["status"] == "open":
            store.add_unit_to_lot(lot, data.run_id)


def sync(
    central_url: str,
    local_store: ResultStore | str | None = None,
    queue: LocalQueue | None = None,
) -> SyncReport:
    """Upload every queued run; an entry is removed only after its run is committed centrally.

    If the central database cannot be reached, nothing changes and ``message`` says why. A run
    that fails for another reason (e.g. a conflicting record) stays queued with its reason in
    ``failed`` and the others still go.
    """
    if not central_url:
        raise StoreError("no central database URL configured; nothing to sync to")
    queue = queue if queue is not None else outbox_for(central_url)
    report = SyncReport(central=mask_url(central_url))
    entries, broken = queue.scan()
    report.failed.update(broken)  # reported every time, kept for a human to look at
    report.remaining = len(broken)
    if not entries:
        return report
    try:
        central = ResultStore.open(central_url)
    except StoreError as exc:
        for entry in entries:
            queue.record_failure(entry.run_id, str(exc))
        report.message = str(exc)
        report.remaining = len(queue)
        return report
    with central, contextlib.ExitStack() as stack:
        local: ResultStore | None = None
        with contextlib.suppress(StoreError):  # a broken local store: the run folders serve
            local = stack.enter_context(_local(local_store))
        for entry in entries:
            try:
                data = _run_data(entry.folder, entry.run_id, local)
                status = central.import_run(data).status
                _join_lot_of(central, data)
            except StoreUnavailable as exc:  # lost the connection: stop, keep the rest
                queue.record_failure(entry.run_id, str(exc))
                report.message = str(exc)
                break
            except StoreError as exc:
                queue.record_failure(entry.run_id, str(exc))
                report.failed[entry.run_id] = str(exc)
                continue
            queue.remove(entry.run_id)
            (report.uploaded if status == "added" else report.already).append(entry.run_id)
    report.remaining = len(queue)
    return report
