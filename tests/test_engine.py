"""Write transactions: SQLite writers queue behind each other; conflicts are retried, then named."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, StatementError

from pipeline import store
from pipeline.engine import (
    COPY_MIN_ROWS,
    execute_rows,
    insert_for,
    insert_returning,
    make_engine,
    safe_url,
    write,
)
from pipeline.errors import StoreError
from tests.pg import pg_url_fixture  # noqa: F401


def _locked(message: str = "database is locked") -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError(message))


def test_second_sqlite_writer_waits_for_the_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = store.open_store(url)
    holding = threading.Event()

    def hold_the_write_lock() -> None:
        def work(conn: Connection) -> None:
            conn.execute(text("SELECT 1"))
            holding.set()
            time.sleep(0.5)

        write(make_engine(url), work)

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    run_id = store.start_run(engine)
    thread.join()
    assert run_id == 1
    assert time.monotonic() - started >= 0.3


def test_conflicts_are_retried_then_reported_as_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.engine.time.sleep", lambda _s: None)
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    calls: list[int] = []

    def flaky(conn: Connection) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "done"

    assert write(engine, flaky) == "done" and len(calls) == 3

    def always_locked(conn: Connection) -> None:
        raise _locked()

    with pytest.raises(StoreError, match="stayed busy through 6 attempts"):
        write(engine, always_locked)

    def broken(conn: Connection) -> None:
        raise _locked("no such table: nowhere")

    with pytest.raises(OperationalError):  # not a conflict: never retried
        write(engine, broken)


def test_passwords_never_reach_messages() -> None:
    assert safe_url("postgresql+psycopg://monitor:s3cret@db:5432/x") == (
        "postgresql+psycopg://monitor:***@db:5432/x"
    )
    assert safe_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


_METADATA = MetaData()
_SAMPLE = Table(
    "sample",
    _METADATA,
    Column("key", String(8), primary_key=True),
    Column("text", Text, nullable=False),
    Column("day", Date),
    Column("at", DateTime(timezone=True)),
    Column("value", Float),
    Column("flag", Boolean),
    Column("count", Integer, nullable=False),
    Column("note", String(20), nullable=False, default="from default"),
)
_AT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)
_ROWS = [
    {
        "key": "b",
        "text": "¿Qué? \"x\" 'y'",
        "day": date(2024, 1, 9),
        "at": _AT,
        "value": 0.25,
        "flag": True,
        "count": 1,
        "note": "n",
    },
    {
        "key": "a",
        "text": "",
        "day": None,
        "at": None,
        "value": None,
        "flag": False,
        "count": 2,
        "note": "",
    },
]


def _stored(conn: Connection) -> list[tuple[object, ...]]:
    return list(conn.exec_driver_sql("SELECT * FROM sample ORDER BY key"))


def _upsert(conn: Connection) -> Any:
    stmt = insert_for(conn, _SAMPLE)
    return stmt.on_conflict_do_update(
        index_elements=[_SAMPLE.c.key],
        set_={"count": _SAMPLE.c.count + stmt.excluded.count, "text": stmt.excluded.text},
    )


@pytest.mark.parametrize(
    "rows",
    [_ROWS, [{k: v for k, v in r.items() if k != "note"} for r in _ROWS]],
    ids=["every column", "a column left to its default"],
)
def test_execute_rows_stores_exactly_what_sqlalchemy_stores(
    tmp_path: Path, rows: list[dict[str, Any]]
) -> None:
    stored, compiled = [], []
    for name, run in (("shortcut", execute_rows), ("sqlalchemy", Connection.execute)):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        _METADATA.create_all(engine)

        def seen(*args: Any, name: str = name) -> None:
            if args[5]:  # executemany: was the statement compiled per call by SQLAlchemy?
                compiled.append((name, args[4].compiled is not None))

        event.listen(engine, "before_cursor_execute", seen)
        with engine.begin() as conn:
            run(conn, _upsert(conn), rows)
            run(conn, _upsert(conn), rows)  # the conflict branch: counts add up
            stored.append(_stored(conn))
    assert stored[0] == stored[1]
    shortcut = "note" in rows[0]  # a default left out: SQLAlchemy fills it, so no shortcut
    assert compiled == [("shortcut", not shortcut)] * 2 + [("sqlalchemy", True)] * 2
    assert [r[6] for r in stored[0]] == [4, 2]  # "a" then "b", each counted twice
    assert "2026-03-01 12:30:05.123456" in stored[0][1]


def test_execute_rows_formats_repeated_and_zoned_times_like_sqlalchemy(tmp_path: Path) -> None:
    """The shortcut formats each distinct date and time once per statement; an equal instant in
    another zone is a different wall time to SQLite's text format, so it must not be reused."""
    bogota = timezone(timedelta(hours=-5))
    times = [_AT, _AT, _AT.astimezone(bogota), _AT.replace(tzinfo=None), None, _AT]
    days = [date(2024, 1, 9), date(2024, 1, 9), None, _AT, date(2024, 1, 10), date(2024, 1, 9)]
    rows = [
        {**_ROWS[0], "key": f"k{n}", "at": at, "day": day}
        for n, (at, day) in enumerate(zip(times, days, strict=True))
    ]
    stored = []
    for name, run in (("shortcut", execute_rows), ("sqlalchemy", Connection.execute)):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        _METADATA.create_all(engine)
        with engine.begin() as conn:
            run(conn, _upsert(conn), rows)
            stored.append(_stored(conn))
    assert stored[0] == stored[1]
    at_column = [row[3] for row in stored[0]]
    assert at_column[0] == at_column[1] != at_column[2]  # 12:30 UTC is 07:30 in Bogotá
    assert "07:30:05.123456" in at_column[2]


