"""The kind of each run: "run" (ingest and score) or "score" (``policy-risk score`` only).

``policy-risk score`` had no run row, so it took no part in score claims: beside a running
``run`` both scored the whole backlog. It now records a run of its own, of kind "score", and
readers that mean a run that ingested (coverage's feed health, the last ingest) keep to kind
"run". Every existing row was a run that ingested: the server default makes it "run", with
nothing rewritten on either database (both keep the default in the table definition).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (plain ALTER TABLE ADD COLUMN on both databases); every existing run
    gets "run"."""
    op.add_column("runs", sa.Column("kind", sa.String(10), nullable=False, server_default="run"))


def downgrade() -> None:
    """Drop it again (SQLite rebuilds the small runs table); a "score" run then reads as any
    other run."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("kind")
