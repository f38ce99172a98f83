"""Where each run runs and when it was last alive, so a killed run is not "running" forever.

Adds ``runs.host``, ``runs.pid`` and ``runs.heartbeat_at`` (all nullable: rows from before have
none, and ``pipeline.runlog`` judges them by their start time). Nothing is rewritten; the next
run closes old rows that can no longer be running.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the three columns (plain ALTER TABLE ADD COLUMN on both databases)."""
    op.add_column("runs", sa.Column("host", sa.String(200)))
    op.add_column("runs", sa.Column("pid", sa.Integer))
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    """Drop them again (SQLite rebuilds the small runs table)."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("pid")
        batch.drop_column("host")
