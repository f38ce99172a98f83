"""An index to read one signal's scores in value order, for article lists sorted by a score.

Sorting the Articles page by a score joined every article to that score and sorted them all: about
2.8 s on a million articles (docs/benchmarks.md), however few rows the page shows. With
``ix_current_scores_rank`` on ``current_scores (value, signal, article_id)`` the list walks the
index from the top (or the bottom) and stops once the page is full (``insights.article_rows``).

``value`` leads on purpose: an index led by ``signal`` looks narrow to SQLite's planner (which has
no statistics) for every ``signal = ?`` read, and revision 0002 dropped such an index because the
planner then walked every score of a signal instead of starting from a date range.

Upgrading builds the index from the existing rows; downgrading drops it (derived data only).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_INDEX = ("ix_current_scores_rank", "current_scores", ["value", "signal", "article_id"])


def upgrade() -> None:
    """Build the index (on a million articles: seconds on SQLite, see docs/benchmarks.md)."""
    name, table, columns = _INDEX
    op.create_index(name, table, columns)


def downgrade() -> None:
    """Drop it again; lists sorted by a score sort every matching article."""
    name, table, _columns = _INDEX
    op.drop_index(name, table_name=table)
