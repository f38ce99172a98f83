"""Score keys in their own narrow table, so saving scores never rewrites an article row.

Revision 0002 put ``score_key`` (the fingerprint of the model versions an article's current
content was scored with) on ``articles``. Every score save updated it, and on PostgreSQL an update
of an indexed column writes a new version of the whole row into every index of the table,
including the full-text GIN index of 0004, whose ``to_tsvector`` over title and text was computed
again each time: saving scores cost 2.2 ms per article instead of 0.7 (docs/benchmarks.md). On
SQLite the update rewrote the 1-2 KB row.

``article_score_keys`` (article_id, score_key) with the index (score_key, article_id) takes its
place; every article has exactly one row (written with the article, ``''`` until scored).

Upgrading creates the table, fills it from ``articles.score_key`` and drops that column and its
index (SQLite rewrites the articles table for that: about a minute on a million articles);
downgrading puts the column back from the table.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Move every article's key into the new table, then drop the old column and index."""
    op.create_table(
        "article_score_keys",
        sa.Column(
            "article_id",
            sa.String(32),
            sa.ForeignKey("articles.article_id"),
            primary_key=True,
        ),
        sa.Column("score_key", sa.String(16), nullable=False, server_default=""),
    )
    op.execute(
        "INSERT INTO article_score_keys (article_id, score_key) "
        "SELECT article_id, score_key FROM articles ORDER BY article_id"
    )
    op.create_index("ix_article_score_keys_key", "article_score_keys", ["score_key", "article_id"])
    op.drop_index("ix_articles_score_key", table_name="articles")
    # SQLite (3.35+) drops a column in place; batch mode would copy the table and drop the old
    # one, which the full-text triggers and the foreign keys pointing at it do not survive.
    op.execute("ALTER TABLE articles DROP COLUMN score_key")


def downgrade() -> None:
    """Put the column back on ``articles`` from the table, then drop the table."""
    op.execute("ALTER TABLE articles ADD COLUMN score_key VARCHAR(16) DEFAULT '' NOT NULL")
    op.execute(
        "UPDATE articles SET score_key = ("
        "SELECT k.score_key FROM article_score_keys AS k WHERE k.article_id = articles.article_id)"
    )
    op.create_index("ix_articles_score_key", "articles", ["score_key", "article_id"])
    op.drop_table("article_score_keys")
