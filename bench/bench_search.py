"""Whole-store full-text search on a large store (issues 5 and 6): the three searched reads.

For each search string it times, on the full-text index of migration 0004 (and the lookup
indexes of 0006):

* **overview**: ``queries.daily_signal_stats`` with the search (the totals cannot answer a search,
  so this is the detailed query over the hits);
* **article list**: ``insights.article_rows`` as the Articles page asks (relevant only, newest
  first, 1,000 rows + 1);
* **EPU share**: ``insights.share_counts`` (all articles and relevant ones above 0.5, per day and
  source).

*Cold* is the first call in a fresh process (new engine, empty SQLite page cache; the operating
system's file cache is not dropped, other jobs share the machine). *Warm* is the median of
``--rounds`` further calls in one process, wall time and the process's CPU time (which other jobs
on the machine inflate less than the wall time). ``--baseline`` also times the old substring search
(``ILIKE '%q%'`` on title and text) for the overview and the plain newest-first list, for the
first and the fifth string, for comparison.

Usage (fill a store with ``bench.fill_store``, copy it, ``policy-risk db upgrade`` the copy):
    .venv/bin/python -m bench.bench_search --db /tmp/prm-bench/fts1m.db
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, func, or_, select

from bench.timing import cold_ms, load, wall_ms, warm_ms
from pipeline import insights, queries, schema, search
from pipeline.insights import ArticleQuery
from pipeline.store import open_store

SIGNALS = ["decertification_risk", "cooperation_tone"]
KINDS = {"decertification_risk": "risk", "cooperation_tone": "tone"}
SEARCHES = ["decertification", "certif", "cocaine Petro", "descertificación", "glifosato"]
READS = ("overview", "article list", "EPU share")


def _filter(query: str) -> queries.ArticleFilter:
    return queries.ArticleFilter(search=query, relevant_only=True, relevance_threshold=0.5)


def read(engine: Engine, name: str, query: str) -> int:
    """Run one of the dashboard's searched reads; return the rows it gave."""
    flt = _filter(query)
    if name == "overview":
        return len(queries.daily_signal_stats(engine, SIGNALS, flt))
    if name == "article list":
        return len(insights.article_rows(engine, SIGNALS, ArticleQuery(flt=flt), limit=1001))
    return len(insights.share_counts(engine, KINDS, flt, 0.5))


def hits(engine: Engine, text: str) -> int:
    """How many articles the search matches (the index's own count)."""
    clause = search.matches(text)
    if clause is None:
        return 0
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(clause)).scalar_one())


def baseline_ms(engine: Engine, query: str) -> tuple[float, float]:
    """The substring search this index replaced (one call each): overview, newest-first list."""
    a = schema.articles
    pattern = f"%{query}%"
    substring = or_(a.c.title.ilike(pattern), a.c.text.ilike(pattern))
    overview = queries._daily_detailed(SIGNALS, _filter("")).where(substring)
    listed = select(a.c.article_id).where(substring).order_by(a.c.event_date.desc()).limit(1001)
    with engine.connect() as conn:
        overview_ms = wall_ms(lambda: conn.execute(overview).all())
        return overview_ms, wall_ms(lambda: conn.execute(listed).all())


def main() -> None:
    """Time the searched reads, cold and warm, and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--search", action="append", help="a search string (repeatable)")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--one", nargs=2, metavar=("READ", "SEARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    engine = open_store(f"sqlite:///{args.db}", create=False)
    if args.one:
        print(f"{wall_ms(lambda: read(engine, args.one[0], args.one[1])):.1f}")  # noqa: T201
        return
    print(f"load average before: {load()}")  # noqa: T201
    print("| search | hits | read | rows | cold ms | warm ms | warm CPU ms |")  # noqa: T201
    print("|---|---:|---|---:|---:|---:|---:|")  # noqa: T201
    for wanted in args.search or SEARCHES:
        found = hits(engine, wanted)
        for name in READS:
            cold = cold_ms("bench.bench_search", ["--db", str(args.db), "--one", name, wanted])
            rows = read(engine, name, wanted)
            warm, cpu = warm_ms(partial(read, engine, name, wanted), args.rounds)
            times = f"{cold:,.0f} | {warm:,.0f} | {cpu:,.0f}"
            line = f"| {wanted} | {found:,} | {name} | {rows:,} | {times} |"
            print(line, flush=True)  # noqa: T201
    if args.baseline:
        for query in (args.search or SEARCHES)[::4]:
            overview, listed = baseline_ms(engine, query)
            print(f"substring ILIKE {query!r}: overview {overview:,.0f} ms, list {listed:,.0f} ms")  # noqa: T201
    print(f"load average after: {load()}")  # noqa: T201
    engine.dispose()


if __name__ == "__main__":
    main()
