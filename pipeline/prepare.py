"""Raw items -> what one ingest transaction writes: their payload rows and normalised articles.

This is pure CPU work, no store access: about 0.2 ms per article (cleaning, hashing, the
payload's JSON), a fifth of what the run process spends per article on a long ingest while
the scoring workers wait for it (docs/benchmarks.md). So a long ingest hands it to the
workers (``pipeline.parallel_scoring.BackgroundScorer.prepare``), a batch or two ahead of the
writes; everything else prepares here, one batch at a time. Either way the batches come back
in order and each is stored raw payloads first, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pipeline import store
from pipeline.normalise import normalise_item
from pipeline.records import Article, RawItem


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """One ingest batch, ready to write."""

    payload_rows: list[dict[str, Any]]
    articles: list[Article]

    @staticmethod
    def joined(parts: Iterable[PreparedBatch]) -> PreparedBatch:
        """One batch of the parts, in their order (a batch split across workers)."""
        rows: list[dict[str, Any]] = []
        articles: list[Article] = []
        for part in parts:
            rows.extend(part.payload_rows)
            articles.extend(part.articles)
        return PreparedBatch(rows, articles)


def prepare_batch(items: Sequence[RawItem], ingested_at: datetime) -> PreparedBatch:
    """Build the payload rows and the articles of ``items``."""
    return PreparedBatch(
        store.payload_rows(items), [normalise_item(item, ingested_at) for item in items]
    )


# An item on its way to a worker: the item without its title and text, then both as UTF-8.
WiredItem = tuple[RawItem, bytes, bytes]


def wire_items(items: Sequence[RawItem]) -> list[WiredItem]:
    """The items to send to a worker, their title and text as bytes.

    Pickling a str with non-ASCII characters leaves a UTF-8 copy inside the str for as long as
    it lives: sent as they are, every Spanish article of a long ingest carried a second copy of
    its text until the whole source was stored (hundreds of MB over a seed archive).
    ``str.encode`` makes a separate copy, freed once it is sent.
    """
    return [
        (replace(item, title="", text=""), item.title.encode(), item.text.encode())
        for item in items
    ]


def prepare_wired(wired: Sequence[WiredItem], ingested_at: datetime) -> PreparedBatch:
    """``prepare_batch`` of items sent by ``wire_items`` (in a worker)."""
    items = [replace(item, title=title.decode(), text=text.decode()) for item, title, text in wired]
    return prepare_batch(items, ingested_at)


def prepare_here(batches: Iterable[Sequence[RawItem]]) -> Iterator[PreparedBatch]:
    """Prepare each batch in this process when it is asked for."""
    for items in batches:
        yield prepare_batch(items, store.now_utc())
