"""Full-text search (migration 0004, ``pipeline.search``) on SQLite and PostgreSQL.

Every query is checked against the documented meaning computed in Python over the same articles:
the input's words, each the start of a word of the title or text, case-insensitive (and
accent-insensitive on SQLite); an input without words is no search.
"""

from __future__ import annotations

import importlib.util
import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, column, event, insert, inspect, select, table, text

from pipeline import db, db_copy, insights, migrations, queries, schema, search, store
from pipeline.engine import MIGRATION_LOCK, make_engine, write
from pipeline.examples import RELEVANCE
from pipeline.insights import ArticleQuery
from pipeline.records import Article, Score, content_hash
from tests.pg import pg_url_fixture, store_url_fixture  # noqa: F401
from tests.store_checks import assert_search_facts_consistent

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)
SIGNALS = ["risk", "tone"]
KINDS = {"risk": "risk", "tone": "tone"}

# (title, text, source, language, day of September 2025, risk, tone, relevance or None)
CORPUS = [
    (
        "US weighs decertification",
        "The State Department said certification is at risk. Cocaine output rose.",
        "Wire",
        "en",
        1,
        0.9,
        -0.6,
        0.95,
    ),
    (
        "Certificación antidrogas",
        "Washington evalúa la descertificación de Colombia por la producción de cocaína.",
        "Diario",
        "es",
        1,
        0.8,
        -0.2,
        0.9,
    ),
    (
        "Petro answers Washington",
        "President Petro rejected the U.S. criticism of coca eradication; officials met in Bogotá.",
        "Wire",
        "en",
        2,
        0.6,
        -0.8,
        0.8,
    ),
    (
        "Coffee prices climb",
        "Frost in Brazil pushed coffee prices up; certified growers gained.",
        "Paper",
        "en",
        2,
        0.1,
        0.1,
        0.1,
    ),
    (
        "Football final",
        "The home side lifted the cup after penalties.",
        "Paper",
        "en",
        3,
        0.0,
        0.0,
        None,
    ),
    (
        "Only decertification here",
        "A decertified partner loses aid; no other word.",
        "Wire",
        "en",
        3,
        0.7,
        -0.5,
        0.7,
    ),
    (
        'Quotes "NEAR" AND OR',
        "He said: 100% of it, x*y (z) it's fine & ! ok; e-mail www.state.gov 3.5 coca-growing.",
        "Paper",
        "en",
        4,
        0.3,
        0.2,
        0.6,
    ),
    (
        "Cooperación bilateral",
        "Colombia y Estados Unidos firmaron un acuerdo; la cooperación crece.",
        "Diario",
        "es",
        4,
        0.2,
        0.8,
        0.85,
    ),
    (
        "United States and Colombia",
        "Petro met officials of the White House about cocaine.",
        "Wire",
        "en",
        5,
        0.5,
        0.3,
        0.9,
    ),
    (
        "Un sistema nuevo",
        "Una serie de reformas en el sector; sin relación.",
        "Diario",
        "es",
        5,
        0.1,
        0.0,
        0.2,
    ),
]
QUERIES = [
    "certif", "decertification", "DECERT", "cocaine petro", "petro cocaine", "descertificación",
    "descertificacion", "coca", "u.s.", '"NEAR"', "NEAR(", "x*", "'", ":", "&", "!", "it's",
    "100%", "(z)", "AND", "OR", "***", "", "  ", "a:b & !c", "zzz", "state.gov", "e-mail",
    "coca-growing", "3.5", "cooperación", "Colombia Estados", "'; DROP TABLE articles; --",
    "petro:* | coca", "\\", "%_",
]  # fmt: skip


def _article(
    article_id: str, title: str, body: str, source: str, language: str, day: int
) -> Article:
    """One corpus article, dated September 2025."""
    return Article(
        article_id=article_id,
        title=title,
        text=body,
        source=source,
        language=language,
        url=None,
        page_date=None,
        event_date=date(2025, 9, day),
        ingested_at=NOW,
        content_hash=content_hash(title, body),
    )


def _articles() -> list[Article]:
    out = []
    for n, (title, body, source, language, day, *_scores) in enumerate(CORPUS):
        out.append(_article(f"s{n:03d}", title, body, source, language, day))
    return out


def _scores() -> list[Score]:
    out = []
    for n, (*_text, risk, tone, relevance) in enumerate(CORPUS):
        aid = f"s{n:03d}"
        out += [Score(aid, "risk", risk, "v1", NOW), Score(aid, "tone", tone, "v1", NOW)]
        if relevance is not None:
            out.append(Score(aid, RELEVANCE, relevance, "v1", NOW))
    return out


def _filled(url: str) -> Engine:
    engine = store.open_store(url)
    articles = _articles()
    store.upsert_articles(engine, articles)
    store.save_scores(engine, _scores(), {a.article_id: a.content_hash for a in articles})
    return engine


# --- the documented meaning, in Python ---------------------------------------------------------


def _fold(word: str, accents: bool) -> str:
    word = word.lower()
    if not accents:
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def _tokens(title: str, body: str, accents: bool) -> list[str]:
    return [_fold(w, accents) for w in search.words(f"{title} {body}")]


