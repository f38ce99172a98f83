"""Write transactions: SQLite writers queue behind each other; conflicts are retried, then named."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from pipeline import store
from pipeline.engine import make_engine, safe_url, write
from pipeline.errors import StoreError


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
