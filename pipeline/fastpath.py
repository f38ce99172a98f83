"""The scoring-time transform: exact, vectorised, and able to say which sentence a term came from.

``FastFeatures`` reproduces a fitted features step of ``pipeline.features``. Each article is
folded and tokenised once; tokens become ids in a growing table that remembers, per token, its
unigram feature, its character-gram row and its gram count. Word features come from one pass
over the ids (bigrams by one vectorised search). The character block is linear in per-token
quantities (see ``MassScaler``), so a head's character part is ``presence @ push``: one number
per distinct token, computed once per token and head (``char_push``), never the grams again.
``transform`` still materialises the full matrix, exactly as sklearn would (tests check it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from pipeline.features import (
    TOKEN_PATTERN,
    MassScaler,
    fold_text,
    sentence_pieces,
    token_char_grams,
)
from pipeline.tokens import SENTENCE_BREAK, SHIFT, TokenTable

_CHAR_STEPS = ["grams", "mass", "idf", "seen"]


@dataclass(frozen=True, slots=True)
class Encoded:
    """One batch, encoded: what the heads and the explanations need.

    ``presence`` holds, per document and distinct token, the character block's scale factor
    (``scale / sqrt(mass)``), so ``presence @ push`` is each document's character contribution.
    The sentence fields are filled only when sentences were asked for.
    """

    words: sp.csr_matrix
    presence: sp.csr_matrix | None
    sentences: list[str] | None = None
    first: np.ndarray | None = None
    sentence_words: sp.csr_matrix | None = None
    sentence_presence: sp.csr_matrix | None = None


def is_supported(step: Any) -> bool:
    """Tell whether ``FastFeatures`` reproduces this features step exactly."""
    return _parts(step) is not None


def _parts(step: Any) -> tuple[TfidfVectorizer, Pipeline | None] | None:
    words, chars = step, None
    if isinstance(step, FeatureUnion):
        parts = dict(step.transformer_list)
        if list(parts) != ["words", "chars"] or step.transformer_weights:
            return None
        words, chars = parts["words"], parts["chars"]
        if not _chars_ok(chars):
            return None
    ok = (
        isinstance(words, TfidfVectorizer)
        and words.analyzer == "word"
        and words.preprocessor is fold_text
        and words.token_pattern == TOKEN_PATTERN
        and words.tokenizer is None
        and words.stop_words is None
        and tuple(words.ngram_range) in ((1, 1), (1, 2))
        and words.norm == "l2"
        and words.use_idf
        and hasattr(words, "vocabulary_")
    )
    return (words, chars) if ok else None


def _chars_ok(chars: Any) -> bool:
    if not isinstance(chars, Pipeline) or [n for n, _ in chars.steps] != _CHAR_STEPS:
        return False
    grams, mass, idf, _ = (step for _, step in chars.steps)
    return (
        grams.analyzer is token_char_grams
        and not grams.alternate_sign
        and grams.norm is None
        and isinstance(mass, MassScaler)
        and idf.norm is None
        and not idf.sublinear_tf
        and idf.use_idf
    )


class FastFeatures:
    """A fitted features step, re-implemented for scoring batches fast (see module docstring)."""

    def __init__(self, step: Any) -> None:
        parts = _parts(step)
        if parts is None:
            raise ValueError("FastFeatures needs a features step built by pipeline.features")
        words, chars = parts
        self.table = TokenTable(words, chars)
        self._word_dtype = words.dtype
        self._word_idf = np.asarray(words.idf_, dtype=np.float64)
        self._sublinear = bool(words.sublinear_tf)
        self.n_words = len(self._word_idf)
        self.word_names = np.asarray(words.get_feature_names_out(), dtype=object)
        self.is_bigram = np.array([" " in n for n in self.word_names], dtype=bool)
        self.has_chars = chars is not None
        self._scale = float(chars.named_steps["mass"].scale) if chars is not None else 0.0
        idf = chars.named_steps["idf"].idf_ if chars is not None else np.zeros(0)
        support = np.flatnonzero(self.table.remap >= 0)
        self.char_idf = np.asarray(idf, dtype=np.float64)[support]
        self.n_features = self.n_words + len(self.char_idf)
        self._pushes: dict[str, tuple[int, int, np.ndarray]] = {}

    def encode(self, documents: Sequence[str], *, sentences: bool = False) -> Encoded:
        """Encode a batch; with ``sentences``, also what each sentence holds of it."""
        if sentences:
            return self._encode_sentences(documents)
        ids, lengths = self.table.lookup(documents)
        owner = np.repeat(np.arange(len(documents)), lengths)
        words = self._word_matrix(ids, owner, len(documents))
        presence = self._presence(ids, owner, len(documents))[0] if self.has_chars else None
        return Encoded(words, presence)

    def transform(self, documents: Sequence[str]) -> sp.csr_matrix:
        """Return what ``step.transform(documents)`` returns (the full matrix), as CSR."""
        encoded = self.encode(documents)
        if encoded.presence is None:
            return encoded.words
        chars = sp.csr_matrix(encoded.presence @ self.table.rows @ sp.diags(self.char_idf))
        return sp.hstack([encoded.words, chars], format="csr")

    def char_push(self, key: str, weights: np.ndarray) -> np.ndarray:
        """Per token, its character contribution for weights over the character features
        (``weights``: features x k); cached per ``key`` and extended as the table grows."""
        done, generation, pushes = self._pushes.get(key, (0, -1, np.zeros((0, weights.shape[1]))))
        if generation != self.table.generation:
            done, pushes = 0, np.zeros((0, weights.shape[1]))
        rows = self.table.rows
        if done < rows.shape[0]:
            scaled = weights * self.char_idf[:, None]
            pushes = np.vstack([pushes, np.asarray(rows[done:] @ scaled)])
            self._pushes[key] = (rows.shape[0], self.table.generation, pushes)
        return pushes

    def decisions(
        self, encoded: Encoded, key: str, coef: np.ndarray, intercept: np.ndarray
    ) -> np.ndarray:
        """Return ``features @ coef.T + intercept`` without building the character features."""
        out = np.asarray(encoded.words @ coef[:, : self.n_words].T, dtype=np.float64)
        if encoded.presence is not None:
            out += encoded.presence @ self.char_push(key, coef[:, self.n_words :].T)
        return np.asarray(out + intercept, dtype=np.float64)

    def _word_occurrences(
        self, ids: np.ndarray, owner: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature and position of every in-vocabulary unigram and bigram occurrence."""
        table = self.table
        known = ids < table.base
        uni_at = np.flatnonzero(known)
        uni = table.unigram[ids[uni_at]]
        uni_at, uni = uni_at[uni >= 0], uni[uni >= 0]
        starts = known.copy()
        starts[known] = table.starts_bigram[ids[known]]
        bi_at = np.flatnonzero(starts[:-1] & known[1:] & (owner[:-1] == owner[1:]))
        keys = ids[bi_at] * SHIFT + ids[bi_at + 1]
        slot = table.bigram_index.get_indexer(keys)  # a hash lookup, -1 when absent
        hit = slot >= 0
        return np.concatenate([uni, table.bigram[slot[hit]]]), np.concatenate([uni_at, bi_at[hit]])

    def _word_matrix(self, ids: np.ndarray, owner: np.ndarray, n: int) -> sp.csr_matrix:
        features, at = self._word_occurrences(ids, owner)
        counts = sp.csr_matrix(
            (np.ones(len(features)), (owner[at], features)), shape=(n, self.n_words)
        )
        return sp.csr_matrix(
            _weigh(counts, self._word_idf, self._sublinear), dtype=self._word_dtype
        )

    def _presence(
        self, ids: np.ndarray, owner: np.ndarray, n: int
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Distinct tokens per document with the scale factor; plus, per occurrence, the index
        of its (document, token) pair and that pair's count."""
        n_tokens = len(self.table.names)
        unique, inverse, counts = np.unique(
            owner * n_tokens + ids, return_inverse=True, return_counts=True
        )
        rows, cols = np.divmod(unique, n_tokens)
        mass = np.bincount(rows, weights=self.table.mass[cols], minlength=n)
        factor = np.divide(self._scale, np.sqrt(mass), out=np.zeros(n), where=mass > 0)
        presence = sp.csr_matrix((factor[rows], (rows, cols)), shape=(n, n_tokens))
        return presence, factor[rows][inverse] / counts[inverse], inverse

    def _encode_sentences(self, documents: Sequence[str]) -> Encoded:
        """One tokenising pass per document: sentences are joined back with a sentinel token,
        whose positions say which sentence every other token belongs to."""
        pieces = [sentence_pieces(d) for d in documents]
        marker = f" {SENTENCE_BREAK} "
        ids, lengths = self.table.lookup([marker.join(p) for p in pieces])
        first = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
        owner = np.repeat(np.arange(len(documents)), lengths)
        breaks = ids == self.table.sentinel
        # sentence number within the document = breaks seen so far in that document
        per_doc = np.bincount(owner[breaks], minlength=len(documents))
        offsets = np.concatenate([[0], np.cumsum(per_doc)])[:-1]
        within = np.cumsum(breaks) - breaks - offsets[owner]
        # a text that itself contains the sentinel cannot push past its last sentence
        within = np.minimum(within, np.diff(first)[owner] - 1)
        keep = ~breaks
        ids, owner = ids[keep], owner[keep]
        sentence_of = first[owner] + within[keep]
        sentences = [p.strip() for piece in pieces for p in piece]
        words, sentence_words = self._word_shares(
            ids, owner, sentence_of, (len(documents), len(sentences))
        )
        presence, sentence_presence = None, None
        if self.has_chars:
            presence, share, _ = self._presence(ids, owner, len(documents))
            shape = (len(sentences), len(self.table.names))
            sentence_presence = sp.csr_matrix((share, (sentence_of, ids)), shape=shape)
        return Encoded(words, presence, sentences, first, sentence_words, sentence_presence)

    def _word_shares(
        self, ids: np.ndarray, owner: np.ndarray, sentence_of: np.ndarray, shape: tuple[int, int]
    ) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The word TF-IDF matrix, and each sentence's equal-per-occurrence share of it."""
        n_docs, n_sentences = shape
        features, at = self._word_occurrences(ids, owner)
        unique, inverse, counts = np.unique(
            owner[at] * self.n_words + features, return_inverse=True, return_counts=True
        )
        rows, cols = np.divmod(unique, self.n_words)
        matrix = sp.csr_matrix(
            (counts.astype(np.float64), (rows, cols)), shape=(n_docs, self.n_words)
        )
        weighed = _weigh(matrix, self._word_idf, self._sublinear)
        share = weighed.data[inverse] / counts[inverse]
        shares = sp.csr_matrix(
            (share, (sentence_of[at], features)), shape=(n_sentences, self.n_words)
        )
        return sp.csr_matrix(weighed, dtype=self._word_dtype), shares


def _weigh(counts: sp.csr_matrix, idf: np.ndarray, sublinear: bool) -> sp.csr_matrix:
    """TfidfTransformer's weighting with an l2 norm, in place (rows keep their entry order)."""
    counts.sum_duplicates()
    if sublinear:
        np.log(counts.data, out=counts.data)
        counts.data += 1.0
    counts.data *= idf[counts.indices]
    lengths = np.diff(counts.indptr)
    rows = np.repeat(np.arange(counts.shape[0]), lengths)
    norms = np.sqrt(np.bincount(rows, weights=counts.data**2, minlength=counts.shape[0]))
    norms[norms == 0.0] = 1.0
    counts.data /= np.repeat(norms, lengths)
    return counts
