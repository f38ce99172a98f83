"""Scoring a backlog with worker processes: same scores as in-process, nothing lost or doubled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bench.generate_articles import generate_items, write_jsonl
from pipeline import schema, store
from pipeline.config import load_config
from pipeline.errors import ModelError
from pipeline.normalise import normalise_item
from pipeline.parallel_scoring import (
    SAVE_BATCHES,
    WORKER_NICENESS,
    BackgroundScorer,
    worker_count,
    worker_pool,
)
from pipeline.prepare import PreparedBatch, prepare_here
from pipeline.records import Article, RawItem
from pipeline.run import BATCH, INGEST_BATCH, PARALLEL_AFTER, run_pipeline, score_pending
from pipeline.scoring import ModelSet, load_model_folders, load_models
from tests.conftest import require, write_config
from tests.store_checks import assert_totals_consistent

ROOT = Path(__file__).resolve().parents[1]
BACKLOG = PARALLEL_AFTER + 2 * BATCH + 137  # serial batches, then a parallel tail
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _filled_store(path: Path, n: int) -> str:
    url = f"sqlite:///{path}"
    engine = store.open_store(url)
    items = list(islice(generate_items(n, seed=7), n))
    now = store.now_utc()
    store.upsert_articles(engine, [normalise_item(item, now) for item in items])
    engine.dispose()
    return url


def _current(url: str) -> dict[tuple[str, str], tuple[float, str, str | None]]:
    engine = store.open_store(url, create=False)
    a, cs = schema.articles, schema.current_scores
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                a.c.article_id, cs.c.signal, cs.c.value, cs.c.model_version, cs.c.explanation
            ).join_from(cs, a, a.c.article_key == cs.c.article_key)
        ).all()
    engine.dispose()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelSet:
    return load_models(load_config(write_config(tmp_path_factory.mktemp("cfg"))))


@contextmanager
def _another_thread() -> Iterator[None]:
    """With a second thread alive, workers are spawned (forking could copy a held lock)."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        yield
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_score_like_one_process_and_store_each_score_once(
    tmp_path: Path, models: ModelSet, start: str
) -> None:
    serial_url = _filled_store(tmp_path / "serial.db", BACKLOG)
    parallel_url = _filled_store(tmp_path / "parallel.db", BACKLOG)
    stages: list[tuple[str, int]] = []

    serial = score_pending(store.open_store(serial_url), models, workers=0)
    with _another_thread() if start == "spawn" else nullcontext():
        parallel = score_pending(
            store.open_store(parallel_url), models, lambda s, n: stages.append((s, n)), workers=2
        )

    assert serial == parallel == BACKLOG
    assert any(stage == "scored by 2 workers" for stage, _ in stages), stages
    assert stages[-1][1] == BACKLOG
    want, got = _current(serial_url), _current(parallel_url)
    assert len(got) == BACKLOG * len(models.models)
    assert got.keys() == want.keys()
    for key, (value, version, explanation) in want.items():
        assert got[key][0] == pytest.approx(value, abs=1e-9)
        assert got[key][1:] == (version, explanation)
    engine = store.open_store(parallel_url, create=False)
    with engine.connect() as conn:
        history = conn.execute(select(func.count()).select_from(schema.scores)).scalar_one()
    assert history == BACKLOG * len(models.models)
    assert store.articles_to_score(engine, models.versions(), 10) == []
    assert_totals_consistent(engine, [s for s in models.models if s != "relevance"])


def test_a_spawned_worker_that_cannot_load_the_models_stops_the_run_with_its_error(
    tmp_path: Path,
) -> None:
    config_dir = tmp_path / "cfg"
    config_dir.mkdir()
    shipped = load_models(load_config(write_config(config_dir))).folders()
    folders = {
        signal: shutil.copytree(source, tmp_path / "models" / signal)
        for signal, source in shipped.items()
    }
    models = load_model_folders(folders)
    url = _filled_store(tmp_path / "store.db", BACKLOG)
    shutil.rmtree(folders["cooperation_tone"])  # the workers load after this

    with _another_thread(), pytest.raises(ModelError, match="cooperation_tone"):
        score_pending(store.open_store(url), models, workers=2)

    engine = store.open_store(url, create=False)
    left = store.articles_to_score(engine, models.versions(), BACKLOG)
    assert len(left) == BACKLOG - PARALLEL_AFTER  # the in-process batches were kept, whole
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])


