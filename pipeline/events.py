"""Event annotations for the charts: the configured dates plus the yearly policy calendar.

Issue 5 (11d): the US determination on major drug-transit and drug-producing countries (due by
15 September) and the International Narcotics Control Strategy Report (early March) recur every
year, so they are generated for each year a chart shows rather than typed in by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pipeline.config import Annotation, YearlyAnnotation


def yearly_dates(yearly: Sequence[YearlyAnnotation], first: date, last: date) -> list[Annotation]:
    """One annotation per recurring event and year, for the years between two dates."""
    found = [
        Annotation(date=date(year, event.month, event.day), label=event.label)
        for year in range(first.year, last.year + 1)
        for event in yearly
    ]
    return sorted((n for n in found if first <= n.date <= last), key=lambda n: n.date)


def chart_annotations(
    fixed: Sequence[Annotation],
    yearly: Sequence[YearlyAnnotation],
    first: date,
    last: date,
    *,
    include_yearly: bool = True,
) -> list[Annotation]:
    """The configured annotations plus (optionally) the yearly calendar, in date order.

    A yearly event within a week of a configured one is left out: the configured label (say
    "Colombia decertified with waiver") already tells that year's story.
    """
    generated = yearly_dates(yearly, first, last) if include_yearly else []
    kept = [n for n in generated if all(abs((n.date - f.date).days) > 7 for f in fixed)]
    return sorted([*fixed, *kept], key=lambda n: n.date)
