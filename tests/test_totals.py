"""The derived totals and score keys stay exact through inserts, re-scoring and edited articles."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, Float, literal, select

from pipeline import queries, schema, store, totals
from pipeline.examples import RELEVANCE
from pipeline.records import Article, Score, content_hash
from tests.pg import store_url_fixture  # noqa: F401
from tests.store_checks import GRID, assert_totals_consistent

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)
SIGNALS = ["risk", "tone"]


def _article(number: int, rng: random.Random, body: str = "") -> Article:
    text_ = body or f"Story {number} about coca and tariffs."
    return Article(
        article_id=f"a{number:05d}",
        title=f"Title {number}",
        text=text_,
        source=rng.choice(["Wire", "Paper", "Radio"]),
        language=rng.choice(["en", "es"]),
        url=f"https://example.org/{number}",
        page_date=None,
        event_date=date(2024, 1, 1) + timedelta(days=rng.randrange(900)),
        ingested_at=NOW,
        content_hash=content_hash(f"Title {number}", text_),
    )


def _scores(articles: list[Article], rng: random.Random, version: str) -> list[Score]:
    out = []
    for article in articles:
        for signal in SIGNALS:
            out.append(Score(article.article_id, signal, _signal_value(rng), version, NOW))
        if rng.random() < 0.8:  # some articles have no relevance score: they always pass
            value = rng.choice([rng.random(), 0.5, 0.55, 0.05, 1.0, 0.0])
            out.append(Score(article.article_id, RELEVANCE, value, version, NOW))
    return out


# Scores on the share grid's edges: risk b/20 and tone 1 - b/10 (risk (1 - v) / 2 = b/20).
EDGES = [b / 20 for b in range(21)] + [1 - b / 10 for b in range(21)] + [-1.0, 0.0]


def _signal_value(rng: random.Random) -> float:
    return rng.choice(EDGES) if rng.random() < 0.5 else rng.uniform(-1, 1)


def _save(engine: Engine, scores: list[Score], articles: list[Article]) -> None:
    hashes = {a.article_id: a.content_hash for a in articles}
    store.save_scores(engine, [s for s in scores if s.article_id in hashes], hashes)


def test_relevance_buckets_agree_with_the_threshold_comparison() -> None:
    rng = random.Random(1)
    values = [rng.random() for _ in range(2000)] + [b / 20 for b in range(21)]
    values += [b / 20 - 1e-12 for b in range(1, 21)] + [0.0, 1.0]
    for threshold in [b / 20 for b in range(21)]:
        bucket = totals.threshold_bucket(threshold)
        assert bucket is not None
        for value in values:
            assert (totals.relevance_bucket(value) >= bucket) == (value >= threshold)
    assert totals.relevance_bucket(None) > 20
    assert totals.threshold_bucket(0.53) is None


def test_sql_buckets_match_python_buckets() -> None:
    engine = store.open_store("sqlite:///:memory:")
    values = [0.0, 0.049999, 0.05, 0.55, 0.5500001, 0.999, 1.0, 0.3]
    with engine.connect() as conn:
        for value in values:
            got = conn.execute(select(totals.bucket_sql(literal(value, Float)))).scalar()
            assert got == totals.relevance_bucket(value)


def test_share_counts_agree_with_the_risk_comparisons_in_python_and_sql() -> None:
    engine = store.open_store("sqlite:///:memory:")
    rng = random.Random(2)
    values = EDGES + [rng.uniform(-1, 1) for _ in range(40)] + [1e-12, -1e-12, 1 - 1e-12]
    grid = [b / 20 for b in range(21)]
    with engine.connect() as conn:
        for value in values:
            want = [int(value >= t) for t in grid] + [int((1.0 - value) / 2.0 >= t) for t in grid]
            assert totals.share_counts(value) == want, value
            sql = conn.execute(select(*totals.share_counts_sql(literal(value, Float)))).one()
            assert list(sql) == want, value


def test_each_totals_row_sums_the_share_counts_of_its_scores(store_url: str) -> None:
    """The writer counts scores per grid step and sums them once per row (``totals._daily``):
    every stored row must equal the sum of ``share_counts`` over the scores it holds."""
    rng = random.Random(5)
    engine = store.open_store(store_url)
    articles = [_article(n, rng) for n in range(300)]
    store.upsert_articles(engine, articles)
    _save(engine, _scores(articles, rng, "v1"), articles)
    a, cs, d = schema.articles, schema.current_scores, schema.daily_signal_totals
    gate = cs.alias("gate")
    on_gate = (gate.c.article_key == a.c.article_key) & (gate.c.signal == RELEVANCE)
    scored = select(a.c.event_date, cs.c.signal, a.c.source, a.c.language, gate.c.value, cs.c.value)
    scored = scored.select_from(
        cs.join(a, a.c.article_key == cs.c.article_key).outerjoin(gate, on_gate)
    )
    share_columns = [*schema.RISK_AT_LEAST, *schema.TONE_AT_LEAST]
    with engine.connect() as conn:
        want: dict[tuple, list[int]] = {}
        for day, signal, source, language, relevance, value in conn.execute(scored):
            key = (day, signal, source, language, totals.relevance_bucket(relevance))
            sums = want.setdefault(key, [0] * len(share_columns))
            for i, hit in enumerate(totals.share_counts(value)):
                sums[i] += hit
        rows = conn.execute(
            select(
                d.c.day,
                d.c.signal,
                d.c.source,
                d.c.language,
                d.c.relevance_bucket,
                *[d.c[name] for name in share_columns],
            ).where(d.c.signal != totals.VOLUME)
        ).all()
    got = {tuple(r[:5]): list(r[5:]) for r in rows if any(r[5:]) or tuple(r[:5]) in want}
    assert got == want
    assert sum(sum(v) for v in want.values()) > 1000  # the rows really hold scores


def test_totals_follow_inserts_rescoring_and_edits(store_url: str) -> None:
    rng = random.Random(7)
    engine = store.open_store(store_url)
    articles = [_article(n, rng) for n in range(60)]
    store.upsert_articles(engine, articles)
    _save(engine, _scores(articles[:40], rng, "v1"), articles)
    _save(engine, _scores(articles[20:], rng, "v2"), articles)  # re-score half, score the rest
    assert_totals_consistent(engine, SIGNALS)
    edited = [
        replace(
            a,
            event_date=a.event_date + timedelta(days=3),
            source="Edited",
            language="xx",
            text="Changed",
            content_hash=content_hash(a.title, "Changed"),
        )
        for a in articles[::5]
    ]
    assert store.upsert_articles(engine, edited).updated == len(edited)
    assert_totals_consistent(engine, SIGNALS)
    current = {a.article_id: a for a in articles} | {a.article_id: a for a in edited}
    relevance_only = [
        Score(a.article_id, RELEVANCE, rng.random(), "v3", NOW) for a in articles[::3]
    ]
    _save(engine, relevance_only, list(current.values()))
    assert_totals_consistent(engine, SIGNALS)


def test_rebuild_reproduces_the_incremental_totals(store_url: str) -> None:
    rng = random.Random(3)
    engine = store.open_store(store_url)
    articles = [_article(n, rng) for n in range(30)]
    store.upsert_articles(engine, articles)
    _save(engine, _scores(articles, rng, "v1"), articles)
    _save(engine, _scores(articles[::2], rng, "v2"), articles)
    t = schema.daily_signal_totals
    key = [t.c.day, t.c.signal, t.c.source, t.c.language, t.c.relevance_bucket]
    exact = [c for c in t.c if c.name != "total"]  # the key, the counts, the share counts
    with engine.begin() as conn:
        before = conn.execute(select(t).where(t.c.n > 0).order_by(*key)).mappings().all()
        totals.rebuild(conn)
        after = conn.execute(select(t).order_by(*key)).mappings().all()
    assert [[r[c] for c in exact] for r in before] == [[r[c] for c in exact] for r in after]
    assert [round(r["total"], 9) for r in before] == [round(r["total"], 9) for r in after]
    assert any(r[schema.TONE_AT_LEAST[10]] for r in after)  # the share counts were rebuilt


def test_pending_articles_follow_versions_and_content(store_url: str) -> None:
    rng = random.Random(5)
    engine = store.open_store(store_url)
    articles = [_article(n, rng) for n in range(12)]
    store.upsert_articles(engine, articles)
    versions = {"risk": "v1", "tone": "v1"}
    assert len(store.articles_to_score(engine, versions)) == 12
    scores = [Score(a.article_id, s, 0.1, "v1", NOW) for a in articles[:8] for s in SIGNALS]
    _save(engine, scores, articles)
    pending = {a.article_id for a in store.articles_to_score(engine, versions)}
    assert pending == {a.article_id for a in articles[8:]}
    assert len(store.articles_to_score(engine, {"risk": "v2", "tone": "v1"})) == 12
    # An article scored on signals beyond the ones asked for is not pending.
    assert len(store.articles_to_score(engine, {"risk": "v1"})) == 4
    changed = replace(articles[0], text="New text", content_hash=content_hash("x", "New text"))
    store.upsert_articles(engine, [changed])
    pending = {a.article_id for a in store.articles_to_score(engine, versions)}
    assert articles[0].article_id in pending
    assert len(store.articles_to_score(engine, versions, limit=2)) == 2


@pytest.mark.parametrize("threshold", GRID)
def test_off_grid_thresholds_and_search_use_the_detailed_query(threshold: float) -> None:
    engine = store.open_store("sqlite:///:memory:")
    rng = random.Random(11)
    articles = [_article(n, rng) for n in range(20)]
    store.upsert_articles(engine, articles)
    _save(engine, _scores(articles, rng, "v1"), articles)
    near = queries.daily_signal_stats(
        engine, SIGNALS, queries.ArticleFilter(relevance_threshold=threshold + 1e-9)
    )
    searched = queries.daily_signal_stats(
        engine, SIGNALS, queries.ArticleFilter(relevance_threshold=threshold, search="coca")
    )
    exact = queries.daily_signal_stats(
        engine, SIGNALS, queries.ArticleFilter(relevance_threshold=threshold)
    )
    assert int(searched["n"].sum()) == int(exact["n"].sum())
    assert int(near["n"].sum()) <= int(exact["n"].sum())


def test_partial_batches_mixing_stored_and_new_scores_of_one_version(store_url: str) -> None:
    rng = random.Random(13)
    engine = store.open_store(store_url)
    articles = [_article(n, rng) for n in range(4)]
    store.upsert_articles(engine, articles)
    _save(engine, [Score(articles[0].article_id, "tone", 0.1, "v1", NOW)], articles)
    later = NOW + timedelta(hours=1)
    mixed = [
        Score(articles[1].article_id, "tone", 0.3, "v1", later),
        Score(articles[0].article_id, "risk", 0.2, "v1", later),
    ]
    _save(engine, mixed, articles)
    assert_totals_consistent(engine, SIGNALS)
    versions = queries.model_versions_in_store(engine)
    assert versions.set_index("signal").loc["tone", "articles"] == 2
