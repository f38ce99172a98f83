"""Read-only queries for the dashboard, ``export`` and ``alerts``; aggregation happens in SQL.

On a million articles the overview reads the pre-aggregated ``daily_signal_totals`` instead of
joining every score to its article (issue 6); filters the totals cannot answer (a text search, a
relevance threshold off the 0.05 grid) fall back to reading the articles and their scores, one
row per article from the covering lookup indexes of revision 0006, which gives the same numbers,
only slower. A text search reads the full-text index (``pipeline.search``), never the text
itself. See docs/storage.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, func, or_, select
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import FromClause, NamedFromClause

from pipeline import runlog, schema, search, totals
from pipeline.examples import RELEVANCE

a, cs = schema.articles, schema.current_scores
dt, vt = schema.daily_signal_totals, schema.version_totals


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """What the analyst narrowed the articles to; the empty filter means everything."""

    start: date | None = None
    end: date | None = None
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    search: str = ""
    signal_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    relevant_only: bool = False
    relevance_threshold: float = 0.5

    def describe(self) -> dict[str, Any]:
        """The filter as plain JSON-able values, for snapshot manifests."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "sources": list(self.sources),
            "languages": list(self.languages),
            "search": self.search,
            "signal_ranges": {k: list(v) for k, v in self.signal_ranges.items()},
            "relevant_only": self.relevant_only,
        }


def where_article(flt: ArticleFilter, articles: NamedFromClause = a) -> list[Any]:
    """The filter's conditions on ``articles`` (the table, or an alias of it): the one meaning
    of the sidebar filter for every read here and in ``pipeline.insights``."""
    clauses = _where_columns(flt, articles.c.event_date, articles.c.source, articles.c.language)
    found = search.matches(flt.search, articles)  # the full-text index (pipeline/search.py)
    if found is not None:
        clauses.append(found)
    return clauses


def _where_columns(flt: ArticleFilter, day: Any, source: Any, language: Any) -> list[Any]:
    """Dates, sources and languages: what both the articles and the daily totals can answer."""
    clauses: list[Any] = []
    if flt.start:
        clauses.append(day >= flt.start)
    if flt.end:
        clauses.append(day <= flt.end)
    if flt.sources:
        clauses.append(source.in_(flt.sources))
    if flt.languages:
        clauses.append(language.in_(flt.languages))
    return clauses


def daily_signal_stats(
    engine: Engine, signals: Sequence[str], flt: ArticleFilter | None = None
) -> pd.DataFrame:
    """Per event day and signal: how many relevant articles were scored and the sum of scores."""
    flt = flt or ArticleFilter()
    bucket = totals.threshold_bucket(flt.relevance_threshold)
    if bucket is not None and not search.has_words(flt.search):
        return _frame(
            engine, _daily_from_totals(signals, flt, bucket), ["day", "signal", "n", "total"]
        )
    return _daily_from_articles(engine, signals, flt)


def where_totals(flt: ArticleFilter) -> list[Any]:
    """The filter's conditions on the daily totals: dates, sources, languages (the totals cannot
    answer a text search; callers check ``search.has_words`` first)."""
    return _where_columns(flt, dt.c.day, dt.c.source, dt.c.language)


def _daily_from_totals(signals: Sequence[str], flt: ArticleFilter, bucket: int) -> Select[Any]:
    clauses: list[Any] = [dt.c.signal.in_(list(signals)), dt.c.relevance_bucket >= bucket]
    clauses += where_totals(flt)
    return (
        select(
            dt.c.day, dt.c.signal, func.sum(dt.c.n).label("n"), func.sum(dt.c.total).label("total")
        )
        .where(*clauses)
        .group_by(dt.c.day, dt.c.signal)
        .having(func.sum(dt.c.n) > 0)
        .order_by(dt.c.day, dt.c.signal)
    )


def _daily_from_articles(
    engine: Engine, signals: Sequence[str], flt: ArticleFilter
) -> pd.DataFrame:
    """The overview from the articles themselves: a search, or a threshold off the totals' grid.

    One row per matching article with its scores (each looked up once, through the covering
    indexes of revision 0006), summed per day and signal; the frame then turns the signal
    columns into rows, keeping the days a signal has relevant scores on, as the totals do.
    """
    names = list(dict.fromkeys(signals))
    columns = ["day", "signal", "n", "total"]
    if not names:
        return pd.DataFrame([], columns=columns)
    rows = summed_rows(engine, _daily_per_article(names, flt, engine), keys=1)
    order = sorted(range(len(names)), key=names.__getitem__)
    found = [
        (row[0], names[i], row[1 + 2 * i], row[2 + 2 * i])
        for row in rows
        for i in order
        if row[1 + 2 * i]
    ]
    return pd.DataFrame(found, columns=columns)


