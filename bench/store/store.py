"""ResultStore: runs, readings, verdicts, lots and supplier switching state in one database.

``ResultStore.open(url)`` connects (SQLite file or PostgreSQL), migrates the schema to the
newest revision and returns the store. Every database problem surfaces as a
:class:`StoreError` whose ``str()`` is one line naming the database (password masked);
connection problems are the subclass :class:`StoreUnavailable` (``bench.store.sync`` queues the
run on those).

Nothing here updates a stored run or verdict, and nothing deletes anything: runs are
idempotent on ``run_id`` (the same record twice is a no-op, a different record under a known
run_id is refused with :class:`StoreConflict`), re-judgements are new ``verdicts`` rows beside
the original, and a closed lot cannot be closed again.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import ntpath
import os
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench.store import schema as t
from bench.store.migrate import MigrationFailed, SchemaTooNew, upgrade_to_head
from procedures.decision import Statement, worst

if TYPE_CHECKING:  # pandas only where readings are read back (history, rejudge): not per run
    import pandas as pd
from procedures.sampling import SwitchingState

__all__ = [
    "AddResult",
    "ResultStore",
    "RunData",
    "StoreConflict",
    "StoreError",
    "StoreNotFound",
    "StoreUnavailable",
    "check_url",
    "data_dir",
    "default_url",
    "local_url",
    "mask_url",
]

ENV_URL = "ISOBENCH_DB_URL"
RECORD_FILE = "record.json"
READINGS_FILE = "readings.csv"
WAVEFORMS_DIR = "waveforms"
VERDICTS = tuple(s.value for s in Statement)


# ------------------------------------------------------------------------------------ errors
class StoreError(Exception):
    """A results-store problem; ``str()`` is one line naming the database."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (refused, timed out, no such database, file locked)."""


class StoreConflict(StoreError):
    """Refused to overwrite: a different record under a known run_id, a stale revision."""


class StoreNotFound(StoreError, LookupError):
    """No such run or lot in this database."""


RunConflict = StoreConflict  # the name the CLI may prefer for the add-run case


# ------------------------------------------------------------------------------------ places
def data_dir_for(environ: Mapping[str, str], windows: bool, home: str) -> str:
    """The data folder as text for a given environment (pure; :func:`data_dir` applies it)."""
    if windows:
        base = environ.get("LOCALAPPDATA") or ntpath.join(home, "AppData", "Local")
        return ntpath.join(base, "isobench")
    xdg = environ.get("XDG_DATA_HOME", "")
    base = xdg if posixpath.isabs(xdg) else posixpath.join(home, ".local", "share")
    return posixpath.join(base, "isobench")


def data_dir() -> Path:
    """The user's isobench data folder (not created here).

    ``%LOCALAPPDATA%\\isobench`` on Windows; ``$XDG_DATA_HOME/isobench`` (if set and absolute)
    or ``~/.local/share/isobench`` elsewhere.
    """
    return Path(data_dir_for(os.environ, os.name == "nt", str(Path.home())))


def local_url() -> str:
    """The bench's own SQLite store (always local; the outbox lives next to it)."""
    return "sqlite:///" + (data_dir() / "results.sqlite").as_posix()


def default_url() -> str:
    """``$ISOBENCH_DB_URL`` if set, else :func:`local_url`."""
    return os.environ.get(ENV_URL, "").strip() or local_url()


_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)[^@]*@")


