"""The records that flow through the pipeline: RawItem -> Article -> Score."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item exactly as a source delivered it, before any cleaning.

    ``origin`` names where it came from (a seed path relative to its folder, or a feed name);
    ``page_date`` is the date the page or feed entry carries, ``event_date`` the date of the
    events it reports when the source could tell them apart (seeds can; feeds usually cannot).
    """

    origin: str
    source: str
    title: str
    text: str
    url: str | None = None
    language: str | None = None
    page_date: date | None = None
    event_date: date | None = None
    guid: str | None = None
    fetched_at: datetime | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A cleaned article, ready to score and store."""

    article_id: str
    title: str
    text: str
    source: str
    language: str
    url: str | None
    page_date: date | None
    event_date: date
    ingested_at: datetime
    content_hash: str
    origin: str = ""
    date_flags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Score:
    """One signal's score for one article, from one model version."""

    article_id: str
    signal: str
    value: float
    model_version: str
    scored_at: datetime
    confidence: str = "normal"
    explanation: str = ""


def content_hash(title: str, text: str) -> str:
    """Hash the normalised title and body so republished copies of a story collide."""
    normalised = " ".join(f"{title}\n{text}".lower().split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def stable_article_id(canonical_url: str | None, text_hash: str) -> str:
    """Derive the article id from its canonical URL, or from its content when it has none."""
    basis = f"url:{canonical_url}" if canonical_url else f"hash:{text_hash}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:24]