def _expected(query: str, dialect: str, articles: Iterable[Article] | None = None) -> set[str]:
    """Ids of the articles the query should find: every word a prefix of some word."""
    accents = dialect == "sqlite"  # SQLite folds accents; PostgreSQL has no unaccent
    wanted = [_fold(w, accents) for w in search.words(query)]
    found = set()
    for article in articles if articles is not None else _articles():
        tokens = _tokens(article.title, article.text, accents)
        if all(any(t.startswith(w) for t in tokens) for w in wanted):
            found.add(article.article_id)
    return found


def _mentioned(terms: Iterable[str], dialect: str) -> set[str]:
    """Ids of the articles holding any term's words in a row, the last as a prefix."""
    accents = dialect == "sqlite"
    found = set()
    for article in _articles():
        tokens = _tokens(article.title, article.text, accents)
        for term in terms:
            phrase = [_fold(w, accents) for w in search.words(term)]
            size = len(phrase)
            for i in range(len(tokens) - size + 1):
                window = tokens[i : i + size]
                if window[:-1] == phrase[:-1] and window[-1].startswith(phrase[-1]):
                    found.add(article.article_id)
    return found


def _ids(engine: Engine, query: str) -> set[str]:
    flt = queries.ArticleFilter(search=query)
    return set(queries.article_table(engine, SIGNALS, flt, limit=1000)["id"])


def _dialect(engine: Engine) -> str:
    return engine.dialect.name


# --- semantics ---------------------------------------------------------------------------------


def test_words_keep_letters_and_digits_only() -> None:
    assert search.words(' "certif*" NEAR( a:b & !c \'d 3.5 Acción_x ') == (
        "certif", "NEAR", "a", "b", "c", "d", "3", "5", "Acción", "x",
    )  # fmt: skip
    assert search.words(unicodedata.normalize("NFD", "acción")) == ("acción",)
    assert search.words("*** \"' &|!:()") == () and not search.has_words("  ")
    assert search.matches("***") is None and search.mentions_any(["", "--"]) is None


def test_search_finds_every_word_as_a_prefix(store_url: str) -> None:
    engine = _filled(store_url)
    dialect = _dialect(engine)
    for query in QUERIES:
        assert _ids(engine, query) == _expected(query, dialect), query
    assert _ids(engine, "certif") == {"s000", "s001", "s003"}  # not "decertification" alone
    assert _ids(engine, "cocaine petro") == {"s008"}  # s002 says "coca", not "cocaine"
    assert _ids(engine, "***") == _ids(engine, "") == {a.article_id for a in _articles()}
    assert _ids(engine, "zzz") == set()


def test_search_ignores_case_and_accents_on_sqlite(tmp_path: Path) -> None:
    engine = _filled(f"sqlite:///{tmp_path / 'fold.db'}")
    assert _ids(engine, "descertificacion") == {"s001"}
    assert _ids(engine, "DESCERTIFICACIÓN") == {"s001"}
    assert _ids(engine, "bogota") == _ids(engine, "BOGOTÁ") == {"s002"}
    assert _ids(engine, "cooperacion") == {"s007"}


def test_mentions_use_phrases_of_words(store_url: str) -> None:
    engine = _filled(store_url)
    dialect = _dialect(engine)
    groups = [("colombia", "bogotá"), ("united states", "u.s.", "estados unidos", "white house")]
    for group in groups:
        rows = insights.article_rows(engine, SIGNALS, ArticleQuery(mentions=(group,)), 1000)
        assert set(rows["id"]) == _mentioned(group, dialect), group
    both = insights.article_rows(engine, SIGNALS, ArticleQuery(mentions=tuple(groups)), 1000)
    assert set(both["id"]) == _mentioned(groups[0], dialect) & _mentioned(groups[1], dialect)
    # "u.s." is "u" then a word starting with "s": not "un sistema" / "una serie"
    assert "s009" not in _mentioned(["u.s."], dialect)


def test_searched_sums_start_from_the_hits_only_when_they_are_fewer(tmp_path: Path) -> None:
    engine = _filled(f"sqlite:///{tmp_path / 'sums.db'}")
    clause = search.matches("the")
    assert clause is not None
    hits = search.hit_counts(engine, [clause])[0]
    assert 0 < hits < len(_articles())

    def sql(candidates: int) -> str:
        conditions = search.lead_if_fewer(engine, [clause], lambda: candidates)
        return str(select(schema.articles.c.article_id).where(*conditions).compile(engine))

    assert "IN (SELECT article_search.rowid" in sql(hits)  # as many candidates as hits: filter
    assert "articles.article_key IN (SELECT article_search_ids.search_id" in sql(hits + 1)
    days = sorted({a.event_date for a in _articles()})
    for first in (days[0], days[-1]):  # the whole store (hits lead), the last day (filter)
        flt = queries.ArticleFilter(first, days[-1], search="the")
        assert (queries.count_articles(engine, flt) < hits) == (first == days[-1])
        expected = queries._frame(
            engine, queries._daily_detailed(SIGNALS, flt), ["day", "signal", "n", "total"]
        )
        got = queries.daily_signal_stats(engine, SIGNALS, flt)
        assert got.to_dict("records") == expected.to_dict("records")
        shares = insights.share_counts(engine, dict.fromkeys(SIGNALS, "risk"), flt, 0.3)
        reference = insights._share_from_articles(dict.fromkeys(SIGNALS, "risk"), flt, 0.3)
        assert shares.equals(
            queries._frame(engine, reference, ["day", "source", "articles", *SIGNALS])
        )