def test_finished_batches_are_saved_in_full_transactions(tmp_path: Path, models: ModelSet) -> None:
    backlog = SAVE_BATCHES * BATCH + 17  # a full transaction of batches, then a short batch
    url = _filled_store(tmp_path / "store.db", backlog)
    engine = store.open_store(url, create=False)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    stages: list[tuple[str, int]] = []
    with BackgroundScorer(engine, models, 2, lambda s, n: stages.append((s, n))) as scorer:
        scorer.offer(store.articles_to_score(engine, models.versions(), backlog))
        scorer.pump()  # hands out every batch; none is finished yet
        assert len(commits) == 0
        assert len(scorer._inflight) == SAVE_BATCHES + 1
        futures.wait([future for _, future in scorer._inflight][: SAVE_BATCHES - 1])
        scorer.pump()  # fewer than a transaction's worth finished in order: nothing saved...
        # ...unless the other worker finished the next batch meanwhile: then one full transaction
        assert (len(commits), scorer.scored) in {(0, 0), (1, SAVE_BATCHES * BATCH)}
        futures.wait([future for _, future in scorer._inflight])
        scorer.pump()  # the first SAVE_BATCHES together; the last waits for company
        assert len(commits) == 1
        assert scorer.scored == SAVE_BATCHES * BATCH
        assert scorer.finish() == backlog
        assert len(commits) == 2
    assert stages == [
        ("scored by 2 workers", SAVE_BATCHES * BATCH),
        ("scored by 2 workers", backlog),
    ]
    assert store.articles_to_score(engine, models.versions(), 10) == []
    with engine.connect() as conn:
        history = conn.execute(select(func.count()).select_from(schema.scores)).scalar_one()
    assert history == backlog * len(models.models)
    assert_totals_consistent(engine, [s for s in models.models if s != "relevance"])


def test_worker_count() -> None:
    assert worker_count(0) == 0
    assert worker_count(3) == 3
    assert worker_count(100) == 8
    assert worker_count(None) == min(os.cpu_count() or 1, 8)


def _children(pid: int) -> set[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_kill_9_of_the_parent_ends_its_workers_and_a_rerun_completes(
    tmp_path: Path, models: ModelSet
) -> None:
    require(Path("/proc").is_dir(), "needs /proc to find the worker processes")
    config = write_config(tmp_path)
    # Enough parallel batches that some are still being scored after the first save (at most
    # SAVE_BATCHES of them) has printed its progress line: the workers must still be there.
    backlog = BACKLOG + 2 * SAVE_BATCHES * BATCH
    url = _filled_store(tmp_path / "test.db", backlog)
    log = tmp_path / "score.log"
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "score", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while "scored by 2 workers" not in log.read_text(errors="replace"):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.05)
    workers = _children(proc.pid)
    assert len(workers) >= 2, workers
    proc.kill()
    proc.wait()

    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"orphaned workers still running: {workers}"
        time.sleep(0.1)
    rerun = subprocess.run(
        [*command[:-1], "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    engine = store.open_store(url, create=False)
    assert store.articles_to_score(engine, models.versions(), 10) == []
    cs = schema.current_scores
    with engine.connect() as conn:
        scored = conn.execute(select(func.count()).select_from(cs)).scalar_one()
    assert scored == backlog * len(models.models)
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])


def _stored_without_clock(url: str) -> tuple[list[dict[str, object]], list[tuple[str, ...]]]:
    """Every article (but when it was written) and every raw payload, in key order."""
    engine = store.open_store(url, create=False)
    a, raw = schema.articles, schema.raw_items
    with engine.connect() as conn:
        articles = conn.execute(select(a).order_by(a.c.article_id)).mappings().all()
        payloads = conn.execute(
            select(raw.c.origin, raw.c.source, raw.c.payload_hash, raw.c.payload).order_by(
                raw.c.origin, raw.c.payload_hash
            )
        ).all()
    engine.dispose()
    clock = {"ingested_at", "updated_at"}
    return (
        [{k: v for k, v in row.items() if k not in clock} for row in articles],
        [tuple(row) for row in payloads],
    )


