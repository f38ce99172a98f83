"""Checks around feedparser that it does not do itself: DTD stripping, plain text, real dates.

Kept apart from ``feeds.py`` so each stays short; all three are pure functions on strings.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_tz
from html.parser import HTMLParser
from typing import Any

_PROLOG_SKIP = ((b"<!--", b"-->"), (b"<?", b"?>"), (b"<![CDATA[", b"]]>"))
_ENTITY_DECL = re.compile(
    rb"<!ENTITY\s+([A-Za-z_][\w.-]*)\s+(?:\"([^\"]*)\"|'([^']*)')\s*>", re.IGNORECASE
)
_CHAR_REF = re.compile(r"^&#(?:[0-9]{1,7}|x[0-9A-Fa-f]{1,6});$")
_DOCTYPE_NAME = re.compile(rb"<!DOCTYPE\s+([A-Za-z_:][\w.:-]*)", re.IGNORECASE)


def strip_internal_dtd(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    """Remove internal DTD subsets and stray entity declarations from the prolog.

    Only the prolog (before the root element) can declare entities, and only declarations there
    reach the strict or the loose parser. Declarations whose value is one character (``&#160;``,
    ``"©"``) are kept, because real feeds use them and they cannot amplify; everything else
    (nested entities, long values, SYSTEM/PUBLIC external entities) is dropped and recorded.
    """
    out, pos = bytearray(), 0
    problems: list[str] = []
    while True:
        start = data.find(b"<", pos)
        if start < 0:
            break
        out += data[pos:start]
        head = data[start:start + 10].upper()
        end = _skip_end(data, start)
        if end is not None:
            out += data[start:end]
        elif head.startswith(b"<!DOCTYPE"):
            end = _declaration_end(data, start)
            out += _rebuilt_doctype(data[start:end], problems)
        elif head.startswith(b"<!ENTITY"):
            end = _declaration_end(data, start)
            problems.append("removed an entity declaration outside the DOCTYPE")
        elif head.startswith(b"<!"):
            end = _declaration_end(data, start)
            out += data[start:end]
        else:
            return bytes(out) + data[start:], tuple(problems)
        pos = end
    return bytes(out) + data[pos:], tuple(problems)


def _skip_end(data: bytes, start: int) -> int | None:
    """End of a comment, processing instruction or CDATA section starting at ``start``."""
    for opener, closer in _PROLOG_SKIP:
        if data.startswith(opener, start):
            found = data.find(closer, start + len(opener))
            return len(data) if found < 0 else found + len(closer)
    return None


def _declaration_end(data: bytes, start: int) -> int:
    """Find the ``>`` closing a declaration, skipping quoted strings, comments and ``[...]``."""
    pos, depth, quote = start + 2, 0, 0
    while pos < len(data):
        byte = data[pos]
        if quote:
            quote = 0 if byte == quote else quote
        elif data.startswith(b"<!--", pos):
            found = data.find(b"-->", pos + 4)
            pos = len(data) if found < 0 else found + 2
        elif byte in b"\"'":
            quote = byte
        elif byte == ord("["):
            depth += 1
        elif byte == ord("]"):
            depth = max(0, depth - 1)
        elif byte == ord(">") and depth == 0:
            return pos + 1
        pos += 1
    return len(data)


def _rebuilt_doctype(doctype: bytes, problems: list[str]) -> bytes:
    """Keep a DOCTYPE without internal subset as it is; rebuild one with only safe entities."""
    open_at = _subset_start(doctype)
    if open_at < 0:
        return doctype
    subset = doctype[open_at:]
    safe = []
    for match in _ENTITY_DECL.finditer(subset):
        value = (match.group(2) if match.group(2) is not None else match.group(3)) or b""
        if _is_single_character(value):
            safe.append(b'<!ENTITY ' + match.group(1) + b' "' + value + b'">')
    dropped = subset.upper().count(b"<!ENTITY") - len(safe)
    if b"SYSTEM" in subset.upper() or b"PUBLIC" in subset.upper():
        problems.append("removed an external entity reference from the DOCTYPE")
    problems.append(
        f"removed the DOCTYPE internal subset ({dropped} entity declarations dropped, "
        f"{len(safe)} single-character ones kept)"
    )
    if not safe:
        return b""
    name = _DOCTYPE_NAME.match(doctype)
    root = name.group(1) if name else b"feed"
    return b"\n<!DOCTYPE " + root + b" [\n" + b"\n".join(safe) + b"\n]>"


def _subset_start(doctype: bytes) -> int:
    quote = 0
    for pos, byte in enumerate(doctype):
        if quote:
            quote = 0 if byte == quote else quote
        elif byte in b"\"'":
            quote = byte
        elif byte == ord("["):
            return pos
    return -1


def _is_single_character(value: bytes) -> bool:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if _CHAR_REF.match(text):
        return True
    return len(text) == 1 and text not in "&<%\"'"


class _TextExtractor(HTMLParser):
    """Collect the text of an HTML fragment, skipping scripts, styles and embedded objects."""

    SKIP = frozenset({"script", "style", "template", "noscript", "iframe", "object", "embed",
                      "applet", "svg", "math", "head", "select", "textarea"})
    BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                       "tr", "table", "blockquote", "section", "article", "header", "footer",
                       "pre", "hr", "dd", "dt", "figcaption"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Convert an HTML fragment (or plain text) to plain text; entities are decoded once."""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


