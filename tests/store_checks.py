"""Assertions shared by the store tests: the derived totals agree with the rows they summarise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, select

from pipeline import insights, queries, schema, totals

GRID = (0.0, 0.05, 0.5, 0.55, 0.95, 1.0)


def detailed(engine: Engine, signals: Sequence[str], flt: queries.ArticleFilter) -> pd.DataFrame:
    """The overview computed from the scores themselves (the path the totals must agree with)."""
    columns = ["day", "signal", "n", "total"]
    return queries._frame(engine, queries._daily_detailed(signals, flt), columns)


def assert_same_daily(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same days, signals and counts; sums equal up to float rounding of +/- updates."""
    key = ["day", "signal"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert (
        got[key + ["n"]].astype(str).values.tolist()
        == want[key + ["n"]].astype(str).values.tolist()
    )
    assert (
        got["total"].astype(float).round(9).tolist()
        == want["total"].astype(float).round(9).tolist()
    )


def assert_totals_consistent(engine: Engine, signals: Sequence[str]) -> None:
    """The overview from the totals equals the detailed one, unfiltered and under each filter."""
    sources = queries.list_sources(engine)
    languages = queries.list_languages(engine)
    filters = [queries.ArticleFilter(relevance_threshold=t) for t in GRID]
    filters += [
        queries.ArticleFilter(sources=tuple(sources[:1])),
        queries.ArticleFilter(languages=tuple(languages[:1])),
        queries.ArticleFilter(start=date(2024, 6, 1), end=date(2025, 6, 30)),
    ]
    for flt in filters:
        assert totals.threshold_bucket(flt.relevance_threshold) is not None
        got = queries.daily_signal_stats(engine, signals, flt)
        assert_same_daily(got, detailed(engine, signals, flt))
        _assert_volume_consistent(engine, flt)
        _assert_shares_consistent(engine, signals, flt)
    _assert_versions_consistent(engine)


def _assert_shares_consistent(
    engine: Engine, signals: Sequence[str], flt: queries.ArticleFilter
) -> None:
    """The share counts from the totals equal counting the articles, for either kind of signal."""
    gate = totals.threshold_bucket(flt.relevance_threshold)
    assert gate is not None
    for kinds in (dict.fromkeys(signals, "risk"), dict.fromkeys(signals, "tone")):
        for threshold in GRID:
            step = totals.threshold_bucket(threshold)
            assert step is not None
            columns = ["day", "source", "articles", *kinds]
            from_totals = insights._share_from_totals(kinds, flt, gate, step)
            from_articles = insights._share_from_articles(kinds, flt, threshold)
            got = queries._frame(engine, from_totals, columns)
            want = queries._frame(engine, from_articles, columns)
            assert got.astype(str).values.tolist() == want.astype(str).values.tolist(), (
                kinds,
                threshold,
            )


def _assert_volume_consistent(engine: Engine, flt: queries.ArticleFilter) -> None:
    """Article counts from the volume rows equal counting the articles."""
    a = schema.articles
    stmt = (
        select(a.c.event_date, func.count())
        .where(*queries.where_article(flt))
        .group_by(a.c.event_date)
        .order_by(a.c.event_date)
    )
    with engine.connect() as conn:
        counted = [(str(d), int(n)) for d, n in conn.execute(stmt)]
        total = conn.execute(select(func.count()).select_from(a)).scalar_one()
    volume = queries.daily_volume(engine, flt)
    assert [(str(d), int(n)) for d, n in volume.itertuples(index=False)] == counted
    assert queries.store_summary(engine)["articles"] == total


def _assert_versions_consistent(engine: Engine) -> None:
    cs, vt = schema.current_scores, schema.version_totals
    with engine.connect() as conn:
        counted = {
            (s, v): n
            for s, v, n in conn.execute(select(vt.c.signal, vt.c.model_version, vt.c.n))
            if n
        }
        actual: dict[tuple[str, str], int] = {}
        for s, v in conn.execute(select(cs.c.signal, cs.c.model_version)):
            actual[(s, v)] = actual.get((s, v), 0) + 1
    assert counted == actual
