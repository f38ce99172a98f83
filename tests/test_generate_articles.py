"""The benchmarks' article generator: both arrival orders date the same texts over three years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bench.generate_articles import DAYS, MAX_LAG_DAYS, generate_items, generate_records

LAST_DAY = date(2026, 11, 28)
FIRST_DAY = LAST_DAY - timedelta(days=DAYS - 1)


def _days(arrival: str, n: int = 2000) -> list[date]:
    records = generate_records(n, seed=3, last_day=LAST_DAY, words=20, arrival=arrival)
    return [date.fromisoformat(record["published"]) for record in records]


def test_shuffled_dates_are_spread_over_three_years_in_no_order() -> None:
    days = _days("shuffled")
    assert FIRST_DAY <= min(days) < FIRST_DAY + timedelta(days=30)
    assert LAST_DAY - timedelta(days=30) < max(days) <= LAST_DAY
    later = sum(after > before for before, after in zip(days, days[1:], strict=False))
    assert 0.4 < later / (len(days) - 1) < 0.6  # a coin toss: a back-fill in random order


def test_chronological_dates_advance_with_a_few_days_lag_at_most() -> None:
    days = _days("chronological")
    assert FIRST_DAY <= min(days) <= FIRST_DAY + timedelta(days=MAX_LAG_DAYS)
    assert LAST_DAY - timedelta(days=MAX_LAG_DAYS + 1) <= max(days) <= LAST_DAY
    newest = days[0]
    for day in days[1:]:
        assert day >= newest - timedelta(days=MAX_LAG_DAYS + 1)
        newest = max(newest, day)
    distinct = sorted(set(days))
    gaps = [(after - before).days for before, after in zip(distinct, distinct[1:], strict=False)]
    assert max(gaps) <= MAX_LAG_DAYS + 1  # no part of the three years is left out


def test_both_orders_generate_the_same_articles_apart_from_their_dates() -> None:
    shuffled = list(generate_items(300, seed=5, words=30))
    chronological = list(generate_items(300, seed=5, words=30, arrival="chronological"))
    assert [(i.title, i.text, i.source, i.language) for i in shuffled] == [
        (i.title, i.text, i.source, i.language) for i in chronological
    ]
    assert [i.page_date for i in shuffled] != [i.page_date for i in chronological]


def test_the_same_seed_gives_the_same_articles() -> None:
    assert list(generate_records(50, seed=9, last_day=LAST_DAY, words=20)) == list(
        generate_records(50, seed=9, last_day=LAST_DAY, words=20)
    )


def test_an_unknown_arrival_order_is_refused() -> None:
    with pytest.raises(ValueError, match="arrival must be one of shuffled, chronological"):
        next(generate_records(1, arrival="sorted"))
