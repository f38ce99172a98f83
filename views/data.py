"""Cached reads for the dashboard pages, and the settings every page shares.

Each cached function takes the database URL and the store *stamp* (``insights.store_stamp``):
the stamp changes whenever the pipeline or an analyst writes, which starts a new cache entry, so
pages never show stale data and never re-run SQL while nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from pipeline import db, insights, queries
from pipeline.config import Config
from pipeline.errors import StoreError
from pipeline.insights import ArticleQuery
from pipeline.snapshots import (
    SeriesInputs,
    SnapshotSpec,
    compose_series,
    model_versions,
    signal_kinds,
)
from pipeline.store import open_store


@st.cache_resource(show_spinner=False)
def engine(url: str) -> Engine:
    """One engine per database URL for the whole server (never creates a schema)."""
    return open_store(url, create=False)


@dataclass(frozen=True)
class View:
    """What the sidebar decided: config, store stamp, filter, weights and index settings."""

    config: Config
    url: str
    stamp: str
    summary: dict[str, Any]
    flt: queries.ArticleFilter
    weights: dict[str, float]
    period: str
    window: int

    @property
    def engine(self) -> Engine:
        """The store engine."""
        return engine(self.url)

    def spec(self, **changes: Any) -> SnapshotSpec:
        """The snapshot spec of what the overview shows (``changes`` override fields)."""
        base = SnapshotSpec(
            query=ArticleQuery(flt=self.flt),
            weights=dict(self.weights),
            period=self.period,
            window=self.window,
        )
        return replace(base, **changes)


def stamp(url: str) -> str:
    """The store stamp (a few tiny queries; not cached, it is what the caches are keyed on).

    First checks the schema revision again: the engine is opened once per server, and a store
    upgraded (or replaced) under a running dashboard must get the one-line message a fresh
    start would give, not SQL errors from queries written for another schema.
    """
    reason = db.refusal_now(engine(url), url)
    if reason:
        raise StoreError(reason)
    return insights.store_stamp(engine(url))


@st.cache_data(show_spinner=False, max_entries=64)
def summary(url: str, stamp: str) -> dict[str, Any]:
    """Counts and freshness of the store."""
    return queries.store_summary(engine(url))


@st.cache_data(show_spinner=False, max_entries=64)
def choices(url: str, stamp: str) -> tuple[list[str], list[str]]:
    """Every source and language in the store, for the filter lists."""
    return queries.list_sources(engine(url)), insights.list_languages(engine(url))


@st.cache_data(show_spinner=False, max_entries=64)
def daily(
    url: str, stamp: str, signals: tuple[str, ...], flt: queries.ArticleFilter
) -> pd.DataFrame:
    """Per-day signal sums for the filter (the overview's only per-filter query)."""
    return queries.daily_signal_stats(engine(url), list(signals), flt)


@st.cache_data(show_spinner=False, max_entries=64)
def run_history(url: str, stamp: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run history, for feed health per period (the same for every filter)."""
    return insights.run_history(engine(url))


@st.cache_data(show_spinner=False, max_entries=64)
def sources_per_day(url: str, stamp: str, flt: queries.ArticleFilter) -> pd.DataFrame:
    """Articles per day and source within the filter, for coverage per period."""
    return insights.daily_coverage(engine(url), flt)


@st.cache_data(show_spinner=False, max_entries=64)
def shares(
    url: str, stamp: str, kinds: tuple[tuple[str, str], ...], flt: queries.ArticleFilter, at: float
) -> pd.DataFrame:
    """Share counts per day and source for the EPU-style view."""
    return insights.share_counts(engine(url), dict(kinds), flt, at)


def series(view: View, spec: SnapshotSpec, today: date | None = None) -> pd.DataFrame:
    """The composed series for a spec (cached too: composing costs ~0.1 s a run on 1M articles)."""
    return composed(view.url, view.stamp, view.config, spec, today or date.today())


@st.cache_data(show_spinner=False, max_entries=64)
def composed(url: str, stamp: str, config: Config, spec: SnapshotSpec, today: date) -> pd.DataFrame:
    """The series for a spec from the cached SQL results (``today`` places the provisional mark)."""
    kinds = signal_kinds(config)
    runs, errors = run_history(url, stamp)
    counts = None
    if spec.view == "share":
        counts = shares(
            url, stamp, tuple(kinds.items()), spec.query.flt, config.index.share_threshold
        )
    inputs = SeriesInputs(
        daily=daily(url, stamp, tuple(config.signals), spec.query.flt),
        coverage=sources_per_day(url, stamp, spec.query.flt),
        runs=runs,
        errors=errors,
        shares=counts,
    )
    return compose_series(inputs, config, spec, today)


@st.cache_data(show_spinner=False, max_entries=64)
def articles(
    url: str, stamp: str, signals: tuple[str, ...], query: ArticleQuery, limit: int
) -> pd.DataFrame:
    """The article list for a query (one row more than ``limit`` tells truncation)."""
    return insights.article_rows(engine(url), list(signals), query, limit=limit)


@st.cache_data(show_spinner=False, max_entries=64)
def contributors(
    url: str,
    stamp: str,
    kinds: tuple[tuple[str, str], ...],
    weights: tuple[tuple[str, float], ...],
    flt: queries.ArticleFilter,
    span: tuple[date, date],
    baseline: float | None = None,
) -> pd.DataFrame:
    """The articles that moved a span's composite most from ``baseline`` (the previous period's;
    None ranks them by their own composite, as the Compare page's lists do)."""
    return insights.top_contributors(
        engine(url), dict(kinds), dict(weights), flt, span, baseline=baseline
    )


@st.cache_data(show_spinner=False, max_entries=64)
def contribution_count(
    url: str,
    stamp: str,
    kinds: tuple[tuple[str, str], ...],
    weights: tuple[tuple[str, float], ...],
    flt: queries.ArticleFilter,
    span: tuple[date, date],
) -> int:
    """The span's articles with a composite, which divide the contributors' distances."""
    return insights.contribution_count(engine(url), dict(kinds), dict(weights), flt, span)


@st.cache_data(show_spinner=False, max_entries=64)
def versions(url: str, stamp: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """Model versions behind the current scores (table, and per signal for manifests)."""
    return queries.model_versions_in_store(engine(url)), model_versions(engine(url))


@st.cache_data(show_spinner=False, max_entries=64)
def sources_page(url: str, stamp: str) -> dict[str, pd.DataFrame]:
    """Feed health, articles per source, recent runs and errors."""
    eng = engine(url)
    return {
        "feeds": insights.feed_table(eng),
        "per_source": insights.articles_per_source(eng),
        "runs": queries.recent_runs(eng),
        "errors": queries.run_errors(eng),
    }


def detail(url: str, article_id: str) -> dict[str, Any] | None:
    """One article with scores, sources and label history (not cached: labels change it)."""
    return queries.article_detail(engine(url), article_id)
