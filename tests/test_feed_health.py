"""Feed health, backoff, recovery and claims, with real SQLite and a real server (issue 3)."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, update

from pipeline import schema
from pipeline.cli import cli
from pipeline.config import FetchConfig
from pipeline.feed_cycle import collect_feeds
from pipeline.feed_health import _take, backoff_delay, list_health, record_articles_added
from pipeline.store import open_store, start_run
from tests.conftest import write_config
from tests.feed_server import FeedServer, feed_server_fixture, ingest, make_config, rss, story  # noqa: F401

T0 = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)


def test_backoff_doubles_and_is_capped() -> None:
    fetch = FetchConfig(backoff_base_s=60, backoff_max_s=600)
    assert [backoff_delay(n, fetch) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    assert backoff_delay(1, fetch, retry_after_s=300) == 300
    assert backoff_delay(1, fetch, retry_after_s=99_999) == 600


def test_failing_feed_backs_off_then_recovers(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/health/flaky.xml", b"down", status=500)
    config = make_config(tmp_path, [{"name": "flaky", "url": url}])
    engine = open_store(config.database.url)
    first = collect_feeds(config, engine, now=T0)[0]
    assert (first.status, first.http_status, first.error) == ("failed", 500,
                                                              "HTTP 500 Internal Server Error")
    row = next(h for h in list_health(engine) if h.name == "flaky")
    assert row.consecutive_failures == 1 and row.next_attempt_at == T0 + timedelta(seconds=60)
    assert collect_feeds(config, engine, now=T0 + timedelta(seconds=30))[0].status == (
        "skipped-backoff")
    hits = feed_server.hits["/health/flaky.xml"]
    assert hits == 1
    collect_feeds(config, engine, now=T0 + timedelta(seconds=61))
    row = next(h for h in list_health(engine) if h.name == "flaky")
    assert row.consecutive_failures == 2
    assert row.next_attempt_at == T0 + timedelta(seconds=61 + 120)
    feed_server.add("/health/flaky.xml", rss("Back", [story(1)]))
    result = ingest(config, engine, now=T0 + timedelta(hours=1))
    assert result.outcomes["flaky"].status == "ok"
    row = next(h for h in list_health(engine) if h.name == "flaky")
    assert (row.consecutive_failures, row.last_error, row.next_attempt_at) == (0, None, None)
    assert row.last_success_at == T0 + timedelta(hours=1)
    assert (row.entries_seen, row.articles_added, row.http_status) == (1, 1, 200)


def test_retry_after_extends_the_backoff(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/health/busy.xml", b"busy", status=503, headers={"Retry-After": "900"})
    config = make_config(tmp_path, [{"name": "busy", "url": url}])
    engine = open_store(config.database.url)
    outcome = collect_feeds(config, engine, now=T0)[0]
    assert (outcome.status, outcome.http_status) == ("failed", 503)
    row = next(h for h in list_health(engine) if h.name == "busy")
    assert row.next_attempt_at == T0 + timedelta(seconds=900)


def test_unchanged_feed_costs_one_304(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/health/etag.xml", rss("E", [story(1), story(2)]), etag='"e1"',
                          headers={"Last-Modified": "Tue, 05 Mar 2024 10:00:00 GMT"})
    config = make_config(tmp_path, [{"name": "e", "url": url}])
    engine = open_store(config.database.url)
    assert ingest(config, engine).upserts["e"].added == 2
    second = ingest(config, engine)
    assert second.outcomes["e"].status == "not-modified" and second.outcomes["e"].http_status == 304
    sent = feed_server.request_headers["/health/etag.xml"]
    assert sent["if-none-match"] == '"e1"'
    assert sent["if-modified-since"] == "Tue, 05 Mar 2024 10:00:00 GMT"


def test_feed_claimed_by_another_worker_is_skipped(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/health/claimed.xml", rss("C", [story(1)]))
    config = make_config(tmp_path, [{"name": "c", "url": url}])
    engine = open_store(config.database.url)
    first = collect_feeds(config, engine, worker="alpha", now=T0)
    assert first[0].status == "ok"
    assert _claimed_by(engine, "c").startswith("alpha:")  # held until the batch is stored
    record_articles_added(engine, {"c": 1})
    assert _claimed_by(engine, "c") is None
    with engine.begin() as conn:  # another process claims it, as its collect_feeds would
        conn.execute(update(schema.feeds).values(claimed_by="gamma:1",
                                                 claimed_until=T0 + timedelta(minutes=10)))
    other = collect_feeds(config, engine, worker="beta", now=T0 + timedelta(seconds=5))
    assert other[0].status == "claimed-elsewhere" and other[0].items == []
    record_articles_added(engine, {"c": 0})  # beta's bookkeeping must not free gamma's claim
    assert _claimed_by(engine, "c") == "gamma:1"
    assert next(h for h in list_health(engine) if h.name == "c").articles_added == 1


def test_min_interval_fetches_a_feed_once_between_workers(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Workers on their own schedules: a feed another worker fetched recently is not due."""
    path = "/health/interval.xml"
    url = feed_server.add(path, rss("I", [story(1)]), etag='"i"')
    config = make_config(tmp_path, [{"name": "i", "url": url}], min_interval_s=600)
    engine = open_store(config.database.url)
    assert ingest(config, engine, worker="alpha", now=T0).upserts["i"].added == 1
    beta = collect_feeds(config, engine, worker="beta", now=T0 + timedelta(minutes=9))[0]
    assert (beta.status, beta.items, beta.error) == ("fetched-recently", [], None)
    assert feed_server.hits[path] == 1
    row = next(h for h in list_health(engine) if h.name == "i")
    assert (row.last_attempt_at, row.consecutive_failures, row.claimed_by) == (T0, 0, None)
    later = collect_feeds(config, engine, worker="beta", now=T0 + timedelta(minutes=10))[0]
    assert later.status == "not-modified" and feed_server.hits[path] == 2  # conditional again


