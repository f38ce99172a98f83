"""Assertions shared by the store tests: the derived totals agree with the rows they summarise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, inspect, select, text

from pipeline import insights, queries, schema, search, totals

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
    assert_search_facts_consistent(engine)


def assert_search_facts_consistent(engine: Engine) -> None:
    """SQLite (revision 0013): every article's copy beside its full-text id holds its date,
    source, language and, in its signal's slot, each current score; free slots stay empty."""
    if engine.dialect.name != "sqlite":
        return
    scores = [f"score_{k}" for k in range(search.SCORE_SLOTS)]
    with engine.connect() as conn:
        sql = conn.exec_driver_sql
        slots = dict(sql(f"SELECT signal, slot FROM {search.SLOTS_TABLE}").all())
        copies = sql(
            f"SELECT search_id, event_date, source, language, {', '.join(scores)}"
            f" FROM {search.IDS_TABLE}"
        ).all()
        articles = sql(
            "SELECT article_key, article_id, event_date, source, language FROM articles"
        ).all()
        current = sql(
            "SELECT a.article_id, c.signal, c.value FROM current_scores AS c"
            " JOIN articles AS a ON a.article_key = c.article_key"
        ).all()
    signals = {signal for _aid, signal, _value in current}
    assert sorted(slots.values()) == list(range(len(slots)))  # taken in order, none skipped
    assert len(slots) == search.SCORE_SLOTS or signals <= set(slots)
    values = {(aid, signal): value for aid, signal, value in current}
    expected = {  # the full-text id is the article key (revisions 0014, 0015)
        key: (
            str(day),
            source,
            language,
            *(values.get((aid, s)) for s in sorted(slots, key=slots.__getitem__)),
            *[None] * (search.SCORE_SLOTS - len(slots)),
        )
        for key, aid, day, source, language in articles
    }
    assert {key: tuple(rest) for key, *rest in copies} == expected


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


_PER_ARTICLE = {  # each per-article table's columns besides the owning article
    "scores": "signal, model_version, content_hash, value, confidence, explanation",
    "current_scores": "signal, value, model_version, content_hash, confidence, explanation",
    "article_score_keys": "score_key",
    "article_sources": "source, origin, url",
}

PER_ARTICLE_TABLES = tuple(_PER_ARTICLE)


def per_article_rows(
    engine: Engine, key: str = "article_key"
) -> dict[str, list[tuple[object, ...]]]:
    """Every per-article row with its article's id, the tables joined by ``key``."""
    found = {}
    with engine.connect() as conn:
        for name, columns in _PER_ARTICLE.items():
            listed = ", ".join(f"t.{c.strip()}" for c in columns.split(","))
            found[name] = sorted(
                tuple(row)
                for row in conn.execute(
                    text(
                        f"SELECT a.article_id, {listed} FROM {name} AS t"
                        f" JOIN articles AS a ON a.{key} = t.{key}"
                    )
                )
            )
    return found


def per_article_foreign_keys(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Each per-article table's foreign keys: name, own columns, referred table and columns."""
    with engine.connect() as conn:
        found = inspect(conn)
        return {
            name: [
                (k["name"], k["constrained_columns"], k["referred_table"], k["referred_columns"])
                for k in found.get_foreign_keys(name)
            ]
            for name in PER_ARTICLE_TABLES
        }
