"""Two workers on one store at once: nothing duplicated, nothing lost (issue 6), on both stores.

The first test runs two real ``python -m pipeline run`` processes over overlapping seed folders;
the others race threads through the store functions directly, which hits the conflicts harder
than two processes that spend most of their time parsing and scoring.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bench.generate_articles import generate_items, write_jsonl
from pipeline import schema, store
from pipeline.normalise import normalise_item
from pipeline.records import Score
from pipeline.run import ingest_items
from pipeline.seeds import read_seeds
from tests.pg import store_url_fixture  # noqa: F401
from tests.pipeline_runs import (
    assert_complete,
    count,
    start_run,
    trained_models_fixture,  # noqa: F401
    write_run_config,
)
from tests.store_checks import assert_totals_consistent

NOW = datetime(2025, 9, 16, 12, 0, tzinfo=UTC)


def _race(workers: list[Callable[[], object]]) -> None:
    """Run the callables in threads released together; re-raise the first failure."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


@pytest.mark.slow
def test_two_pipeline_runs_at_once_store_the_union_once(
    store_url: str, trained_models: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    write_jsonl(shared, 600, per_file=600, seed=1, words=40)
    configs = []
    for name, seed in (("a", 2), ("b", 3)):
        own = tmp_path / f"own-{name}"
        write_jsonl(own, 300, per_file=300, seed=seed, words=40)
        configs.append(write_run_config(tmp_path / name, [shared, own], trained_models))
    engine = store.open_store(store_url)
    procs = [start_run(c, store_url, tmp_path / f"run-{i}.log") for i, c in enumerate(configs)]
    for i, proc in enumerate(procs):
        assert proc.wait(timeout=180) == 0, (tmp_path / f"run-{i}.log").read_text()[-3000:]
    assert_complete(engine, configs[0], 1200)
    assert count(engine, schema.raw_items) == 1200
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])
    assert _run_totals(engine) == (1200, 1200)


def _run_totals(engine: Engine) -> tuple[int, int]:
    """Articles added and articles scored, summed over every run's row."""
    r = schema.runs
    with engine.connect() as conn:
        added, scored = conn.execute(
            select(func.sum(r.c.articles_added), func.sum(r.c.articles_scored))
        ).one()
    return int(added), int(scored)


@pytest.mark.slow
def test_two_runs_of_one_backlog_each_count_only_the_scores_they_saved(
    store_url: str, trained_models: Path, tmp_path: Path
) -> None:
    """Both runs read the whole backlog as pending; each article's scores are saved (and
    counted in the run log) by one of them only, so the runs add up (QA pass 2, item D)."""
    seeds = tmp_path / "seeds"
    write_jsonl(seeds, 2500, per_file=2500, seed=6, words=40)
    config = write_run_config(tmp_path / "run", [seeds], trained_models)
    engine = store.open_store(store_url)
    procs = [start_run(config, store_url, tmp_path / f"run-{i}.log") for i in range(2)]
    for i, proc in enumerate(procs):
        assert proc.wait(timeout=180) == 0, (tmp_path / f"run-{i}.log").read_text()[-3000:]
    assert_complete(engine, config, 2500)
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])
    assert _run_totals(engine) == (2500, 2500)


_OVERLAP = re.compile(r"(\d+) article\(s\) scored by this run had been saved by another run first")


@pytest.mark.slow
def test_two_runs_of_one_backlog_share_the_scoring(
    store_url: str, trained_models: Path, tmp_path: Path
) -> None:
    """A stored backlog nobody has scored (a first import, a new model version) and two runs
    started together: each claims the batches it scores before scoring them, so no batch is
    scored by both (one run may take most of it: it claims the batches it queues ahead). Each
    run says how many articles it scored in vain; without claims that was 2,000 (SQLite) and
    4,000 (PostgreSQL) of these 6,000."""
    seeds = tmp_path / "seeds"
    write_jsonl(seeds, 6000, per_file=1000, seed=8, words=40)
    config = write_run_config(tmp_path / "run", [seeds], trained_models)
    engine = store.open_store(store_url)
    ingest_items(engine, read_seeds([seeds]).items)  # stored, not scored
    logs = [tmp_path / f"run-{i}.log" for i in range(2)]
    procs = [start_run(config, store_url, log) for log in logs]
    for log, proc in zip(logs, procs, strict=True):
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert_complete(engine, config, 6000)
    assert _run_totals(engine) == (0, 6000)
    assert count(engine, schema.score_claims) == 0  # every claim released
    outputs = [log.read_text() for log in logs]
    scored = [int(m) for text in outputs for m in re.findall(r"0 updated, (\d+) scored", text)]
    wasted = sum(int(m) for text in outputs for m in _OVERLAP.findall(text))
    assert sum(scored) == 6000, outputs  # saved once: by whichever run claimed the batch
    assert wasted <= 1000, outputs  # at most a batch read just before the other run claimed it