_ISO_DATE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?\s*$",
    re.IGNORECASE,
)
_PARTIAL_ISO = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?\s*$")


def entry_date(entry: Any, number: int, problems: list[str]) -> date | None:
    """Return the validated published date, else the updated one; record the rejected ones."""
    for key in ("published", "updated"):
        raw = dict.get(entry, key)  # plain dict access: FeedParserDict maps and warns otherwise
        if not raw:
            continue
        value, problem = parse_date(str(raw), dict.get(entry, f"{key}_parsed"))
        if problem:
            problems.append(f"entry {number}: {key} {str(raw)[:60]!r} {problem}")
        if value is not None:
            return value
    return None


def parse_date(raw: str, fallback: Any = None) -> tuple[date | None, str | None]:
    """Parse an RFC 822 or ISO 8601 date, refusing impossible ones.

    The date is the calendar day in the timestamp's own offset, i.e. the publisher's day: an
    evening story from Bogotá (-05:00) stays on its day instead of moving to the next UTC day
    (QA3 #8). A timestamp without an offset is read as UTC, which gives the same written day.
    feedparser silently turns 31 February into 2 March; here it is refused with a reason.
    ``fallback`` is feedparser's own parse, used only for formats neither parser here knows.
    """
    for parser in (_iso_date, _partial_iso_date, _rfc822_date):
        try:
            value = parser(raw)
        except (ValueError, OverflowError):
            return None, "is not a possible date"
        if value is not None:
            return value, None
    if fallback is not None:
        try:
            return date(*tuple(fallback)[:3]), None
        except (TypeError, ValueError):
            pass
    return None, "is not a date this program can read"


def _iso_date(raw: str) -> date | None:
    match = _ISO_DATE.match(raw)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                      int(second or 0), tzinfo=_zone(zone))
    return moment.date()  # the day in its own offset; building the datetime checks the fields


def _zone(zone: str | None) -> timezone:
    if not zone or zone.upper() == "Z":
        return UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("impossible UTC offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _partial_iso_date(raw: str) -> date | None:
    match = _PARTIAL_ISO.match(raw)
    if not match:
        return None
    return date(int(match.group(1)), int(match.group(2) or 1), 1)


def _rfc822_date(raw: str) -> date | None:
    parts = parsedate_tz(raw)
    if parts is None:
        return None
    year, month, day, hour, minute, second = parts[:6]
    moment = datetime(year, month, day, hour, minute, min(second, 59))  # checks every field
    return moment.date()  # the day as written, in the entry's own zone (parts[9])
