"""The article write on its own: CPU per article of ``store.upsert_articles`` into a new store.

Normalising and generating are done before the clock starts, and no scores are saved, so the
figure is what storing new articles costs: the row, its lookup indexes, the full-text index
(SQLite: the FTS5 table, migration 0012), the score-key and volume rows. With ``--scores`` each
batch is then also given three scores per article (fixed values, a 300-byte explanation each,
no model) through ``store.save_scores``, timed apart: the score write on its own (history,
current scores, totals, and on SQLite the copies of migration 0013). Batches of ``--batch``
articles, one transaction each, as ``pipeline.run`` writes them. Prints one JSON line per round
(the process's CPU time and the wall time per article); run it from two checkouts alternately to
compare revisions, since other jobs on a shared machine move single runs by 10-20 %.

Usage:
    .venv/bin/python -m bench.bench_upsert --db /tmp/bench/upsert.db --n 30000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import time
from itertools import islice
from pathlib import Path
from typing import Any

from bench.generate_articles import generate_items
from pipeline import store
from pipeline.normalise import normalise_item
from pipeline.records import Article, Score


def normalised_articles(n: int) -> list[Article]:
    """``n`` synthetic articles, normalised before any clock starts (shared with bench_commits)."""
    now = store.now_utc()
    return [normalise_item(item, now) for item in islice(generate_items(n), n)]


SIGNALS = ("decertification_risk", "cooperation_tone", "relevance")
EXPLANATION = '{"terms": [' + ", ".join(['["word", 0.123]'] * 18) + "]}"  # about 300 bytes


def fixed_scores(batch: list[Article]) -> list[Score]:
    """Three scores per article, fixed values and a 300-byte explanation: the write, no model."""
    now = store.now_utc()
    return [
        Score(a.article_id, signal, (i % 97) / 97, "bench-v1", now, explanation=EXPLANATION)
        for i, a in enumerate(batch)
        for signal in SIGNALS
    ]


def one_round(
    db: Path, articles: list[Article], batch: int, window: int, scores: bool = False
) -> dict[str, Any]:
    """Write ``articles`` into a new store at ``db``; return the cost per article, overall and
    per ``window`` articles (does it grow with the store?), and with ``scores`` the score saves'
    own CPU per article."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = store.open_store(f"sqlite:///{db}")
    windows: list[float] = []
    cpu, wall = time.process_time(), time.perf_counter()
    window_cpu, window_start = cpu, 0
    saving = 0.0
    for start in range(0, len(articles), batch):
        chunk = articles[start : start + batch]
        store.upsert_articles(engine, chunk)
        if scores:
            made = fixed_scores(chunk)
            began = time.process_time()
            store.save_scores(engine, made, {a.article_id: a.content_hash for a in chunk})
            saving += time.process_time() - began
        done = min(start + batch, len(articles))
        if done - window_start >= window or done == len(articles):
            now = time.process_time()
            windows.append(round(1000 * (now - window_cpu) / (done - window_start), 3))
            window_cpu, window_start = now, done
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    n = len(articles)
    saved = {"score_save_cpu_ms_per_article": round(1000 * saving / n, 3)} if scores else {}
    return {
        **saved,
        "cpu_ms_per_article": round(1000 * cpu / n, 3),
        "wall_ms_per_article": round(1000 * wall / n, 3),
        "cpu_ms_per_article_per_window": windows,
    }


def main() -> None:
    """Print the cost of each round as a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to (re)create")
    parser.add_argument("--n", type=int, default=30_000, help="articles per round")
    parser.add_argument("--batch", type=int, default=1000, help="articles per transaction")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=int, default=10_000, help="articles per window figure")
    parser.add_argument("--scores", action="store_true", help="also save three scores each")
    args = parser.parse_args()
    articles = normalised_articles(args.n)
    for _ in range(args.rounds):
        figures = one_round(args.db, articles, args.batch, args.window, args.scores)
        print(json.dumps({"n": args.n, **figures}), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
