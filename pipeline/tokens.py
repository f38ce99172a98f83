"""The token table behind ``pipeline.fastpath``: every token seen gets an id, once.

Per id it keeps what scoring needs again and again: the token's unigram feature (or -1), its
row of hashed character grams restricted to the buckets seen in training, and its gram count
(the character block's mass). Tokens come from lower-cased text; accented forms of NFKC text
are folded once, when first seen, and kept as aliases of the folded token, so most texts are
never folded as a whole. Tokens first seen at scoring time are forgotten past ``MAX_TOKENS``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline

from pipeline.features import TOKEN_PATTERN, fold_text, grams_of

MAX_TOKENS = 500_000
SENTENCE_BREAK = "zz_sentence_break_zz"  # a token no text has, marking where sentences end
SHIFT = np.int64(2**32)  # bigram key = first token id * SHIFT + second token id
_COMBINING = re.compile("[\u0300-\u036f]")
_TOKEN = re.compile(TOKEN_PATTERN)


def _folds_per_token(lowered: str) -> bool:
    """Whether folding each token gives the tokens of the folded text: true for NFKC text
    without stray combining marks (composed accents fold inside a token; no boundary moves)."""
    return unicodedata.is_normalized("NFKC", lowered) and not _COMBINING.search(lowered)


def _feature_hasher(vectoriser: Any) -> FeatureHasher:
    """The FeatureHasher a HashingVectorizer hashes with, fed gram lists directly."""
    return FeatureHasher(
        n_features=vectoriser.n_features,
        input_type="string",
        dtype=vectoriser.dtype,
        alternate_sign=vectoriser.alternate_sign,
    )


class TokenTable:
    """Token -> id, with each id's unigram feature, gram row and gram count; grows as it scores."""

    def __init__(self, words: TfidfVectorizer, chars: Pipeline | None) -> None:
        grams = [(term.split(" "), int(index)) for term, index in words.vocabulary_.items()]
        self.ids: dict[str, int] = {}
        for parts, _ in grams:
            for token in parts:
                self.ids.setdefault(token, len(self.ids))
        self.base = len(self.ids)
        self.names: list[str] = list(self.ids)
        self.unigram = np.full(self.base, -1, dtype=np.int64)
        for parts, index in grams:
            if len(parts) == 1:
                self.unigram[self.ids[parts[0]]] = index
        pairs = sorted(
            (self.ids[p[0]] * SHIFT + self.ids[p[1]], i) for p, i in grams if len(p) == 2
        )
        self.bigram_keys = np.array([k for k, _ in pairs], dtype=np.int64)
        self.bigram = np.array([i for _, i in pairs], dtype=np.int64)
        self.generation = 0
        self._hasher = None if chars is None else _feature_hasher(chars.named_steps["grams"])
        seen = np.array([], dtype=np.int64)
        self.remap = np.zeros(0, dtype=np.int64)
        if chars is not None:
            seen = np.flatnonzero(chars.named_steps["seen"].get_support())
            self.remap = np.full(chars.named_steps["grams"].n_features, -1, dtype=np.int64)
            self.remap[seen] = np.arange(len(seen))
        self.n_seen = len(seen)
        self.rows = sp.csr_matrix((0, self.n_seen))
        self.mass = np.zeros(0)
        self._add_rows(self.names)
        self.sentinel = self._register(SENTENCE_BREAK)
        self._flush()
        self.base = len(self.names)  # vocabulary tokens and the sentinel are never forgotten
        self.bigram_index = pd.Index(self.bigram_keys)
        self.starts_bigram = np.zeros(self.base, dtype=bool)  # cheap filter before the lookup
        self.starts_bigram[self.bigram_keys // SHIFT] = True

    def _add_rows(self, tokens: list[str]) -> None:
        if self._hasher is None or not tokens:
            return
        # hash each token's own grams (the analyzer would re-fold the token; NFKD can leave
        # capitals, as in ™ -> TM, that the document-level analyzer keeps)
        full = sp.csr_matrix(
            self._hasher.transform([grams_of(t) for t in tokens]), dtype=np.float64
        )
        self.mass = np.concatenate([self.mass, np.asarray(full.sum(axis=1)).ravel()])
        keep = self.remap[full.indices] >= 0
        row_of = np.repeat(np.arange(len(tokens)), np.diff(full.indptr))
        per_row = np.bincount(row_of[keep], minlength=len(tokens))
        indptr = np.concatenate([[0], np.cumsum(per_row)])
        rows = sp.csr_matrix(
            (full.data[keep], self.remap[full.indices[keep]], indptr),
            shape=(len(tokens), self.n_seen),
        )
        self.rows = sp.vstack([self.rows, rows], format="csr")

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return the token ids of all texts (raw, not yet folded), concatenated, and each
        text's token count. Folding is paid once per new accented token, not per text."""
        if len(self.names) > MAX_TOKENS:
            self._forget()
        get, findall = self.ids.get, _TOKEN.findall
        flat: list[int] = []
        token_lists: list[tuple[list[str], bool]] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            lowered = text.lower()
            raw = not lowered.isascii() and _folds_per_token(lowered)
            if not raw and not lowered.isascii():
                lowered = fold_text(lowered)
            tokens = findall(lowered)
            lengths[i] = len(tokens)
            token_lists.append((tokens, raw))
            flat.extend(map(get, tokens, repeat(-1)))
        found = np.asarray(flat, dtype=np.int64)
        missing = np.flatnonzero(found < 0)
        if len(missing):
            ends = np.cumsum(lengths)
            texts_of = np.searchsorted(ends, missing, side="right")
            offsets = missing - (ends[texts_of] - lengths[texts_of])
            found[missing] = [
                self._register(token_lists[t][0][o], token_lists[t][1])
                for t, o in zip(texts_of.tolist(), offsets.tolist(), strict=True)
            ]
            self._flush()
        return found, lengths

    def _register(self, raw: str, unfolded: bool = True) -> int:
        """Give a token seen for the first time an id; an accented form aliases its folded one
        (``unfolded``: the token comes from text that was not folded as a whole)."""
        known = self.ids.get(raw)
        if known is not None:
            return known
        folded = fold_text(raw) if unfolded else raw
        token = self.ids.get(folded)
        if token is None:
            token = len(self.names)
            self.ids[folded] = token
            self.names.append(folded)
        self.ids[raw] = token
        return token

    def _flush(self) -> None:
        """Give the tokens registered since the last flush their unigram slot and gram row."""
        new = self.names[len(self.unigram) :]
        if new:
            self.unigram = np.concatenate([self.unigram, np.full(len(new), -1, dtype=np.int64)])
            self._add_rows(new)

    def _forget(self) -> None:
        """Drop the tokens (and accented aliases) first seen while scoring."""
        self.names = self.names[: self.base]
        self.ids = {name: i for i, name in enumerate(self.names)}
        self.unigram = self.unigram[: self.base]
        self.rows = sp.csr_matrix(self.rows[: self.base])
        self.mass = self.mass[: self.base]
        self.generation += 1
