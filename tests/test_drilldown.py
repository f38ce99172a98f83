"""From a chart selection to a period span, and explanations to readable terms."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipeline.drilldown import (
    contributions,
    parse_explanation,
    period_span,
    selection_span,
    snap_to_options,
    term_weights,
    top_sentence,
    top_terms,
)

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


def test_contributions_share_of_the_selection() -> None:
    rows = pd.DataFrame(
        {
            "id": ["a", "b"],
            "title": ["A", "B"],
            "source": ["S", "S"],
            "event_date": [date(2025, 9, 1)] * 2,
            "article_composite": [0.9, 0.3],
            "decertification_risk_explanation": [UP, None],
        }
    )
    table = contributions(rows, ["decertification_risk"], mass=1.2)
    assert table["share_of_selection"].tolist() == [75.0, 25.0]
    assert table["decertification_risk_terms"].tolist()[0].startswith("up: coca")
    assert contributions(rows.iloc[0:0], ["decertification_risk"], 1.0).empty


def test_contributions_share_keeps_its_sign_with_mixed_weights() -> None:
    """Mass is the sum of |composite|: a negative article's share is negative and bounded."""
    rows = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "title": ["A", "B", "C"],
            "source": ["S"] * 3,
            "event_date": [date(2025, 9, 1)] * 3,
            "article_composite": [0.1, -0.3, 0.1],
            "decertification_risk_explanation": [UP, None, None],
        }
    )
    table = contributions(rows, ["decertification_risk"], mass=0.5)
    assert table["share_of_selection"].tolist() == [20.0, -60.0, 20.0]


def test_contributions_share_is_zero_not_nan_when_every_composite_is_zero() -> None:
    rows = pd.DataFrame(
        {
            "id": ["a", "b"],
            "title": ["A", "B"],
            "source": ["S", "S"],
            "event_date": [date(2025, 9, 1)] * 2,
            "article_composite": [0.0, 0.0],
            "decertification_risk_explanation": [None, None],
        }
    )
    table = contributions(rows, ["decertification_risk"], mass=0.0)
    assert table["share_of_selection"].tolist() == [0.0, 0.0]
