"""Coverage per period, thin and provisional marks, shaded spans, and the yearly calendar."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.config import Annotation, YearlyAnnotation
from pipeline.coverage import (
    coverage_frame,
    feed_health_per_period,
    period_end,
    period_start,
    period_starts,
    provisional_mask,
    spans,
    thin_mask,
)
from pipeline.events import chart_annotations, yearly_dates


def _days(*values: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(v) for v in values], name="period")


@pytest.mark.parametrize(
    ("period", "day", "start", "end"),
    [
        ("day", "2025-09-17", "2025-09-17", "2025-09-17"),
        ("week", "2025-09-17", "2025-09-15", "2025-09-21"),
        ("month", "2025-02-17", "2025-02-01", "2025-02-28"),
    ],
)
def test_period_bounds(period: str, day: str, start: str, end: str) -> None:
    first = period_start(pd.Timestamp(day), period)
    assert first == pd.Timestamp(start)
    assert period_end(first, period) == pd.Timestamp(end)


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_period_starts_equal_period_start_of_each_day(period: str) -> None:
    days = [date(2023, 12, 25) + timedelta(days=n) for n in range(0, 800, 3)]
    days += [pd.Timestamp("2024-02-29 17:45"), date(2025, 1, 1)]  # a time of day; a repeat
    got = period_starts(pd.Series(days, dtype=object), period)
    assert list(got) == [period_start(d, period) for d in days]
    # the rule itself, written out (period_start is period_starts of one day)
    plain = [pd.Timestamp(d.year, d.month, d.day) for d in days]
    rule = {
        "day": plain,
        "week": [t - pd.Timedelta(days=t.weekday()) for t in plain],
        "month": [t.replace(day=1) for t in plain],
    }[period]
    assert list(got) == rule
    assert period_starts([], period).empty


def test_coverage_frame_counts_articles_sources_and_feeds() -> None:
    daily = pd.DataFrame(  # per day and source, as insights.daily_coverage gives it
        {
            "day": [date(2025, 9, 1), date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 9)],
            "source": ["Wire A", "Wire B", "Wire C", "Wire A"],
            "articles": [3, 1, 6, 2],
        }
    )
    runs = pd.DataFrame({"run_id": [1, 2], "started_at": ["2025-09-02 10:00", "2025-09-10 10:00"]})
    errors = pd.DataFrame(  # as pipeline.run stores them: a failed feed is "feed:<name>"
        {
            "run_id": [1, 1, 1, 2],
            "source": ["feed:Wire A", "seeds/x.txt", "feed:Gone", "feed:Wire B"],
        }
    )
    index = _days("2025-09-01", "2025-09-08", "2025-09-15")
    frame = coverage_frame(daily, runs, errors, ["Wire A", "Wire B"], "week", index)
    assert frame["all_articles"].tolist() == [10, 2, 0]
    assert frame["sources"].tolist() == [3, 1, 0]
    assert frame["feeds_configured"].tolist() == [2, 2, 2]
    assert frame["feeds_healthy"].tolist()[:2] == [1, 1]  # only configured feeds count
    assert np.isnan(frame["feeds_healthy"].iloc[2])  # nothing ran that week: unknown


def test_coverage_frame_counts_each_outlet_of_a_period_once() -> None:
    """Sources are the period's distinct outlets: one outlet a day over a week is 3, not the
    busiest day's 1 (QA5 #4), and an outlet on two days is 1, not 2."""
    days = [date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 3), date(2025, 9, 4)]
    daily = pd.DataFrame(
        {"day": days, "source": ["A", "B", "C", "A"], "articles": [1, 2, 1, 1]}
    )
    empty = pd.DataFrame({"run_id": [], "started_at": [], "source": []})
    weeks = coverage_frame(daily, empty, empty, [], "week", _days("2025-09-01"))
    assert weeks[["all_articles", "sources"]].values.tolist() == [[5, 3]]
    months = coverage_frame(daily, empty, empty, [], "month", _days("2025-09-01"))
    assert months["sources"].tolist() == [3]
    days_index = _days("2025-09-01", "2025-09-04", "2025-09-05")
    per_day = coverage_frame(daily, empty, empty, [], "day", days_index)
    assert per_day[["all_articles", "sources"]].values.tolist() == [[1, 1], [1, 1], [0, 0]]


