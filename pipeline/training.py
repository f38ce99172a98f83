"""Train every signal's model from the labelled examples (and analyst labels), measure it, save it.

One vectoriser is fitted on the training split and shared by every head, so scoring tokenises
each article once whatever the number of signals. Regularisation is tuned per head by grouped CV
on the training split (``pipeline.crossval``); the held-out split is scored once, at the end, for
the card. Signals come from the config: a new ``signals.<name>`` with ``kind`` and ``examples``
trains with no code change.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops
from sklearn.pipeline import Pipeline

from pipeline.config import Config
from pipeline.crossval import Rows, Tuning, augment, grouped_folds, metrics_for, tune
from pipeline.errors import ModelError
from pipeline.examples import RELEVANCE, Example, split_examples
from pipeline.features import build_features, compact, word_part
from pipeline.model import SignalModel, build_head, load_model, predict_values, save_model
from pipeline.model import write_card as rewrite_card

log = logging.getLogger(__name__)
MIN_PER_CLASS = 5


@dataclass(frozen=True, slots=True)
class SignalTask:
    """What one model learns: which label, read how."""

    signal: str
    kind: str
    positive_from: float


@dataclass(frozen=True, slots=True)
class TrainSettings:
    """Knobs of a training run; tests shrink the grid and the vocabulary to stay fast."""

    c_grid: tuple[float, ...] = (4.0, 8.0, 16.0, 32.0, 64.0)
    folds: int = 5
    padded_copies: int = 1
    max_features: int = 40_000
    chars: bool = True
    seed: int = 0
    cross_validate: bool = True  # False: no tuning (quick in-memory refits), C from fixed_c
    fixed_c: tuple[tuple[str, float], ...] = ()  # signal -> C when not cross-validating


def tasks_for(config: Config) -> list[SignalTask]:
    """Every configured signal, plus the relevance gate."""
    tasks = [SignalTask(n, s.kind, s.positive_from) for n, s in config.signals.items()]
    return tasks + [SignalTask(RELEVANCE, "risk", 1.0)]


def target_of(task: SignalTask, value: float) -> int:
    """Map a label onto the classes the head learns (risk: 0/1; tone: -1/0/1).

    A tone's class is its sign, so a label must be a whole level of -2..+2: the corpus's are,
    and ``pipeline.labels.label_value`` takes an analyst's correction to the nearest one.
    """
    if task.kind == "tone":
        return int(np.sign(value))
    return int(value >= task.positive_from)


def rows_for(task: SignalTask, examples: Sequence[Example]) -> Rows:
    """Collect one signal's labelled rows."""
    chosen = [e for e in examples if task.signal in e.labels]
    labels = np.array([e.labels[task.signal] for e in chosen], dtype=np.float64)
    targets = np.array([target_of(task, v) for v in labels], dtype=np.int64)
    return Rows([e.document for e in chosen], targets, labels, [e.story for e in chosen], task.kind)


def train_all(
    config: Config,
    examples: Sequence[Example],
    settings: TrainSettings | None = None,
    *,
    save: bool = True,
) -> list[SignalModel]:
    """Fit the shared vectoriser and one tuned head per signal; save each model and return them."""
    settings = settings or TrainSettings()
    train, held_out = split_examples(examples)
    vectoriser = build_features(settings.max_features, settings.chars)
    vectoriser.fit([e.document for e in train])
    compact(vectoriser)
    features_id = _hash_texts(sorted(e.example_id for e in train))[:12]
    trained_at = datetime.now(UTC)
    models = []
    for task in tasks_for(config):
        rows = rows_for(task, train)
        if not len(rows.targets):
            if task.signal == RELEVANCE:
                continue
            raise ModelError(f"no labelled examples carry a label for signal {task.signal!r}")
        _check_classes(task, rows.targets)
        model = _fit_task(task, rows, vectoriser, settings, (features_id, trained_at))
        _score_held_out(model, task, held_out)
        model.card["n_analyst"] = sum(e.is_analyst and task.signal in e.labels for e in train)
        if save:
            _save_and_measure(model, config)
        models.append(model)
        log.info("trained %s: cv %s", model.version, model.card["metrics_cv"])
    return models


