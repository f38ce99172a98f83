"""Score claims on both stores: two runs with one backlog each score their own part (issue 6)."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert, select, update

from bench.generate_articles import write_jsonl
from pipeline import runlog, schema, score_claims, store
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.records import Article
from pipeline.run import ingest_items
from pipeline.runlog import STALE_AFTER
from pipeline.score_claims import RunClaims
from pipeline.seeds import read_seeds
from tests.conftest import write_config
from tests.pg import store_url_fixture  # noqa: F401
from tests.pipeline_runs import (
    count,
    start_run,
    trained_models_fixture,  # noqa: F401
    write_run_config,
)

VERSIONS = {"risk": "v1"}
NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)


def _articles(engine: Engine, n: int) -> list[Article]:
    """``n`` stored articles, none scored."""
    base = Article(
        article_id="",
        title="",
        text="Washington weighs its drug-policy review of Colombia.",
        source="Wire",
        language="en",
        url=None,
        page_date=None,
        event_date=NOW.date(),
        ingested_at=NOW,
        content_hash="",
    )
    batch = [
        replace(base, article_id=f"a{i:03d}", title=f"Story {i}", content_hash=f"h{i:03d}")
        for i in range(n)
    ]
    store.upsert_articles(engine, batch)
    return batch


def _holders(engine: Engine) -> dict[str, int]:
    c = schema.score_claims
    with engine.connect() as conn:
        return dict(conn.execute(select(c.c.article_id, c.c.run_id)).all())


def _pending(engine: Engine, run_id: int | None) -> list[str]:
    found = store.articles_to_score(engine, VERSIONS, skip_claimed=True, run_id=run_id)
    return sorted(a.article_id for a in found)


def test_a_batch_goes_to_the_run_that_claimed_it_first(store_url: str) -> None:
    engine = store.open_store(store_url)
    ids = [a.article_id for a in _articles(engine, 6)]
    first, second = store.start_run(engine), store.start_run(engine)
    now = store.now_utc()
    assert score_claims.claim(engine, first, ids[:4], now) == set(ids[:4])
    assert score_claims.claim(engine, second, ids[2:], now) == set(ids[4:])
    assert score_claims.claim(engine, first, ids[:2], now) == set(ids[:2])  # its own again
    assert _holders(engine) == {**dict.fromkeys(ids[:4], first), **dict.fromkeys(ids[4:], second)}
    assert _pending(engine, first) == ids[:4]  # its own claims never hide work from it
    assert _pending(engine, second) == ids[4:]
    assert _pending(engine, None) == []  # `policy-risk score` leaves both runs' work alone
    assert store.articles_to_score(engine, VERSIONS, limit=10) != []  # the plain read: all
    with engine.begin() as conn:
        score_claims.release(conn, first, ids[:2])
    assert _pending(engine, second) == sorted(ids[:2] + ids[4:])
    score_claims.release_all(engine, second)
    assert _holders(engine) == dict.fromkeys(ids[2:4], first)


def test_claims_of_a_run_that_ended_or_went_silent_are_anyones(store_url: str) -> None:
    engine = store.open_store(store_url)
    ids = [a.article_id for a in _articles(engine, 4)]
    ended, silent, alive = (store.start_run(engine) for _ in range(3))
    now = store.now_utc()
    score_claims.claim(engine, ended, ids[:2], now)
    score_claims.claim(engine, silent, ids[2:], now)
    store.finish_run(engine, ended, "ok", {})
    with engine.begin() as conn:  # another host's run that stopped beating long ago
        old = now - STALE_AFTER - timedelta(minutes=1)
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_id == silent)
            .values(host="elsewhere", heartbeat_at=old)
        )
    assert _pending(engine, alive) == ids
    assert score_claims.claim(engine, alive, ids, now) == set(ids)
    assert _holders(engine) == dict.fromkeys(ids, alive)


def test_a_new_run_clears_the_claims_of_runs_that_are_over(store_url: str) -> None:
    engine = store.open_store(store_url)
    ids = [a.article_id for a in _articles(engine, 3)]
    ended, going = store.start_run(engine), store.start_run(engine)
    now = store.now_utc()
    score_claims.claim(engine, ended, ids[:1], now)
    score_claims.claim(engine, going, ids[1:], now)
    store.finish_run(engine, ended, "failed", {})
    store.start_run(engine)
    assert _holders(engine) == dict.fromkeys(ids[1:], going)


def test_a_run_alone_claims_nothing_and_starts_once_another_run_is_going(
    store_url: str,
) -> None:
    engine = store.open_store(store_url)
    batch = _articles(engine, 4)
    ids = [a.article_id for a in batch]
    mine = store.start_run(engine)
    claims = RunClaims(engine, mine)
    assert claims.take(batch[:2]) == batch[:2]
    assert not claims.active and _holders(engine) == {}  # alone: not a single write
    other = store.start_run(engine)
    score_claims.claim(engine, other, [batch[3].article_id], store.now_utc())
    in_flight = [a.article_id for a in batch[:2]]  # handed out while it was alone
    assert claims.take(batch[2:], in_flight) == batch[2:3]  # the other run has the fourth
    assert claims.active
    assert _holders(engine) == {**dict.fromkeys(ids[:3], mine), ids[3]: other}
    claims.saved(ids[:3])
    assert _holders(engine) == {batch[3].article_id: other}
    claims.take(batch[:1])
    claims.close()
    assert _holders(engine) == {batch[3].article_id: other}
    assert RunClaims(engine, None).take(batch) == batch  # no run row: never claims


def test_a_claim_larger_than_one_statement_holds_every_article(store_url: str) -> None:
    """Eight workers' batches in flight (24,000 ids) exceed both databases' parameter limits
    in one statement; the claim and its release go in chunks."""
    engine = store.open_store(store_url)
    first, second = store.start_run(engine), store.start_run(engine)
    ids = [f"x{i:05d}" for i in range(24_000)]
    assert score_claims.claim(engine, first, ids, store.now_utc()) == set(ids)
    assert score_claims.claim(engine, second, ids[-2:] + ["y1"], store.now_utc()) == {"y1"}
    with engine.begin() as conn:
        score_claims.release(conn, first, ids)
    assert _holders(engine) == {"y1": second}


def test_score_ignores_the_claims_of_a_run_killed_on_this_host(
    tmp_path: Path, seed_dir: Path
) -> None:
    """QA 4 #1: a run killed with kill -9 on this host left its claims live for 15 minutes (its
    heartbeat was fresh), so `policy-risk score` right after scored nothing and said so with
    exit 0. Scoring now first closes runs whose process is gone, and their claims go with them."""
    config = write_config(tmp_path, seeds=[seed_dir])
    engine = store.open_store(f"sqlite:///{tmp_path / 'test.db'}")
    ingest_items(engine, read_seeds(load_config(config).sources.seeds).items)  # stored, unscored
    with engine.begin() as conn:
        result = conn.execute(
            insert(schema.runs).values(
                started_at=store.now_utc(), status="running", heartbeat_at=store.now_utc(),
                host=runlog.this_host(), pid=_exited_pid(),
            )
        )
        run = int(result.inserted_primary_key[0])
    ids = [a.article_id for a in store.articles_to_score(engine, {"x": "y"})]
    assert score_claims.claim(engine, run, ids, store.now_utc()) == set(ids)
    out = CliRunner().invoke(cli, ["--config", str(config), "score", "--workers", "0"])
    assert out.exit_code == 0, out.output
    assert f"Scored {len(ids)} article(s)" in out.output and "were left to" not in out.output
    assert _holders(engine) == {}
    alive = store.start_run(engine)  # a live run's claims are left to it, and `score` says so
    article = _articles(engine, 1)[0]
    score_claims.claim(engine, alive, [article.article_id], store.now_utc())
    out = CliRunner().invoke(cli, ["--config", str(config), "score", "--workers", "0"])
    assert "Scored 0 article(s)" in out.output
    assert "1 pending article(s) were left to run(s) still going on" in out.output
    with engine.connect() as conn:
        status = conn.execute(select(schema.runs.c.status).where(schema.runs.c.run_id == run))
        assert status.scalar_one() == "interrupted"


def test_a_partner_killed_during_the_pass_leaves_what_it_claimed_to_the_survivor(
    tmp_path: Path, seed_dir: Path
) -> None:
    """QA 6b #5: a `score` killed beside a running `run` kept its claimed batch from it: the
    run ended ok with those articles unscored. Before calling its pass done, a run closes
    partners whose process is gone from this host and scores what they held."""
    from pipeline.run import score_pending
    from pipeline.scoring import load_models

    cfg = load_config(write_config(tmp_path, seeds=[seed_dir]))
    engine = store.open_store(cfg.database.url)
    ingest_items(engine, read_seeds(cfg.sources.seeds).items)  # stored, unscored
    ids = sorted(a.article_id for a in store.articles_to_score(engine, {"x": "y"}))
    assert len(ids) >= 2
    partner_process = subprocess.Popen(["sleep", "60"])
    with engine.begin() as conn:
        result = conn.execute(
            insert(schema.runs).values(
                started_at=store.now_utc(), status="running", heartbeat_at=store.now_utc(),
                host=runlog.this_host(), pid=partner_process.pid, kind=runlog.SCORE,
            )
        )
        partner = int(result.inserted_primary_key[0])
    assert score_claims.claim(engine, partner, ids[1:], store.now_utc()) == set(ids[1:])
    ours = store.start_run(engine)

    def kill_the_partner(_stage: str, _count: int) -> None:  # once this run has saved a batch
        if partner_process.poll() is None:
            partner_process.kill()
            partner_process.wait()

    models = load_models(cfg)
    assert score_pending(engine, models, kill_the_partner, run_id=ours) == len(ids)
    assert partner_process.returncode is not None  # it died during the pass, not before
    assert store.articles_to_score(engine, models.versions()) == []
    with engine.connect() as conn:
        status = conn.execute(select(schema.runs.c.status).where(schema.runs.c.run_id == partner))
        assert status.scalar_one() == "interrupted"


def _exited_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def _run_rows(engine: Engine) -> list[tuple[object, ...]]:
    """Every run's kind, status, counts and whether it ended, oldest first."""
    r = schema.runs
    columns = (r.c.kind, r.c.status, r.c.articles_added, r.c.articles_scored)
    stmt = select(*columns, r.c.finished_at.is_not(None)).order_by(r.c.run_id)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(stmt)]


