"""Detect an article's language when its source does not declare it."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

SUPPORTED_LANGUAGES = ("en", "es")
UNKNOWN = "und"
# The codes a declared language must name (ISO 639-1). Anything else is detected from the text:
# a typo such as "sp" would otherwise become a language of its own, outside the models' two.
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy
    hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li
    ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa
    pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th
    ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)


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


def declared_code(declared: str | None) -> str | None:
    """The ISO 639-1 code a declared language tag names (``es-CO``, ``ES_co`` -> ``es``), or
    None when it names none (``sp``, ``spa``, ``english``)."""
    if not declared:
        return None
    code = declared.strip().lower().replace("_", "-").split("-")[0]
    return code if code in ISO_639_1 else None


def normalise_language(declared: str | None, text: str) -> str:
    """Use a declared language tag when it names an ISO 639-1 code, else detect it."""
    return declared_code(declared) or detect_language(text)
