"""Score a large backlog on several cores: worker processes score, this process writes.

The store has one writer at a time anyway (SQLite), so only the CPU-heavy part moves out: each
worker loads the models once and scores whole batches; this process reads pending articles and
saves the scores while the workers score the next batches. Finished batches are saved
SAVE_BATCHES at a time, in read order, in one transaction: on a store of a hundred
thousand articles each transaction rewrites a page of every index for almost every article it
touches, so one commit of 5,000 articles writes far fewer pages than five of 1,000
(docs/benchmarks.md). Workers are forked where that is safe (POSIX, one thread), so they
start with the loaded models; elsewhere they are spawned and load the models themselves (several
seconds). A worker that dies loses nothing: its articles are still unscored and the next pass
(or the next run) picks them up. Workers run below this process's priority, so the writer,
the narrowest stage, never waits for the CPU behind them. Small backlogs are scored in-process.
While another run is going on, each batch is claimed before it is handed out and articles the
other run claimed are left to it (``pipeline.score_claims``), so two runs share a backlog.

A long ingest also hands the workers its CPU-only preparation (``prepare``: payload rows and
normalised articles, ``pipeline.prepare``), a batch or two ahead of the writes: this process
was the bottleneck, spending a fifth of its time there while the workers waited for batches.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from pipeline import score_claims, store
from pipeline.errors import ModelError
from pipeline.id_ledger import IdLedger
from pipeline.prepare import PreparedBatch, prepare_wired, wire_items
from pipeline.records import Article, RawItem, Score
from pipeline.scoring import ModelSet, load_model_folders, score_articles

BATCH = 1000
MAX_WORKERS = 8
PARENT_CHECK_S = 0.5
MAX_OFFERED = 20 * BATCH  # articles kept in memory for scoring; more are read back later
QUEUED_PER_WORKER = 3  # batches in flight per worker: none waits while the parent saves
SAVE_BATCHES = 5  # finished batches saved in one transaction at most (a few seconds of lock)
PREPARE_AHEAD = 2  # ingest batches being prepared in the workers while this process writes
WORKER_NICENESS = 10  # workers give way to this process, the writer (see _yield_to_parent)

_WORKER_MODELS: list[ModelSet | Exception] = []


def worker_count(requested: int | None) -> int:
    """Scoring processes to start besides the run itself: ``requested`` (0: none, score
    in-process), or by default one per core (measured on two cores: 1,143 articles/s with two,
    957 with one, 694 in-process; docs/benchmarks.md). At most MAX_WORKERS."""
    if requested is None:
        requested = os.cpu_count() or 1
    return max(0, min(requested, MAX_WORKERS))


def score_backlog(
    engine: Engine,
    models: ModelSet,
    workers: int,
    progress: Callable[[str, int], None],
    *,
    run_id: int | None = None,
    overlap: score_claims.Overlap | None = None,
) -> int:
    """Score every article lacking a current score with ``workers`` processes; return how many
    this call saved (``run_id``: counted in that run's row as they are saved; ``overlap``: told
    how many another run had saved first)."""
    with BackgroundScorer(engine, models, workers, progress, run_id=run_id) as scorer:
        saved = scorer.finish()
        if overlap is not None:
            overlap.articles += scorer.scored_elsewhere
        return saved


class BackgroundScorer:
    """Worker processes scoring pending articles while the caller goes on ingesting.

    ``pump()`` between ingest batches saves the batches the workers have finished (in the order
    they were read) and hands them new ones, keeping QUEUED_PER_WORKER batches per worker in
    flight; ``finish()`` then drains everything. Each article is tried once per scorer: one
    whose scores went stale while it was scored (its text changed meanwhile) is left for the
    next pass, as the serial loop does. The pool starts when the first batch is handed out.
    Scores another run saved first are skipped at the save and not counted (``scored``; they
    are ``scored_elsewhere``). Once another run is found going on (``run_id`` given), batches are
    claimed before they are handed out, and articles the other run holds are left to it.
    """

    def __init__(
        self,
        engine: Engine,
        models: ModelSet,
        workers: int,
        progress: Callable[[str, int], None],
        *,
        run_id: int | None = None,
    ) -> None:
        self._engine, self._models, self._workers = engine, models, workers
        self._run_id = run_id
        self._versions = models.versions()
        self._progress = progress
        self._pool: ProcessPoolExecutor | None = None
        self._inflight: deque[tuple[list[Article], Future[list[Score]]]] = deque()
        self._tried = IdLedger()  # every id handed out (8 bytes each; a set took ~100 per id)
        self._stuck: set[str] = set()  # tried and saved, yet still pending
        self._offered: deque[Article] = deque()
        self._claims = score_claims.RunClaims(engine, run_id)
        self.scored = 0
        self.scored_elsewhere = 0  # scored here, but another run had saved them first

    def __enter__(self) -> BackgroundScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def offer(self, articles: Sequence[Article]) -> None:
        """Queue articles just stored, so they are scored without reading them back.

        At most MAX_OFFERED wait in memory; the rest stay pending in the store, where
        ``finish`` finds them."""
        room = max(0, MAX_OFFERED - len(self._offered))
        self._offered.extend(self._untried(articles[:room]))

    def pump(self) -> None:
        """Save finished batches once SAVE_BATCHES of them wait in read order (one full
        transaction; a failed batch is raised at once), then give the workers more; never
        waits for a worker."""
        while self._finished_in_order() >= SAVE_BATCHES or self._oldest_failed():
            self._save_finished()
        self._top_up()

    def finish(self) -> int:
        """Score until nothing is pending (or left over from this scorer); return how many
        articles this scorer saved."""
        while True:
            self._top_up()
            if not self._inflight:
                return self.scored
            self._save_finished()

    def prepare(self, batches: Sequence[Sequence[RawItem]]) -> Iterator[PreparedBatch]:
        """Prepare ingest batches in the workers, PREPARE_AHEAD batches ahead of the caller,
        each split across the workers, and yield them in order.

        They queue behind the scoring batches already handed out (a second or two of work),
        which the writes of the batches before them cover. A worker's error is raised here, as
        preparing in this process would raise it; batches not yet yielded are cancelled when
        the caller stops early."""
        queued: deque[list[Future[PreparedBatch]]] = deque()
        remaining = iter(batches)

        def submit_next() -> None:
            items = next(remaining, None)
            if items is not None:
                size = -(-len(items) // self._workers)
                now = store.now_utc()
                queued.append(
                    [
                        self._started().submit(prepare_wired, wire_items(items[i : i + size]), now)
                        for i in range(0, len(items), size)
                    ]
                )

        try:
            for _ in range(PREPARE_AHEAD):
                submit_next()
            while queued:
                parts = queued.popleft()
                submit_next()
                yield PreparedBatch.joined(part.result() for part in parts)
        finally:
            for parts in queued:
                for part in parts:
                    part.cancel()

    def close(self) -> None:
        """Stop the workers; batches not yet saved are dropped (they stay pending) and this
        run's claims released."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._claims.close()

    def _finished_in_order(self) -> int:
        finished = 0
        for _, future in self._inflight:
            if not future.done():
                break
            finished += 1
        return finished

    def _oldest_failed(self) -> bool:
        if not self._inflight:
            return False
        oldest = self._inflight[0][1]
        return oldest.done() and oldest.exception() is not None

    def _top_up(self) -> None:
        """Hand out offered articles first, then pending ones read from the store (finished
        batches waiting to be saved do not count against the workers' queue)."""
        room = self._workers * QUEUED_PER_WORKER - (len(self._inflight) - self._finished_in_order())
        while room > 0 and self._offered:
            count = min(BATCH, len(self._offered))
            batch = [self._offered.popleft() for _ in range(count)]
            self._submit(self._untried(batch))
            room -= 1
        if room <= 0 or self._offered:
            return
        busy = self._stuck.union(*({a.article_id for a in b} for b, _ in self._inflight))
        pending = store.articles_to_score(
            self._engine,
            self._versions,
            limit=room * BATCH,
            exclude=busy,
            skip_claimed=True,
            run_id=self._run_id,
        )
        fresh = self._untried(pending)
        fresh_ids = {a.article_id for a in fresh}
        self._stuck.update(a.article_id for a in pending if a.article_id not in fresh_ids)
        for i in range(0, len(fresh), BATCH):
            self._submit(fresh[i : i + BATCH])

    def _untried(self, articles: Sequence[Article]) -> list[Article]:
        new = self._tried.is_new([a.article_id for a in articles])
        return [a for a, is_new in zip(articles, new, strict=True) if is_new]

    def _submit(self, batch: list[Article]) -> None:
        if not batch:
            return
        self._tried.add(a.article_id for a in batch)  # those another run claimed are its own
        batch = self._claims.take(batch, (a.article_id for b, _ in self._inflight for a in b))
        if batch:
            future = self._started().submit(_score_in_worker, batch, store.now_utc())
            self._inflight.append((batch, future))

    def _save_finished(self) -> None:
        """Save the oldest batch (waiting for it) and the finished batches right behind it, in
        read order, in one transaction. A failed batch is never combined: it is the oldest on
        the next call, which raises its error after the batches before it were saved."""
        batches = [self._inflight.popleft()]
        batches[0][1].result()  # waits; a failed batch raises here, before anything is combined
        while len(batches) < SAVE_BATCHES and self._inflight:
            future = self._inflight[0][1]
            if not future.done() or future.exception() is not None:
                break
            batches.append(self._inflight.popleft())
        scores = [score for _, future in batches for score in future.result()]
        hashes = {a.article_id: a.content_hash for batch, _ in batches for a in batch}
        saved = store.save_scores(
            self._engine, scores, hashes, skip_current=True, run_id=self._run_id
        )
        self.scored += saved
        self.scored_elsewhere += len(hashes) - saved
        self._claims.saved(list(hashes))
        self._progress(f"scored by {self._workers} workers", self.scored)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = worker_pool(self._models, self._workers)
        return self._pool


def worker_pool(models: ModelSet, workers: int) -> ProcessPoolExecutor:
    """Start ``workers`` processes holding ``models``, below this process's priority, each
    leaving when this process dies."""
    if _can_fork():
        # the children start with the loaded models and their warmed token tables (copy on
        # write); they never touch the parent's connections, and leave with os._exit
        _WORKER_MODELS[:] = [models]
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start_forked_worker,
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


def _start_forked_worker(parent: int) -> None:
    _yield_to_parent()
    _watch_parent(parent)


def _yield_to_parent() -> None:
    """Run below the parent's priority. The parent alone writes, the pipeline's narrowest
    stage; with three busy processes on two cores the scheduler otherwise shares the cores
    equally and the writer waits for workers that are ahead anyway."""
    if hasattr(os, "nice"):  # POSIX
        with contextlib.suppress(OSError):
            os.nice(WORKER_NICENESS)


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
    _yield_to_parent()
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
