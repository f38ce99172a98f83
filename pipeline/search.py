"""Whole-store full-text search: one meaning of "the article matches", on SQLite and PostgreSQL.

A substring ``ILIKE`` over title and text reads every article (about 21 s on a million, issue 5).
Migration ``0004`` builds a word index instead: SQLite FTS5 (``article_search``, case- and
accent-insensitive) and a PostgreSQL GIN index on ``to_tsvector('simple', ...)``. This module turns
the analyst's input into a query of that index, so ``pipeline.queries`` and ``pipeline.insights``
share one meaning:

* the input is split into words (runs of letters and digits; everything else separates), so no
  character of it ever reaches the index's query syntax (FTS5 ``"``, ``*``, ``NEAR``, ``AND``;
  tsquery ``& | ! : ( ) '``) as an operator;
* a search matches an article holding every word, each as the start of a word of its title or
  text (``certif`` finds "certification", not "decertification"); case never matters, accents
  do not matter on SQLite;
* input without any word (``""``, ``"***"``) is no search: it matches everything, like an empty box;
* a mention term matches when its words appear one after another, the last as a word start
  (``u.s.`` is "u" followed by a word starting with "s"); a group matches when any term does.

See docs/storage.md ("Full-text search") for the index, its cost and the PostgreSQL caveats.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Engine,
    Float,
    String,
    Table,
    bindparam,
    column,
    func,
    literal_column,
    select,
    table,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select, visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import Alias, FromClause, NamedFromClause

from pipeline import schema

FTS_TABLE = "article_search"  # SQLite: contentless FTS5 table; rowid = article_search_ids.search_id
IDS_TABLE = "article_search_ids"  # SQLite: each article's facts by its key (= FTS5 rowid)
PENDING_TABLE = "article_search_pending"  # SQLite: inserted, not yet indexed (0012; see flush)
SLOTS_TABLE = "search_score_slots"  # SQLite: which ``score_<k>`` of IDS_TABLE holds a signal (0013)
SCORE_SLOTS = 8  # score columns in IDS_TABLE (0013): signals beyond these take the slower path
PG_INDEX = "ix_articles_search"  # PostgreSQL: GIN index on PG_COLUMN
PG_COLUMN = "search_document"  # PostgreSQL: articles column stored as DOCUMENT_SQL (0011)
# What the index objects are called, for tools comparing the database with ``schema.metadata``.
SEARCH_OBJECTS = frozenset({FTS_TABLE, IDS_TABLE, PENDING_TABLE, SLOTS_TABLE, PG_INDEX})
# A sum over at least this many leading hits on SQLite is read in PARTS slices of the full-text
# ids at once, one connection each (``slices``): below it a read takes under about 0.2 s.
SLICED_HITS = 50_000
PARTS = min(os.cpu_count() or 1, 4)
_FROM, _TO = "search_from", "search_to"  # bind names of a slice's full-text id range

# PostgreSQL's parser keeps "u.s", "www.state.gov", "3.5" or "e-mail" as one token, and in a
# C-locale database treats every non-ASCII character as a letter ("¿qué", "“petro”"). Turning
# these characters into spaces first makes it split words where SQLite's unicode61 does.
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»‹›‘’‚“”„–—―…·•′″°€£©®™\u00a0\u2009\u200b\u202f"
# One regular-expression bracket of exactly those characters (']' first, then '\\', '^', '-'
# last, so none of them means anything but itself), replaced by a space each: the string
# translate() made of it in revision 0004, at a fourteenth of the cost (translate() compares every
# character with each listed one: 0.51 ms of CPU for a 2 KB article, against 0.036 ms).
_SPECIAL = "]\\^-"
_BRACKET = "[]" + "".join(c for c in PUNCTUATION if c not in _SPECIAL) + "\\\\^-]"
_QUOTED_BRACKET = _BRACKET.replace("'", "''")
# The document PostgreSQL searches, exactly as migration 0011 stores it in ``articles.PG_COLUMN``
# (computed when a row is written; reading the column back costs a fraction of computing it, so
# a plan that filters rows instead of asking the index stays cheap). Changing it needs a migration.
DOCUMENT_SQL = (
    f"to_tsvector('simple', regexp_replace(title || ' ' || text, '{_QUOTED_BRACKET}', ' ', 'g'))"
)


# CROSS JOIN fixes the order: from the few pending ids out. Left to itself, with no statistics,
# SQLite scanned the whole id table and looked each id up among the pending ones, a cost that
# grew with the store (0.21 -> 0.49 ms per article stored from 25,000 to 200,000 articles).
FLUSH_SQL = (  # what flush_pending runs; bench/fill_store.py runs it on a raw connection
    f"""INSERT INTO {FTS_TABLE} (rowid, document)
    SELECT p.search_id, a.title || ' ' || a.text FROM {PENDING_TABLE} AS p
    CROSS JOIN articles AS a ON a.article_key = p.search_id""",
    f"DELETE FROM {PENDING_TABLE}",
)


def flush_pending(conn: Connection) -> None:
    """Index the articles inserted so far in this transaction (SQLite; nothing on PostgreSQL).

    Every writer that inserts into ``articles`` calls this before it commits: one statement per
    batch indexes the lot, where an insert per row from the trigger cost twice the CPU
    (migration 0012).
    """
    if conn.dialect.name == "sqlite":
        for statement in FLUSH_SQL:
            conn.exec_driver_sql(statement)


def words(query: str) -> tuple[str, ...]:
    """Split input into the words an index can hold: runs of letters and digits (NFC first)."""
    found: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", query):
        if unicodedata.category(char)[0] in "LN":
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return tuple(found)


def has_words(query: str) -> bool:
    """True when ``query`` narrows anything (an input without words is no search)."""
    return bool(words(query))


def matches(query: str, articles: NamedFromClause = schema.articles) -> ColumnElement[bool] | None:
    """Articles holding every word of ``query`` as a word prefix; None when it has no words.

    ``articles`` is the table or alias of ``articles`` the condition is about (``lookup``).
    """
    found = words(query)
    if not found:
        return None
    fts = " AND ".join(f'"{w}"*' for w in found)
    tsquery = " & ".join(f"{w}:*" for w in found)
    return _Match(fts, tsquery, articles=articles)


def mentions_any(terms: Sequence[str]) -> ColumnElement[bool] | None:
    """Articles mentioning at least one term (its words in a row, the last as a prefix).

    Used for the country groups of the article list; terms without words are ignored, and
    None means no term had any.
    """
    phrases = [found for found in (words(t) for t in terms) if found]
    if not phrases:
        return None
    fts = " OR ".join('"' + " ".join(p) + '"*' for p in phrases)
    tsquery = " | ".join("(" + " <-> ".join([*p[:-1], f"{p[-1]}:*"]) + ")" for p in phrases)
    return _Match(fts, tsquery)


class _Match(ColumnElement[bool]):
    """``articles`` rows matching an index query, written for whichever database compiles it.

    The filter functions build their clauses without knowing the engine, so the dialect picks
    the SQL at compile time. Not cached: the query text is part of the element.
    """

    inherit_cache = False
    type = Boolean()
    # A condition, not a boolean column: without this SQLite gets "... IN (...) = 1", which
    # hides the IN from the planner and scans every article instead of looking the hits up.
    _is_implicitly_boolean = True

    def __init__(
        self,
        fts: str,
        tsquery: str,
        lookup: bool = True,
        articles: NamedFromClause = schema.articles,
        sliced: bool = False,
    ) -> None:
        self.fts = fts
        self.tsquery = tsquery
        self.lookup = lookup  # SQLite: may the planner start from the hits (see newest_first)
        self.articles = articles  # the articles table, or an alias of it (see lookup())
        self.sliced = sliced  # SQLite, leading: hits limited to a range of ids (see slices)

    @property
    def _from_objects(self) -> list[Any]:
        """The condition is about ``articles``: a select using it reads from that table."""
        return [self.articles]


def newest_first(
    engine: Engine, clauses: Sequence[ColumnElement[bool]], limit: int
) -> list[ColumnElement[bool]]:
    """Adapt the index conditions of a list read in event-date order and cut at ``limit``.

    SQLite starts from the index hits whenever it can, looking each one up (about 5 us a hit).
    For a word in a quarter of the store that is over a second, while walking the event-date
    index from the newest article stops after about ``limit * articles / hits`` rows. So the
    narrowest condition leads only while ``hits**2 <= limit * articles``; otherwise none does
    and they filter the walk. PostgreSQL chooses between the two from its own statistics.
    """

    def leads(hits: int) -> bool:
        return hits**2 <= limit * _top_id(engine)

    return _narrowest_leads_if(engine, clauses, leads)


def lead_if_fewer(
    engine: Engine, clauses: Sequence[ColumnElement[bool]], candidates: Callable[[], int]
) -> list[ColumnElement[bool]]:
    """Adapt the index conditions of a read over every match (the searched overview and share).

    ``candidates()`` counts the articles the other conditions keep (dates, sources, languages);
    it is only called on SQLite, when there is a search.
    Starting from the hits looked each one up by article_id (about 4 us a hit; since revision
    0013 one row by its full-text id, about 1.5 us with the grouping, see ``hit_facts``);
    otherwise SQLite reads the candidates and checks each one's full-text id among the hits
    (about 2 us). So on SQLite the narrowest search leads only when it matches fewer articles
    than the candidates: 90 days of a million articles (83,000) with a search matching 300,000
    took 1.3 s leading and 0.55 s filtering; over the whole store the hits lead
    (docs/benchmarks.md).
    """
    return _narrowest_leads_if(engine, clauses, lambda hits: hits < candidates(), sliceable=True)


def _narrowest_leads_if(
    engine: Engine,
    clauses: Sequence[ColumnElement[bool]],
    leads: Callable[[int], bool],
    sliceable: bool = False,
) -> list[ColumnElement[bool]]:
    """On SQLite with a search: the narrowest full-text condition leads when ``leads(its hit
    count)``; every other one (all of them, otherwise) only filters. Elsewhere: unchanged.
    With ``sliceable`` (a read that sums), a lead of SLICED_HITS or more can be read in slices."""
    found = [c for c in clauses if isinstance(c, _Match)]
    if engine.dialect.name != "sqlite" or not found:
        return list(clauses)
    hits = hit_counts(engine, found)
    narrowest = min(range(len(found)), key=hits.__getitem__)
    if not leads(hits[narrowest]):
        return filters_only(clauses)
    sliced = sliceable and PARTS > 1 and hits[narrowest] >= SLICED_HITS
    return filters_only(clauses, found[narrowest], sliced=sliced)


def filters_only(
    clauses: Sequence[ColumnElement[bool]],
    lead: ColumnElement[bool] | None = None,
    *,
    sliced: bool = False,
) -> list[ColumnElement[bool]]:
    """The conditions with every full-text match but ``lead`` kept from leading the read on
    SQLite: it then filters the rows another index walks instead of looking its hits up."""
    return [
        _Match(c.fts, c.tsquery, lookup=c is lead, articles=c.articles, sliced=c is lead and sliced)
        if isinstance(c, _Match)
        else c
        for c in clauses
    ]


def slices(engine: Engine, stmt: Select[Any]) -> list[dict[str, int]]:
    """Parameters splitting a read that sums over many hits into PARTS reads of a range of
    full-text ids each, or ``[{}]`` (one read) when ``stmt`` has no sliced search.

    SQLite reads one statement on one core; the hits of one slice are looked up while another
    connection looks up the next slice's, and the sums of the slices add up to the whole.
    """
    if engine.url.database in (None, "", ":memory:"):
        return [{}]  # each thread's connection would open a database of its own
    if not any(_is_sliced(e) for e in visitors.iterate(stmt)):
        return [{}]
    top = _top_id(engine) + 1
    bounds = [top * i // PARTS for i in range(PARTS + 1)]
    return [{_FROM: lo, _TO: hi} for lo, hi in zip(bounds, bounds[1:], strict=False)]


def _is_sliced(element: Any) -> bool:
    """A leading search read in slices: as a condition (``_Match``) or as ``hit_facts`` rows."""
    if isinstance(element, _Match):
        return element.sliced
    return isinstance(element, BindParameter) and element.key == _FROM


def _top_id(engine: Engine) -> int:
    """The largest full-text id (SQLite): about the store's size, and where the ids end."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(facts.c.search_id))).scalar() or 0)


