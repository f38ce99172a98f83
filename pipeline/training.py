"""Train every signal's model from the labelled examples, measure it, and save it with its card.

Cross-validation runs on the training split only, refitting the vectoriser in each fold; the
held-out split is scored once, at the end, for the card and ``policy-risk evaluate``.
"""

from __future__ import annotations

import hashlib
import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import sklearn
import skops
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

from pipeline.config import Config
from pipeline.errors import ModelError
from pipeline.examples import RELEVANCE, Example, split_examples
from pipeline.model import SignalModel, build_head, build_vectorizer, predict_values, save_model
from pipeline.scoring import model_folder

log = logging.getLogger(__name__)
MIN_PER_CLASS = 5


@dataclass(frozen=True, slots=True)
class SignalTask:
    """What one model learns: which label, read how."""

    signal: str
    kind: str
    positive_from: float


def compact_vectoriser(vectoriser: Any) -> None:
    """Shrink what skops writes: numpy ints in the vocabulary become one file each, and
    ``stop_words_`` (the pruned terms) is only kept for introspection."""
    vectoriser.stop_words_ = None
    vectoriser.vocabulary_ = {str(k): int(v) for k, v in vectoriser.vocabulary_.items()}


def tasks_for(config: Config) -> list[SignalTask]:
    """Every configured signal, plus the relevance gate."""
    tasks = [SignalTask(n, s.kind, s.positive_from) for n, s in config.signals.items()]
    return tasks + [SignalTask(RELEVANCE, "risk", 1.0)]


def target_of(task: SignalTask, value: float) -> int:
    """Map a label onto the classes the head learns (risk: 0/1; tone: -1/0/1)."""
    if task.kind == "tone":
        return int(np.sign(value))
    return int(value >= task.positive_from)


def train_all(config: Config, examples: Sequence[Example]) -> list[SignalModel]:
    """Fit one shared vectoriser and one head per signal; save each model and return them."""
    train, held_out = split_examples(examples)
    vectoriser = build_vectorizer().fit([e.document for e in train])
    compact_vectoriser(vectoriser)
    features_id = _hash_texts(sorted(e.example_id for e in train))[:12]
    trained_at = datetime.now(UTC)
    models = []
    for task in tasks_for(config):
        rows = [e for e in train if task.signal in e.labels]
        if not rows:
            if task.signal == RELEVANCE:
                continue
            raise ModelError(f"no labelled examples carry a label for signal {task.signal!r}")
        model = _fit_task(task, rows, held_out, vectoriser, features_id, trained_at)
        save_model(model, model_folder(config, task.signal))
        models.append(model)
        log.info("trained %s: %s", model.version, model.card["metrics_cv"])
    return models


def _fit_task(
    task: SignalTask,
    rows: list[Example],
    held_out: list[Example],
    vectoriser: Any,
    features_id: str,
    trained_at: datetime,
) -> SignalModel:
    docs = [e.document for e in rows]
    y = np.array([target_of(task, e.labels[task.signal]) for e in rows])
    _check_classes(task, y)
    cv_metrics = cross_validate(task, docs, y, [e.labels[task.signal] for e in rows])
    head = build_head(task.kind).fit(vectoriser.transform(docs), y)
    pipeline = Pipeline([("features", vectoriser), ("head", head)])
    data_hash = _hash_texts(f"{e.example_id}|{e.labels[task.signal]}|{e.document}" for e in rows)
    version = f"{task.signal}-{trained_at:%Y%m%d}-{data_hash[:8]}"
    card = _card(task, version, data_hash, features_id, trained_at, rows, cv_metrics)
    model = SignalModel(task.signal, task.kind, version, pipeline, card)
    held = [e for e in held_out if task.signal in e.labels]
    if held:
        values = predict_values(model, vectoriser.transform([e.document for e in held]))
        card["metrics_held_out"] = metrics_for(task, values, [e.labels[task.signal] for e in held])
        card["n_held_out"] = len(held)
    return model


def _check_classes(task: SignalTask, y: np.ndarray) -> None:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts.min() < MIN_PER_CLASS:
        found = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        raise ModelError(
            f"signal {task.signal!r}: need at least {MIN_PER_CLASS} examples of each class to "
            f"train, found {found}"
        )


def cross_validate(
    task: SignalTask, docs: list[str], y: np.ndarray, labels: Sequence[float]
) -> dict[str, float]:
    """Five-fold cross-validated metrics with the vectoriser refitted inside each fold."""
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    pipeline = Pipeline([("features", build_vectorizer()), ("head", build_head(task.kind))])
    proba = cross_val_predict(clone(pipeline), docs, y, cv=folds, method="predict_proba")
    classes = sorted(set(y.tolist()))
    if task.kind == "tone":
        up = proba[:, classes.index(1)] if 1 in classes else 0.0
        down = proba[:, classes.index(-1)] if -1 in classes else 0.0
        return metrics_for(task, np.asarray(up - down), labels)
    return metrics_for(task, proba[:, classes.index(1)], labels)


def metrics_for(task: SignalTask, values: np.ndarray, labels: Sequence[float]) -> dict[str, float]:
    """Risk: precision, recall, F1 at 0.5 and ROC-AUC; tone: Spearman and sign accuracy."""
    truth = np.array([target_of(task, v) for v in labels])
    if task.kind == "tone":
        rho = spearmanr(values, np.asarray(labels, dtype=float)).statistic
        predicted = np.where(values > 1 / 3, 1, np.where(values < -1 / 3, -1, 0))
        return {
            "spearman": round(float(rho), 4),
            "sign_accuracy": round(float(np.mean(predicted == truth)), 4),
            "n": len(labels),
        }
    predicted = (values >= 0.5).astype(int)
    auc = roc_auc_score(truth, values) if len(set(truth.tolist())) == 2 else float("nan")
    return {
        "precision": round(float(precision_score(truth, predicted, zero_division=0)), 4),
        "recall": round(float(recall_score(truth, predicted, zero_division=0)), 4),
        "f1": round(float(f1_score(truth, predicted, zero_division=0)), 4),
        "roc_auc": round(float(auc), 4),
        "n": len(labels),
    }


def _card(
    task: SignalTask,
    version: str,
    data_hash: str,
    features_id: str,
    trained_at: datetime,
    rows: list[Example],
    cv_metrics: dict[str, float],
) -> dict[str, Any]:
    languages: dict[str, int] = {}
    for e in rows:
        languages[e.language] = languages.get(e.language, 0) + 1
    return {
        "signal": task.signal,
        "kind": task.kind,
        "version": version,
        "positive_from": task.positive_from,
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "training_data_sha256": data_hash,
        "features_id": features_id,
        "n_train": len(rows),
        "languages": languages,
        "metrics_cv": cv_metrics,
        "estimator": "TF-IDF word 1-2 grams + logistic regression"
        + (
            " (3-class, tone = P(coop) - P(conflict))"
            if task.kind == "tone"
            else " (sigmoid-calibrated)"
        ),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "python_version": platform.python_version(),
    }


def _hash_texts(parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()
