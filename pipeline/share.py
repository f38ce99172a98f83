"""The EPU-style share view (issue 5, items 1 and 11e).

Like the Economic Policy Uncertainty index (Baker, Bloom and Davis), count the relevant articles
whose risk on a signal is at least ``index.share_threshold`` and divide by *all* articles of the
period, so a flood of news does not read as rising risk.

Optionally each outlet's contribution is standardised first, as the EPU does: an outlet's share
series is divided by its own standard deviation over the whole range, the scaled series are averaged
across the outlets publishing in each period, and the result is normalised to a mean of 100 over
the periods shown. One loud outlet then cannot dominate the index.

An outlet whose share never varies (always 100 %, always 0 %, or a single period) has no standard
deviation of its own; dropping it would erase the periods where it was the risky voice, so it is
scaled by the mean standard deviation of the outlets that do vary (1 share point if none does).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from pipeline.coverage import period_starts

SHARE_SUFFIX = "_share"
COMPOSITE_SHARE = "composite_share"
SIGMA_FLOOR = 1e-9  # share points: a deviation below this is float noise, not variation


def _by_period(counts: pd.DataFrame, period: str) -> pd.DataFrame:
    keyed = counts.assign(period=period_starts(counts["day"], period))
    return keyed.drop(columns="day").groupby(["period", "source"]).sum()


def plain_shares(counts: pd.DataFrame, signals: list[str], period: str) -> pd.DataFrame:
    """Per period: percent of all articles that are relevant and above the threshold."""
    grouped = _by_period(counts, period).groupby(level="period").sum()
    total = grouped["articles"].astype(float)
    return grouped[signals].astype(float).div(total.where(total > 0), axis=0) * 100.0


def standardised_shares(
    counts: pd.DataFrame, signals: list[str], period: str, index: pd.DatetimeIndex | None = None
) -> pd.DataFrame:
    """Per period: outlet shares scaled to unit variance, averaged, normalised to mean 100.

    The mean is taken over the periods of ``index`` (the series shown) when given, so the line
    averages 100 exactly where the chart and the CSV show it; periods without articles stay gaps
    and do not count.
    """
    grouped = _by_period(counts, period)
    total = grouped["articles"].astype(float)
    out = {}
    for signal in signals:
        points = grouped[signal].astype(float) / total.where(total > 0) * 100.0
        share = points.unstack("source")
        mean = share.div(outlet_scales(share), axis=1).mean(axis=1, skipna=True)
        out[signal] = _mean_100(mean if index is None else mean.reindex(index))
    return pd.DataFrame(out)


def outlet_scales(share: pd.DataFrame) -> pd.Series:
    """Each outlet's (column's) standard deviation in share points over its periods.

    An outlet without variation of its own gets the mean deviation of the outlets that vary, or
    1 point if none does, so it still counts instead of dropping out (a division by zero).
    """
    sigma = share.std(axis=0, ddof=0)
    varies = sigma > SIGMA_FLOOR  # a constant 33.3 % share has a rounding-error sigma of 7e-15
    fallback = float(sigma[varies].mean()) if varies.any() else 1.0
    return sigma.where(varies, fallback)


def _mean_100(series: pd.Series) -> pd.Series:
    """``series`` scaled to average 100; all gaps when it averages 0 (nothing ever above)."""
    level = series.mean()
    if not (np.isfinite(level) and level > 0):
        return series * np.nan
    return series * (100.0 / level)


def share_frame(
    counts: pd.DataFrame,
    kinds: Mapping[str, str],
    weights: Mapping[str, float],
    period: str,
    standardise: bool = False,
    index: pd.DatetimeIndex | None = None,
) -> pd.DataFrame:
    """One row per period: ``<signal>_share`` per signal and the weighted ``composite_share``.

    With ``index`` the rows are exactly those periods (the series range), and the standardised
    view averages 100 over them.
    """
    signals = list(kinds)
    if counts.empty:
        columns = [f"{s}{SHARE_SUFFIX}" for s in signals] + [COMPOSITE_SHARE]
        empty = pd.DatetimeIndex([], name="period") if index is None else index
        return pd.DataFrame(np.nan, columns=columns, index=empty)
    if standardise:
        shares = standardised_shares(counts, signals, period, index)
    else:
        shares = plain_shares(counts, signals, period)
        shares = shares if index is None else shares.reindex(index)
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
