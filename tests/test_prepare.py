"""Preparing ingest batches: what a worker gets is what this process would have built."""

from __future__ import annotations

import pickle
import tracemalloc
from datetime import UTC, date, datetime

from pipeline.prepare import prepare_batch, prepare_here, prepare_wired, wire_items
from pipeline.records import RawItem

FETCHED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _item(n: int) -> RawItem:
    return RawItem(
        origin=f"archivo/{n}.jsonl",
        source="El Diario",
        title=f"Descertificación {n}: la revisión anual\u00a0llega",
        text=f"Washington evalúa la cooperación antidrogas de Colombia ({n}).\n\n" * 40,
        url=f"https://example.org/nota/{n}",
        language="es",
        page_date=date(2026, 3, 1),
        event_date=date(2026, 2, 27),
        guid=f"nota-{n}",
        fetched_at=FETCHED,
    )


def _retained_by_pickling(payload: object) -> int:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        pickle.dumps(payload)
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_items_sent_to_a_worker_leave_no_utf8_copy_in_this_process() -> None:
    sent, plain = _item(1), _item(2)
    size = len(plain.text.encode())
    assert _retained_by_pickling([plain]) >= size  # a plain pickle keeps a copy in the str
    assert _retained_by_pickling(wire_items([sent])) < size // 2  # bookkeeping only


def test_a_worker_builds_the_same_batch_from_the_wired_items() -> None:
    items = [_item(n) for n in range(5)]
    now = datetime(2026, 3, 3, tzinfo=UTC)
    wired = pickle.loads(pickle.dumps(wire_items(items)))
    assert prepare_wired(wired, now) == prepare_batch(items, now)
    assert prepare_batch(items, now).articles[0].title.startswith("Descertificación 0")


def test_batches_prepared_here_come_in_order() -> None:
    items = [_item(n) for n in range(7)]
    prepared = list(prepare_here([items[:3], items[3:]]))
    assert [len(p.articles) for p in prepared] == [3, 4]
    assert [a.url for p in prepared for a in p.articles] == [i.url for i in items]
    assert [row["origin"] for p in prepared for row in p.payload_rows] == [i.origin for i in items]
