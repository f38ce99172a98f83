"""Table definitions of the article store (SQLAlchemy Core, portable across SQLite and PostgreSQL).

``scores`` is append-only history: one row per article, signal, model version and content hash.
``current_scores`` holds the latest value per article and signal so the dashboard aggregates
one narrow table instead of ranking the history on every read.

Two derived tables keep a million-article store fast (issue 6). ``daily_signal_totals`` holds the
overview's per-day sums, split by source, language and relevance bucket so the dashboard's
filters can still be answered from it, with cumulative counts of the scores at or above each
0.05 step of risk so the EPU share view reads it too (revision 0007); ``version_totals`` counts
current scores per model version. Both change in the same transaction as the rows they
summarise (``pipeline.totals``).
``article_score_keys.score_key`` fingerprints the model versions an article's current content was
scored with, so finding unscored work is an index range scan instead of an anti-join over
everything (a column of ``articles`` before revision 0009).
Two covering indexes (revision 0006) let the searched overview and share read an article's date,
source and language, and its scores, without touching the wide rows (``pipeline.search.lookup``).

These tables describe the head revision; the database gets them through the Alembic migrations
in ``pipeline/migrations`` (``HEAD_REVISION`` must name the newest one). The full-text index of
revision 0004 (an FTS5 table and its id table on SQLite, a GIN expression index on PostgreSQL)
is not described here: it differs per database; ``pipeline.search`` names its objects.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

# Kept for builds before Alembic: they compare schema_info.schema_version with their own 1,
# so migration 0002 writes 2 there and such a build refuses the store instead of corrupting it.
SCHEMA_VERSION = 2
HEAD_REVISION = "0020"
KNOWN_REVISIONS = (
    *("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009"),
    *("0010", "0011", "0012", "0013", "0014", "0015", "0016", "0017", "0018"),
    *("0019", "0020"),
)

# The 0.05 grid of thresholds the daily totals answer (relevance gate and share threshold).
GRID_STEPS = 20
# Per totals row: how many of its scores have value >= b/20 (a risk-kind signal's risk), and
# how many have (1 - value) / 2 >= b/20 (a tone's risk), for b = 0..20 (revision 0007).
RISK_AT_LEAST = tuple(f"risk_ge_{b:02d}" for b in range(GRID_STEPS + 1))
TONE_AT_LEAST = tuple(f"tone_ge_{b:02d}" for b in range(GRID_STEPS + 1))
# Covering indexes for looking articles and their scores up by id (revision 0006): a searched
# overview looks up every hit, and these answer from narrow index pages instead of the wide rows.
ARTICLES_LOOKUP = "ix_articles_lookup"
SEED_ORIGIN = "ix_articles_origin_without_url"
SCORES_LOOKUP = "ix_current_scores_lookup"
SCORES_RANK = "ix_current_scores_rank"
ARTICLE_KEY = "ux_articles_article_key"
# PostgreSQL only: where new article keys come from (SQLite's writer takes the next free ones).
ARTICLE_KEY_SEQUENCE = "article_keys"

metadata = MetaData()

schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

raw_items = Table(
    "raw_items",
    metadata,
    Column("raw_id", Integer, primary_key=True, autoincrement=True),
    Column("origin", String(500), nullable=False),
    Column("source", String(200), nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("fetched_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("origin", "payload_hash", name="uq_raw_items_origin_payload"),
)

articles = Table(
    "articles",
    metadata,
    Column("article_id", String(32), primary_key=True),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("source", String(200), nullable=False),
    Column("language", String(8), nullable=False),
    Column("url", Text),
    Column("page_date", Date),
    Column("event_date", Date, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("origin", String(500), nullable=False, server_default=""),
    Column("date_flags", String(200), nullable=False, server_default=""),
    Index("ix_articles_event_date", "event_date"),
    Index("ix_articles_content_hash", "content_hash"),
    Index("ix_articles_source_event_date", "source", "event_date"),
    Index("ix_articles_language", "language"),
    # Revision 0014: each article's increasing integer, which keys its rows in the per-article
    # tables below so a new article's entries are appended to their indexes instead of landing
    # on a random page each (the hashed article_id stays the article's public identity).
    Column("article_key", Integer, nullable=False),
    Index(ARTICLE_KEY, "article_key", unique=True),
    Index(ARTICLES_LOOKUP, "article_key", "event_date", "source", "language"),
    # Revision 0017: where an edited seed file finds its article (store._same_file). Partial:
    # only articles without a URL (seed files, link-less feed entries) are in it, so the feed
    # articles that make up nearly all of a large store add nothing to it.
    Index(
        SEED_ORIGIN,
        "origin",
        sqlite_where=text("url IS NULL"),
        postgresql_where=text("url IS NULL"),
    ),
)

# Revision 0009: one narrow row per article, so saving scores never rewrites the article row (on
# PostgreSQL that update re-indexed the article text for the full-text index every time).
article_score_keys = Table(
    "article_score_keys",
    metadata,
    Column(
        "article_key",
        Integer,
        ForeignKey("articles.article_key"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("score_key", String(16), nullable=False, server_default=""),
    Index("ix_article_score_keys_key", "score_key", "article_key"),
)

article_sources = Table(
    "article_sources",
    metadata,
    Column("article_key", Integer, ForeignKey("articles.article_key"), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("origin", String(500), nullable=False),
    Column("url", Text),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)

scores = Table(
    "scores",
    metadata,
    Column("article_key", Integer, ForeignKey("articles.article_key"), primary_key=True),
    Column("signal", String(40), primary_key=True),
    Column("model_version", String(80), primary_key=True),
    Column("content_hash", String(64), primary_key=True),
    Column("value", Float, nullable=False),
    Column("confidence", String(16), nullable=False),
    Column("explanation", Text, nullable=False, server_default=""),
    Column("scored_at", DateTime(timezone=True), nullable=False),
)

current_scores = Table(
    "current_scores",
    metadata,
    Column("article_key", Integer, ForeignKey("articles.article_key"), primary_key=True),
    Column("signal", String(40), primary_key=True),
    Column("value", Float, nullable=False),
    Column("model_version", String(80), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("confidence", String(16), nullable=False),
    Column("explanation", Text, nullable=False, server_default=""),
    Column("scored_at", DateTime(timezone=True), nullable=False),
    Index(SCORES_LOOKUP, "article_key", "signal", "value"),
    # Revision 0008: walk one signal's scores in value order for a list sorted by that score
    # (value first, so no "signal = ?" read mistakes it for a narrow index; insights.article_rows).
    Index(SCORES_RANK, "value", "signal", "article_key"),
)

labels = Table(
    "labels",
    metadata,
    Column("label_id", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(32), ForeignKey("articles.article_id"), nullable=False),
    Column("signal", String(40), nullable=False),
    Column("old_value", Float),
    Column("new_value", Float, nullable=False),
    Column("labelled_by", String(100), nullable=False),
    Column("labelled_at", DateTime(timezone=True), nullable=False),
    # The article's content hash when it was labelled (revision 0020): training leaves out a
    # label whose article's text has changed since. Labels made before 0020 have none.
    Column("content_hash", String(64)),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(20), nullable=False),
    Column("articles_added", Integer, nullable=False, server_default="0"),
    Column("articles_updated", Integer, nullable=False, server_default="0"),
    Column("articles_scored", Integer, nullable=False, server_default="0"),
    Column("sources_failed", Integer, nullable=False, server_default="0"),
    # where the run runs and when it was last alive (pipeline.runlog); empty on older rows
    Column("host", String(200)),
    Column("pid", Integer),
    Column("heartbeat_at", DateTime(timezone=True)),
    # "run": ingest and score (run, watch, up); "score": policy-risk score only (revision 0019)
    Column("kind", String(10), nullable=False, server_default="run"),
)

run_errors = Table(
    "run_errors",
    metadata,
    Column("error_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.run_id"), nullable=False),
    Column("source", String(500), nullable=False),
    Column("message", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

# Articles a run is scoring now (revision 0016), so a second run with the same backlog scores
# the rest instead of all of it again (pipeline.score_claims). Transient: a run deletes its rows
# as it saves; rows of a run that is no longer running are ignored and cleared by the next run.
score_claims = Table(
    "score_claims",
    metadata,
    Column("article_id", String(32), primary_key=True),
    Column("run_id", Integer, nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Index("ix_score_claims_run", "run_id"),
)

feeds = Table(
    "feeds",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_success_at", DateTime(timezone=True)),
    Column("http_status", Integer),
    Column("last_error", Text),
    Column("problems", Text, nullable=False, server_default=""),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("entries_seen", Integer, nullable=False, server_default="0"),
    Column("articles_added", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("claimed_by", String(100)),
    Column("claimed_until", DateTime(timezone=True)),
    # Revision 0018: the run holding the claim; free once it stops running (feed_health)
    Column("claim_run_id", Integer),
)

daily_signal_totals = Table(
    "daily_signal_totals",
    metadata,
    # signal first: the overview reads a few signals, the article counts read only VOLUME
    Column("signal", String(40), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("relevance_bucket", Integer, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("total", Float, nullable=False),
    # Revision 0007: cumulative counts for the EPU share view (pipeline.totals explains them).
    *[
        Column(name, Integer, nullable=False, server_default="0")
        for name in (*RISK_AT_LEAST, *TONE_AT_LEAST)
    ],
)

version_totals = Table(
    "version_totals",
    metadata,
    Column("signal", String(40), primary_key=True),
    Column("model_version", String(80), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("last_scored_at", DateTime(timezone=True), nullable=False),
)
