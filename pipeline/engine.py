"""Engines and write transactions that behave the same on SQLite and PostgreSQL (issue 6).

Every write goes through ``write``: one transaction per call, retried when the database reports a
lock or serialization conflict, so two workers on one store wait for each other instead of failing.

SQLite: WAL, ``busy_timeout`` 5 s, and write transactions start with ``BEGIN IMMEDIATE``. A
deferred transaction that reads first and writes later cannot wait for the lock in WAL mode: it
fails at once with ``SQLITE_BUSY`` when another writer committed in between. Taking the write
lock up front makes the second worker queue behind the first instead.

PostgreSQL: writes that derive rows from what they read (article dedup, score totals) first take
one transaction-scoped advisory lock, which gives them the same one-writer-at-a-time guarantee
SQLite has, while readers keep their MVCC snapshots and never wait.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import count
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Date,
    DateTime,
    Engine,
    Insert,
    Table,
    column,
    create_engine,
    event,
    select,
    table,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pipeline.errors import StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")
_SCRATCH_NUMBERS = count()

# from this many rows up ``COPY`` costs less than one multi-row INSERT: its scratch table costs
# 3-6 ms, about equal at 200 rows of daily totals, a third less at 300 (bench/bench_copy.py)
COPY_MIN_ROWS = 200
WRITE_LOCK = 72_460_001  # pg_advisory_xact_lock key for article and score writes
MIGRATION_LOCK = 72_460_002  # ... and for schema migrations
ATTEMPTS = 6
WAL_WAIT_S = 5.0  # how long a new connection waits to switch a new database to WAL
_WRITE_OPTION = "policy_risk_write"
_RETRY_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock timeout
_RETRY_SQLITE = ("database is locked", "database table is locked", "database is busy")
# Times in UTC. No JIT: the store's queries walk indexes, and a high estimate is enough to
# compile one (the pending-work check expects thousands of candidates where a scored store has
# none: 18 ms of compiling for a 0.5 ms query at a million articles); no read got slower
# without it (docs/benchmarks.md).
_PG_SESSION = "-c timezone=UTC -c jit=off"


def make_engine(url: str) -> Engine:
    """Create an engine for a SQLAlchemy URL, with the SQLite or PostgreSQL session settings."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        if url.startswith("postgresql"):
            engine = create_engine(url, pool_pre_ping=True, connect_args={"options": _PG_SESSION})
        else:
            engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"invalid database URL {safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # The driver's own implicit BEGIN is switched off so that _sqlite_begin decides the mode.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    # Only a new file takes this (before its first table): 8 KB pages hold three ~2.5 KB
    # articles where 4 KB pages hold one and waste a third of the file (issue 6 benchmarks).
    cursor.execute("PRAGMA page_size=8192")
    _enable_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A million articles make indexes of hundreds of MB; the default 2 MB page cache would
    # turn every random-key insert into page reads as the store grows (issue 6 benchmarks).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch to WAL, waiting while another connection holds the lock the switch needs.

    On a new database the switch takes an exclusive lock, and SQLite reports "database is
    locked" at once instead of waiting for it: three workers opening one new store together
    failed 2 times in 60 on a loaded machine. A store already in WAL mode only reads the mode.
    """
    deadline = time.monotonic() + WAL_WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not str(exc).startswith(_RETRY_SQLITE) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + 0.05 * random.random())


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def write(engine: Engine, work: Callable[[Connection], T], *, lock: int | None = None) -> T:
    """Run ``work`` in one write transaction, retrying it whole on lock or serialization errors.

    ``work`` must be safe to run again from the start: each attempt is a fresh transaction and a
    failed one left nothing behind. ``lock`` names a PostgreSQL advisory lock held until commit.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with engine.connect() as conn:
                conn.execution_options(**{_WRITE_OPTION: True})
                with conn.begin():
                    if lock is not None and conn.dialect.name == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
                    return work(conn)
        except DBAPIError as exc:
            if not is_retryable(exc):
                raise
            if attempt == ATTEMPTS:
                raise StoreError(
                    f"the database stayed busy through {ATTEMPTS} attempts ({_reason(exc)}); "
                    "another process holds it: try again, or look for a stuck worker"
                ) from exc
            pause = min(2.0, 0.05 * 2**attempt) * (0.5 + random.random())
            log.info("write conflict (%s); retry %d in %.2fs", _reason(exc), attempt, pause)
            time.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def is_retryable(exc: DBAPIError) -> bool:
    """Tell whether a failed transaction may succeed when simply run again."""
    if exc.connection_invalidated:
        return True
    if getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    message = str(exc.orig).lower()
    return any(marker in message for marker in _RETRY_SQLITE)


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__


