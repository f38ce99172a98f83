"""Per-feed health in the ``feeds`` table: who fetches what, when to retry, what went wrong.

A feed that keeps failing must not be hammered, and must not stay dead either (issue 3): each
failure doubles its wait (``backoff_base_s`` up to ``backoff_max_s``, or longer when the server
sent Retry-After), and the first success clears it.

Claims make concurrent workers safe: a worker takes a feed only if nobody holds an unexpired
claim. A feed whose entries were returned keeps its claim until ``record_articles_added`` says
they were stored; if that never happens (a crash between fetch and store) the claim expires and
the next fetch is unconditional, so a 304 can never hide entries that were never stored. Each
cycle claims under its own token (``worker:random``), remembered in this process, so recording
counts releases only this cycle's claims, never another worker's.

A claim taken by a pipeline run also names the run (``claim_run_id``). It is free as soon as
``pipeline.runlog`` no longer counts that run as running: a run killed with ``kill -9`` is closed
by the next run on its host as it starts, so the rerun fetches (unconditionally) what the dead
run had claimed instead of skipping it for ``claim_ttl_s``; a run on another host is given up
after ``runlog.STALE_AFTER`` or at the claim's expiry, whichever comes first.

With ``min_interval_s`` a feed fetched successfully by any worker that recently is skipped as
``fetched-recently``: several workers on their own schedules then fetch each feed once per
interval between them, not once each.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from pipeline import schema
from pipeline.config import FeedConfig, FetchConfig
from pipeline.engine import write
from pipeline.runlog import running_now

_feeds = schema.feeds
_pending: dict[str, str] = {}  # feed name -> claim token whose entries await storing
_pending_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class FeedClaim:
    """A feed this worker may fetch now, with the validators for a conditional GET."""

    name: str
    url: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class HealthUpdate:
    """What one fetch of one feed did, for its health row."""

    name: str
    status: str  # "ok", "not-modified" or "failed"
    http_status: int | None = None
    error: str | None = None
    problems: tuple[str, ...] = ()
    entries_seen: int = 0
    etag: str | None = None
    last_modified: str | None = None
    retry_after_s: float | None = None
    keep_claim: bool = False


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One row of the health table, as ``feeds list`` and the dashboard show it."""

    name: str
    url: str
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    http_status: int | None
    last_error: str | None
    problems: tuple[str, ...]
    consecutive_failures: int
    entries_seen: int
    articles_added: int
    next_attempt_at: datetime | None
    claimed_by: str | None


def as_utc(value: datetime | None) -> datetime | None:
    """Return an aware UTC datetime; SQLite hands back naive ones, which are stored as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sync_feeds(engine: Engine, feeds: Sequence[FeedConfig]) -> None:
    """Add a row for each configured feed; a changed URL starts that feed's history afresh."""
    # Read-then-write: run under the store's write lock, retried whole on "database is locked".
    write(engine, lambda conn: _sync_rows(conn, feeds))


def _sync_rows(conn: Connection, feeds: Sequence[FeedConfig]) -> None:
    known = {r.name: r.url for r in conn.execute(select(_feeds.c.name, _feeds.c.url))}
    for feed in feeds:
        if feed.name not in known:
            conn.execute(insert(_feeds).values(name=feed.name, url=feed.url))
            known[feed.name] = feed.url
        elif known[feed.name] != feed.url:
            conn.execute(
                update(_feeds).where(_feeds.c.name == feed.name).values(
                    url=feed.url, etag=None, last_modified=None, consecutive_failures=0,
                    next_attempt_at=None, last_error=None, last_success_at=None,
                )
            )


