"""Derived tables and keys for a million-article store: daily totals, version counts, score keys.

Adds ``daily_signal_totals`` and ``version_totals`` (filled from the current scores), the
``articles.score_key`` column (filled from each article's current scores), replaces the source
index with a (source, event_date) one for filtered article lists, indexes the language (the
filter list reads it), drops the (signal, article_id) score index, and writes schema_info
version 2 so builds from before Alembic refuse the store. Nothing is dropped but two indexes;
downgrading removes only derived data.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import op

from pipeline import schema, totals

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHUNK = 5000


def upgrade() -> None:
    """Add the derived tables and columns, then fill them from the existing rows."""
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("score_key", sa.String(16), nullable=False, server_default=""))
        batch.drop_index("ix_articles_source")
        batch.create_index("ix_articles_source_event_date", ["source", "event_date"])
        batch.create_index("ix_articles_score_key", ["score_key", "article_id"])
        batch.create_index("ix_articles_language", ["language"])
    # Scans by signal now read the totals; this index only misled the planner into walking
    # every score when the dashboard's detailed query had a date range to start from.
    op.drop_index("ix_current_scores_signal", table_name="current_scores")
    op.create_table(
        "daily_signal_totals",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("signal", sa.String(40), primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("language", sa.String(8), primary_key=True),
        sa.Column("relevance_bucket", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
    )
    op.create_table(
        "version_totals",
        sa.Column("signal", sa.String(40), primary_key=True),
        sa.Column("model_version", sa.String(80), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("last_scored_at", sa.DateTime(timezone=True), nullable=False),
    )
    conn = op.get_bind()
    totals.rebuild(conn, share_columns=False, key="article_id")
    _fill_score_keys(conn)
    info = schema.schema_info
    conn.execute(info.update().where(info.c.key == "schema_version").values(value="2"))


def _fill_score_keys(conn: sa.Connection) -> None:
    """Walk the articles in id order, a chunk at a time, so a big store never sits in memory."""
    a = schema.articles
    last = ""
    while True:
        ids = list(
            conn.execute(
                sa.select(a.c.article_id)
                .where(a.c.article_id > last)
                .order_by(a.c.article_id)
                .limit(_CHUNK)
            ).scalars()
        )
        if not ids:
            return
        state = _load_state(conn, ids)
        keys = [{"aid": k, "key": v} for k, v in sorted(totals.score_keys(state).items()) if v]
        if keys:  # the column as this revision has it (revision 0009 moves it to its own table)
            articles = sa.table("articles", sa.column("article_id"), sa.column("score_key"))
            stmt = articles.update().where(articles.c.article_id == sa.bindparam("aid"))
            conn.execute(stmt.values(score_key=sa.bindparam("key")), keys)
        last = ids[-1]


def _load_state(conn: sa.Connection, ids: list[str]) -> totals.State:
    """``totals.load_state`` as the tables were before revision 0014 (scores by article id)."""
    a = sa.table(
        "articles",
        *(sa.column(n) for n in ("article_id", "event_date", "source", "language")),
        sa.column("content_hash"),
    )
    names = ("article_id", "signal", "value", "model_version", "content_hash", "scored_at")
    cs = sa.table("current_scores", *(sa.column(n) for n in names))
    state = totals.State({}, {})
    for aid, day, source, language, content in conn.execute(
        sa.select(a).where(a.c.article_id.in_(ids))
    ):
        day = day if isinstance(day, date) else date.fromisoformat(day)  # untyped on SQLite
        state.facts[aid] = totals.Facts(day, source, language, content, 0)
    for aid, signal, value, version, content, stamp in conn.execute(
        sa.select(cs).where(cs.c.article_id.in_(ids))
    ):
        state.current.setdefault(aid, {})[signal] = totals.Current(value, version, content, stamp)
    return state


def downgrade() -> None:
    """Drop the derived tables and column (rebuilt from the kept rows by the next upgrade)."""
    op.drop_table("version_totals")
    op.drop_table("daily_signal_totals")
    op.create_index("ix_current_scores_signal", "current_scores", ["signal", "article_id"])
    op.drop_index("ix_articles_language", table_name="articles")
    op.drop_index("ix_articles_score_key", table_name="articles")
    op.drop_index("ix_articles_source_event_date", table_name="articles")
    op.create_index("ix_articles_source", "articles", ["source"])
    if op.get_bind().dialect.name == "sqlite":
        # SQLite (3.35+) drops a column in place; batch mode would rebuild the table, and
        # dropping the old copy trips the foreign keys that point at it.
        op.execute("ALTER TABLE articles DROP COLUMN score_key")
    else:
        op.drop_column("articles", "score_key")
    info = schema.schema_info
    op.get_bind().execute(info.update().where(info.c.key == "schema_version").values(value="1"))