def test_a_run_scores_alongside_ingest_and_matches_an_in_process_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds"
    n = BACKLOG + BATCH  # more than one ingest batch: the second is prepared in the workers
    assert n > INGEST_BATCH
    write_jsonl(seeds, n, per_file=BATCH, seed=11, words=120)
    prepared_in_workers: list[int] = []
    real_prepare = BackgroundScorer.prepare

    def counted(self: BackgroundScorer, batches: list[list[RawItem]]) -> Iterator[PreparedBatch]:
        for batch in real_prepare(self, batches):
            prepared_in_workers.append(len(batch.articles))
            yield batch

    monkeypatch.setattr(BackgroundScorer, "prepare", counted)
    results, stored = {}, {}
    for workers in (0, 2):
        folder = tmp_path / f"w{workers}"
        folder.mkdir()
        config = load_config(write_config(folder, seeds=[seeds]))
        stages: list[str] = []
        summary = run_pipeline(
            config,
            include_feeds=False,
            progress=lambda s, _n, seen=stages: seen.append(s),
            workers=workers,
        )
        assert summary.added == summary.scored == n
        assert ("scored by 2 workers" in stages) == (workers == 2)
        results[workers] = _current(config.database.url)
        stored[workers] = _stored_without_clock(config.database.url)
        engine = store.open_store(config.database.url, create=False)
        assert store.articles_to_score(engine, load_models(config).versions(), 10) == []
        assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])
    assert prepared_in_workers == [INGEST_BATCH, n - INGEST_BATCH]
    assert len(stored[2][0]) == len(stored[2][1]) == n
    assert stored[2] == stored[0]
    assert results[0].keys() == results[2].keys()
    for key, (value, version, explanation) in results[0].items():
        assert results[2][key][0] == pytest.approx(value, abs=1e-9)
        assert results[2][key][1:] == (version, explanation)


def _without_clock(prepared: list[PreparedBatch]) -> list[tuple[list[dict], list[Article]]]:
    """The batches with their timestamps (when each was prepared) left out."""
    return [
        (
            [{k: v for k, v in row.items() if k != "fetched_at"} for row in batch.payload_rows],
            [replace(article, ingested_at=EPOCH) for article in batch.articles],
        )
        for batch in prepared
    ]


def test_workers_prepare_ingest_batches_like_this_process_and_in_order(models: ModelSet) -> None:
    items = list(islice(generate_items(200, seed=5, words=60), 200))
    batches = [items[:90], items[90:91], items[91:]]  # split across both workers, or not
    with BackgroundScorer(None, models, 2, lambda *_: None) as scorer:  # type: ignore[arg-type]
        in_workers = list(scorer.prepare(batches))
    here = list(prepare_here(batches))
    assert [len(b.articles) for b in in_workers] == [90, 1, 109]
    assert _without_clock(in_workers) == _without_clock(here)
    assert [a.article_id for b in in_workers for a in b.articles] == [
        normalise_item(item, EPOCH).article_id for item in items
    ]


def test_a_batch_failing_in_a_worker_raises_its_error_after_the_batches_before_it(
    models: ModelSet,
) -> None:
    items = list(islice(generate_items(30, seed=6, words=40), 30))
    broken = replace(items[0], page_date="2026-01-01")  # type: ignore[arg-type]  # a bug
    batches = [items[:10], [*items[10:20], broken], items[20:]]
    with pytest.raises(AttributeError) as here:
        list(prepare_here(batches))
    yielded: list[PreparedBatch] = []
    with BackgroundScorer(None, models, 2, lambda *_: None) as scorer:  # type: ignore[arg-type]
        with pytest.raises(AttributeError) as in_worker:
            yielded.extend(scorer.prepare(batches))
    assert [len(b.articles) for b in yielded] == [10]
    assert str(in_worker.value) == str(here.value)


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_workers_run_below_the_writers_priority(models: ModelSet, start: str) -> None:
    expected = min(19, os.nice(0) + WORKER_NICENESS)
    with nullcontext() if start == "fork" else _another_thread():
        pool = worker_pool(models, 2)
        try:
            seen = {pool.submit(os.nice, 0).result() for _ in range(4)}
        finally:
            pool.shutdown()
    assert seen == {expected}  # and this process, the writer, keeps its own priority
    assert os.nice(0) == expected - WORKER_NICENESS or expected == 19
