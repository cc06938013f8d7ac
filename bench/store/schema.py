"""Tables of the results store (SQLAlchemy 2.x Core).

The same tables serve the local SQLite file and a shared PostgreSQL database. Every change to
this module needs a new Alembic revision under ``migrations/versions`` (the tests compare the
migrated database with this metadata and fail on any difference).

Design notes
------------
* ``runs`` keeps the searchable fields of a run plus the whole ``record.json`` (``record_json``,
  JSONB on PostgreSQL) so nothing in the record is lost even if a field has no column yet.
  ``record_digest`` is the SHA-256 of the record's canonical JSON (sorted keys): adding the
  same run twice is a no-op, adding a *different* record under a known run_id is refused.
* ``readings`` holds the raw readings as **one CSV blob per run** (the exact text of the run
  folder's ``readings.csv``), not one row per reading. Reasons: the readings are only ever
  used as a whole (rejudging, reports), never queried reading by reading; the blob is the
  very bytes the run wrote, so its SHA-256 can be checked against the run folder and the
  rejudge code parses it with the same ``pandas.read_csv`` as a report built from the folder
  (no type or column-order drift through a JSON-per-row detour); the columns may grow during
  a run (``Recorder`` widens the header) which a fixed table could not follow; and one
  INSERT per run keeps uploads to a remote database short.
* ``waveforms`` holds the run folder's ``waveforms/*.csv`` (digitised records such as the step
  response) the same way, one CSV text per waveform.
* ``verdicts`` holds the original verdict (``kind = 'original'``, at most one per run, from
  the record) and any number of re-judgements (``kind = 'rejudge'``) *beside* it; the store
  has no code path that updates or deletes a verdict.
* ``lot_units.run_id`` deliberately has no foreign key to ``runs``: on a shared database a
  unit can be assigned to a lot while its run is still queued on the bench that measured it.
* Timestamps are stored as UTC (``timestamp with time zone`` on PostgreSQL, naive UTC on
  SQLite) and always come back timezone-aware in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "JSONDoc",
    "UTCDateTime",
    "lot_units",
    "lots",
    "measurements",
    "metadata",
    "parse_utc",
    "readings",
    "runs",
    "suppliers",
    "verdicts",
    "waveforms",
]

#: Deterministic constraint names: Alembic (batch mode on SQLite) needs them to alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

#: JSON document: JSONB on PostgreSQL, JSON text elsewhere.
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

VERDICT_KINDS = ("original", "rejudge")
LOT_STATUSES = ("open", "closed")


def parse_utc(value: str | datetime) -> datetime:
    """ISO 8601 text (``...Z`` or with offset) or a datetime -> aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone")
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zone type)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = parse_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("serial", sa.String(128), nullable=False, index=True),
    sa.Column("module_type", sa.String(200), nullable=False, server_default=""),
    sa.Column("lot", sa.String(128), nullable=False, server_default="", index=True),
    sa.Column("station", sa.String(200), nullable=False, server_default=""),
    sa.Column("operator", sa.String(200), nullable=False, server_default=""),
    sa.Column("topology", sa.String(64), nullable=False, server_default=""),
    sa.Column("started_at", UTCDateTime(), nullable=True, index=True),
    sa.Column("ended_at", UTCDateTime(), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("safe_state_verified", sa.Boolean(), nullable=False),
    sa.Column("engineering", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("profile", sa.Text(), nullable=False, server_default=""),
    sa.Column("software_version", sa.String(64), nullable=False, server_default=""),
    sa.Column("record_json", JSONDoc, nullable=False),
    sa.Column("record_digest", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

measurements = sa.Table(
    "measurements",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("characteristic", sa.String(128), nullable=False, index=True),
    sa.Column("step", sa.String(128), nullable=False, server_default=""),
    sa.Column("value", sa.Float(), nullable=True),
    sa.Column("unit", sa.String(32), nullable=False, server_default=""),
    sa.Column("statement", sa.String(32), nullable=False),
    sa.Column("lower", sa.Float(), nullable=True),
    sa.Column("upper", sa.Float(), nullable=True),
    sa.Column("U", sa.Float(), nullable=True),
    sa.Column("tur", sa.Float(), nullable=True),
    sa.Column("conformance_probability", sa.Float(), nullable=True),
    sa.Column("conditions_json", JSONDoc, nullable=True),
)

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("format", sa.String(16), nullable=False, server_default="csv"),
    sa.Column("csv_text", sa.Text(), nullable=True),  # NULL: the run folder had no readings.csv
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("n_rows", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("columns_json", JSONDoc, nullable=True),
)

#: Digitised records a run writes beside readings.csv (``waveforms/<name>.csv``, e.g. the step
#: response), kept as exact CSV text for the same reasons as ``readings``.
waveforms = sa.Table(
    "waveforms",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("csv_text", sa.Text(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("n_rows", sa.Integer(), nullable=False, server_default="0"),
)

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("profile", sa.Text(), nullable=False, server_default=""),
    sa.Column("profile_digest", sa.String(128), nullable=True),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("detail_json", JSONDoc, nullable=True),
    sa.CheckConstraint("kind IN ('original', 'rejudge')", name="kind"),
)
#: At most one original verdict per run (partial unique index; SQLite >= 3.8 and PostgreSQL).
sa.Index(
    "uq_verdicts_original",
    verdicts.c.run_id,
    unique=True,
    sqlite_where=verdicts.c.kind == "original",
    postgresql_where=verdicts.c.kind == "original",
)

suppliers = sa.Table(
    "suppliers",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("switching_state_json", JSONDoc, nullable=True),
    sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

lots = sa.Table(
    "lots",
    metadata,
    sa.Column("lot_id", sa.String(128), primary_key=True),
    sa.Column("supplier", sa.String(200), nullable=False, index=True),
    sa.Column("lot_size", sa.Integer(), nullable=False),
    sa.Column("aql", sa.Float(), nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("code_letter", sa.String(4), nullable=False),
    sa.Column("sample_size", sa.Integer(), nullable=False),
    sa.Column("accept", sa.Integer(), nullable=False),
    sa.Column("reject", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("disposition", sa.String(32), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("closed_at", UTCDateTime(), nullable=True),
    sa.Column("plan_json", JSONDoc, nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
)

lot_units = sa.Table(
    "lot_units",
    metadata,
    sa.Column("lot_id", sa.String(128), sa.ForeignKey("lots.lot_id"), primary_key=True),
    sa.Column("run_id", sa.String(64), primary_key=True, index=True),
    sa.Column("added_at", UTCDateTime(), nullable=False),
)

#: a documented reason that takes one run out of its lot's count (``isobench lot invalidate``);
#: the run itself and its verdicts stay as they are
invalidations = sa.Table(
    "invalidations",
    metadata,
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("invalidated_by", sa.String(200), nullable=False, server_default=""),
    sa.Column("invalidated_at", UTCDateTime(), nullable=False),
)
