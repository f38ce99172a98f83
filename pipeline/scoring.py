"""Score articles with the trained signal models: Articles -> Scores, with explanations.

Models that share a fitted vectoriser share one transform, so adding a signal costs one linear
head, not another pass of tokenising; ``FastFeatures`` makes that transform cheap and lets the
same pass attribute each score to a sentence (``pipeline.explain``).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.config import Config
from pipeline.examples import RELEVANCE
from pipeline.explain import Vocabulary, explain_batch
from pipeline.fastpath import Encoded, FastFeatures, is_supported
from pipeline.features import split_sentences
from pipeline.language import SUPPORTED_LANGUAGES
from pipeline.model import (
    LinearHead,
    SignalModel,
    linear_head,
    linear_weights,
    load_model,
    predict_values,
)
from pipeline.records import Article, Score


@dataclass(slots=True)
class FeatureGroup:
    """Models sharing one fitted features step, with what scoring needs precomputed once."""

    models: list[SignalModel]
    fast: FastFeatures | None
    heads: list[LinearHead | None]
    weights: list[np.ndarray]

    @property
    def step(self) -> Any:
        """The shared fitted features step."""
        return self.models[0].vectoriser

    def values(self, documents: Sequence[str]) -> dict[str, np.ndarray]:
        """Return signal -> scores, from one encoding of the documents."""
        encoded = self._encode(documents, sentences=False)
        return {m.signal: self._values(encoded, i) for i, m in enumerate(self.models)}

    def explained(self, documents: Sequence[str]) -> list[tuple[np.ndarray, list[str]]]:
        """Per model: the scores and one explanation JSON per document."""
        encoded = self._encode(documents, sentences=True)
        vocabulary = self._vocabulary()
        out = []
        for i, model in enumerate(self.models):
            weights = self.weights[i]
            push = None
            if self.fast is not None and self.fast.has_chars:
                chars = weights[self.fast.n_words :, None]
                push = self.fast.char_push(f"{model.version}:explain", chars)[:, 0]
            n_words = len(vocabulary.word_names)
            explanations = explain_batch(encoded, weights[:n_words], push, vocabulary)
            out.append((self._values(encoded, i), explanations))
        return out

    def _values(self, encoded: Encoded, index: int) -> np.ndarray:
        model, head = self.models[index], self.heads[index]
        if self.fast is not None and head is not None:
            decisions = self.fast.decisions(encoded, model.version, head.coef, head.intercept)
            return head.values(decisions, model.kind)
        features = encoded.words
        if self.fast is not None and encoded.presence is not None:
            chars = encoded.presence @ self.fast.table.rows @ sp.diags(self.fast.char_idf)
            features = sp.hstack([encoded.words, chars], format="csr")
        return predict_values(model, features)

    def _encode(self, documents: Sequence[str], *, sentences: bool) -> Encoded:
        if self.fast is not None:
            return self.fast.encode(documents, sentences=sentences)
        # Older word-only artefacts: sentences go through the same batched transform.
        pieces = [split_sentences(d) for d in documents] if sentences else []
        flat = [s for p in pieces for s in p]
        both = sp.csr_matrix(self.step.transform([*documents, *flat]), dtype=np.float64)
        first = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
        if not sentences:
            return Encoded(both, None)
        return Encoded(both[: len(documents)], None, flat, first, both[len(documents) :], None)

    def _vocabulary(self) -> Vocabulary:
        if self.fast is not None:
            table = self.fast.table
            return Vocabulary(self.fast.word_names, self.fast.is_bigram, table.names, table.unigram)
        names = np.asarray(self.step.get_feature_names_out(), dtype=object)
        bigram = np.array([" " in n for n in names], dtype=bool)
        return Vocabulary(names, bigram, [], np.zeros(0, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class ModelSet:
    """The loaded models for every configured signal, plus the relevance gate when present."""

    models: dict[str, SignalModel]
    _groups: list[FeatureGroup] = field(default_factory=list, compare=False, repr=False)
    _folders: dict[str, Path] = field(default_factory=dict, compare=False, repr=False)

    def versions(self) -> dict[str, str]:
        """Return signal -> model version."""
        return {name: model.version for name, model in self.models.items()}

    def folders(self) -> dict[str, Path]:
        """Return signal -> the folder its model was loaded from (to load it again elsewhere)."""
        return dict(self._folders)

    def groups(self) -> list[FeatureGroup]:
        """The models grouped by shared features step (built once, then reused)."""
        if not self._groups:
            by_id: dict[str, list[SignalModel]] = {}
            for model in self.models.values():
                by_id.setdefault(model.features_id, []).append(model)
            for members in by_id.values():
                step = members[0].vectoriser
                fast = FastFeatures(step) if is_supported(step) else None
                heads = [linear_head(m) for m in members]
                weights = [linear_weights(m) for m in members]
                self._groups.append(FeatureGroup(members, fast, heads, weights))
        return self._groups


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
    folders = {name: model_folder(config, name) for name in config.signals}
    relevance_dir = model_folder(config, RELEVANCE)
    if with_relevance and (relevance_dir / "CURRENT").is_file():
        folders[RELEVANCE] = relevance_dir
    return load_model_folders(folders)


def load_model_folders(folders: dict[str, Path]) -> ModelSet:
    """Load each signal's current model from its folder."""
    models = {name: load_model(folder, name) for name, folder in folders.items()}
    return ModelSet(models, _folders=dict(folders))


def document_of(title: str, text: str) -> str:
    """The text a model sees, the same at training and scoring time."""
    return f"{title}\n{text}"


def score_documents(models: ModelSet, documents: Sequence[str]) -> dict[str, np.ndarray]:
    """Return signal -> scores for raw documents, transforming once per shared vectoriser."""
    out: dict[str, np.ndarray] = {}
    for group in models.groups():
        out.update(group.values(documents))
    return out


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch.

    A batch allocates hundreds of thousands of short-lived containers (token lists, explanation
    pairs) and no reference cycles; the collections they trigger scan the loaded models' objects
    again and again, which measured as half the scoring time (docs/benchmarks.md).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_articles(models: ModelSet, batch: Sequence[Article], scored_at: datetime) -> list[Score]:
    """Score a batch of articles on every signal, with the terms and sentence behind each score."""
    if not batch:
        return []
    with _collector_paused():
        return _score_batch(models, batch, scored_at)


def _score_batch(models: ModelSet, batch: Sequence[Article], scored_at: datetime) -> list[Score]:
    documents = [document_of(a.title, a.text) for a in batch]
    confidence = [confidence_of(a) for a in batch]
    scores: list[Score] = []
    for group in models.groups():
        for model, (values, explained) in zip(
            group.models, group.explained(documents), strict=True
        ):
            scores.extend(
                Score(
                    article_id=article.article_id,
                    signal=model.signal,
                    value=float(value),
                    model_version=model.version,
                    scored_at=scored_at,
                    confidence=level,
                    explanation=explanation,
                )
                for article, value, level, explanation in zip(
                    batch, values, confidence, explained, strict=True
                )
            )
    return scores


def confidence_of(article: Article) -> str:
    """Models learned English and Spanish; anything else is scored but flagged as low confidence."""
    return "normal" if article.language in SUPPORTED_LANGUAGES else "low"
