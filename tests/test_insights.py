"""Read-only SQL for the drill-downs, on the demo store built by the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text, update

from pipeline import insights, queries, runlog, schema, store
from pipeline.config import Config, load_config
from pipeline.coverage import feed_health_per_period
from pipeline.insights import ArticleQuery
from pipeline.snapshots import mention_groups, signal_kinds
from pipeline.store import open_store, save_label
from tests.demo_store import demo_config, fresh_copy
from tests.pg import store_url_fixture  # noqa: F401

SIGNALS = ["decertification_risk", "cooperation_tone"]
KINDS = {"decertification_risk": "risk", "cooperation_tone": "tone"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_config(tmp_path_factory)


@pytest.fixture(scope="module")
def config(demo: Path) -> Config:
    return load_config(demo)


@pytest.fixture(scope="module")
def engine(config: Config) -> Iterator[Engine]:
    eng = open_store(config.database.url, create=False)
    yield eng
    eng.dispose()


@pytest.mark.parametrize(
    "flt",
    [
        queries.ArticleFilter(),
        queries.ArticleFilter(relevant_only=True),
        queries.ArticleFilter(start=date(2025, 1, 1), end=date(2025, 12, 31), languages=("es",)),
        queries.ArticleFilter(search="coca", sources=("Test Wire",)),
        queries.ArticleFilter(signal_ranges={"decertification_risk": (0.5, 1.0)}),
    ],
)
def test_article_rows_match_the_shared_query(engine: Engine, flt: queries.ArticleFilter) -> None:
    mine = insights.article_rows(engine, SIGNALS, ArticleQuery(flt=flt), limit=10_000)
    theirs = queries.article_table(engine, SIGNALS, flt, limit=10_000)
    assert mine["id"].tolist() == theirs["id"].tolist()


def test_article_rows_sort_by_a_signal_and_limit(engine: Engine) -> None:
    query = ArticleQuery(sort_by="decertification_risk", descending=True)
    rows = insights.article_rows(engine, SIGNALS, query, limit=5)
    assert len(rows) == 5 and rows["decertification_risk"].is_monotonic_decreasing
    up = insights.article_rows(engine, SIGNALS, ArticleQuery(sort_by="title", descending=False))
    assert up["title"].tolist() == sorted(up["title"].tolist())


def test_mentions_need_each_country(engine: Engine, config: Config) -> None:
    both = mention_groups(config, ["Colombia", "United States"])
    rows = insights.article_rows(engine, SIGNALS, ArticleQuery(mentions=both), limit=10_000)
    everything = insights.article_rows(engine, SIGNALS, ArticleQuery(), limit=10_000)
    assert 0 < len(rows) < len(everything)
    assert "Sports Daily" not in rows["source"].tolist()


def test_search_escapes_like_wildcards(engine: Engine) -> None:
    flt = queries.ArticleFilter(search="100%_")
    assert insights.article_rows(engine, SIGNALS, ArticleQuery(flt=flt)).empty


def test_top_contributors_rank_by_article_composite(engine: Engine) -> None:
    weights = {"decertification_risk": 1.0, "cooperation_tone": 0.0}
    span = (date(2025, 9, 1), date(2025, 9, 30))
    rows = insights.top_contributors(engine, KINDS, weights, queries.ArticleFilter(), span)
    assert len(rows) >= 2 and rows["article_composite"].is_monotonic_decreasing
    assert rows["article_composite"].tolist() == pytest.approx(
        rows["decertification_risk"].tolist()
    )
    assert rows["event_date"].astype(str).between("2025-09-01", "2025-09-30").all()
    assert rows["decertification_risk_explanation"].str.contains('"up"').all()


def test_top_contributors_turn_tone_into_risk(engine: Engine) -> None:
    weights = {"decertification_risk": 0.0, "cooperation_tone": 1.0}
    span = (date(2024, 1, 1), date(2026, 12, 31))
    rows = insights.top_contributors(engine, KINDS, weights, queries.ArticleFilter(), span)
    expected = [(1 - t) / 2 for t in rows["cooperation_tone"]]
    assert rows["article_composite"].tolist() == pytest.approx(expected)


def test_top_contributors_rank_by_distance_from_the_previous_composite(engine: Engine) -> None:
    """QA5 #2: with a baseline, an article far below it (a fall's cause) ranks first."""
    weights = {"decertification_risk": 0.6, "cooperation_tone": 0.4}
    span, flt = (date(2024, 1, 1), date(2026, 12, 31)), queries.ArticleFilter()
    every = insights.top_contributors(engine, KINDS, weights, flt, span, limit=100_000)
    baseline = float(every["article_composite"].max())  # every article is at or below it
    rows = insights.top_contributors(engine, KINDS, weights, flt, span, 5, baseline=baseline)
    distance = (rows["article_composite"].astype(float) - baseline).abs()
    assert distance.is_monotonic_decreasing
    assert distance.iloc[0] == pytest.approx((every["article_composite"] - baseline).abs().max())
    assert rows["article_composite"].is_monotonic_increasing  # lowest first: the biggest pull


