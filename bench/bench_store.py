"""Time the store on N synthetic articles: ingest, scoring, the overview and a filtered list.

Runs the real write path batch by batch, as a long ``policy-risk run`` or ``watch`` does:
save raw payloads, normalise, upsert articles, ask the store what needs scoring, score it with
the real models, save the scores (which maintains the derived totals). Generating the synthetic
articles is timed separately and left out of every rate. Every 100,000 articles it prints a
checkpoint, so "time per article stays flat" can be read off the first and last windows. Then
it times the dashboard's reads on the full store and reports peak memory (ru_maxrss).

Models: ``--models DIR`` (default: the shipped ``models/`` when every signal has a current
model), otherwise small models are trained from ``models/data`` into a temp folder first.

Usage:
    python -m bench.bench_store --url sqlite:////tmp/bench/store.db --n 1000000
    python -m bench.bench_store --url postgresql+psycopg://postgres@127.0.0.1:5433/bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.generate_articles import ARRIVALS, SOURCES, generate_items
from pipeline import queries, run, store
from pipeline.records import Article, Score
from pipeline.run import INGEST_BATCH
from pipeline.scoring import ModelSet, load_models, score_articles

if TYPE_CHECKING:
    from pipeline.parallel_scoring import BackgroundScorer

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = ("decertification_risk", "cooperation_tone")
CHECKPOINT = 100_000


@dataclass
class Clock:
    """Seconds spent per phase, overall and since the last checkpoint."""

    total: dict[str, float] = field(default_factory=dict)
    window: dict[str, float] = field(default_factory=dict)
    window_cpu: dict[str, float] = field(default_factory=dict)  # this process's CPU seconds
    window_started: float = field(default_factory=time.perf_counter)

    def add(self, phase: str, seconds: float, cpu: float = 0.0) -> None:
        self.total[phase] = self.total.get(phase, 0.0) + seconds
        self.window[phase] = self.window.get(phase, 0.0) + seconds
        self.window_cpu[phase] = self.window_cpu.get(phase, 0.0) + cpu

    def timed(self, phase: str, work: Callable[..., Any], *args: Any) -> Any:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work(*args)
        self.add(phase, time.perf_counter() - start, time.process_time() - start_cpu)
        return result

    def next_window(self) -> None:
        self.window, self.window_cpu, self.window_started = {}, {}, time.perf_counter()


def _config(models: Path) -> Any:
    """A throwaway config whose signals use the models in ``models``."""
    from pipeline.config import load_config

    folder = Path(tempfile.mkdtemp(prefix="bench-config-"))
    signals = "".join(
        f"  {name}:\n    label: {name}\n    kind: {kind}\n    weight: 0.5\n"
        f"    model: {models / name}\n"
        for name, kind in (("decertification_risk", "risk"), ("cooperation_tone", "tone"))
    )
    text = f"monitor:\n  relevance_model: {models / 'relevance'}\nsignals:\n{signals}"
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    return load_config(folder / "config.yaml")


def _models_folder(folder: Path | None) -> Path:
    """The shipped models, or small ones trained into a temp folder when they are missing."""
    source = folder or ROOT / "models"
    if not all((source / s / "CURRENT").is_file() for s in SIGNALS):
        from pipeline.examples import load_examples
        from pipeline.training import train_all

        source = Path(tempfile.mkdtemp(prefix="bench-models-"))
        train_all(_config(source), load_examples([ROOT / "models" / "data"]))
    return source


_WORKER_MODELS: list[ModelSet] = []


def _start_worker(models: Path) -> None:
    _WORKER_MODELS.append(load_models(_config(models)))


def _score_in_worker(batch: list[Article], scored_at: datetime) -> list[Score]:
    return score_articles(_WORKER_MODELS[0], batch, scored_at)


def load(
    url: str, n: int, batch: int, models: ModelSet, arrival: str = "shuffled"
) -> list[dict[str, Any]]:
    """Ingest and score ``n`` articles batch by batch in one process; checkpoint every 100k."""
    engine = store.open_store(url)
    versions, clock, checkpoints = models.versions(), Clock(), []
    items = generate_items(n, arrival=arrival)
    done, started = 0, time.perf_counter()
    while done < n:
        chunk = clock.timed("generate", list, islice(items, batch))
        clock.timed("ingest", _ingest, engine, chunk)
        pending = clock.timed("pending", store.articles_to_score, engine, versions, batch)
        scores = clock.timed("model", score_articles, models, pending, store.now_utc())
        hashes = {a.article_id: a.content_hash for a in pending}
        clock.timed("save_scores", store.save_scores, engine, scores, hashes)
        done += len(chunk)
        if done % CHECKPOINT == 0 or done == n:
            checkpoints.append(_checkpoint(done, clock, time.perf_counter() - started))
            clock.next_window()
    engine.dispose()
    return checkpoints


def load_pipelined(
    url: str, n: int, batch: int, models: ModelSet, folder: Path, arrival: str = "shuffled"
) -> list[dict[str, Any]]:
    """Use both cores: a second process scores batch i while this one ingests batch i+1.

    "model" is then the time spent waiting for the scorer, not the scorer's own time.
    """
    engine = store.open_store(url)
    versions, clock, checkpoints = models.versions(), Clock(), []
    items = generate_items(n, arrival=arrival)
    done, started = 0, time.perf_counter()
    with ProcessPoolExecutor(1, initializer=_start_worker, initargs=(folder,)) as pool:
        running: tuple[Future[list[Score]], dict[str, str]] | None = None
        while done < n or running is not None:
            chunk = clock.timed("generate", list, islice(items, batch))
            clock.timed("ingest", _ingest, engine, chunk)
            if running is not None:
                scores = clock.timed("model", running[0].result)
                clock.timed("save_scores", store.save_scores, engine, scores, running[1])
                running = None
            pending = clock.timed("pending", store.articles_to_score, engine, versions, batch)
            if pending:
                hashes = {a.article_id: a.content_hash for a in pending}
                running = (pool.submit(_score_in_worker, pending, store.now_utc()), hashes)
            done += len(chunk)
            if chunk and done % CHECKPOINT == 0 and done < n:
                checkpoints.append(_checkpoint(done, clock, time.perf_counter() - started))
                clock.next_window()
    checkpoints.append(_checkpoint(done, clock, time.perf_counter() - started))
    engine.dispose()
    return checkpoints


def load_with_workers(
    url: str, n: int, batch: int, models: ModelSet, workers: int, arrival: str = "shuffled"
) -> list[dict[str, Any]]:
    """As ``policy-risk run --workers N`` does: N worker processes prepare the ingest batches
    and score while this process writes (``pipeline.parallel_scoring.BackgroundScorer``),
    saving their scores between ingest batches; at each 100,000 the backlog is drained, so
    every window is fully scored.
    Each window's articles are generated before it starts (about 300 MB per 100,000).

    "model" is the time this process spends handing out batches, saving scores and draining.
    """
    from pipeline.parallel_scoring import BackgroundScorer

    engine = store.open_store(url)
    clock, checkpoints = Clock(), []
    items = generate_items(n, arrival=arrival)
    done, started = 0, time.perf_counter()
    with BackgroundScorer(engine, models, workers, lambda *_: None) as scorer:
        while done < n:
            window = min(CHECKPOINT, n - done)
            # generated up front, while the workers are idle, so none of their work hides in it
            pregenerated = clock.timed("generate", list, islice(items, window))
            _ingest_alongside(engine, pregenerated, batch, scorer, clock)
            done += window
            clock.timed("model", scorer.finish)
            checkpoints.append(_checkpoint(done, clock, time.perf_counter() - started))
            clock.next_window()
    engine.dispose()
    return checkpoints


def _ingest_alongside(
    engine: Any, items: list[Any], batch: int, scorer: BackgroundScorer, clock: Clock
) -> None:
    """``run.ingest_items`` as ``policy-risk run`` calls it with workers: batches prepared in
    the workers, each stored batch offered to them. "ingest" is the time outside the offers."""
    model_before = clock.window.get("model", 0.0), clock.window_cpu.get("model", 0.0)

    def offer(result: store.UpsertResult) -> None:
        clock.timed("model", scorer.offer, result.stored)
        clock.timed("model", scorer.pump)

    start, start_cpu = time.perf_counter(), time.process_time()
    run.ingest_items(engine, items, offer, scorer.prepare, batch_size=batch)
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    model_wall = clock.window.get("model", 0.0) - model_before[0]
    model_cpu = clock.window_cpu.get("model", 0.0) - model_before[1]
    clock.add("ingest", wall - model_wall, cpu - model_cpu)


def _ingest(engine: Any, chunk: list[Any]) -> tuple[Article, ...]:
    """``run.ingest_items`` for one batch, in this process; the articles it stored."""
    stored: list[Article] = []
    run.ingest_items(
        engine, chunk, lambda result: stored.extend(result.stored), batch_size=len(chunk)
    )
    return tuple(stored)


def _checkpoint(done: int, clock: Clock, wall: float) -> dict[str, Any]:
    size = CHECKPOINT if done % CHECKPOINT == 0 else done % CHECKPOINT
    window = clock.window
    store_s = window.get("ingest", 0) + window.get("pending", 0) + window.get("save_scores", 0)
    all_s = store_s + window.get("model", 0)
    window_wall = time.perf_counter() - clock.window_started
    row = {
        "articles": done,
        "wall_s": round(wall, 1),
        "window_wall_per_s": round(size / window_wall),
        "window_ingest_per_s": round(size / window["ingest"]),
        "window_store_per_s": round(size / store_s),
        "window_ingest_and_score_per_s": round(size / all_s),
        "window_ms_per_article": round(1000 * all_s / size, 3),
        # CPU of this process only (with --workers the scoring CPU is in the workers)
        "window_cpu_ms_per_article": {
            phase: round(1000 * clock.window_cpu[phase] / size, 3)
            for phase in sorted(clock.window_cpu)
            if phase != "generate"
        },
        "totals_s": {k: round(v, 1) for k, v in clock.total.items()},
        "maxrss_mb": _maxrss_mb(),
    }
    print(json.dumps(row), flush=True)  # noqa: T201
    return row


def _maxrss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _time(work: Callable[[], Any], repeat: int = 5) -> dict[str, float]:
    """Cold (first) and warm (median of the rest) latency in milliseconds."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        runs.append(1000 * (time.perf_counter() - start))
    return {"cold_ms": round(runs[0], 1), "warm_ms": round(statistics.median(runs[1:]), 1)}


