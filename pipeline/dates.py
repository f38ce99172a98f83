"""Find the dates a news page carries: the page date line, and the date of the events it reports.

A seed page is often shown long after the events it reports (a page dated 2025-12-24 may tell of
a visit on March 27, 2025), so the timeline needs the event date read from the body text. All
functions here are pure (no I/O), so the same text always gives the same date.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from datetime import date, datetime

_EN_MONTHS = (
    "january february march april may june july august september october november december"
).split()
_ES_MONTHS = (
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre"
).split()
_MONTHS: dict[str, int] = {
    **{name: i for i, name in enumerate(_EN_MONTHS, start=1)},
    **{name: i for i, name in enumerate(_ES_MONTHS, start=1)},
    **{name[:3]: i for i, name in enumerate(_EN_MONTHS, start=1)},
    **{name[:3]: i for i, name in enumerate(_ES_MONTHS, start=1)},
    "sept": 9,
    "setiembre": 9,
    "set": 9,
}
_WEEKDAYS = (
    "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs"
    "|fri|sat|sun|lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo"
)
_ORD = r"(?:st|nd|rd|th|º|°|o)?"
_YEAR = r"(?:19|20)\d{2}(?!\w)"

# Body patterns. English month names must be capitalised: "may" and "march" are also common
# words, while Spanish writes month names in lower case, so those match in any case.
_EN_NAME = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
)
_ES_NAME = r"(?i:" + "|".join(_ES_MONTHS) + r"|setiembre)\b"
_ANY_NAME = rf"(?:{_EN_NAME}|{_ES_NAME})"
# "and"/"y" ranges only when the second number is not followed by a word ("March 5 and 30
# soldiers" is one date, "March 28 and 29, 2025" two).
_RANGE_TAIL = r"(?!\s+(?!of\b|de\b|del\b|in\b|en\b)[a-záéíóúñ])"
_MONTH_FIRST = re.compile(
    rf"(?P<month>{_EN_NAME})\s+(?P<d1>\d{{1,2}}){_ORD}(?!\d)"
    rf"(?:\s*(?:-|–|—|\bto\b|\bthrough\b)\s*(?P<d2>\d{{1,2}}){_ORD}(?!\d)"
    rf"|\s+(?:and|&)\s+(?P<d3>\d{{1,2}}){_ORD}(?![\d,.]\d){_RANGE_TAIL})?"
    rf"(?:,?\s+(?P<year>{_YEAR}))?"
)
_DAY_FIRST = re.compile(
    rf"(?<![\d,.])(?:(?P<d0>\d{{1,2}}){_ORD}\s*(?:-|–|\band\b|\by\b|\bal\b|\bto\b)\s*)?"
    rf"(?P<d1>\d{{1,2}}){_ORD}\s+(?:de\s+|of\s+)?(?P<month>{_ANY_NAME})"
    rf"(?:,?\s+(?:(?i:de|del)\s+(?:(?i:año)\s+)?)?(?P<year>{_YEAR}))?"
)
_ISO = re.compile(rf"(?<![\d-])(?P<year>{_YEAR})-(?P<month>\d{{2}})-(?P<d1>\d{{2}})(?![\d-])")
_NUMERIC = re.compile(rf"(?<![\d/])(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<year>{_YEAR})(?![\d/])")

# A month and year without a day ("in March 2025", "en marzo de 2025") sets the year context.
_MONTH_YEAR = re.compile(rf"(?P<month>{_ANY_NAME})\s+(?:(?i:of|de|del)\s+)?(?P<year>{_YEAR})")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"“¿¡(]?[A-ZÁÉÍÓÚÑ])|\n+")
_YEAR_WINDOW_SENTENCES = 3

# Page date lines: the whole line is one date, maybe after a label ("Published on", "Actualizado
# el", "Última actualización:"), a weekday, and before a clock time ("at 10:32 AM", "a las 10:32").
_LINE_LABEL = (
    r"(?:last\s+)?(?:published|updated|posted)(?:\s+on)?"
    r"|(?:publicad[oa]|actualizad[oa])(?:\s+(?:el|en))?|[úu]ltima\s+actualizaci[óo]n"
)
_LINE_PREFIX = re.compile(rf"^(?:(?i:{_LINE_LABEL})\s*:?\s*)?(?:(?i:{_WEEKDAYS})\.?,?\s+)?")
_LINE_TIME = re.compile(
    r"(?:\s*(?:[-|,·]|(?i:at|a\s+las?))?\s*\d{1,2}:\d{2}(?::\d{2})?\s*(?i:[ap]\.?\s?m\.?)?.*)?$"
)
_LINE_FORMS = (
    re.compile(r"(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?:T.*)?"),
    re.compile(r"(?P<day>\d{1,2})[-/.](?P<month>\d{1,2})[-/.](?P<year>\d{4})"),
    re.compile(
        r"(?i:(?P<name>[a-záéíóú]+)\.?)\s+(?P<day>\d{1,2})" + _ORD + r",?\s+(?P<year>\d{4})"
    ),
    re.compile(
        r"(?P<day>\d{1,2})" + _ORD + r"\s+(?i:(?:de|of)\s+)?(?i:(?P<name>[a-záéíóú]+)\.?)"
        r",?\s+(?i:(?:de|del)\s+)?(?P<year>\d{4})"
    ),
)


def parse_date_line(line: str) -> date | None:
    """Read a page date line such as ``Wednesday, December 24, 2025`` or ``24/12/2025``.

    The whole line must be a date (an optional label such as ``Published:``, ``Published on``,
    ``Publicado el`` or ``Actualizado el``, a weekday or a clock time aside): a body sentence
    that merely contains a date is not the page date.
    """
    text = " ".join(line.replace("\u00a0", " ").split())
    text = _LINE_TIME.sub("", _LINE_PREFIX.sub("", text), count=1).strip().rstrip(".")
    for form in _LINE_FORMS:
        match = form.fullmatch(text)
        if match is None:
            continue
        parts = match.groupdict()
        month = _month_number(parts["name"]) if "name" in parts else int(parts["month"])
        if month is None:
            return None
        day, year = int(parts["day"]), int(parts["year"])
        if "name" not in parts and month > 12 >= day:
            day, month = month, day  # 12/24/2025: US order, only when day-first cannot be
        return _safe_date(year, month, day)
    return None


def parse_iso_date(value: str) -> date | None:
    """Read an ISO date or datetime (``2025-03-27``, ``2025-03-27T10:00:00Z``); None if not one."""
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        return None


def extract_event_date(
    body: str, page_date: date | None, language: str | None = None
) -> date | None:
    """Return the latest explicit calendar date in ``body`` that is not after ``page_date``.

    News pages are written around their main event and mention older context, so the latest
    day-precision date that the page could already know is the best guess of the event date.
    A date without a year takes the nearest year written with a month in its sentence or the
    few before it, else the latest year that keeps it on or before the page date. ``language``
    ("en"/"es") only settles numeric dates like 03/04/2025, which English pages write month first.

    Returns:
        The event date, or None when the body names no usable date (use the page date then).
    """
    found = _candidate_dates(body, page_date, language)
    return max((day for day in found if _not_after(day, page_date)), default=None)


def _candidate_dates(body: str, page_date: date | None, language: str | None) -> Iterator[date]:
    """Yield every explicit day-precision date in the text, years filled in from context."""
    text = body.replace("\u00a0", " ")
    named = [match for form in (_MONTH_FIRST, _DAY_FIRST) for match in form.finditer(text)]
    context = _YearContext(text, _dated_years(text, named))
    for match in named:
        month = _month_number(match["month"])
        if month is None:
            continue
        explicit = int(match["year"]) if match["year"] else None
        for day in _range_days(match):
            year = explicit or context.year_for(match.start(), month, day, page_date)
            if year is not None and (found := _safe_date(year, month, day)):
                yield found
    for match in _ISO.finditer(text):
        if found := _safe_date(int(match["year"]), int(match["month"]), int(match["d1"])):
            yield found
    for match in _NUMERIC.finditer(text):
        if found := _numeric_date(int(match["a"]), int(match["b"]), int(match["year"]), language):
            yield found


def _dated_years(text: str, named: list[re.Match[str]]) -> list[tuple[int, int]]:
    """List (position, year) for years written inside a date or after a month name.

    Bare years are left out on purpose: "fiscal year 2025", "al cierre de 2023" or "since the
    1990s" name a period the story looks at, not the year its events happen in.
    """
    found = [(match.start("year"), int(match["year"])) for match in named if match["year"]]
    for form in (_MONTH_YEAR, _ISO, _NUMERIC):
        found += [(match.start("year"), int(match["year"])) for match in form.finditer(text)]
    return sorted(found)


def _range_days(match: re.Match[str]) -> list[int]:
    """List the days a match names: one day, or both ends of a range like 28-29 or 28 y 29."""
    groups = match.groupdict()
    days = [int(groups[name]) for name in ("d0", "d1", "d2", "d3") if groups.get(name)]
    first = days[0]
    return [first] + [later for later in days[1:] if later > first]


def _numeric_date(a: int, b: int, year: int, language: str | None) -> date | None:
    """Read ``a/b/year`` day first (Latin American usage) unless it only works month first."""
    month_first = language == "en" or a <= 12 < b
    if a > 12:
        month_first = False
    return _safe_date(year, a, b) if month_first else _safe_date(year, b, a)


class _YearContext:
    """Answer "which year does this year-less date belong to?" from the surrounding sentences."""

    def __init__(self, text: str, years: list[tuple[int, int]]) -> None:
        self._starts = [0] + [m.end() for m in _SENTENCE_BREAK.finditer(text)]
        self._years = years

    def year_for(self, position: int, month: int, day: int, page_date: date | None) -> int | None:
        """Take the nearest dated year in the same sentence, else in the few sentences before.

        Further back a year usually belongs to background, and a year that would put the date
        after the page date is a different story's year, so both fall back to the page date.
        """
        sentence = bisect.bisect_right(self._starts, position) - 1
        start = self._starts[sentence]
        end = self._starts[sentence + 1] if sentence + 1 < len(self._starts) else 1 << 62
        same = [(abs(at - position), year) for at, year in self._years if start <= at < end]
        window_start = self._starts[max(0, sentence - _YEAR_WINDOW_SENTENCES)]
        before = [year for at, year in self._years if window_start <= at < start]
        year = min(same)[1] if same else (before[-1] if before else None)
        if year is not None and _not_after_page(year, month, day, page_date):
            return year
        return _latest_year_before(month, day, page_date)


def _not_after_page(year: int, month: int, day: int, page_date: date | None) -> bool:
    """Say whether year/month/day is a real date on or before the page date."""
    candidate = _safe_date(year, month, day)
    return candidate is not None and _not_after(candidate, page_date)


def _latest_year_before(month: int, day: int, page_date: date | None) -> int | None:
    """Pick the latest year in which month/day falls on or before the page date."""
    if page_date is None:
        return None
    for year in range(page_date.year, page_date.year - 8, -1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate <= page_date:
            return year
    return None


def _month_number(name: str | None) -> int | None:
    """Map an English or Spanish month name or abbreviation to 1-12."""
    if not name:
        return None
    return _MONTHS.get(name.lower().rstrip("."))


def _not_after(day: date, page_date: date | None) -> bool:
    """A page cannot report events after the day it was shown; those are plans or typos."""
    return page_date is None or day <= page_date


def _safe_date(year: int, month: int, day: int) -> date | None:
    """Build a date, or None for impossible ones such as February 30."""
    try:
        return date(year, month, day)
    except ValueError:
        return None
