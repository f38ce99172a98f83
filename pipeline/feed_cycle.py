"""One ingestion cycle over the configured feeds: claim, fetch concurrently, parse, record health.

One feed's failure never stops the others (issue 3): every feed runs in its own task whose
errors become a ``failed`` outcome with a short reason. Concurrency is capped overall
(``fetch.concurrency``) and per host (``fetch.per_host``), so one slow site cannot take every slot
and no site sees more than a couple of connections from us.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine

from pipeline.config import Config, FeedConfig, FetchConfig
from pipeline.feed_health import (
    FeedClaim,
    HealthUpdate,
    claim_feeds,
    hold_claims,
    new_claim_token,
    record_results,
    sync_feeds,
)
from pipeline.feeds import parse_feed
from pipeline.fetch import FetchError, FetchResult, fetch, host_of, make_client
from pipeline.fulltext import add_full_text
from pipeline.records import RawItem
from pipeline.store import now_utc

log = logging.getLogger(__name__)
# Outcomes of feeds this worker did not fetch in this cycle: a feed waiting after failures
# (still failing, as far as anyone knows), and feeds that are not due.
BACKING_OFF = "skipped-backoff"
SKIPPED = (BACKING_OFF, "claimed-elsewhere", "fetched-recently")


@dataclass(frozen=True, slots=True)
class FeedOutcome:
    """One feed's result in one cycle."""

    name: str
    items: list[RawItem]  # validated entries, ready for normalise_item
    status: str  # ok, not-modified, failed, skipped-backoff, claimed-elsewhere,
    # fetched-recently
    http_status: int | None
    error: str | None  # short human-readable reason when failed
    problems: tuple[str, ...]  # bozo message, dropped links, bad dates...


@dataclass
class _Limiter:
    """Global and per-host caps on simultaneous requests."""

    config: FetchConfig
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    overall: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        if self.overall is None:
            self.overall = asyncio.Semaphore(self.config.concurrency)
        host = self.hosts.setdefault(host_of(url), asyncio.Semaphore(self.config.per_host))
        async with host, self.overall:  # host first: queueing for a busy host holds no slot
            yield


@dataclass
class _Cycle:
    client: httpx.AsyncClient
    config: FetchConfig
    limiter: _Limiter
    engine: Engine | None
    fetched_at: datetime

    async def get(
        self, url: str, etag: str | None = None, modified: str | None = None
    ) -> FetchResult:
        async with self.limiter.slot(url):
            return await fetch(self.client, url, self.config, etag=etag, last_modified=modified)


def collect_feeds(
    config: Config,
    engine: Engine,
    *,
    worker: str = "local",
    now: datetime | None = None,
    run_id: int | None = None,
) -> list[FeedOutcome]:
    """Fetch and parse every due feed this worker could claim; never raises for one feed
    (``run_id``: the run whose claims these are, ``feed_health.claim_feeds``)."""
    now = now or now_utc()
    fetch_config = config.sources.fetch
    feeds, duplicates = _unique_enabled(config.sources.feeds)
    sync_feeds(engine, feeds)
    token = new_claim_token(worker)
    claims, skipped = claim_feeds(
        engine,
        [f.name for f in feeds],
        worker=token,
        now=now,
        ttl_s=fetch_config.claim_ttl_s,
        min_interval_s=fetch_config.min_interval_s,
        run_id=run_id,
    )
    by_name = {feed.name: feed for feed in feeds}
    work = [(by_name[c.name], c) for c in claims]
    results = asyncio.run(_run_all(work, fetch_config, engine, now))
    record_results(engine, [update for _, update in results], now=now, fetch=fetch_config)
    hold_claims([update.name for _, update in results if update.keep_claim], token)
    outcomes = {outcome.name: outcome for outcome, _ in results}
    for name, status in skipped.items():
        outcomes[name] = FeedOutcome(name, [], status, None, None, ())
    ok = sum(o.status in ("ok", "not-modified") for o in outcomes.values())
    log.info("feeds: %d fetched, %d ok or unchanged, %d skipped", len(results), ok, len(skipped))
    return [outcomes[f.name] for f in feeds if f.name in outcomes] + duplicates


