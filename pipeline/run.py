"""The orchestration: sources -> normalise -> store -> score, with a run log.

One bad source never stops the run: its error is recorded with the run and the other sources
still ingest. Models are loaded before anything is written, so a missing model stops the run
with nothing half-done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Engine

from pipeline import store
from pipeline.config import Config
from pipeline.prepare import PreparedBatch, prepare_here
from pipeline.records import RawItem
from pipeline.rescore import rescore_all
from pipeline.runlog import SCORE, Heartbeat
from pipeline.score_claims import Overlap, RunClaims, held_by_others
from pipeline.scoring import ModelSet, load_models, score_articles

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
Preparer = Callable[[Sequence[Sequence[RawItem]]], Iterable[PreparedBatch]]
BATCH = 1000
# Articles per ingest transaction: past a hundred thousand articles nearly every new row lands on
# a page of its own in each index, so a commit of 5,000 rewrites far fewer pages per article
# than five commits of 1,000 (docs/benchmarks.md). One source's items are never mixed with
# another's, so only large seed files and archives fill a batch.
INGEST_BATCH = 5000
PARALLEL_AFTER = 2 * BATCH  # backlog size from which worker processes pay for their start-up


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one run did."""

    run_id: int
    added: int = 0
    updated: int = 0
    scored: int = 0
    sources_ok: int = 0
    sources_failed: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    sources_skipped: int = 0  # feeds not due: fetched recently or claimed elsewhere
    undated: int = 0  # added or updated articles with no usable date (placed on the day first seen)
    scored_elsewhere: int = 0  # scored here, but another run had saved them first
    backing_off: tuple[str, ...] = ()  # feeds not tried: waiting after failures ("feed:NAME")

    @property
    def failing(self) -> bool:
        """A source failed in this run, or a feed is still waiting after failing before."""
        return bool(self.errors or self.backing_off)


def _quiet(_stage: str, _count: int) -> None:
    return None


def ingest_items(
    engine: Engine,
    items: Sequence[RawItem],
    after_batch: Callable[[store.UpsertResult], None] | None = None,
    prepare: Preparer = prepare_here,
    batch_size: int = INGEST_BATCH,
    run_id: int | None = None,
    seed_origins: Collection[str] | None = None,
) -> store.UpsertResult:
    """Store raw payloads first, then the normalised articles, in batches (``after_batch`` is
    told each batch's outcome once it is committed; ``prepare`` builds the batches, by default
    in this process; ``batch_size`` articles per transaction; ``run_id``: each batch's counts
    go to that run's row as it commits; ``seed_origins``: seeds, the origins of every file
    read, ``store.upsert_articles``)."""
    added = updated = unchanged = duplicates = undated = 0
    batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
    for prepared in prepare(batches):
        store.save_payload_rows(engine, prepared.payload_rows)
        result = store.upsert_articles(
            engine, prepared.articles, run_id=run_id, seed_origins=seed_origins
        )
        added += result.added
        updated += result.updated
        unchanged += result.unchanged
        duplicates += result.duplicates
        undated += result.undated
        if after_batch is not None:
            after_batch(result)
    return store.UpsertResult(added, updated, unchanged, duplicates, undated=undated)


class _ScoringAlongside:
    """Scores while the run still ingests, once it has ingested a backlog worth starting worker
    processes for; otherwise everything is scored at the end, as before."""

    def __init__(
        self, engine: Engine, models: ModelSet, workers: int, progress: Progress, run_id: int
    ):
        from pipeline.parallel_scoring import BackgroundScorer

        self._engine, self._models, self._workers = engine, models, workers
        self._progress, self._run_id = progress, run_id
        self.overlap = Overlap()
        useful = workers > 0 and bool(models.folders())
        self._scorer = (
            BackgroundScorer(engine, models, workers, progress, run_id=run_id) if useful else None
        )
        self._ingested = 0

    def after_batch(self, result: store.UpsertResult) -> None:
        self._ingested += result.added + result.updated
        self._progress("new or changed articles stored", self._ingested)
        if self._scorer is not None:
            self._scorer.offer(result.stored)
            if self._ingested >= PARALLEL_AFTER:
                self._scorer.pump()

    def prepare(self, batches: Sequence[Sequence[RawItem]]) -> Iterable[PreparedBatch]:
        """Prepare a source's batches in the scoring workers when it has more than one (a
        seed archive: the workers have time to spare while this process writes); otherwise
        here, without starting them."""
        if self._scorer is not None and len(batches) > 1:
            return self._scorer.prepare(batches)
        return prepare_here(batches)

    def finish(self) -> int:
        """Drain the workers, then score whatever is still pending; return how many articles
        this run saved scores for."""
        done = 0
        if self._scorer is not None and self._ingested >= PARALLEL_AFTER:
            done = self._scorer.finish()
            self.overlap.articles += self._scorer.scored_elsewhere
        return done + score_pending(
            self._engine,
            self._models,
            partial(_offset_progress, self._progress, done),
            workers=self._workers,
            run_id=self._run_id,
            overlap=self.overlap,
        )

    def close(self) -> None:
        if self._scorer is not None:
            self._scorer.close()


