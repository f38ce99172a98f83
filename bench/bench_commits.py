"""What one write transaction costs as the store grows, by statement, and which pages it rewrites.

On SQLite each commit appends every page the transaction changed to the write-ahead log, and
the checkpoint copies them into the file. New articles carry random keys (hashed ids, content
hashes, dates over years, score values), so once an index outgrows a batch nearly every new
row lands on a page of its own: the pages written per article grow with the store until every
index is that large, and shrink with bigger transactions. This script writes ``--n`` new
articles with three scores each (as ``bench_upsert --scores``: fixed values, no model) in
transactions of ``--batch`` articles, and prints per window the process's CPU per article in
all, in the commits, and in each statement. With ``--pages`` it then writes one more batch with
checkpoints off and counts the log frames of each commit by the table or index they belong to.

Usage:
    .venv/bin/python -m bench.bench_commits --db /tmp/bench/commits.db --n 60000 --batch 1000
"""

from __future__ import annotations

import argparse
import json
import struct
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bench.bench_upsert import fixed_scores, normalised_articles
from pipeline import store
from pipeline.records import Article

_WAL_HEADER, _FRAME_HEADER = 32, 24


Seconds = defaultdict[str, float]  # CPU seconds by statement


def largest_first(spent: Seconds) -> list[tuple[str, float]]:
    """The statements, dearest first."""
    return sorted(spent.items(), key=lambda item: item[1], reverse=True)


def _timed(counter: Seconds, key: str, work: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        began = time.process_time()
        try:
            return work(*args)
        finally:
            counter[key] += time.process_time() - began

    return run


def _watch_statements(engine: Engine, counter: Seconds) -> None:
    """Add each statement's CPU to ``counter`` under its first words, and the commits'."""
    began: dict[int, float] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, *_: Any) -> None:
        began[id(conn)] = time.process_time()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counter[" ".join(statement.split()[:3])] += time.process_time() - began.pop(id(conn))

    engine.dialect.do_commit = _timed(counter, "COMMIT", engine.dialect.do_commit)  # type: ignore[method-assign]


def _write(engine: Engine, batch: list[Article]) -> None:
    store.upsert_articles(engine, batch)
    store.save_scores(engine, fixed_scores(batch), {a.article_id: a.content_hash for a in batch})


def _log_frames(wal: Path, start: int, end: int) -> list[int]:
    """Page numbers of the log frames between bytes ``start`` and ``end``."""
    data = wal.read_bytes()[:end]
    page_size = struct.unpack(">I", data[8:12])[0]
    pages, at = [], max(start, _WAL_HEADER)
    while at + _FRAME_HEADER + page_size <= len(data):
        pages.append(struct.unpack(">I", data[at : at + 4])[0])
        at += _FRAME_HEADER + page_size
    return pages


def pages_per_commit(db: Path, batch: list[Article]) -> dict[str, dict[str, int]]:
    """Write one batch with checkpoints off; per commit, log frames by table or index."""
    engine = store.open_store(f"sqlite:///{db}")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        owners: dict[int, str] = dict(conn.exec_driver_sql("SELECT pageno, name FROM dbstat").all())
    engine.dispose()
    event.listen(engine, "connect", lambda dbapi, _r: dbapi.execute("PRAGMA wal_autocheckpoint=0"))
    wal = Path(f"{db}-wal")
    store.upsert_articles(engine, batch)
    after_ingest = wal.stat().st_size
    store.save_scores(engine, fixed_scores(batch), {a.article_id: a.content_hash for a in batch})
    after_scores = wal.stat().st_size
    frames = {
        "ingest": _log_frames(wal, 0, after_ingest),
        "scores": _log_frames(wal, after_ingest, after_scores),
    }
    engine.dispose()
    return {
        commit: dict(Counter(owners.get(p, "(new page)") for p in pages).most_common())
        for commit, pages in frames.items()
    }


def main() -> None:
    """Print one JSON line per window, then (``--pages``) the pages of one more batch."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to (re)create")
    parser.add_argument("--n", type=int, default=60_000, help="articles to write")
    parser.add_argument("--batch", type=int, default=1000, help="articles per transaction")
    parser.add_argument("--window", type=int, default=20_000, help="articles per window figure")
    parser.add_argument("--pages", action="store_true", help="count the pages of one more batch")
    args = parser.parse_args()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    articles = normalised_articles(args.n + args.batch)
    engine = store.open_store(f"sqlite:///{args.db}")
    spent: Seconds = defaultdict(float)
    _watch_statements(engine, spent)
    window_start, cpu = 0, time.process_time()
    for start in range(0, args.n, args.batch):
        _write(engine, articles[start : min(start + args.batch, args.n)])
        done = min(start + args.batch, args.n)
        if done - window_start >= args.window or done == args.n:
            size, now = done - window_start, time.process_time()
            per_article = {k: round(1e6 * v / size, 1) for k, v in largest_first(spent)}
            row = {
                "articles": done,
                "batch": args.batch,
                "cpu_us_per_article": round(1e6 * (now - cpu) / size, 1),
                "by_statement_us": per_article,
            }
            print(json.dumps(row), flush=True)  # noqa: T201
            spent.clear()
            window_start, cpu = done, now
    engine.dispose()
    if args.pages:
        tail = articles[args.n : args.n + args.batch]
        print(json.dumps({"pages_per_commit": pages_per_commit(args.db, tail)}))  # noqa: T201


if __name__ == "__main__":
    main()
