"""Build the frames behind every snapshot (dashboard downloads and ``policy-risk export``).

The dashboard and the CLI call the same functions with the same ``SnapshotSpec``, so a CSV from
either holds the same rows and columns for the same filters, weights and view. A manifest records
the spec; ``SnapshotSpec.from_manifest`` reads it back, so
``policy-risk export --like X.manifest.json`` reproduces a snapshot downloaded from the
dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from pipeline import insights, queries
from pipeline.config import Config
from pipeline.coverage import coverage_frame, provisional_mask, thin_mask
from pipeline.errors import ConfigError
from pipeline.examples import RELEVANCE
from pipeline.export import (
    frame_to_csv,
    manifest,
    manifest_json,
    snapshot_zip,
    write_bytes_atomic,
    write_snapshot,
)
from pipeline.feed_cycle import enabled_feed_names
from pipeline.index import COMPOSITE, index_frame
from pipeline.insights import ArticleQuery
from pipeline.share import share_frame
from pipeline.store import open_store

ARTICLE_COLUMNS = ["id", "url", "title", "source", "language", "page_date", "event_date"]
VIEWS = ("mean", "share")


@dataclass(frozen=True, slots=True)
class SnapshotSpec:
    """Everything that decides a snapshot's rows: filters, weights, period, view and limit."""

    query: ArticleQuery = ArticleQuery()
    weights: Mapping[str, float] = field(default_factory=dict)
    period: str = "day"
    window: int = 7
    view: str = "mean"
    standardise: bool = False
    limit: int | None = None

    def describe(self) -> dict[str, Any]:
        """The spec as the manifest records it."""
        return {
            "filters": self.query.describe(),
            "weights": dict(self.weights),
            "period": self.period,
            "smoothing_window": self.window,
            "view": self.view,
            "standardise_outlets": self.standardise,
            "limit": self.limit,
        }

    @classmethod
    def from_config(cls, config: Config, query: ArticleQuery | None = None) -> SnapshotSpec:
        """The spec of the config's defaults (all weights and index settings from the file)."""
        flt = queries.ArticleFilter(relevance_threshold=config.index.relevance_threshold)
        return cls(
            query=query or ArticleQuery(flt=flt),
            weights=config.weights(),
            period=config.index.period,
            window=config.index.smoothing_window,
        )

    @classmethod
    def from_manifest(cls, info: Mapping[str, Any], config: Config) -> SnapshotSpec:
        """Read a spec back from a manifest; missing keys fall back to the config."""
        base = cls.from_config(config)
        filters = info.get("filters") or {}
        return replace(
            base,
            query=query_from_filters(filters, config.index.relevance_threshold),
            weights={**base.weights, **_weights(info)},
            period=str(info.get("period") or base.period),
            window=int(info.get("smoothing_window") or base.window),
            view=str(info.get("view") or "mean"),
            standardise=bool(info.get("standardise_outlets", False)),
            limit=int(info["limit"]) if info.get("limit") else None,
        )


def _weights(info: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): float(v) for k, v in (info.get("weights") or {}).items()}


def query_from_filters(filters: Mapping[str, Any], relevance_threshold: float) -> ArticleQuery:
    """Rebuild an ``ArticleQuery`` from the ``filters`` block of a manifest."""

    def day(value: Any) -> date | None:
        return date.fromisoformat(str(value)) if value else None

    ranges = {
        str(k): (float(v[0]), float(v[1])) for k, v in (filters.get("signal_ranges") or {}).items()
    }
    flt = queries.ArticleFilter(
        start=day(filters.get("start")),
        end=day(filters.get("end")),
        sources=tuple(filters.get("sources") or ()),
        languages=tuple(filters.get("languages") or ()),
        search=str(filters.get("search") or ""),
        signal_ranges=ranges,
        relevant_only=bool(filters.get("relevant_only", False)),
        relevance_threshold=float(filters.get("relevance_threshold", relevance_threshold)),
    )
    mentions = tuple(tuple(str(t) for t in group) for group in filters.get("mentions") or ())
    return ArticleQuery(
        flt=flt,
        mentions=mentions,
        sort_by=str(filters.get("sort_by") or "event_date"),
        descending=bool(filters.get("descending", True)),
    )


def countries(config: Config) -> dict[str, tuple[str, ...]]:
    """The monitored country and partner -> the terms that count as mentioning them.

    Terms shorter than three letters ("us") are left out: as substrings they match everywhere.
    """
    monitor = config.monitor
    return {
        monitor.country: tuple(t for t in monitor.country_terms if len(t.strip()) >= 3),
        monitor.partner: tuple(t for t in monitor.partner_terms if len(t.strip()) >= 3),
    }


