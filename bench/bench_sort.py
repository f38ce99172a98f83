"""The Articles page sorted by a score on a large store (issue 5): rank-index walk against sorting.

``insights.article_rows`` sorted by a score walks that score's rank index (revision 0008) when
the filter keeps many articles, and stops once the page (1,001 rows, as the Articles page asks)
is full. This script times that read ("walk") and, for comparison, the query it replaced, which
joins every matching article to its scores and sorts them all ("sort all",
``insights._rows(..., walk=False)``), and checks both give the same page.

*Cold* is the first call in a fresh process (new engine, empty SQLite page cache; the operating
system's file cache is not dropped). *Warm* is the median of ``--rounds`` further calls in one
process, wall time and the process's CPU time.

Usage (a store at revision 0008: ``bench.fill_store``, then ``policy-risk db upgrade``):
    .venv/bin/python -m bench.bench_sort --db /tmp/prm-bench/share1m.db
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from bench.timing import comparison_main
from pipeline import insights, queries, schema
from pipeline.examples import RELEVANCE
from pipeline.insights import ArticleQuery

SIGNALS = ["decertification_risk", "cooperation_tone"]
LIMIT = 1001
CASES = (
    "risk, highest first",
    "tone, lowest first",
    "last 365 days",
    "last 90 days",
    "one source",
    "search `certif`",
    "search `cocaine Petro`",
)
PATHS = ("walk", "sort all")


def case_query(engine: Engine, case: str) -> ArticleQuery:
    """The Articles page's query for one case (relevant articles only, as its default)."""
    with engine.connect() as conn:
        last = conn.execute(select(func.max(schema.articles.c.event_date))).scalar_one()
    flt = queries.ArticleFilter(relevant_only=True)
    if case.startswith("last"):
        days = int(case.split()[1])
        flt = queries.ArticleFilter(relevant_only=True, start=last - timedelta(days=days - 1))
    elif case == "one source":
        flt = queries.ArticleFilter(
            relevant_only=True, sources=tuple(queries.list_sources(engine)[:1])
        )
    elif case.startswith("search"):
        flt = queries.ArticleFilter(relevant_only=True, search=case.split("`")[1])
    if case == "tone, lowest first":
        return ArticleQuery(flt=flt, sort_by="cooperation_tone", descending=False)
    return ArticleQuery(flt=flt, sort_by="decertification_risk")


def read(engine: Engine, path: str, case: str) -> pd.DataFrame:
    """One page of the case by one path."""
    query = case_query(engine, case)
    if path == "walk":
        return insights.article_rows(engine, SIGNALS, query, limit=LIMIT)
    names = [*SIGNALS, RELEVANCE]
    conditions = queries.where_article(query.flt)
    stmt = insights._rows(names, query, conditions, LIMIT)
    return queries._frame(engine, stmt, [*insights.BASE_COLUMNS, *names])


def walks(engine: Engine, case: str) -> str:
    """walks"""
    query = case_query(engine, case)
    return str(insights.walks_scores(engine, query, queries.where_article(query.flt), LIMIT))


def main() -> None:
    """Time both paths per case, cold and warm, check they agree, print a Markdown table."""
    comparison_main("bench.bench_sort", __doc__, CASES, PATHS, read, 3, walks)


if __name__ == "__main__":
    main()
