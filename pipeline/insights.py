"""Read-only SQL behind the dashboard's drill-downs (issue 5): sortable article lists, the
articles that drove a period, EPU-style share counts, and the cheap store "stamp" that keys caches.

``pipeline.queries`` stays the home of the overview series; this module adds what the analyst views
need on top, with the same filter semantics (``ArticleFilter``). Everything aggregates or limits in
SQL; Python only sees the rows it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, and_, case, func, literal, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ColumnElement, Select

from pipeline import runlog, schema, search, totals
from pipeline.examples import RELEVANCE
from pipeline.queries import (
    ArticleFilter,
    count_articles,
    per_article,
    summed_rows,
    where_article,
    where_totals,
)

a, cs = schema.articles, schema.current_scores
BASE_COLUMNS = ["id", "title", "source", "language", "event_date", "page_date", "url"]
SORT_KEYS = ("event_date", "page_date", "title", "source", "language")


@dataclass(frozen=True, slots=True)
class ArticleQuery:
    """The sidebar filter plus what only the article list narrows by, and its order.

    ``mentions`` holds one group of terms per country the article must mention (any term of each
    group; a term's words in a row in the title or text, the last as a word prefix, see
    ``pipeline.search``).
    """

    flt: ArticleFilter = ArticleFilter()
    mentions: tuple[tuple[str, ...], ...] = ()
    sort_by: str = "event_date"
    descending: bool = True

    def describe(self) -> dict[str, Any]:
        """The query as plain JSON-able values, for snapshot manifests."""
        return {
            **self.flt.describe(),
            "relevance_threshold": self.flt.relevance_threshold,
            "mentions": [list(group) for group in self.mentions],
            "sort_by": self.sort_by,
            "descending": self.descending,
        }


def store_stamp(engine: Engine) -> str:
    """A short text that changes whenever the pipeline (or an analyst's label) writes."""
    r, lab = schema.runs, schema.labels
    with engine.connect() as conn:
        runs = conn.execute(
            select(func.count(), func.max(r.c.run_id), func.max(r.c.finished_at))
        ).one()
        labels = conn.execute(select(func.max(lab.c.label_id))).scalar()
        versions = _version_totals(conn)
    return "|".join(str(part) for part in (*runs, labels, versions, _file_state(engine)))


def _version_totals(conn: Any) -> str:
    v = schema.version_totals
    try:
        return str(tuple(conn.execute(select(func.sum(v.c.n), func.max(v.c.last_scored_at))).one()))
    except SQLAlchemyError:  # a store without the derived tables still gets a stamp
        conn.rollback()
        return ""


def _file_state(engine: Engine) -> str:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return ""
    parts = []
    for suffix in ("", "-wal"):
        path = Path(database + suffix)
        if path.exists():
            stat = path.stat()
            parts.append(f"{stat.st_mtime_ns}:{stat.st_size}")
    return ",".join(parts)


def _mentions(groups: Sequence[Sequence[str]]) -> list[ColumnElement[bool]]:
    """One condition per country group: the article mentions any of its terms (full-text index)."""
    found = [search.mentions_any(group) for group in groups]
    return [clause for clause in found if clause is not None]


def _score_joins(
    stmt: Select[Any], names: Sequence[str], joined: Mapping[str, Any] | None = None
) -> tuple[Select[Any], dict[str, Any]]:
    """Join each signal's current score (``joined``: aliases already in the FROM clause)."""
    aliases = dict(joined or {})
    for i, name in enumerate(names):
        if name in aliases:
            continue
        alias = cs.alias(f"s_{i}")
        aliases[name] = alias
        stmt = stmt.outerjoin(
            alias, and_(alias.c.article_key == a.c.article_key, alias.c.signal == name)
        )
    return stmt, {name: aliases[name] for name in names}


def _relevant(alias: Any, threshold: float) -> ColumnElement[bool]:
    return or_(alias.c.value.is_(None), alias.c.value >= threshold)


def article_rows(
    engine: Engine, signals: Sequence[str], query: ArticleQuery, limit: int = 500
) -> pd.DataFrame:
    """Filtered, sorted articles with one column per signal and the relevance score.

    Sorted by a score over many matches, the page comes from walking that score's rank index
    (revision 0008) until it is full, instead of sorting every match; if the walk cannot fill it
    (articles without the score sort last, and only the full query sees them) the full query
    answers. Either way the rows and their order are the same.
    """
    names = [*signals, RELEVANCE]
    columns = [*BASE_COLUMNS, *names]
    conditions = [*where_article(query.flt), *_mentions(query.mentions)]
    if query.sort_by in names:
        if walks_scores(engine, query, conditions, limit):
            walking = search.filters_only(conditions)  # the rank index leads, nothing else
            walked = _frame(engine, _rows(names, query, walking, limit, walk=True), columns)
            if len(walked) == limit:
                return walked
    elif query.sort_by not in SORT_KEYS or query.sort_by == "event_date":
        # read in index order: a broad search should not lead
        conditions = search.newest_first(engine, conditions, limit)
    return _frame(engine, _rows(names, query, conditions, limit), columns)


def walks_scores(
    engine: Engine, query: ArticleQuery, conditions: Sequence[Any], limit: int
) -> bool:
    """Walk the rank index when the filter keeps many articles: ``matches**2 > limit * size``.

    Walking reads about ``limit * size / matches`` scores before the page is full; starting from
    the filter reads ``matches`` articles and sorts them (the rule of ``search.newest_first``).
    The matches are counted from the totals (dates, sources, languages) and, on SQLite, the
    full-text index; on PostgreSQL a search is not counted, so a searched list is not walked.
    """
    size = count_articles(engine)
    matches = count_articles(engine, query.flt)
    if search.has_words(query.flt.search) or query.mentions:
        hits = search.hit_counts(engine, conditions)
        if not hits:
            return False
        matches = min(matches, *hits)
    return matches * matches > limit * size


def _rows(
    names: Sequence[str],
    query: ArticleQuery,
    conditions: Sequence[Any],
    limit: int,
    walk: bool = False,
) -> Select[Any]:
    base = select(*[_base_column(c) for c in BASE_COLUMNS])
    joined: dict[str, Any] = {}
    if walk:  # from the sort signal's scores in value order (only articles holding one)
        driver = search.ranked(f"s_{names.index(query.sort_by)}")
        joined[query.sort_by] = driver
        base = base.select_from(driver.join(a, a.c.article_key == driver.c.article_key))
        base = base.where(driver.c.signal == query.sort_by)
    else:
        base = base.select_from(a)
    stmt, aliases = _score_joins(base, names, joined=joined)
    stmt = stmt.add_columns(*[aliases[n].c.value.label(n) for n in names]).where(*conditions)
    for name, (low, high) in query.flt.signal_ranges.items():
        if name in aliases:
            stmt = stmt.where(aliases[name].c.value.between(low, high))
    if query.flt.relevant_only:
        stmt = stmt.where(_relevant(aliases[RELEVANCE], query.flt.relevance_threshold))
    order = _sort_column(query.sort_by, aliases)
    primary = order.desc() if query.descending else order.asc()
    return stmt.order_by(primary.nulls_last(), a.c.article_id).limit(limit)


def _base_column(name: str) -> Any:
    return a.c.article_id.label("id") if name == "id" else a.c[name]


def _sort_column(sort_by: str, aliases: Mapping[str, Any]) -> Any:
    if sort_by in aliases:
        return aliases[sort_by].c.value
    return a.c[sort_by] if sort_by in SORT_KEYS else a.c.event_date


def risk_expression(value: Any, kind: str) -> Any:
    """The SQL twin of ``index.to_risk``: tone -1..1 becomes risk (1 - tone) / 2."""
    return (literal(1.0) - value) / 2.0 if kind == "tone" else value


def top_contributors(
    engine: Engine,
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    flt: ArticleFilter,
    span: tuple[date, date],
    limit: int = 20,
    *,
    baseline: float | None = None,
) -> pd.DataFrame:
    """The relevant articles of a date span that moved its composite most from ``baseline``.

    The span's composite is (near enough) the mean of its articles' composites, so the move from
    the previous period's composite ``baseline`` is the sum of each article's
    ``(article composite - baseline) / n`` (QA5 #2): ranked by |article composite - baseline|,
    an article far below the previous level (a fall's cause) ranks as high as one far above.
    Without a baseline (no earlier period has data) they are ranked by their own composite.
    Either way one top-N query. Columns: base columns, one value and one explanation column per
    signal (``<signal>_explanation``), and ``article_composite``.
    """
    base = select(*[_base_column(c) for c in BASE_COLUMNS])
    stmt, aliases, expression = _span_articles(base, kinds, weights, flt, span)
    composite = expression.label("article_composite")
    stmt = stmt.add_columns(
        *[aliases[s].c.value.label(s) for s in kinds],
        *[aliases[s].c.explanation.label(f"{s}_explanation") for s in kinds],
        composite,
    )
    distance = expression if baseline is None else func.abs(expression - float(baseline))
    stmt = stmt.order_by(distance.desc().nulls_last(), a.c.article_id).limit(limit)
    columns = [*BASE_COLUMNS, *kinds, *[f"{s}_explanation" for s in kinds], "article_composite"]
    return _frame(engine, stmt, columns)


def contribution_count(
    engine: Engine,
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    flt: ArticleFilter,
    span: tuple[date, date],
) -> int:
    """How many of the articles ``top_contributors`` ranks have a composite: the ``n`` that
    divides each article's distance from the previous composite into its part of the change.
    """
    stmt, _, composite = _span_articles(select(a.c.article_key), kinds, weights, flt, span)
    total = stmt.with_only_columns(func.count(composite))
    with engine.connect() as conn:
        return int(conn.execute(total).scalar() or 0)


def _span_articles(
    stmt: Select[Any],
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    flt: ArticleFilter,
    span: tuple[date, date],
) -> tuple[Select[Any], dict[str, Any], Any]:
    """The relevant, scored articles of a span (scores joined) and their composite expression."""
    stmt, aliases = _score_joins(stmt.select_from(a), [*kinds, RELEVANCE])
    stmt = stmt.where(
        *where_article(flt),
        a.c.event_date.between(span[0], span[1]),
        _relevant(aliases[RELEVANCE], flt.relevance_threshold),
        or_(*[aliases[s].c.value.is_not(None) for s in kinds]),
    )
    return stmt, aliases, _article_composite(aliases, kinds, weights)


def _article_composite(
    aliases: Mapping[str, Any], kinds: Mapping[str, str], weights: Mapping[str, float]
) -> Any:
    numerator: Any = literal(0.0)
    denominator: Any = literal(0.0)
    for signal, kind in kinds.items():
        value = aliases[signal].c.value
        weight = float(weights.get(signal, 0.0))
        numerator = numerator + func.coalesce(risk_expression(value, kind) * weight, 0.0)
        denominator = denominator + case((value.is_(None), 0.0), else_=abs(weight))
    return numerator / func.nullif(denominator, 0.0)


def share_counts(
    engine: Engine, kinds: Mapping[str, str], flt: ArticleFilter, threshold: float
) -> pd.DataFrame:
    """Per event day and source: all articles, and relevant articles at or above ``threshold``
    risk on each signal (columns ``day, source, articles, <signal>...``).

    Both thresholds on the 0.05 grid and no text search: one pass over the daily totals
    (revision 0007). Otherwise the articles and their scores, from the covering indexes of
    revision 0006 (``search.lookup``): a search hitting a quarter of a million articles never
    touches their wide rows. Both give the same counts (tests/store_checks.py).
    """
    gate = totals.threshold_bucket(flt.relevance_threshold)
    step = totals.threshold_bucket(threshold)
    columns = ["day", "source", "articles", *kinds]
    if gate is None or step is None or search.has_words(flt.search):
        rows = summed_rows(engine, _share_from_articles(kinds, flt, threshold, engine), keys=2)
        return pd.DataFrame(rows, columns=columns)
    return _frame(engine, _share_from_totals(kinds, flt, gate, step), columns)


def _share_from_totals(
    kinds: Mapping[str, str], flt: ArticleFilter, gate: int, step: int
) -> Select[Any]:
    dt = schema.daily_signal_totals
    articles = func.sum(case((dt.c.signal == totals.VOLUME, dt.c.n), else_=0))
    gated = dt.c.relevance_bucket >= gate

    def at_or_above(signal: str, kind: str) -> Any:
        column = (schema.TONE_AT_LEAST if kind == "tone" else schema.RISK_AT_LEAST)[step]
        return func.sum(case((and_(dt.c.signal == signal, gated), dt.c[column]), else_=0))

    counts = [at_or_above(s, k).label(s) for s, k in kinds.items()]
    return (
        select(dt.c.day, dt.c.source, articles.label("articles"), *counts)
        .where(dt.c.signal.in_([totals.VOLUME, *kinds]), *where_totals(flt))
        .group_by(dt.c.day, dt.c.source)
        .having(articles > 0)
        .order_by(dt.c.day, dt.c.source)
    )


def _share_from_articles(
    kinds: Mapping[str, str], flt: ArticleFilter, threshold: float, engine: Engine | None = None
) -> Select[Any]:
    rows = per_article(engine, flt, [*kinds, RELEVANCE])
    gate = rows.relevant(flt.relevance_threshold)
    counts = [
        func.sum(
            case((and_(gate, risk_expression(rows.scores[s], k) >= threshold), 1), else_=0)
        ).label(s)
        for s, k in kinds.items()
    ]
    return rows.summed([rows.day, rows.source], [func.count().label("articles"), *counts])


def daily_coverage(engine: Engine, flt: ArticleFilter | None = None) -> pd.DataFrame:
    """Per event day and source: stored articles, relevant or not, within the filter's dates,
    sources, languages and search (columns ``day, source, articles``; no zero rows).

    Kept per source, not per day, so a period's distinct outlets can be counted exactly
    (``coverage.coverage_frame``). Read from the totals' volume rows, a range of their primary
    key already in (day, source) order; a search counts its hits as the share view does.
    """
    flt = flt or ArticleFilter()
    columns = ["day", "source", "articles"]
    if search.has_words(flt.search):
        rows = per_article(engine, flt, [])
        stmt = rows.summed([rows.day, rows.source], [func.count()])
        return pd.DataFrame(summed_rows(engine, stmt, keys=2), columns=columns)
    dt = schema.daily_signal_totals
    stmt = (
        select(dt.c.day, dt.c.source, func.sum(dt.c.n))
        .where(dt.c.signal == totals.VOLUME, *where_totals(flt))
        .group_by(dt.c.day, dt.c.source)
        .having(func.sum(dt.c.n) > 0)
        .order_by(dt.c.day, dt.c.source)
    )
    return _frame(engine, stmt, columns)


def list_languages(engine: Engine) -> list[str]:
    """Every language with scored articles, from the small totals table (else all articles)."""
    d = schema.daily_signal_totals
    with engine.connect() as conn:
        found = [r[0] for r in conn.execute(select(d.c.language).distinct().order_by(d.c.language))]
        if not found:
            found = [
                r[0] for r in conn.execute(select(a.c.language).distinct().order_by(a.c.language))
            ]
    return found


def run_history(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every ingest run's start time, and every source error with its run (for coverage per
    period). Runs of kind "score" are left out: they read no feed, so a period with only those
    says nothing about the feeds' health."""
    r, e = schema.runs, schema.run_errors
    stmt = select(r.c.run_id, r.c.started_at).where(r.c.kind == runlog.INGEST)
    runs = _frame(engine, stmt, ["run_id", "started_at"])
    errors = _frame(engine, select(e.c.run_id, e.c.source), ["run_id", "source"])
    return runs, errors


def feed_table(engine: Engine) -> pd.DataFrame:
    """The feed health rows, worst first (most consecutive failures, then name)."""
    f = schema.feeds
    columns = [
        "name", "url", "http_status", "last_attempt_at", "last_success_at",
        "consecutive_failures", "last_error", "problems", "entries_seen", "articles_added",
        "next_attempt_at",
    ]  # fmt: skip
    stmt = select(*[f.c[c] for c in columns]).order_by(f.c.consecutive_failures.desc(), f.c.name)
    return _frame(engine, stmt, columns)


def articles_per_source(engine: Engine) -> pd.DataFrame:
    """Stored articles per source with the latest event date (for the Sources page)."""
    stmt = (
        select(a.c.source, func.count().label("articles"), func.max(a.c.event_date).label("latest"))
        .group_by(a.c.source)
        .order_by(func.count().desc())
    )
    return _frame(engine, stmt, ["source", "articles", "latest_event"])


def _frame(engine: Engine, stmt: Any, columns: list[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)
