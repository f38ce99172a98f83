"""The EPU-style share view: normalised by all articles, optionally standardised per outlet."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.share import share_frame, share_unit

KINDS = {"decertification_risk": "risk", "cooperation_tone": "tone"}


def _counts() -> pd.DataFrame:
    # Loud outlet: 100 articles a day; quiet outlet: 10. Both double their risky share on day 2.
    return pd.DataFrame(
        {
            "day": [date(2025, 9, 1), date(2025, 9, 1), date(2025, 9, 2), date(2025, 9, 2)],
            "source": ["Loud", "Quiet", "Loud", "Quiet"],
            "articles": [100, 10, 100, 10],
            "decertification_risk": [10, 1, 20, 2],
            "cooperation_tone": [0, 0, 0, 5],
        }
    )


def test_plain_share_is_percent_of_all_articles() -> None:
    frame = share_frame(
        _counts(), KINDS, {"decertification_risk": 1.0, "cooperation_tone": 0.0}, "day"
    )
    assert frame["decertification_risk_share"].tolist() == pytest.approx([10.0, 20.0])
    assert frame["cooperation_tone_share"].tolist() == pytest.approx([0.0, 5 / 110 * 100])
    assert frame["composite_share"].tolist() == pytest.approx([10.0, 20.0])


def test_a_news_flood_does_not_read_as_rising_risk() -> None:
    counts = _counts()
    flood = counts.assign(
        articles=counts["articles"] * [1, 1, 5, 5],
        decertification_risk=counts["decertification_risk"] * [1, 1, 5, 5],
    )
    weights = {"decertification_risk": 1.0, "cooperation_tone": 0.0}
    before = share_frame(counts, KINDS, weights, "day")["decertification_risk_share"]
    after = share_frame(flood, KINDS, weights, "day")["decertification_risk_share"]
    assert after.tolist() == pytest.approx(before.tolist())


def test_standardised_shares_weigh_outlets_equally_and_average_100() -> None:
    counts = _counts()
    counts.loc[counts["source"] == "Loud", "decertification_risk"] = [10, 90]  # one loud swing
    weights = {"decertification_risk": 1.0, "cooperation_tone": 0.0}
    frame = share_frame(counts, KINDS, weights, "day", standardise=True)
    values = frame["decertification_risk_share"]
    assert values.mean() == pytest.approx(100.0)
    # Loud: shares 0.1, 0.9 (sd 0.4) -> 0.25, 2.25; quiet: 0.1, 0.2 (sd 0.05) -> 2, 4.
    # Means 1.125 and 3.125, scaled to average 100.
    assert values.tolist() == pytest.approx([1.125 / 2.125 * 100, 3.125 / 2.125 * 100])
    plain = share_frame(counts, KINDS, weights, "day")["decertification_risk_share"]
    assert plain.iloc[1] / plain.iloc[0] > values.iloc[1] / values.iloc[0]


def _outlets(rows: list[tuple[int, str, int, int]]) -> pd.DataFrame:
    """``(day of September 2025, outlet, articles, risky)`` rows as share counts."""
    return pd.DataFrame(
        {
            "day": [date(2025, 9, d) for d, _, _, _ in rows],
            "source": [o for _, o, _, _ in rows],
            "articles": [n for _, _, n, _ in rows],
            "decertification_risk": [r for _, _, _, r in rows],
            "cooperation_tone": 0,
        }
    )


RISK_ONLY = {"decertification_risk": 1.0, "cooperation_tone": 0.0}


def test_an_outlet_with_a_constant_share_still_counts() -> None:
    # Steady: one article, risky (a single period: sigma 0). Varied: 0 %, 50 %, 0 % (sigma 23.57 points).
    counts = _outlets(
        [(1, "Steady", 1, 1), (1, "Varied", 1, 0), (2, "Varied", 2, 1), (3, "Varied", 1, 0)]
    )
    plain = share_frame(counts, KINDS, RISK_ONLY, "day")["decertification_risk_share"]
    assert plain.iloc[0] == pytest.approx(50.0)  # half the articles of day 1 were risky
    frame = share_frame(counts, KINDS, RISK_ONLY, "day", standardise=True)
    # Steady is scaled by Varied's sigma: day 1 = (100 + 0) / 2 / s, day 2 = 50 / s, day 3 = 0.
    assert frame["decertification_risk_share"].tolist() == pytest.approx([150.0, 150.0, 0.0])
    assert frame["composite_share"].tolist() == pytest.approx([150.0, 150.0, 0.0])


def test_float_noise_in_a_constant_share_is_not_variation() -> None:
    # Third: 1 of 3 risky on each of 7 days; its sigma comes out as 7e-15, not 0, in floating
    # point. Dividing by that would let Third swamp the index at 1e15 times the others.
    varied = [0, 1, 0, 0, 0, 0, 0]  # Varied: 1 of 2 risky on day 2 only
    counts = _outlets(
        [(d, "Third", 3, 1) for d in range(1, 8)]
        + [(d, "Varied", 2, r) for d, r in zip(range(1, 8), varied, strict=True)]
    )
    values = share_frame(counts, KINDS, RISK_ONLY, "day", standardise=True)
    s = float(np.std([50.0 * r for r in varied]))  # Varied's sigma; Third is scaled by it
    days = [(100 / 3 + 50 * r) / s / 2 for r in varied]
    expected = [d / (sum(days) / len(days)) * 100 for d in days]
    assert values["decertification_risk_share"].tolist() == pytest.approx(expected)


def test_outlets_without_variation_are_scaled_by_one_point() -> None:
    counts = _outlets([(1, "All", 2, 2), (1, "None", 2, 0), (2, "All", 1, 1), (2, "None", 5, 0)])
    frame = share_frame(counts, KINDS, RISK_ONLY, "day", standardise=True)
    assert frame["decertification_risk_share"].tolist() == pytest.approx([100.0, 100.0])


def test_a_signal_never_above_the_threshold_has_no_standardised_index() -> None:
    counts = _counts().assign(cooperation_tone=0)
    frame = share_frame(
        counts, KINDS, {"decertification_risk": 0.0, "cooperation_tone": 1.0}, "day", True
    )
    assert frame["cooperation_tone_share"].isna().all()
    assert np.isnan(frame["composite_share"]).all()


def test_standardised_index_averages_100_over_the_periods_shown() -> None:
    # Day 1 holds only articles below the threshold and is not in the series range; day 3 is in
    # the range but has no articles: it stays a gap and does not count.
    counts = _outlets(
        [(1, "A", 4, 0), (2, "A", 4, 1), (2, "B", 2, 1), (4, "A", 4, 3), (4, "B", 2, 0)]
    )
    shown = pd.DatetimeIndex([pd.Timestamp(f"2025-09-0{d}") for d in (2, 3, 4)], name="period")
    weights = {"decertification_risk": 0.7, "cooperation_tone": 0.0}
    frame = share_frame(counts, KINDS, weights, "day", standardise=True, index=shown)
    assert list(frame.index) == list(shown)
    values = frame["decertification_risk_share"]
    assert np.isnan(values.iloc[1])
    assert values.mean() == pytest.approx(100.0)
    assert frame["composite_share"].mean() == pytest.approx(100.0)
    plain = share_frame(counts, KINDS, weights, "day", index=shown)
    assert list(plain.index) == list(shown) and np.isnan(plain["composite_share"].iloc[1])


def test_weekly_periods_and_empty_input() -> None:
    frame = share_frame(_counts(), KINDS, {"decertification_risk": 1.0}, "week")
    assert list(frame.index) == [pd.Timestamp("2025-09-01")]
    assert frame["decertification_risk_share"].iloc[0] == pytest.approx(33 / 220 * 100)
    empty = share_frame(_counts().iloc[0:0], KINDS, {}, "day")
    assert empty.empty and "composite_share" in empty.columns


def test_share_unit_labels() -> None:
    assert share_unit(False) == "% of all articles"
    assert share_unit(True).startswith("Index")
