"""Build, save and load one signal's model: a scikit-learn Pipeline of TF-IDF and a linear head.

Artefacts are skops files (never pickle) with a JSON model card beside them. Loading accepts only
the scikit-learn and numpy types this module builds, so a tampered file cannot run code.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
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

from pipeline.errors import ModelError

CURRENT_POINTER = "CURRENT"
RETRAIN_HINT = "retrain with `policy-risk train` (see docs/model.md)"
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.sparse.")
_TRUSTED_EXTRA = {"numpy.float64", "numpy.int64", "numpy.dtype", "numpy.ndarray"}


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


def build_vectorizer(max_features: int = 40_000) -> TfidfVectorizer:
    """Word uni- and bigrams, accents folded so Spanish with or without accents matches."""
    return TfidfVectorizer(
        lowercase=True,
        strip_accents="unicode",
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.9,
        sublinear_tf=True,
        max_features=max_features,
        dtype=np.float32,
    )


def build_head(kind: str, c: float = 4.0) -> Any:
    """Return the linear head: a calibrated classifier for risks, a 3-class one for tone."""
    base = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    if kind == "tone":
        return base
    return CalibratedClassifierCV(base, method="sigmoid", cv=5)


def predict_values(model: SignalModel, features: Any) -> np.ndarray:
    """Turn head outputs into the signal's scale: probability 0..1, or tone -1..1."""
    head = model.pipeline.named_steps["head"]
    proba = head.predict_proba(features)
    classes = list(head.classes_)
    if model.kind == "tone":
        up = proba[:, classes.index(1)] if 1 in classes else 0.0
        down = proba[:, classes.index(-1)] if -1 in classes else 0.0
        return np.asarray(up - down, dtype=np.float64)
    return np.asarray(proba[:, classes.index(1)], dtype=np.float64)


def linear_weights(model: SignalModel) -> np.ndarray:
    """Return one weight per feature: how much a unit of that term moves the score up."""
    head = model.pipeline.named_steps["head"]
    if isinstance(head, CalibratedClassifierCV):
        coefs = [c.estimator.coef_[0] for c in head.calibrated_classifiers_]
        return np.asarray(np.mean(coefs, axis=0))
    classes = list(head.classes_)
    if model.kind == "tone":
        return np.asarray(head.coef_[classes.index(1)] - head.coef_[classes.index(-1)])
    return np.asarray(head.coef_[0])


def save_model(model: SignalModel, folder: Path) -> Path:
    """Write ``<version>.skops`` and its card atomically, then point CURRENT at them."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{model.version}.skops"
    packed = sio.dumps(model.pipeline, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    _atomic_write(target, packed)
    card = json.dumps(model.card, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _atomic_write(folder / f"{model.version}.card.json", card.encode("utf-8"))
    _atomic_write(folder / CURRENT_POINTER, f"{model.version}\n".encode())
    return target


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_model(folder: Path, signal: str, version: str | None = None) -> SignalModel:
    """Load the current (or a named) version of a signal's model, refusing anything unexpected."""
    version = version or _current_version(folder, signal)
    card = _read_card(folder / f"{version}.card.json", signal)
    path = folder / f"{version}.skops"
    if not path.is_file():
        raise ModelError(f"{path}: model file for {signal} is missing; {RETRAIN_HINT}")
    _check_versions(card, path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises many kinds on a corrupt zip
        raise ModelError(f"{path}: model file is corrupt ({exc}); {RETRAIN_HINT}") from None
    refused = [t for t in untrusted if not _is_trusted(t)]
    if refused:
        raise ModelError(
            f"{path}: model file holds unexpected types {refused}; refusing to load it"
        )
    try:
        pipeline = sio.load(path, trusted=untrusted)
    except Exception as exc:
        raise ModelError(f"{path}: cannot load model ({exc}); {RETRAIN_HINT}") from None
    if not isinstance(pipeline, Pipeline) or "head" not in pipeline.named_steps:
        raise ModelError(f"{path}: not a policy-risk model pipeline; {RETRAIN_HINT}")
    return SignalModel(signal, str(card.get("kind", "risk")), version, pipeline, card)


def _current_version(folder: Path, signal: str) -> str:
    pointer = folder / CURRENT_POINTER
    if not pointer.is_file():
        raise ModelError(f"no trained model for signal {signal!r} in {folder}; {RETRAIN_HINT}")
    version = pointer.read_text(encoding="utf-8").strip()
    if not version or "/" in version or version.startswith("."):
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


def _is_trusted(type_name: str) -> bool:
    return type_name in _TRUSTED_EXTRA or type_name.startswith(_TRUSTED_PREFIXES)