def mask_url(url: str | sa.URL) -> str:
    """The URL with its password replaced by ``***`` (safe for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _PASSWORD_IN_URL.sub(r"\1***@", str(url))


def _one_line(text: str, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return _one_line(str(orig) or type(orig).__name__)


# ------------------------------------------------------------------------------------ values
def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats -> None, enums -> values, dataclasses -> dicts."""
    if isinstance(value, Enum):
        return _clean(value.value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def _digest(record: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC)


def _row_dict(row: sa.Row, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row._mapping.items():
        if key in drop:
            continue
        out[key] = _iso(value) if isinstance(value, datetime) else value
    return out


# ------------------------------------------------------------------------------------ run data
@dataclass(frozen=True)
class RunData:
    """One run as the store takes it: the record, the exact text of readings.csv and of each
    ``waveforms/<name>.csv`` (by name)."""

    record: dict[str, Any]
    readings_csv: str | None
    engineering: bool | None = None
    source: str = ""
    waveforms: dict[str, str] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.record["run_id"])

    @classmethod
    def from_folder(cls, folder: Path, engineering: bool | None = None) -> RunData:
        folder = Path(folder)
        path = folder / RECORD_FILE
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{folder}: no {RECORD_FILE}; not a run folder") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(f"{path}: cannot read the run record: {_one_line(exc)}") from None
        try:
            text: str | None = (folder / READINGS_FILE).read_bytes().decode("utf-8")
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            raise StoreError(f"{folder / READINGS_FILE}: cannot read: {_one_line(exc)}") from None
        waveforms: dict[str, str] = {}
        for wave in sorted((folder / WAVEFORMS_DIR).glob("*.csv")):
            try:
                waveforms[wave.stem] = wave.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise StoreError(f"{wave}: cannot read: {_one_line(exc)}") from None
        return cls(_check_record(record, str(path)), text, engineering, str(folder), waveforms)


def _check_record(record: Any, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise StoreError(f"{where}: not a run record (expected a JSON object)")
    record = _clean(record)
    for key in ("run_id", "serial"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip():
            raise StoreError(f"{where}: not a run record ({key!r} missing or empty)")
    if len(record["run_id"]) > 64:
        raise StoreError(f"{where}: run_id longer than 64 characters")
    return record


@dataclass(frozen=True)
class AddResult:
    run_id: str
    status: str  # 'added' | 'exists'

    @property
    def added(self) -> bool:
        return self.status == "added"


def _csv_shape(text: str | None) -> tuple[int, list[str] | None]:
    if not text:
        return 0, None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    return sum(1 for row in rows if row), header


def _plan_fields(plan: Any) -> dict[str, Any]:
    data = _clean(plan)
    if not isinstance(data, dict):
        raise StoreError(f"sampling plan must be a SamplingPlan or a mapping, got {plan!r}")
    missing = [
        k
        for k in (
            "lot_size",
            "aql",
            "level",
            "severity",
            "code_letter",
            "sample_size",
            "accept",
            "reject",
        )
        if data.get(k) is None
    ]
    if missing:
        raise StoreError(f"sampling plan lacks {', '.join(missing)}")
    return data


# ------------------------------------------------------------------------------------ engine
URL_EXAMPLES = "sqlite:///C:/data/results.db or postgresql://user@host/isobench"


def check_url(url: str) -> None:
    """Refuse a database URL that cannot be parsed or names no supported backend, before
    anything is measured (nothing is connected here)."""
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise StoreError(
            f"database URL {mask_url(url)!r} cannot be parsed; write it like {URL_EXAMPLES}"
        ) from None
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise StoreError(
            f"database URL {mask_url(url)!r}: unsupported backend {backend!r}; use sqlite or "
            f"postgresql, e.g. {URL_EXAMPLES}"
        )


def _create_engine(url: str) -> sa.Engine:
    try:
        parsed = make_url(url)
    except Exception:
        raise StoreError(f"not a database URL: {mask_url(url)}") from None
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if backend in ("postgresql", "postgres"):
        if "+" not in parsed.drivername:  # 'postgresql://' -> psycopg 3 (the driver we ship)
            parsed = parsed.set(drivername="postgresql+psycopg")
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = 10
        options["pool_pre_ping"] = True
    elif backend == "sqlite":
        connect_args["timeout"] = 30
    else:
        raise StoreError(
            f"database {mask_url(url)}: unsupported backend {backend!r} (sqlite or postgresql)"
        )
    try:
        engine = sa.create_engine(
            parsed, connect_args=connect_args, json_serializer=_dumps, **options
        )
    except Exception as exc:
        raise StoreError(f"database {mask_url(url)}: {_reason(exc)}") from None
    if backend == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


# ------------------------------------------------------------------------------------ store
class ResultStore:
    """The results database. Use :meth:`open`; close with :meth:`close` or ``with``."""

    def __init__(self, engine: sa.Engine, url: str) -> None:
        self.engine = engine
        self.url = mask_url(url)  # never the password

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True) -> ResultStore:
        """Open (and migrate) the store at ``url``; default :func:`default_url`.

        The default local SQLite file's folder is created if needed; for an explicit SQLite URL
        the folder must exist (a missing network share is an error, not a new empty store).
        """
        url = url or default_url()
        if url == local_url():
            data_dir().mkdir(parents=True, exist_ok=True)
        store = cls(_create_engine(url), url)
        if migrate:
            try:
                with store._db("open"):
                    upgrade_to_head(store.engine)
            except (SchemaTooNew, MigrationFailed) as exc:
                store.close()
                raise StoreError(f"database {store.url}: {_one_line(exc)}") from None
            except BaseException:
                store.close()
                raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ResultStore({self.url})"

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def _db(self, action: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            raise StoreUnavailable(f"database {self.url}: cannot {action}: {_reason(exc)}") from exc
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {self.url}: {action} failed: {_reason(exc)}") from exc

    # ---------------------------------------------------------------- runs
    def add_run(self, folder: Path, *, engineering: bool | None = None) -> AddResult:
        """Store the run in ``folder`` (record.json, readings.csv, waveforms/*.csv).

        Idempotent on run_id: the same record again is a no-op (``status == 'exists'``); a
        different record under a stored run_id raises :class:`StoreConflict`. ``engineering``
        defaults to the record's ``engineering`` field (False when absent).
        """
        return self.import_run(RunData.from_folder(folder, engineering))

    def import_run(self, data: RunData) -> AddResult:
        """Store one run given as :class:`RunData` (used by add_run and by sync)."""
        record = _check_record(data.record, data.source or "run data")
        run_id = record["run_id"]
        digest = _digest(record)
        with self._db(f"store run {run_id}"):
            existing = self._existing_digest(run_id)
            if existing is not None:
                return self._same_or_conflict(run_id, existing, digest)
            try:
                with self.engine.begin() as conn:
                    self._insert_run(conn, record, digest, data)
            except sa.exc.IntegrityError:
                existing = self._existing_digest(run_id)  # stored concurrently by another bench
                if existing is None:
                    raise
                return self._same_or_conflict(run_id, existing, digest)
        return AddResult(run_id, "added")

    def _existing_digest(self, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.scalar(sa.select(t.runs.c.record_digest).where(t.runs.c.run_id == run_id))

    def _same_or_conflict(self, run_id: str, existing: str, digest: str) -> AddResult:
        if existing == digest:
            return AddResult(run_id, "exists")
        raise StoreConflict(
            f"database {self.url}: run {run_id} is already stored with a different record; "
            "stored runs are never overwritten"
        )

    def _insert_run(
        self, conn: sa.Connection, record: dict[str, Any], digest: str, data: RunData
    ) -> None:
        run_id = record["run_id"]
        where = data.source or f"run {run_id}"

        def stamp(key: str) -> datetime | None:
            value = record.get(key)
            if not value:
                return None
            try:
                return t.parse_utc(value)
            except (TypeError, ValueError):
                raise StoreError(f"{where}: {key} {value!r} is not an ISO 8601 time") from None

        engineering = data.engineering
        if engineering is None:
            engineering = bool(record.get("engineering", False))
        software = record.get("software")
        version = software.get("isobench", "") if isinstance(software, dict) else ""
        started, ended = stamp("started_at"), stamp("ended_at")
        verdict = str(record.get("verdict") or Statement.INFORMATIVE.value)
        conn.execute(
            t.runs.insert().values(
                run_id=run_id,
                serial=record["serial"],
                module_type=str(record.get("module_type") or ""),
                lot=str(record.get("lot") or ""),
                station=str(record.get("station") or ""),
                operator=str(record.get("operator") or ""),
                topology=str(record.get("topology") or ""),
                started_at=started,
                ended_at=ended,
                outcome=str(record.get("outcome") or "running"),
                verdict=verdict,
                safe_state_verified=bool(record.get("safe_state_verified", False)),
                engineering=engineering,
                profile=str(record.get("profile") or ""),
                software_version=str(version or ""),
                record_json=record,
                record_digest=digest,
                created_at=_now(),
            )
        )
        rows = []
        by_char: dict[str, list[str]] = {}
        for seq, m in enumerate(record.get("measurements") or []):
            decision = m.get("decision") or {}
            statement = str(m.get("statement") or Statement.INFORMATIVE.value)
            by_char.setdefault(str(m.get("characteristic", "")), []).append(statement)
            rows.append(
                {
                    "run_id": run_id,
                    "seq": seq,
                    "characteristic": str(m.get("characteristic", "")),
                    "step": str(m.get("step", "")),
                    "value": _float(m.get("value")),
                    "unit": str(m.get("unit", "")),
                    "statement": statement,
                    "lower": _float(decision.get("lower")),
                    "upper": _float(decision.get("upper")),
                    "U": _float(decision.get("U")),
                    "tur": _float(decision.get("tur")),
                    "conformance_probability": _float(decision.get("conformance_probability")),
                    "conditions_json": m.get("conditions") or {},
                }
            )
        if rows:
            conn.execute(t.measurements.insert(), rows)
        text = data.readings_csv
        n_rows, columns = _csv_shape(text)
        conn.execute(
            t.readings.insert().values(
                run_id=run_id,
                format="csv",
                csv_text=text,
                sha256=None if text is None else hashlib.sha256(text.encode()).hexdigest(),
                n_rows=n_rows,
                columns_json=columns,
            )
        )
        for name, wave in sorted(data.waveforms.items()):
            if len(name) > 128:
                raise StoreError(f"{where}: waveform name longer than 128 characters: {name}")
            conn.execute(
                t.waveforms.insert().values(
                    run_id=run_id,
                    name=name,
                    csv_text=wave,
                    sha256=hashlib.sha256(wave.encode()).hexdigest(),
                    n_rows=_csv_shape(wave)[0],
                )
            )
        characteristics = {}
        for name, statements in by_char.items():
            with contextlib.suppress(ValueError):
                characteristics[name] = worst(statements).value
        conn.execute(
            t.verdicts.insert().values(
                run_id=run_id,
                profile=str(record.get("profile") or ""),
                profile_digest=_text_or_none(record.get("profile_digest")),
                verdict=verdict,
                decided_at=ended or started or _now(),
                kind="original",
                detail_json={
                    "source": "record",
                    "outcome": record.get("outcome"),
                    "characteristics": characteristics,
                },
            )
        )

    def export_run(self, run_id: str) -> RunData:
        """The run as stored (record and readings text), e.g. to copy it to another store."""
        with self._db(f"read run {run_id}"), self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.runs.c.record_json, t.runs.c.engineering, t.readings.c.csv_text)
                .select_from(t.runs.outerjoin(t.readings))
                .where(t.runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise StoreNotFound(f"database {self.url}: no run {run_id}")
            waves = conn.execute(
                sa.select(t.waveforms.c.name, t.waveforms.c.csv_text).where(
                    t.waveforms.c.run_id == run_id
                )
            )
            waveforms = {w.name: w.csv_text for w in waves}
        return RunData(
            dict(row.record_json), row.csv_text, bool(row.engineering), self.url, waveforms
        )

    def has_run(self, run_id: str) -> bool:
        with self._db(f"read run {run_id}"):
            return self._existing_digest(run_id) is not None

    def history(self, serial: str) -> list[dict[str, Any]]:
        """Every stored run of ``serial``, oldest first, each with its verdicts."""
        with self._db(f"read the history of {serial}"), self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*self._summary_columns())
                .where(t.runs.c.serial == serial)
                .order_by(t.runs.c.started_at, t.runs.c.run_id)
            ).all()
            runs = [_row_dict(r) for r in rows]
            by_run = self._verdicts_of(conn, [r["run_id"] for r in runs])
        for run in runs:
            run["verdicts"] = by_run.get(run["run_id"], [])
        return runs

    def runs(self, *, lot: str | None = None) -> list[dict[str, Any]]:
        """Run summaries (all, or those whose record names ``lot``), oldest first."""
        query = sa.select(*self._summary_columns()).order_by(t.runs.c.started_at, t.runs.c.run_id)
        if lot is not None:
            query = query.where(t.runs.c.lot == lot)
        with self._db("list runs"), self.engine.connect() as conn:
            return [_row_dict(r) for r in conn.execute(query)]

    def run(self, run_id: str) -> dict[str, Any]:
        """One run: summary columns, ``record`` (the full record.json), ``measurements``,
        ``verdicts``, ``readings`` (row count, columns, SHA-256 of the CSV text) and
        ``waveforms`` (name -> row count and SHA-256)."""
        with self._db(f"read run {run_id}"), self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    *self._summary_columns(), t.runs.c.record_json, t.runs.c.record_digest
                ).where(t.runs.c.run_id == run_id)
            ).first()
            if row is None:
                raise StoreNotFound(f"database {self.url}: no run {run_id}")
            out = _row_dict(row, drop=("record_json",))
            out["record"] = row.record_json
            out["measurements"] = [
                _row_dict(m, drop=("id", "run_id"))
                for m in conn.execute(
                    sa.select(t.measurements)
                    .where(t.measurements.c.run_id == run_id)
                    .order_by(t.measurements.c.seq)
                )
            ]
            out["verdicts"] = self._verdicts_of(conn, [run_id]).get(run_id, [])
            info = conn.execute(
                sa.select(
                    t.readings.c.n_rows, t.readings.c.columns_json, t.readings.c.sha256
                ).where(t.readings.c.run_id == run_id)
            ).first()
            out["waveforms"] = {
                w.name: {"n_rows": w.n_rows, "sha256": w.sha256}
                for w in conn.execute(
                    sa.select(t.waveforms.c.name, t.waveforms.c.n_rows, t.waveforms.c.sha256)
                    .where(t.waveforms.c.run_id == run_id)
                    .order_by(t.waveforms.c.name)
                )
            }
        out["readings"] = {
            "n_rows": info.n_rows if info else 0,
            "columns": info.columns_json if info else None,
            "sha256": info.sha256 if info else None,
        }
        return out

    def readings(self, run_id: str) -> pd.DataFrame:
        """The raw readings of a run, parsed exactly as ``pandas.read_csv(readings.csv)``."""
        import pandas as pd

        with self._db(f"read the readings of run {run_id}"), self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.runs.c.run_id, t.readings.c.csv_text)
                .select_from(t.runs.outerjoin(t.readings))
                .where(t.runs.c.run_id == run_id)
            ).first()
        if row is None:
            raise StoreNotFound(f"database {self.url}: no run {run_id}")
        if not row.csv_text or not row.csv_text.strip():
            return pd.DataFrame()
        return pd.read_csv(io.StringIO(row.csv_text))

    def waveforms(self, run_id: str) -> dict[str, pd.DataFrame]:
        """The run's digitised records by name, each parsed as ``pandas.read_csv`` would."""
        import pandas as pd

        data = self.export_run(run_id)
        return {name: pd.read_csv(io.StringIO(text)) for name, text in data.waveforms.items()}

    @staticmethod
    def _summary_columns() -> list[sa.Column]:
        c = t.runs.c
        return [
            c.run_id,
            c.serial,
            c.module_type,
            c.lot,
            c.station,
            c.operator,
            c.topology,
            c.started_at,
            c.ended_at,
            c.outcome,
            c.verdict,
            c.safe_state_verified,
            c.engineering,
            c.profile,
            c.software_version,
            c.created_at,
        ]

    # ---------------------------------------------------------------- verdicts
    def add_verdict(
        self,
        run_id: str,
        profile: str,
        digest: str | None,
        verdict: str,
        detail: Mapping[str, Any] | None = None,
        kind: str = "rejudge",
        *,
        decided_at: datetime | None = None,
    ) -> int:
        """Store a verdict beside the run's others (never over them); returns its id."""
        if kind not in t.VERDICT_KINDS:
            raise StoreError(f"verdict kind must be one of {', '.join(t.VERDICT_KINDS)}: {kind!r}")
        verdict = str(getattr(verdict, "value", verdict))
        if verdict not in VERDICTS:
            raise StoreError(f"unknown verdict {verdict!r}; one of: {', '.join(VERDICTS)}")
        with self._db(f"store a verdict for run {run_id}"):
            if not self.has_run(run_id):
                raise StoreNotFound(f"database {self.url}: no run {run_id}")
            try:
                with self.engine.begin() as conn:
                    result = conn.execute(
                        t.verdicts.insert().values(
                            run_id=run_id,
                            profile=str(profile),
                            profile_digest=digest,
                            verdict=verdict,
                            decided_at=decided_at or _now(),
                            kind=kind,
                            detail_json=_clean(dict(detail or {})),
                        )
                    )
                    return int(result.inserted_primary_key[0])
            except sa.exc.IntegrityError:
                raise StoreConflict(
                    f"database {self.url}: run {run_id} already has its original verdict; "
                    "a re-judgement is stored with kind='rejudge'"
                ) from None

    def verdicts(self, run_id: str) -> list[dict[str, Any]]:
        """All verdicts of a run: the original first, then re-judgements oldest first."""
        with self._db(f"read the verdicts of run {run_id}"), self.engine.connect() as conn:
            return self._verdicts_of(conn, [run_id]).get(run_id, [])

    @staticmethod
    def _verdicts_of(conn: sa.Connection, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        if not run_ids:
            return out
        v = t.verdicts.c
        query = (
            sa.select(
                v.id,
                v.run_id,
                v.kind,
                v.verdict,
                v.profile,
                v.profile_digest,
                v.decided_at,
                v.detail_json.label("detail"),
            )
            .where(v.run_id.in_(run_ids))
            .order_by(sa.case((v.kind == "original", 0), else_=1), v.decided_at, v.id)
        )
        for row in conn.execute(query):
            out.setdefault(row.run_id, []).append(_row_dict(row))
        return out

    # ---------------------------------------------------------------- lots
    def create_lot(
        self, lot_id: str, supplier: str, plan: Any, *, created_at: datetime | None = None
    ) -> dict[str, Any]:
        """Open a lot inspected with ``plan`` (a ``SamplingPlan`` or a mapping of its fields)."""
        if not lot_id or not str(lot_id).strip():
            raise StoreError("a lot needs a non-empty id")
        if not supplier or not str(supplier).strip():
            raise StoreError(f"lot {lot_id}: a lot needs a supplier")
        data = _plan_fields(plan)
        with self._db(f"create lot {lot_id}"):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        t.lots.insert().values(
                            lot_id=lot_id,
                            supplier=supplier,
                            lot_size=int(data["lot_size"]),
                            aql=float(data["aql"]),
                            level=str(data["level"]),
                            severity=str(data["severity"]),
                            code_letter=str(data["code_letter"]),
                            sample_size=int(data["sample_size"]),
                            accept=int(data["accept"]),
                            reject=int(data["reject"]),
                            status="open",
                            created_at=created_at or _now(),
                            plan_json=data,
                        )
                    )
            except sa.exc.IntegrityError:
                raise StoreConflict(f"database {self.url}: lot {lot_id} already exists") from None
        return self.lot(lot_id)

    def lot(self, lot_id: str) -> dict[str, Any]:
        """The lot with its plan (``plan``) and the number of units assigned (``n_units``)."""
        with self._db(f"read lot {lot_id}"), self.engine.connect() as conn:
            row = conn.execute(sa.select(t.lots).where(t.lots.c.lot_id == lot_id)).first()
            if row is None:
                raise StoreNotFound(f"database {self.url}: no lot {lot_id}")
            count = conn.scalar(
                sa.select(sa.func.count())
                .select_from(t.lot_units)
                .where(t.lot_units.c.lot_id == lot_id)
            )
        out = _row_dict(row, drop=("plan_json",))
        out["plan"] = row.plan_json
        out["n_units"] = int(count or 0)
        return out

    def lots(self, *, status: str | None = None, supplier: str | None = None) -> list[dict]:
        query = sa.select(t.lots).order_by(t.lots.c.created_at, t.lots.c.lot_id)
        if status is not None:
            query = query.where(t.lots.c.status == status)
        if supplier is not None:
            query = query.where(t.lots.c.supplier == supplier)
        with self._db("list lots"), self.engine.connect() as conn:
            return [_row_dict(r, drop=("plan_json",)) for r in conn.execute(query)]

    def add_unit_to_lot(self, lot_id: str, run_id: str) -> bool:
        """Assign a run (unit) to an open lot; False if it already was. The run need not be in
        this database yet (it may still be queued on its bench)."""
        with self._db(f"add run {run_id} to lot {lot_id}"):
            status = self.lot(lot_id)["status"]
            if status != "open":
                raise StoreConflict(f"database {self.url}: lot {lot_id} is closed")
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        t.lot_units.insert().values(lot_id=lot_id, run_id=run_id, added_at=_now())
                    )
            except sa.exc.IntegrityError:
                return False
        return True

    def lot_units(self, lot_id: str) -> list[dict[str, Any]]:
        """Units of a lot in the order they were added, with their run's summary (``stored``
        False and the summary fields None for a run not yet in this database)."""
        r = t.runs.c
        query = (
            sa.select(
                t.lot_units.c.run_id,
                t.lot_units.c.added_at,
                r.serial,
                r.verdict,
                r.outcome,
                r.started_at,
                r.engineering,
                r.safe_state_verified,
                (r.run_id.is_not(None)).label("stored"),
            )
            .select_from(t.lot_units.outerjoin(t.runs, t.lot_units.c.run_id == r.run_id))
            .where(t.lot_units.c.lot_id == lot_id)
            .order_by(t.lot_units.c.added_at, t.lot_units.c.run_id)
        )
        with self._db(f"read the units of lot {lot_id}"):
            self.lot(lot_id)  # StoreNotFound for an unknown lot
            with self.engine.connect() as conn:
                units = [_row_dict(row) for row in conn.execute(query)]
        for unit in units:
            unit["stored"] = bool(unit["stored"])
        return units

    def close_lot(self, lot_id: str, disposition: str, reason: str) -> dict[str, Any]:
        """Close an open lot with its disposition; a closed lot is never reopened or changed."""
        disposition = str(getattr(disposition, "value", disposition))
        with self._db(f"close lot {lot_id}"):
            with self.engine.begin() as conn:
                done = conn.execute(
                    t.lots.update()
                    .where(t.lots.c.lot_id == lot_id, t.lots.c.status == "open")
                    .values(
                        status="closed", disposition=disposition, reason=reason, closed_at=_now()
                    )
                ).rowcount
            if not done:
                current = self.lot(lot_id)  # StoreNotFound for an unknown lot
                raise StoreConflict(
                    f"database {self.url}: lot {lot_id} is already closed "
                    f"({current['disposition']}); a closed lot is not changed"
                )
        return self.lot(lot_id)

    # ---------------------------------------------------------------- invalidations
    def invalidate_run(self, run_id: str, reason: str, by: str = "") -> None:
        """Record why a run must not count toward its lot (once per run; nothing else
        about the run changes)."""
        reason = " ".join(str(reason).split())
        if not reason:
            raise StoreError(f"run {run_id}: an invalidation needs a reason (--reason)")
        with self._db(f"invalidate run {run_id}"):
            if not self.has_run(run_id):
                raise StoreNotFound(f"database {self.url}: no run {run_id}")
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        t.invalidations.insert().values(
                            run_id=run_id,
                            reason=reason,
                            invalidated_by=str(by),
                            invalidated_at=_now(),
                        )
                    )
            except sa.exc.IntegrityError:
                raise StoreConflict(
                    f"database {self.url}: run {run_id} is already invalidated"
                ) from None

    def invalidations(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """``{run_id: {reason, invalidated_by, invalidated_at}}`` for those of ``run_ids``."""
        if not run_ids:
            return {}
        query = sa.select(t.invalidations).where(t.invalidations.c.run_id.in_(run_ids))
        with self._db("read invalidations"), self.engine.connect() as conn:
            return {row.run_id: _row_dict(row, drop=("run_id",)) for row in conn.execute(query)}

    # ---------------------------------------------------------------- suppliers
    def supplier(self, name: str) -> dict[str, Any] | None:
        """``{name, switching_state (dict), revision, updated_at}`` or None if unknown."""
        with self._db(f"read supplier {name}"), self.engine.connect() as conn:
            row = conn.execute(sa.select(t.suppliers).where(t.suppliers.c.name == name)).first()
        if row is None:
            return None
        out = _row_dict(row, drop=("switching_state_json",))
        out["switching_state"] = row.switching_state_json
        return out

    def switching_state(self, supplier: str) -> SwitchingState | None:
        """The supplier's ISO 2859-1 switching state, or None if none is stored yet."""
        row = self.supplier(supplier)
        if row is None or row["switching_state"] is None:
            return None
        return SwitchingState.from_dict(row["switching_state"])

    def put_switching_state(
        self,
        supplier: str,
        state: SwitchingState | Mapping[str, Any],
        *,
        expected_revision: int | None = None,
    ) -> int:
        """Store the supplier's switching state; returns the new revision (1 for the first).

        With ``expected_revision`` (the revision read before computing ``state``) the write is
        refused with :class:`StoreConflict` if another bench stored a state in between.
        """
        if not isinstance(state, SwitchingState):
            state = SwitchingState.from_dict(state)  # validates
        payload = state.to_dict()
        where = f"database {self.url}: supplier {supplier}"
        with self._db(f"store the switching state of {supplier}"):
            try:
                with self.engine.begin() as conn:
                    current = conn.scalar(
                        sa.select(t.suppliers.c.revision)
                        .where(t.suppliers.c.name == supplier)
                        .with_for_update()
                    )
                    if expected_revision is not None and expected_revision != (current or 0):
                        raise StoreConflict(
                            f"{where}: switching state changed (revision {current or 0}, "
                            f"expected {expected_revision}); read it again"
                        )
                    if current is None:
                        conn.execute(
                            t.suppliers.insert().values(
                                name=supplier,
                                switching_state_json=payload,
                                revision=1,
                                updated_at=_now(),
                            )
                        )
                        return 1
                    done = conn.execute(
                        t.suppliers.update()
                        .where(t.suppliers.c.name == supplier, t.suppliers.c.revision == current)
                        .values(
                            switching_state_json=payload, revision=current + 1, updated_at=_now()
                        )
                    ).rowcount
                    if not done:
                        raise StoreConflict(f"{where}: switching state changed concurrently")
                    return current + 1
            except sa.exc.IntegrityError:
                raise StoreConflict(f"{where}: switching state created concurrently") from None