def hit_counts(engine: Engine, clauses: Sequence[ColumnElement[bool]]) -> list[int]:
    """How many articles each full-text condition among ``clauses`` matches (SQLite: the FTS5
    index counts them; PostgreSQL: not counted, an empty list)."""
    found = [c for c in clauses if isinstance(c, _Match)]
    if engine.dialect.name != "sqlite" or not found:
        return []
    with engine.connect() as conn:
        return [int(conn.execute(_count(m)).scalar_one()) for m in found]


def leading(engine: Engine, clauses: Sequence[ColumnElement[bool]]) -> _Match | None:
    """The full-text condition leading a read that ``lead_if_fewer`` adapted, if one leads
    (SQLite only: elsewhere no condition is marked and the database plans for itself)."""
    if engine.dialect.name != "sqlite":
        return None
    return next((c for c in clauses if isinstance(c, _Match) and c.lookup), None)


def score_columns(engine: Engine, signals: Sequence[str]) -> dict[str, ColumnElement[Any]] | None:
    """Each signal's current score among the ``facts`` (SQLite, revision 0013), or None when
    one of them has no slot (never scored yet, or a ninth signal): then read the scores table."""
    with engine.connect() as conn:
        slots = dict(conn.execute(select(_slots.c.signal, _slots.c.slot)).all())
    if any(signal not in slots for signal in signals):
        return None
    return {signal: facts.c[f"score_{int(slots[signal])}"] for signal in signals}


