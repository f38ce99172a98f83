"""Read feed subscriptions from OPML and add them to ``config.yaml``, keeping its comments.

The config file stays the one place feeds are defined; ``feeds import`` edits it the way a person
would (round-trip YAML, comments kept, written atomically) rather than keeping a second list in
the database. OPML files come from other tools and the web, so a DOCTYPE (the door to entity
expansion and external entities) is refused before the XML parser sees the file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from pipeline.config import FeedConfig, explain_error, line_suffix, read_yaml
from pipeline.errors import ConfigError, SourceError
from pipeline.fetch import host_of
from pipeline.urls import canonical_url, is_web_url

MAX_OPML_BYTES = 5_000_000
_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_EMPTY_FLOW_LIST = re.compile(r"feeds:\s*\[\s*\]")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Which feeds an import added, and which it left out and why."""

    added: list[FeedConfig]
    skipped: list[tuple[str, str]]


def read_opml(path: Path) -> tuple[list[FeedConfig], list[tuple[str, str]]]:
    """Return the feeds an OPML file lists, and the outlines it could not use (with reasons)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read OPML file: {exc.strerror or exc}") from None
    if len(data) > MAX_OPML_BYTES:
        raise SourceError(f"{path}: OPML file larger than {MAX_OPML_BYTES:,} bytes")
    if _DECLARATION.search(data):
        raise SourceError(f"{path}: OPML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise SourceError(f"{path}: not valid OPML: {exc}") from None
    feeds: list[FeedConfig] = []
    skipped: list[tuple[str, str]] = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        name = (outline.get("title") or outline.get("text") or host_of(url) or url).strip()
        if not is_web_url(url):
            skipped.append((name, f"expected an http:// or https:// URL, got {url[:80]!r}"))
            continue
        try:
            feeds.append(FeedConfig(name=" ".join(name.split())[:200] or host_of(url), url=url))
        except ValidationError as exc:
            skipped.append((name, explain_error(exc.errors()[0])))
    return feeds, skipped


def import_opml(config_path: Path, opml_path: Path, existing: list[FeedConfig]) -> ImportResult:
    """Add the OPML file's feeds that the config lacks (by URL) to ``sources.feeds``."""
    feeds, skipped = read_opml(opml_path)
    urls = {same_feed_key(f.url) for f in existing}
    names = {f.name for f in existing}
    added: list[FeedConfig] = []
    for feed in feeds:
        if same_feed_key(feed.url) in urls:
            skipped.append((feed.name, "already in the config"))
            continue
        name = _unique_name(feed.name, names)
        added.append(feed.model_copy(update={"name": name}))
        urls.add(same_feed_key(feed.url))
        names.add(name)
    if added:
        append_feeds(config_path, added)
    return ImportResult(added, skipped)


def same_feed_key(url: str) -> str:
    """The URL as compared for "already configured": the articles' canonical form (scheme and
    host in any case, no fragment or tracking parameters), which fetches the same feed."""
    return canonical_url(url) or url.strip()


def _unique_name(name: str, taken: set[str]) -> str:
    candidate, number = name, 2
    while candidate in taken:
        suffix = f" ({number})"
        candidate, number = name[: 200 - len(suffix)] + suffix, number + 1
    return candidate