def _fit_task(
    task: SignalTask,
    rows: Rows,
    vectoriser: Any,
    settings: TrainSettings,
    stamp: tuple[str, datetime],
) -> SignalModel:
    if settings.cross_validate:
        tuning = tune(rows, settings)
    else:
        tuning = Tuning(dict(settings.fixed_c).get(task.signal, settings.c_grid[0]), {}, {}, {})
    fit_rows = augment(rows, settings.padded_copies, settings.seed)
    calibration = grouped_folds(fit_rows, settings.folds, settings.seed)
    head = build_head(task.kind, tuning.c, calibration)
    head.fit(vectoriser.transform(fit_rows.documents), fit_rows.targets)
    pipeline = Pipeline([("features", vectoriser), ("head", head)])
    data_hash = _hash_texts(
        [f"{d}|{v}" for d, v in zip(rows.documents, rows.labels.tolist(), strict=True)]
        + [repr(asdict(settings)), f"C={tuning.c}"]  # the rule that picks C may change
    )
    version = f"{task.signal}-{stamp[1]:%Y%m%d}-{data_hash[:8]}"
    card = _card(task, version, data_hash, stamp, rows, tuning, settings)
    return SignalModel(task.signal, task.kind, version, pipeline, card)


def _score_held_out(model: SignalModel, task: SignalTask, held_out: Sequence[Example]) -> None:
    rows = rows_for(task, held_out)
    if len(rows.targets):
        values = predict_values(model, model.vectoriser.transform(rows.documents))
        model.card["metrics_held_out"] = metrics_for(task.kind, values, rows.labels, rows.targets)
        model.card["n_held_out"] = len(rows.targets)


def _save_and_measure(model: SignalModel, config: Config) -> None:
    from pipeline.scoring import model_folder

    folder = model_folder(config, model.signal)
    path = save_model(model, folder)
    started = time.perf_counter()
    load_model(folder, model.signal, model.version)
    model.card["artefact"] = {
        "bytes": path.stat().st_size,
        "load_s": round(time.perf_counter() - started, 3),
        "vocabulary": len(getattr(word_part(model.vectoriser), "vocabulary_", {})),
    }
    rewrite_card(model, folder)


def _check_classes(task: SignalTask, y: np.ndarray) -> None:
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts.min() < MIN_PER_CLASS:
        found = dict(zip(classes.tolist(), counts.tolist(), strict=True))
        raise ModelError(
            f"signal {task.signal!r}: need at least {MIN_PER_CLASS} examples of each class to "
            f"train, found {found}"
        )


def _card(
    task: SignalTask,
    version: str,
    data_hash: str,
    stamp: tuple[str, datetime],
    rows: Rows,
    tuning: Tuning,
    settings: TrainSettings,
) -> dict[str, Any]:
    return {
        "signal": task.signal,
        "kind": task.kind,
        "version": version,
        "positive_from": task.positive_from,
        "trained_at": stamp[1].isoformat(timespec="seconds"),
        "training_data_sha256": data_hash,
        "features_id": stamp[0],
        "n_train": len(rows.targets),
        "classes": {str(k): int(v) for k, v in _counts(rows.targets).items()},
        "metrics_cv": tuning.metrics,
        "metrics_cv_padded": tuning.padded,
        "tuning": {"C": tuning.c, "mean_cv_plain_and_padded_by_C": tuning.by_c},
        "settings": asdict(settings),
        "estimator": _describe(task.kind),
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }


def _counts(values: np.ndarray) -> dict[int, int]:
    classes, counts = np.unique(values, return_counts=True)
    return dict(zip(classes.tolist(), counts.tolist(), strict=True))


def _describe(kind: str) -> str:
    words = (
        "TF-IDF word 1-2 grams (sublinear) + hashed character 3-5 grams of the distinct tokens "
        "(idf, over sqrt of the gram count), accent-folded; logistic regression"
    )
    if kind == "tone":
        return words + " (3 classes; tone = P(cooperative) - P(conflictual))"
    return words + " (sigmoid-calibrated on story-grouped folds)"


def _hash_texts(parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def default_example_paths(config: Config) -> list[Path]:
    """Every labelled-examples path the config names (``models/data`` when none)."""
    paths = sorted({s.examples for s in config.signals.values() if s.examples is not None})
    return paths or [config.base_dir / "models" / "data"]
