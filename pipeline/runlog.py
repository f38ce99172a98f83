"""Which runs are really still running: host, process id and a heartbeat on every run row.

A run killed with ``kill -9`` (or by a power cut) never writes its end, so its row would say
"running" forever and the Sources page would show a run that is long dead. Each run records
where it runs and touches ``heartbeat_at`` as it makes progress; the next run on the same host
closes rows whose process is gone at once, and any reader treats a run silent for longer than
STALE_AFTER as interrupted (the dashboard never writes; the next run records it). Its counts
are not left for its end either: each committed batch adds its own (``add_counts``), so an
interrupted run's row still says what it stored and scored.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, or_, select, update
from sqlalchemy.engine import Connection

from pipeline import schema
from pipeline.engine import write

HEARTBEAT_EVERY_S = 30.0
STALE_AFTER = timedelta(minutes=15)  # far beyond the longest step between two heartbeats
INTERRUPTED = "interrupted"
# The kinds of run (revision 0019): INGEST reads sources and scores (run, watch, up); SCORE only
# scores (policy-risk score), so it counts in score claims but not as a run that read the feeds.
INGEST, SCORE = "run", "score"
RUN_KINDS = (INGEST, SCORE)

r = schema.runs


def this_host() -> str:
    """The name runs on this machine record (what ``socket.gethostname`` says)."""
    return socket.gethostname()[:200]


def _last_sign() -> Any:
    """When a run was last heard from: its heartbeat, or its start for rows from before them."""
    return case((r.c.heartbeat_at.is_(None), r.c.started_at), else_=r.c.heartbeat_at)


def running_now(now: datetime) -> Any:
    """A condition on ``runs``: still running by the rule readers apply (not closed, and heard
    from within STALE_AFTER); the complement of what ``shown_status`` calls interrupted."""
    return and_(r.c.status == "running", _last_sign() >= now - STALE_AFTER)


def close_abandoned(conn: Connection, now: datetime) -> int:
    """Mark as interrupted the runs that cannot still be running; return how many.

    A run is abandoned when it ran on this host and its process is gone, or when its last
    heartbeat (its start, for rows from before heartbeats) is older than STALE_AFTER.
    """
    rows = conn.execute(select(r.c.run_id, r.c.host, r.c.pid).where(r.c.status == "running")).all()
    host = this_host()
    dead = [row.run_id for row in rows if row.host == host and not _alive(row.pid)]
    last_sign = _last_sign()
    stmt = (
        update(r)
        .where(
            r.c.status == "running",
            or_(r.c.run_id.in_(dead), last_sign < now - STALE_AFTER),
        )
        .values(status=INTERRUPTED, finished_at=last_sign)
    )
    return int(conn.execute(stmt).rowcount or 0)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True  # unknown: left to the heartbeat rule
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def shown_status(now: datetime) -> Any:
    """The status column as readers should show it: silent "running" rows are interrupted."""
    silent = and_(r.c.status == "running", _last_sign() < now - STALE_AFTER)
    return case((silent, INTERRUPTED), else_=r.c.status).label("status")


def add_counts(conn: Connection, run_id: int | None, **counts: int) -> None:
    """Add a committed batch's counts (``articles_added``, ``articles_updated``,
    ``articles_scored``) to its run's row, in the batch's own transaction: a run killed later
    still shows exactly what it had stored and scored. No-op without a run or a count."""
    moved = {name: getattr(r.c, name) + n for name, n in counts.items() if n}
    if run_id is None or not moved:
        return
    stmt = update(r).where(r.c.run_id == run_id).values(**moved, heartbeat_at=datetime.now(UTC))
    conn.execute(stmt)


class Heartbeat:
    """Touches a run's ``heartbeat_at`` at most every HEARTBEAT_EVERY_S, from progress calls."""

    def __init__(self, engine: Engine, run_id: int, every_s: float = HEARTBEAT_EVERY_S) -> None:
        self._engine, self._run_id, self._every_s = engine, run_id, every_s
        self._last = time.monotonic()

    def beat(self) -> None:
        """Record that the run is alive, unless it did so recently."""
        if time.monotonic() - self._last < self._every_s:
            return
        self._last = time.monotonic()
        stmt = update(r).where(r.c.run_id == self._run_id).values(heartbeat_at=datetime.now(UTC))
        write(self._engine, lambda conn: conn.execute(stmt))
