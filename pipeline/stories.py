"""Find translations and cross-language retellings of one story among the labelled examples.

Part of the corpus was written in one language and translated (or retold) in another. If a story
sat in training while its translation sat in the held-out split, the held-out scores would flatter
the model, so such examples share a ``group`` and are split together (``pipeline.examples``).

Detection is language-independent: a translation keeps its *anchors* (figures and proper names:
"4.2", "Tumaco", "Clan del Golfo") while its words change. Two examples in different languages
are paired when their anchor profiles (TF-IDF weighted, so "Colombia" counts for little) have a
cosine of at least ``ANCHOR_THRESHOLD`` and they carry the same labels. Over-grouping is harmless
(the split just gets coarser); a missed pair leaks, so the threshold is deliberately low.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.examples import RELEVANCE, Example, load_examples, write_manifest

ANCHOR_THRESHOLD = 0.3
WORD_THRESHOLD = 0.3
CANDIDATES = 3
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CLAUSE = re.compile(r"[.!?:;—\"“”«»]\s*")
_WORD = re.compile(r"\w+")
_SAME_LABELS = ("decertification_risk", "cooperation_tone", RELEVANCE)


def anchors(example: Example) -> str:
    """Return the figures and capitalised non-initial words of an example, accent-folded."""
    text = f"{example.title}. {example.text}"
    found = ["#" + re.sub(r"[.,]", "", n) for n in _NUMBER.findall(text)]
    for clause in _CLAUSE.split(text):
        words = _WORD.findall(clause)[1:]
        found.extend(_fold(w) for w in words if len(w) > 2 and w[0].isupper())
    return " ".join(found)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def story_pairs(examples: Sequence[Example]) -> list[tuple[int, int, float]]:
    """Return (i, j, similarity) for pairs of examples that look like one story."""
    if len(examples) < 2:
        return []
    languages = np.array([e.language for e in examples])
    same = languages[:, None] == languages[None, :]
    pairs = _pairs(_similarity([anchors(e) for e in examples], r"\S+"), ~same, ANCHOR_THRESHOLD)
    pairs = [(i, j, s) for i, j, s in pairs if _same_labels(examples[i], examples[j])]
    words = _similarity([_fold(e.document) for e in examples], r"(?u)\b\w\w+\b", (1, 2))
    return sorted(set(pairs + _pairs(words, same, WORD_THRESHOLD)))


def _similarity(texts: list[str], pattern: str, ngrams: tuple[int, int] = (1, 1)) -> np.ndarray:
    vectoriser = TfidfVectorizer(
        token_pattern=pattern, lowercase=False, sublinear_tf=True, ngram_range=ngrams
    )
    try:
        matrix = vectoriser.fit_transform(texts)
    except ValueError:  # nothing to compare (no anchors anywhere)
        return np.zeros((len(texts), len(texts)))
    similar = (matrix @ matrix.T).toarray()
    np.fill_diagonal(similar, 0.0)
    return np.asarray(similar)


def _pairs(
    similar: np.ndarray, allowed: np.ndarray, threshold: float
) -> list[tuple[int, int, float]]:
    similar = np.where(allowed, similar, 0.0)
    found = []
    for i in range(similar.shape[0]):
        for j in np.argsort(similar[i])[::-1][:CANDIDATES]:
            if similar[i, j] >= threshold:
                found.append((min(i, int(j)), max(i, int(j)), round(float(similar[i, j]), 4)))
    return found


def _same_labels(a: Example, b: Example) -> bool:
    return all(a.labels.get(k) == b.labels.get(k) for k in _SAME_LABELS)


def story_groups(examples: Sequence[Example]) -> dict[str, str]:
    """Map each example id in a multi-example story to its group name.

    Examples already sharing a ``group`` stay together and keep that name, so adding a
    translation of a grouped story never moves the story across the split; a new group is
    named after its smallest id (whose split side therefore does not change either).
    """
    parent = list(range(len(examples)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict[str, int] = {}
    for i, example in enumerate(examples):
        if example.group:
            parent[root(i)] = root(first_of.setdefault(example.group, i))
    for i, j, _ in story_pairs(examples):
        parent[root(i)] = root(j)
    members: dict[int, list[Example]] = {}
    for i, example in enumerate(examples):
        members.setdefault(root(i), []).append(example)
    return {e.example_id: _name(g) for g in members.values() if len(g) > 1 for e in g}


def _name(group: list[Example]) -> str:
    named = sorted(e.group for e in group if e.group)
    return named[0] if named else min(e.example_id for e in group)


def annotate_files(folder: Path) -> int:
    """Write each detected story's ``group`` into the ``.jsonl`` files; return how many changed.

    Run it after adding examples (``python -m pipeline.stories models/data``, which also
    refreshes the held-out manifest); ``tests/test_training.py`` fails while a story
    straddles the split.
    """
    paths = sorted(folder.glob("*.jsonl"))
    groups = story_groups(load_examples(paths))
    changed = 0
    for path in paths:
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            group = groups.get(str(record["id"]))
            if group and record.get("group") != group:
                record["group"] = group
                changed += 1
            out.append(json.dumps(record, ensure_ascii=False))
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("\n".join(out) + "\n", encoding="utf-8")
        tmp.replace(path)
    return changed


def main(folder: Path) -> None:
    """Regroup the examples in ``folder`` and rewrite its held-out manifest."""
    log = logging.getLogger(__name__)
    log.info("%d record(s) regrouped", annotate_files(folder))
    manifest = write_manifest(folder, load_examples([folder]))
    log.info("wrote %s; review its diff (existing ids should only be added)", manifest)


if __name__ == "__main__":  # python -m pipeline.stories models/data
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main(Path(sys.argv[1]))
