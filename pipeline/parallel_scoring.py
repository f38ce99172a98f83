"""Score a large backlog on several cores: worker processes score, this process writes.

The store has one writer at a time anyway (SQLite), so only the CPU-heavy part moves out: each
worker loads the models once and scores whole batches; this process reads pending articles and
saves each batch's scores in one transaction, exactly as the serial path does, while the workers
score the next batches. Workers are forked where that is safe (POSIX, one thread), so they
start with the loaded models; elsewhere they are spawned and load the models themselves (several
seconds). A worker that dies loses nothing: its articles are still unscored and the next pass
(or the next run) picks them up. Small backlogs are scored in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from pipeline import store
from pipeline.errors import ModelError
from pipeline.records import Article, Score
from pipeline.scoring import ModelSet, load_model_folders, score_articles

BATCH = 1000
MAX_WORKERS = 8
PARENT_CHECK_S = 0.5
QUEUED_PER_WORKER = 3  # batches in flight per worker: none waits while the parent saves

_WORKER_MODELS: list[ModelSet | Exception] = []


def worker_count(requested: int | None) -> int:
    """``requested`` workers, or one per core (at most MAX_WORKERS) when it is None or 0."""
    if requested:
        return max(1, min(requested, MAX_WORKERS))
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def score_backlog(
    engine: Engine,
    models: ModelSet,
    workers: int,
    progress: Callable[[str, int], None],
) -> int:
    """Score every article lacking a current score with ``workers`` processes; return the count.

    Keeps QUEUED_PER_WORKER batches per worker in flight, reading more while the workers score
    and saving each batch as it is done, in the order read. Each article is tried once per
    call: one whose scores went stale while it was scored (its text changed) is left for the
    next run, as the serial loop does.
    """
    versions = models.versions()
    total = 0
    pool = _pool(models, workers)
    try:
        inflight: deque[tuple[list[Article], Future[list[Score]]]] = deque()
        tried: set[str] = set()
        stuck = 0  # tried and saved, yet still pending: they sit at the front of every read
        exhausted = False
        while True:
            room = workers * QUEUED_PER_WORKER - len(inflight)
            if room > 0 and not exhausted:
                limit = stuck + sum(len(b) for b, _ in inflight) + room * BATCH
                pending = store.articles_to_score(engine, versions, limit=limit)
                fresh = [a for a in pending if a.article_id not in tried]
                waiting = sum(len(b) for b, _ in inflight)
                stuck = max(0, sum(1 for a in pending if a.article_id in tried) - waiting)
                exhausted = len(pending) < limit
                for i in range(0, len(fresh), BATCH):
                    batch = fresh[i : i + BATCH]
                    tried.update(a.article_id for a in batch)
                    inflight.append((batch, pool.submit(_score_in_worker, batch, store.now_utc())))
            if not inflight:
                return total
            batch, future = inflight.popleft()
            hashes = {a.article_id: a.content_hash for a in batch}
            store.save_scores(engine, future.result(), hashes)
            total += len(batch)
            progress(f"scored by {workers} workers", total)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # on an error, queued batches are dropped


def _pool(models: ModelSet, workers: int) -> ProcessPoolExecutor:
    if _can_fork():
        # the children start with the loaded models and their warmed token tables (copy on
        # write); they never touch the parent's connections, and leave with os._exit
        _WORKER_MODELS[:] = [models]
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_watch_parent,
            initargs=(os.getpid(),),
        )
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), models.folders(), models.versions()),
    )


def _can_fork() -> bool:
    """Fork only where it exists and no other thread could hold a lock across it."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _watch_parent(parent: int) -> None:
    """Leave when the parent dies (``kill -9`` included): a forked worker holds the write end of
    its own task queue, so it would otherwise wait for work forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _start_worker(parent: int, folders: dict[str, Path], versions: dict[str, str]) -> None:
    """Load the models once per worker; a failure is kept and raised with the first batch
    (an initializer that raises only breaks the pool, losing the message)."""
    _watch_parent(parent)
    try:
        models = load_model_folders(folders)
        if models.versions() != versions:
            # retrained between the parent's load and this one: never mix versions in a run
            raise ModelError(
                f"model versions changed while scoring ({models.versions()} != {versions}); "
                "run the command again"
            )
        _WORKER_MODELS.append(models)
    except Exception as error:  # noqa: BLE001  # reported with the first batch
        _WORKER_MODELS.append(error)


def _score_in_worker(batch: list[Article], scored_at: datetime) -> list[Score]:
    models = _WORKER_MODELS[0]
    if isinstance(models, Exception):
        raise models
    return score_articles(models, batch, scored_at)