def test_broad_searches_walk_the_date_index_on_sqlite(tmp_path: Path) -> None:
    engine = _filled(f"sqlite:///{tmp_path / 'walk.db'}")

    def sql(query: str, limit: int) -> str:
        clause = search.matches(query)
        assert clause is not None
        conditions = search.newest_first(engine, [clause], limit)
        return str(select(schema.articles.c.article_id).where(*conditions).compile(engine))

    walk = "IN (SELECT article_search.rowid"  # the article's own id among the hits' rowids
    lead = "articles.article_key IN (SELECT article_search_ids.search_id"
    assert walk in sql("the", 1) and lead not in sql("the", 1)  # 5 of 10: walk newest first
    for narrow in (sql("glyphosate", 1), sql("the", 1000)):
        assert lead in narrow and walk not in narrow
    dates = {a.article_id: a.event_date for a in _articles()}
    for limit in (1, 2, 1000):
        for query in QUERIES:
            flt = queries.ArticleFilter(search=query)
            got = queries.article_table(engine, SIGNALS, flt, limit=limit)["id"].tolist()
            newest = sorted(_expected(query, "sqlite"), key=lambda i: (-dates[i].toordinal(), i))
            assert got == newest[:limit], (query, limit)


# --- aggregates agree with filtering in Python -------------------------------------------------


def _frame_of(flt: queries.ArticleFilter, dialect: str) -> pd.DataFrame:
    """Articles passing ``flt`` (search and relevance gate) with their scores."""
    keep = _expected(flt.search, dialect)
    rows = []
    for n, (_t, _b, source, _lang, day, risk, tone, relevance) in enumerate(CORPUS):
        aid = f"s{n:03d}"
        if aid in keep:
            relevant = relevance is None or relevance >= flt.relevance_threshold
            rows.append((aid, date(2025, 9, day), source, risk, tone, relevant))
    return pd.DataFrame(rows, columns=["id", "day", "source", "risk", "tone", "relevant"])


@pytest.mark.parametrize("query", ["certif", "coca", "cocaine petro", "colombia", "NEAR(", "zzz"])
def test_aggregates_with_a_search_match_python(store_url: str, query: str) -> None:
    engine = _filled(store_url)
    flt = queries.ArticleFilter(search=query, relevance_threshold=0.5)
    frame = _frame_of(flt, _dialect(engine))
    daily = queries.daily_signal_stats(engine, SIGNALS, flt)
    got = {(str(r.day), r.signal): (int(r.n), round(float(r.total), 9)) for r in daily.itertuples()}
    want: dict[tuple[str, str], tuple[int, float]] = {}
    for _id, day, _source, risk, tone, relevant in frame.itertuples(index=False):
        for signal, value in (("risk", risk), ("tone", tone)):
            if relevant:
                n, total = want.get((str(day), signal), (0, 0.0))
                want[(str(day), signal)] = (n + 1, total + value)
    want = {key: (n, round(total, 9)) for key, (n, total) in want.items()}
    assert got == want
    volume = queries.daily_volume(engine, flt)
    assert {str(d): int(n) for d, n in volume.itertuples(index=False)} == {
        str(d): int(n) for d, n in frame.groupby("day").size().items()
    }
    _assert_shares(engine, flt, frame)


def _assert_shares(engine: Engine, flt: queries.ArticleFilter, frame: pd.DataFrame) -> None:
    counts = insights.share_counts(engine, KINDS, flt, 0.5)
    got = {
        (str(r.day), r.source): (int(r.articles), int(r.risk), int(r.tone))
        for r in counts.itertuples()
    }
    want = {}
    for (day, source), group in frame.groupby(["day", "source"]):
        gated = group[group["relevant"]]
        risky = int((gated["risk"] >= 0.5).sum())
        toned = int(((1 - gated["tone"]) / 2 >= 0.5).sum())
        want[(str(day), source)] = (len(group), risky, toned)
    assert got == want


# Two more articles for the aggregates: one never scored, one scored on relevance only (both
# mention certification, so searches count them among all articles but never among the scored).
EXTRA = [
    ("Certification talks resume", "Not scored yet: certification and cocaine.", "Wire", "en", 5),
    ("Certificación pendiente", "Solo relevancia; descertificación posible.", "Diario", "es", 2),
]


def _filled_with_extra(url: str) -> tuple[Engine, list[Article], dict[str, dict[str, float]]]:
    """The corpus plus ``EXTRA``; returns the articles and each article's current scores."""
    engine = _filled(url)
    extra = [
        _article(f"x{n:03d}", title, body, source, language, day)
        for n, (title, body, source, language, day) in enumerate(EXTRA)
    ]
    store.upsert_articles(engine, extra)
    store.save_scores(
        engine, [Score("x001", RELEVANCE, 0.7, "v1", NOW)], {"x001": extra[1].content_hash}
    )
    scores: dict[str, dict[str, float]] = {"x000": {}, "x001": {RELEVANCE: 0.7}}
    for score in _scores():
        scores.setdefault(score.article_id, {})[score.signal] = score.value
    return engine, [*_articles(), *extra], scores


def _passing(flt: queries.ArticleFilter, articles: list[Article], dialect: str) -> list[Article]:
    """The articles ``flt`` keeps (search, dates, sources, languages), computed in Python."""
    found = _expected(flt.search, dialect, articles)
    return [
        x
        for x in articles
        if x.article_id in found
        and (flt.start is None or x.event_date >= flt.start)
        and (flt.end is None or x.event_date <= flt.end)
        and (not flt.sources or x.source in flt.sources)
        and (not flt.languages or x.language in flt.languages)
    ]


