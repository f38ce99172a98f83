"""PostgreSQL: the full-text index over a cheaper expression with the same words.

Revision 0004 indexed ``to_tsvector('simple', translate(title || ' ' || text, <punctuation>,
<spaces>))``. ``translate()`` compares every character of the text with each of the 64 listed
ones: 0.51 ms of server CPU for a 2 KB article, three quarters of the expression's cost, paid on
every insert (docs/benchmarks.md). ``regexp_replace`` with one bracket expression of exactly those
characters gives the same string (each becomes a space; checked on 20,000 articles and in
tests/test_search.py) at 0.036 ms. The words indexed do not change, so no search result changes.

Upgrading rebuilds the GIN index over the new expression (``pipeline.search.DOCUMENT_SQL``);
downgrading rebuilds the 0004 one. SQLite's FTS5 index is untouched.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
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
_OLD_DOCUMENT = (
    "to_tsvector('simple', translate(title || ' ' || text, "
    f"'{_PUNCTUATION.replace(chr(39), chr(39) * 2)}', '{' ' * len(_PUNCTUATION)}'))"
)


def _rebuild(document: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_articles_search")
    op.execute(f"CREATE INDEX ix_articles_search ON articles USING gin (({document}))")


def upgrade() -> None:
    """Rebuild the GIN index over the regexp_replace expression."""
    _rebuild(_DOCUMENT)


def downgrade() -> None:
    """Rebuild it over revision 0004's translate expression."""
    _rebuild(_OLD_DOCUMENT)
