"""A partial index on the origin of articles without a URL: where an edited seed file is found.

A seed file without a URL is one article whose id comes from its text; when the file is
edited, ``store._same_file`` finds its article by origin. Without an index that read the whole
article table (gigabytes at a million articles) once per run with a new or edited seed file.
Only articles without a URL are in the index (seed files, link-less feed entries), so feed
articles, nearly all of a large store, cost nothing more to write. Nothing is rewritten.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_NAME = "ix_articles_origin_without_url"


def upgrade() -> None:
    """Build the index (one read of the article table)."""
    where = sa.text("url IS NULL")
    op.create_index(_NAME, "articles", ["origin"], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    """Drop it; the lookup then reads the table, as before."""
    op.drop_index(_NAME, table_name="articles")