def test_execute_rows_refuses_rows_of_different_shapes_like_sqlalchemy(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'shapes.db'}")
    _METADATA.create_all(engine)
    mixed = [_ROWS[0], {k: v for k, v in _ROWS[1].items() if k != "value"}]
    with engine.begin() as conn, pytest.raises(StatementError):
        execute_rows(conn, insert_for(conn, _SAMPLE), mixed)


def _awkward_rows(n: int) -> list[dict[str, Any]]:
    """Rows whose text, times and nulls a hand-made COPY format would get wrong."""
    texts = ["tab\there", "line\nbreak\r\nend", "back\\slash \\N", "\\N", "¿Qué? \"x\" 'y'", ""]
    bogota = timezone(timedelta(hours=-5))
    times = [_AT, _AT.astimezone(bogota), _AT.replace(tzinfo=None), None]
    return [
        {
            "key": f"k{i:03d}",
            "text": texts[i % len(texts)],
            "day": date(2024, 1, 1) + timedelta(days=i) if i % 5 else None,
            "at": times[i % len(times)],
            "value": None if i % 6 == 0 else i / 7,
            "flag": [True, False, None][i % 3],
            "count": i,
            "note": f"n{i}",
        }
        for i in range(n)
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("left_out", [None, "note"], ids=["every column", "a defaulted column"])
def test_postgres_bulk_rows_go_by_copy_and_store_what_sqlalchemy_stores(
    pg_url: str, left_out: str | None
) -> None:
    rows = [{k: v for k, v in r.items() if k != left_out} for r in _awkward_rows(2 * COPY_MIN_ROWS)]
    engine = make_engine(pg_url)
    _METADATA.create_all(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    stored = []
    for run in (execute_rows, Connection.execute):
        with engine.connect() as conn, conn.begin() as transaction:
            run(conn, _upsert(conn), rows)
            run(conn, _upsert(conn), rows[::2])  # the conflict branch: counts add up
            stored.append(_stored(conn))
            transaction.rollback()
    scratch = [s for s in statements if s.startswith("CREATE TEMP TABLE")]
    assert len(scratch) == 2  # both of execute_rows' calls went by COPY, none of the others
    assert stored[0] == stored[1]
    assert len(stored[0]) == len(rows)
    by_key = {row[0]: row for row in stored[0]}
    assert by_key["k003"][1] == "\\N" and by_key["k002"][1] == "back\\slash \\N"
    assert by_key["k001"][1] == "line\nbreak\r\nend" and by_key["k000"][1] == "tab\there"
    assert by_key["k000"][2] is None and by_key["k000"][6] == 0
    assert by_key["k002"][6] == 4 and by_key["k003"][6] == 3  # counted twice / once
    assert by_key["k001"][3] == _AT and by_key["k002"][3] == _AT  # Bogotá's wall time, same instant
    assert by_key["k000"][7] == ("n0" if left_out is None else "from default")


@pytest.mark.postgres
def test_postgres_bulk_inserts_by_copy_return_what_sqlalchemy_returns(pg_url: str) -> None:
    rows = _awkward_rows(2 * COPY_MIN_ROWS)
    engine = make_engine(pg_url)
    _METADATA.create_all(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    returned = []
    for run in (insert_returning, lambda c, s, r: c.execute(s, r).all()):
        with engine.connect() as conn, conn.begin() as transaction:
            stmt = insert_for(conn, _SAMPLE).on_conflict_do_nothing().returning(_SAMPLE.c.key)
            run(conn, stmt, rows[: COPY_MIN_ROWS + 1])
            returned.append(sorted(key for (key,) in run(conn, stmt, rows)))  # only the new
            assert insert_returning(conn, stmt, []) == []
            stored = _stored(conn)
            transaction.rollback()
    assert len([s for s in statements if s.startswith("CREATE TEMP TABLE")]) == 2
    assert returned[0] == returned[1] == [r["key"] for r in rows[COPY_MIN_ROWS + 1 :]]
    assert len(stored) == len(rows)


@pytest.mark.postgres
def test_postgres_sessions_run_in_utc_without_jit(pg_url: str) -> None:
    with store.open_store(pg_url).connect() as conn:
        assert conn.execute(text("SHOW timezone")).scalar_one() == "UTC"
        assert conn.execute(text("SHOW jit")).scalar_one() == "off"
