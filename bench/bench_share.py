"""The EPU share view without a text search on a large store (issue 5): totals against articles.

``insights.share_counts`` answers the share view from the share counts of the daily totals
(revision 0007) when both thresholds sit on the 0.05 grid and there is no text search. This script
times that read and, for comparison, the query it replaced (every article and its scores through
the covering indexes of 0006, ``insights._share_from_articles``), over the whole range, the last
90 days, one source and one language, and checks that both give the same counts.

*Cold* is the first call in a fresh process (new engine, empty SQLite page cache; the operating
system's file cache is not dropped). *Warm* is the median of ``--rounds`` further calls in one
process, wall time and the process's CPU time.

Usage (a store at revision 0007: ``bench.fill_store``, then ``policy-risk db upgrade``):
    .venv/bin/python -m bench.bench_share --db /tmp/prm-bench/share1m.db
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select

from pipeline import insights, queries, schema
from pipeline.store import open_store

KINDS = {"decertification_risk": "risk", "cooperation_tone": "tone"}
THRESHOLD = 0.5
SCOPES = ("whole range", "last 90 days", "one source", "one language")
PATHS = ("totals", "articles")


def scope_filter(engine: Engine, scope: str) -> queries.ArticleFilter:
    """The sidebar filter of one scope (relevance gate 0.5, as the dashboard's default)."""
    if scope == "last 90 days":
        with engine.connect() as conn:
            last = conn.execute(select(func.max(schema.articles.c.event_date))).scalar_one()
        return queries.ArticleFilter(start=last - timedelta(days=89), end=last)
    if scope == "one source":
        return queries.ArticleFilter(sources=tuple(queries.list_sources(engine)[:1]))
    if scope == "one language":
        return queries.ArticleFilter(languages=tuple(queries.list_languages(engine)[:1]))
    return queries.ArticleFilter()


def read(engine: Engine, path: str, scope: str) -> pd.DataFrame:
    """The share counts of one scope by one path."""
    flt = scope_filter(engine, scope)
    if path == "totals":
        return insights.share_counts(engine, KINDS, flt, THRESHOLD)
    stmt = insights._share_from_articles(KINDS, flt, THRESHOLD)
    return queries._frame(engine, stmt, ["day", "source", "articles", *KINDS])


def _wall_cpu_ms(engine: Engine, path: str, scope: str) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    read(engine, path, scope)
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def cold_ms(db: Path, path: str, scope: str) -> float:
    """The read's wall time as the first call of a fresh process."""
    command = [sys.executable, "-m", "bench.bench_share", "--db", str(db), "--one", path, scope]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main() -> None:
    """Time both paths per scope, cold and warm, check they agree, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--one", nargs=2, metavar=("PATH", "SCOPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    engine = open_store(f"sqlite:///{args.db}", create=False)
    if args.one:
        print(f"{_wall_cpu_ms(engine, *args.one)[0]:.1f}")  # noqa: T201
        return
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average before: {load}")  # noqa: T201
    print("| scope | path | rows | cold ms | warm ms | warm CPU ms |")  # noqa: T201
    print("|---|---|---:|---:|---:|---:|")  # noqa: T201
    for scope in SCOPES:
        frames = {}
        for path in PATHS:
            cold = cold_ms(args.db, path, scope)
            frames[path] = read(engine, path, scope)
            runs = [_wall_cpu_ms(engine, path, scope) for _ in range(args.rounds)]
            warm = statistics.median(wall for wall, _cpu in runs)
            cpu = statistics.median(cpu for _wall, cpu in runs)
            rows = len(frames[path])
            line = f"| {scope} | {path} | {rows:,} | {cold:,.0f} | {warm:,.0f} | {cpu:,.0f} |"
            print(line, flush=True)  # noqa: T201
        same = frames["totals"].astype(str).equals(frames["articles"].astype(str))
        if not same:
            raise SystemExit(f"the two paths disagree for {scope!r}")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after: {load}; both paths gave the same counts")  # noqa: T201


if __name__ == "__main__":
    main()