def check_feed(url: str, config: Config) -> FeedOutcome:
    """Fetch and parse one URL as a feed without storing anything (``feeds check``)."""
    feed = next((f for f in config.sources.feeds if f.url == url), None)
    if feed is None:
        try:
            feed = FeedConfig(name=host_of(url) or "feed", url=url)
        except ValueError:
            return FeedOutcome(
                url[:200], [], "failed", None, "expected an http:// or https:// URL", ()
            )
    claim = FeedClaim(feed.name, feed.url, None, None)
    [(outcome, _)] = asyncio.run(_run_all([(feed, claim)], config.sources.fetch, None, now_utc()))
    return outcome


def enabled_feed_names(feeds: list[FeedConfig]) -> list[str]:
    """The names a cycle fetches: enabled feeds, each name once (coverage counts these)."""
    return [feed.name for feed in _unique_enabled(feeds)[0]]


def _unique_enabled(feeds: list[FeedConfig]) -> tuple[list[FeedConfig], list[FeedOutcome]]:
    """Enabled feeds by first occurrence of each name; a repeated name is reported, not fetched."""
    unique: dict[str, FeedConfig] = {}
    duplicates: list[FeedOutcome] = []
    for feed in feeds:
        if not feed.enabled:
            continue
        if feed.name in unique:
            reason = f"duplicate feed name {feed.name!r} in the config; only the first is fetched"
            duplicates.append(FeedOutcome(feed.name, [], "failed", None, reason, ()))
            continue
        unique[feed.name] = feed
    return list(unique.values()), duplicates


async def _run_all(
    work: list[tuple[FeedConfig, FeedClaim]],
    config: FetchConfig,
    engine: Engine | None,
    now: datetime,
) -> list[tuple[FeedOutcome, HealthUpdate]]:
    async with make_client(config) as client:
        cycle = _Cycle(client, config, _Limiter(config), engine, now)
        tasks = [_one_feed(cycle, feed, claim) for feed, claim in work]
        results = await asyncio.gather(*tasks, return_exceptions=True)
    return [
        r if not isinstance(r, BaseException) else _failed(feed.name, None, _crash(r))
        for (feed, _), r in zip(work, results, strict=True)
    ]


async def _one_feed(
    cycle: _Cycle, feed: FeedConfig, claim: FeedClaim
) -> tuple[FeedOutcome, HealthUpdate]:
    try:
        return await _fetch_and_parse(cycle, feed, claim)
    except FetchError as exc:
        return _failed(feed.name, exc.status, str(exc), retry_after_s=exc.retry_after_s)
    except Exception as exc:  # noqa: BLE001 - one feed's bug must not end the cycle
        log.exception("feed %s failed unexpectedly", feed.name)
        return _failed(feed.name, None, _crash(exc))


async def _fetch_and_parse(
    cycle: _Cycle, feed: FeedConfig, claim: FeedClaim
) -> tuple[FeedOutcome, HealthUpdate]:
    result = await cycle.get(claim.url, claim.etag, claim.last_modified)
    if result.not_modified:
        outcome = FeedOutcome(feed.name, [], "not-modified", 304, None, ())
        return outcome, HealthUpdate(feed.name, "not-modified", http_status=304)
    parsed = await asyncio.to_thread(parse_feed, result, feed, cycle.fetched_at)
    if parsed.error:
        return _failed(feed.name, result.status, parsed.error, parsed.problems, parsed.entries_seen)
    items, problems = parsed.items, parsed.problems
    if feed.full_text and parsed.summary_only:
        items, more = await add_full_text(
            items,
            parsed.summary_only,
            fetch_page=cycle.get,
            engine=cycle.engine,
            max_pages=cycle.config.full_text_max_pages,
        )
        problems += more
    outcome = FeedOutcome(feed.name, items, "ok", result.status, None, problems)
    update = HealthUpdate(
        feed.name,
        "ok",
        http_status=result.status,
        problems=problems,
        entries_seen=parsed.entries_seen,
        etag=result.etag,
        last_modified=result.last_modified,
        keep_claim=True,
    )
    return outcome, update


def _failed(
    name: str,
    http_status: int | None,
    error: str,
    problems: tuple[str, ...] = (),
    entries_seen: int = 0,
    retry_after_s: float | None = None,
) -> tuple[FeedOutcome, HealthUpdate]:
    log.warning("feed %s failed: %s", name, error)
    outcome = FeedOutcome(name, [], "failed", http_status, error, problems)
    update = HealthUpdate(
        name,
        "failed",
        http_status=http_status,
        error=error,
        problems=problems,
        entries_seen=entries_seen,
        retry_after_s=retry_after_s,
    )
    return outcome, update


def _crash(exc: BaseException) -> str:
    return f"internal error: {type(exc).__name__}: {str(exc)[:150]}"
