"""Build the frames behind every snapshot (dashboard downloads and ``policy-risk export``).

The dashboard and the CLI call the same functions, so a CSV from either holds the same rows for
the same filters and weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from pipeline import queries
from pipeline.config import Config
from pipeline.examples import RELEVANCE
from pipeline.export import manifest, write_snapshot
from pipeline.index import index_frame
from pipeline.store import open_store

ARTICLE_COLUMNS = ["id", "url", "title", "source", "language", "page_date", "event_date"]


def signal_kinds(config: Config) -> dict[str, str]:
    """Signal name -> ``risk`` or ``tone``, in config order."""
    return {name: s.kind for name, s in config.signals.items()}


def articles_frame(
    engine: Engine, config: Config, flt: queries.ArticleFilter, limit: int = 1_000_000
) -> pd.DataFrame:
    """Filtered articles with one column per signal, named as in the config."""
    signals = list(config.signals)
    table = queries.article_table(engine, signals, flt, limit=limit)
    return table[[*ARTICLE_COLUMNS, *signals, RELEVANCE]]


def series_frame(
    engine: Engine,
    config: Config,
    flt: queries.ArticleFilter,
    weights: Mapping[str, float],
    period: str | None = None,
    window: int | None = None,
) -> pd.DataFrame:
    """The index series (signals, composite, smoothed lines, volume) for the given weights."""
    daily = queries.daily_signal_stats(engine, list(config.signals), flt)
    frame = index_frame(
        daily,
        signal_kinds(config),
        weights,
        period or config.index.period,
        window or config.index.smoothing_window,
    )
    return frame.reset_index().rename(columns={"index": "period"})


def model_versions(engine: Engine) -> dict[str, str]:
    """Signal -> the model version(s) behind the current scores."""
    versions = queries.model_versions_in_store(engine)
    out: dict[str, str] = {}
    for signal, group in versions.groupby("signal"):
        out[str(signal)] = ", ".join(sorted(group["model_version"].astype(str)))
    return out


def snapshot_details(
    engine: Engine, config: Config, flt: queries.ArticleFilter, weights: Mapping[str, float]
) -> dict[str, Any]:
    """What a manifest records besides kind and row count."""
    return {
        "filters": flt.describe(),
        "weights": dict(weights),
        "model_versions": model_versions(engine),
        "period": config.index.period,
        "smoothing_window": config.index.smoothing_window,
        "config": str(config.path),
    }


def export_articles(config: Config, path: Path, start: date | None, end: date | None) -> int:
    """Write the articles between two event dates (all when unset) and their manifest."""
    engine = open_store(config.database.url)
    flt = queries.ArticleFilter(
        start=start, end=end, relevance_threshold=config.index.relevance_threshold
    )
    frame = articles_frame(engine, config, flt)
    info = manifest(
        "articles", len(frame), **snapshot_details(engine, config, flt, config.weights())
    )
    write_snapshot(path, frame, info)
    return len(frame)


def export_series(config: Config, path: Path, start: date | None, end: date | None) -> int:
    """Write the index series with the config's weights and their manifest."""
    engine = open_store(config.database.url)
    flt = queries.ArticleFilter(
        start=start, end=end, relevance_threshold=config.index.relevance_threshold
    )
    frame = series_frame(engine, config, flt, config.weights())
    info = manifest("series", len(frame), **snapshot_details(engine, config, flt, config.weights()))
    write_snapshot(path, frame, info)
    return len(frame)
