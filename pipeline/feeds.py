"""Turn fetched feed bytes into validated RawItems: guard before feedparser, check after it.

feedparser is tolerant, which is what makes it dangerous with hostile input (issue 3):
- given a ``str`` or even ``bytes`` it tries to open them as a path or URL, so it only ever gets
  an ``io.BytesIO`` of bytes we fetched ourselves under limits;
- when strict XML parsing fails it falls back to a loose parser that expands internal entities
  (a 300 KB document cost 98 s and 7 GB here), so internal DTD subsets are removed first,
  keeping only single-character entity declarations;
- ``javascript:`` and other non-web URLs survive in links and ids, impossible dates are quietly
  rewritten, and a wrong declared charset gives mojibake with no flag. Each is checked here and
  recorded as a problem instead of being passed on.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from pipeline.config import FeedConfig
from pipeline.feed_text import entry_date, html_to_text, strip_internal_dtd
from pipeline.fetch import FetchResult
from pipeline.language import declared_code
from pipeline.records import RawItem
from pipeline.urls import is_web_url

MAX_TITLE_CHARS = 1_000
MAX_TEXT_CHARS = 200_000
MAX_PROBLEMS = 20
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
_UNSAFE_ID_SCHEMES = ("javascript:", "vbscript:", "data:", "file:", "about:")
_SINGLE_BYTE = ("iso-8859", "iso8859", "latin", "windows-125", "cp125", "us-ascii", "ascii",
                "koi8", "mac")


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document yielded: items, how many entries it had, and what went wrong."""

    items: list[RawItem]
    entries_seen: int
    problems: tuple[str, ...]
    error: str | None = None
    summary_only: frozenset[int] = frozenset()  # indices into items: candidates for full text


def parse_feed(result: FetchResult, feed: FeedConfig, fetched_at: datetime) -> ParsedFeed:
    """Parse one fetched document into RawItems; a document that yields none carries an error."""
    if not result.body.strip():
        return ParsedFeed([], 0, result.problems, "empty response body")
    data, problems = _to_utf8(result)
    data, dtd_problems = strip_internal_dtd(data)
    problems = [*result.problems, *problems, *dtd_problems]
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=_headers(result))
    except Exception as exc:  # noqa: BLE001 - any parser crash is this feed's error, not the run's
        return ParsedFeed([], 0, tuple(problems), f"feed parser failed: {_short(exc)}")
    if _get(parsed, "bozo"):
        problems.append(f"ill-formed feed: {_short(_get(parsed, 'bozo_exception'))}")
    entries = list(_get(parsed, "entries") or [])
    context = _Context(feed, fetched_at, _language(_get(parsed, "feed") or {}))
    items: list[RawItem] = []
    summary_only: set[int] = set()
    for number, entry in enumerate(entries, start=1):
        item, entry_problems = _entry_item(entry, number, context)
        problems.extend(entry_problems)
        if item is not None:
            if not _get(entry, "content"):
                summary_only.add(len(items))
            items.append(item)
    error = None if items else _why_empty(entries, parsed)
    return ParsedFeed(items, len(entries), _capped(problems), error, frozenset(summary_only))


def _to_utf8(result: FetchResult) -> tuple[bytes, list[str]]:
    """Decode as feedparser would, then catch the case it cannot: UTF-8 labelled single-byte."""
    headers = _headers(result)
    info: dict[str, Any] = {}
    data: bytes = convert_to_utf8(headers, result.body, info)
    problems = [f"encoding: {_short(info['bozo_exception'])}"] if info.get("bozo") else []
    encoding = str(info.get("encoding") or "").lower()
    if encoding.startswith(_SINGLE_BYTE) and _is_utf8(result.body):
        problems.append(f"declared encoding {encoding} but the bytes are UTF-8; read as UTF-8")
        data = convert_to_utf8({"content-type": "application/xml; charset=utf-8"}, result.body, {})
    return data, problems