def test_score_records_a_score_run_with_what_it_scored(
    store_url: str, tmp_path: Path, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`score` (and `score --rescore`) has a run row of kind "score": it takes part in claims,
    and its row counts what it saved. Models that do not load stop it before it writes."""
    monkeypatch.setenv("DATABASE_URL", store_url)
    config = write_config(tmp_path, seeds=[seed_dir])
    engine = store.open_store(store_url)
    stored = ingest_items(engine, read_seeds(load_config(config).sources.seeds).items)
    n = stored.added
    for args in ([], ["--rescore"]):
        out = CliRunner().invoke(cli, ["--config", str(config), "score", "--workers", "0", *args])
        assert out.exit_code == 0, out.output
        assert f"Scored {n} article(s)" in out.output
    assert _run_rows(engine) == [("score", "ok", 0, n, True)] * 2
    broken = write_run_config(tmp_path / "broken", [seed_dir], tmp_path / "no-models")
    out = CliRunner().invoke(cli, ["--config", str(broken), "score"])
    assert out.exit_code == 1 and "Error" in out.output
    assert len(_run_rows(engine)) == 2  # refused before it started: no row


def test_score_interrupted_by_ctrl_c_ends_its_run_failed_with_what_it_saved(
    tmp_path: Path, trained_models: Path
) -> None:
    """Ctrl-C during `score` ends its run "failed" (not left "running" for 15 minutes, holding
    claims), counting the batches it had saved."""
    seeds = tmp_path / "seeds"
    write_jsonl(seeds, 8000, per_file=1000, seed=9, words=40)
    config = write_run_config(tmp_path / "run", [seeds], trained_models)
    url = f"sqlite:///{tmp_path / 'score.db'}"
    engine = store.open_store(url)
    ingest_items(engine, read_seeds([seeds]).items)
    log = tmp_path / "score.log"
    proc = start_run(config, url, log, ("score", "--workers", "0"))
    deadline = time.monotonic() + 120
    while "scored: " not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "scoring never started"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    [(kind, status, added, scored, ended)] = _run_rows(engine)
    assert (kind, status, added, ended) == ("score", "failed", 0, True), log.read_text()
    assert 0 < scored < 8000 and scored % 1000 == 0
    assert count(engine, schema.score_claims) == 0
