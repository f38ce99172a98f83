"""Coverage per period, thin-coverage and provisional marks (issue 5, 11a and 11b).

A quiet week can mean calm, or that half the feeds were down. Each period therefore carries its
article count, how many distinct sources carried those articles (both within the series' filter),
and how many configured feeds succeeded in the runs of that period; periods below the coverage bar
are "thin" and get shaded on the charts.
The most recent ``provisional_days`` are "provisional": late articles are still arriving.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

PERIOD_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}
FEED_ERROR_PREFIX = "feed:"  # how ``pipeline.run`` names a failed feed in ``run_errors.source``
COVERAGE_COLUMNS = [
    "all_articles", "sources", "feeds_configured", "feeds_healthy", "thin", "provisional",
]  # fmt: skip


def period_start(day: date | pd.Timestamp, period: str) -> pd.Timestamp:
    """The first day of the period (day, Monday-start week, month) holding ``day``."""
    return period_starts([day], period)[0]


def period_starts(days: Sequence[date | pd.Timestamp] | pd.Series, period: str) -> pd.DatetimeIndex:
    """``period_start`` of every day at once (10,000 share rows took 0.2 s one by one)."""
    ts = pd.DatetimeIndex(pd.to_datetime(list(days))).normalize()
    if period == "week":
        return ts - pd.to_timedelta(ts.day_of_week, unit="D")
    if period == "month":
        return ts - pd.to_timedelta(ts.day - 1, unit="D")
    return ts


def period_end(start: pd.Timestamp, period: str) -> pd.Timestamp:
    """The last day of the period that begins on ``start``."""
    if period == "week":
        return start + pd.Timedelta(days=6)
    if period == "month":
        return start + pd.offsets.MonthEnd(0)
    return start


def _per_period(frame: pd.DataFrame, period: str, index: pd.DatetimeIndex) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(index=index)
    keyed = frame.assign(period=period_starts(frame["day"], period))
    return keyed.drop(columns="day").groupby("period").sum().reindex(index)


def feed_health_per_period(
    runs: pd.DataFrame,
    errors: pd.DataFrame,
    feed_names: Sequence[str],
    period: str,
    index: pd.DatetimeIndex,
) -> pd.Series:
    """Configured feeds that did not fail in any run of the period (NaN where nothing ran).

    A failed feed is stored as ``feed:<name>`` in ``errors["source"]``; the other error sources
    (seed files and folders) never count against a feed.
    """
    healthy = pd.Series(np.nan, index=index, dtype=float)
    names = set(feed_names)
    if not names or runs.empty:
        return healthy
    started = pd.to_datetime(runs["started_at"], utc=True, format="mixed")
    run_period = pd.Series(period_starts(started.dt.tz_convert(None), period), index=runs["run_id"])
    failed = errors.assign(feed=failed_feed_names(errors["source"]))
    failed = failed[failed["feed"].isin(names)].copy()
    failed["period"] = failed["run_id"].map(run_period)
    broken = failed.groupby("period")["feed"].nunique()
    for when in set(run_period) & set(index):
        healthy[when] = len(names) - int(broken.get(when, 0))
    return healthy


def failed_feed_names(sources: pd.Series) -> pd.Series:
    """The feed name behind each ``feed:<name>`` error source; NaN for any other source."""
    text = sources.astype("string")
    named = text.str.startswith(FEED_ERROR_PREFIX).fillna(False).astype(bool)
    return text.str.slice(len(FEED_ERROR_PREFIX)).where(named)


def coverage_frame(
    daily: pd.DataFrame,
    runs: pd.DataFrame,
    errors: pd.DataFrame,
    feed_names: Sequence[str],
    period: str,
    index: pd.DatetimeIndex,
) -> pd.DataFrame:
    """Per period of ``index``: stored articles, distinct sources, feeds configured and healthy.

    Args:
        daily: ``day, source, articles`` per event day and source, for the same filter as the
            rest of the series (``insights.daily_coverage``), so a period's sources are its
            distinct outlets, not a sum or maximum of daily counts.
    """
    out = pd.DataFrame(index=index)
    out["all_articles"] = _per_period_articles(daily, period, index)
    out["sources"] = _distinct_sources(daily, period, index)
    out["feeds_configured"] = len(feed_names)
    out["feeds_healthy"] = feed_health_per_period(runs, errors, feed_names, period, index)
    return out


def _per_period_articles(daily: pd.DataFrame, period: str, index: pd.DatetimeIndex) -> pd.Series:
    if daily.empty:
        return pd.Series(0, index=index, dtype=int)
    counts = _per_period(daily[["day", "articles"]], period, index)["articles"]
    return counts.fillna(0).astype(int)


def _distinct_sources(daily: pd.DataFrame, period: str, index: pd.DatetimeIndex) -> pd.Series:
    if daily.empty:
        return pd.Series(0, index=index, dtype=int)
    keyed = daily.assign(period=period_starts(daily["day"], period))
    seen = keyed[keyed["articles"] > 0].groupby("period")["source"].nunique()
    return seen.reindex(index).fillna(0).astype(int)


def thin_mask(
    coverage: pd.DataFrame, articles: pd.Series, min_articles: int, ratio: float
) -> pd.Series:
    """True where a period's relevant articles fall below the bar, or most feeds failed.

    The bar is the larger of ``min_articles`` and ``ratio`` times the median of the non-empty
    periods, so a news desert reads as thin rather than calm.
    """
    counts = articles.reindex(coverage.index).fillna(0)
    nonzero = counts[counts > 0]
    median = float(nonzero.median()) if not nonzero.empty else 0.0
    bar = max(float(min_articles), ratio * median)
    thin = counts < bar
    configured = coverage["feeds_configured"].astype(float)
    share = coverage["feeds_healthy"] / configured.where(configured > 0)
    return (thin | (share < 0.5)).astype(bool)


def provisional_mask(index: pd.DatetimeIndex, period: str, today: date, days: int) -> pd.Series:
    """True for periods that reach into the last ``days`` days up to ``today`` (or later)."""
    if days <= 0:
        return pd.Series(False, index=index, dtype=bool)
    first = pd.Timestamp(today - timedelta(days=days - 1))
    ends = [period_end(p, period) for p in index]
    return pd.Series([end >= first for end in ends], index=index, dtype=bool)


def spans(mask: pd.Series, period: str) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Merge consecutive True periods into ``(first day, day after the last)`` spans."""
    found: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    start: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    for when, flag in mask.items():
        stamp = pd.Timestamp(when)
        if flag and start is None:
            start = stamp
        if not flag and start is not None and last is not None:
            found.append((start, period_end(last, period) + pd.Timedelta(days=1)))
            start = None
        last = stamp
    if start is not None and last is not None:
        found.append((start, period_end(last, period) + pd.Timedelta(days=1)))
    return found