def claim_feeds(
    engine: Engine,
    names: Iterable[str],
    *,
    worker: str,
    now: datetime,
    ttl_s: float,
    min_interval_s: float = 0.0,
    run_id: int | None = None,
) -> tuple[list[FeedClaim], dict[str, str]]:
    """Claim every named feed that is due and free; say why each other one was skipped
    (``min_interval_s``: a feed that succeeded less than this long ago is not due; ``run_id``:
    the run the claims belong to, which frees them the moment it stops running)."""
    now = _utc(now)
    wanted = list(names)
    recent_after = now - timedelta(seconds=min_interval_s) if min_interval_s > 0 else None

    def attempt(conn: Connection) -> tuple[list[FeedClaim], dict[str, str]]:
        claims: list[FeedClaim] = []
        skipped: dict[str, str] = {}
        live = set(conn.execute(select(schema.runs.c.run_id).where(running_now(now))).scalars())
        for name in wanted:
            row = conn.execute(select(_feeds).where(_feeds.c.name == name)).first()
            if row is None:
                continue
            reason = _skip_reason(row._mapping, now, recent_after, live)
            if reason is None and _take(conn, name, worker, now, ttl_s, recent_after, run_id):
                claims.append(_claim_of(row._mapping))
            else:
                skipped[name] = reason or "claimed-elsewhere"
        return claims, skipped

    # Read-then-update: under the write lock, retried whole if SQLite reports a lock.
    return write(engine, attempt)


def _skip_reason(
    row: Any, now: datetime, recent_after: datetime | None, live_runs: set[int]
) -> str | None:
    claimed_until = as_utc(row["claimed_until"])
    holder = row["claim_run_id"]
    if (
        row["claimed_by"] is not None
        and claimed_until is not None
        and claimed_until > now
        and (holder is None or holder in live_runs)
    ):
        return "claimed-elsewhere"
    next_attempt = as_utc(row["next_attempt_at"])
    if next_attempt is not None and next_attempt > now:
        return "skipped-backoff"
    last_success = as_utc(row["last_success_at"])
    if recent_after is not None and last_success is not None and last_success > recent_after:
        return "fetched-recently"
    return None


def _take(
    conn: Connection,
    name: str,
    worker: str,
    now: datetime,
    ttl_s: float,
    recent_after: datetime | None,
    run_id: int | None = None,
) -> bool:
    """Claim with a guarded UPDATE, so two workers racing for one feed cannot both win, nor
    one fetch again what the other has just fetched."""
    live = select(schema.runs.c.run_id).where(running_now(now))
    free = or_(
        _feeds.c.claimed_until.is_(None),
        _feeds.c.claimed_until <= now,
        and_(_feeds.c.claim_run_id.is_not(None), _feeds.c.claim_run_id.not_in(live)),
    )
    due = or_(_feeds.c.next_attempt_at.is_(None), _feeds.c.next_attempt_at <= now)
    if recent_after is not None:
        due = and_(
            due,
            or_(_feeds.c.last_success_at.is_(None), _feeds.c.last_success_at <= recent_after),
        )
    until = now + timedelta(seconds=ttl_s)
    result = conn.execute(
        update(_feeds)
        .where(and_(_feeds.c.name == name, free, due))
        .values(claimed_by=worker, claimed_until=until, claim_run_id=run_id)
    )
    return result.rowcount == 1


def _claim_of(row: Any) -> FeedClaim:
    """A claim left over (expired, or of a run no longer running) means the last batch may
    never have been stored: fetch it all again."""
    unconfirmed = row["claimed_by"] is not None
    return FeedClaim(
        name=row["name"],
        url=row["url"],
        etag=None if unconfirmed else row["etag"],
        last_modified=None if unconfirmed else row["last_modified"],
    )


def record_results(
    engine: Engine, updates: Sequence[HealthUpdate], *, now: datetime, fetch: FetchConfig
) -> None:
    """Write every feed's outcome of one cycle in one transaction."""
    now = _utc(now)
    with engine.begin() as conn:
        for item in updates:
            row = conn.execute(
                select(_feeds.c.consecutive_failures).where(_feeds.c.name == item.name)
            ).first()
            failures = int(row[0]) if row is not None else 0
            conn.execute(
                update(_feeds).where(_feeds.c.name == item.name).values(
                    **_health_values(item, failures, now, fetch)
                )
            )