def safe_url(url: str) -> str:
    """Hide a password in a database URL before it reaches a message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, in the dialect of ``conn`` (SQLite or PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def execute_rows(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """``conn.execute(stmt, rows)`` for the store's bulk writes, with the per-row parameter
    work done once per statement on SQLite and by ``COPY`` on PostgreSQL.

    SQLAlchemy builds a parameter dict per row and runs each value's type processor through
    several layers: 15 % of the run process's time when ingesting and saving scores (profiled,
    docs/benchmarks.md). On SQLite the statement is compiled once here, each column's processor
    looked up once, and the rows go to the driver as tuples. On PostgreSQL an INSERT of many
    rows goes through ``COPY`` and one ``INSERT ... SELECT`` (``_insert_by_copy``). Anything
    these shortcuts do not cover (another dialect, a statement with binds not named by the
    rows, such as column defaults, or rows with different keys) goes through ``conn.execute``.
    """
    if not rows:
        return
    keys = list(rows[0])
    if conn.dialect.name == "postgresql" and _copyable(stmt, keys, rows):
        _insert_by_copy(conn, stmt, keys, rows)  # rows a RETURNING gives are dropped either way
        return
    if conn.dialect.name != "sqlite" or len(rows) == 1:
        conn.execute(stmt, list(rows))
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=keys)
    order = compiled.positiontup
    known = set(keys)
    if order is None or not set(order) <= known or any(r.keys() != known for r in rows):
        conn.execute(stmt, list(rows))
        return
    types = [compiled.binds[name].type for name in order]
    conn.exec_driver_sql(compiled.string, _parameters(rows, order, _converters(conn, types)))


def _copyable(stmt: Any, keys: list[str], rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``_insert_by_copy`` stores exactly what ``conn.execute`` would: an INSERT
    without its own VALUES or SELECT (ON CONFLICT and RETURNING allowed) of enough rows, all
    naming the same columns of its table."""
    if len(rows) < COPY_MIN_ROWS or not isinstance(stmt, Insert) or stmt.select is not None:
        return False
    if not isinstance(stmt.table, Table):  # an INSERT into a text() or aliased target
        return False
    columns, known = stmt.table.c, set(keys)
    return all(key in columns and columns[key].name == key for key in keys) and all(
        row.keys() == known for row in rows
    )


def insert_returning(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """``conn.execute(stmt, rows).all()`` for an INSERT ... RETURNING of many rows, by ``COPY``
    on PostgreSQL as ``execute_rows`` does. No rows insert nothing (``conn.execute`` would run
    the statement once, without parameters)."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql" and _copyable(stmt, list(rows[0]), rows):
        return list(_insert_by_copy(conn, stmt, list(rows[0]), rows).all())
    return list(conn.execute(stmt, list(rows)).all())


def _insert_by_copy(
    conn: Connection, stmt: Any, keys: list[str], rows: Sequence[Mapping[str, Any]]
) -> CursorResult[Any]:
    """PostgreSQL: ``COPY`` the rows into a scratch table, then run ``stmt`` as one
    ``INSERT ... SELECT`` from it (its ON CONFLICT clause unchanged).

    A multi-row INSERT makes SQLAlchemy build and process every parameter of every row in
    Python, and PostgreSQL parse one value per parameter; ``COPY`` streams the rows in psycopg's
    C adaptation. The client CPU this saves is in docs/benchmarks.md.
    """
    scratch = f"prm_rows_{next(_SCRATCH_NUMBERS)}"
    preparer = conn.dialect.identifier_preparer
    columns = ", ".join(map(preparer.quote, keys))
    shape = f"SELECT {columns} FROM {preparer.format_table(stmt.table)}"
    converters = _converters(conn, [stmt.table.c[k].type for k in keys])
    fill_scratch(conn, scratch, shape, keys, _parameters(rows, keys, converters))
    source = table(scratch, *(column(k) for k in keys))
    return conn.execute(stmt.from_select(keys, select(*source.c)))


def _converters(conn: Connection, types: Sequence[Any]) -> list[tuple[int, Any]]:
    """Each column's type processor for this dialect, by position (most types have none)."""
    converters = []
    for position, column_type in enumerate(types):
        process = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if process is not None:
            remember = isinstance(column_type, Date | DateTime)
            converters.append((position, _remembered(process) if remember else process))
    return converters


def _parameters(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], converters: list[tuple[int, Any]]
) -> list[tuple[Any, ...]]:
    """The rows' values for ``keys`` as tuples, through the converters."""
    # itemgetter of several keys returns a tuple, of one key the bare value
    pick = itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    if converters:
        return [_converted(pick(row), converters) for row in rows]
    return [pick(row) for row in rows]


def fill_scratch(
    conn: Connection,
    scratch: str,
    shape: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> None:
    """PostgreSQL: create the temporary table ``scratch`` (dropped at commit) with the columns
    and types of the query ``shape`` (none of its tables' constraints or triggers), and stream
    ``rows``, one value per name in ``columns``, into it by ``COPY``."""
    conn.exec_driver_sql(f"CREATE TEMP TABLE {scratch} ON COMMIT DROP AS {shape} WITH NO DATA")
    names = ", ".join(map(conn.dialect.identifier_preparer.quote, columns))
    driver = conn.connection.driver_connection
    assert driver is not None  # the live connection of the open transaction
    with driver.cursor() as cursor, cursor.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _converted(values: tuple[Any, ...], converters: list[tuple[int, Any]]) -> tuple[Any, ...]:
    out = list(values)
    for position, process in converters:
        out[position] = process(out[position])
    return tuple(out)


def _remembered(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process`` run once per distinct date or time of one statement's rows.

    A batch's rows share a few timestamps (its scoring time, its ingest time) and days, and
    formatting each again was 4 % of the run process (py-spy, docs/benchmarks.md). The offset is
    part of the key: equal instants in different zones format to different wall times.
    """
    done: dict[tuple[Any, Any], Any] = {}

    def run(value: Any) -> Any:
        key = (value, value.utcoffset() if isinstance(value, datetime) else None)
        try:
            return done[key]
        except KeyError:
            done[key] = out = process(value)
            return out

    return run
