"""Key the per-article tables by an increasing integer instead of the hashed article id.

At a million articles a transaction of 5,000 new articles rewrote 15.3 pages per article, half of
them in indexes keyed by the hashed ``article_id``: a random string, so nearly every new entry
landed on a page of its own (docs/benchmarks.md, "Where the writer's time goes at a million").
``articles.article_key`` is an integer that grows with each new article; ``scores``,
``current_scores``, ``article_score_keys`` and ``article_sources`` are keyed by it, as are the
articles' lookup index and the current scores' lookup and rank indexes, so a new article's
entries are appended. ``article_id`` stays the article's identity everywhere else (labels,
links, exports, de-duplication).

SQLite: each existing article gets its full-text id as its key (``article_search_ids.search_id``,
the FTS5 rowid, increasing in insertion order), so from now on the two are the same number: the
insert trigger gives a new article the full-text id equal to its key, and the current-score
triggers of revision 0013 find the article's copy by that integer instead of by the string.
PostgreSQL: keys are numbered in ingestion order and new ones come from the sequence
``article_keys``. The writer takes the keys for a batch in one statement
(``pipeline.store.next_article_keys``).

The four tables are copied into new ones (their primary key changes, which SQLite cannot alter
in place); nothing is lost. Downgrading copies them back keyed by ``article_id``.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEY_SEQUENCE = "article_keys"
_SLOTS = 8
_SCORES = [f"score_{k}" for k in range(_SLOTS)]


def _columns(key: str) -> dict[str, Callable[[], list[Any]]]:
    """Each copied table's columns and primary key at this revision (``key``) or at 0013."""
    name, parent = key, f"articles.{key}"
    kind: Any = sa.Integer if key == "article_key" else sa.String(32)

    def owner() -> list[Any]:
        return [
            sa.Column(name, kind, nullable=False),
            sa.ForeignKeyConstraint([name], [parent]),
        ]

    def score_columns() -> list[Any]:
        return [
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("confidence", sa.String(16), nullable=False),
            sa.Column("explanation", sa.Text, nullable=False, server_default=""),
            sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        ]

    return {
        "article_score_keys": lambda: [
            *owner(),
            sa.Column("score_key", sa.String(16), nullable=False, server_default=""),
            sa.PrimaryKeyConstraint(name),
        ],
        "article_sources": lambda: [
            *owner(),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("origin", sa.String(500), nullable=False),
            sa.Column("url", sa.Text),
            sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint(name, "source"),
        ],
        "scores": lambda: [
            *owner(),
            sa.Column("signal", sa.String(40), nullable=False),
            sa.Column("model_version", sa.String(80), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            *score_columns(),
            sa.PrimaryKeyConstraint(name, "signal", "model_version", "content_hash"),
        ],
        "current_scores": lambda: [
            *owner(),
            sa.Column("signal", sa.String(40), nullable=False),
            sa.Column("value", sa.Float, nullable=False),
            sa.Column("model_version", sa.String(80), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("confidence", sa.String(16), nullable=False),
            sa.Column("explanation", sa.Text, nullable=False, server_default=""),
            sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint(name, "signal"),
        ],
    }


def _indexes(key: str) -> list[tuple[str, str, list[str]]]:
    """The indexes over the owning article's key, at this revision or at 0013."""
    return [
        ("ix_article_score_keys_key", "article_score_keys", ["score_key", key]),
        ("ix_current_scores_lookup", "current_scores", [key, "signal", "value"]),
        ("ix_current_scores_rank", "current_scores", ["value", "signal", key]),
    ]


def _recopy(old_key: str, new_key: str) -> None:
    """Copy the four tables into new ones keyed by ``new_key``, then put them in place.

    On PostgreSQL the copies get their foreign keys after their rows. Checked row by row during
    the copy, each check would look ``new_key`` up in ``articles`` without the index built on it
    in this same transaction: an index built over rows this transaction updated is invisible
    to it (``pg_index.indcheckxmin``), so every check read the whole table. At 300,000
    articles the first copy had not finished after ten minutes; one check of the whole table
    when the key is added takes a join. Without statistics for the new tables, the pending-work
    query took 690 ms instead of 12 on that store until they were analysed.
    """
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    for index, table, _ in _indexes(old_key):
        op.drop_index(index, table_name=table)
    tables = _columns(new_key)
    for table, columns in tables.items():
        items = columns()
        if postgres:
            items = [c for c in items if not isinstance(c, sa.ForeignKeyConstraint)]
        op.create_table(f"{table}_0014", *items)
        names = [c.name for c in items if isinstance(c, sa.Column) and c.name != new_key]
        listed = ", ".join(names)
        kept = ", ".join(f"t.{n}" for n in names)
        conn.exec_driver_sql(
            f"INSERT INTO {table}_0014 ({new_key}, {listed}) SELECT a.{new_key}, {kept} "
            f"FROM {table} AS t JOIN articles AS a ON a.{old_key} = t.{old_key} "
            f"ORDER BY a.{new_key}"
        )
        op.drop_table(table)
        op.rename_table(f"{table}_0014", table)
        if postgres:
            op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_0014_pkey TO {table}_pkey")
            # named as PostgreSQL names the foreign key of a table created under this name
            op.create_foreign_key(
                f"{table}_{new_key}_fkey", table, "articles", [new_key], [new_key]
            )
    for index, table, indexed in _indexes(new_key):
        op.create_index(index, table, indexed)
    if postgres:  # new tables have no statistics; until autovacuum gets to them plans guess
        op.execute(f"ANALYZE articles, {', '.join(tables)}")


def _store_score(key_match: str) -> str:
    """Revision 0013's copy of a current score beside the full-text id, found by ``key_match``."""
    slots = ",\n".join(
        f"{c} = CASE m.slot WHEN {k} THEN NEW.value ELSE {c} END" for k, c in enumerate(_SCORES)
    )
    return f"""UPDATE article_search_ids SET {slots}
        FROM search_score_slots AS m
        WHERE m.signal = NEW.signal AND {key_match.format(row="NEW")}"""


def _score_triggers(key_match: str) -> list[str]:
    """The current-score triggers of revision 0013, finding the article by ``key_match``."""
    clear = ",\n".join(
        f"{c} = CASE m.slot WHEN {k} THEN NULL ELSE {c} END" for k, c in enumerate(_SCORES)
    )
    store = _store_score(key_match)
    return [
        f"""CREATE TRIGGER search_facts_slot_claim AFTER INSERT ON current_scores
        WHEN NOT EXISTS (SELECT 1 FROM search_score_slots WHERE signal = NEW.signal)
        BEGIN
            INSERT INTO search_score_slots (signal, slot)
            SELECT NEW.signal, (SELECT count(*) FROM search_score_slots)
            WHERE (SELECT count(*) FROM search_score_slots) < {_SLOTS};
            {store};
        END""",
        f"""CREATE TRIGGER search_facts_score_insert AFTER INSERT ON current_scores BEGIN
            {store};
        END""",
        f"""CREATE TRIGGER search_facts_score_update AFTER UPDATE OF value ON current_scores
        WHEN OLD.value IS NOT NEW.value
        BEGIN
            {store};
        END""",
        f"""CREATE TRIGGER search_facts_score_delete AFTER DELETE ON current_scores BEGIN
            UPDATE article_search_ids SET {clear}
            FROM search_score_slots AS m
            WHERE m.signal = OLD.signal AND {key_match.format(row="OLD")};
        END""",
    ]


_BY_KEY = "article_search_ids.search_id = {row}.article_key"
_BY_ID = "article_search_ids.article_id = {row}.article_id"
_INSERT_BY_KEY = """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (search_id, article_id, event_date, source, language)
            VALUES (NEW.article_key, NEW.article_id, NEW.event_date, NEW.source, NEW.language);
        INSERT INTO article_search_pending (search_id) VALUES (NEW.article_key);
    END"""
_INSERT_0013 = """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (article_id, event_date, source, language)
            VALUES (NEW.article_id, NEW.event_date, NEW.source, NEW.language);
        INSERT INTO article_search_pending (search_id)
            SELECT search_id FROM article_search_ids WHERE article_id = NEW.article_id;
    END"""


def upgrade() -> None:
    """Number the articles, copy the four tables keyed by the number, move the triggers."""
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        # NOT NULL needs a default to be added in place; every row gets its number below.
        op.execute("ALTER TABLE articles ADD COLUMN article_key INTEGER NOT NULL DEFAULT 0")
        op.execute(
            """UPDATE articles SET article_key = coalesce((SELECT s.search_id
                FROM article_search_ids AS s WHERE s.article_id = articles.article_id), 0)"""
        )
        # an article without a full-text id (none, if the triggers always ran) gets a fresh key
        op.execute(
            """UPDATE articles SET article_key = (SELECT coalesce(max(article_key), 0)
                FROM articles) + (SELECT count(*) FROM articles AS o
                WHERE o.article_key = 0 AND o.rowid <= articles.rowid)
            WHERE article_key = 0"""
        )
    else:
        op.add_column("articles", sa.Column("article_key", sa.Integer))
        op.execute(
            """UPDATE articles SET article_key = n.k FROM (SELECT article_id,
                row_number() OVER (ORDER BY ingested_at, article_id) AS k FROM articles) AS n
            WHERE n.article_id = articles.article_id"""
        )
        op.alter_column("articles", "article_key", nullable=False)
        op.execute(f"CREATE SEQUENCE {KEY_SEQUENCE}")
        op.execute(
            f"SELECT setval('{KEY_SEQUENCE}', coalesce(max(article_key), 0) + 1, false) "
            "FROM articles"
        )
    op.create_index("ux_articles_article_key", "articles", ["article_key"], unique=True)
    op.drop_index("ix_articles_lookup", table_name="articles")
    op.create_index(
        "ix_articles_lookup", "articles", ["article_key", "event_date", "source", "language"]
    )
    _recopy("article_id", "article_key")
    if sqlite:
        op.execute("DROP TRIGGER article_search_insert")
        op.execute(_INSERT_BY_KEY)
        for trigger in _score_triggers(_BY_KEY):
            op.execute(trigger)


def downgrade() -> None:
    """Copy the four tables back keyed by ``article_id`` and drop the numbers."""
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    _recopy("article_key", "article_id")
    op.drop_index("ix_articles_lookup", table_name="articles")
    op.create_index(
        "ix_articles_lookup", "articles", ["article_id", "event_date", "source", "language"]
    )
    op.drop_index("ux_articles_article_key", table_name="articles")
    if sqlite:
        op.execute("DROP TRIGGER article_search_insert")
        op.execute(_INSERT_0013)
        for trigger in _score_triggers(_BY_ID):
            op.execute(trigger)
        op.execute("ALTER TABLE articles DROP COLUMN article_key")
    else:
        op.drop_column("articles", "article_key")
        op.execute(f"DROP SEQUENCE {KEY_SEQUENCE}")
