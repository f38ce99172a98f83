"""Does a write cost the same on a big store as on a small one? Compare them side by side.

Model scoring costs the same per article whatever the store's size, so "time per article stays
flat from 100k to 1M" is a question about the store's writes. On a shared machine the load
changes from minute to minute, so timing the two sizes an hour apart compares the load, not the
store. This script alternates: one batch of new articles into store A, one into store B, and so
on, timing raw-payload saving + article upsert ("ingest", normalising excluded) and score saving
with synthetic scores (three signals, as the pipeline writes), and reports ms per article for
each store. It appends to the stores it is given (use copies, or bench stores). With
``--statements`` it also prints, per store, the CPU per article of each SQL statement and of the
commits (as ``bench_commits`` does), so a growth can be traced to the statement that grows.

Usage:
    python -m bench.probe_growth sqlite:////tmp/bench/100k.db sqlite:////tmp/bench/1m.db
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import defaultdict
from itertools import islice
from typing import Any

from bench.bench_commits import Seconds, _watch_statements, largest_first
from bench.generate_articles import generate_items
from pipeline import store
from pipeline.normalise import normalise_item
from pipeline.records import Score

VERSIONS = {
    "decertification_risk": "probe-d",
    "cooperation_tone": "probe-c",
    "relevance": "probe-r",
}
EXPLANATION = '{"up": [["coca", 0.12], ["sanciones", 0.05]], "down": [["football", -0.2]]}'


def _batch(engine: Any, items: list[Any], rng: random.Random) -> tuple[float, float]:
    """Write one batch; return (ingest seconds, save-scores seconds)."""
    now = store.now_utc()
    articles = [normalise_item(item, now) for item in items]
    start = time.perf_counter()
    store.save_raw_items(engine, items)
    store.upsert_articles(engine, articles)
    middle = time.perf_counter()
    scores = [
        Score(a.article_id, signal, rng.random(), version, now, explanation=EXPLANATION)
        for a in articles
        for signal, version in VERSIONS.items()
    ]
    store.save_scores(engine, scores, {a.article_id: a.content_hash for a in articles})
    return middle - start, time.perf_counter() - middle


def main() -> None:
    """Alternate batches between the stores and print ms per article for each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+", help="store URLs to compare")
    parser.add_argument("--batches", type=int, default=30, help="batches per store")
    parser.add_argument("--batch", type=int, default=1000, help="articles per batch")
    parser.add_argument("--seed", type=int, default=1, help="change it for every run: new articles")
    parser.add_argument(
        "--statements", action="store_true", help="also print each statement's CPU per article"
    )
    args = parser.parse_args()
    engines = [store.open_store(url) for url in args.urls]
    spent: list[Seconds] = [defaultdict(float) for _ in engines]
    if args.statements:
        for engine, counter in zip(engines, spent, strict=True):
            _watch_statements(engine, counter)
    items = generate_items(args.batches * args.batch * len(engines), seed=1_000_000 + args.seed)
    rng = random.Random(7)
    timings: list[list[tuple[float, float]]] = [[] for _ in engines]
    for _ in range(args.batches):
        for number, engine in enumerate(engines):
            timings[number].append(_batch(engine, list(islice(items, args.batch)), rng))
    for url, rows in zip(args.urls, timings, strict=True):
        ingest = 1000 * statistics.fmean(r[0] for r in rows) / args.batch
        save = 1000 * statistics.fmean(r[1] for r in rows) / args.batch
        print(f"{url}: ingest {ingest:.3f} ms/article, save_scores {save:.3f} ms/article")  # noqa: T201
    if args.statements:
        written = args.batches * args.batch
        for url, counter in zip(args.urls, spent, strict=True):
            print(url, "CPU µs per article by statement:")  # noqa: T201
            for statement, seconds in largest_first(counter):
                print(f"  {1e6 * seconds / written:8.1f}  {statement}")  # noqa: T201


if __name__ == "__main__":
    main()
