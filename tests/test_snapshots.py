"""Snapshot specs, composed series and the shared export functions."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline import queries
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError
from pipeline.export import manifest_path
from pipeline.insights import ArticleQuery
from pipeline.snapshots import (
    SnapshotSpec,
    build_snapshot,
    compose_series,
    countries,
    export_articles,
    export_series,
    fetch_series_inputs,
    mention_groups,
)
from pipeline.store import open_store
from tests.demo_store import demo_config


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