def _offset_progress(progress: Progress, offset: int, stage: str, count: int) -> None:
    progress(stage, offset + count)


def score_pending(
    engine: Engine,
    models: ModelSet,
    progress: Progress = _quiet,
    *,
    workers: int = 0,
    run_id: int | None = None,
    overlap: Overlap | None = None,
) -> int:
    """Score every article lacking a current score from the loaded model versions; return how
    many this call saved (scores another run saved first are skipped, not counted, and added
    to ``overlap``).

    With ``workers`` > 0 a backlog that outlasts PARALLEL_AFTER articles is handed to worker
    processes (``pipeline.parallel_scoring``); everyday runs stay in this process. ``run_id``:
    each saved batch is counted in that run's row as it commits. Articles another live run has
    claimed are left to it (``pipeline.score_claims``).
    """
    versions, tried, total, previous = models.versions(), 0, 0, None
    overlap = overlap if overlap is not None else Overlap()
    _free_dead_partners(engine, run_id)  # a run killed on this host leaves its claims to us
    claims = RunClaims(engine, run_id)
    try:
        while True:
            batch = store.articles_to_score(
                engine, versions, limit=BATCH, skip_claimed=True, run_id=run_id
            )
            ids = [a.article_id for a in batch]
            if not batch or ids == previous:
                # A partner killed on this host during this pass still holds what it claimed:
                # close it, and score what it held (QA 6b #5), before calling the pass done.
                if _free_dead_partners(engine, run_id):
                    previous = None
                    continue
                return total
            if workers > 0 and tried >= PARALLEL_AFTER and len(batch) == BATCH and models.folders():
                from pipeline.parallel_scoring import score_backlog

                total += score_backlog(
                    engine,
                    models,
                    workers,
                    partial(_offset_progress, progress, total),
                    run_id=run_id,
                    overlap=overlap,
                )
                previous = ids  # read again: done, unless a partner died holding claims
                continue
            tried += len(batch)
            previous = ids
            mine = claims.take(batch)  # all of it, unless another run is scoring too
            if not mine:
                continue
            scores = score_articles(models, mine, store.now_utc())
            hashes = {a.article_id: a.content_hash for a in mine}
            saved = store.save_scores(engine, scores, hashes, skip_current=True, run_id=run_id)
            claims.saved(list(hashes))
            total += saved
            overlap.articles += len(mine) - saved
            progress("scored", total)
    finally:
        claims.close()


def _free_dead_partners(engine: Engine, run_id: int | None) -> bool:
    """Close the runs killed on this host that still hold score claims, so what they claimed is
    this scorer's; True when one was closed. It reads first: a pass beside no claims (nearly
    every pass) writes nothing."""
    if not held_by_others(engine, run_id, store.now_utc()):
        return False
    return store.close_dead_runs(engine) > 0


