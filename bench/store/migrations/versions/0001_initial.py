"""Initial schema: runs, measurements, readings, waveforms, verdicts, suppliers, lots, lot_units.

Revision ID: 0001
Revises:
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the types at this revision (migrations never import the live schema).
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(128), nullable=False),
        sa.Column("module_type", sa.String(200), nullable=False, server_default=""),
        sa.Column("lot", sa.String(128), nullable=False, server_default=""),
        sa.Column("station", sa.String(200), nullable=False, server_default=""),
        sa.Column("operator", sa.String(200), nullable=False, server_default=""),
        sa.Column("topology", sa.String(64), nullable=False, server_default=""),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("safe_state_verified", sa.Boolean(), nullable=False),
        sa.Column("engineering", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("profile", sa.Text(), nullable=False, server_default=""),
        sa.Column("software_version", sa.String(64), nullable=False, server_default=""),
        sa.Column("record_json", JSONDoc, nullable=False),
        sa.Column("record_digest", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index("ix_runs_serial", "runs", ["serial"])
    op.create_index("ix_runs_lot", "runs", ["lot"])
    op.create_index("ix_runs_started_at", "runs", ["started_at"])

    op.create_table(
        "measurements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("characteristic", sa.String(128), nullable=False),
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
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_measurements_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_measurements"),
    )
    op.create_index("ix_measurements_run_id", "measurements", ["run_id"])
    op.create_index("ix_measurements_characteristic", "measurements", ["characteristic"])

    op.create_table(
        "readings",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("format", sa.String(16), nullable=False, server_default="csv"),
        sa.Column("csv_text", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("n_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("columns_json", JSONDoc, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_readings_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", name="pk_readings"),
    )

    op.create_table(
        "waveforms",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("csv_text", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_waveforms_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", "name", name="pk_waveforms"),
    )

    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False, server_default=""),
        sa.Column("profile_digest", sa.String(128), nullable=True),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("decided_at", TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail_json", JSONDoc, nullable=True),
        sa.CheckConstraint("kind IN ('original', 'rejudge')", name="ck_verdicts_kind"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_verdicts_run_id_runs"),
        sa.PrimaryKeyConstraint("id", name="pk_verdicts"),
    )
    op.create_index("ix_verdicts_run_id", "verdicts", ["run_id"])
    op.create_index(
        "uq_verdicts_original",
        "verdicts",
        ["run_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'original'"),
        postgresql_where=sa.text("kind = 'original'"),
    )

    op.create_table(
        "suppliers",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("switching_state_json", JSONDoc, nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_suppliers"),
    )

    op.create_table(
        "lots",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("supplier", sa.String(200), nullable=False),
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
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("plan_json", JSONDoc, nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_lots_status"),
        sa.PrimaryKeyConstraint("lot_id", name="pk_lots"),
    )
    op.create_index("ix_lots_supplier", "lots", ["supplier"])

    op.create_table(
        "lot_units",
        sa.Column("lot_id", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.lot_id"], name="fk_lot_units_lot_id_lots"),
        sa.PrimaryKeyConstraint("lot_id", "run_id", name="pk_lot_units"),
    )
    op.create_index("ix_lot_units_run_id", "lot_units", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_lot_units_run_id", table_name="lot_units")
    op.drop_table("lot_units")
    op.drop_index("ix_lots_supplier", table_name="lots")
    op.drop_table("lots")
    op.drop_table("suppliers")
    op.drop_index("uq_verdicts_original", table_name="verdicts")
    op.drop_index("ix_verdicts_run_id", table_name="verdicts")
    op.drop_table("verdicts")
    op.drop_table("waveforms")
    op.drop_table("readings")
    op.drop_index("ix_measurements_characteristic", table_name="measurements")
    op.drop_index("ix_measurements_run_id", table_name="measurements")
    op.drop_table("measurements")
    op.drop_index("ix_runs_started_at", table_name="runs")
    op.drop_index("ix_runs_lot", table_name="runs")
    op.drop_index("ix_runs_serial", table_name="runs")
    op.drop_table("runs")