def _is_utf8(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _headers(result: FetchResult) -> dict[str, str]:
    """Response headers for feedparser: the type, and the URL relative links resolve against."""
    headers = {"content-location": result.content_location or result.url}
    if result.content_type:
        headers["content-type"] = result.content_type
    if result.content_language:
        headers["content-language"] = result.content_language
    return headers


def _why_empty(entries: list[Any], parsed: Any) -> str:
    if entries:
        return "no entry had a title or text"
    if _get(parsed, "bozo"):
        return f"not a readable feed: {_short(_get(parsed, 'bozo_exception'))}"
    return "feed has no entries"


@dataclass(frozen=True, slots=True)
class _Context:
    feed: FeedConfig
    fetched_at: datetime
    feed_language: str | None


def _entry_item(entry: Any, number: int, ctx: _Context) -> tuple[RawItem | None, list[str]]:
    """Build one RawItem from a feedparser entry, recording every value it had to refuse."""
    problems: list[str] = []
    title = html_to_text(str(_get(entry, "title") or ""))[:MAX_TITLE_CHARS]
    text = _entry_text(entry)
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"entry {number}: text cut to {MAX_TEXT_CHARS:,} characters")
        text = text[:MAX_TEXT_CHARS]
    url = _web_link(entry, number, problems)
    guid = _guid(_get(entry, "id"), number, problems)
    page_date = entry_date(entry, number, problems)
    if not title.strip() and not text.strip():
        problems.append(f"entry {number}: dropped, it has neither title nor text")
        return None, problems
    language = _language(entry) or ctx.feed_language or ctx.feed.language
    item = RawItem(
        origin=ctx.feed.name,
        source=ctx.feed.name,
        title=title,
        text=text,
        url=url,
        language=language,
        page_date=page_date,
        event_date=None,
        guid=guid,
        fetched_at=ctx.fetched_at,
        problems=tuple(problems),
    )
    return item, problems


def _entry_text(entry: Any) -> str:
    """Prefer full content over the summary; both become plain text."""
    contents = [str(_get(c, "value") or "") for c in _get(entry, "content") or []]
    longest = max(contents, key=len, default="")
    return html_to_text(longest or str(_get(entry, "summary") or ""))


def _web_link(entry: Any, number: int, problems: list[str]) -> str | None:
    """Return the entry's first http(s) link; record every other scheme that was offered."""
    candidates = [_get(entry, "link")]
    candidates += [_get(link, "href") for link in _get(entry, "links") or []
                   if (_get(link, "rel") or "alternate") == "alternate"]
    refused: list[str] = []
    for candidate in candidates:
        if not candidate:
            continue
        value = str(candidate).strip()
        if is_web_url(value) and len(value) <= 2_000:
            return value
        if value not in refused:
            refused.append(value)
    for value in refused:
        problems.append(f"entry {number}: dropped non-web link {value[:80]!r}")
    return None


def _guid(value: Any, number: int, problems: list[str]) -> str | None:
    if not value:
        return None
    guid = "".join(ch for ch in str(value).strip() if ch.isprintable())[:500]
    if guid.lower().replace(" ", "").startswith(_UNSAFE_ID_SCHEMES):
        problems.append(f"entry {number}: dropped unsafe id {guid[:80]!r}")
        return None
    return guid or None


def _language(node: Any) -> str | None:
    """The language an entry or feed declares (xml:lang, <language>, Content-Language)."""
    details = list(_get(node, "content") or [])
    details += [_get(node, key) for key in ("summary_detail", "title_detail", "subtitle_detail")]
    declared = [_get(d, "language") for d in details if d] + [_get(node, "language")]
    for tag in declared:  # a tag naming no ISO 639-1 code ("xx") leaves the config's to apply
        if tag and _LANGUAGE_TAG.match(str(tag).strip()) and declared_code(str(tag)):
            return str(tag).strip()
    return None


def _capped(problems: list[str]) -> tuple[str, ...]:
    unique = list(dict.fromkeys(problems))
    if len(unique) <= MAX_PROBLEMS:
        return tuple(unique)
    return (*unique[:MAX_PROBLEMS], f"... and {len(unique) - MAX_PROBLEMS} more problems")


def _get(node: Any, key: str) -> Any:
    """Read a feedparser value by its stored key, avoiding FeedParserDict aliases and warnings."""
    return dict.get(node, key) if isinstance(node, dict) else None


def _short(value: object) -> str:
    text = str(value) if value is not None else "unknown error"
    return " ".join(text.split())[:200]


def __getattr__(name: str) -> Any:
    """Serve ``collect_feeds``, ``check_feed`` and ``FeedOutcome`` from ``pipeline.feed_cycle``.

    They live there to keep this module about parsing; importing them lazily avoids a cycle.
    """
    if name in ("collect_feeds", "check_feed", "FeedOutcome"):
        from pipeline import feed_cycle

        return getattr(feed_cycle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
