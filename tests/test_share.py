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


def test_outlets_without_variance_drop_out_of_the_standardised_index() -> None:
    counts = _counts().assign(cooperation_tone=0)
    frame = share_frame(
        counts, KINDS, {"decertification_risk": 0.0, "cooperation_tone": 1.0}, "day", True
    )
    assert frame["cooperation_tone_share"].isna().all()
    assert np.isnan(frame["composite_share"]).all()


def test_weekly_periods_and_empty_input() -> None:
    frame = share_frame(_counts(), KINDS, {"decertification_risk": 1.0}, "week")
    assert list(frame.index) == [pd.Timestamp("2025-09-01")]
    assert frame["decertification_risk_share"].iloc[0] == pytest.approx(33 / 220 * 100)
    empty = share_frame(_counts().iloc[0:0], KINDS, {}, "day")
    assert empty.empty and "composite_share" in empty.columns


def test_share_unit_labels() -> None:
    assert share_unit(False) == "% of all articles"
    assert share_unit(True).startswith("Index")
