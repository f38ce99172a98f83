"""Recognise page furniture in copied web pages: breadcrumbs, captions, "read also" links, tags.

Each rule is a specific pattern, never mere shortness, so a one-line paragraph that is a real
sentence survives. Shared by the seed reader; pure functions, no I/O.
"""

from __future__ import annotations

import re

from pipeline.dates import parse_date_line

_SEPARATORS = "»›>/|"
_BREADCRUMB = re.compile(
    rf"^(?i:home|inicio|portada)\s*[{_SEPARATORS}]|\s[»›>]\s.*\s[»›>]\s|^[^.!?]{{1,60}}\s»\s"
)
_CREDIT_WORD = (
    r"(?i:photos?|fotos?|photograph|credits?|créditos?|images?|imagen|caption|pie de foto"
    r"|graphic|gráfico|infograf[íi]a|illustration|ilustración|video)"
)
# A caption starts with the credit word ("Foto: Cancillería") or ends with it after a sentence
# ("Nicolás Maduro in Caracas. Photo: Hemisphere Wire file").
_CAPTION = re.compile(
    rf"^{_CREDIT_WORD}\b[^.!?:]{{0,30}}:|^(?i:foto|photo)\s*/|^©"
    rf"|^[^.!?]{{1,200}}[.!?]\s+{_CREDIT_WORD}\s*:\s*[^.!?:]{{1,60}}$"
)
_READ_ALSO = re.compile(
    r"^(?i:(?:you\s+)?may\s+(?:also\s+)?read|(?:read|see)\s+(?:also|more)|also\s+read|related"
    r"|le[ae]\s+(?:también|además)|vea\s+también|ver\s+también|(?:le|te)\s+puede\s+interesar"
    r"|le\s+recomendamos|también\s+(?:puede|te\s+puede)\s+(?:leer|interesar))\s*:"
)
# Image alt text left behind by the copy: "mujeres migrantes y movilidad global 3",
# "urnas elecciones Barranquilla 2": starts lower case, no punctuation, ends in a number.
_ALT_TEXT = re.compile(r"[a-záéíóúñü][\wáéíóúñüÁÉÍÓÚÑÜ -]{0,78}?\s\d{1,3}")
BARE_URL = re.compile(r"(?i:https?://|www\.)\S+")
_HEADING = re.compile(r"^#{1,6}\s+")


def clean_body(
    lines: list[str], headlines: tuple[str, ...], site: str | None, *, join_wrapped: bool
) -> str:
    """Drop boilerplate lines and return the paragraphs separated by blank lines.

    ``join_wrapped`` joins consecutive lines into one paragraph (Markdown); a copied web page
    puts each paragraph on its own line, so there every line stays a paragraph.
    """
    keys = {_key(headline) for headline in headlines}
    paragraphs: list[list[str]] = []
    for raw in lines:
        heading = join_wrapped and bool(_HEADING.match(raw.strip()))
        line = _HEADING.sub("", raw.strip()) if heading else raw.strip()
        if not paragraphs or not line or heading or not join_wrapped:
            paragraphs.append([])
        if line and not is_boilerplate(line, keys, site):
            paragraphs[-1].append(" ".join(line.split()))
        if heading:
            paragraphs.append([])  # a heading is its own paragraph even without a blank line
    return "\n\n".join(" ".join(part) for part in paragraphs if part)


def is_boilerplate(line: str, headline_keys: set[str], site: str | None) -> bool:
    """Say whether a line is page furniture; each rule is a specific pattern, not mere shortness."""
    return bool(
        _key(line) in headline_keys
        or _BREADCRUMB.search(line)
        or _CAPTION.match(line)
        or _READ_ALSO.match(line)
        or BARE_URL.fullmatch(line)
        or (_ALT_TEXT.fullmatch(line) and len(line.split()) <= 10)
        or _is_tag_line(line, site)
        or parse_date_line(line)
    )


def _is_tag_line(line: str, site: str | None) -> bool:
    """Spot a tag line: short comma-separated names and topics, ending with the site name.

    Without a known site name, four or more such parts are needed: a subheading may hold a
    comma or two, a real sentence ends with punctuation.
    """
    parts = [part.strip() for part in line.split(",")]
    ends_with_site = bool(site) and parts[-1].casefold() == (site or "").casefold()
    return (
        len(parts) >= (2 if ends_with_site else 4)
        and len(line.split()) <= 35
        and all(part and len(part.split()) <= 6 for part in parts)
        and not re.search(r"[.!?;:](\s|$)", line)
    )


def _key(text: str) -> str:
    """Compare headlines ignoring case, spacing and curly quotes."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.casefold().split())
