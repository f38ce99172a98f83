"""SQLite: new articles reach the FTS5 index in one statement per batch, not one per row.

Revision 0004's insert trigger wrote each new article into ``article_search`` from inside the
trigger. SQLite opens a savepoint for every trigger statement and FTS5 writes its in-memory terms
out as a new segment at each savepoint, so every article became a one-row segment to be merged
later: in isolation, 0.19-0.20 ms of CPU per 2 KB article for the id and the index from a per-row
trigger, against 0.11 ms with the index filled by one statement per batch; in the store, 0.28-0.31
against 0.21-0.23 ms per article written (docs/benchmarks.md, "Search index writes once per batch").

Now the insert trigger only gives the article its stable id and lists that id in
``article_search_pending``; the writer that inserted the articles then calls
``pipeline.search.flush_pending`` in the same transaction, which indexes every pending article
from its current title and text in one ``INSERT ... SELECT`` and empties the list. Readers never
see a pending row: it is added and removed inside one write transaction. The update and delete
triggers leave a still-pending article's index entry alone (there is none yet; the flush indexes
whatever the row holds by then), so an edit between insert and flush cannot corrupt the
contentless index, which deletes a row only by being told its exact old words.

PostgreSQL is untouched (its stored column is computed by the row write itself).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_NOT_PENDING = "search_id NOT IN (SELECT search_id FROM article_search_pending)"
_TRIGGERS = (
    "DROP TRIGGER IF EXISTS article_search_insert",
    "DROP TRIGGER IF EXISTS article_search_update",
    "DROP TRIGGER IF EXISTS article_search_delete",
)
_UP = (
    "CREATE TABLE article_search_pending (search_id INTEGER PRIMARY KEY)",
    *_TRIGGERS,
    """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (article_id) VALUES (NEW.article_id);
        INSERT INTO article_search_pending (search_id)
            SELECT search_id FROM article_search_ids WHERE article_id = NEW.article_id;
    END""",
    f"""CREATE TRIGGER article_search_update AFTER UPDATE OF article_id, title, text ON articles
    WHEN OLD.article_id IS NOT NEW.article_id OR OLD.title IS NOT NEW.title
        OR OLD.text IS NOT NEW.text
    BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id AND {_NOT_PENDING};
        UPDATE article_search_ids SET article_id = NEW.article_id
            WHERE article_id = OLD.article_id AND OLD.article_id IS NOT NEW.article_id;
        INSERT INTO article_search (rowid, document)
            SELECT search_id, NEW.title || ' ' || NEW.text FROM article_search_ids
            WHERE article_id = NEW.article_id AND {_NOT_PENDING};
    END""",
    f"""CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
        INSERT INTO article_search (article_search, rowid, document)
            SELECT 'delete', search_id, OLD.title || ' ' || OLD.text FROM article_search_ids
            WHERE article_id = OLD.article_id AND {_NOT_PENDING};
        DELETE FROM article_search_pending WHERE search_id IN
            (SELECT search_id FROM article_search_ids WHERE article_id = OLD.article_id);
        DELETE FROM article_search_ids WHERE article_id = OLD.article_id;
    END""",
)
# 0004's triggers, verbatim
_DOWN = (
    # nothing may stay unindexed once the list is gone
    """INSERT INTO article_search (rowid, document)
        SELECT p.search_id, a.title || ' ' || a.text FROM article_search_pending AS p
        JOIN article_search_ids AS i ON i.search_id = p.search_id
        JOIN articles AS a ON a.article_id = i.article_id""",
    *_TRIGGERS,
    "DROP TABLE article_search_pending",
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


def upgrade() -> None:
    """Add the pending list and the batching triggers (nothing is pending between writes)."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    """Index anything pending, then restore 0004's per-row triggers."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _DOWN:
            op.execute(statement)
