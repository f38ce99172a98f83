"""The yardsticks the models must beat: a bilingual keyword lexicon per signal, VADER for tone.

A model that cannot beat counting the obvious words is not worth its opacity. The lexicon is also
offered to the models as a feature (``pipeline.features``), so it lives in one place. Terms are
accent-folded, lower-case prefixes (``sancion`` matches sanciones and sancionó); multi-word terms
match across single spaces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from pipeline.features import fold_text as fold

# Each category lists English and Spanish stems. Risk terms name US punishment over drugs;
# cooperation and conflict terms describe how the two governments deal with each other.
LEXICON: dict[str, tuple[str, ...]] = {
    "risk": (
        "decertif",
        "descertific",
        "failed demonstrably",
        "fallo de manera demostrable",
        "majors list",
        "lista de paises",
        "sanction",
        "sancion",
        "ofac",
        "lista clinton",
        "aid cut",
        "cut aid",
        "recorte de ayuda",
        "recortar la ayuda",
        "suspend aid",
        "suspender la ayuda",
        "drug tariff",
        "aranceles por la droga",
        "kingpin",
        "narcoterror",
        "waiver",
        "dispensa",
        "exencion",
    ),
    "cooperation": (
        "agreement",
        "acuerdo",
        "cooperat",
        "cooperac",
        "coopera",
        "joint",
        "conjunt",
        "partner",
        "socio",
        "alianza",
        "alliance",
        "praise",
        "elogi",
        "destac",
        "welcom",
        "celebr",
        "signed",
        "firmar",
        "firmaron",
        "thank",
        "agradec",
        "extradit",
        "extradi",
        "donat",
        "dono",
        "training",
        "capacit",
        "memorand",
        "dialogue",
        "dialogo",
        "strengthen",
        "fortalec",
        "support",
        "apoyo",
        "teamwork",
        "trabajo conjunto",
    ),
    "conflict": (
        "tariff",
        "arancel",
        "retaliat",
        "represalia",
        "dispute",
        "disputa",
        "insult",
        "recall",
        "llamado a consultas",
        "expel",
        "expuls",
        "threat",
        "amenaz",
        "protest",
        "condemn",
        "conden",
        "reject",
        "rechaz",
        "tension",
        "clash",
        "choque",
        "crisis",
        "accus",
        "acus",
        "revok",
        "revoc",
        "ultimatum",
        "warn",
        "advirt",
        "advierte",
        "critic",
        "sanction",
        "sancion",
        "decertif",
        "descertific",
        "punish",
        "castig",
        "friction",
        "friccion",
    ),
}
CATEGORIES = tuple(LEXICON)


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    patterns = {}
    for category, terms in LEXICON.items():
        alternatives = "|".join(re.escape(t).replace(r"\ ", r"\s+") for t in terms)
        patterns[category] = re.compile(rf"\b(?:{alternatives})\w*")
    return patterns


def lexicon_counts(documents: Sequence[str]) -> np.ndarray:
    """Return one row per document: how many terms of each category it contains."""
    patterns = _patterns()
    counts = np.zeros((len(documents), len(CATEGORIES)), dtype=np.float64)
    for row, document in enumerate(documents):
        folded = fold(document)
        for column, category in enumerate(CATEGORIES):
            counts[row, column] = len(patterns[category].findall(folded))
    return counts


def lexicon_risk(documents: Sequence[str], extra: Sequence[str] = ()) -> np.ndarray:
    """Baseline risk in 0..1: rises with the number of punishment terms (3 hits -> 0.75).

    ``extra`` adds the signal's configured keywords to the bilingual risk list.
    """
    hits = lexicon_counts(documents)[:, CATEGORIES.index("risk")]
    if extra:
        hits = hits + _keyword_hits(documents, extra)
    return np.asarray(hits / (hits + 1.0))


def keyword_risk(documents: Sequence[str], keywords: Sequence[str]) -> np.ndarray:
    """Baseline for a signal added in the config: its ``keywords``, counted like the lexicon."""
    hits = _keyword_hits(documents, keywords)
    return np.asarray(hits / (hits + 1.0))


def _keyword_hits(documents: Sequence[str], keywords: Sequence[str]) -> np.ndarray:
    pattern = _any_term(keywords, prefix=True)
    return np.array([len(pattern.findall(fold(d))) for d in documents], dtype=np.float64)


def lexicon_tone(documents: Sequence[str]) -> np.ndarray:
    """Baseline tone in -1..1: cooperation terms minus conflict terms, damped."""
    counts = lexicon_counts(documents)
    up = counts[:, CATEGORIES.index("cooperation")]
    down = counts[:, CATEGORIES.index("conflict")]
    return np.asarray((up - down) / (up + down + 1.0))


def lexicon_relevance(
    documents: Sequence[str], country_terms: Sequence[str], partner_terms: Sequence[str]
) -> np.ndarray:
    """Baseline relevance: 1 when a document names both countries of the monitored pair."""
    country, partner = _any_term(country_terms), _any_term(partner_terms)
    return np.array(
        [float(bool(country.search(f)) and bool(partner.search(f))) for f in map(fold, documents)]
    )


def _any_term(terms: Sequence[str], *, prefix: bool = False) -> re.Pattern[str]:
    """Whole-word (or, with ``prefix``, word-start) matches of any folded term."""
    alternatives = "|".join(re.escape(fold(t)) for t in terms if t.strip()) or r"(?!)"
    end = r"\w*" if prefix else r"(?!\w)"
    return re.compile(rf"(?<!\w)(?:{alternatives}){end}")


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_tone(documents: Sequence[str]) -> np.ndarray:
    """VADER's compound sentiment in -1..1 (meaningful for English only)."""
    analyser = _vader()
    return np.array([analyser.polarity_scores(d)["compound"] for d in documents], dtype=float)