def _daily_in_python(
    flt: queries.ArticleFilter,
    kept: list[Article],
    scores: dict[str, dict[str, float]],
    signals: list[str],
) -> dict[tuple[str, str], tuple[int, float]]:
    want: dict[tuple[str, str], tuple[int, float]] = {}
    for article in kept:
        mine = scores[article.article_id]
        relevance = mine.get(RELEVANCE)
        if relevance is not None and relevance < flt.relevance_threshold:
            continue
        for signal in signals:
            if signal in mine:
                n, total = want.get((str(article.event_date), signal), (0, 0.0))
                want[(str(article.event_date), signal)] = (n + 1, total + mine[signal])
    return {key: (n, round(total, 9)) for key, (n, total) in want.items()}


def _daily_got(frame: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float]]:
    return {
        (str(r.day), r.signal): (int(r.n), round(float(r.total), 9)) for r in frame.itertuples()
    }


def _share_in_python(
    kept: list[Article], scores: dict[str, dict[str, float]], threshold: float, at: float
) -> dict[tuple[str, str], tuple[int, int, int]]:
    want: dict[tuple[str, str], tuple[int, int, int]] = {}
    for article in kept:
        mine = scores[article.article_id]
        relevance = mine.get(RELEVANCE)
        gate = relevance is None or relevance >= threshold
        risky = gate and mine.get("risk", -1.0) >= at
        toned = gate and "tone" in mine and (1 - mine["tone"]) / 2 >= at
        n, r, t = want.get((str(article.event_date), article.source), (0, 0, 0))
        want[(str(article.event_date), article.source)] = (n + 1, r + risky, t + toned)
    return want


SEARCHED_FILTERS = [
    queries.ArticleFilter(search="certif"),
    queries.ArticleFilter(search="certif", relevance_threshold=0.83),  # off the totals' grid
    queries.ArticleFilter(search="cocaine", start=date(2025, 9, 2), end=date(2025, 9, 5)),
    queries.ArticleFilter(search="certif", sources=("Diario",), languages=("es",)),
    queries.ArticleFilter(search="descertificación colombia", relevant_only=True),
    queries.ArticleFilter(search="coca", languages=("en",), relevance_threshold=0.0),
    queries.ArticleFilter(search="zzz"),
    queries.ArticleFilter(relevance_threshold=0.62),  # no search, off the grid
    queries.ArticleFilter(start=date(2025, 9, 3), relevance_threshold=0.33),
]


@pytest.mark.parametrize("flt", SEARCHED_FILTERS, ids=repr)
def test_searched_aggregates_match_python_and_the_plain_join(
    store_url: str, flt: queries.ArticleFilter
) -> None:
    engine, articles, scores = _filled_with_extra(store_url)
    kept = _passing(flt, articles, _dialect(engine))
    daily = queries.daily_signal_stats(engine, SIGNALS, flt)
    assert _daily_got(daily) == _daily_in_python(flt, kept, scores, SIGNALS)
    # the same rows, order and types as the plain join of scores to articles
    reference = queries._frame(engine, queries._daily_detailed(SIGNALS, flt), list(daily.columns))
    key = ["day", "signal", "n"]
    assert daily[key].values.tolist() == reference[key].values.tolist()
    assert daily["total"].round(9).tolist() == reference["total"].round(9).tolist()
    assert daily.dtypes.tolist() == reference.dtypes.tolist()
    for signals in (["tone"], ["tone", "risk", "tone"], [RELEVANCE, "risk"], []):
        got = queries.daily_signal_stats(engine, signals, flt)
        assert _daily_got(got) == _daily_in_python(flt, kept, scores, list(dict.fromkeys(signals)))
        assert list(got.columns) == ["day", "signal", "n", "total"]
    if search.has_words(flt.search):
        volume = queries.daily_volume(engine, flt)
        counted: dict[str, int] = {}
        for article in kept:
            counted[str(article.event_date)] = counted.get(str(article.event_date), 0) + 1
        assert {str(d): int(n) for d, n in volume.itertuples(index=False)} == counted
    for at in (0.5, 0.75):
        counts = insights.share_counts(engine, KINDS, flt, at)
        got = {
            (str(r.day), r.source): (int(r.articles), int(r.risk), int(r.tone))
            for r in counts.itertuples()
        }
        assert got == _share_in_python(kept, scores, flt.relevance_threshold, at)
    assert list(daily["day"]) == sorted(daily["day"])


