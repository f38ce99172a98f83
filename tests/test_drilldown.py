"""From a chart selection to a period span, and explanations to readable terms."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.drilldown import (
    Baseline,
    contributions,
    parse_explanation,
    period_span,
    previous_composite,
    selection_span,
    snap_to_options,
    term_weights,
    top_sentence,
    top_terms,
    why_caption,
)

BASELINE = Baseline(date(2025, 9, 1), 0.99)
UP = '{"up": [["coca", 0.4], ["sanctions", 0.2]], "down": [["agreement", -0.3]]}'


def test_selection_of_points_and_boxes_becomes_a_period_span() -> None:
    points = {"points": [{"x": "2025-09-17"}, {"x": "2025-09-03"}], "box": [], "lasso": []}
    assert selection_span(points, "day") == (date(2025, 9, 3), date(2025, 9, 17))
    assert selection_span(points, "month") == (date(2025, 9, 1), date(2025, 9, 30))
    box = {"points": [], "box": [{"x": ["2025-09-10 06:00:00.123", "2025-09-24 18:00"]}]}
    assert selection_span(box, "week") == (date(2025, 9, 8), date(2025, 9, 28))


@pytest.mark.parametrize(
    "selection", [None, {}, {"points": []}, {"points": [{"x": "not a date"}, {"y": 1}, "junk"]}]
)
def test_empty_or_odd_selections_are_ignored(selection: object) -> None:
    assert selection_span(selection, "day") is None  # type: ignore[arg-type]


def test_spans_snap_to_the_periods_that_have_data() -> None:
    options = ["2025-09-01", "2025-09-15", "2025-10-01"]
    assert snap_to_options(options, (date(2025, 9, 2), date(2025, 10, 5))) == (
        "2025-09-15",
        "2025-10-01",
    )
    assert snap_to_options(options, (date(2025, 9, 20), date(2025, 9, 25))) == (
        "2025-09-15",
        "2025-09-15",
    )
    assert snap_to_options([], (date(2025, 9, 1), date(2025, 9, 2))) is None


def test_period_span() -> None:
    assert period_span(pd.Timestamp("2025-09-17"), "week") == (date(2025, 9, 15), date(2025, 9, 21))


def test_explanations_parse_defensively() -> None:
    assert parse_explanation(UP)["up"] == [("coca", 0.4), ("sanctions", 0.2)]
    for broken in (None, "", "not json", "[1, 2]", '{"up": [["x"]], "down": "no"}'):
        assert parse_explanation(broken) == {"up": [], "down": []}
    assert top_terms(UP) == "up: coca, sanctions; down: agreement"
    assert top_terms(None) == "up: -; down: -"


def test_top_sentence_reads_the_stored_sentence_defensively() -> None:
    stored = '{"up": [], "down": [], "sentence": "Washington  warned\\nBogotá.", "sentence_weight": 0.567}'
    assert top_sentence(stored) == "sentence that pushed it most (+0.57): Washington warned Bogotá."
    no_weight = '{"sentence": "A line.", "sentence_weight": "x"}'
    assert top_sentence(no_weight) == "sentence that pushed it most: A line."
    for empty in (None, "", "not json", UP, '{"sentence": "  "}', '{"sentence": 3}'):
        assert top_sentence(empty) == ""


def test_term_weights_sum_pull_across_articles() -> None:
    totals = term_weights([UP, UP, '{"up": [["coca", 0.1]], "down": []}'])
    assert totals == pytest.approx({"coca": 0.9, "sanctions": 0.4, "agreement": -0.6})


def _rows(composites: list[float]) -> pd.DataFrame:
    n = len(composites)
    return pd.DataFrame(
        {
            "id": [chr(97 + i) for i in range(n)],
            "title": [chr(65 + i) for i in range(n)],
            "source": ["S"] * n,
            "event_date": [date(2025, 9, 8)] * n,
            "article_composite": composites,
            "decertification_risk_explanation": [UP] + [None] * (n - 1),
        }
    )


def test_contributions_of_a_fall_are_negative_and_add_up_to_the_change() -> None:
    """QA5 #2: after a 0.99 week, three cooperative articles (all positive composites, as with
    non-negative weights) pulled the index down: each shows a negative part of the change."""
    table = contributions(_rows([0.04, 0.03, 0.02]), ["decertification_risk"], 3, BASELINE)
    assert table["vs_previous"].tolist() == [-0.95, -0.96, -0.97]
    assert table["contribution"].tolist() == pytest.approx([-0.3167, -0.32, -0.3233])
    assert table["contribution"].sum() == pytest.approx(0.03 - 0.99, abs=1e-3)
    assert table["decertification_risk_terms"].tolist()[0].startswith("up: coca")


def test_contributions_keep_their_sign_around_the_previous_level() -> None:
    """Mixed-sign weights give negative composites; the sign is still relative to the baseline."""
    previous = Baseline(date(2025, 9, 1), 0.1)
    table = contributions(_rows([0.5, -0.3, 0.1]), ["decertification_risk"], 4, previous)
    assert table["contribution"].tolist() == pytest.approx([0.1, -0.1, 0.0])
    assert contributions(_rows([0.5])[:0], ["decertification_risk"], 0, previous).empty


def test_contributions_without_a_previous_period_are_empty_not_zero() -> None:
    table = contributions(_rows([0.9, 0.3]), ["decertification_risk"], 2, None)
    assert table["vs_previous"].isna().all() and table["contribution"].isna().all()
    assert table["article_composite"].tolist() == [0.9, 0.3]


def test_previous_composite_is_the_last_earlier_period_with_data() -> None:
    index = pd.to_datetime(["2025-08-25", "2025-09-01", "2025-09-08", "2025-09-15"])
    frame = pd.DataFrame({"composite": [0.99, float("nan"), 0.03, 0.02]}, index=index)
    assert previous_composite(frame, pd.Timestamp("2025-09-08")) == Baseline(
        date(2025, 8, 25), 0.99
    )  # the empty week between is skipped, not read as 0
    assert previous_composite(frame, pd.Timestamp("2025-09-15")) == Baseline(
        date(2025, 9, 8), 0.03
    )
    assert previous_composite(frame, pd.Timestamp("2025-08-25")) is None


def test_why_caption_names_the_baseline_or_says_there_is_none() -> None:
    text = why_caption(BASELINE, 3, 2, "week")
    assert "from 0.990, the composite of the week of 2025-09-01" in text
    assert "(its composite - 0.990) / 3" in text and "across its 2 weeks" in text
    assert "across" not in why_caption(BASELINE, 3, 1, "week")
    assert "no move to explain" in why_caption(None, 2, 1, "day")
    assert why_caption(BASELINE, 0, 1, "day") == "No relevant scored article in the selection."
