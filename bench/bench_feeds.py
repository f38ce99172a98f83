"""Benchmark feed ingestion: 500 local feeds of 50 entries, then the same run again unchanged.

Usage (from the repository root):  .venv/bin/python bench/bench_feeds.py [--feeds 500 --entries 50]

A child process serves the feeds (with ETags) from 127.0.0.1, so the figures are the ingesting
process's own: fetch + parse + normalise + upsert into a temporary SQLite file, no scoring.
The second run must be almost free: every feed answers 304 Not Modified.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import Config  # noqa: E402
from pipeline.feed_cycle import collect_feeds  # noqa: E402
from pipeline.feed_health import record_articles_added  # noqa: E402
from pipeline.normalise import normalise_item  # noqa: E402
from pipeline.store import now_utc, open_store, save_raw_items, upsert_articles  # noqa: E402
from tests.feed_server import FeedServer, rss, story  # noqa: E402


def _serve(feeds: int, entries: int, ports: multiprocessing.Queue[str], stop: object) -> None:
    server = FeedServer()
    for number in range(feeds):
        items = [story(number * 1000 + i, host=f"site{number}.example") for i in range(entries)]
        server.add(
            f"/feed/{number}.xml",
            rss(f"Feed {number}", items),
            etag=f'"{number}"',
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        )
    server.start()
    ports.put(server.base_url)
    stop.wait()  # type: ignore[attr-defined]
    server.close()


def _config(base_url: str, feeds: int, database: Path) -> Config:
    return Config.model_validate(
        {
            "database": {"url": f"sqlite:///{database}"},
            "sources": {
                "feeds": [
                    {"name": f"feed-{n}", "url": f"{base_url}/feed/{n}.xml"} for n in range(feeds)
                ],
                "fetch": {"allow_private_addresses": True, "concurrency": 8, "per_host": 8},
            },
            "signals": {"risk": {"label": "Risk", "weight": 1.0}},
        }
    )


def _run(config: Config) -> tuple[float, int, int, dict[str, int]]:
    engine = open_store(config.database.url)
    started = time.perf_counter()
    outcomes = collect_feeds(config, engine)
    added: dict[str, int] = {}
    entries = 0
    for outcome in outcomes:
        if outcome.status != "ok":
            continue
        entries += len(outcome.items)
        save_raw_items(engine, outcome.items)
        at = now_utc()
        articles = [normalise_item(i, at) for i in outcome.items]
        added[outcome.name] = upsert_articles(engine, articles).added
    record_articles_added(engine, added)
    statuses: dict[str, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return time.perf_counter() - started, entries, sum(added.values()), statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=50)
    args = parser.parse_args()
    context = multiprocessing.get_context("fork")
    ports: multiprocessing.Queue[str] = context.Queue()
    stop = context.Event()
    child = context.Process(
        target=_serve, args=(args.feeds, args.entries, ports, stop), daemon=True
    )
    child.start()
    try:
        base_url = ports.get(timeout=60)
        with tempfile.TemporaryDirectory() as folder:
            config = _config(base_url, args.feeds, Path(folder) / "bench.db")
            for label in ("first run", "second run (unchanged)"):
                wall, entries, added, statuses = _run(config)
                rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(  # noqa: T201 - a benchmark reports on stdout
                    f"{label}: {args.feeds} feeds x {args.entries} entries: wall {wall:.2f} s, "
                    f"{entries} entries parsed, {added} articles added, "
                    f"{entries / wall:,.0f} articles/s, peak RSS {rss_mb:.0f} MB, "
                    f"feeds {statuses}"
                )
    finally:
        stop.set()
        child.join(timeout=10)


if __name__ == "__main__":
    main()
