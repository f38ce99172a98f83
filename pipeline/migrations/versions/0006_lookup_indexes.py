"""Covering indexes for looking an article and its current scores up by id.

A searched overview or EPU share reads, for every article the search hits, its event date (and
source, language) and its current scores. On SQLite each of those lookups went through the
primary-key index to the table row: a 1-2 KB article row or a score row with its explanation, so
110,000-260,000 hits took 1.3-2.5 s on a million articles (docs/benchmarks.md). These two indexes
hold exactly what those reads need, so they answer from narrow index pages:

* ``ix_articles_lookup`` on ``articles (article_id, event_date, source, language)``;
* ``ix_current_scores_lookup`` on ``current_scores (article_id, signal, value)``.

SQLite's planner prefers the unique primary-key index for an ``article_id = ?`` lookup, so the
searched reads name these indexes (``INDEXED BY``, ``pipeline.search.lookup``). PostgreSQL gets the
same indexes (one schema for both databases) and chooses by its own statistics.

Upgrading builds both from the existing rows; downgrading drops them (derived data only).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_articles_lookup", "articles", ["article_id", "event_date", "source", "language"]),
    ("ix_current_scores_lookup", "current_scores", ["article_id", "signal", "value"]),
)


def upgrade() -> None:
    """Build both indexes (on a million articles: seconds on SQLite, see docs/storage.md)."""
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    """Drop them again; the reads fall back to the primary-key lookups."""
    for name, table, _columns in _INDEXES:
        op.drop_index(name, table_name=table)
