"""``kill -9`` of a real pipeline run during ingest and scoring, then a rerun (issue 6).

After every kill the store must show whole batches only (each batch is one transaction), and the
derived totals must agree with the rows; the killed run's row must count exactly what it stored
and scored (each batch adds its counts in its own transaction); after the final rerun every
article is stored exactly once and scored by every model, and the runs' counts add up to it.
Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bench.generate_articles import generate_items, write_jsonl
from pipeline import schema, store, totals
from pipeline.normalise import normalise_item
from pipeline.parallel_scoring import SAVE_BATCHES
from pipeline.records import Score
from pipeline.run import BATCH
from tests.conftest import ROOT, write_config
from tests.feed_server import FeedServer, feed_server_fixture, rss, story  # noqa: F401
from tests.pg import store_url_fixture  # noqa: F401
from tests.pipeline_runs import (
    assert_complete,
    count,
    start_run,
    trained_models_fixture,  # noqa: F401
    write_run_config,
)
from tests.store_checks import assert_totals_consistent

# Finished scoring batches are saved SAVE_BATCHES at a time, so the first scores appear after
# that many batches; twice as many leave a second save, and a scoring stage to kill in.
ARTICLES = 2 * SAVE_BATCHES * BATCH
SEED = 20261127
WORDS = 40  # short articles: the test is about the store, not about parsing long texts


@pytest.fixture(name="crash_config")
def crash_config_fixture(tmp_path: Path, trained_models: Path) -> Path:
    seeds = tmp_path / "seeds"
    write_jsonl(seeds, ARTICLES, per_file=BATCH, seed=SEED, words=WORDS)
    return write_run_config(tmp_path / "run", [seeds], trained_models)


def _kill_when(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], delay: float, timeout: float = 60.0
) -> bool:
    """SIGKILL the run ``delay`` seconds after ``ready()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the run never reached the point to kill it at"
        time.sleep(0.02)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    proc.kill()
    proc.wait()
    return True


def _statuses(engine: Engine) -> list[str]:
    """Each run's status, oldest first."""
    runs = schema.runs
    with engine.connect() as conn:
        return list(conn.execute(select(runs.c.status).order_by(runs.c.run_id)).scalars())


def _held(engine: Engine) -> tuple[int, int]:
    """Articles stored, and articles holding current scores."""
    cs = schema.current_scores
    with engine.connect() as conn:
        scored = conn.execute(select(func.count(func.distinct(cs.c.article_key)))).scalar_one()
    return count(engine, schema.articles), int(scored)


def _counted(engine: Engine) -> list[tuple[int, int]]:
    """Each run's (articles_added, articles_scored), oldest first."""
    runs = schema.runs
    stmt = select(runs.c.articles_added, runs.c.articles_scored).order_by(runs.c.run_id)
    with engine.connect() as conn:
        return [(added, scored) for added, scored in conn.execute(stmt)]


def _assert_whole_batches(engine: Engine) -> None:
    """What a killed run left behind is made of complete, consistent batches."""
    assert count(engine, schema.raw_items) % BATCH == 0
    assert count(engine, schema.articles) % BATCH == 0
    cs = schema.current_scores
    with engine.connect() as conn:
        per_signal: dict[str, int] = dict(
            conn.execute(select(cs.c.signal, func.count()).group_by(cs.c.signal)).all()
        )
    assert len(set(per_signal.values())) <= 1, (
        f"an article is scored on some signals only: {per_signal}"
    )
    assert all(n % BATCH == 0 for n in per_signal.values()), per_signal
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])


