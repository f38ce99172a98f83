"""Server time of "Why did it move?" and of the series' coverage read on a large store.

"Why did it move?" runs two queries per selection (``insights.top_contributors``, the top 20
articles by distance from the previous period's composite, and ``insights.contribution_count``);
the series' coverage (``insights.daily_coverage``) is read once per filter. Each is timed cold
(first call) and warm (median of the next three), for a week, a month and a year of a store
filled by ``bench/fill_store.py``, and for two filters.

Usage:
    .venv/bin/python -m bench.bench_why --db /tmp/prm-bench/dash1m.db
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from pipeline import insights, queries
from pipeline.store import open_store

KINDS = {"decertification_risk": "risk", "cooperation_tone": "tone"}
WEIGHTS = {"decertification_risk": 0.6, "cooperation_tone": 0.4}


def _timed(call: Callable[[], Any]) -> dict[str, float]:
    times = []
    for _ in range(4):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return {"cold_s": round(times[0], 3), "warm_s": round(statistics.median(times[1:]), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite store to measure")
    args = parser.parse_args()
    engine = open_store(f"sqlite:///{args.db.resolve()}", create=False)
    summary = queries.store_summary(engine)
    last = summary["last_event"]
    flt = queries.ArticleFilter(relevant_only=True)
    results: dict[str, Any] = {"articles": summary["articles"], "last_event": str(last)}
    for name, days in (("week", 7), ("month", 30), ("year", 365)):
        span = (last - timedelta(days=days - 1), last)
        query = (engine, KINDS, WEIGHTS, flt, span)
        results[f"why, {name}: top 20"] = _timed(
            partial(insights.top_contributors, *query, baseline=0.4)
        )
        results[f"why, {name}: count"] = _timed(partial(insights.contribution_count, *query))
    sources = queries.list_sources(engine)
    filters = {
        "coverage, no filter": queries.ArticleFilter(),
        "coverage, one language": queries.ArticleFilter(languages=("es",)),
        "coverage, one source, 2025": queries.ArticleFilter(
            sources=(sources[0],), start=date(2025, 1, 1), end=date(2025, 12, 31)
        ),
    }
    for name, coverage_filter in filters.items():
        results[name] = _timed(partial(insights.daily_coverage, engine, coverage_filter))
    print(json.dumps(results, indent=2, default=str))  # noqa: T201


if __name__ == "__main__":
    main()