def _daily_per_article(
    names: Sequence[str], flt: ArticleFilter, engine: Engine | None = None
) -> Select[Any]:
    """Per event day: ``n_i, total_i`` per signal over the relevant articles passing ``flt``
    (given the engine, a search leads the read only when it is the narrower condition)."""
    rows = per_article(engine, flt, [*names, RELEVANCE])
    gate = rows.relevant(flt.relevance_threshold)
    sums: list[Any] = []
    for name in names:
        value = case((gate, rows.scores[name]))
        sums += [func.count(value), func.sum(value)]
    return rows.summed([rows.day], sums)


@dataclass(frozen=True, slots=True)
class PerArticle:
    """Where a read summing over every article passing a filter finds each one's facts."""

    rows_from: FromClause  # what to select from
    day: Any  # the article's event date
    source: Any
    scores: dict[str, Any]  # each signal's current score (NULL: not scored)
    where: list[Any]  # the filter on those rows

    def summed(self, keys: Sequence[Any], values: Sequence[Any]) -> Select[Any]:
        """``values`` per group of ``keys`` over these rows, in key order (``summed_rows``)."""
        return (
            select(*keys, *values)
            .select_from(self.rows_from)
            .where(*self.where)
            .group_by(*keys)
            .order_by(*keys)
        )

    def relevant(self, threshold: float) -> Any:
        """The relevance gate: no relevance score, or one at or above ``threshold``."""
        relevance = self.scores[RELEVANCE]
        return or_(relevance.is_(None), relevance >= threshold)


def per_article(engine: Engine | None, flt: ArticleFilter, signals: Sequence[str]) -> PerArticle:
    """One row per article passing ``flt``, with its date, source and current ``signals``.

    With a search that leads on SQLite (``searched``), the hits' facts copied beside their
    full-text ids (revision 0013): one seek a hit. Otherwise, or when a signal has no copy, the
    covering lookup indexes of the articles and their scores (revision 0006): the same rows.
    """
    art = search.lookup(a, "a")  # see lookup(): every hit or every article, never the wide rows
    conditions = searched(engine, flt, art)
    if engine is not None:
        copied = _copied_facts(engine, flt, conditions, signals)
        if copied is not None:
            return copied
    joined: FromClause = art
    scores: dict[str, Any] = {}
    for i, name in enumerate(dict.fromkeys(signals)):
        alias = search.lookup(cs, f"s_{i}")
        on = and_(alias.c.article_key == art.c.article_key, alias.c.signal == name)
        joined = joined.outerjoin(alias, on)
        scores[name] = alias.c.value
    return PerArticle(joined, art.c.event_date, art.c.source, scores, conditions)


def _copied_facts(
    engine: Engine, flt: ArticleFilter, conditions: Sequence[Any], signals: Sequence[str]
) -> PerArticle | None:
    """The leading search's hits with their copied facts, or None (no search leads, or a signal
    has no slot)."""
    lead = search.leading(engine, conditions)
    scores = search.score_columns(engine, signals) if lead is not None else None
    if lead is None or scores is None:
        return None
    hits, chosen = search.hit_facts(lead)
    f = search.facts
    where = [*_where_columns(flt, f.c.event_date, f.c.source, f.c.language), *chosen]
    return PerArticle(hits, f.c.event_date, f.c.source, scores, where)


def summed_rows(engine: Engine, stmt: Select[Any], keys: int) -> list[tuple[Any, ...]]:
    """The rows of a read that sums per group (the first ``keys`` columns, also its order).

    A search leading over many hits on SQLite is read in slices at once (``search.slices``),
    one connection and thread each (the driver lets go of the GIL while SQLite works), and the
    slices' counts and sums are added per group: a sum of NULLs stays NULL, as in SQL.
    """
    parts = search.slices(engine, stmt)
    if len(parts) == 1:
        return [tuple(r) for r in _rows(engine, stmt, parts[0])]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="search-slice") as pool:
        sliced = list(pool.map(partial(_rows, engine, stmt), parts))
    added: dict[tuple[Any, ...], list[Any]] = {}
    for row in (r for rows in sliced for r in rows):
        key, values = tuple(row[:keys]), list(row[keys:])
        if key not in added:
            added[key] = values
            continue
        total = added[key]
        for i, value in enumerate(values):
            if value is not None:
                total[i] = value if total[i] is None else total[i] + value
    return [(*key, *added[key]) for key in sorted(added)]


def _rows(engine: Engine, stmt: Select[Any], params: dict[str, int]) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(stmt, params).all())


def searched(engine: Engine | None, flt: ArticleFilter, art: NamedFromClause) -> list[Any]:
    """``where_article(flt, art)`` for a read summing every match: with an engine and a search,
    adapted by ``search.lead_if_fewer`` to how many articles the other conditions keep."""
    conditions = where_article(flt, art)
    if engine is None or not search.has_words(flt.search):
        return conditions
    return search.lead_if_fewer(engine, conditions, lambda: count_articles(engine, flt))


