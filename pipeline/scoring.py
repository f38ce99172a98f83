"""Score articles with the trained signal models: Articles -> Scores, with explanations.

Models that share a fitted vectoriser share one transform, so adding a signal costs one linear
head, not another pass of tokenising.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Config
from pipeline.examples import RELEVANCE
from pipeline.language import SUPPORTED_LANGUAGES
from pipeline.model import SignalModel, linear_weights, load_model, predict_values
from pipeline.records import Article, Score

TOP_TERMS = 4


@dataclass(frozen=True, slots=True)
class ModelSet:
    """The loaded models for every configured signal, plus the relevance gate when present."""

    models: dict[str, SignalModel]

    def versions(self) -> dict[str, str]:
        """Return signal -> model version."""
        return {name: model.version for name, model in self.models.items()}


def model_folder(config: Config, signal: str) -> Path:
    """Where a signal's artefacts live (``models/<signal>/`` unless the config says otherwise)."""
    if signal == RELEVANCE:
        return config.monitor.relevance_model
    if signal in config.signals and config.signals[signal].model is not None:
        path = config.signals[signal].model
        assert path is not None
        return path
    return config.base_dir / "models" / signal


def load_models(config: Config, *, with_relevance: bool = True) -> ModelSet:
    """Load every configured signal's current model; a missing one is a ModelError."""
    models = {name: load_model(model_folder(config, name), name) for name in config.signals}
    relevance_dir = model_folder(config, RELEVANCE)
    if with_relevance and (relevance_dir / "CURRENT").is_file():
        models[RELEVANCE] = load_model(relevance_dir, RELEVANCE)
    return ModelSet(models)


def document_of(title: str, text: str) -> str:
    """The text a model sees, the same at training and scoring time."""
    return f"{title}\n{text}"


def score_documents(models: ModelSet, documents: Sequence[str]) -> dict[str, np.ndarray]:
    """Return signal -> scores for raw documents, transforming once per shared vectoriser."""
    out: dict[str, np.ndarray] = {}
    for group in _by_features(models).values():
        features = group[0].pipeline.named_steps["features"].transform(documents)
        for model in group:
            out[model.signal] = predict_values(model, features)
    return out


def _by_features(models: ModelSet) -> dict[str, list[SignalModel]]:
    groups: dict[str, list[SignalModel]] = {}
    for model in models.models.values():
        groups.setdefault(model.features_id, []).append(model)
    return groups


def score_articles(models: ModelSet, batch: Sequence[Article], scored_at: datetime) -> list[Score]:
    """Score a batch of articles on every signal, with top terms explaining each score."""
    if not batch:
        return []
    documents = [document_of(a.title, a.text) for a in batch]
    scores: list[Score] = []
    for group in _by_features(models).values():
        vectoriser = group[0].pipeline.named_steps["features"]
        features = vectoriser.transform(documents)
        names = vectoriser.get_feature_names_out()
        for model in group:
            values = predict_values(model, features)
            terms = _top_terms(features, linear_weights(model), names)
            scores.extend(
                Score(
                    article_id=article.article_id,
                    signal=model.signal,
                    value=float(value),
                    model_version=model.version,
                    scored_at=scored_at,
                    confidence=confidence_of(article),
                    explanation=explanation,
                )
                for article, value, explanation in zip(batch, values, terms, strict=True)
            )
    return scores


def confidence_of(article: Article) -> str:
    """Models learned English and Spanish; anything else is scored but flagged as low confidence."""
    return "normal" if article.language in SUPPORTED_LANGUAGES else "low"


def _top_terms(features: Any, weights: np.ndarray, names: np.ndarray) -> list[str]:
    contributions = features.multiply(weights.reshape(1, -1)).tocsr()
    explanations = []
    for row in range(contributions.shape[0]):
        start, end = contributions.indptr[row], contributions.indptr[row + 1]
        idx, vals = contributions.indices[start:end], contributions.data[start:end]
        order = np.argsort(vals)
        up = [
            (str(names[idx[i]]), round(float(vals[i]), 4))
            for i in order[::-1][:TOP_TERMS]
            if vals[i] > 0
        ]
        down = [
            (str(names[idx[i]]), round(float(vals[i]), 4)) for i in order[:TOP_TERMS] if vals[i] < 0
        ]
        explanations.append(json.dumps({"up": up, "down": down}, ensure_ascii=False))
    return explanations