def hit_facts(lead: _Match) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """The hits of ``lead`` joined to their ``facts`` row, and the conditions choosing them.

    One seek per hit, by the integer id FTS5 returns them in (ascending), instead of looking each
    hit's article and scores up by its string id: 0.43-0.78 s against 1.1-1.7 s for 300,000 hits
    of a million articles on one thread (revision 0013; docs/benchmarks.md). With
    ``lead.sliced``, every id unless ``slices`` binds a range (FTS5 applies it as it reads).
    The ``IN`` condition a leading match compiles to reads the same hits.
    """
    query: BindParameter[str] = bindparam("fts_query", lead.fts, unique=True)
    where: list[ColumnElement[bool]] = [_fts_column().op("MATCH")(query)]
    if lead.sliced:
        where += [_fts.c.rowid >= bindparam(_FROM, 0), _fts.c.rowid < bindparam(_TO, 2**62)]
    return _fts.join(facts, facts.c.search_id == _fts.c.rowid), where


def _count(match: _Match) -> Select[Any]:
    query: BindParameter[str] = bindparam("fts_query", match.fts)
    return select(func.count()).select_from(_fts).where(_fts_column().op("MATCH")(query))


def _fts_column() -> ColumnElement[Any]:
    """The FTS5 table's hidden column of its own name: ``article_search MATCH ?``."""
    return literal_column(FTS_TABLE)


