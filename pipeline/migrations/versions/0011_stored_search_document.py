"""PostgreSQL: the full-text document as a stored column, with the GIN index on the column.

Revisions 0004 and 0010 indexed an expression (``to_tsvector`` over title and text). PostgreSQL
only answers from that index when it expects few matches; in every other plan it evaluates the
expression on each row it reads, about 0.25 ms per 2 KB article. A search over 90 days of a
million articles read 83,000 rows that way: 21 s (docs/benchmarks.md). A stored generated column
is computed once, when the row is written (the index computed the same thing then anyway), and
reading it back costs a fraction of that. The words indexed, and so every search result, are the
same as 0010's.

Upgrading adds ``articles.search_document`` (``GENERATED ALWAYS AS (<0010 expression>) STORED``:
PostgreSQL rewrites the table and computes it for every article), rebuilds the GIN index on it
and refreshes the planner's statistics. Downgrading drops the column and rebuilds 0010's index.
SQLite's FTS5 index is untouched.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PUNCTUATION = (
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‹›‘’‚“”„–—―…·•′″°€£©®™\u00a0\u2009\u200b\u202f"
)
_BRACKET = "[]" + "".join(c for c in _PUNCTUATION if c not in "]\\^-") + "\\\\^-]"
_DOCUMENT = (
    "to_tsvector('simple', regexp_replace(title || ' ' || text, "
    f"'{_BRACKET.replace(chr(39), chr(39) * 2)}', ' ', 'g'))"
)
_COLUMN = "search_document"


def upgrade() -> None:
    """Add the stored document column and index it instead of the expression."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.execute(
        f"ALTER TABLE articles ADD COLUMN {_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({_DOCUMENT}) STORED"
    )
    op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin ({_COLUMN})")
    op.execute("ANALYZE articles")


def downgrade() -> None:
    """Drop the column (and its index with it); index 0010's expression again."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE articles DROP COLUMN IF EXISTS {_COLUMN}")
    op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({_DOCUMENT}))")
