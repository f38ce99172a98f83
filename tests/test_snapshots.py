"""Snapshot specs, composed series and the shared export functions."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline import queries
from pipeline.config import Config, load_config
from pipeline.coverage import coverage_frame, period_starts
from pipeline.errors import ConfigError
from pipeline.export import manifest_path
from pipeline.feed_cycle import collect_feeds
from pipeline.insights import ArticleQuery
from pipeline.run import run_pipeline
from pipeline.snapshots import (
    SnapshotSpec,
    build_snapshot,
    compose_series,
    countries,
    export_articles,
    export_series,
    feed_names,
    fetch_series_inputs,
    mention_groups,
    series_from_table,
    series_table,
)
from pipeline.store import open_store
from tests.conftest import write_config
from tests.demo_store import demo_config
from tests.feed_server import (
    FeedServer,
    feed_server_fixture,  # noqa: F401
    make_config,
    rss,
    story,
)


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    return load_config(demo_config(tmp_path_factory))


def test_spec_survives_a_round_trip_through_its_manifest(config: Config) -> None:
    flt = queries.ArticleFilter(
        start=date(2025, 1, 1), end=date(2025, 12, 31), sources=("Test Wire",), languages=("en",),
        search="coca", signal_ranges={"decertification_risk": (0.2, 0.9)}, relevant_only=True,
        relevance_threshold=0.55,
    )  # fmt: skip
    spec = SnapshotSpec(
        query=ArticleQuery(flt=flt, mentions=(("colombia",),), sort_by="title", descending=False),
        weights={"decertification_risk": 0.3, "cooperation_tone": -0.2},
        period="week", window=3, view="share", standardise=True, limit=50,
    )  # fmt: skip
    info = json.loads(json.dumps(spec.describe()))
    assert SnapshotSpec.from_manifest(info, config) == spec


def test_spec_from_an_empty_manifest_is_the_config_default(config: Config) -> None:
    assert SnapshotSpec.from_manifest({}, config) == SnapshotSpec.from_config(config)


def test_mention_groups_come_from_the_monitor_terms(config: Config) -> None:
    named = countries(config)
    assert list(named) == ["Colombia", "United States"]
    assert "us" not in named["United States"]  # too short to match as a substring
    assert mention_groups(config, ["colombia"]) == (named["Colombia"],)
    with pytest.raises(ConfigError, match="unknown country 'Peru'"):
        mention_groups(config, ["Peru"])


def _series(config: Config, spec: SnapshotSpec, today: date) -> pd.DataFrame:
    engine = open_store(config.database.url, create=False)
    try:
        return compose_series(fetch_series_inputs(engine, config, spec), config, spec, today)
    finally:
        engine.dispose()


def test_series_carries_coverage_and_marks(config: Config) -> None:
    spec = SnapshotSpec.from_config(config)
    frame = _series(config, spec, date(2030, 1, 1))
    assert {
        "all_articles",
        "sources",
        "feeds_configured",
        "feeds_healthy",
        "thin",
        "provisional",
    } <= set(frame.columns)
    drawn = frame["composite"].notna() | frame["composite_smoothed"].notna()
    assert not frame.loc[~drawn, "thin"].any()  # nothing drawn, nothing to misread
    assert (frame["all_articles"] >= frame["articles"]).all()
    assert not frame["provisional"].any()


def _coverage_by_hand(config: Config, period: str, language: str | None) -> pd.DataFrame:
    """All articles and distinct outlets per period, straight from the SQLite file."""
    path = config.database.url.removeprefix("sqlite:///")
    where, params = ("WHERE language = ?", (language,)) if language else ("", ())
    with sqlite3.connect(path) as conn:
        rows = conn.execute(f"SELECT event_date, source FROM articles {where}", params).fetchall()
    frame = pd.DataFrame(rows, columns=["day", "source"])
    frame["period"] = period_starts(frame["day"], period)
    return frame.groupby("period").agg(all_articles=("day", "size"), sources=("source", "nunique"))


@pytest.mark.parametrize(("period", "language"), [("month", None), ("week", "es"), ("day", "en")])
def test_series_coverage_counts_distinct_outlets_within_the_filter(
    config: Config, period: str, language: str | None
) -> None:
    """QA5 #4: ``sources`` is every outlet of the period (not the busiest day's count), and
    ``all_articles``/``sources`` obey the language filter the rest of the row obeys."""
    flt = queries.ArticleFilter(
        languages=(language,) if language else (),
        relevance_threshold=config.index.relevance_threshold,
    )
    spec = replace(SnapshotSpec.from_config(config), query=ArticleQuery(flt=flt), period=period)
    frame = _series(config, spec, date(2030, 1, 1))
    expected = _coverage_by_hand(config, period, language).reindex(frame.index).fillna(0)
    assert frame["all_articles"].tolist() == expected["all_articles"].astype(int).tolist()
    assert frame["sources"].tolist() == expected["sources"].astype(int).tolist()
    assert (frame["all_articles"] >= frame["articles"]).all()
    if period == "month":  # the demo store has months with one outlet a day but several in all
        assert (frame["sources"] > 1).any()


def test_latest_days_are_provisional(config: Config) -> None:
    spec = SnapshotSpec.from_config(config)
    last = _series(config, spec, date(2030, 1, 1)).index.max().date()
    frame = _series(config, spec, last)
    assert frame["provisional"].tolist()[-2:] == [True, True]
    assert frame["provisional"].sum() == config.index.provisional_days


def test_share_view_adds_share_columns(config: Config) -> None:
    spec = replace(SnapshotSpec.from_config(config), view="share", period="month")
    frame = _series(config, spec, date(2026, 1, 1))
    assert {"decertification_risk_share", "cooperation_tone_share", "composite_share"} <= set(
        frame.columns
    )
    assert (frame["decertification_risk_share"].dropna().between(0, 100)).all()


def test_standardised_share_view_averages_100_over_the_exported_periods(config: Config) -> None:
    spec = replace(SnapshotSpec.from_config(config), view="share", period="week", standardise=True)
    frame = _series(config, spec, date(2026, 1, 1))
    for column in ("decertification_risk_share", "cooperation_tone_share", "composite_share"):
        assert frame[column].notna().sum() > 2
        assert frame[column].mean() == pytest.approx(100.0)  # gaps do not count
    assert frame.loc[frame["all_articles"] == 0, "composite_share"].isna().all()


def test_build_snapshot_truncates_at_the_limit(config: Config) -> None:
    engine = open_store(config.database.url, create=False)
    spec = replace(SnapshotSpec.from_config(config), limit=2)
    frame, info = build_snapshot(engine, config, "articles", spec)
    engine.dispose()
    assert len(frame) == 2 and info["truncated"] is True and info["rows"] == 2
    assert set(info["model_versions"]) >= {"decertification_risk", "cooperation_tone"}


def test_export_functions_keep_their_signatures(config: Config, tmp_path: Path) -> None:
    rows = export_articles(config, tmp_path / "a.csv", date(2025, 1, 1), date(2025, 6, 30))
    info = json.loads(manifest_path(tmp_path / "a.csv").read_text(encoding="utf-8"))
    assert rows == info["rows"] > 0 and info["filters"]["start"] == "2025-01-01"
    assert export_series(config, tmp_path / "s.csv", None, None) > 0


def _feed_run_config(folder: Path, feeds: list[dict[str, object]]) -> Config:
    """A real config.yaml with no seeds, these feeds, loopback fetching and weekly periods."""
    path = write_config(folder, seeds=[], feeds=feeds)
    text = path.read_text(encoding="utf-8").replace("period: day", "period: week")
    fetch = "  fetch: {allow_private_addresses: true, total_timeout_s: 5.0}\n"
    path.write_text(text.replace("sources:\n", "sources:\n" + fetch, 1), encoding="utf-8")
    return load_config(path)


def test_failed_feeds_make_their_period_thin_after_a_real_run(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    items = [story(n) | {"pubDate": format_datetime(now, usegmt=True)} for n in range(1, 9)]
    feeds = [
        {"name": "Good", "url": feed_server.add("/thin/good.xml", rss("Good", items))},
        {"name": "Err500", "url": feed_server.add("/thin/500", "boom", status=500)},
        {"name": "Broken", "url": feed_server.add("/thin/malformed.xml", "<rss><channel>")},
        {"name": "Missing", "url": feed_server.url("/thin/nope.xml")},
    ]
    config = _feed_run_config(tmp_path, feeds)
    summary = run_pipeline(config)
    assert sorted(source for source, _ in summary.errors) == [
        "feed:Broken", "feed:Err500", "feed:Missing",
    ]  # fmt: skip
    engine = open_store(config.database.url, create=False)
    try:
        frame, _ = build_snapshot(engine, config, "series", SnapshotSpec.from_config(config))
    finally:
        engine.dispose()
    week = frame[frame["period"] == pd.Timestamp(now.date() - timedelta(days=now.weekday()))]
    assert len(week) == 1 and week["articles"].iloc[0] > 0
    row = week.iloc[0]
    assert (row["feeds_configured"], row["feeds_healthy"]) == (4, 1)
    assert bool(row["thin"])  # 1 of 4 feeds healthy: fewer than half


def test_feeds_configured_counts_a_repeated_name_once_as_the_cycle_does(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    body = rss("Dup", [story(1)])
    feeds = [
        {"name": "A", "url": feed_server.add("/dup/a.xml", body)},
        {"name": "A", "url": feed_server.add("/dup/a2.xml", body)},
        {"name": "B", "url": feed_server.add("/dup/b.xml", body), "enabled": False},
        {"name": "C", "url": feed_server.add("/dup/c.xml", body)},
    ]
    config = make_config(tmp_path, feeds)
    engine = open_store(config.database.url)
    try:
        fetched = [o.name for o in collect_feeds(config, engine) if o.status == "ok"]
    finally:
        engine.dispose()
    assert feed_names(config) == sorted(fetched) == ["A", "C"]
    assert [feed_server.hits[p] for p in ("/dup/a.xml", "/dup/a2.xml", "/dup/c.xml")] == [1, 0, 1]
    index = pd.DatetimeIndex([pd.Timestamp("2025-09-01")], name="period")
    empty = pd.DataFrame(columns=["day", "source", "articles"])
    runs = pd.DataFrame({"run_id": [], "started_at": []})
    cover = coverage_frame(empty, runs, runs, feed_names(config), "week", index)
    assert cover["feeds_configured"].tolist() == [2]


def test_series_table_names_tone_risks_and_reads_old_and_new_files_back() -> None:
    kinds = {"decertification_risk": "risk", "cooperation_tone": "tone"}
    index = pd.DatetimeIndex([pd.Timestamp("2025-09-01")], name="period")
    frame = pd.DataFrame(
        {"decertification_risk": [0.8], "cooperation_tone": [0.75], "composite": [0.78],
         "decertification_risk_smoothed": [0.7], "cooperation_tone_smoothed": [0.6]},
        index=index,
    )  # fmt: skip
    table = series_table(frame, kinds)
    assert list(table.columns) == [
        "period", "decertification_risk", "cooperation_tone_risk", "composite",
        "decertification_risk_smoothed", "cooperation_tone_risk_smoothed",
    ]  # fmt: skip
    back = series_from_table(table.set_index("period"), kinds)
    pd.testing.assert_frame_equal(back, frame)
    # a snapshot from before the rename held the risk under the signal's own name
    assert series_from_table(frame, kinds).equals(frame)


def test_series_table_refuses_a_signal_named_like_a_tone_risk_column() -> None:
    kinds = {"cooperation_tone": "tone", "cooperation_tone_risk": "risk"}
    frame = pd.DataFrame({"cooperation_tone": [0.5], "cooperation_tone_risk": [0.2]})
    with pytest.raises(ConfigError, match="'cooperation_tone_risk' is also the series column"):
        series_table(frame, kinds)