@pytest.mark.slow
def test_kill_during_ingest_and_scoring_then_rerun_loses_and_duplicates_nothing(
    store_url: str, crash_config: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    log = tmp_path / "runs.log"
    engine = store.open_store(store_url)  # the runs find the schema in place, as after `run`
    # (stage, when it has begun, longest pause before the kill): scoring has begun once the
    # first SAVE_BATCHES batches are saved; as many again are still to score and save
    stages: list[tuple[str, Callable[[], bool], float]] = [
        ("ingest", lambda: count(engine, schema.raw_items) > 0, 0.1),
        ("scoring", lambda: count(engine, schema.current_scores) > 0, 0.1),
    ]
    killed, expected = [], []
    for stage, ready, pause in stages:
        before = _held(engine)
        proc = start_run(crash_config, store_url, log)
        # a kill that lands after the run wrote its end, before it exited, interrupted nothing
        stopped = _kill_when(proc, ready, rng.uniform(0.0, pause))
        interrupted = stopped and _statuses(engine)[-1] == "running"
        if interrupted:
            killed.append(stage)
            _assert_whole_batches(engine)
            if stage == "scoring":  # killed between saves, not after the last one
                assert 0 < count(engine, schema.current_scores) < 3 * ARTICLES
            # the dead run's row accounts for what it stored and scored (QA pass 2, item E)
            held = _held(engine)
            counted = _counted(engine)[-1]
            assert counted == (held[0] - before[0], held[1] - before[1]), (stage, counted)
            if stage == "scoring":
                assert counted[1] > 0, counted
        expected.append("interrupted" if interrupted else "ok")
    assert "ingest" in killed and "scoring" in killed, (killed, log.read_text()[-3000:])
    final = start_run(crash_config, store_url, log)
    assert final.wait(timeout=120) == 0, log.read_text()[-3000:]
    assert_complete(engine, crash_config, ARTICLES)
    assert count(engine, schema.raw_items) == ARTICLES
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])
    statuses = _statuses(engine)
    # the killed runs' rows were closed by the next run, not left "running"
    assert statuses == [*expected, "ok"], statuses
    counted = _counted(engine)
    assert tuple(map(sum, zip(*counted, strict=True))) == (ARTICLES, ARTICLES), counted


def test_kill_during_a_feed_fetch_then_an_immediate_rerun_stores_the_feed(
    store_url: str,
    tmp_path: Path,
    feed_server: FeedServer,  # noqa: F811
) -> None:
    """A run killed while it holds a feed's claim (fetch in flight) must not keep the rerun
    from that feed for ``claim_ttl_s``: the rerun closes the dead run, takes the feed, fetches
    it in full and stores it."""
    path = f"/crash/{tmp_path.name}/wire.xml"  # the server lives for the module
    url = feed_server.add(path, b"", behaviour="hang")
    config = write_config(tmp_path, seeds=[], feeds=[{"name": "wire", "url": url}])
    fetch = "  fetch: {allow_private_addresses: true, read_timeout_s: 30, total_timeout_s: 60}\n"
    text = config.read_text(encoding="utf-8").replace("sources:\n", "sources:\n" + fetch, 1)
    config.write_text(text, encoding="utf-8")
    env = {**os.environ, "DATABASE_URL": store_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "run", "--workers", "0"]
    log = tmp_path / "killed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    assert _kill_when(proc, lambda: feed_server.hits[path] > 0, 0.2), log.read_text()
    feed_server.add(path, rss("Wire", [story(1), story(2)]), etag='"w"')

    rerun = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "2 added, 0 updated, 2 scored; 0 source(s) failed." in rerun.stderr + rerun.stdout
    assert feed_server.hits[path] == 2
    assert "if-none-match" not in feed_server.request_headers[path]  # fetched in full
    engine = store.open_store(store_url, create=False)
    assert count(engine, schema.articles) == 2
    assert _statuses(engine) == ["interrupted", "ok"]
    with engine.connect() as conn:
        claim = conn.execute(select(schema.feeds.c.claimed_by, schema.feeds.c.claim_run_id)).one()
    assert tuple(claim) == (None, None)  # released once stored


def test_a_batch_that_fails_midway_leaves_nothing_behind(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The in-process twin of the kill: an error after some rows were written rolls all back."""
    now = datetime(2025, 9, 16, tzinfo=UTC)
    engine = store.open_store(store_url)
    articles = [normalise_item(item, now) for item in generate_items(50, seed=8, words=20)]
    store.upsert_articles(engine, articles)
    scores = [Score(a.article_id, "decertification_risk", 0.5, "v1", now) for a in articles]

    def fail(*_args: object) -> None:
        raise RuntimeError("killed between the score rows and the totals")

    monkeypatch.setattr(totals, "reset_score_keys", fail)
    with pytest.raises(RuntimeError, match="killed"):
        store.save_scores(engine, scores, {a.article_id: a.content_hash for a in articles})
    for table in (schema.scores, schema.current_scores, schema.version_totals):
        assert count(engine, table) == 0
    dt = schema.daily_signal_totals
    with engine.connect() as conn:  # only the article-volume rows the upsert wrote remain
        signals = set(conn.execute(select(dt.c.signal).distinct()).scalars())
    assert signals == {totals.VOLUME}
    monkeypatch.setattr(store, "_add_sources", fail)
    more = [normalise_item(item, now) for item in generate_items(20, seed=9, words=20)]
    with pytest.raises(RuntimeError, match="killed"):
        store.upsert_articles(engine, more)
    assert count(engine, schema.articles) == 50
