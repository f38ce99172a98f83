"""The run that holds a feed's claim, so a claim dies with its run.

A feed claimed by a run that was then killed stayed claimed for ``claim_ttl_s`` (10 minutes by
default): the rerun skipped it, and what the dead run had fetched but not stored waited that
long. With the run's id beside the claim, a claim is free as soon as the run log no longer
counts its run as running (``pipeline.feed_health``). Existing claims have no run and expire as
before. Adds one empty column; nothing is rewritten.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (empty: claims taken before it expire by time only)."""
    op.add_column("feeds", sa.Column("claim_run_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop it; claims then expire by time only, as before."""
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("claim_run_id")