# The stable ids, with each article's copied facts (revision 0013, kept by triggers)
facts = table(
    IDS_TABLE,
    column("search_id"),  # the article's article_key (revision 0014)
    column("event_date", Date),
    column("source", String),
    column("language", String),
    *(column(f"score_{k}", Float) for k in range(SCORE_SLOTS)),
)
_slots = table(SLOTS_TABLE, column("signal"), column("slot"))
_fts = table(FTS_TABLE, column("rowid"))


@compiles(_Match, "sqlite")
def _compile_sqlite(element: _Match, compiler: SQLCompiler, **kw: Any) -> str:
    """Leading: FTS5 rowids -> stable ids -> articles, each hit looked up by its article key.

    Since revision 0014 an article's stable id is its ``article_key``. Filtering (``lookup``
    off): each article's key is checked among the hits' rowids; SQLite builds a temporary index
    of the bare FTS5 rowids (integers) once (0.95 s against 0.22 s for 300,000 hits filtering
    10,000 articles when it was the hits' article ids). Leading: the hits that pass the copied
    facts, in key order, so SQLite builds the IN list by appending and looks the hits up in
    index order.
    """
    if not element.lookup:
        query: BindParameter[str] = bindparam("fts_query", element.fts, unique=True)
        rowids = select(_fts.c.rowid).where(_fts_column().op("MATCH")(query))
        # "+ 0": an expression, so SQLite only checks each article against the hits and never
        # starts from them through the key's index (that is the leading form below)
        own = element.articles.c.article_key + literal_column("0")
        return compiler.process(own.in_(rowids), **kw)
    joined, chosen = hit_facts(element)
    hits = select(facts.c.search_id).select_from(joined).where(*chosen)
    hits = hits.order_by(facts.c.search_id)
    return compiler.process(element.articles.c.article_key.in_(hits), **kw)