def _daily_detailed(signals: Sequence[str], flt: ArticleFilter) -> Select[Any]:
    """The overview as one plain join of scores to articles (the tests' reference).

    ``_daily_from_articles`` gives the same rows faster; this shape is what the totals and the
    searched overview are checked against (``tests/store_checks.py``, ``tests/test_search.py``).
    """
    relevance = cs.alias("relevance")
    return (
        select(
            a.c.event_date.label("day"),
            cs.c.signal,
            func.count().label("n"),
            func.sum(cs.c.value).label("total"),
        )
        .select_from(cs.join(a, a.c.article_key == cs.c.article_key))
        .outerjoin(
            relevance,
            and_(relevance.c.article_key == cs.c.article_key, relevance.c.signal == RELEVANCE),
        )
        .where(cs.c.signal.in_(list(signals)), *where_article(flt))
        .where(or_(relevance.c.value.is_(None), relevance.c.value >= flt.relevance_threshold))
        .group_by(a.c.event_date, cs.c.signal)
        .order_by(a.c.event_date, cs.c.signal)
    )


def count_articles(engine: Engine, flt: ArticleFilter | None = None) -> int:
    """Stored articles within the filter's dates, sources and languages (from the totals; a text
    search is not counted here)."""
    with engine.connect() as conn:
        return int(conn.execute(_volume(flt or ArticleFilter())).scalar_one())


def _volume(flt: ArticleFilter) -> Select[Any]:
    """Articles within ``flt``'s dates, sources and languages, from the totals' volume rows."""
    return select(func.coalesce(func.sum(dt.c.n), 0)).where(
        dt.c.signal == totals.VOLUME, *where_totals(flt)
    )


def daily_volume(engine: Engine, flt: ArticleFilter | None = None) -> pd.DataFrame:
    """Per event day: all stored articles, relevant or not (the denominator for shares)."""
    flt = flt or ArticleFilter()
    if search.has_words(flt.search):
        rows = per_article(engine, flt, [])
        stmt = rows.summed([rows.day], [func.count()])
        return pd.DataFrame(summed_rows(engine, stmt, keys=1), columns=["day", "articles"])
    counted = (
        select(dt.c.day, func.sum(dt.c.n).label("articles"))
        .where(dt.c.signal == totals.VOLUME, *where_totals(flt))
        .group_by(dt.c.day)
        .having(func.sum(dt.c.n) > 0)
        .order_by(dt.c.day)
    )
    return _frame(engine, counted, ["day", "articles"])


def article_table(
    engine: Engine, signals: Sequence[str], flt: ArticleFilter | None = None, limit: int = 5000
) -> pd.DataFrame:
    """Filtered articles, newest events first, one column per signal score."""
    flt = flt or ArticleFilter()
    conditions = search.newest_first(engine, where_article(flt), limit)
    stmt = _article_select(signals, flt, conditions).limit(limit)
    columns = ["id", "title", "source", "language", "event_date", "page_date", "url", *signals]
    return _frame(engine, stmt, [*columns, RELEVANCE])


def _article_select(
    signals: Sequence[str], flt: ArticleFilter, conditions: Sequence[Any] | None = None
) -> Select[Any]:
    joins = {name: cs.alias(f"s_{i}") for i, name in enumerate([*signals, RELEVANCE])}
    stmt = select(
        a.c.article_id.label("id"),
        a.c.title,
        a.c.source,
        a.c.language,
        a.c.event_date,
        a.c.page_date,
        a.c.url,
        *[alias.c.value.label(name) for name, alias in joins.items()],
    ).select_from(a)
    for name, alias in joins.items():
        stmt = stmt.outerjoin(
            alias, and_(alias.c.article_key == a.c.article_key, alias.c.signal == name)
        )
    stmt = stmt.where(*(where_article(flt) if conditions is None else conditions))
    for name, (low, high) in flt.signal_ranges.items():
        if name in joins:
            stmt = stmt.where(joins[name].c.value.between(low, high))
    if flt.relevant_only:
        rel = joins[RELEVANCE]
        stmt = stmt.where(or_(rel.c.value.is_(None), rel.c.value >= flt.relevance_threshold))
    return stmt.order_by(a.c.event_date.desc(), a.c.article_id)