def test_contribution_count_counts_the_articles_with_a_composite(engine: Engine) -> None:
    weights = {"decertification_risk": 0.6, "cooperation_tone": -0.5}
    span, flt = (date(2024, 1, 1), date(2026, 12, 31)), queries.ArticleFilter()
    rows = insights.top_contributors(engine, KINDS, weights, flt, span, limit=100_000)
    assert insights.contribution_count(engine, KINDS, weights, flt, span) == len(rows) > 20
    empty = (date(1990, 1, 1), date(1990, 1, 2))
    assert insights.contribution_count(engine, KINDS, weights, flt, empty) == 0


def test_share_counts_are_bounded_by_volume(engine: Engine, config: Config) -> None:
    counts = insights.share_counts(engine, signal_kinds(config), queries.ArticleFilter(), 0.5)
    assert counts["articles"].sum() == insights.daily_coverage(engine)["articles"].sum()
    for signal in SIGNALS:
        assert (counts[signal] <= counts["articles"]).all()
    assert counts["decertification_risk"].sum() > 0


def test_daily_coverage_and_per_source(engine: Engine) -> None:
    coverage = insights.daily_coverage(engine)
    assert list(coverage.columns) == ["day", "source", "articles"]
    assert (coverage["articles"] >= 1).all()
    assert not coverage.duplicated(["day", "source"]).any()
    per_source = insights.articles_per_source(engine)
    assert per_source["articles"].sum() == coverage["articles"].sum()
    counted = coverage.groupby("source")["articles"].sum()
    assert counted.to_dict() == per_source.set_index("source")["articles"].to_dict()


def _stored(engine: Engine, where: str = "1 = 1", **params: object) -> pd.DataFrame:
    """Articles per event day and source straight from the articles table (the reference)."""
    sql = (
        "SELECT event_date AS day, source, count(*) AS articles FROM articles"
        f" WHERE {where} GROUP BY event_date, source ORDER BY event_date, source"
    )
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=["day", "source", "articles"])


def _plain(frame: pd.DataFrame) -> list[tuple[str, str, int]]:
    return [(str(d), str(s), int(n)) for d, s, n in frame.itertuples(index=False)]


@pytest.mark.parametrize(
    ("flt", "where", "params"),
    [
        (queries.ArticleFilter(languages=("es",)), "language = :x", {"x": "es"}),
        (queries.ArticleFilter(sources=("Test Wire",)), "source = :x", {"x": "Test Wire"}),
        (
            queries.ArticleFilter(start=date(2025, 1, 1), end=date(2025, 6, 30)),
            "event_date BETWEEN :x AND :y",
            {"x": "2025-01-01", "y": "2025-06-30"},
        ),
    ],
)
def test_daily_coverage_honours_the_filter(
    engine: Engine, flt: queries.ArticleFilter, where: str, params: dict[str, object]
) -> None:
    """All articles and sources obey the same dates, sources and languages as the series they
    sit beside (QA5 #4: a Spanish article counted in an English-only export)."""
    expected = _stored(engine, where, **params)
    assert not expected.empty and len(expected) < len(_stored(engine))
    assert _plain(insights.daily_coverage(engine, flt)) == _plain(expected)


