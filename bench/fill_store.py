"""Fill a SQLite store with N synthetic articles and their current scores, fast (for benchmarks).

Running the real pipeline over a million articles takes hours of model time; the dashboard
benchmark needs the rows, not the model. So articles come from ``bench.generate_articles`` (the
same synthetic corpus the store benchmarks use), scores are drawn from the article's topic (high
decertification risk for drug-policy stories, low tone for disputes, low relevance for unrelated
news) with explanations built from the title's words, and everything is inserted in batches
straight into the tables of the head schema. The derived totals are then rebuilt once with
``pipeline.totals.rebuild``, exactly as a migration would.

Usage:
    python -m bench.fill_store --db /tmp/bench/policy_risk.db --n 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate_articles import _TOPICS, generate_records
from pipeline.search import FLUSH_SQL
from pipeline.store import open_store

VERSIONS = {
    "decertification_risk": "decertification_risk-bench",
    "cooperation_tone": "cooperation_tone-bench",
    "relevance": "relevance-bench",
}
_TOPIC_WORDS = {
    topic: {w.lower() for lang in _TOPICS.values() for w in lang[topic].split()}
    for topic in ("decertification", "cooperation", "dispute", "other")
}
BATCH = 20_000


def topic_of(title: str) -> str:
    """The topic whose words the title uses most (the generator draws titles from one topic)."""
    words = title.lower().split()
    counts = {t: sum(w in vocab for w in words) for t, vocab in _TOPIC_WORDS.items()}
    return max(counts, key=lambda t: counts[t])


def scores_for(topic: str, rng: random.Random) -> dict[str, float]:
    """Plausible scores for an article on ``topic``."""
    risk = {"decertification": 0.8, "dispute": 0.45, "cooperation": 0.15, "other": 0.05}[topic]
    tone = {"decertification": -0.3, "dispute": -0.7, "cooperation": 0.7, "other": 0.0}[topic]
    relevance = 0.1 if topic == "other" else 0.9
    return {
        "decertification_risk": min(1.0, max(0.0, rng.gauss(risk, 0.12))),
        "cooperation_tone": min(1.0, max(-1.0, rng.gauss(tone, 0.25))),
        "relevance": min(1.0, max(0.0, rng.gauss(relevance, 0.08))),
    }


def _rows(n: int, seed: int) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    rng = random.Random(seed + 1)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    for number, rec in enumerate(generate_records(n, seed=seed, words=120)):
        article_id = f"{number:032x}"
        content = hashlib.sha256(rec["text"].encode()).hexdigest()
        article = (
            article_id, number + 1, rec["title"], rec["text"], rec["source"], rec["language"],
            rec["url"], rec["published"], rec["published"], now, now, content, f"bench#{number}",
            "",
        )  # fmt: skip
        words = rec["title"].split()[:6]
        explanation = json.dumps(
            {"up": [[w, round(0.3 - i * 0.04, 4)] for i, w in enumerate(words[:4])], "down": []}
        )
        scores = [
            (number + 1, signal, value, VERSIONS[signal], content, "normal", explanation, now)
            for signal, value in scores_for(topic_of(rec["title"]), rng).items()
        ]
        yield article, scores


_ARTICLE_COLUMNS = (
    *("article_id", "article_key", "title", "text", "source", "language", "url", "page_date"),
    *("event_date", "ingested_at", "updated_at", "content_hash", "origin", "date_flags"),
)


def fill(db: Path, n: int, seed: int = 0) -> None:
    """Create the schema at ``db`` and insert ``n`` articles with three scores each."""
    url = f"sqlite:///{db}"
    open_store(url).dispose()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous=OFF")
    articles: list[tuple[Any, ...]] = []
    scores: list[tuple[Any, ...]] = []
    started = time.monotonic()
    for count, (article, rows) in enumerate(_rows(n, seed), start=1):
        articles.append(article)
        scores.extend(rows)
        if len(articles) >= BATCH or count == n:
            _insert(conn, articles, scores)
            articles, scores = [], []
            print(f"{count:,} articles in {time.monotonic() - started:.0f} s", flush=True)  # noqa: T201
    _finish(conn, url)


def _insert(conn: sqlite3.Connection, articles: list[Any], scores: list[Any]) -> None:
    with conn:
        conn.executemany(
            f"INSERT INTO articles ({', '.join(_ARTICLE_COLUMNS)})"
            f" VALUES ({','.join('?' * len(_ARTICLE_COLUMNS))})",
            articles,
        )
        for statement in FLUSH_SQL:  # index the new articles' words, as every writer does
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO current_scores (article_key, signal, value, model_version, content_hash,"
            " confidence, explanation, scored_at) VALUES (?,?,?,?,?,?,?,?)",
            scores,
        )


def _finish(conn: sqlite3.Connection, url: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with conn:
        conn.execute(
            "INSERT INTO runs (started_at, finished_at, status, articles_added) VALUES (?,?,?,?)",
            (now, now, "ok", 0),
        )
    conn.close()
    from pipeline import totals

    engine = open_store(url, create=False)
    with engine.begin() as db_conn:
        totals.rebuild(db_conn)
    engine.dispose()


def main() -> None:
    """Fill a store for the dashboard benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    fill(args.db, args.n, args.seed)


if __name__ == "__main__":
    main()
