"""Runs killed without a word are closed as interrupted, not shown as running forever."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from pipeline import queries, runlog, schema, store

r = schema.runs


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return store.open_store(f"sqlite:///{tmp_path / 'runs.db'}")


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _running_row(engine: Engine, *, host: str, pid: int | None, beat_ago: timedelta) -> int:
    now = store.now_utc()
    row = {
        "started_at": now - beat_ago - timedelta(minutes=1),
        "status": "running",
        "host": host,
        "pid": pid,
        "heartbeat_at": now - beat_ago,
    }
    with engine.begin() as conn:
        return int(conn.execute(insert(r).values(**row)).inserted_primary_key[0])


def _status(engine: Engine, run_id: int) -> tuple[str, datetime | None]:
    with engine.connect() as conn:
        row = conn.execute(select(r.c.status, r.c.finished_at).where(r.c.run_id == run_id)).one()
    return row.status, row.finished_at


def test_a_run_records_where_it_runs(engine: Engine) -> None:
    run_id = store.start_run(engine)
    with engine.connect() as conn:
        row = conn.execute(select(r).where(r.c.run_id == run_id)).one()
    assert (row.status, row.host, row.pid) == ("running", runlog.this_host(), os.getpid())
    assert row.heartbeat_at is not None


def test_the_next_run_closes_runs_whose_process_is_gone_or_silent(engine: Engine) -> None:
    here, elsewhere = runlog.this_host(), "another-machine"
    dead_here = _running_row(engine, host=here, pid=_dead_pid(), beat_ago=timedelta(seconds=5))
    alive_here = _running_row(engine, host=here, pid=os.getpid(), beat_ago=timedelta(seconds=5))
    silent_there = _running_row(engine, host=elsewhere, pid=1, beat_ago=timedelta(minutes=20))
    busy_there = _running_row(engine, host=elsewhere, pid=1, beat_ago=timedelta(minutes=2))

    store.start_run(engine)

    assert _status(engine, dead_here)[0] == "interrupted"
    assert _status(engine, dead_here)[1] is not None  # closed at its last heartbeat
    assert _status(engine, silent_there)[0] == "interrupted"
    assert _status(engine, alive_here) == ("running", None)
    assert _status(engine, busy_there) == ("running", None)


def test_readers_show_silent_runs_as_interrupted_without_writing(engine: Engine) -> None:
    silent = _running_row(engine, host="elsewhere", pid=1, beat_ago=timedelta(minutes=30))
    fresh = _running_row(engine, host="elsewhere", pid=1, beat_ago=timedelta(seconds=1))

    shown = queries.recent_runs(engine).set_index("run_id")["status"]

    assert shown[silent] == "interrupted"
    assert shown[fresh] == "running"
    assert _status(engine, silent)[0] == "running"  # the store itself is untouched


def test_heartbeat_moves_forward_and_is_throttled(engine: Engine) -> None:
    run_id = store.start_run(engine)
    old = store.now_utc() - timedelta(minutes=5)
    with engine.begin() as conn:
        conn.execute(update(r).where(r.c.run_id == run_id).values(heartbeat_at=old))

    runlog.Heartbeat(engine, run_id, every_s=3600).beat()  # too soon: nothing written
    with engine.connect() as conn:
        first = conn.execute(select(r.c.heartbeat_at).where(r.c.run_id == run_id)).scalar_one()
    runlog.Heartbeat(engine, run_id, every_s=0).beat()
    with engine.connect() as conn:
        second = conn.execute(select(r.c.heartbeat_at).where(r.c.run_id == run_id)).scalar_one()

    assert first.replace(tzinfo=None) == old.replace(tzinfo=None)
    assert second > first
