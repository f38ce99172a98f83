"""Score claims: the articles each run is scoring now, so two runs share one backlog.

Two runs started together with a large backlog (two ``watch`` workers after a first import, a
run beside ``policy-risk score``) both read the whole backlog as pending. Their saves were
already exactly-once, but each spent the CPU of scoring all of it. ``score_claims`` holds, per
article, the run scoring it; another live run leaves those articles out (``pipeline.score_claims``).
A new, empty table: nothing is rewritten, and downgrading drops it (its rows are transient).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the table and its index of runs (both databases alike)."""
    op.create_table(
        "score_claims",
        sa.Column("article_id", sa.String(32), primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_score_claims_run", "score_claims", ["run_id"])


def downgrade() -> None:
    """Drop it: claims only matter while runs are going on."""
    op.drop_index("ix_score_claims_run", table_name="score_claims")
    op.drop_table("score_claims")
