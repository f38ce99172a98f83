"""Threshold crossings of the composite since a date (issue 5.8), for the CLI and the dashboard.

An alert is a period where the smoothed composite rises from at or below ``index.alert_threshold``
to above it. Alerts are computed with the config's weights, period and smoothing window over every
relevant article, so ``policy-risk alerts`` and the dashboard's Alerts page list the same ones.
Crossings in provisional periods are marked: late articles may still move them.

"Since a date" means periods that *end* on or after it (QA5 #6): a weekly or monthly crossing
belongs to the period's first day, but the news behind it may come days later, so a daily
``alerts --since yesterday`` must still see the period that is going on. The same crossing is
therefore reported on every run until the day after its period ends: while the period is open
the composite is still above the threshold, and the value may change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipeline.config import Config
from pipeline.coverage import period_end
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
    end: date  # the period's last day; ``since`` compares with it

    def describe(self, period_name: str) -> str:
        """One line for the terminal or the dashboard list."""
        before = f"{self.previous:.3f}" if self.previous is not None else "no data"
        mark = " (provisional)" if self.provisional else ""
        return (
            f"{self.period.isoformat()} ({period_name}): composite {self.value:.3f} crossed "
            f"{self.threshold:.2f} (previous period {before}){mark}"
        )


def alerts_in(
    frame: pd.DataFrame, threshold: float, since: date | None = None, period: str = "day"
) -> list[Alert]:
    """Crossings in a composed series (``snapshots.compose_series``) of ``period`` periods whose
    period ends on or after ``since``, so the period still going on counts.

    The whole series is scanned so the first period after ``since`` knows its predecessor.
    """
    if frame.empty:
        return []
    provisional = frame["provisional"] if "provisional" in frame.columns else None
    found = []
    for crossing in crossings(frame[f"{COMPOSITE}_smoothed"], threshold):
        end = period_end(crossing.period, period).date()
        if since is not None and end < since:
            continue
        flag = bool(provisional.get(crossing.period, False)) if provisional is not None else False
        found.append(
            Alert(crossing.period.date(), crossing.value, crossing.previous, threshold, flag, end)
        )
    return found


def config_alerts(frame: pd.DataFrame, config: Config, since: date | None = None) -> list[Alert]:
    """Crossings of the config's alert threshold in a series built with the config's settings."""
    return alerts_in(frame, config.index.alert_threshold, since, config.index.period)
