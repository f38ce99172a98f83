"""Say why a score is what it is: the terms and the sentence that pushed it most.

The heads are linear in the features, so every part of a score is a sum of feature value times
weight, and both blocks attribute exactly. A word feature's value is shared equally by its
occurrences, so a sentence's word part is its share row times the weights. The character block
is a sum over distinct tokens (``pipeline.features.MassScaler``), so each token carries one
character push, shared equally by its occurrences, and it is added to the token's unigram to
rank *words* rather than character grams. Per head: a handful of sparse products on the batch;
only the JSON is built per article. Stored in the ``explanation`` column as ``{"up": [[term,
weight], ...], "down": [...], "sentence": "...", "sentence_weight": w}`` (log-odds units).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pipeline.fastpath import Encoded

TOP_TERMS = 4
MAX_SENTENCE_CHARS = 400


def explain_batch(
    encoded: Encoded,
    word_weights: np.ndarray,
    token_push: np.ndarray | None,
    vocabulary: Vocabulary,
) -> list[str]:
    """Return one explanation JSON per document.

    Args:
        encoded: the batch, encoded with sentences.
        word_weights: the head's weight per word feature.
        token_push: the head's character push per token (None for word-only features).
        vocabulary: names of the word features and tokens, and which unigram is which token.
    """
    terms, names = _term_contributions(encoded, word_weights, token_push, vocabulary)
    up, down = _top_terms(terms, names)
    assert encoded.sentence_words is not None
    pushes = np.asarray(encoded.sentence_words @ word_weights, dtype=np.float64).ravel()
    totals = np.asarray(encoded.words @ word_weights, dtype=np.float64).ravel()
    if token_push is not None and encoded.presence is not None:
        assert encoded.sentence_presence is not None
        pushes = pushes + encoded.sentence_presence @ token_push
        totals = totals + encoded.presence @ token_push
    picked = _top_sentences(encoded, pushes, np.sign(totals))
    return [
        json.dumps({"up": u, "down": d, "sentence": s, "sentence_weight": w}, ensure_ascii=False)
        for u, d, (s, w) in zip(up, down, picked, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names for explanation columns: word features, tokens, and unigram -> token."""

    word_names: np.ndarray
    is_bigram: np.ndarray
    token_names: list[str]
    unigram_of_token: np.ndarray  # per token id: its unigram word feature, or -1


def _term_contributions(
    encoded: Encoded,
    word_weights: np.ndarray,
    token_push: np.ndarray | None,
    vocabulary: Vocabulary,
) -> tuple[sp.csr_matrix, np.ndarray]:
    """Documents x terms contributions, and the name of each term column."""
    words = sp.csr_matrix(encoded.words, dtype=np.float64, copy=True)
    words.data *= word_weights[words.indices]
    if token_push is None or encoded.presence is None:
        return words, vocabulary.word_names
    n_tokens = encoded.presence.shape[1]
    tokens = np.flatnonzero(vocabulary.unigram_of_token[:n_tokens] >= 0)
    to_token = sp.csr_matrix(
        (np.ones(len(tokens)), (vocabulary.unigram_of_token[tokens], tokens)),
        shape=(words.shape[1], n_tokens),
    )
    # a word's unigram and character parts are ranked together, under the word
    merged = sp.csr_matrix(encoded.presence.multiply(token_push[None, :])) + words @ to_token
    bigrams = words @ sp.diags(vocabulary.is_bigram.astype(np.float64))
    names = np.concatenate(
        [np.asarray(vocabulary.token_names[:n_tokens], dtype=object), vocabulary.word_names]
    )
    return sp.hstack([merged, bigrams], format="csr"), names


def _top_terms(
    contributions: sp.csr_matrix, names: np.ndarray
) -> tuple[list[list[list[object]]], list[list[list[object]]]]:
    """The TOP_TERMS largest positive and negative contributions of each row, largest first."""
    lengths = np.diff(contributions.indptr)
    rows = np.repeat(np.arange(contributions.shape[0]), lengths)
    data = np.asarray(contributions.data, dtype=np.float64)
    columns = contributions.indices
    return tuple(  # type: ignore[return-value]
        _pairs(names, columns, data, *_strongest(sign * data, rows, contributions.indptr))
        for sign in (1.0, -1.0)
    )


def _strongest(
    values: np.ndarray, rows: np.ndarray, indptr: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The positions of each row's TOP_TERMS largest positive values, largest first, and the
    bounds of each row's slice of them.

    Sorting every entry of a batch costs more than scoring it, so only entries within a
    factor of 4 of their row's maximum are sorted, unless that leaves a row short.
    """
    n = len(indptr) - 1
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.zeros(n + 1, dtype=np.int64)
    positive = values > 0
    masked = np.where(positive, values, 0.0)
    starts = np.minimum(indptr[:-1], len(values) - 1)
    row_max = np.where(np.diff(indptr) > 0, np.maximum.reduceat(masked, starts), 0.0)
    chosen = positive & (values >= row_max[rows] / 4)
    enough = np.minimum(TOP_TERMS, np.bincount(rows[positive], minlength=n))
    short = np.bincount(rows[chosen], minlength=n) < enough
    chosen |= positive & short[rows]
    picked = np.flatnonzero(chosen)
    picked = picked[np.lexsort((-values[picked], rows[picked]))]
    first = np.searchsorted(rows[picked], np.arange(n))
    top = (np.arange(len(picked)) - first[rows[picked]]) < TOP_TERMS
    picked = picked[top]
    return picked, np.searchsorted(rows[picked], np.arange(n + 1))


def _pairs(
    names: np.ndarray,
    columns: np.ndarray,
    values: np.ndarray,
    picked: np.ndarray,
    bounds: np.ndarray,
) -> list[list[list[object]]]:
    """Per row, [term, weight] for the picked positions (named only once picked: naming
    every entry of the batch cost more than choosing among them)."""
    terms = names[columns[picked]].tolist()
    weights = np.round(values[picked], 4).tolist()
    pairs = [[str(t), w] for t, w in zip(terms, weights, strict=True)]
    return [pairs[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]


def _top_sentences(
    encoded: Encoded, pushes: np.ndarray, direction: np.ndarray
) -> list[tuple[str, float]]:
    """For each document, the sentence pushing hardest in the direction its score moved."""
    assert encoded.first is not None and encoded.sentences is not None
    picked: list[tuple[str, float]] = []
    bounds = zip(encoded.first[:-1], encoded.first[1:], strict=True)
    for doc, (start, end) in enumerate(bounds):
        if end <= start or direction[doc] == 0:
            picked.append(("", 0.0))
            continue
        best = int(start + np.argmax(pushes[start:end] * direction[doc]))
        text = encoded.sentences[best].strip()
        if len(text) > MAX_SENTENCE_CHARS:
            text = text[: MAX_SENTENCE_CHARS - 1].rstrip() + "…"
        picked.append((text, round(float(pushes[best]), 4)))
    return picked