def append_feeds(config_path: Path, feeds: list[FeedConfig]) -> None:
    """Append feeds to ``sources.feeds`` in the YAML file, keeping comments; write atomically.

    When the file already lists feeds as a block list, the new entries are inserted as text after
    its last entry, so every existing line stays byte for byte (QA3 #9: a round-trip dump
    re-quoted names and URLs and re-aligned comments). Other shapes (no list yet, a flow list)
    go through the round-trip dump, which keeps comments.
    """
    text = _text_with_feeds(config_path, feeds)
    if text is not None:
        _write_text_atomically(config_path, text)
        return
    document = read_yaml(config_path)
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            f"{config_path.name}: expected a mapping of settings at the top level (line 1)"
        )
    sources = document.setdefault("sources", CommentedMap())
    if not isinstance(sources, dict):
        raise ConfigError(
            f"{config_path.name}: sources: expected a mapping{line_suffix(document, 'sources')}"
        )
    entries = sources.get("feeds")
    if entries is None:
        entries = sources["feeds"] = CommentedSeq()
    if not isinstance(entries, list):
        raise ConfigError(
            f"{config_path.name}: sources.feeds: expected a list{line_suffix(sources, 'feeds')}"
        )
    if isinstance(entries, CommentedSeq):
        entries.fa.set_block_style()  # `feeds: []` would otherwise grow into one long flow line
    for feed in feeds:
        entries.append(CommentedMap({"name": feed.name, "url": feed.url}))
    _write_atomically(config_path, document)


def _text_with_feeds(config_path: Path, feeds: list[FeedConfig]) -> str | None:
    """The file's text with ``feeds`` inserted after the last block-list entry (or in place of an
    empty ``feeds: []``), or None for other shapes or when the result would not read back."""
    document = read_yaml(config_path)
    sources = document.get("sources") if isinstance(document, dict) else None
    entries = sources.get("feeds") if isinstance(sources, dict) else None
    if not isinstance(entries, CommentedSeq):
        return None
    lines = config_path.read_text(encoding="utf-8").splitlines(keepends=True)
    place = _insertion_point(lines, sources, entries)
    if place is None:
        return None
    end, dash = place
    newline = "\r\n" if lines[end].endswith("\r\n") else "\n"
    added = "".join(" " * dash + line + newline for line in _render_entries(feeds).splitlines())
    if not lines[end].endswith(("\n", "\r")):
        lines[end] += newline
    text = "".join([*lines[: end + 1], added, *lines[end + 1 :]])
    after = _read_yaml_text(text)
    listed = after.get("sources", {}).get("feeds") if isinstance(after, dict) else None
    expected = [*entries, *({"name": f.name, "url": f.url} for f in feeds)]
    return text if listed == expected else None


def _insertion_point(
    lines: list[str], sources: Any, entries: CommentedSeq
) -> tuple[int, int] | None:
    """(line to insert after, column of the dashes); an empty ``feeds: []`` loses its ``[]``."""
    if not entries:
        line, column = sources.lc.key("feeds")
        match = _EMPTY_FLOW_LIST.match(lines[line], column)
        if match is None:  # e.g. `[` and `]` on two lines: left to the round trip
            return None
        lines[line] = lines[line][:column] + "feeds:" + lines[line][match.end() :]
        return line, column + 2
    if entries.fa.flow_style():
        return None
    first_line, first_column = entries.lc.item(0)
    dash = lines[first_line].rfind("-", 0, first_column)
    if dash < 0 or lines[first_line][dash + 1 : first_column].strip():
        return None  # the item does not start on its dash's line
    return _last_line_of_list(lines, entries.lc.item(len(entries) - 1)[0], dash), dash


def _last_line_of_list(lines: list[str], last_item: int, dash: int) -> int:
    """The last non-blank line of the list whose items start at column ``dash``."""
    end = last_item
    for number in range(last_item + 1, len(lines)):
        stripped = lines[number].strip()
        if not stripped:
            continue
        indent = len(lines[number]) - len(lines[number].lstrip(" "))
        if indent <= dash and not (indent == dash and stripped.startswith("#")):
            break
        end = number
    return end


def _render_entries(feeds: list[FeedConfig]) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=2, offset=0)
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump([{"name": feed.name, "url": feed.url} for feed in feeds], stream)
    return stream.getvalue()


def _read_yaml_text(text: str) -> Any:
    try:
        return YAML(typ="safe").load(text)
    except YAMLError:
        return None


def _write_text_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_atomically(path: Path, document: Any) -> None:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of the shipped config.yaml
    yaml.width = 4096  # never re-wrap what the analyst wrote
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yaml.dump(document, stream)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
