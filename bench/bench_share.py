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

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from bench.timing import comparison_main
from pipeline import insights, queries, schema

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


def main() -> None:
    """Time both paths per scope, cold and warm, check they agree, print a Markdown table."""
    comparison_main("bench.bench_share", __doc__, SCOPES, PATHS, read, 4)


if __name__ == "__main__":
    main()