def mention_groups(config: Config, names: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Term groups for the countries an article must mention (unknown names are an error)."""
    known = countries(config)
    lowered = {k.lower(): v for k, v in known.items()}
    groups = []
    for name in names:
        if name.lower() not in lowered:
            raise ConfigError(f"unknown country {name!r}: expected one of {sorted(known)}")
        groups.append(lowered[name.lower()])
    return tuple(groups)


def signal_kinds(config: Config) -> dict[str, str]:
    """Signal name -> ``risk`` or ``tone``, in config order."""
    return {name: s.kind for name, s in config.signals.items()}


def signal_labels(config: Config) -> dict[str, str]:
    """Signal name -> the label analysts read, in config order."""
    return {name: s.label for name, s in config.signals.items()}


def articles_frame(
    engine: Engine,
    config: Config,
    query: ArticleQuery | queries.ArticleFilter,
    limit: int = 1_000_000,
) -> pd.DataFrame:
    """Filtered, sorted articles with one column per signal, named as in the config."""
    if isinstance(query, queries.ArticleFilter):
        query = ArticleQuery(flt=query)
    signals = list(config.signals)
    table = insights.article_rows(engine, signals, query, limit=limit)
    return table[[*ARTICLE_COLUMNS, *signals, RELEVANCE]]


@dataclass(frozen=True, slots=True)
class SeriesInputs:
    """The SQL results a series is composed from (the dashboard caches each one)."""

    daily: pd.DataFrame
    coverage: pd.DataFrame
    runs: pd.DataFrame
    errors: pd.DataFrame
    shares: pd.DataFrame | None = None


def fetch_series_inputs(engine: Engine, config: Config, spec: SnapshotSpec) -> SeriesInputs:
    """Run the series' SQL: daily signal sums, coverage, run history, and share counts if needed."""
    flt = spec.query.flt
    runs, errors = insights.run_history(engine)
    shares = None
    if spec.view == "share":
        shares = insights.share_counts(
            engine, signal_kinds(config), flt, config.index.share_threshold
        )
    return SeriesInputs(
        daily=queries.daily_signal_stats(engine, list(config.signals), flt),
        coverage=insights.daily_coverage(engine, flt),
        runs=runs,
        errors=errors,
        shares=shares,
    )


def feed_names(config: Config) -> list[str]:
    """The enabled feeds whose health counts toward coverage, each name once as a cycle fetches
    them (a repeated name is one feed, not two)."""
    return enabled_feed_names(config.sources.feeds)


def compose_series(
    inputs: SeriesInputs, config: Config, spec: SnapshotSpec, today: date | None = None
) -> pd.DataFrame:
    """One row per period: signals, composite, smoothed lines, volume, coverage and marks."""
    kinds = signal_kinds(config)
    frame = index_frame(inputs.daily, kinds, spec.weights, spec.period, spec.window)
    index = pd.DatetimeIndex(frame.index, name="period")
    names = feed_names(config)
    cover = coverage_frame(inputs.coverage, inputs.runs, inputs.errors, names, spec.period, index)
    frame = frame.join(cover)
    drawn = frame[COMPOSITE].notna() | frame[f"{COMPOSITE}_smoothed"].notna()
    frame["thin"] = drawn & thin_mask(
        cover, frame["articles"], config.index.min_articles, config.index.thin_coverage_ratio
    )
    frame["provisional"] = provisional_mask(
        index, spec.period, today or date.today(), config.index.provisional_days
    )
    if spec.view == "share" and inputs.shares is not None:
        shares = share_frame(
            inputs.shares, kinds, spec.weights, spec.period, spec.standardise, index=index
        )
        frame = frame.join(shares)
    frame.index.name = "period"
    return frame


def config_series(config: Config) -> pd.DataFrame:
    """The series with the config's own settings (weights, period, window, every article),
    read from its store: what ``policy-risk alerts`` watches and the overview shows by default."""
    spec = SnapshotSpec.from_config(config)
    engine = open_store(config.database.url, create=False)
    try:
        return compose_series(fetch_series_inputs(engine, config, spec), config, spec)
    finally:
        engine.dispose()


def series_frame(
    engine: Engine,
    config: Config,
    flt: queries.ArticleFilter,
    weights: Mapping[str, float],
    period: str | None = None,
    window: int | None = None,
    *,
    view: str = "mean",
    standardise: bool = False,
    today: date | None = None,
) -> pd.DataFrame:
    """The index series for the given filter and weights, with ``period`` as a column."""
    spec = SnapshotSpec(
        query=ArticleQuery(flt=flt),
        weights=dict(weights),
        period=period or config.index.period,
        window=window or config.index.smoothing_window,
        view=view,
        standardise=standardise,
    )
    inputs = fetch_series_inputs(engine, config, spec)
    return series_table(compose_series(inputs, config, spec, today), signal_kinds(config))


def series_table(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """The composed series as the CSV holds it: ``period`` first, then the columns.

    A tone signal's mean is on the risk scale here ((1 - tone) / 2), while the articles CSV
    holds the tone itself under the signal's name; its columns are therefore named
    ``<signal>_risk`` and ``<signal>_risk_smoothed`` so one name never means two scales.
    """
    renamed = risk_column_names(kinds)
    clash = sorted(set(renamed.values()) & set(frame.columns))
    if clash:
        raise ConfigError(
            f"signal name {clash[0]!r} is also the series column of the tone signal "
            f"{clash[0].removesuffix('_smoothed').removesuffix('_risk')!r}: rename one in "
            "config.yaml"
        )
    table = frame.rename(columns=renamed)
    return table.reset_index().rename(columns={"index": "period"})


def risk_column_names(kinds: Mapping[str, str]) -> dict[str, str]:
    """Each tone signal's series columns -> their CSV names (risk signals keep theirs)."""
    names: dict[str, str] = {}
    for signal, kind in kinds.items():
        if kind == "tone":
            names[signal] = f"{signal}_risk"
            names[f"{signal}_smoothed"] = f"{signal}_risk_smoothed"
    return names


def series_from_table(frame: pd.DataFrame, kinds: Mapping[str, str]) -> pd.DataFrame:
    """A series CSV's columns under the composed frame's names (``<signal>`` holds the risk).

    Snapshots written before the ``_risk`` names held the risk under the signal's own name and
    pass unchanged; a file with both names keeps the ``_risk`` column.
    """
    back = {csv: name for name, csv in risk_column_names(kinds).items() if csv in frame.columns}
    return frame.drop(columns=[n for n in back.values() if n in frame.columns]).rename(
        columns=back
    )


def model_versions(engine: Engine) -> dict[str, str]:
    """Signal -> the model version(s) behind the current scores."""
    versions = queries.model_versions_in_store(engine)
    out: dict[str, str] = {}
    for signal, group in versions.groupby("signal"):
        out[str(signal)] = ", ".join(sorted(group["model_version"].astype(str)))
    return out


def snapshot_manifest(
    kind: str,
    rows: int,
    config: Config,
    spec: SnapshotSpec,
    versions: Mapping[str, str],
    **extra: Any,
) -> dict[str, Any]:
    """The manifest of one snapshot: what, how many rows, the spec and the model versions."""
    return manifest(
        kind,
        rows,
        **spec.describe(),
        model_versions=dict(versions),
        config=str(config.path),
        **extra,
    )


def snapshot_details(
    engine: Engine, config: Config, flt: queries.ArticleFilter, weights: Mapping[str, float]
) -> dict[str, Any]:
    """What a manifest records besides kind and row count (kept for older callers)."""
    spec = replace(SnapshotSpec.from_config(config, ArticleQuery(flt=flt)), weights=dict(weights))
    return {**spec.describe(), "model_versions": model_versions(engine), "config": str(config.path)}


def build_snapshot(
    engine: Engine, config: Config, kind: str, spec: SnapshotSpec, today: date | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and manifest of an ``articles`` or ``series`` snapshot for a spec."""
    versions = model_versions(engine)
    if kind == "series":
        inputs = fetch_series_inputs(engine, config, spec)
        frame = series_table(compose_series(inputs, config, spec, today), signal_kinds(config))
        return frame, snapshot_manifest(kind, len(frame), config, spec, versions)
    limit = spec.limit or 10_000_000
    frame = articles_frame(engine, config, spec.query, limit=limit + 1)
    truncated = len(frame) > limit
    frame = frame.iloc[:limit]
    info = snapshot_manifest(kind, len(frame), config, spec, versions, truncated=truncated)
    return frame, info


def write_spec_snapshot(
    config: Config, path: Path, kind: str, spec: SnapshotSpec, *, as_zip: bool = False
) -> int:
    """Write ``path`` (+ ``.manifest.json``), or one zip holding both; return the row count."""
    engine = open_store(config.database.url, create=False)
    try:
        frame, info = build_snapshot(engine, config, kind, spec)
    finally:
        engine.dispose()
    if as_zip:
        csv_name = path.with_suffix(".csv").name
        data = snapshot_zip(csv_name, frame_to_csv(frame), manifest_json(info))
        write_bytes_atomic(path, data)
    else:
        write_snapshot(path, frame, info)
    return len(frame)


def export_articles(config: Config, path: Path, start: date | None, end: date | None) -> int:
    """Write the articles between two event dates (all when unset) and their manifest."""
    spec = SnapshotSpec.from_config(config)
    flt = replace(spec.query.flt, start=start, end=end)
    return write_spec_snapshot(config, path, "articles", replace(spec, query=ArticleQuery(flt=flt)))


def export_series(config: Config, path: Path, start: date | None, end: date | None) -> int:
    """Write the index series with the config's weights and their manifest."""
    spec = SnapshotSpec.from_config(config)
    flt = replace(spec.query.flt, start=start, end=end)
    return write_spec_snapshot(config, path, "series", replace(spec, query=ArticleQuery(flt=flt)))
