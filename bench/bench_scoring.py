"""Scoring throughput beside the floor of merely lower-casing and tokenising the same texts.

Generates N articles of about 300 words (default 100,000) from the vocabulary of the training
data: real sentences from ``models/data/*.jsonl``, shuffled into new articles with a real
headline, so the scorer meets the same words, accents and punctuation as in production. Then, in
one process, times:

* the floor: ``re.findall(r"(?u)\\b\\w\\w+\\b", text.lower())`` over every text;
* ``score_documents``: every signal's score (what ``classify`` does), 1,000 articles a batch;
* ``score_articles``: the same plus explanations (terms and sentence) and Score records, as
  ``run`` stores them.

The floor is timed before and after the scorers and averaged, so a busy machine skews all three
alike. The issue-4 target is scoring at most 3x the floor.

Usage:
    python -m bench.bench_scoring [--n 100000] [--config config.yaml]
"""

from __future__ import annotations

import argparse
import random
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from pipeline.config import load_config
from pipeline.examples import load_examples
from pipeline.features import split_sentences
from pipeline.records import Article
from pipeline.scoring import ModelSet, load_models, score_articles, score_documents
from pipeline.training import default_example_paths

BATCH = 1000
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def make_articles(n: int, paths: Sequence[Path], words: int = 300, seed: int = 0) -> list[str]:
    """Return ``n`` documents (headline, newline, body) of about ``words`` words each."""
    examples = load_examples(paths)
    sentences = [s for e in examples for s in split_sentences(e.text)]
    titles = [e.title for e in examples]
    rng = random.Random(seed)
    documents = []
    for _ in range(n):
        body: list[str] = []
        count = 0
        while count < words:
            sentence = rng.choice(sentences)
            body.append(sentence)
            count += sentence.count(" ") + 1
        documents.append(f"{rng.choice(titles)}\n{' '.join(body)}")
    return documents


def floor(documents: Sequence[str]) -> float:
    """Seconds to lower-case and tokenise every document."""
    started = time.perf_counter()
    for document in documents:
        _TOKEN.findall(document.lower())
    return time.perf_counter() - started


def timed(documents: Sequence[str], work: Callable[[Sequence[str]], object]) -> float:
    """Seconds to run ``work`` on every batch of the documents."""
    started = time.perf_counter()
    for start in range(0, len(documents), BATCH):
        work(documents[start : start + BATCH])
    return time.perf_counter() - started


def _articles(models: ModelSet) -> Callable[[Sequence[str]], object]:
    now = datetime.now(UTC)

    def work(batch: Sequence[str]) -> object:
        articles = [
            Article(
                str(i),
                d.split("\n", 1)[0],
                d.split("\n", 1)[-1],
                "bench",
                "en",
                None,
                None,
                date(2026, 1, 1),
                now,
                str(i),
            )
            for i, d in enumerate(batch)
        ]
        return score_articles(models, articles, now)

    return work


def _say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - a benchmark reports on stdout


def main() -> None:
    """Generate the articles, time the floor and both scorers, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="articles to score")
    parser.add_argument("--config", type=Path, default=Path("config.yaml"), help="config file")
    args = parser.parse_args()
    config = load_config(args.config)
    models = load_models(config)
    documents = make_articles(args.n, default_example_paths(config))
    words = sum(d.count(" ") + 1 for d in documents) / len(documents)
    _say(f"{len(documents):,} articles, {words:.0f} words on average; {models.versions()}")
    before = floor(documents)
    scoring = timed(documents, lambda batch: score_documents(models, batch))
    explaining = timed(documents, _articles(models))
    base = (before + floor(documents)) / 2
    n = len(documents)
    _say(f"floor (lower + tokenise):   {n / base:10,.0f} articles/s")
    _say(
        f"score_documents (scores):   {n / scoring:10,.0f} articles/s = {scoring / base:.2f}x floor"
    )
    _say(
        f"score_articles (+ explain): {n / explaining:10,.0f} articles/s = {explaining / base:.2f}x"
    )


if __name__ == "__main__":
    main()