@pytest.mark.parametrize(
    "flt", [f for f in SEARCHED_FILTERS if search.has_words(f.search)], ids=repr
)
def test_broad_searched_sums_read_in_slices_add_up_to_the_whole_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flt: queries.ArticleFilter
) -> None:
    engine, articles, scores = _filled_with_extra(f"sqlite:///{tmp_path / 'slices.db'}")
    kept = _passing(flt, articles, "sqlite")
    ranges: list[tuple[int, int]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def remember(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "article_search.rowid >=" in statement:
            ranges.append((params[-2], params[-1]))  # the slice's bounds, bound last

    def read(parts: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        monkeypatch.setattr(search, "PARTS", parts)
        ranges.clear()
        return (
            queries.daily_signal_stats(engine, SIGNALS, flt),
            insights.share_counts(engine, KINDS, flt, 0.5),
        )

    monkeypatch.setattr(search, "SLICED_HITS", 1)
    whole_daily, whole_share = read(1)
    assert ranges == []
    daily, share = read(3)
    leading = (
        queries.count_articles(engine, replace(flt, search=""))
        > search.hit_counts(engine, [search.matches(flt.search)])[0]
    )
    if leading and kept:
        with engine.connect() as conn:
            top = conn.execute(text("SELECT max(search_id) FROM article_search_ids")).scalar_one()
        slices = sorted(set(ranges))
        assert len(slices) == 3 and len(ranges) == 6  # overview and share, three slices each
        assert slices[0][0] == 0 and slices[-1][1] == top + 1
        assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))
    else:
        assert ranges == []  # the search does not lead: one read over the candidates
    assert _daily_got(daily) == _daily_in_python(flt, kept, scores, SIGNALS)
    assert daily.dtypes.tolist() == whole_daily.dtypes.tolist()
    key = ["day", "signal", "n"]
    assert daily[key].values.tolist() == whole_daily[key].values.tolist()
    assert daily["total"].round(9).tolist() == whole_daily["total"].round(9).tolist()
    assert share.values.tolist() == whole_share.values.tolist()


def test_an_in_memory_store_is_never_sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SLICED_HITS", 1)
    monkeypatch.setattr(search, "PARTS", 3)
    engine, articles, scores = _filled_with_extra("sqlite:///:memory:")
    flt = queries.ArticleFilter(search="certif")
    stmt = queries._daily_per_article(SIGNALS, flt, engine)
    assert "article_search.rowid >=" in str(stmt.compile(engine))  # the search would be sliced
    assert search.slices(engine, stmt) == [{}]  # ... but other threads see other databases
    daily = queries.daily_signal_stats(engine, SIGNALS, flt)
    kept = _passing(flt, articles, "sqlite")
    assert _daily_got(daily) == _daily_in_python(flt, kept, scores, SIGNALS)


def _reads_of_sums(engine: Engine, flt: queries.ArticleFilter) -> list[tuple[str, Any]]:
    """The statements (and parameters) of the searched overview, share and volume."""
    seen: list[tuple[str, Any]] = []

    def capture(*args: Any) -> None:
        seen.append((str(args[2]), args[3]))

    event.listen(engine, "before_cursor_execute", capture)
    queries.daily_signal_stats(engine, SIGNALS, flt)
    insights.share_counts(engine, KINDS, flt, 0.5)
    queries.daily_volume(engine, flt)
    event.remove(engine, "before_cursor_execute", capture)
    return [(sql, params) for sql, params in seen if "GROUP BY" in sql]


def _plans(engine: Engine, reads: list[tuple[str, Any]]) -> list[tuple[str, list[str]]]:
    """Each read's SQL with the steps of SQLite's query plan for it."""
    with engine.connect() as conn:
        return [
            (sql, [str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)])
            for sql, params in reads
        ]


def test_searched_aggregates_read_only_the_lookup_indexes_on_sqlite(tmp_path: Path) -> None:
    """With fewer candidates than hits the search filters a walk of the lookup indexes."""
    engine = _filled(f"sqlite:///{tmp_path / 'plan.db'}")
    flt = queries.ArticleFilter(search="certif", sources=("Wire",), start=date(2025, 9, 2))
    reads = _reads_of_sums(engine, flt)
    assert len(reads) == 3
    for sql, plan in _plans(engine, reads):
        steps = "\n".join(plan)
        walk = f"SCAN a USING COVERING INDEX {schema.ARTICLES_LOOKUP}\n"
        assert walk in f"{steps}\n", steps
        for table_name in ("articles", "current_scores"):  # never the wide rows
            assert f"sqlite_autoindex_{table_name}_" not in steps, steps
        lookups = [step for step in plan if step.startswith("SEARCH s_")]
        wanted = f"USING COVERING INDEX {schema.SCORES_LOOKUP} (article_key=? AND signal=?)"
        assert all(wanted in step for step in lookups), steps
        assert len(lookups) == (3 if "s_0" in sql else 0), steps


def test_searched_sums_led_by_the_hits_read_only_their_copied_facts_on_sqlite(
    tmp_path: Path,
) -> None:
    """Revision 0013: a leading search reads each hit's row beside its full-text id, one seek by
    integer id, and never the articles or the scores tables."""
    engine, articles, scores = _filled_with_extra(f"sqlite:///{tmp_path / 'facts.db'}")
    flt = queries.ArticleFilter(search="certif", languages=("en",))
    assert queries.count_articles(engine, replace(flt, search="")) > 3  # the 3 hits lead
    reads = _reads_of_sums(engine, flt)
    assert len(reads) == 3
    for sql, plan in _plans(engine, reads):
        assert f"SEARCH {search.IDS_TABLE} USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
        tables = re.split(r"\sFROM\s", sql, maxsplit=1)[1].replace(search.IDS_TABLE, "ids")
        assert "articles" not in tables and "current_scores" not in tables, sql
    kept = _passing(flt, articles, "sqlite")
    daily = queries.daily_signal_stats(engine, SIGNALS, flt)
    assert _daily_got(daily) == _daily_in_python(flt, kept, scores, SIGNALS) != {}
    counts = insights.share_counts(engine, KINDS, flt, 0.5)
    got = {(str(r.day), r.source): (r.articles, r.risk, r.tone) for r in counts.itertuples()}
    assert got == _share_in_python(kept, scores, flt.relevance_threshold, 0.5)