def test_daily_coverage_of_a_search_counts_its_hits(engine: Engine) -> None:
    flt = queries.ArticleFilter(search="coca")
    found = insights.daily_coverage(engine, flt)
    hits = insights.article_rows(engine, [], insights.ArticleQuery(flt=flt), limit=100_000)
    assert 0 < found["articles"].sum() == len(hits) < _stored(engine)["articles"].sum()


def test_run_history_and_feed_table(engine: Engine) -> None:
    runs, errors = insights.run_history(engine)
    assert len(runs) >= 1 and list(errors.columns) == ["run_id", "source"]
    assert insights.feed_table(engine).empty


def test_store_stamp_changes_when_the_store_is_written(demo: Path, tmp_path: Path) -> None:
    config = load_config(fresh_copy(demo, tmp_path))
    engine = open_store(config.database.url, create=False)
    before = insights.store_stamp(engine)
    assert insights.store_stamp(engine) == before
    article = insights.article_rows(engine, SIGNALS, ArticleQuery(), limit=1)["id"].iloc[0]
    save_label(engine, article, "decertification_risk", 0.9, "tester")
    assert insights.store_stamp(engine) != before
    engine.dispose()


def test_article_query_describes_itself_for_manifests() -> None:
    query = ArticleQuery(
        flt=queries.ArticleFilter(search="coca", relevance_threshold=0.55),
        mentions=(("colombia",),),
        sort_by="title",
        descending=False,
    )
    info = query.describe()
    assert info["search"] == "coca" and info["relevance_threshold"] == 0.55
    assert info["mentions"] == [["colombia"]] and info["sort_by"] == "title"


def test_languages_come_from_the_totals(engine: Engine) -> None:
    assert insights.list_languages(engine) == queries.list_languages(engine)


def test_a_score_run_is_no_ingest_for_feed_health_or_the_last_run(store_url: str) -> None:
    """`policy-risk score` has a run row of its own (kind "score") but reads no feed: a week
    with only such a run has unknown feed health, not "every feed healthy", and the store's
    last run stays the last run that ingested. The Sources page lists both, with their kind."""
    engine = open_store(store_url)
    ingest = store.start_run(engine)
    store.record_source_error(engine, ingest, "feed:Wire", "HTTP 500")
    store.finish_run(engine, ingest, "partial", {"sources_failed": 1})
    scoring = store.start_run(engine, runlog.SCORE)
    store.finish_run(engine, scoring, "ok", {})
    r = schema.runs
    days = {ingest: datetime(2025, 9, 2, tzinfo=UTC), scoring: datetime(2025, 9, 9, tzinfo=UTC)}
    for run, day in days.items():  # the ingest in one week, the score pass in the next
        with engine.begin() as conn:
            conn.execute(update(r).where(r.c.run_id == run).values(started_at=day))
    weeks = pd.DatetimeIndex([pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-08")])
    runs, errors = insights.run_history(engine)
    healthy = feed_health_per_period(runs, errors, ["Wire"], "week", weeks)
    assert healthy.iloc[0] == 0 and pd.isna(healthy.iloc[1])
    assert queries.store_summary(engine)["last_run"]["run_id"] == ingest
    shown = queries.recent_runs(engine)
    assert list(shown.columns[:2]) == ["run_id", "kind"]
    assert shown[["run_id", "kind"]].values.tolist() == [[scoring, "score"], [ingest, "run"]]
    engine.dispose()
