"""Build, save and load one signal's model: a scikit-learn Pipeline of TF-IDF and a linear head.

Artefacts are skops files (never pickle) with a JSON model card beside them and a ``CURRENT``
pointer naming the version in use. Loading accepts only the exact types this module builds
(``TRUSTED_TYPES``), so a tampered file cannot run code; every failure is a ``ModelError`` that
says how to retrain.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from skops.io.exceptions import UntrustedTypesFoundException

from pipeline.errors import ModelError
from pipeline.fastpath import is_supported

CURRENT_POINTER = "CURRENT"
RETRAIN_HINT = "retrain with `policy-risk train` (see docs/model.md)"
# Types skops does not trust by default but our pipelines legitimately contain. Nothing else is
# accepted: no prefixes, no builtins, no functions but our own text preprocessor.
TRUSTED_TYPES = frozenset(
    {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "pipeline.features.MassScaler",
        "pipeline.features.fold_text",
        "pipeline.features.token_char_grams",
    }
)
_HEADS = (CalibratedClassifierCV, LogisticRegression)
ARTEFACT_MODE = 0o644


@dataclass(frozen=True, slots=True)
class SignalModel:
    """A fitted model for one signal with its card; ``kind`` decides how outputs read."""

    signal: str
    kind: str
    version: str
    pipeline: Pipeline
    card: dict[str, Any]

    @property
    def features_id(self) -> str:
        """Models trained on the same fitted vectoriser share this id and one transform."""
        return str(self.card.get("features_id", self.version))

    @property
    def vectoriser(self) -> Any:
        """The fitted text -> features step."""
        return self.pipeline.named_steps["features"]


def build_head(kind: str, c: float, splits: Sequence[Any] | int = 5) -> Any:
    """Return the linear head: calibrated probabilities for risks, three classes for tone.

    Risk heads are sigmoid-calibrated on grouped folds (``splits``), so a story's translation
    never calibrates its own prediction. Tone is the difference P(cooperative) - P(conflictual)
    of a three-class model, which stays in [-1, 1] by construction.
    """
    base = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    if kind == "tone":
        return base
    return CalibratedClassifierCV(base, method="sigmoid", cv=splits)


def tone_from_proba(proba: np.ndarray, classes: Sequence[Any]) -> np.ndarray:
    """Return P(+1) - P(-1): the tone scale from three-class probabilities."""
    labels = list(classes)
    up = proba[:, labels.index(1)] if 1 in labels else np.zeros(len(proba))
    down = proba[:, labels.index(-1)] if -1 in labels else np.zeros(len(proba))
    return np.asarray(up - down, dtype=np.float64)


def predict_values(model: SignalModel, features: Any) -> np.ndarray:
    """Turn head outputs into the signal's scale: probability 0..1, or tone -1..1."""
    head = model.pipeline.named_steps["head"]
    proba = head.predict_proba(features)
    if model.kind == "tone":
        return tone_from_proba(proba, head.classes_)
    return np.asarray(proba[:, list(head.classes_).index(1)], dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LinearHead:
    """A fitted head as plain arrays: ``decisions = X @ coef.T + intercept``, then its link.

    Lets scoring compute decisions from parts (``FastFeatures.decisions``) without building the
    character features; ``values`` reproduces the head's ``predict_proba`` exactly (tested).
    ``link`` is ``calibrated`` (mean over folds of sigmoid(-(a * d + b))), ``softmax`` or
    ``logistic``.
    """

    coef: np.ndarray
    intercept: np.ndarray
    link: str
    classes: tuple[Any, ...]
    a: np.ndarray
    b: np.ndarray

    def values(self, decisions: np.ndarray, kind: str) -> np.ndarray:
        """Turn decisions into the signal's scale (probability 0..1, or tone -1..1)."""
        if self.link == "calibrated":
            positive = 1.0 / (1.0 + np.exp(self.a * decisions + self.b))
            return np.asarray(positive.mean(axis=1), dtype=np.float64)
        if self.link == "softmax":
            shifted = np.exp(decisions - decisions.max(axis=1, keepdims=True))
            proba = shifted / shifted.sum(axis=1, keepdims=True)
        else:
            up = 1.0 / (1.0 + np.exp(-decisions[:, 0]))
            proba = np.column_stack([1.0 - up, up])
        if kind == "tone":
            return tone_from_proba(proba, self.classes)
        return np.asarray(proba[:, list(self.classes).index(1)], dtype=np.float64)


def linear_head(model: SignalModel) -> LinearHead | None:
    """Return the head as arrays, or None for a head this module does not know."""
    head = model.pipeline.named_steps["head"]
    none = np.zeros(0)
    if isinstance(head, CalibratedClassifierCV) and head.method == "sigmoid":
        folds = head.calibrated_classifiers_
        if any(len(f.calibrators) != 1 for f in folds):
            return None
        return LinearHead(
            np.vstack([f.estimator.coef_[0] for f in folds]),
            np.array([f.estimator.intercept_[0] for f in folds]),
            "calibrated",
            tuple(head.classes_),
            np.array([f.calibrators[0].a_ for f in folds], dtype=np.float64),
            np.array([f.calibrators[0].b_ for f in folds], dtype=np.float64),
        )
    if isinstance(head, LogisticRegression):
        link = "softmax" if len(head.classes_) > 2 else "logistic"
        return LinearHead(head.coef_, head.intercept_, link, tuple(head.classes_), none, none)
    return None


def linear_weights(model: SignalModel) -> np.ndarray:
    """Return one weight per feature: how much a unit of that feature moves the score up."""
    head = model.pipeline.named_steps["head"]
    if isinstance(head, CalibratedClassifierCV):
        coefs = [c.estimator.coef_[0] for c in head.calibrated_classifiers_]
        return np.asarray(np.mean(coefs, axis=0), dtype=np.float64)
    classes = list(head.classes_)
    if model.kind == "tone":
        return np.asarray(head.coef_[classes.index(1)] - head.coef_[classes.index(-1)])
    return np.asarray(head.coef_[0], dtype=np.float64)


def save_model(model: SignalModel, folder: Path) -> Path:
    """Write ``<version>.skops`` and its card atomically, then point CURRENT at them."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{model.version}.skops"
    packed = sio.dumps(model.pipeline, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    _atomic_write(target, packed)
    write_card(model, folder)
    _atomic_write(folder / CURRENT_POINTER, f"{model.version}\n".encode())
    return target


def write_card(model: SignalModel, folder: Path) -> None:
    """(Re)write the model card, e.g. after measuring the saved file's size and load time."""
    card = json.dumps(model.card, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _atomic_write(folder / f"{model.version}.card.json", card.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, ARTEFACT_MODE)  # mkstemp makes 0600; artefacts are shared via git
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(folder: Path, signal: str, version: str | None = None) -> SignalModel:
    """Load the current (or a named) version of a signal's model, refusing anything unexpected."""
    version = version or current_version(folder, signal)
    card = _read_card(folder / f"{version}.card.json", signal)
    path = folder / f"{version}.skops"
    if not path.is_file():
        raise ModelError(f"{path}: model file for {signal} is missing; {RETRAIN_HINT}")
    _check_versions(card, path)
    pipeline = _load_pipeline(path)
    return SignalModel(signal, str(card.get("kind", "risk")), version, pipeline, card)


def _load_pipeline(path: Path) -> Pipeline:
    """One pass: skops refuses any type outside its defaults and ``TRUSTED_TYPES`` itself."""
    try:
        pipeline = sio.load(path, trusted=sorted(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise ModelError(
            f"{path}: refusing to load a model file with unexpected types ({exc}). "
            f"Use only models this project wrote, or {RETRAIN_HINT}"
        ) from None
    except Exception as exc:  # skops raises many kinds on a corrupt or truncated zip
        raise ModelError(f"{path}: model file is corrupt ({exc}); {RETRAIN_HINT}") from None
    steps = dict(pipeline.steps) if isinstance(pipeline, Pipeline) else {}
    features = steps.get("features")
    known = isinstance(features, TfidfVectorizer) or is_supported(features)
    if not known or not isinstance(steps.get("head"), _HEADS):
        raise ModelError(f"{path}: not a policy-risk model pipeline; {RETRAIN_HINT}")
    return pipeline


def current_version(folder: Path, signal: str) -> str:
    """Return the version the ``CURRENT`` pointer names."""
    pointer = folder / CURRENT_POINTER
    if not pointer.is_file():
        raise ModelError(f"no trained model for signal {signal!r} in {folder}; {RETRAIN_HINT}")
    version = pointer.read_text(encoding="utf-8").strip()
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ModelError(f"{pointer}: expected a model version name, got {version!r}")
    return version


def _read_card(path: Path, signal: str) -> dict[str, Any]:
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model card for {signal} is missing; {RETRAIN_HINT}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: model card is unreadable ({exc}); {RETRAIN_HINT}") from None
    if not isinstance(card, dict) or card.get("signal") != signal:
        raise ModelError(f"{path}: model card is not for signal {signal!r}; {RETRAIN_HINT}")
    return card


def _check_versions(card: dict[str, Any], path: Path) -> None:
    trained = str(card.get("sklearn_version", "unknown"))
    if trained.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelError(
            f"{path}: trained with scikit-learn {trained}, but {sklearn.__version__} is "
            f"installed; {RETRAIN_HINT}"
        )
