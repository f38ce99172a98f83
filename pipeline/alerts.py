"""Threshold crossings of the composite since a date (issue 5.8), for the CLI and the dashboard.

An alert is a period where the smoothed composite rises from at or below ``index.alert_threshold``
to above it. Alerts are computed with the config's weights, period and smoothing window over every
relevant article, so ``policy-risk alerts`` and the dashboard's Alerts page list the same ones.
Crossings in provisional periods are marked: late articles may still move them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipeline.config import Config
from pipeline.index import COMPOSITE, crossings

EXIT_NEW_ALERT = 3


@dataclass(frozen=True, slots=True)
class Alert:
    """One crossing of the alert threshold."""

    period: date
    value: float
    previous: float | None
    threshold: float
    provisional: bool

    def describe(self, period_name: str) -> str:
        """One line for the terminal or the dashboard list."""
        before = f"{self.previous:.3f}" if self.previous is not None else "no data"
        mark = " (provisional)" if self.provisional else ""
        return (
            f"{self.period.isoformat()} ({period_name}): composite {self.value:.3f} crossed "
            f"{self.threshold:.2f} (previous period {before}){mark}"
        )


def alerts_in(frame: pd.DataFrame, threshold: float, since: date | None = None) -> list[Alert]:
    """Crossings in a composed series (``snapshots.compose_series``) on or after ``since``.

    The whole series is scanned so the first period after ``since`` knows its predecessor.
    """
    if frame.empty:
        return []
    provisional = frame["provisional"] if "provisional" in frame.columns else None
    found = []
    for crossing in crossings(frame[f"{COMPOSITE}_smoothed"], threshold):
        when = crossing.period.date()
        if since is not None and when < since:
            continue
        flag = bool(provisional.get(crossing.period, False)) if provisional is not None else False
        found.append(Alert(when, crossing.value, crossing.previous, threshold, flag))
    return found


def config_alerts(frame: pd.DataFrame, config: Config, since: date | None = None) -> list[Alert]:
    """Crossings of the config's alert threshold in a series built with the config's settings."""
    return alerts_in(frame, config.index.alert_threshold, since)
