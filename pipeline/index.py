"""The index math: per-period signal means, smoothing, the weighted composite, and alerts.

Input is per-day sums from SQL (``day, signal, n, total``), so nothing here loops over articles.
Every signal is first put on a risk scale in [0, 1]: a risk signal is its mean probability, a
tone signal becomes ``(1 - tone) / 2`` (fully cooperative 0, fully conflictual 1). The composite is
``sum(w_s * risk_s) / sum(|w_s|)`` over the signals that have data in that period. Periods without
articles are gaps (NaN), never zeros. See docs/index.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

COMPOSITE = "composite"
_FREQ = {"day": "D", "week": "W-MON", "month": "MS"}


@dataclass(frozen=True, slots=True)
class Crossing:
    """A period where the smoothed composite rose above the alert threshold."""

    period: pd.Timestamp
    value: float
    previous: float | None


def to_risk(mean_value: pd.Series, kind: str) -> pd.Series:
    """Put a signal's mean on the shared risk scale."""
    return (1.0 - mean_value) / 2.0 if kind == "tone" else mean_value


def period_table(daily: pd.DataFrame, period: str) -> pd.DataFrame:
    """Sum per-day counts and totals into periods: columns (n, total) per signal, gaps kept.

    Args:
        daily: rows of ``day, signal, n, total`` as returned by ``queries.daily_signal_stats``.
        period: ``day``, ``week`` (weeks start on Monday) or ``month``.
    """
    if daily.empty:
        return pd.DataFrame()
    frame = daily.assign(day=pd.to_datetime(daily["day"]))
    wide = frame.pivot_table(index="day", columns="signal", values=["n", "total"], aggfunc="sum")
    full = pd.date_range(wide.index.min(), wide.index.max(), freq="D")
    wide = wide.reindex(full)
    grouped = wide.resample(_FREQ[period], label="left", closed="left")
    sums = grouped.sum(min_count=1)
    sums.index.name = "period"
    return sums


def signal_means(table: pd.DataFrame, kinds: Mapping[str, str], window: int = 1) -> pd.DataFrame:
    """Article-weighted mean risk per signal and period; ``window`` > 1 smooths over periods."""
    out = {}
    for signal, kind in kinds.items():
        if ("n", signal) not in table.columns:
            out[signal] = pd.Series(np.nan, index=table.index)
            continue
        n = table[("n", signal)].astype(float)
        total = table[("total", signal)].astype(float)
        if window > 1:
            n = n.rolling(window, min_periods=1).sum()
            total = total.rolling(window, min_periods=1).sum()
        mean = total / n.where(n > 0)
        out[signal] = to_risk(mean, kind)
    return pd.DataFrame(out, index=table.index)


def composite(means: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of the signals' risks, renormalised over the signals present each period."""
    columns = [s for s in weights if s in means.columns]
    if not columns:
        return pd.Series(np.nan, index=means.index, name=COMPOSITE)
    values = means[columns]
    w = pd.Series({s: float(weights[s]) for s in columns})
    present = values.notna()
    numerator = values.fillna(0.0).mul(w, axis=1).sum(axis=1)
    denominator = present.mul(w.abs(), axis=1).sum(axis=1)
    result = numerator / denominator.where(denominator > 0)
    return result.rename(COMPOSITE)


def index_frame(
    daily: pd.DataFrame,
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    period: str = "day",
    window: int = 7,
) -> pd.DataFrame:
    """One row per period: each signal's risk, the composite, its smoothed line, and volume."""
    table = period_table(daily, period)
    if table.empty:
        columns = [*kinds, COMPOSITE, f"{COMPOSITE}_smoothed", "articles"]
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="period"))
    raw = signal_means(table, kinds)
    smoothed = signal_means(table, kinds, window)
    frame = raw.copy()
    frame[COMPOSITE] = composite(raw, weights)
    frame[f"{COMPOSITE}_smoothed"] = composite(smoothed, weights)
    for signal in kinds:
        frame[f"{signal}_smoothed"] = smoothed[signal]
    counts = [table[("n", s)] for s in kinds if ("n", s) in table.columns]
    frame["articles"] = pd.concat(counts, axis=1).max(axis=1).fillna(0).astype(int)
    return frame


def crossings(series: pd.Series, threshold: float) -> list[Crossing]:
    """Periods where the series goes from at or below the threshold to above it (gaps skipped)."""
    values = series.dropna()
    found: list[Crossing] = []
    previous: float | None = None
    for period, value in values.items():
        if value > threshold and (previous is None or previous <= threshold):
            found.append(Crossing(pd.Timestamp(period), float(value), previous))
        previous = float(value)
    return found
