"""Daily totals keyed signal first, with an article-volume row per day, source and language.

Measured on a million articles (docs/storage.md): the dashboard header counted every article on
each render (0.1 s on SQLite, 0.3 s on PostgreSQL). The totals now carry the pseudo-signal
``#articles`` (every article once, relevant or not), and the primary key starts with the signal
so that count reads only those rows. The table holds derived data only, so it is rebuilt from the
articles and scores rather than altered: SQLite cannot change a primary key in place.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from pipeline import totals

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_KEY = ("day", "signal", "source", "language", "relevance_bucket")


def _create(key: tuple[str, ...]) -> None:
    types: dict[str, Any] = {
        "day": sa.Date,
        "signal": sa.String(40),
        "source": sa.String(200),
        "language": sa.String(8),
        "relevance_bucket": sa.Integer,
    }
    op.create_table(
        "daily_signal_totals",
        *[sa.Column(name, types[name], primary_key=True) for name in key],
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
    )


def upgrade() -> None:
    """Recreate the totals table with the signal-first key and fill it, volume rows included."""
    op.drop_table("daily_signal_totals")
    _create(("signal", "day", "source", "language", "relevance_bucket"))
    totals.rebuild(op.get_bind(), share_columns=False, key="article_id")


def downgrade() -> None:
    """Back to the day-first key; the volume rows stay (revision 0002 code ignores them)."""
    op.drop_table("daily_signal_totals")
    _create(_OLD_KEY)
    totals.rebuild(op.get_bind(), share_columns=False, key="article_id")