def article_detail(engine: Engine, article_id: str) -> dict[str, Any] | None:
    """One article with its scores, explanations, sources and label history."""
    with engine.connect() as conn:
        row = conn.execute(select(a).where(a.c.article_id == article_id)).mappings().first()
        if row is None:
            return None
        key = row["article_key"]
        scores = conn.execute(select(cs).where(cs.c.article_key == key)).mappings().all()
        srcs = (
            conn.execute(
                select(schema.article_sources).where(schema.article_sources.c.article_key == key)
            )
            .mappings()
            .all()
        )
        labels = (
            conn.execute(
                select(schema.labels)
                .where(schema.labels.c.article_id == article_id)
                .order_by(schema.labels.c.labelled_at)
            )
            .mappings()
            .all()
        )
    return {
        **dict(row),
        "scores": [dict(s) for s in scores],
        "sources": [dict(s) for s in srcs],
        "labels": [dict(x) for x in labels],
    }


def store_summary(engine: Engine) -> dict[str, Any]:
    """Counts and freshness for the dashboard header and the empty-store check.

    ``scored`` is the number of articles holding a current score for the most-scored signal
    (every signal is scored in the same batch, so that is every scored article); it and
    ``last_scored_at`` come from the small ``version_totals`` table, and ``articles`` from the
    volume rows of the daily totals, not from scans of a million rows on every render.
    ``last_run`` is the last run that ingested (kind "run"): a ``policy-risk score`` pass
    reads no source, so it does not make the store look freshly ingested.
    """
    per_signal = select(func.sum(vt.c.n).label("n")).group_by(vt.c.signal).subquery()
    with engine.connect() as conn:
        articles = conn.execute(_volume(ArticleFilter())).scalar_one()
        scored = conn.execute(select(func.max(per_signal.c.n))).scalar_one() or 0
        # Two subqueries: SQLite reads min() or max() off the index only when each is alone.
        first, last = conn.execute(
            select(
                select(func.min(a.c.event_date)).scalar_subquery(),
                select(func.max(a.c.event_date)).scalar_subquery(),
            )
        ).one()
        last_scored = conn.execute(select(func.max(vt.c.last_scored_at))).scalar_one()
        last_run = conn.execute(_runs(1, kind=runlog.INGEST)).mappings().first()
    return {
        "articles": int(articles),
        "scored": int(scored),
        "first_event": first,
        "last_event": last,
        "last_scored_at": last_scored,
        "last_run": dict(last_run) if last_run else None,
    }


def list_sources(engine: Engine) -> list[str]:
    """Every source name in the store, for the filter list."""
    return _distinct(engine, a.c.source)


def list_languages(engine: Engine) -> list[str]:
    """Every language code in the store."""
    return _distinct(engine, a.c.language)


def _distinct(engine: Engine, column: Any) -> list[str]:
    """Distinct values by hopping through the column's index (a loose index scan).

    ``SELECT DISTINCT`` reads every row (seconds on a million articles, on each dashboard
    render); asking the index for the next larger value costs one lookup per distinct value.
    """
    first = select(func.min(column).label("value")).cte("found", recursive=True)
    following = select(func.min(column)).where(column > first.c.value).scalar_subquery()
    found = first.union_all(select(following).where(first.c.value.is_not(None)))
    stmt = select(found.c.value).where(found.c.value.is_not(None)).order_by(found.c.value)
    with engine.connect() as conn:
        return [str(value) for value in conn.execute(stmt).scalars()]


def model_versions_in_store(engine: Engine) -> pd.DataFrame:
    """Which model versions produced the current scores, and when they last ran."""
    stmt = (
        select(vt.c.signal, vt.c.model_version, vt.c.n, vt.c.last_scored_at)
        .where(vt.c.n > 0)
        .order_by(vt.c.signal, vt.c.model_version)
    )
    return _frame(engine, stmt, ["signal", "model_version", "articles", "last_scored_at"])


def recent_runs(engine: Engine, limit: int = 20) -> pd.DataFrame:
    """The latest pipeline runs of either kind with their counts, the kind beside the id; a
    "running" run silent for too long shows as interrupted (``pipeline.runlog``)."""
    return _frame(engine, _runs(limit), [c.name for c in _run_columns()])


def _run_columns() -> list[Any]:
    r = schema.runs
    return [r.c.run_id, r.c.kind, *(c for c in r.c if c.name not in ("run_id", "kind"))]


def _runs(limit: int, kind: str | None = None) -> Select[Any]:
    """The latest ``limit`` runs, newest first; only those of ``kind`` when given."""
    r, now = schema.runs, datetime.now(UTC)
    columns = [runlog.shown_status(now) if c.name == "status" else c for c in _run_columns()]
    stmt = select(*columns).order_by(r.c.run_id.desc()).limit(limit)
    return stmt if kind is None else stmt.where(r.c.kind == kind)


def run_errors(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The latest source errors across runs."""
    e = schema.run_errors
    stmt = (
        select(e.c.run_id, e.c.source, e.c.message, e.c.recorded_at)
        .order_by(e.c.error_id.desc())
        .limit(limit)
    )
    return _frame(engine, stmt, ["run_id", "source", "message", "recorded_at"])


def _frame(engine: Engine, stmt: Any, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