def test_feed_health_reads_the_stored_feed_prefix_only() -> None:
    runs = pd.DataFrame({"run_id": [1], "started_at": ["2025-09-02T10:00:00+00:00"]})
    index = _days("2025-09-01")
    stored = pd.DataFrame({"run_id": [1, 1, 1], "source": ["feed:A", "feed:B", "feed:B"]})
    assert feed_health_per_period(runs, stored, ["A", "B", "C"], "week", index).tolist() == [1]
    # a seed file that happens to share a feed's name is not that feed failing
    seeds = pd.DataFrame({"run_id": [1], "source": ["A"]})
    assert feed_health_per_period(runs, seeds, ["A", "B"], "week", index).tolist() == [2]
    # a name repeated in the list is one feed
    assert feed_health_per_period(runs, stored, ["A", "A", "C"], "week", index).tolist() == [1]


def test_feed_health_is_unknown_without_feeds_or_runs() -> None:
    index = _days("2025-09-01")
    empty = pd.DataFrame({"run_id": [], "started_at": []})
    assert feed_health_per_period(empty, empty, ["Wire"], "day", index).isna().all()
    assert feed_health_per_period(empty, empty, [], "day", index).isna().all()


def test_thin_mask_uses_min_articles_median_share_and_feed_health() -> None:
    index = _days("2025-09-01", "2025-09-02", "2025-09-03", "2025-09-04", "2025-09-05")
    coverage = pd.DataFrame(
        {"feeds_configured": 4, "feeds_healthy": [4, 4, 4, 1, np.nan]}, index=index
    )
    articles = pd.Series([40, 38, 5, 40, 0], index=index)
    thin = thin_mask(coverage, articles, min_articles=1, ratio=0.25)
    assert thin.tolist() == [False, False, True, True, True]
    assert not thin_mask(coverage.assign(feeds_healthy=4), articles, 1, 0.0).iloc[2]


def test_provisional_marks_the_most_recent_days() -> None:
    index = _days("2025-09-20", "2025-09-21", "2025-09-22")
    mask = provisional_mask(index, "day", date(2025, 9, 22), 2)
    assert mask.tolist() == [False, True, True]
    assert not provisional_mask(index, "day", date(2025, 9, 22), 0).any()
    weeks = _days("2025-09-08", "2025-09-15")
    assert provisional_mask(weeks, "week", date(2025, 9, 16), 1).tolist() == [False, True]


def test_spans_merge_consecutive_periods() -> None:
    index = _days("2025-09-01", "2025-09-02", "2025-09-03", "2025-09-04", "2025-09-05")
    mask = pd.Series([True, True, False, True, False], index=index)
    assert spans(mask, "day") == [
        (pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-03")),
        (pd.Timestamp("2025-09-04"), pd.Timestamp("2025-09-05")),
    ]
    months = pd.Series([True], index=_days("2025-02-01"))
    assert spans(months, "month") == [(pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01"))]


def test_yearly_dates_for_each_year_in_range() -> None:
    yearly = [
        YearlyAnnotation(month=9, day=15, label="Majors list"),
        YearlyAnnotation(month=3, day=1, label="INCSR"),
    ]
    found = yearly_dates(yearly, date(2024, 6, 1), date(2026, 3, 1))
    assert [(n.date, n.label) for n in found] == [
        (date(2024, 9, 15), "Majors list"),
        (date(2025, 3, 1), "INCSR"),
        (date(2025, 9, 15), "Majors list"),
        (date(2026, 3, 1), "INCSR"),
    ]


def test_configured_annotations_win_over_nearby_yearly_ones() -> None:
    fixed = [Annotation(date=date(2025, 9, 15), label="Colombia decertified with waiver")]
    yearly = [YearlyAnnotation(month=9, day=15, label="Majors list")]
    notes = chart_annotations(fixed, yearly, date(2024, 1, 1), date(2025, 12, 31))
    assert [n.label for n in notes] == ["Majors list", "Colombia decertified with waiver"]
    off = chart_annotations(
        fixed, yearly, date(2024, 1, 1), date(2025, 12, 31), include_yearly=False
    )
    assert [n.label for n in off] == ["Colombia decertified with waiver"]


def test_index_config_keys_for_the_dashboard(tmp_path: Path) -> None:
    from pipeline.config import load_config
    from pipeline.errors import ConfigError
    from tests.conftest import write_config

    config = load_config(write_config(tmp_path))
    assert [e.month for e in config.index.yearly_annotations] == [9, 3]
    assert config.index.thin_coverage_ratio == 0.25 and config.index.share_threshold == 0.5
    off = load_config(write_config(tmp_path, extra="  yearly_annotations: []"))
    assert off.index.yearly_annotations == []
    bad = write_config(tmp_path, extra="  yearly_annotations: [{month: 2, day: 30, label: x}]")
    with pytest.raises(
        ConfigError, match="index.yearly_annotations.0.day: expected a number of at most 28"
    ):
        load_config(bad)
