"""Open the article store and make every write to it, one transaction per batch.

The same input written twice changes nothing: articles are keyed by a stable id and by their
content hash, raw payloads by origin and payload hash, scores by model version and content.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from pipeline import schema
from pipeline.errors import StoreError
from pipeline.records import Article, RawItem, Score

log = logging.getLogger(__name__)
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch of articles did to the store."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0


def open_store(url: str, *, create: bool = True) -> Engine:
    """Connect to the store, creating the schema on first use and refusing unknown schemas."""
    engine = _make_engine(url)
    try:
        with engine.begin() as conn:
            if create:
                schema.metadata.create_all(conn)
            _check_version(conn, url)
    except OperationalError as exc:
        raise StoreError(f"cannot open database {_safe_url(url)}: {exc.orig}") from None
    return engine


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(f"invalid database URL {_safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _check_version(conn: Connection, url: str) -> None:
    row = conn.execute(
        select(schema.schema_info.c.value).where(schema.schema_info.c.key == "schema_version")
    ).first()
    if row is None:
        conn.execute(
            insert(schema.schema_info).values(
                key="schema_version", value=str(schema.SCHEMA_VERSION)
            )
        )
        return
    if int(row[0]) > schema.SCHEMA_VERSION:
        raise StoreError(
            f"database {_safe_url(url)} is at schema version {row[0]}, newer than this program "
            f"knows ({schema.SCHEMA_VERSION}); upgrade policy-risk-monitor before writing to it"
        )


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before it reaches a message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def now_utc() -> datetime:
    """Return the current time in UTC; every stored timestamp uses it."""
    return datetime.now(UTC)


def save_raw_items(engine: Engine, items: Sequence[RawItem]) -> int:
    """Store payloads exactly as received, before parsing, so they can be re-processed later."""
    rows = [_raw_row(item) for item in items]
    if not rows:
        return 0
    with engine.begin() as conn:
        known = _existing_pairs(conn, rows)
        fresh = [r for r in rows if (r["origin"], r["payload_hash"]) not in known]
        unique = list({(r["origin"], r["payload_hash"]): r for r in fresh}.values())
        if unique:
            conn.execute(insert(schema.raw_items), unique)
    return len(unique)


def _raw_row(item: RawItem) -> dict[str, Any]:
    payload = json.dumps(
        {
            "title": item.title,
            "text": item.text,
            "url": item.url,
            "language": item.language,
            "page_date": item.page_date.isoformat() if item.page_date else None,
            "event_date": item.event_date.isoformat() if item.event_date else None,
            "guid": item.guid,
            "problems": list(item.problems),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    from hashlib import sha256

    return {
        "origin": item.origin,
        "source": item.source,
        "payload": payload,
        "payload_hash": sha256(payload.encode("utf-8")).hexdigest(),
        "fetched_at": item.fetched_at or now_utc(),
    }


def _existing_pairs(conn: Connection, rows: list[dict[str, Any]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    hashes = sorted({r["payload_hash"] for r in rows})
    for start in range(0, len(hashes), _CHUNK):
        chunk = hashes[start : start + _CHUNK]
        stmt = select(schema.raw_items.c.origin, schema.raw_items.c.payload_hash).where(
            schema.raw_items.c.payload_hash.in_(chunk)
        )
        found.update((o, h) for o, h in conn.execute(stmt))
    return found


def upsert_articles(engine: Engine, batch: Sequence[Article]) -> UpsertResult:
    """Insert new articles, update changed ones, and keep every source that carried each story."""
    if not batch:
        return UpsertResult()
    with engine.begin() as conn:
        by_id = _existing_by_id(conn, [a.article_id for a in batch])
        by_hash = _existing_by_hash(conn, [a.content_hash for a in batch])
        added, updated, unchanged, duplicates = [], [], 0, 0
        sources: list[dict[str, Any]] = []
        seen_ids: dict[str, str] = {}
        for article in batch:
            target = _target_id(article, by_id, by_hash, seen_ids)
            sources.append(_source_row(target, article))
            if target != article.article_id or article.article_id in seen_ids:
                duplicates += 1
            elif article.article_id in by_id:
                if by_id[article.article_id] == article.content_hash:
                    unchanged += 1
                else:
                    updated.append(article)
            else:
                added.append(article)
            seen_ids.setdefault(article.article_id, article.content_hash)
            by_hash.setdefault(article.content_hash, target)
        if added:
            conn.execute(insert(schema.articles), [_article_row(a) for a in added])
        for article in updated:
            _update_article(conn, article)
        _add_sources(conn, sources)
    return UpsertResult(len(added), len(updated), unchanged, duplicates)


def _target_id(
    article: Article, by_id: dict[str, str], by_hash: dict[str, str], seen: dict[str, str]
) -> str:
    if article.article_id in by_id or article.article_id in seen:
        return article.article_id
    return by_hash.get(article.content_hash, article.article_id)


def _existing_by_id(conn: Connection, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), _CHUNK):
        stmt = select(schema.articles.c.article_id, schema.articles.c.content_hash).where(
            schema.articles.c.article_id.in_(unique[start : start + _CHUNK])
        )
        found.update({i: h for i, h in conn.execute(stmt)})
    return found


def _existing_by_hash(conn: Connection, hashes: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    unique = sorted(set(hashes))
    for start in range(0, len(unique), _CHUNK):
        stmt = select(schema.articles.c.content_hash, schema.articles.c.article_id).where(
            schema.articles.c.content_hash.in_(unique[start : start + _CHUNK])
        )
        for content, article_id in conn.execute(stmt):
            found.setdefault(content, article_id)
    return found


def _article_row(article: Article) -> dict[str, Any]:
    return {
        "article_id": article.article_id,
        "title": article.title,
        "text": article.text,
        "source": article.source,
        "language": article.language,
        "url": article.url,
        "page_date": article.page_date,
        "event_date": article.event_date,
        "ingested_at": article.ingested_at,
        "updated_at": article.ingested_at,
        "content_hash": article.content_hash,
        "origin": article.origin,
        "date_flags": ",".join(article.date_flags),
    }


def _update_article(conn: Connection, article: Article) -> None:
    row = _article_row(article)
    for key in ("article_id", "ingested_at"):
        row.pop(key)
    row["updated_at"] = now_utc()
    conn.execute(
        update(schema.articles)
        .where(schema.articles.c.article_id == article.article_id)
        .values(**row)
    )


def _source_row(article_id: str, article: Article) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "source": article.source,
        "origin": article.origin,
        "url": article.url,
        "first_seen_at": article.ingested_at,
    }


def _add_sources(conn: Connection, rows: list[dict[str, Any]]) -> None:
    unique = list({(r["article_id"], r["source"]): r for r in rows}.values())
    known: set[tuple[str, str]] = set()
    ids = sorted({r["article_id"] for r in unique})
    for start in range(0, len(ids), _CHUNK):
        stmt = select(schema.article_sources.c.article_id, schema.article_sources.c.source).where(
            schema.article_sources.c.article_id.in_(ids[start : start + _CHUNK])
        )
        known.update((a, s) for a, s in conn.execute(stmt))
    fresh = [r for r in unique if (r["article_id"], r["source"]) not in known]
    if fresh:
        conn.execute(insert(schema.article_sources), fresh)


def articles_to_score(engine: Engine, versions: dict[str, str], limit: int = 5000) -> list[Article]:
    """Return articles lacking a current score from the given model version for some signal."""
    a, cs = schema.articles, schema.current_scores
    stale = None
    for signal, version in versions.items():
        scored = (
            select(cs.c.article_id)
            .where(cs.c.signal == signal)
            .where(cs.c.model_version == version)
            .where(cs.c.article_id == a.c.article_id)
            .where(cs.c.content_hash == a.c.content_hash)
        )
        clause = ~scored.exists()
        stale = clause if stale is None else (stale | clause)
    stmt = select(a).order_by(a.c.article_id).limit(limit)
    if stale is not None:
        stmt = stmt.where(stale)
    with engine.connect() as conn:
        return [_article_from_row(row._mapping) for row in conn.execute(stmt)]


def _article_from_row(row: Any) -> Article:
    return Article(
        article_id=row["article_id"],
        title=row["title"],
        text=row["text"],
        source=row["source"],
        language=row["language"],
        url=row["url"],
        page_date=row["page_date"],
        event_date=row["event_date"],
        ingested_at=row["ingested_at"],
        content_hash=row["content_hash"],
        origin=row["origin"],
        date_flags=tuple(f for f in (row["date_flags"] or "").split(",") if f),
    )


def save_scores(engine: Engine, batch: Sequence[Score], hashes: dict[str, str]) -> int:
    """Append scores to the history and make them the current value, in one transaction."""
    if not batch:
        return 0
    rows = [_score_row(s, hashes[s.article_id]) for s in batch]
    with engine.begin() as conn:
        _insert_missing_history(conn, rows)
        keys = [(r["article_id"], r["signal"]) for r in rows]
        _delete_current(conn, keys)
        conn.execute(insert(schema.current_scores), rows)
    return len(rows)


def _score_row(score: Score, content: str) -> dict[str, Any]:
    return {
        "article_id": score.article_id,
        "signal": score.signal,
        "model_version": score.model_version,
        "content_hash": content,
        "value": float(score.value),
        "confidence": score.confidence,
        "explanation": score.explanation,
        "scored_at": score.scored_at,
    }


def _insert_missing_history(conn: Connection, rows: list[dict[str, Any]]) -> None:
    s = schema.scores
    ids = sorted({r["article_id"] for r in rows})
    known: set[tuple[str, str, str, str]] = set()
    for start in range(0, len(ids), _CHUNK):
        stmt = select(s.c.article_id, s.c.signal, s.c.model_version, s.c.content_hash).where(
            s.c.article_id.in_(ids[start : start + _CHUNK])
        )
        known.update(tuple(r) for r in conn.execute(stmt))
    key = ("article_id", "signal", "model_version", "content_hash")
    fresh = [r for r in rows if tuple(r[k] for k in key) not in known]
    if fresh:
        conn.execute(insert(s), fresh)


def _delete_current(conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
    cs = schema.current_scores
    by_signal: dict[str, list[str]] = {}
    for article_id, signal in keys:
        by_signal.setdefault(signal, []).append(article_id)
    for signal, ids in by_signal.items():
        for start in range(0, len(ids), _CHUNK):
            conn.execute(
                cs.delete()
                .where(cs.c.signal == signal)
                .where(cs.c.article_id.in_(ids[start : start + _CHUNK]))
            )


def start_run(engine: Engine) -> int:
    """Record the start of a pipeline run and return its id."""
    with engine.begin() as conn:
        result = conn.execute(insert(schema.runs).values(started_at=now_utc(), status="running"))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def record_source_error(engine: Engine, run_id: int, source: str, message: str) -> None:
    """Keep one source's failure with the run, so the summary and dashboard can show it."""
    with engine.begin() as conn:
        conn.execute(
            insert(schema.run_errors).values(
                run_id=run_id, source=source, message=message[:2000], recorded_at=now_utc()
            )
        )


def finish_run(engine: Engine, run_id: int, status: str, counts: dict[str, int]) -> None:
    """Close a run with its status and counts."""
    with engine.begin() as conn:
        conn.execute(
            update(schema.runs)
            .where(schema.runs.c.run_id == run_id)
            .values(finished_at=now_utc(), status=status, **counts)
        )


def save_label(
    engine: Engine, article_id: str, signal: str, new_value: float, labelled_by: str
) -> None:
    """Store an analyst's label correction with who, when and the value it replaces."""
    cs = schema.current_scores
    with engine.begin() as conn:
        exists = conn.execute(
            select(func.count())
            .select_from(schema.articles)
            .where(schema.articles.c.article_id == article_id)
        ).scalar_one()
        if not exists:
            raise StoreError(f"no article with id {article_id!r}")
        old = conn.execute(
            select(cs.c.value).where(cs.c.article_id == article_id).where(cs.c.signal == signal)
        ).scalar_one_or_none()
        conn.execute(
            insert(schema.labels).values(
                article_id=article_id,
                signal=signal,
                old_value=old,
                new_value=float(new_value),
                labelled_by=labelled_by[:100] or "analyst",
                labelled_at=now_utc(),
            )
        )