def _health_values(
    item: HealthUpdate, failures: int, now: datetime, fetch: FetchConfig
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "last_attempt_at": now,
        "http_status": item.http_status,
        "problems": "\n".join(item.problems)[:4000],
        "entries_seen": _feeds.c.entries_seen + item.entries_seen,
    }
    if not item.keep_claim:
        values.update(claimed_by=None, claimed_until=None, claim_run_id=None)
    if item.status == "failed":
        failures += 1
        delay = backoff_delay(failures, fetch, item.retry_after_s)
        values.update(
            last_error=(item.error or "failed")[:500],
            consecutive_failures=failures,
            next_attempt_at=now + timedelta(seconds=delay),
        )
        return values
    values.update(last_success_at=now, last_error=None, consecutive_failures=0,
                  next_attempt_at=None)
    if item.status == "ok":
        # Validators are kept only from a document that parsed; a 304 keeps the old ones.
        values.update(etag=item.etag, last_modified=item.last_modified)
    return values


def backoff_delay(failures: int, fetch: FetchConfig, retry_after_s: float | None = None) -> float:
    """Seconds to wait after ``failures`` failures in a row: doubling, capped, or Retry-After."""
    exponent = min(max(failures - 1, 0), 30)
    delay = min(fetch.backoff_base_s * float(2**exponent), fetch.backoff_max_s)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, fetch.backoff_max_s))
    return delay


def new_claim_token(worker: str) -> str:
    """Return a token naming this worker and this cycle, stored in ``claimed_by``."""
    return f"{worker[:80]}:{uuid.uuid4().hex[:12]}"


def hold_claims(names: Iterable[str], token: str) -> None:
    """Remember which feeds' entries this process returned and has yet to store."""
    with _pending_lock:
        _pending.update({name: token for name in names})


def record_articles_added(engine: Engine, counts: dict[str, int]) -> None:
    """Add each feed's newly stored articles to its total and release this cycle's claim on it.

    Call it once per feed whose outcome was ``ok`` (with 0 when nothing was new): until then the
    feed stays claimed, and an expired claim makes the next fetch unconditional. Counts for
    feeds this process holds no claim on (skipped, or claimed by another worker) only add.
    """
    if not counts:
        return
    with _pending_lock:
        tokens = {name: _pending.pop(name, None) for name in counts}
    with engine.begin() as conn:
        for name, added in counts.items():
            conn.execute(
                update(_feeds).where(_feeds.c.name == name).values(
                    articles_added=_feeds.c.articles_added + int(added)
                )
            )
            if tokens[name] is not None:
                conn.execute(
                    update(_feeds)
                    .where(and_(_feeds.c.name == name, _feeds.c.claimed_by == tokens[name]))
                    .values(claimed_by=None, claimed_until=None, claim_run_id=None)
                )


def list_health(engine: Engine) -> list[FeedHealth]:
    """Return every feed's health row, by name."""
    with engine.connect() as conn:
        rows = conn.execute(select(_feeds).order_by(_feeds.c.name)).all()
    return [
        FeedHealth(
            name=r.name,
            url=r.url,
            last_attempt_at=as_utc(r.last_attempt_at),
            last_success_at=as_utc(r.last_success_at),
            http_status=r.http_status,
            last_error=r.last_error,
            problems=tuple(p for p in (r.problems or "").split("\n") if p),
            consecutive_failures=int(r.consecutive_failures or 0),
            entries_seen=int(r.entries_seen or 0),
            articles_added=int(r.articles_added or 0),
            next_attempt_at=as_utc(r.next_attempt_at),
            claimed_by=r.claimed_by,
        )
        for r in rows
    ]


def _utc(value: datetime) -> datetime:
    result = as_utc(value)
    assert result is not None
    return result
