"""Turn text into the features every signal model shares, fast enough to score a million articles.

The features are word uni- and bigrams (TF-IDF, vocabulary capped) plus hashed character 3-5
grams of the same tokens (2**18 buckets, so nothing to store but an idf vector and a mask).
Training uses scikit-learn (a ``FeatureUnion``) and one small transformer of ours,
``MassScaler``, so a saved model is a Pipeline skops loads with a four-name allowlist. Scoring
uses ``FastFeatures`` (``pipeline.fastpath``), an exact, vectorised re-implementation: sklearn
builds every n-gram string of every article; the fast path tokenises once and adds up
per-token numbers computed the first time each token is seen.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.feature_selection import VarianceThreshold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

# Sentences end at ., !, ? or … followed by a space, or at a line break (the headline is its
# own sentence). Splitting only at white space keeps the token stream identical; str methods
# instead of a look-behind regex keep the split at a tenth of the cost of tokenising.
_ENDS = (". ", "! ", "? ", "… ")
_COMBINING = re.compile("[\u0300-\u036f]")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
_TOKEN = re.compile(TOKEN_PATTERN)
CHAR_BITS = 18
CHAR_SCALE = 0.2  # puts the character block's norm near the word block's (about 1)


def fold_text(text: str) -> str:
    """Lower-case and strip accents, so `Descertificación` and `DESCERTIFICACION` are one term.

    Cheaper than sklearn's ``strip_accents="unicode"``: ASCII text is returned as is, and the
    combining marks NFKD splits off are removed by one regular expression, not a Python loop.
    """
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return _COMBINING.sub("", unicodedata.normalize("NFKD", lowered))


def token_char_grams(document: str) -> list[str]:
    """Character 3-5 grams of each *distinct* token, padded with spaces (`` col``, ``colo``).

    They let the models recognise inflections, misspellings and cognates the word vocabulary
    has never seen (descertificación and decertification share ``certi``). Grams come from the
    same folded tokens as the word features, and from each distinct token once, so a document's
    gram counts are a sum over its distinct tokens: scoring can add one precomputed number per
    token instead of rebuilding the grams (``pipeline.fastpath``).
    """
    grams: list[str] = []
    for token in set(_TOKEN.findall(fold_text(document))):
        grams.extend(grams_of(token))
    return grams


def grams_of(token: str) -> list[str]:
    """The character grams of one token."""
    padded = f" {token} "
    return [padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]


def build_vectorizer(
    max_features: int = 40_000, min_df: int = 2, max_df: float = 0.9
) -> TfidfVectorizer:
    """Word uni- and bigrams with sublinear TF, accents folded; the vocabulary is capped so the
    artefact stays small (issue 4: a 390k-term vocabulary saved with skops is ~250 MB)."""
    return TfidfVectorizer(
        preprocessor=fold_text,
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        min_df=min_df,
        max_df=max_df,
        sublinear_tf=True,
        max_features=max_features,
        dtype=np.float32,
    )


def build_char_features(bits: int = CHAR_BITS, scale: float = CHAR_SCALE) -> Pipeline:
    """Hashed character grams of the distinct tokens: counts over sqrt(total), times idf.

    Nothing to store but an idf vector and the mask of buckets seen in training (the
    ``VarianceThreshold`` drops the empty ones, which keeps the heads small and fast to fit).
    """
    grams = HashingVectorizer(
        analyzer=token_char_grams, n_features=2**bits, alternate_sign=False, norm=None
    )
    return Pipeline(
        [
            ("grams", grams),
            ("mass", MassScaler(scale)),
            ("idf", TfidfTransformer(norm=None, sublinear_tf=False)),
            ("seen", VarianceThreshold(0.0)),
        ]
    )


def build_features(
    max_features: int = 40_000, chars: bool = True
) -> FeatureUnion | TfidfVectorizer:
    """The shared text -> features step: words plus character grams (or words alone)."""
    words = build_vectorizer(max_features)
    if not chars:
        return words
    return FeatureUnion([("words", words), ("chars", build_char_features())])


def word_part(features: object) -> TfidfVectorizer | None:
    """Return the fitted word vectoriser inside a features step (None if there is none)."""
    if isinstance(features, TfidfVectorizer):
        return features
    if isinstance(features, FeatureUnion):
        part = dict(features.transformer_list).get("words")
        return part if isinstance(part, TfidfVectorizer) else None
    return None


def compact(features: object) -> None:
    """Shrink what skops writes: numpy ints in the vocabulary become one file each, and
    ``stop_words_`` (the pruned terms) is only kept for introspection."""
    words = word_part(features)
    if words is not None:
        words.stop_words_ = None
        words.vocabulary_ = {str(k): int(v) for k, v in words.vocabulary_.items()}


def sentence_pieces(document: str) -> list[str]:
    """Split a document at sentence ends; pieces may be blank, and joining them with white
    space gives back the same tokens."""
    for end in _ENDS:
        if end in document:
            document = document.replace(end, end[0] + "\n")
    return document.split("\n")


def split_sentences(document: str) -> list[str]:
    """Split a document into sentences (stripped, non-blank, in order)."""
    return [s for s in (p.strip() for p in sentence_pieces(document)) if s]


class MassScaler(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Divide each row by the square root of its total mass (sum of absolute values), times
    ``scale``.

    Used on the character-gram counts: like an l2 norm it keeps long and short articles on one
    scale, but the mass of a document is the sum of its tokens' gram counts, so the scaled
    features stay *linear in per-token quantities*. That lets scoring add up one precomputed
    number per distinct token instead of building every gram (``pipeline.fastpath``).
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, X: Any, y: Any = None) -> MassScaler:
        """Check the input; nothing is learned beyond its width."""
        validate_data(self, X, accept_sparse="csr", reset=True)
        return self

    def transform(self, X: Any) -> Any:
        """Return X with each row divided by sqrt(sum |row|) and multiplied by ``scale``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        mass = np.sqrt(np.asarray(abs(X).sum(axis=1), dtype=np.float64).ravel())
        factor = np.divide(self.scale, mass, out=np.zeros_like(mass), where=mass > 0)
        if sp.issparse(X):
            return sp.csr_matrix(sp.diags(factor) @ X)
        return np.asarray(X * factor[:, None])

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.requires_fit = True
        return tags