@pytest.mark.slow
def test_a_run_and_a_score_of_one_backlog_share_the_scoring(
    store_url: str, trained_models: Path, tmp_path: Path
) -> None:
    """`policy-risk score` beside a running `run` on one stored backlog: `score` has a run row
    of its own (kind "score"), so each claims the batches it scores and neither scores one the
    other claimed. Without its row, QA measured 18,000 of 20,000 scored twice. The run reads no seeds, so
    both come to the backlog at once (with the seeds to read again, `score` had scored it all
    before the run got there)."""
    seeds = tmp_path / "seeds"
    write_jsonl(seeds, 6000, per_file=1000, seed=8, words=40)
    config = write_run_config(tmp_path / "run", [], trained_models)
    engine = store.open_store(store_url)
    ingest_items(engine, read_seeds([seeds]).items)  # stored, not scored
    logs = [tmp_path / "run.log", tmp_path / "score.log"]
    procs = [
        start_run(config, store_url, logs[0]),
        start_run(config, store_url, logs[1], ("score",)),
    ]
    for log, proc in zip(logs, procs, strict=True):
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert_complete(engine, config, 6000)
    assert _run_totals(engine) == (0, 6000)
    assert count(engine, schema.score_claims) == 0
    r = schema.runs
    with engine.connect() as conn:
        rows = conn.execute(
            select(r.c.kind, r.c.status, r.c.started_at, r.c.finished_at).order_by(r.c.kind)
        ).all()
    assert [(row.kind, row.status) for row in rows] == [("run", "ok"), ("score", "ok")]
    # They ran at the same time, so the checks below mean something. Which of them scores how
    # much is not fixed: the first to claim takes the batches it queues ahead (three per worker),
    # all of a backlog this small (docs/storage.md).
    assert max(row.started_at for row in rows) < min(row.finished_at for row in rows), rows
    run_text, score_text = (log.read_text() for log in logs)
    by_run = int(re.findall(r"0 updated, (\d+) scored", run_text)[0])
    by_score = int(re.findall(r"Scored (\d+) article\(s\)", score_text)[0])
    assert by_run + by_score == 6000, (run_text, score_text)  # each article scored once
    wasted = sum(int(m) for m in _OVERLAP.findall(run_text + score_text))
    # at most the batch the first of them took while still alone (it claims nothing then), as
    # for two runs; without score's run row it was most of the backlog
    assert wasted <= 1000, (run_text, score_text)


def test_racing_upserts_of_the_same_articles_add_each_once(store_url: str) -> None:
    engine = store.open_store(store_url)
    items = list(generate_items(300, seed=4, words=30))
    articles = [normalise_item(item, NOW) for item in items]
    copies = [  # the same stories under other URLs: content dedup must also hold under races
        replace(a, article_id=f"copy{i:04d}", source="Copycat") for i, a in enumerate(articles[:50])
    ]
    batches = [articles[:200], articles[100:], articles[::-1], copies + articles[:20]]
    _race(
        [lambda b=b: store.upsert_articles(engine, b) for b in batches]
        + [lambda: store.save_raw_items(engine, items) for _ in range(2)]
    )
    assert count(engine, schema.articles) == 300
    assert count(engine, schema.raw_items) == 300
    with engine.connect() as conn:
        sources = conn.execute(
            select(schema.article_sources.c.source).where(
                schema.article_sources.c.source == "Copycat"
            )
        ).all()
    assert len(sources) == 50


def test_racing_score_writes_keep_totals_exact(store_url: str) -> None:
    engine = store.open_store(store_url)
    articles = [normalise_item(item, NOW) for item in generate_items(200, seed=5, words=30)]
    store.upsert_articles(engine, articles)
    hashes = {a.article_id: a.content_hash for a in articles}

    def scorer(version: str, value: float, part: slice) -> Callable[[], object]:
        batch = [
            Score(a.article_id, signal, value, version, NOW)
            for a in articles[part]
            for signal in ("decertification_risk", "cooperation_tone", "relevance")
        ]
        return lambda: [
            store.save_scores(engine, batch[i : i + 90], hashes) for i in range(0, len(batch), 90)
        ]

    _race(
        [
            scorer("v1", 0.2, slice(0, 150)),
            scorer("v2", 0.7, slice(50, 200)),
            scorer("v1", 0.4, slice(None, None, -1)),
            scorer("v3", 0.9, slice(0, 200, 3)),
        ]
    )
    assert count(engine, schema.current_scores) == 600
    assert_totals_consistent(engine, ["decertification_risk", "cooperation_tone"])
