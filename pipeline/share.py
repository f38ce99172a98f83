"""The EPU-style share view (issue 5, items 1 and 11e).

Like the Economic Policy Uncertainty index (Baker, Bloom and Davis), count the relevant articles
whose risk on a signal is at least ``index.share_threshold`` and divide by *all* articles of the
period, so a flood of news does not read as rising risk.

Optionally each outlet's contribution is standardised first, as the EPU does: an outlet's share
series is divided by its own standard deviation over the whole range, the scaled series are averaged
across the outlets publishing in each period, and the result is normalised to a mean of 100. One
loud outlet then cannot dominate the index.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.coverage import period_starts

SHARE_SUFFIX = "_share"
COMPOSITE_SHARE = "composite_share"


def _by_period(counts: pd.DataFrame, period: str) -> pd.DataFrame:
    keyed = counts.assign(period=period_starts(counts["day"], period))
    return keyed.drop(columns="day").groupby(["period", "source"]).sum()


def plain_shares(counts: pd.DataFrame, signals: list[str], period: str) -> pd.DataFrame:
    """Per period: percent of all articles that are relevant and above the threshold."""
    grouped = _by_period(counts, period).groupby(level="period").sum()
    total = grouped["articles"].astype(float)
    return grouped[signals].astype(float).div(total.where(total > 0), axis=0) * 100.0


def standardised_shares(counts: pd.DataFrame, signals: list[str], period: str) -> pd.DataFrame:
    """Per period: outlet shares scaled to unit variance, averaged, normalised to mean 100."""
    grouped = _by_period(counts, period)
    total = grouped["articles"].astype(float)
    out = {}
    for signal in signals:
        share = (grouped[signal].astype(float) / total.where(total > 0)).unstack("source")
        sigma = share.std(axis=0, ddof=0)
        scaled = share.div(sigma.where(sigma > 0), axis=1)
        mean = scaled.mean(axis=1, skipna=True)
        level = mean.mean()
        out[signal] = mean * (100.0 / level) if level and np.isfinite(level) else mean * np.nan
    return pd.DataFrame(out)


def share_frame(
    counts: pd.DataFrame,
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    period: str,
    standardise: bool = False,
) -> pd.DataFrame:
    """One row per period: ``<signal>_share`` per signal and the weighted ``composite_share``."""
    signals = list(kinds)
    if counts.empty:
        columns = [f"{s}{SHARE_SUFFIX}" for s in signals] + [COMPOSITE_SHARE]
        return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="period"))
    shares = (standardised_shares if standardise else plain_shares)(counts, signals, period)
    w = pd.Series({s: float(weights.get(s, 0.0)) for s in signals})
    present = shares.notna()
    numerator = shares.fillna(0.0).mul(w, axis=1).sum(axis=1)
    denominator = present.mul(w.abs(), axis=1).sum(axis=1)
    frame = shares.rename(columns={s: f"{s}{SHARE_SUFFIX}" for s in signals})
    frame[COMPOSITE_SHARE] = numerator / denominator.where(denominator > 0)
    frame.index = pd.DatetimeIndex(frame.index, name="period")
    return frame


def share_unit(standardise: bool) -> str:
    """The y-axis label for the share view."""
    return "Index (mean of the range = 100)" if standardise else "% of all articles"
