"""Grouped cross-validation, regularisation tuning and length augmentation for the signal heads.

Everything here sees the training split only. Folds are grouped by story (``Example.story``), so a
translation never validates its own original. The models will meet real articles of 300-1,000
words while the labelled paragraphs are 35-120, so every fold is also scored on *padded* copies
(the example followed by one to three unrelated paragraphs from the same fold whose label for the
signal is the null class), and the regularisation is tuned on the mean of both. Training adds one
padded copy of every example (``augment``), which teaches the head that filler moves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedGroupKFold

from pipeline.features import build_features
from pipeline.model import tone_from_proba

TONE_BAND = 1 / 3  # tone above +1/3 reads cooperative, below -1/3 conflictual


@dataclass(frozen=True, slots=True)
class Rows:
    """One signal's training rows: documents, class targets, raw labels and story groups."""

    documents: list[str]
    targets: np.ndarray
    labels: np.ndarray
    stories: list[str]
    kind: str

    def take(self, index: Sequence[int] | np.ndarray) -> Rows:
        """Return the subset at ``index``."""
        idx = np.asarray(index, dtype=np.int64)
        return Rows(
            [self.documents[i] for i in idx],
            self.targets[idx],
            self.labels[idx],
            [self.stories[i] for i in idx],
            self.kind,
        )


