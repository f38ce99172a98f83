"""Model selection: compare feature sets and estimators by grouped CV on the training split.

``policy-risk evaluate --compare`` runs this and prints the table kept in ``docs/model.md``.
Every candidate sees the same story-grouped folds, the same padded-copy augmentation (except
the row that shows what augmentation buys) and a small C grid; each cell reports the best C's
score on the plain validation rows and on padded ones (the long-article check). Risk signals
are ranked by ROC-AUC of the decision function, tone by Spearman against the ordinal labels.
The lexicon variant appends log counts of ``pipeline.baselines.LEXICON`` categories; it is only
compared here, never shipped, so it needs no estimator checks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.svm import LinearSVC

from pipeline.baselines import lexicon_counts
from pipeline.config import Config
from pipeline.crossval import Rows, augment, grouped_folds, pad
from pipeline.examples import Example, split_examples
from pipeline.features import build_features
from pipeline.model import tone_from_proba
from pipeline.training import rows_for, tasks_for

GRID = (4.0, 16.0, 32.0)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One result: a feature set and estimator with its best C and CV scores."""

    signal: str
    features: str
    estimator: str
    c: float
    plain: float
    padded: float


class _WordsAndLexicon:
    """Word n-grams plus log lexicon counts (compared only)."""

    def __init__(self) -> None:
        self.words = build_features(chars=False)

    def fit(self, documents: Sequence[str]) -> _WordsAndLexicon:
        """Fit the word part (the lexicon is fixed)."""
        self.words.fit(documents)
        return self

    def transform(self, documents: Sequence[str]) -> sp.csr_matrix:
        """Words, then one log count per lexicon category."""
        lexicon = sp.csr_matrix(np.log1p(lexicon_counts(documents)) * 0.5)
        return sp.hstack([self.words.transform(documents), lexicon], format="csr")


FEATURES: dict[str, Callable[[], Any]] = {
    "words": lambda: build_features(chars=False),
    "words + chars (shipped)": build_features,
    "words + lexicon": _WordsAndLexicon,
}


def _estimators(kind: str) -> dict[str, Callable[[float], Any]]:
    if kind == "tone":
        return {
            "logistic regression, 3 classes": lambda c: LogisticRegression(
                C=c, class_weight="balanced", max_iter=5000
            ),
            "ridge on label/2": lambda c: Ridge(alpha=1.0 / c),
        }
    return {
        "logistic regression": lambda c: LogisticRegression(
            C=c, class_weight="balanced", max_iter=5000
        ),
        "linear SVM": lambda c: LinearSVC(C=c / 16, class_weight="balanced"),
    }


def compare(config: Config, examples: Sequence[Example], seed: int = 0) -> list[Candidate]:
    """Run every candidate on every signal; slow (minutes), so not part of training."""
    train, _ = split_examples(examples)
    out: list[Candidate] = []
    for task in tasks_for(config):
        rows = rows_for(task, train)
        if len(rows.targets) == 0:
            continue
        for features in FEATURES:
            for name, factory in _estimators(task.kind).items():
                out.append(_run(task.signal, rows, features, name, factory, 1, seed))
        first = next(iter(_estimators(task.kind).items()))
        out.append(_run(task.signal, rows, "words + chars, no padding", *first, 0, seed))
    return out


def _run(
    signal: str,
    rows: Rows,
    features: str,
    name: str,
    factory: Callable[[float], Any],
    copies: int,
    seed: int,
) -> Candidate:
    plain = {c: np.zeros(len(rows.targets)) for c in GRID}
    padded = {c: np.zeros(len(rows.targets)) for c in GRID}
    build = FEATURES.get(features, build_features)
    for fold, (fit_at, check_at) in enumerate(grouped_folds(rows, 5, seed)):
        fit_rows = augment(rows.take(fit_at), copies, seed + fold)
        check = rows.take(check_at)
        step = build().fit(rows.take(fit_at).documents)
        x_fit = step.transform(fit_rows.documents)
        x_plain = step.transform(check.documents)
        x_pad = step.transform(pad(check, 1, seed + 100 + fold).documents or check.documents)
        for c in GRID:
            model = factory(c)
            target = fit_rows.labels / 2 if isinstance(model, Ridge) else fit_rows.targets
            model.fit(x_fit, target)
            plain[c][check_at] = _outputs(model, x_plain)
            padded[c][check_at] = _outputs(model, x_pad)
    score = {c: (_score(rows, plain[c]), _score(rows, padded[c])) for c in GRID}
    best = max(GRID, key=lambda c: sum(score[c]))
    return Candidate(signal, features, name, best, *score[best])


def _outputs(model: Any, features: Any) -> np.ndarray:
    if isinstance(model, LogisticRegression) and len(model.classes_) > 2:
        return tone_from_proba(model.predict_proba(features), model.classes_)
    if isinstance(model, Ridge):
        return np.asarray(model.predict(features))
    return np.asarray(model.decision_function(features))


def _score(rows: Rows, values: np.ndarray) -> float:
    if rows.kind == "tone":
        return round(float(spearmanr(values, rows.labels).statistic), 4)
    return round(float(roc_auc_score(rows.targets, values)), 4)


def format_comparison(results: Sequence[Candidate]) -> str:
    """Render the comparison as a Markdown table."""
    lines = [
        "| signal | features | estimator | C | CV | CV, padded |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r.signal} | {r.features} | {r.estimator} | {r.c:g} | {r.plain:.3f} | {r.padded:.3f} |"
        for r in results
    ]
    return "\n".join(lines)