def _assert_sums_match_the_plain_join(engine: Engine) -> None:
    for query in ("certif", "coca", "descertificacion", "colombia"):
        flt = queries.ArticleFilter(search=query)
        daily = queries.daily_signal_stats(engine, [*SIGNALS, RELEVANCE], flt)
        reference = queries._daily_detailed([*SIGNALS, RELEVANCE], flt)
        want = queries._frame(engine, reference, list(daily.columns))
        assert _daily_got(daily) == _daily_got(want), query
        plain = insights._share_from_articles(KINDS, flt, 0.5)  # no engine: the lookup path
        columns = ["day", "source", "articles", *KINDS]
        shares = insights.share_counts(engine, KINDS, flt, 0.5)
        assert shares.values.tolist() == queries._frame(engine, plain, columns).values.tolist()


def test_copied_facts_follow_every_write_on_sqlite(tmp_path: Path) -> None:
    """The triggers of revision 0013 keep the copies in step with each kind of write."""
    engine, articles, _scores_ = _filled_with_extra(f"sqlite:///{tmp_path / 'follow.db'}")
    assert_search_facts_consistent(engine)
    moved = replace(articles[0], event_date=date(2025, 9, 9), source="Moved", language="fr")
    store.upsert_articles(engine, [replace(moved, content_hash="moved")])  # an edited article
    rescored = [Score("s000", "risk", 0.05, "v2", NOW), Score("s002", RELEVANCE, 0.1, "v2", NOW)]
    store.save_scores(engine, rescored, {"s000": "moved", "s002": articles[2].content_hash})
    renamed = _article("r001", "Certification renamed", "Rows without children.", "W", "en", 8)
    with engine.begin() as conn:
        key = store.next_article_keys(conn, 1)[0]
        conn.execute(insert(schema.articles), [store._article_row(renamed, key)])
        search.flush_pending(conn)
        conn.execute(text("UPDATE articles SET article_id = 'r900' WHERE article_id = 'r001'"))
        conn.execute(
            text("UPDATE articles SET event_date = '2025-09-07' WHERE article_id = 's001'")
        )
        conn.execute(
            text(
                "DELETE FROM current_scores WHERE signal = 'tone' AND article_key ="
                " (SELECT article_key FROM articles WHERE article_id = 's005')"
            )
        )
        for name in (
            "current_scores",
            "scores",
            "article_sources",
            "article_score_keys",
            "articles",
        ):
            owned = "article_key IN (SELECT article_key FROM articles WHERE article_id = 's007')"
            where = "article_id = 's007'" if name == "articles" else owned
            conn.execute(text(f"DELETE FROM {name} WHERE {where}"))
    assert_search_facts_consistent(engine)
    _assert_sums_match_the_plain_join(engine)