def grouped_folds(rows: Rows, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep each story on one side."""
    n_folds = max(2, min(folds, int(np.unique(rows.targets, return_counts=True)[1].min())))
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(rows.documents, rows.targets, rows.stories))


def pad(rows: Rows, copies: int, seed: int) -> Rows:
    """Return ``copies`` padded versions of every row, filler drawn from the null-class rows."""
    filler = [i for i, t in enumerate(rows.targets) if t == 0]
    if copies <= 0 or len(filler) < 2:
        return rows.take([])
    rng = np.random.default_rng(seed)
    documents, index = [], []
    for _ in range(copies):
        for i, document in enumerate(rows.documents):
            k = int(rng.integers(1, 4))
            picks = rng.choice(filler, size=min(k, len(filler)), replace=False)
            paragraphs = [_body(rows.documents[j]) for j in picks if j != i]
            documents.append("\n".join([document, *paragraphs]))
            index.append(i)
    padded = rows.take(index)
    return Rows(documents, padded.targets, padded.labels, padded.stories, rows.kind)


def augment(rows: Rows, copies: int, seed: int) -> Rows:
    """Return the rows followed by their padded copies."""
    extra = pad(rows, copies, seed)
    return Rows(
        rows.documents + extra.documents,
        np.concatenate([rows.targets, extra.targets]),
        np.concatenate([rows.labels, extra.labels]),
        rows.stories + extra.stories,
        rows.kind,
    )


def _body(document: str) -> str:
    """Filler is a paragraph without its headline (headlines sit only at the top of articles)."""
    return document.split("\n", 1)[-1]


def head_for(kind: str, c: float) -> LogisticRegression:
    """The uncalibrated head tuned in CV (calibration is monotonic, so it cannot change ranks)."""
    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000)


def outputs(model: LogisticRegression, features: object, kind: str) -> np.ndarray:
    """Return the signal-scale outputs of an uncalibrated head."""
    proba = model.predict_proba(features)
    if kind == "tone":
        return tone_from_proba(proba, model.classes_)
    return np.asarray(proba[:, list(model.classes_).index(1)])


# The CV curve over C is nearly flat (the scores of 4..64 differ by 0.001-0.004 on ~1,200
# examples), so its maximum is noise; the strongest regularisation within this much of the best
# is chosen instead. Weaker regularisation made tone saturate on long articles (docs/model.md).
C_TOLERANCE = 0.005


@dataclass(frozen=True, slots=True)
class Tuning:
    """The chosen regularisation and the cross-validated metrics at it."""

    c: float
    metrics: dict[str, float]
    padded: dict[str, float]
    by_c: dict[str, float]


def tune(rows: Rows, settings: Any) -> Tuning:
    """Pick C by grouped CV on plain and padded validation rows (the smallest C whose mean score is
    within ``C_TOLERANCE`` of the best); refit the features per fold.

    ``settings`` is a ``training.TrainSettings`` (grid, folds, padded copies, seed, features).
    """
    grid, folds, copies, seed = (
        settings.c_grid,
        settings.folds,
        settings.padded_copies,
        settings.seed,
    )
    plain = {c: np.zeros(len(rows.targets)) for c in grid}
    padded = {c: np.zeros(len(rows.targets)) for c in grid}
    for fold, (fit_at, check_at) in enumerate(grouped_folds(rows, folds, seed)):
        fit_rows = augment(rows.take(fit_at), copies, seed + fold)
        check = rows.take(check_at)
        vectoriser = build_features(settings.max_features, settings.chars)
        vectoriser.fit(rows.take(fit_at).documents)
        x_fit = vectoriser.transform(fit_rows.documents)
        x_plain = vectoriser.transform(check.documents)
        x_pad = vectoriser.transform(pad(check, 1, seed + 100 + fold).documents or check.documents)
        model = head_for(rows.kind, grid[0]).set_params(warm_start=True)
        for c in sorted(grid):  # warm starts: each C begins where the previous one ended
            model.set_params(C=c).fit(x_fit, fit_rows.targets)
            plain[c][check_at] = outputs(model, x_plain, rows.kind)
            padded[c][check_at] = outputs(model, x_pad, rows.kind)
    score = {c: (_headline(rows, plain[c]) + _headline(rows, padded[c])) / 2 for c in grid}
    best = pick_c(score)
    return Tuning(
        best,
        metrics_for(rows.kind, plain[best], rows.labels, rows.targets),
        metrics_for(rows.kind, padded[best], rows.labels, rows.targets),
        {str(c): round(score[c], 4) for c in grid},
    )


def pick_c(score: dict[float, float]) -> float:
    """The smallest C (the strongest regularisation) whose CV score is within ``C_TOLERANCE``
    of the best one."""
    top = max(score.values())
    return min(c for c, value in score.items() if value >= top - C_TOLERANCE)


def _headline(rows: Rows, values: np.ndarray) -> float:
    if rows.kind == "tone":
        return float(spearmanr(values, rows.labels).statistic)
    return float(roc_auc_score(rows.targets, values))


def story_seed(text: str) -> int:
    """A stable seed from a text (Python's ``hash`` changes between runs)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")


def metrics_for(
    kind: str, values: np.ndarray, labels: np.ndarray, targets: np.ndarray
) -> dict[str, float]:
    """Risk: precision, recall, F1 at 0.5, ROC-AUC and average precision; tone: Spearman with the
    ordinal labels, and macro precision/recall/F1 of the three bands at +-1/3."""
    if kind == "tone":
        bands = np.where(values > TONE_BAND, 1, np.where(values < -TONE_BAND, -1, 0))
        rho = spearmanr(values, labels).statistic if len(set(labels.tolist())) > 1 else np.nan
        return _rounded(
            spearman=float(rho),
            precision=precision_score(targets, bands, average="macro", zero_division=0),
            recall=recall_score(targets, bands, average="macro", zero_division=0),
            f1=f1_score(targets, bands, average="macro", zero_division=0),
            n=len(labels),
        )
    predicted = (values >= 0.5).astype(int)
    both = len(set(targets.tolist())) == 2
    return _rounded(
        precision=precision_score(targets, predicted, zero_division=0),
        recall=recall_score(targets, predicted, zero_division=0),
        f1=f1_score(targets, predicted, zero_division=0),
        roc_auc=roc_auc_score(targets, values) if both else np.nan,
        average_precision=average_precision_score(targets, values) if both else np.nan,
        n=len(labels),
    )


def _rounded(**values: float) -> dict[str, float]:
    return {k: (int(v) if k == "n" else round(float(v), 4)) for k, v in values.items()}