def read_latencies(url: str, versions: dict[str, str]) -> dict[str, dict[str, float]]:
    """Time the dashboard's reads on the full store."""
    engine = store.open_store(url, create=False)
    last = datetime.now(UTC).date() - timedelta(days=1)
    first = last - timedelta(days=90)
    source = (SOURCES[0].name,)
    signals = list(SIGNALS)
    cases: dict[str, Callable[[], Any]] = {
        "overview (daily_signal_stats, all articles)": lambda: queries.daily_signal_stats(
            engine, signals, queries.ArticleFilter()
        ),
        "overview, 90 days + 1 source + 1 language": lambda: queries.daily_signal_stats(
            engine, signals, queries.ArticleFilter(first, last, sources=source, languages=("en",))
        ),
        "overview with a text search (detailed fallback)": lambda: queries.daily_signal_stats(
            engine, signals, queries.ArticleFilter(first, last, search="coca")
        ),
        "article_table, 90 days + 1 source + search": lambda: queries.article_table(
            engine, signals, queries.ArticleFilter(first, last, sources=source, search="coca")
        ),
        "article_table, unfiltered (newest 5000)": lambda: queries.article_table(engine, signals),
        "store_summary": lambda: queries.store_summary(engine),
        "list_sources + list_languages": lambda: (
            queries.list_sources(engine),
            queries.list_languages(engine),
        ),
        "model_versions_in_store": lambda: queries.model_versions_in_store(engine),
        "articles_to_score on a fully scored store": lambda: store.articles_to_score(
            engine, versions, 1000
        ),
    }
    result = {name: _time(work) for name, work in cases.items()}
    engine.dispose()
    return result


