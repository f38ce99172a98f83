"""From how many rows does ``COPY`` beat one multi-row INSERT on PostgreSQL?

``engine.execute_rows`` sends an INSERT of ``COPY_MIN_ROWS`` rows or more by ``COPY`` into a
temporary table and one ``INSERT ... SELECT``; the table costs a few milliseconds whatever the
rows, so small batches are cheaper as one multi-row INSERT. This script times both paths for
upserts of daily-totals rows (the widest rows the store writes) at several row counts, in
transactions that are rolled back, and prints the best of three rounds per path.

Usage:
    python -m bench.bench_copy --url postgresql+psycopg://postgres@127.0.0.1:55433/scratch
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from pipeline import engine, schema, store

COUNTS = (5, 10, 20, 50, 100, 200, 300, 500, 1000)
STATEMENTS = 20  # per round and path


def _rows(n: int, salt: int) -> list[dict[str, Any]]:
    t = schema.daily_signal_totals
    base: dict[str, Any] = {c.name: 0 for c in t.c}
    return [
        {
            **base,
            "day": date(2024, 1, 1),
            "signal": f"s{salt}",
            "source": f"source {i}",
            "language": "en",
            "relevance_bucket": 1,
            "total": 0.5,
        }
        for i in range(n)
    ]


def _upsert(conn: Connection) -> Any:
    t = schema.daily_signal_totals
    stmt = engine.insert_for(conn, t)
    keys = [t.c.signal, t.c.day, t.c.source, t.c.language, t.c.relevance_bucket]
    return stmt.on_conflict_do_update(index_elements=keys, set_={"n": t.c.n + stmt.excluded.n})


def _ms_per_statement(store_engine: Any, n: int, threshold: int) -> float:
    """Best of three rounds, with ``COPY_MIN_ROWS`` set to force one path."""
    engine.COPY_MIN_ROWS = threshold
    rounds = []
    for _ in range(3):
        with store_engine.connect() as conn, conn.begin() as transaction:
            start = time.perf_counter()
            for salt in range(STATEMENTS):
                engine.execute_rows(conn, _upsert(conn), _rows(n, salt))
            rounds.append((time.perf_counter() - start) / STATEMENTS)
            transaction.rollback()
    return 1000 * min(rounds)


def main() -> None:
    """Print ms per statement for both paths at each row count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL store URL (it is created)")
    args = parser.parse_args()
    store_engine = store.open_store(args.url)
    if store_engine.dialect.name != "postgresql":
        parser.error("--url must name a PostgreSQL database")
    shipped = engine.COPY_MIN_ROWS
    for n in COUNTS:
        by_copy = _ms_per_statement(store_engine, n, 1)
        by_values = _ms_per_statement(store_engine, n, 10**9)
        print(f"{n:5d} rows: COPY {by_copy:6.2f} ms, multi-row INSERT {by_values:6.2f} ms")  # noqa: T201
    engine.COPY_MIN_ROWS = shipped
    print(f"execute_rows uses COPY from {shipped} rows")  # noqa: T201


if __name__ == "__main__":
    main()
