"""The store as it was before migrations: raw items, articles, scores, runs, labels and feeds.

A database that ``metadata.create_all`` built before Alembic arrived is exactly this revision:
``policy-risk db upgrade`` stamps it ``0001`` and continues from there.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table of the original schema and record schema_info version 1."""
    info = op.create_table(
        "schema_info",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    _raw_and_articles()
    _scores_and_labels()
    _runs_and_feeds()
    op.bulk_insert(info, [{"key": "schema_version", "value": "1"}])


def _raw_and_articles() -> None:
    op.create_table(
        "raw_items",
        sa.Column("raw_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("fetched_at", _TS, nullable=False),
        sa.UniqueConstraint("origin", "payload_hash", name="uq_raw_items_origin_payload"),
    )
    op.create_table(
        "articles",
        sa.Column("article_id", sa.String(32), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("page_date", sa.Date),
        sa.Column("event_date", sa.Date, nullable=False),
        sa.Column("ingested_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(500), nullable=False, server_default=""),
        sa.Column("date_flags", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_articles_event_date", "articles", ["event_date"])
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
    op.create_index("ix_articles_source", "articles", ["source"])
    op.create_table(
        "article_sources",
        sa.Column(
            "article_id", sa.String(32), sa.ForeignKey("articles.article_id"), primary_key=True
        ),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("origin", sa.String(500), nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("first_seen_at", _TS, nullable=False),
    )


def _scores_and_labels() -> None:
    article = sa.ForeignKey("articles.article_id")
    op.create_table(
        "scores",
        sa.Column("article_id", sa.String(32), article, primary_key=True),
        sa.Column("signal", sa.String(40), primary_key=True),
        sa.Column("model_version", sa.String(80), primary_key=True),
        sa.Column("content_hash", sa.String(64), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False, server_default=""),
        sa.Column("scored_at", _TS, nullable=False),
    )
    op.create_table(
        "current_scores",
        sa.Column(
            "article_id", sa.String(32), sa.ForeignKey("articles.article_id"), primary_key=True
        ),
        sa.Column("signal", sa.String(40), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(80), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("confidence", sa.String(16), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False, server_default=""),
        sa.Column("scored_at", _TS, nullable=False),
    )
    op.create_index("ix_current_scores_signal", "current_scores", ["signal", "article_id"])
    op.create_table(
        "labels",
        sa.Column("label_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "article_id", sa.String(32), sa.ForeignKey("articles.article_id"), nullable=False
        ),
        sa.Column("signal", sa.String(40), nullable=False),
        sa.Column("old_value", sa.Float),
        sa.Column("new_value", sa.Float, nullable=False),
        sa.Column("labelled_by", sa.String(100), nullable=False),
        sa.Column("labelled_at", _TS, nullable=False),
    )


def _runs_and_feeds() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("articles_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("articles_updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("articles_scored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sources_failed", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "run_errors",
        sa.Column("error_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
    )
    op.create_table(
        "feeds",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_attempt_at", _TS),
        sa.Column("last_success_at", _TS),
        sa.Column("http_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("problems", sa.Text, nullable=False, server_default=""),
        sa.Column("consecutive_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("entries_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("articles_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TS),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", _TS),
    )


def downgrade() -> None:
    """Refuse: going below the first revision would drop every table and the data in them."""
    raise NotImplementedError("0001 is the first revision; nothing to downgrade to")
