"""Fetch the page a summary-only entry links to and keep its main text (``full_text: true``).

Many feeds carry one sentence per story, too little to score. For feeds marked ``full_text`` the
linked page is fetched under the same limits and request-forgery guard as the feed, and
trafilatura extracts the article body. An article already in the store reuses its stored text,
so a feed that changes does not re-download every page it lists; at most
``fetch.full_text_max_pages`` pages are fetched per feed and cycle.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import Engine, select

from pipeline import schema
from pipeline.fetch import FetchError, FetchResult
from pipeline.records import RawItem, stable_article_id
from pipeline.urls import canonical_url

log = logging.getLogger(__name__)

PageFetcher = Callable[[str], Awaitable[FetchResult]]
_HTML_TYPES = ("html", "xml")


def extract_main_text(page: bytes, url: str) -> str:
    """Return the main text of an HTML page, or "" when trafilatura finds none."""
    import trafilatura  # imported here: it is slow to import and only full-text feeds need it

    if not log.isEnabledFor(logging.DEBUG):  # --debug still shows them
        # trafilatura logs ERROR/WARNING lines ("empty HTML tree", "discarding data") for pages
        # it cannot use; the outcome is already a feed problem ("no main text found"), and in a
        # cron log those lines read as failures (QA3 #9). Its CRITICAL lines still show.
        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        text = trafilatura.extract(
            page, url=url, include_comments=False, include_tables=False, favor_precision=True
        )
    except Exception as exc:  # noqa: BLE001 - a page trafilatura chokes on keeps its summary
        log.info("full text extraction failed for %s: %s", url, exc)
        return ""
    return str(text or "").strip()


def stored_texts(engine: Engine, urls: Sequence[str]) -> dict[str, str]:
    """Map entry URLs to the text already stored for their article, to skip refetching."""
    ids = {}
    for url in urls:
        canonical = canonical_url(url)
        if canonical:
            ids[stable_article_id(canonical, "")] = url
    if not ids:
        return {}
    a = schema.articles
    with engine.connect() as conn:
        rows = conn.execute(select(a.c.article_id, a.c.text).where(a.c.article_id.in_(list(ids))))
        return {ids[article_id]: text for article_id, text in rows}


async def add_full_text(
    items: list[RawItem],
    candidates: frozenset[int],
    *,
    fetch_page: PageFetcher,
    engine: Engine | None,
    max_pages: int,
) -> tuple[list[RawItem], tuple[str, ...]]:
    """Replace summary-only items' text with their page's main text where it is longer."""
    wanted = [i for i in sorted(candidates) if items[i].url]
    urls = [str(items[i].url) for i in wanted]
    known = await asyncio.to_thread(stored_texts, engine, urls) if engine and urls else {}
    result, problems, fetched = list(items), [], 0
    for index in wanted:
        item = items[index]
        url = str(item.url)
        if len(known.get(url, "")) > len(item.text):
            result[index] = dataclasses.replace(item, text=known[url])
            continue
        if fetched >= max_pages:
            problems.append(f"full text: page limit of {max_pages} reached, summaries kept")
            break
        fetched += 1
        text, problem = await _page_text(fetch_page, url)
        if problem:
            problems.append(f"full text for {url[:80]}: {problem}")
        if len(text) > len(item.text):
            result[index] = dataclasses.replace(item, text=text)
    return result, tuple(problems)


async def _page_text(fetch_page: PageFetcher, url: str) -> tuple[str, str | None]:
    try:
        page = await fetch_page(url)
    except FetchError as exc:
        return "", str(exc)
    content_type = (page.content_type or "text/html").lower()
    if not any(kind in content_type for kind in _HTML_TYPES):
        return "", f"not an HTML page ({content_type[:40]})"
    text = await asyncio.to_thread(extract_main_text, page.body, page.url)
    return text, None if text else "no main text found"
