"""SQLite: the full-text id table loses its copy of the article id; the triggers use the key.

Since revision 0014 an article's full-text id (``article_search_ids.search_id``) is its
``article_key``, so the table's ``article_id`` column, with its unique index, only repeated what
``articles`` holds. That index is keyed by the hashed id: at a million articles a batch of 5,000
new articles rewrote 3,156 of its pages, one per article (docs/benchmarks.md, "Per-article
tables keyed by an increasing integer"). The table is copied without the column, and the
triggers on ``articles`` find an article's full-text id as ``OLD.article_key`` /
``NEW.article_key`` instead of looking it up by id. An article's key never changes (its
per-article rows refer to it), so changing its ``article_id`` no longer touches the index.

Downgrading copies the column back from ``articles`` and restores the triggers of 0012-0014.
PostgreSQL is untouched.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_SCORES = [f"score_{k} FLOAT" for k in range(8)]
_FACTS = "event_date DATE, source VARCHAR(200), language VARCHAR(8), " + ", ".join(_SCORES)
_COPIED = "event_date, source, language, " + ", ".join(c.split()[0] for c in _SCORES)
_PREFIXED = ", ".join(f"i.{c.strip()}" for c in _COPIED.split(","))
_ARTICLE_TRIGGERS = (
    "article_search_insert",
    "article_search_update",
    "article_search_delete",
    "search_facts_article",
)
_NOT_PENDING = "NOT IN (SELECT search_id FROM article_search_pending)"


def _facts_trigger(row: str) -> str:
    """Revision 0013's trigger that follows an article's date, source and language."""
    return f"""CREATE TRIGGER search_facts_article AFTER UPDATE OF event_date, source, language
    ON articles
    WHEN OLD.event_date IS NOT NEW.event_date OR OLD.source IS NOT NEW.source
        OR OLD.language IS NOT NEW.language
    BEGIN
        UPDATE article_search_ids
            SET event_date = NEW.event_date, source = NEW.source, language = NEW.language
            WHERE {row};
    END"""


_BY_KEY = (
    """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (search_id, event_date, source, language)
            VALUES (NEW.article_key, NEW.event_date, NEW.source, NEW.language);
        INSERT INTO article_search_pending (search_id) VALUES (NEW.article_key);
    END""",
    f"""CREATE TRIGGER article_search_update AFTER UPDATE OF title, text ON articles
    WHEN OLD.title IS NOT NEW.title OR OLD.text IS NOT NEW.text
    BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', OLD.article_key, OLD.title || ' ' || OLD.text
            WHERE OLD.article_key {_NOT_PENDING};
        INSERT INTO article_search (rowid, document)
            SELECT NEW.article_key, NEW.title || ' ' || NEW.text
            WHERE NEW.article_key {_NOT_PENDING};
    END""",
    f"""CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', OLD.article_key, OLD.title || ' ' || OLD.text
            WHERE OLD.article_key {_NOT_PENDING};
        DELETE FROM article_search_pending WHERE search_id = OLD.article_key;
        DELETE FROM article_search_ids WHERE search_id = OLD.article_key;
    END""",
    _facts_trigger("search_id = NEW.article_key"),
)

_NOT_PENDING_ID = f"search_id {_NOT_PENDING}"
_BY_ID = (  # as revisions 0014 (insert), 0012 (update, delete) and 0013 (facts) wrote them
    """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (search_id, article_id, event_date, source, language)
            VALUES (NEW.article_key, NEW.article_id, NEW.event_date, NEW.source, NEW.language);
        INSERT INTO article_search_pending (search_id) VALUES (NEW.article_key);
    END""",
    f"""CREATE TRIGGER article_search_update AFTER UPDATE OF article_id, title, text ON articles
    WHEN OLD.article_id IS NOT NEW.article_id OR OLD.title IS NOT NEW.title
        OR OLD.text IS NOT NEW.text
    BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id AND {_NOT_PENDING_ID};
        UPDATE article_search_ids SET article_id = NEW.article_id
            WHERE article_id = OLD.article_id AND OLD.article_id IS NOT NEW.article_id;
        INSERT INTO article_search (rowid, document)
            SELECT search_id, NEW.title || ' ' || NEW.text FROM article_search_ids
            WHERE article_id = NEW.article_id AND {_NOT_PENDING_ID};
    END""",
    f"""CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id AND {_NOT_PENDING_ID};
        DELETE FROM article_search_pending WHERE search_id IN
            (SELECT search_id FROM article_search_ids WHERE article_id = OLD.article_id);
        DELETE FROM article_search_ids WHERE article_id = OLD.article_id;
    END""",
    _facts_trigger("article_id IN (OLD.article_id, NEW.article_id)"),
)


def _recopy(columns: str, select: str, triggers: tuple[str, ...]) -> None:
    """Copy the id table into one with ``columns`` from ``select``; put the triggers back.

    SQLite refuses to rename the copy while a trigger names a table that is missing, so every
    trigger naming the id table goes first: those on ``articles`` come back as ``triggers``,
    the others (the current scores' of revision 0014) as they were.
    """
    kept = op.get_bind().exec_driver_sql(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND sql LIKE ?",
        ("%article_search_ids%",),
    )
    others = {name: sql for name, sql in kept if name not in _ARTICLE_TRIGGERS}
    for name in (*_ARTICLE_TRIGGERS, *others):
        op.execute(f"DROP TRIGGER {name}")
    op.execute(f"CREATE TABLE article_search_ids_0015 ({columns})")
    op.execute(f"INSERT INTO article_search_ids_0015 {select}")
    op.execute("DROP TABLE article_search_ids")
    op.execute("ALTER TABLE article_search_ids_0015 RENAME TO article_search_ids")
    for trigger in (*triggers, *others.values()):
        op.execute(trigger)


def upgrade() -> None:
    """Drop the id column (by copying the table) and key the triggers by the article key."""
    if op.get_bind().dialect.name != "sqlite":
        return
    _recopy(
        f"search_id INTEGER PRIMARY KEY, {_FACTS}",
        f"SELECT search_id, {_COPIED} FROM article_search_ids ORDER BY search_id",
        _BY_KEY,
    )


def downgrade() -> None:
    """Copy each article's id back beside its full-text id; restore the triggers by id."""
    if op.get_bind().dialect.name != "sqlite":
        return
    _recopy(
        f"search_id INTEGER PRIMARY KEY, article_id VARCHAR(32) NOT NULL UNIQUE, {_FACTS}",
        f"""SELECT i.search_id, a.article_id, {_PREFIXED}
            FROM article_search_ids AS i JOIN articles AS a ON a.article_key = i.search_id
            ORDER BY i.search_id""",
        _BY_ID,
    )