@compiles(_Match, "postgresql")
def _compile_postgresql(element: _Match, compiler: SQLCompiler, **kw: Any) -> str:
    """The stored document column ``@@`` the tsquery (its GIN index answers it)."""
    query = func.to_tsquery(
        literal_column("'simple'"), bindparam("tsquery", element.tsquery, unique=True)
    )
    document: ColumnElement[Any] = literal_column(f"{element.articles.name}.{PG_COLUMN}")
    return compiler.process(document.op("@@")(query), **kw)


_LOOKUP_INDEXES = {
    schema.articles.name: schema.ARTICLES_LOOKUP,
    schema.current_scores.name: schema.SCORES_LOOKUP,
}


def lookup(source: Table, name: str) -> Alias:
    """``source AS name``, read on SQLite through its covering lookup index (revision 0006).

    For ``articles`` and ``current_scores`` only, in reads that sum over many articles. A
    searched aggregate looks up every hit by ``article_key``; SQLite's planner would take the
    unique primary-key index and then read the wide row (1-2 KB of article text, or a score
    with its explanation) for each, two to three times slower than the narrow covering index
    (docs/storage.md). Without a search the whole ``articles`` index is read instead of the
    table: 0.1-0.2 s on a million articles however narrow the date range (a one-day window took
    15 ms through the event-date index, a quarter three times longer than now). So on SQLite the
    alias is written ``source AS name INDEXED BY <index>``; PostgreSQL chooses by its own
    statistics (and takes the same indexes, for index-only scans).
    """
    alias = _Lookup._construct(source, name=name)
    alias.index = _LOOKUP_INDEXES[source.name]
    return alias


def ranked(name: str) -> Alias:
    """``current_scores AS name``, walked on SQLite through its rank index (revision 0008).

    For a list sorted by one signal's score: the index holds (value, signal, article_key), so
    reading it in order and stopping at the page's end replaces sorting every article's score
    (``insights.article_rows`` decides when). PostgreSQL chooses by its own statistics.
    """
    alias = _Ranked._construct(schema.current_scores, name=name)
    alias.index = schema.SCORES_RANK
    return alias


class _Lookup(Alias):
    """An alias that names its table's lookup index on SQLite.

    The index follows from the table, so the alias's cache key (table and name) covers it.
    """

    inherit_cache = True
    index: str


class _Ranked(_Lookup):
    """An alias of ``current_scores`` that names its rank index on SQLite (own class, own key)."""

    inherit_cache = True


@compiles(_Ranked, "sqlite")  # a subclass gets its own dispatch: name it too
@compiles(_Lookup, "sqlite")
def _compile_lookup_sqlite(element: _Lookup, compiler: SQLCompiler, **kw: Any) -> str:
    """``articles AS a INDEXED BY ix_articles_lookup`` where it stands in a FROM clause."""
    text = str(compiler.visit_alias(element, **kw))  # type: ignore[no-untyped-call]
    if kw.get("asfrom") and not kw.get("ashint"):
        text += f" INDEXED BY {element.index}"
    return text


def include_name(name: str | None, type_: str, parents: Any) -> bool:
    """Alembic filter: the search index's objects are not described by ``schema.metadata``."""
    if type_ in ("table", "index") and name is not None:
        return not (name in SEARCH_OBJECTS or name.startswith(f"{FTS_TABLE}_"))
    if type_ == "column":
        return not (name == PG_COLUMN and parents.get("table_name") == schema.articles.name)
    return True
