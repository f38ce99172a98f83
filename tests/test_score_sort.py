"""Article lists sorted by a score: walking the rank index (revision 0008) gives the same page as
sorting every match, including ties, articles without the score, filters and a search."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from pipeline import insights, queries, store
from pipeline.examples import RELEVANCE
from pipeline.insights import ArticleQuery
from pipeline.records import Article, Score, content_hash
from tests.pg import store_url_fixture  # noqa: F401

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)
SIGNALS = ["risk", "tone"]
SOURCES = ["Wire", "Paper", "Radio", "Daily"]
COUNT = 80


def _articles() -> list[Article]:
    out = []
    for n in range(COUNT):
        title, body = f"Title {n}", f"Report {n} on {'coca crops' if n % 3 == 0 else 'trade'}"
        out.append(
            Article(
                article_id=f"a{n:03d}",
                title=title,
                text=body,
                source=SOURCES[n % 4],
                language="es" if n % 5 == 0 else "en",
                url=f"https://example.org/{n}",
                page_date=None,
                event_date=date(2025, 1, 1) + timedelta(days=n * 3),
                ingested_at=NOW,
                content_hash=content_hash(title, body),
            )
        )
    return out


def _scores(articles: list[Article]) -> dict[str, dict[str, float]]:
    """Per article its scores: ties on purpose, one in ten unscored, some without relevance."""
    rng = random.Random(4)
    values: dict[str, dict[str, float]] = {}
    for n, article in enumerate(articles):
        if n % 10 == 9:
            continue
        scores = {
            "risk": rng.choice([0.1, 0.5, 0.5, 0.9, rng.random()]),
            "tone": rng.choice([-0.5, 0.0, 0.5, rng.uniform(-1, 1)]),
        }
        if n % 7:
            scores[RELEVANCE] = rng.choice([0.2, 0.6, 0.9])
        values[article.article_id] = scores
    return values


@pytest.fixture()
def filled(store_url: str) -> tuple[Engine, list[Article], dict[str, dict[str, float]]]:
    engine = store.open_store(store_url)
    articles = _articles()
    values = _scores(articles)
    store.upsert_articles(engine, articles)
    scores = [
        Score(aid, signal, value, "v1", NOW)
        for aid, per_signal in values.items()
        for signal, value in per_signal.items()
    ]
    store.save_scores(engine, scores, {a.article_id: a.content_hash for a in articles})
    return engine, articles, values


def _expected(
    articles: list[Article],
    values: dict[str, dict[str, float]],
    query: ArticleQuery,
    limit: int,
) -> list[str]:
    """The page as Python sees it: filter, then sort with missing scores last, ties by id."""
    flt = query.flt
    kept = []
    for article in articles:
        scores = values.get(article.article_id, {})
        if flt.sources and article.source not in flt.sources:
            continue
        if flt.start and article.event_date < flt.start:
            continue
        if flt.search and flt.search not in article.text.split():
            continue
        if any(
            not (name in scores and low <= scores[name] <= high)
            for name, (low, high) in flt.signal_ranges.items()
        ):
            continue
        gate = scores.get(RELEVANCE)
        if flt.relevant_only and gate is not None and gate < flt.relevance_threshold:
            continue
        kept.append(article.article_id)
    sign = -1.0 if query.descending else 1.0
    scored = [aid for aid in kept if query.sort_by in values.get(aid, {})]
    unscored = sorted(aid for aid in kept if aid not in scored)
    scored.sort(key=lambda aid: (sign * values[aid][query.sort_by], aid))
    return (scored + unscored)[:limit]


CASES = {
    "risk, highest first": (ArticleQuery(sort_by="risk"), 10, True),
    "tone, lowest first": (ArticleQuery(sort_by="tone", descending=False), 10, True),
    "relevance score": (ArticleQuery(sort_by=RELEVANCE), 10, True),
    "relevant only": (
        ArticleQuery(flt=queries.ArticleFilter(relevant_only=True), sort_by="risk"),
        10,
        True,
    ),
    "range on the sort signal": (
        ArticleQuery(flt=queries.ArticleFilter(signal_ranges={"risk": (0.2, 0.6)}), sort_by="risk"),
        8,
        True,
    ),
    "page longer than the scored articles": (ArticleQuery(sort_by="risk"), 75, True),
    "one source: the filter leads": (
        ArticleQuery(flt=queries.ArticleFilter(sources=("Paper",)), sort_by="risk"),
        10,
        False,
    ),
    "a later start date": (
        ArticleQuery(flt=queries.ArticleFilter(start=date(2025, 6, 1)), sort_by="tone"),
        5,
        True,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_list_sorted_by_a_score_equals_sorting_every_match(
    filled: tuple[Engine, list[Article], dict[str, dict[str, float]]], case: str
) -> None:
    engine, articles, values = filled
    query, limit, walks = CASES[case]
    conditions = queries.where_article(query.flt)
    assert insights.walks_scores(engine, query, conditions, limit) is walks
    rows = insights.article_rows(engine, SIGNALS, query, limit=limit)
    assert rows["id"].tolist() == _expected(articles, values, query, limit)


def test_a_searched_list_walks_on_sqlite_and_gives_the_same_page(
    filled: tuple[Engine, list[Article], dict[str, dict[str, float]]],
) -> None:
    engine, articles, values = filled
    query = ArticleQuery(flt=queries.ArticleFilter(search="coca"), sort_by="risk")
    conditions = queries.where_article(query.flt)
    # 27 of 80 articles match: 27**2 > 5 * 80, so SQLite (which counts the hits) walks.
    walks = insights.walks_scores(engine, query, conditions, 5)
    assert walks is (engine.dialect.name == "sqlite")
    rows = insights.article_rows(engine, SIGNALS, query, limit=5)
    assert rows["id"].tolist() == _expected(articles, values, query, 5)
