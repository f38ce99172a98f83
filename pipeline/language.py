"""Detect an article's language when its source does not declare it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SUPPORTED_LANGUAGES = ("en", "es")
UNKNOWN = "und"


@lru_cache(maxsize=1)
def _identifier() -> Any:
    # The model ships inside the py3langid package (a numpy archive, not a pickle).
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """Return an ISO 639-1 code, or ``und`` when the text is too short to tell."""
    sample = " ".join(text.split()[:400])
    if len(sample) < 20:
        return UNKNOWN
    code, probability = _identifier().classify(sample)
    return str(code) if probability >= 0.5 else UNKNOWN


def normalise_language(declared: str | None, text: str) -> str:
    """Use a declared language tag (``es-CO`` -> ``es``) when there is one, else detect it."""
    if declared:
        code = declared.strip().lower().replace("_", "-").split("-")[0]
        if 2 <= len(code) <= 3 and code.isalpha():
            return code
    return detect_language(text)
