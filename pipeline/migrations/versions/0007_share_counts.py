"""Share counts in the daily totals, so the EPU share view needs no pass over the articles.

The share view counts, per day and source, the relevant articles whose risk on a signal reaches
``index.share_threshold``. Without a text search it read every article and its scores through the
covering indexes of 0006: 3.4-4.5 s on a million articles (docs/benchmarks.md). This revision adds
42 integer columns to ``daily_signal_totals``: ``risk_ge_00`` .. ``risk_ge_20`` count a row's scores
with ``value >= b/20`` and ``tone_ge_00`` .. ``tone_ge_20`` those with ``(1 - value) / 2 >= b/20``
(a tone's risk), so any threshold on the 0.05 grid, for either kind of signal, is one column's sum.

Upgrading adds the columns (default 0) and rebuilds the totals from the articles and their current
scores; downgrading drops the columns (derived data only).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pipeline import schema, totals

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = (*schema.RISK_AT_LEAST, *schema.TONE_AT_LEAST)


def upgrade() -> None:
    """Add the columns, then fill them by rebuilding the totals (one pass over the scores)."""
    with op.batch_alter_table("daily_signal_totals") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer, nullable=False, server_default="0"))
    totals.rebuild(op.get_bind(), key="article_id")


def downgrade() -> None:
    """Drop the columns again; the share view falls back to reading the articles."""
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops a column in place; batch mode would copy the table 42 times.
        for name in _COLUMNS:
            op.execute(f"ALTER TABLE daily_signal_totals DROP COLUMN {name}")
        return
    with op.batch_alter_table("daily_signal_totals") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
