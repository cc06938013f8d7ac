"""Invalidations: a documented reason that takes one run out of its lot's count.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "invalidations",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("invalidated_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("invalidated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_invalidations_run_id_runs"),
        sa.PrimaryKeyConstraint("run_id", name="pk_invalidations"),
    )


def downgrade() -> None:
    op.drop_table("invalidations")
