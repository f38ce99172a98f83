"""The text each analyst label was given on, so a label does not follow its article to new text.

A label stayed attached to its article after the text changed (an edited seed, an updated feed
entry, a later-dated syndicated copy), and ``train`` paired it with text the analyst never saw.
Each label now records the article's content hash when it was made; training leaves out one
whose article's hash has changed since. Labels made before this revision have no hash and are
used as before. Adds one empty column; nothing is rewritten.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (empty: older labels have no recorded text and are used as before)."""
    op.add_column("labels", sa.Column("content_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop it (SQLite rebuilds the small labels table); every label is then used as before."""
    with op.batch_alter_table("labels") as batch:
        batch.drop_column("content_hash")