def main() -> None:
    """Run the benchmark and print (and optionally save) the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy URL of an empty store")
    parser.add_argument("--n", type=int, default=1_000_000, help="articles to load")
    parser.add_argument(
        "--batch",
        type=int,
        default=INGEST_BATCH,
        help=f"articles per ingest transaction (default {INGEST_BATCH}, as policy-risk run)",
    )
    parser.add_argument("--models", type=Path, help="models folder (default: models/)")
    parser.add_argument("--report", type=Path, help="also write the figures to this JSON file")
    parser.add_argument(
        "--pipelined", action="store_true", help="score in a second process (uses two cores)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="score in this many worker processes while ingesting, as `run --workers` does",
    )
    parser.add_argument(
        "--arrival",
        choices=ARRIVALS,
        default="shuffled",
        help="shuffled: dates at random over three years (a back-fill, the default); "
        "chronological: dates advance with the articles (a watched feed)",
    )
    parser.add_argument(
        "--reads-only", action="store_true", help="only time the reads on an already filled store"
    )
    args = parser.parse_args()
    folder = _models_folder(args.models)
    models = load_models(_config(folder))
    if args.reads_only:
        checkpoints = []
    elif args.workers:
        checkpoints = load_with_workers(
            args.url, args.n, args.batch, models, args.workers, args.arrival
        )
    elif args.pipelined:
        checkpoints = load_pipelined(args.url, args.n, args.batch, models, folder, args.arrival)
    else:
        checkpoints = load(args.url, args.n, args.batch, models, args.arrival)
    report = {
        "url": args.url.split("@")[-1],
        "n": args.n,
        "batch": args.batch,
        "arrival": args.arrival,
        "pipelined": args.pipelined,
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()}",
        "python": sys.version.split()[0],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "checkpoints": checkpoints,
        "reads": read_latencies(args.url, models.versions()),
        "maxrss_mb": _maxrss_mb(),
    }
    print(json.dumps(report["reads"], indent=2))  # noqa: T201
    print(f"peak memory: {report['maxrss_mb']} MB")  # noqa: T201
    if args.report:
        args.report.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
