"""Turn RawItems into Articles: clean text, canonical URL, stable id, language, validated dates.

Pure: no I/O, so the same RawItem always yields the same Article (apart from ``ingested_at``).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from pipeline.language import normalise_language
from pipeline.records import Article, RawItem, content_hash, stable_article_id
from pipeline.urls import canonical_url

EARLIEST_PLAUSIBLE = date(1990, 1, 1)
# The date flag of an article with no usable date (none given, unreadable or refused): its event
# date is the day it was first seen, so it counts in that period; the dashboard says so.
UNDATED = "undated"
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# white space other than a single space between words: the only thing _SPACES would change
_ODD_SPACE = re.compile(r"[^\S \n]|  ")


def clean_text(text: str) -> str:
    """NFC-normalise, drop control characters, collapse spaces, keep paragraph breaks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text).replace("\u00a0", " ")
    if _ODD_SPACE.search(text):  # most feed text has none; a search is far cheaper than a sub
        text = _SPACES.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean_title(title: str) -> str:
    """Clean a headline onto a single line."""
    return " ".join(clean_text(title).split())


def check_date(value: date | None, first_seen: date) -> tuple[date | None, tuple[str, ...]]:
    """Refuse dates more than a day in the future or before 1990; say why in a flag."""
    if value is None:
        return None, ()
    if value > first_seen + timedelta(days=1):
        return None, (f"future-date:{value.isoformat()}",)
    if value < EARLIEST_PLAUSIBLE:
        return None, (f"implausible-date:{value.isoformat()}",)
    return value, ()


def normalise_item(item: RawItem, ingested_at: datetime) -> Article:
    """Build the Article for one RawItem."""
    title = clean_title(item.title)
    text = clean_text(item.text)
    first_seen = (item.fetched_at or ingested_at).date()
    page_date, page_flags = check_date(item.page_date, first_seen)
    event_date, event_flags = check_date(item.event_date, first_seen)
    flags = page_flags + event_flags
    if event_date is None and page_date is None:
        flags += (UNDATED,)  # placed on the day it was first seen, which need not be its news day
    digest = content_hash(title, text)
    url = canonical_url(item.url)
    return Article(
        article_id=stable_article_id(url or _guid_key(item), digest),
        title=title,
        text=text,
        source=item.source,
        language=normalise_language(item.language, f"{title}. {text}"),
        url=url,
        page_date=page_date,
        event_date=event_date or page_date or first_seen,
        ingested_at=ingested_at,
        content_hash=digest,
        origin=item.origin,
        date_flags=tuple(dict.fromkeys(flags)),
    )


def _guid_key(item: RawItem) -> str | None:
    """Feed entries without a link still have a stable identity in their source's GUID."""
    return f"guid:{item.source}:{item.guid}" if item.guid else None