def test_min_interval_leaves_failing_and_moved_feeds_to_their_own_rules(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Only a success counts as a recent fetch: a failing feed keeps its backoff, and a feed
    whose URL changed is fetched at once."""
    old = feed_server.add("/health/old-site.xml", rss("O", [story(1)]))
    new = feed_server.add("/health/new-site.xml", rss("N", [story(2)]))
    down = feed_server.add("/health/down.xml", b"down", status=503)
    feeds = [{"name": "moved", "url": old}, {"name": "down", "url": down}]
    config = make_config(tmp_path, feeds, min_interval_s=3600, backoff_base_s=60)
    engine = open_store(config.database.url)
    first = ingest(config, engine, now=T0).outcomes
    assert (first["moved"].status, first["down"].status) == ("ok", "failed")
    feeds[0]["url"] = new
    moved = make_config(tmp_path, feeds, min_interval_s=3600, backoff_base_s=60)
    again = ingest(moved, engine, now=T0 + timedelta(minutes=2)).outcomes
    assert again["moved"].status == "ok" and len(again["moved"].items) == 1
    assert again["down"].status == "failed"  # its backoff of 60 s is over; a success is not
    assert feed_server.hits["/health/down.xml"] == 2


def test_two_workers_runs_fetch_a_feed_once_per_interval(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """``policy-risk run`` as two workers: the second finds the feed not due, says so, and
    neither counts it as a failure."""
    url = feed_server.add("/health/team.xml", rss("T", [story(1), story(2)]))
    fetch = "  fetch: {allow_private_addresses: true, min_interval_s: 900}\n"
    path = write_config(tmp_path, seeds=[], feeds=[{"name": "team", "url": url}])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("sources:\n", "sources:\n" + fetch, 1), encoding="utf-8")
    runs = [
        CliRunner().invoke(cli, ["--config", str(path), "run", "--worker", worker])
        for worker in ("alpha", "beta")
    ]
    assert [r.exit_code for r in runs] == [0, 0], [r.output for r in runs]
    assert "2 added, 0 updated, 2 scored; 0 source(s) failed." in runs[0].output
    assert "0 added, 0 updated, 0 scored; 0 source(s) failed, 1 feed(s) not due." in (
        runs[1].output)
    assert feed_server.hits["/health/team.xml"] == 1


def test_a_run_counts_feeds_backing_off_as_still_failing(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """QA 3 #4: a feed skipped for its backoff is still down; the run must not say all is well
    (exit 0, status ok) just because the feed was not tried this time."""
    good = feed_server.add("/health/fine.xml", rss("F", [story(1)]))
    down = feed_server.add("/health/down-run.xml", b"down", status=503)
    fetch = "  fetch: {allow_private_addresses: true, backoff_base_s: 3600}\n"
    path = write_config(tmp_path, seeds=[], feeds=[{"name": "fine", "url": good},
                                                    {"name": "down", "url": down}])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("sources:\n", "sources:\n" + fetch, 1), encoding="utf-8")
    runs = [CliRunner().invoke(cli, ["--config", str(path), "run"]) for _ in range(2)]
    assert [r.exit_code for r in runs] == [1, 1], [r.output for r in runs]
    assert "1 source(s) failed." in runs[0].output
    assert "0 source(s) failed, 1 feed(s) backing off." in runs[1].output
    assert "still failing, not tried until their backoff ends: feed:down" in runs[1].output
    assert feed_server.hits["/health/down-run.xml"] == 1  # the second run did not try it
    engine = open_store(f"sqlite:///{tmp_path / 'test.db'}", create=False)
    with engine.connect() as conn:
        statuses = conn.execute(select(schema.runs.c.status).order_by(schema.runs.c.run_id))
        assert statuses.scalars().all() == ["partial", "partial"]


def test_claim_guard_refuses_a_feed_fetched_since_it_was_read(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """The claim's UPDATE itself checks the interval: a worker that read the row before
    another worker's success was recorded (PostgreSQL reads do not wait) still loses."""
    url = feed_server.add("/health/race.xml", rss("R", [story(1)]))
    config = make_config(tmp_path, [{"name": "r", "url": url}])
    engine = open_store(config.database.url)
    collect_feeds(config, engine, now=T0)  # creates the row
    with engine.begin() as conn:
        conn.execute(update(schema.feeds).values(claimed_by=None, claimed_until=None,
                                                 last_success_at=T0 + timedelta(minutes=1)))
        recent_after = T0 + timedelta(minutes=2) - timedelta(seconds=600)
        assert not _take(conn, "r", "beta:1", T0 + timedelta(minutes=2), 600, recent_after)
        assert _take(conn, "r", "beta:1", T0 + timedelta(minutes=2), 600, None)


def _claimed_by(engine: Engine, name: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(schema.feeds.c.claimed_by)
                            .where(schema.feeds.c.name == name)).scalar_one()


def test_unconfirmed_batch_is_refetched_in_full(feed_server: FeedServer, tmp_path: Path) -> None:
    """A crash between fetch and store leaves the claim; once it expires the 304 is skipped."""
    url = feed_server.add("/health/crash.xml", rss("K", [story(1)]), etag='"k"')
    config = make_config(tmp_path, [{"name": "k", "url": url}], claim_ttl_s=60)
    engine = open_store(config.database.url)
    assert collect_feeds(config, engine, now=T0)[0].status == "ok"  # ... and then the crash
    assert collect_feeds(config, engine, now=T0 + timedelta(seconds=30))[0].status == (
        "claimed-elsewhere")
    again = collect_feeds(config, engine, now=T0 + timedelta(seconds=61))[0]
    assert again.status == "ok" and len(again.items) == 1
    assert "if-none-match" not in feed_server.request_headers["/health/crash.xml"]


def test_claim_of_a_killed_run_is_free_for_the_rerun_at_once(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """kill -9 between fetch and store: the next run on the host closes the dead run, and with
    it the claim, instead of skipping the feed until the claim expires (issue 6)."""
    url = feed_server.add("/health/killed.xml", rss("K", [story(1)]), etag='"k"')
    config = make_config(tmp_path, [{"name": "k", "url": url}], claim_ttl_s=600)
    engine = open_store(config.database.url)
    killed = start_run(engine)
    first = collect_feeds(config, engine, worker="alpha", run_id=killed)[0]
    assert first.status == "ok"  # ... and then the kill, before its entries were stored
    live = start_run(engine)  # the process of `killed` is this one: still alive, still running
    held = collect_feeds(config, engine, worker="beta", run_id=live)[0]
    assert held.status == "claimed-elsewhere"
    with engine.begin() as conn:
        dead = update(schema.runs).where(schema.runs.c.run_id == killed)
        conn.execute(dead.values(pid=_dead_pid()))  # as if its process had been killed
    rerun = start_run(engine)  # closes the run whose process is gone
    again = collect_feeds(config, engine, worker="beta", run_id=rerun)[0]
    assert again.status == "ok" and len(again.items) == 1
    assert "if-none-match" not in feed_server.request_headers["/health/killed.xml"]  # in full
    with engine.connect() as conn:
        row = conn.execute(select(schema.feeds)).mappings().one()
    assert row["claimed_by"].startswith("beta:") and row["claim_run_id"] == rerun
    record_articles_added(engine, {"k": 1})
    with engine.connect() as conn:
        row = conn.execute(select(schema.feeds)).mappings().one()
    assert (row["claimed_by"], row["claimed_until"], row["claim_run_id"]) == (None, None, None)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_changed_url_resets_validators(feed_server: FeedServer, tmp_path: Path) -> None:
    old = feed_server.add("/health/old.xml", rss("O", [story(1)]), etag='"o"')
    new = feed_server.add("/health/new.xml", rss("N", [story(2)]), etag='"o"')
    engine = open_store(make_config(tmp_path, []).database.url)
    ingest(make_config(tmp_path, [{"name": "moved", "url": old}]), engine)
    result = ingest(make_config(tmp_path, [{"name": "moved", "url": new}]), engine)
    assert result.outcomes["moved"].status == "ok"
    assert next(h for h in list_health(engine) if h.name == "moved").url == new


def test_duplicate_and_disabled_feeds(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/health/dup.xml", rss("D", [story(1)]))
    feeds: list[dict[str, Any]] = [{"name": "d", "url": url}, {"name": "d", "url": url + "?again"},
             {"name": "off", "url": url, "enabled": False}]
    config = make_config(tmp_path, feeds)
    outcomes = collect_feeds(config, open_store(config.database.url), now=T0)
    assert [(o.name, o.status) for o in outcomes] == [("d", "ok"), ("d", "failed")]
    assert outcomes[1].error and "duplicate feed name" in outcomes[1].error


@pytest.mark.parametrize("stale_naive", [True, False])
def test_claim_compares_times_in_utc(
    feed_server: FeedServer, tmp_path: Path, stale_naive: bool
) -> None:
    url = feed_server.add("/health/tz.xml", rss("T", [story(1)]))
    config = make_config(tmp_path, [{"name": "tz", "url": url}])
    engine = open_store(config.database.url)
    collect_feeds(config, engine, now=T0)
    with engine.begin() as conn:
        until = T0.replace(tzinfo=None) if stale_naive else T0
        conn.execute(update(schema.feeds).values(claimed_until=until, claimed_by="x:1"))
    later = datetime(2024, 3, 7, 14, 0, tzinfo=UTC).astimezone()  # any zone: compared in UTC
    assert collect_feeds(config, engine, now=later)[0].status == "ok"