def test_signals_without_a_slot_read_the_scores_table_on_sqlite(tmp_path: Path) -> None:
    """Eight slots: a signal stored once they are taken has no copy, and reads needing it take
    the lookup path, with the same numbers."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.begin() as conn:
        for k in range(search.SCORE_SLOTS - 1):  # seven taken: the first signal stored gets one
            conn.execute(text(f"INSERT INTO {search.SLOTS_TABLE} VALUES ('other_{k}', {k})"))
    articles = _articles()
    store.upsert_articles(engine, articles)
    store.save_scores(engine, _scores(), {a.article_id: a.content_hash for a in articles})
    with engine.connect() as conn:
        slotted = conn.execute(text(f"SELECT signal FROM {search.SLOTS_TABLE} WHERE slot = 7"))
        first = slotted.scalar_one()
    assert first in (*SIGNALS, RELEVANCE)
    assert search.score_columns(engine, [first]) is not None
    assert search.score_columns(engine, [*SIGNALS, RELEVANCE]) is None
    assert_search_facts_consistent(engine)
    flt = queries.ArticleFilter(search="certif")
    assert not any("score_" in sql for sql, _params in _reads_of_sums(engine, flt))
    _assert_sums_match_the_plain_join(engine)


def test_article_list_with_search_and_mentions_matches_python(store_url: str) -> None:
    engine = _filled(store_url)
    dialect = _dialect(engine)
    flt = queries.ArticleFilter(search="petro", relevant_only=True, relevance_threshold=0.5)
    group = ("colombia", "bogotá")
    rows = insights.article_rows(engine, SIGNALS, ArticleQuery(flt=flt, mentions=(group,)), 1000)
    gate = _frame_of(flt, dialect)
    want = set(gate[gate["relevant"]]["id"]) & _mentioned(group, dialect)
    assert set(rows["id"]) == want and want
    table = queries.article_table(engine, SIGNALS, flt, limit=1000)
    assert set(table["id"]) == set(gate[gate["relevant"]]["id"])


# --- the index follows every write ------------------------------------------------------------


def test_index_follows_updates_and_reingest(store_url: str) -> None:
    engine = _filled(store_url)
    store.upsert_articles(engine, _articles())  # the same input again: nothing changes
    assert _ids(engine, "coffee") == {"s003"}
    changed = replace(
        _articles()[3],
        text="Sanctions replaced the old story entirely.",
        content_hash=content_hash("Coffee prices climb", "Sanctions replaced the old story."),
    )
    result = store.upsert_articles(engine, [changed])
    assert result.updated == 1
    assert _ids(engine, "frost") == set()
    assert _ids(engine, "sanction") == {"s003"}
    assert _ids(engine, "coffee") == {"s003"}  # the title still says so
    new = replace(_articles()[0], article_id="s999", title="Brand new glyphosate story")
    store.upsert_articles(engine, [replace(new, content_hash=content_hash(new.title, new.text))])
    assert _ids(engine, "glyphosate") == {"s999"}
    if _dialect(engine) == "sqlite":
        _assert_index_consistent(engine)


def _assert_index_consistent(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO article_search (article_search) VALUES ('integrity-check')"))
        ids = conn.execute(text("SELECT count(*) FROM article_search_ids")).scalar_one()
        articles = conn.execute(text("SELECT count(*) FROM articles")).scalar_one()
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM article_search_ids i "
                "LEFT JOIN articles a ON a.article_key = i.search_id WHERE a.article_id IS NULL"
            )
        ).scalar_one()
        pending = conn.execute(text(f"SELECT count(*) FROM {search.PENDING_TABLE}")).scalar_one()
    assert ids == articles and orphans == 0 and pending == 0
    assert_search_facts_consistent(engine)


def test_inserts_are_indexed_by_one_flush_and_edits_before_it_are_safe_on_sqlite(
    tmp_path: Path,
) -> None:
    """Migration 0012: the insert trigger only lists new articles; ``flush_pending`` indexes
    them from what the rows hold by then, and edits or deletes in between touch no index entry
    (a contentless index told to delete words it never held would be corrupt)."""
    engine = _filled(f"sqlite:///{tmp_path / 'pending.db'}")
    quinoa = _article("p001", "Quinoa exports", "Quinoa growers report a good year.", "W", "en", 4)
    spray = _article("p002", "Glyphosate trial", "Glyphosate spraying trial.", "W", "en", 5)
    with engine.begin() as conn:
        keys = store.next_article_keys(conn, 2)
        rows = [store._article_row(a, k) for a, k in zip((quinoa, spray), keys, strict=True)]
        conn.execute(insert(schema.articles), rows)
        listed = f"SELECT count(*) FROM {search.PENDING_TABLE}"
        assert conn.execute(text(listed)).scalar_one() == 2
        conn.execute(
            text("UPDATE articles SET text = 'Sanctions talk instead.' WHERE article_id = 'p002'")
        )
        conn.execute(text("DELETE FROM articles WHERE article_id = 'p001'"))
        assert conn.execute(text(listed)).scalar_one() == 1
        search.flush_pending(conn)
    assert _ids(engine, "quinoa") == set()
    assert _ids(engine, "spraying") == set()
    assert _ids(engine, "glyphosate") == {"p002"}  # the title kept it
    assert _ids(engine, "sanctions talk") == {"p002"}
    store.upsert_articles(engine, [replace(spray, content_hash="edited")])  # back, after flush
    assert _ids(engine, "sanctions talk") == set() and _ids(engine, "spraying") == {"p002"}
    _assert_index_consistent(engine)


def test_the_flush_starts_from_the_pending_ids_on_sqlite(tmp_path: Path) -> None:
    """Its cost must follow the batch, not the store: never a scan of the id table."""
    engine = _filled(f"sqlite:///{tmp_path / 'plan.db'}")
    with engine.connect() as conn:
        plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {search.FLUSH_SQL[0]}")]
    assert plan[0] == "SCAN p" and not any(step.startswith("SCAN") for step in plan[1:]), plan


def test_index_survives_deletes_and_vacuum_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "vac.db"
    engine = _filled(f"sqlite:///{path}")
    with engine.begin() as conn:
        for table in (
            "current_scores",
            "scores",
            "article_sources",
            "article_score_keys",
            "articles",
        ):
            ids = "article_id IN ('s000', 's002')"
            where = (
                ids
                if table == "articles"
                else f"article_key IN (SELECT article_key FROM articles WHERE {ids})"
            )
            conn.execute(text(f"DELETE FROM {table} WHERE {where}"))
    engine.dispose()
    with closing(sqlite3.connect(path, isolation_level=None)) as raw:
        raw.execute("VACUUM")
        # VACUUM may renumber the implicit rowids of ``articles`` (its key is TEXT); 3.40 kept
        # them here, so renumber them the way it may, and check nothing depended on them
        raw.execute("UPDATE articles SET rowid = 1000 - rowid")
    left = [a for a in _articles() if a.article_id not in ("s000", "s002")]
    for query in QUERIES:
        assert _ids(engine, query) == _expected(query, "sqlite", left), query
    edited = replace(left[0], text="Glyphosate spraying resumes.", content_hash="x")
    store.upsert_articles(engine, [edited])  # the update trigger after VACUUM
    assert _ids(engine, "glyphosate") == {left[0].article_id}
    assert _ids(engine, "descertificacion") == set()
    _assert_index_consistent(engine)


def test_copy_into_sqlite_indexes_every_article(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    _filled(source).dispose()
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    db_copy.copy_store(source, target_url, batch=3)
    target = store.open_store(target_url)
    for query in QUERIES:
        assert _ids(target, query) == _expected(query, "sqlite"), query
    _assert_index_consistent(target)


@pytest.mark.postgres
def test_copy_from_sqlite_into_postgres_then_search(tmp_path: Path, pg_url: str) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    _filled(source).dispose()
    db_copy.copy_store(source, pg_url, batch=3)
    target = store.open_store(pg_url)
    for query in QUERIES:
        assert _ids(target, query) == _expected(query, "postgresql"), query
    db_copy.copy_store(source, pg_url)  # a rerun changes nothing
    assert _ids(target, "certif") == {"s000", "s001", "s003"}


def test_upgrade_from_0003_backfills_the_index(store_url: str) -> None:
    engine = make_engine(store_url)
    write(engine, lambda conn: migrations.upgrade(conn, "0003"), lock=MIGRATION_LOCK)
    rows = [{**store._article_row(a, 0), "score_key": ""} for a in _articles()]
    for row in rows:
        del row["article_key"]  # numbered by revision 0014
    at_0003 = table("articles", *[column(name) for name in rows[0]])  # score_key on articles
    with engine.begin() as conn:
        conn.execute(insert(at_0003), rows)
    before, after = db.upgrade_store(engine, store_url)
    assert (before.revision, after.revision) == ("0003", schema.HEAD_REVISION)
    upgraded = store.open_store(store_url)
    for query in ("certif", "cocaine petro", "NEAR(", ""):
        assert _ids(upgraded, query) == _expected(query, _dialect(engine)), query
    write(engine, lambda conn: migrations.downgrade(conn, "0003"), lock=MIGRATION_LOCK)
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        indexes = {i["name"] for i in inspect(conn).get_indexes("articles")}
    assert not names & search.SEARCH_OBJECTS and search.PG_INDEX not in indexes
    db.upgrade_store(engine, store_url)
    assert _ids(store.open_store(store_url), "certif") == {"s000", "s001", "s003"}


def _revision_module(name: str) -> Any:
    path = migrations.FOLDER / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"revision_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migrations_store_the_document_search_queries() -> None:
    stored = _revision_module("0011_stored_search_document")
    assert stored._DOCUMENT == search.DOCUMENT_SQL and stored._COLUMN == search.PG_COLUMN
    cheaper = _revision_module("0010_cheaper_search_document")
    assert cheaper._DOCUMENT == search.DOCUMENT_SQL
    assert cheaper._OLD_DOCUMENT == _revision_module("0004_article_search")._DOCUMENT


@pytest.mark.postgres
def test_the_stored_document_follows_every_write(pg_url: str) -> None:
    engine = _filled(pg_url)
    title, _body, source, language, day, *_scores = CORPUS[0]
    store.upsert_articles(
        engine, [_article("s000", "Glifosato", "¿Qué? u.s.", source, language, day)]
    )
    with engine.connect() as conn:
        stale = conn.execute(
            text(f"SELECT count(*) FROM articles WHERE {search.PG_COLUMN} <> {search.DOCUMENT_SQL}")
        ).scalar_one()
        assert (
            conn.execute(text("SELECT title FROM articles WHERE article_id = 's000'")).scalar_one()
            == "Glifosato"
        )
    assert stale == 0
    assert _ids(engine, "glifosato qué") == {"s000"}
    assert "s000" not in _ids(engine, "certif")


@pytest.mark.postgres
def test_the_cheaper_expression_spaces_exactly_what_translate_did(pg_url: str) -> None:
    old = _revision_module("0010_cheaper_search_document")._OLD_DOCUMENT
    engine = store.open_store(pg_url)
    # every listed character between letters, then the ones a bracket expression could misread
    sample = "x".join(search.PUNCTUATION) + " a]b\\c^d-e[:f:]g[.h.]i[=j=]k ¿qué? “petro” u.s. 3.5"
    new_words = search.DOCUMENT_SQL.replace("title || ' ' || text", ":doc")
    old_words = old.replace("title || ' ' || text", ":doc")
    with engine.connect() as conn:
        got = conn.execute(text(f"SELECT ({new_words})::text"), {"doc": sample}).scalar_one()
        want = conn.execute(text(f"SELECT ({old_words})::text"), {"doc": sample}).scalar_one()
    assert got == want and "'qué'" in got and "'petro'" in got


def _pg_plan(pg_url: str, query: str, *switched_off: str) -> str:
    """EXPLAIN VERBOSE of the statement as run for a search, with planner methods switched off."""
    engine = _filled(pg_url)
    clause = search.matches(query)
    assert clause is not None
    stmt = select(schema.articles.c.article_id).where(clause)

    def explain(*args: object) -> tuple[str, object]:
        statement, parameters = args[2], args[3]
        return f"EXPLAIN VERBOSE {statement}", parameters

    with engine.connect() as conn:
        for method in switched_off:
            conn.execute(text(f"SET enable_{method} = off"))
        event.listen(conn, "before_cursor_execute", explain, retval=True)
        return "\n".join(str(r[0]) for r in conn.execute(stmt))


@pytest.mark.postgres
def test_postgres_answers_from_the_gin_index(pg_url: str) -> None:
    plan = _pg_plan(pg_url, "certif petro", "seqscan")
    assert f"Bitmap Index Scan on {search.PG_INDEX}" in plan, plan


@pytest.mark.postgres
def test_postgres_filtering_rows_reads_the_stored_document(pg_url: str) -> None:
    """A plan that filters rows (many expected hits) must not compute to_tsvector per row."""
    plan = _pg_plan(pg_url, "certif", "bitmapscan", "indexscan")
    assert f"Filter: (articles.{search.PG_COLUMN} @@" in plan and "to_tsvector" not in plan, plan
