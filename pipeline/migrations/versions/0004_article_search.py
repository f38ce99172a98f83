"""A full-text index over the articles' title and text, so a whole-store search takes < 1 s.

Measured on a million articles (docs/benchmarks.md): ``title ILIKE '%q%' OR text ILIKE '%q%'``
read every article, about 21 s per search. ``pipeline.search`` queries this index instead.

SQLite: ``article_search`` is a contentless FTS5 table (``unicode61 remove_diacritics 2``: case-
and accent-insensitive). It stores only the word index, not a second copy of the text, over one
column, ``title || ' ' || text``: what PostgreSQL indexes too, so both see the same word sequence.
Its rowid cannot be the articles' implicit rowid (VACUUM may renumber that, because the primary key
is the TEXT ``article_id``), so ``article_search_ids`` gives each article a stable INTEGER PRIMARY
KEY, which VACUUM keeps. Triggers on ``articles`` keep both in step inside the writer's own
transaction, so every write path (upsert, edit, ``db copy``, the crash-safe batches) maintains the
index with no Python change. A contentless table deletes a row by being told its old words, which
the triggers have in ``OLD.title`` and ``OLD.text``. (A later migration that rebuilds ``articles``
in batch mode drops these triggers with the old table and must create them again.)

PostgreSQL: a GIN index on ``to_tsvector('simple', translate(title || ' ' || text, ...))``; the
expression must stay identical to ``pipeline.search.DOCUMENT_SQL`` (frozen here, as revisions are).

Upgrading fills the index from the existing rows; downgrading drops it (derived data only).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‹›‘’‚“”„–—―…·•′″°€£©®™\u00a0\u2009\u200b\u202f"
)
_DOCUMENT = (
    "to_tsvector('simple', translate(title || ' ' || text, "
    f"'{_PUNCTUATION.replace(chr(39), chr(39) * 2)}', '{' ' * len(_PUNCTUATION)}'))"
)

# Each statement finds the stable id by article_id; INSERT ... SELECT (never VALUES) so a missing
# id inserts nothing rather than a row FTS5 would number itself.
_SQLITE_UP = (
    """CREATE TABLE article_search_ids (
        search_id INTEGER PRIMARY KEY,
        article_id VARCHAR(32) NOT NULL UNIQUE
    )""",
    """CREATE VIRTUAL TABLE article_search USING fts5(
        document, content='', columnsize=0, tokenize='unicode61 remove_diacritics 2'
    )""",
    """INSERT INTO article_search_ids (article_id)
        SELECT article_id FROM articles ORDER BY article_id""",
    """INSERT INTO article_search (rowid, document)
        SELECT i.search_id, a.title || ' ' || a.text
        FROM article_search_ids AS i JOIN articles AS a ON a.article_id = i.article_id
        ORDER BY i.search_id""",
    "INSERT INTO article_search (article_search) VALUES ('optimize')",
    """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (article_id) VALUES (NEW.article_id);
        INSERT INTO article_search (rowid, document)
            SELECT search_id, NEW.title || ' ' || NEW.text FROM article_search_ids
            WHERE article_id = NEW.article_id;
    END""",
    """CREATE TRIGGER article_search_update AFTER UPDATE OF article_id, title, text ON articles
    WHEN OLD.article_id IS NOT NEW.article_id OR OLD.title IS NOT NEW.title
        OR OLD.text IS NOT NEW.text
    BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id;
        UPDATE article_search_ids SET article_id = NEW.article_id
            WHERE article_id = OLD.article_id AND OLD.article_id IS NOT NEW.article_id;
        INSERT INTO article_search (rowid, document)
            SELECT search_id, NEW.title || ' ' || NEW.text FROM article_search_ids
            WHERE article_id = NEW.article_id;
    END""",
    """CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id;
        DELETE FROM article_search_ids WHERE article_id = OLD.article_id;
    END""",
)
_SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS article_search_delete",
    "DROP TRIGGER IF EXISTS article_search_update",
    "DROP TRIGGER IF EXISTS article_search_insert",
    "DROP TABLE IF EXISTS article_search",
    "DROP TABLE IF EXISTS article_search_ids",
)


def upgrade() -> None:
    """Create the index and fill it from every stored article (one statement per step)."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({_DOCUMENT}))")


def downgrade() -> None:
    """Drop the index (the articles keep every word; the next upgrade rebuilds it)."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_search")
