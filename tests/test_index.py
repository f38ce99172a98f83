"""Index math: periods, gaps, weighting, tone-to-risk, smoothing and crossings."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.index import composite, crossings, index_frame, period_table, signal_means

KINDS = {"risk": "risk", "tone": "tone"}


def _daily(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["day", "signal", "n", "total"])


def test_days_without_articles_are_gaps_not_zeros() -> None:
    daily = _daily([("2025-01-01", "risk", 2, 1.6), ("2025-01-04", "risk", 1, 0.2)])
    means = signal_means(period_table(daily, "day"), {"risk": "risk"})
    assert means["risk"].loc["2025-01-01"] == pytest.approx(0.8)
    assert math.isnan(means["risk"].loc["2025-01-02"])
    assert math.isnan(means["risk"].loc["2025-01-03"])
    assert means["risk"].loc["2025-01-04"] == pytest.approx(0.2)


def test_tone_turns_into_risk_as_one_minus_tone_over_two() -> None:
    daily = _daily(
        [
            ("2025-01-01", "tone", 2, -2.0),
            ("2025-01-02", "tone", 1, 1.0),
            ("2025-01-03", "tone", 1, 0.0),
        ]
    )
    means = signal_means(period_table(daily, "day"), {"tone": "tone"})
    assert means["tone"].tolist() == pytest.approx([1.0, 0.0, 0.5])


def test_week_and_month_periods_are_article_weighted() -> None:
    daily = _daily(
        [
            ("2025-01-06", "risk", 3, 3.0),
            ("2025-01-08", "risk", 1, 0.0),
            ("2025-02-03", "risk", 1, 0.5),
        ]
    )
    weekly = signal_means(period_table(daily, "week"), {"risk": "risk"})
    assert weekly["risk"].loc["2025-01-06"] == pytest.approx(0.75)
    monthly = signal_means(period_table(daily, "month"), {"risk": "risk"})
    assert monthly["risk"].loc["2025-01-01"] == pytest.approx(0.75)
    assert monthly["risk"].loc["2025-02-01"] == pytest.approx(0.5)


def test_composite_uses_weights_and_renormalises_over_present_signals() -> None:
    means = pd.DataFrame(
        {"risk": [0.8, 0.8, float("nan")], "tone": [0.2, float("nan"), float("nan")]}
    )
    result = composite(means, {"risk": 0.6, "tone": 0.4})
    assert result.iloc[0] == pytest.approx(0.6 * 0.8 + 0.4 * 0.2)
    assert result.iloc[1] == pytest.approx(0.8)
    assert math.isnan(result.iloc[2])


def test_changing_weights_changes_composite() -> None:
    means = pd.DataFrame({"risk": [0.9], "tone": [0.1]})
    assert composite(means, {"risk": 1.0, "tone": 0.0}).iloc[0] == pytest.approx(0.9)
    assert composite(means, {"risk": 0.0, "tone": 1.0}).iloc[0] == pytest.approx(0.1)
    assert math.isnan(composite(means, {"risk": 0.0, "tone": 0.0}).iloc[0])


def test_smoothing_is_a_rolling_article_weighted_mean() -> None:
    daily = _daily([("2025-01-01", "risk", 1, 1.0), ("2025-01-02", "risk", 3, 0.0)])
    frame = index_frame(daily, {"risk": "risk"}, {"risk": 1.0}, "day", 2)
    assert frame["risk_smoothed"].tolist() == pytest.approx([1.0, 0.25])
    assert frame["articles"].tolist() == [1, 3]


def test_crossings_mark_upward_moves_through_threshold_only() -> None:
    series = pd.Series(
        [0.2, 0.7, 0.8, float("nan"), 0.5, 0.9], index=pd.date_range("2025-01-01", periods=6)
    )
    found = crossings(series, 0.6)
    assert [c.period.date().isoformat() for c in found] == ["2025-01-02", "2025-01-06"]
    assert found[0].previous == pytest.approx(0.2)


def test_empty_input_gives_empty_frame() -> None:
    frame = index_frame(_daily([]), KINDS, {"risk": 0.5, "tone": 0.5})
    assert frame.empty
    assert "composite" in frame.columns
