"""Read seed files (web pages saved as text, Markdown, JSON or JSON Lines) into RawItems.

A ``.txt`` seed is a page copied from a browser: line 1 the headline (maybe ``| Site Name``),
line 2 the page date, then the page text with its boilerplate (breadcrumbs, captions, "You may
read:" links, image alt text, a trailing link to another article). Only the two ends of the
pipeline touch the disk; this is one of them, so everything below ``read_seeds`` is pure.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.boilerplate import BARE_URL, clean_body
from pipeline.dates import extract_event_date, parse_date_line, parse_iso_date
from pipeline.errors import SourceError
from pipeline.language import declared_code
from pipeline.records import RawItem

_LOG = logging.getLogger(__name__)

SEED_SUFFIXES = (".txt", ".md", ".json", ".jsonl")
DEFAULT_SOURCE = "seeds"
_META_KEYS = ("title", "date", "url", "source", "language")
_RECORD_KEYS = ("title", "text", "published", "url", "source", "language")

_HEADING = re.compile(r"^#{1,6}\s+")
_META_LINE = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*)$")


@dataclass(frozen=True, slots=True)
class SeedReadResult:
    """What a seed scan produced: the items, and (``path`` or ``path:line``, reason) errors."""

    items: list[RawItem]
    errors: list[tuple[str, str]]


class _SeedProblem(SourceError):
    """A seed file or record is unusable; ``where`` (``:line`` or ``#N``) locates it in the file."""

    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where


def read_seeds(folders: Sequence[Path]) -> SeedReadResult:
    """Read every seed file under ``folders``; report unreadable files instead of stopping.

    One bad seed never stops a run (STYLE 5.3): it becomes an error entry naming the file.
    """
    items: list[RawItem] = []
    errors: list[tuple[str, str]] = []
    labels = folder_labels(folders)
    for folder in folders:
        if not folder.is_dir():
            errors.append((str(folder), "seed folder not found: expected a directory of seeds"))
            continue
        for path in _seed_files(folder):
            origin = (Path(labels[folder]) / path.relative_to(folder)).as_posix()
            found, problems = _read_file(path, origin)
            items.extend(found)
            errors.extend((f"{path}{where}", reason) for where, reason in problems)
    for where, reason in errors:
        _LOG.warning("skipped seed %s: %s", where, reason)
    _LOG.info("read %d seed items, %d errors", len(items), len(errors))
    return SeedReadResult(items=items, errors=errors)


def folder_labels(folders: Sequence[Path]) -> dict[Path, str]:
    """How each folder is named in its files' origins: its own name, or as many of its last
    path parts as it takes to tell it from another configured folder of the same name.

    An origin identifies a seed file (an edited file updates its article by origin), so two
    folders both called ``seeds`` must not give their files the same origins.
    """
    resolved = {folder: folder.resolve().parts for folder in folders}
    labels: dict[Path, str] = {}
    for folder, parts in resolved.items():
        others = [p for f, p in resolved.items() if p != parts]
        depth = 1
        while depth < len(parts) and any(p[-depth:] == parts[-depth:] for p in others):
            depth += 1
        labels[folder] = "/".join(parts[-depth:]).lstrip("/") or "/"
    return labels


def _seed_files(folder: Path) -> list[Path]:
    """List seed files below ``folder`` in sorted order, skipping hidden files and folders."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in SEED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )


def _read_file(path: Path, origin: str) -> tuple[list[RawItem], list[tuple[str, str]]]:
    """Parse one file into items plus (where-in-file, reason) problems."""
    try:
        text = _decode(path.read_bytes())
        suffix = path.suffix.lower()
        if suffix == ".json":
            return _read_json(text, origin)
        if suffix == ".jsonl":
            return _read_jsonl(text, origin)
        if suffix == ".md":
            return [parse_seed_markdown(text, origin)], []
        return [parse_seed_text(text, origin)], []
    except _SeedProblem as problem:
        return [], [(problem.where, problem.reason)]
    except OSError as exc:
        return [], [("", f"cannot read file: {exc.strerror or exc}")]


def _decode(data: bytes) -> str:
    """Decode a whole seed file; an empty or non-UTF-8 file is a problem naming the line."""
    if not data.strip():
        raise _SeedProblem("empty file: expected a headline on line 1")
    try:
        return decode_utf8(data)
    except TextEncodingError as exc:
        raise _SeedProblem(exc.reason, f":{exc.line}" if exc.line else "") from None


class TextEncodingError(SourceError):
    """Bytes that are not UTF-8 text; ``line`` holds the first bad byte (None: the whole file)."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def decode_utf8(data: bytes, first_line: int = 1) -> str:
    """Decode UTF-8 (with or without BOM), naming the first bad byte's line when it is not.

    ``first_line`` is the line ``data`` starts on, so a reader going line by line (``classify``)
    names the same line as one reading the whole file. A UTF-16 or UTF-32 byte-order mark (what
    Windows Notepad writes for "Unicode") is named as such rather than as binary garbage.

    Raises:
        TextEncodingError: the bytes are UTF-16/32, binary (NUL bytes) or not valid UTF-8.
    """
    if first_line == 1:
        for bom, name in _BOMS:
            if data.startswith(bom):
                raise TextEncodingError(f"{name} text: re-save the file as UTF-8")
    if b"\x00" in data:
        raise TextEncodingError("binary file (contains NUL bytes): expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + first_line
        raise TextEncodingError(
            f"not UTF-8: byte 0x{data[exc.start]:02x} on line {line} is invalid; "
            "re-save the file as UTF-8",
            line,
        ) from None


def parse_seed_text(text: str, origin: str) -> RawItem:
    """Parse a ``.txt`` seed: headline, page date line, then the page text minus boilerplate.

    Raises:
        SourceError: the text has no headline or no body once boilerplate is removed.
    """
    lines = _lines(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise _SeedProblem("empty file: expected a headline on line 1")
    headline = lines[first].strip()
    if parse_date_line(headline) or BARE_URL.fullmatch(headline):
        raise _SeedProblem(
            f"line {first + 1} is {headline!r}: expected the headline first", where=f":{first + 1}"
        )
    title, site = _split_headline(headline)
    page_date, rest, problems = _take_date_line(lines[first + 1 :])
    body = clean_body(rest, (headline, title), site, join_wrapped=False)
    return _build_item(origin, title, body, _Meta(site=site, page_date=page_date), problems)


def parse_seed_markdown(text: str, origin: str) -> RawItem:
    """Parse a ``.md`` seed: front matter, else ``# Title`` and a date line, else .txt rules.

    Raises:
        SourceError: bad front matter, no title, or no body.
    """
    lines = _lines(text)
    meta, rest = _front_matter(lines)
    start = next((i for i, line in enumerate(rest) if line.strip()), len(rest))
    heading = rest[start] if start < len(rest) and _HEADING.match(rest[start]) else None
    if heading is None and meta is None:
        return parse_seed_text(text, origin)
    meta = meta or {}
    if heading is not None and "title" not in meta:
        rest = rest[start + 1 :]  # with a declared title, a first heading is body (or a repeat)
    raw_title = meta.get("title") or (_HEADING.sub("", heading).strip() if heading else "")
    if not raw_title:
        raise _SeedProblem("no title: expected `title:` in the front matter or a `# Title` line")
    title, site = _split_headline(raw_title)
    page_date, problems = _meta_date(meta.get("date"))
    if "date" not in meta:
        page_date, rest, problems = _take_date_line(rest)
    fields = _Meta(site, meta.get("source"), meta.get("url"), meta.get("language"), page_date)
    body = clean_body(rest, (raw_title, title), site, join_wrapped=True)
    return _build_item(origin, title, body, fields, problems)


@dataclass(frozen=True, slots=True)
class _Meta:
    """The optional fields a seed may declare besides its title and body."""

    site: str | None = None
    source: str | None = None
    url: str | None = None
    language: str | None = None
    page_date: date | None = None


def _build_item(
    origin: str, title: str, body: str, meta: _Meta, problems: tuple[str, ...]
) -> RawItem:
    """Assemble the RawItem, checking the URL and reading the event date from the body.

    The source is the declared ``source`` first (what the analyst wrote down), then the
    headline's `` | Site`` suffix (a guess from the page's title), then ``DEFAULT_SOURCE``.
    """
    if not body:
        raise _SeedProblem("no body text: expected paragraphs after the headline and date line")
    url, notes = _check_url(meta.url)
    language = (meta.language or "").strip() or None
    if language is not None and declared_code(language) is None:
        notes += (f"language {language!r} is not an ISO 639-1 code such as en or es; detected",)
        language = None
    event_date = extract_event_date(body, meta.page_date, language)
    if event_date is None:
        notes += ("no explicit event date in text",)
    return RawItem(
        origin=origin,
        source=(meta.source or "").strip() or meta.site or DEFAULT_SOURCE,
        title=title,
        text=body,
        url=url,
        language=language,
        page_date=meta.page_date,
        event_date=event_date,
        problems=problems + notes,
    )


def _lines(text: str) -> list[str]:
    """Split into lines with unified newlines; non-breaking spaces become plain spaces."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.replace("\u00a0", " ").rstrip() for line in text.split("\n")]


def _split_headline(headline: str) -> tuple[str, str | None]:
    """Split ``Title | Site Name`` into the title and the site name (the item's source)."""
    title, bar, site = headline.rpartition(" | ")
    site = " ".join(site.split())
    if bar and title.strip() and site and len(site.split()) <= 6:
        return " ".join(title.split()), site
    return " ".join(headline.split()), None


def _take_date_line(lines: list[str]) -> tuple[date | None, list[str], tuple[str, ...]]:
    """Take the page date from the first non-blank line when it is a date line."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and (found := parse_date_line(lines[first])):
        return found, lines[first + 1 :], ()
    return None, lines, ("no date line; page date unknown",)


def _check_url(url: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Keep only absolute http(s) URLs; anything else is dropped with a note."""
    if not url or not url.strip():
        return None, ()
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.strip(), ()
    return None, (f"url {url.strip()!r} is not http(s); dropped",)


def _meta_date(value: str | None) -> tuple[date | None, tuple[str, ...]]:
    """Read a declared date (ISO or any date-line form), noting one that does not parse."""
    if value is None or not value.strip():
        return None, ()
    found = parse_iso_date(value) or parse_date_line(value)
    if found is None:
        return None, (f"date {value.strip()!r} not understood; page date unknown",)
    return found, ()


def _front_matter(lines: list[str]) -> tuple[dict[str, str] | None, list[str]]:
    """Read a ``---`` front matter block of ``key: value`` lines by hand (no YAML execution)."""
    if not lines or lines[0].strip() != "---":
        return None, lines
    end = next((i for i, line in enumerate(lines) if i and line.strip() == "---"), None)
    if end is None:
        raise _SeedProblem("front matter opened on line 1 is never closed: expected a `---` line")
    meta: dict[str, str] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _META_LINE.match(line.strip())
        if match is None:
            raise _SeedProblem(
                f"front matter line {number} is {line.strip()!r}: expected `key: value`",
                where=f":{number}",
            )
        key, value = match[1].lower(), match[2].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if key in _META_KEYS:
            meta[key] = value
    return meta, lines[end + 1 :]


def _read_json(text: str, origin: str) -> tuple[list[RawItem], list[tuple[str, str]]]:
    """Read a ``.json`` seed holding one object or a list of objects."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _SeedProblem(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            where=f":{exc.lineno}",
        ) from None
    if not isinstance(data, (dict, list)) or not data:
        raise _SeedProblem(
            f"expected a JSON object or a non-empty list of objects, found {type(data).__name__}"
        )
    records = data if isinstance(data, list) else [data]
    return _parse_records(list(enumerate(records, start=1)), origin, "#")


def _read_jsonl(text: str, origin: str) -> tuple[list[RawItem], list[tuple[str, str]]]:
    """Read a ``.jsonl`` seed; ``#N`` is the line number so a bad line renumbers nothing."""
    records: list[tuple[int, object]] = []
    errors: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            if line.strip():
                records.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            reason = f"invalid JSON: {exc.msg} at column {exc.colno}; expected one object per line"
            errors.append((f":{number}", reason))
    items, bad_records = _parse_records(records, origin, ":")
    return items, sorted(errors + bad_records, key=lambda error: int(error[0][1:]))


def _parse_records(
    records: list[tuple[int, object]], origin: str, mark: str
) -> tuple[list[RawItem], list[tuple[str, str]]]:
    """Parse numbered records, collecting (``#N`` or ``:line``, reason) for the bad ones."""
    items: list[RawItem] = []
    errors: list[tuple[str, str]] = []
    for number, record in records:
        try:
            items.append(parse_seed_record(record, f"{origin}#{number}"))
        except _SeedProblem as problem:
            errors.append((f"{mark}{number}", problem.reason))
    return items, errors


def parse_seed_record(record: object, origin: str) -> RawItem:
    """Turn one JSON seed record (title, text, published, url, source, language) into a RawItem.

    Raises:
        SourceError: the record is not an object, or lacks a non-empty ``title`` or ``text``.
    """
    if not isinstance(record, dict):
        raise _SeedProblem(f"expected a JSON object, found {type(record).__name__}")
    fields = {key: _string_field(record, key) for key in _RECORD_KEYS}
    for required in ("title", "text"):
        if not (fields[required] or "").strip():
            raise _SeedProblem(f'missing "{required}": expected a non-empty string')
    title, site = _split_headline(fields["title"] or "")
    page_date = parse_iso_date(fields["published"] or "")
    problems: tuple[str, ...] = ()
    if page_date is None:
        published = fields["published"]
        problems = (f"published {published!r} is not an ISO date; page date unknown",)
        problems = problems if published else ("no published date; page date unknown",)
    meta = _Meta(site, fields["source"], fields["url"], fields["language"], page_date)
    body = clean_body((fields["text"] or "").split("\n"), (title,), site, join_wrapped=False)
    return _build_item(origin, title, body, meta, problems)


def _string_field(record: dict[str, object], key: str) -> str | None:
    """Fetch an optional string field; a value of another type is an error, not a guess."""
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _SeedProblem(f'"{key}" must be a string, found {type(value).__name__}')