def run_pipeline(
    config: Config,
    *,
    worker: str = "local",
    include_feeds: bool = True,
    progress: Progress = _quiet,
    workers: int = 0,
) -> RunSummary:
    """Ingest seeds and feeds, then score everything new or changed (a large backlog with
    ``workers`` processes)."""
    models = load_models(config)
    engine = store.open_store(config.database.url)
    run_id = store.start_run(engine)
    progress = _beating(progress, Heartbeat(engine, run_id))
    errors: list[tuple[str, str]] = []
    added = updated = ok = skipped = undated = 0
    backing_off: tuple[str, ...] = ()
    scoring = _ScoringAlongside(engine, models, workers, progress, run_id)
    try:
        seed_result = _ingest_seeds(config, engine, run_id, errors, progress, scoring)
        added, updated, ok = seed_result.added, seed_result.updated, int(bool(config.sources.seeds))
        undated = seed_result.undated
        if include_feeds and config.sources.feeds:
            feeds = _ingest_feeds(config, engine, run_id, worker, errors, scoring)
            added, updated, ok = added + feeds.added, updated + feeds.updated, ok + feeds.ok
            skipped, undated = feeds.skipped, undated + feeds.undated
            backing_off = feeds.backing_off
        scored = scoring.finish()
    except BaseException:
        store.finish_run(engine, run_id, "failed", {})  # the batches counted what they stored
        raise
    finally:
        scoring.close()
    for source, message in errors:
        store.record_source_error(engine, run_id, source, message)
    status = "ok" if not errors and not backing_off else "partial"
    # the article counts are in the row already: each batch added its own as it committed
    store.finish_run(engine, run_id, status, {"sources_failed": len(errors)})
    return RunSummary(
        run_id,
        added,
        updated,
        scored,
        sources_ok=ok,
        sources_failed=len(errors),
        errors=errors,
        sources_skipped=skipped,
        undated=undated,
        scored_elsewhere=scoring.overlap.articles,
        backing_off=backing_off,
    )


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """What one ``policy-risk score`` did."""

    run_id: int
    scored: int
    scored_elsewhere: int = 0  # scored here, but another run had saved them first


def score_stored(
    engine: Engine,
    models: ModelSet,
    progress: Progress = _quiet,
    *,
    workers: int = 0,
    rescore: bool = False,
) -> ScoreSummary:
    """Score stored articles as a run of kind "score" (``policy-risk score``): those lacking a
    current score, sharing the backlog with other runs through score claims, or with
    ``rescore`` every article again (no claims: it rewrites what any run saved). The run's row
    counts what it saves, and ends "ok", or "failed" when scoring raised (Ctrl-C too)."""
    run_id = store.start_run(engine, SCORE)
    progress = _beating(progress, Heartbeat(engine, run_id))
    overlap = Overlap()
    try:
        if rescore:
            scored = rescore_all(engine, models, progress, run_id=run_id)
        else:
            scored = score_pending(
                engine, models, progress, workers=workers, run_id=run_id, overlap=overlap
            )
    except BaseException:
        store.finish_run(engine, run_id, "failed", {})  # the saves counted what they saved
        raise
    store.finish_run(engine, run_id, "ok", {})
    return ScoreSummary(run_id, scored, scored_elsewhere=overlap.articles)


@dataclass(frozen=True, slots=True)
class _FeedCounts:
    added: int
    updated: int
    ok: int
    skipped: int
    undated: int
    backing_off: tuple[str, ...]


def _beating(progress: Progress, heartbeat: Heartbeat) -> Progress:
    """Progress that also tells the store the run is alive (see ``pipeline.runlog``)."""

    def report(stage: str, count: int) -> None:
        heartbeat.beat()
        progress(stage, count)

    return report


def _ingest_seeds(
    config: Config,
    engine: Engine,
    run_id: int,
    errors: list[tuple[str, str]],
    progress: Progress,
    scoring: _ScoringAlongside,
) -> store.UpsertResult:
    from pipeline.seeds import read_seeds

    result = read_seeds(config.sources.seeds)
    errors.extend(result.errors)
    origins = frozenset(item.origin for item in result.items)
    outcome = ingest_items(
        engine, result.items, scoring.after_batch, scoring.prepare, run_id=run_id,
        seed_origins=origins,
    )
    progress("seed articles read", len(result.items))
    return outcome


def _ingest_feeds(
    config: Config,
    engine: Engine,
    run_id: int,
    worker: str,
    errors: list[tuple[str, str]],
    scoring: _ScoringAlongside,
) -> _FeedCounts:
    from pipeline.feed_cycle import BACKING_OFF, SKIPPED, collect_feeds
    from pipeline.feed_health import record_articles_added

    added = updated = ok = skipped = undated = 0
    backing_off: list[str] = []
    for outcome in collect_feeds(config, engine, worker=worker, run_id=run_id):
        if outcome.status == BACKING_OFF:
            backing_off.append(f"feed:{outcome.name}")
            continue
        if outcome.status in SKIPPED:
            skipped += 1
            continue
        if outcome.status == "failed":
            errors.append((f"feed:{outcome.name}", outcome.error or "failed"))
            continue
        ok += 1
        result = ingest_items(
            engine, outcome.items, scoring.after_batch, scoring.prepare, run_id=run_id
        )
        record_articles_added(engine, {outcome.name: result.added})
        added, updated = added + result.added, updated + result.updated
        undated += result.undated
    return _FeedCounts(added, updated, ok, skipped, undated, tuple(backing_off))
