"""Open the article store and make every write to it, one transaction per batch.

The same input written twice changes nothing: articles are keyed by a stable id and by their
content hash, raw payloads by origin and payload hash, scores by model version and content.
Two workers writing at once cannot duplicate anything either (issue 6): every insert is an
``INSERT ... ON CONFLICT``, and writes that decide from what they read (dedup by content, the
derived totals) run under the store's write lock (``pipeline.engine.write``). A batch is one
transaction, so a worker killed mid-batch leaves nothing of it behind. Scores live in
``pipeline.scorestore`` and are re-exported here.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, text, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from pipeline import db, runlog, schema, score_claims, search, totals
from pipeline.engine import (
    WRITE_LOCK,
    execute_rows,
    insert_for,
    insert_returning,
    make_engine,
    safe_url,
    write,
)
from pipeline.errors import StoreError
from pipeline.normalise import UNDATED
from pipeline.records import Article, RawItem
from pipeline.scorestore import articles_to_score, save_scores

log = logging.getLogger(__name__)
# A seed file's origin: "<folder label>/<path>.txt|.md|.json|.jsonl", a record with "#<n>".
_SEED_ORIGIN = re.compile(r"/[^/]+\.(?:txt|md|json|jsonl)(?:#\d+)?$")
_CHUNK = 500
__all__ = [
    "UpsertResult",
    "articles_to_score",
    "cannot_open",
    "finish_run",
    "missing_sqlite_file",
    "now_utc",
    "open_store",
    "payload_rows",
    "record_source_error",
    "save_label",
    "save_payload_rows",
    "save_raw_items",
    "save_scores",
    "start_run",
    "upsert_articles",
]


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What one batch of articles did to the store."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    stored: tuple[Article, ...] = ()  # the added and updated articles, as written
    undated: int = 0  # of the added and updated: placed on the day first seen, having no date


def open_store(url: str, *, create: bool = True) -> Engine:
    """Connect to the store; create the schema in an empty database, refuse foreign revisions.

    ``create=False`` (the dashboard, the source of ``db copy``) never creates anything, not even
    an empty SQLite file. A store at an older revision is refused either way, with the
    ``policy-risk db upgrade`` command in the message.
    """
    missing = None if create else missing_sqlite_file(url)
    if missing is not None:  # connecting would create the file (and its folder)
        raise StoreError(
            f"no database at {missing} ({safe_url(url)}); fill it with `policy-risk run`"
        )
    engine = make_engine(url)
    try:
        db.ensure_schema(engine, url, create=create)
    except DBAPIError as exc:
        engine.dispose()
        raise cannot_open(url, exc) from None
    except StoreError:
        engine.dispose()
        raise
    return engine


def cannot_open(url: str, exc: DBAPIError) -> StoreError:
    """The one-line error for a database that refused the connection (password masked)."""
    return StoreError(f"cannot open database {safe_url(url)}: {exc.orig}")


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist (None for other stores and in-memory)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # make_engine names the bad URL
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def now_utc() -> datetime:
    """Return the current time in UTC; every stored timestamp uses it."""
    return datetime.now(UTC)


def save_raw_items(engine: Engine, items: Sequence[RawItem]) -> int:
    """Store payloads exactly as received, before parsing, so they can be re-processed later."""
    return save_payload_rows(engine, payload_rows(items))


def payload_rows(items: Sequence[RawItem]) -> list[dict[str, Any]]:
    """The ``raw_items`` rows of these items (CPU only: a long ingest builds them in workers)."""
    return [_raw_row(item) for item in items]


def save_payload_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Insert rows from ``payload_rows`` (those already stored are skipped); return how many
    were new."""
    unique = list({(r["origin"], r["payload_hash"]): r for r in rows}.values())
    if not unique:
        return 0

    def work(conn: Connection) -> int:
        t = schema.raw_items
        stmt = insert_for(conn, t).on_conflict_do_nothing(
            index_elements=[t.c.origin, t.c.payload_hash]
        )
        return len(insert_returning(conn, stmt.returning(t.c.raw_id), unique))

    return write(engine, work)


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
    return {
        "origin": item.origin,
        "source": item.source,
        "payload": payload,
        "payload_hash": sha256(payload.encode("utf-8")).hexdigest(),
        "fetched_at": item.fetched_at or now_utc(),
    }


def upsert_articles(
    engine: Engine,
    batch: Sequence[Article],
    *,
    run_id: int | None = None,
    seed_origins: Collection[str] | None = None,
) -> UpsertResult:
    """Insert new articles, update changed ones, and keep every source that carried each story
    (``run_id``: add the counts to that run's row in the same transaction; ``seed_origins``:
    a batch of seeds, with the origins of every file of this seed read: a seed file without a
    URL is one article, see ``_same_file``, and a renamed one keeps it, ``_move_origins``)."""
    if not batch:
        return UpsertResult()

    def work(conn: Connection) -> UpsertResult:
        result = _upsert(conn, batch, seed_origins)
        runlog.add_counts(
            conn, run_id, articles_added=result.added, articles_updated=result.updated
        )
        return result

    return write(engine, work, lock=WRITE_LOCK)


def _upsert(
    conn: Connection, batch: Sequence[Article], seed_origins: Collection[str] | None = None
) -> UpsertResult:
    by_id = _existing_by_id(conn, [a.article_id for a in batch])
    by_hash = _existing_by_hash(conn, [a.content_hash for a in batch])
    by_file = _same_file(conn, batch, by_id, by_hash) if seed_origins is not None else {}
    batch = _own_file_first(batch, by_id, seed_origins)
    origins = {s.article_id: s.origin for s in (*by_id.values(), *by_hash.values())}
    added: list[Article] = []
    updated: dict[str, Article] = {}
    unchanged = duplicates = 0
    carried: list[tuple[str, Article]] = []
    seen_ids: dict[str, str] = {}
    for article in batch:
        target = _target_id(article, by_id, by_hash, seen_ids)
        edited = by_file.get(article.origin) if target == article.article_id else None
        if edited is not None and edited.article_id not in seen_ids:
            target = edited.article_id  # the seed file's article, under its first id
            article = replace(article, article_id=target)
            by_id[target] = edited
        carried.append((target, article))
        if target != article.article_id or article.article_id in seen_ids:
            duplicates += 1
        elif article.article_id in by_id:
            found = by_id[article.article_id]
            moved = _file_gone(found.origin, seed_origins)  # renamed: the same file's text
            if found.content_hash == article.content_hash or not (
                moved or _replaces(article, found)
            ):
                unchanged += 1
            else:
                updated[article.article_id] = article
        else:
            added.append(article)
        seen_ids.setdefault(article.article_id, article.content_hash)
        # key 0: stored by this batch, its key is taken below (real keys start at 1)
        by_hash.setdefault(article.content_hash, _Stored(target, article.content_hash, 0))
    keys = {aid: found.key for aid, found in by_id.items()}
    keys |= {found.article_id: found.key for found in by_hash.values() if found.key}
    keys |= _insert_articles(conn, added)
    _update_articles(conn, list(updated.values()))
    _move_origins(conn, carried, origins, seed_origins, keys)
    _add_sources(conn, [_source_row(keys[target], article) for target, article in carried])
    stored = (*added, *updated.values())
    undated = sum(UNDATED in article.date_flags for article in stored)
    return UpsertResult(len(added), len(updated), unchanged, duplicates, stored, undated)


@dataclass(frozen=True, slots=True)
class _Stored:
    """What de-duplication needs of a stored article: its id, content and integer key, and
    where its text came from and its date (whether another copy may replace it)."""

    article_id: str
    content_hash: str
    key: int
    origin: str = ""
    page_date: date | None = None


def _replaces(article: Article, stored: _Stored) -> bool:
    """Whether this copy's text replaces the stored one.

    The source that supplied the stored text (the same feed, the same seed file) may always
    correct it. Another source carrying the same story (syndication: one URL in two feeds)
    replaces it only with a copy dated later; otherwise each cycle would rewrite the article
    to whichever feed came last in the config, and back, and re-score it every time.
    """
    if article.origin == stored.origin:
        return True
    if article.page_date is None:
        return False
    return stored.page_date is None or article.page_date > stored.page_date


def _file_gone(origin: str, seed_origins: Collection[str] | None) -> bool:
    """Whether ``origin`` names a seed file that this seed read no longer has (renamed, moved,
    or its folder renamed): the file that carries the same article now is its successor."""
    return (
        seed_origins is not None
        and origin not in seed_origins
        and _SEED_ORIGIN.search(origin) is not None
    )


def _own_file_first(
    batch: Sequence[Article], by_id: dict[str, _Stored], seed_origins: Collection[str] | None
) -> list[Article]:
    """Put first each stored article's own file: the file that supplied its text, or, when that
    file is gone, a file carrying the very same text (it was renamed). Only the first carrier
    of an article in a batch may change its text, and it takes the origin (``_move_origins``),
    so another file with the same URL (one story from two wires) that sorts earlier neither
    replaces a renamed file's text nor shadows its later edits (QA 5 #11). Feed batches keep
    their order.
    """
    if seed_origins is None:
        return list(batch)

    def own(article: Article) -> bool:
        found = by_id.get(article.article_id)
        return found is not None and (
            found.origin == article.origin
            or (
                found.content_hash == article.content_hash
                and _file_gone(found.origin, seed_origins)
            )
        )

    return sorted(batch, key=lambda article: not own(article))


def _move_origins(
    conn: Connection,
    carried: Sequence[tuple[str, Article]],
    origins: dict[str, str],
    seed_origins: Collection[str] | None,
    keys: dict[str, int],
) -> None:
    """Give a stored article whose seed file is gone the origin of the first file that now
    carries it (the one whose text ``_upsert`` kept), so a later edit of that file finds it
    (``_same_file``) and may correct it. Each outlet's source row follows its own file when
    that file was renamed, never another outlet's file (QA 6b #3)."""
    moves: dict[str, str] = {}
    for target, article in carried:
        if target in origins and _file_gone(origins[target], seed_origins):
            moves.setdefault(target, article.origin)
    a = schema.articles
    for article_id, origin in sorted(moves.items()):
        conn.execute(update(a).where(a.c.article_id == article_id).values(origin=origin))
    if seed_origins is not None:
        _follow_renamed_sources(conn, carried, keys, seed_origins)


def _follow_renamed_sources(
    conn: Connection,
    carried: Sequence[tuple[str, Article]],
    keys: dict[str, int],
    seed_origins: Collection[str],
) -> None:
    """Point an outlet's source row at the file that carries its copy now, when the file it
    names is gone (renamed or moved); a row whose outlet no file carries keeps its last path."""
    wanted: dict[tuple[int, str], str] = {}
    for target, article in carried:
        if keys.get(target):
            wanted.setdefault((keys[target], article.source), article.origin)
    if not wanted:
        return
    s = schema.article_sources
    found = conn.execute(
        select(s.c.article_key, s.c.source, s.c.origin).where(
            s.c.article_key.in_(sorted({key for key, _ in wanted}))
        )
    ).all()
    for key, source, origin in found:
        new = wanted.get((key, source))
        if new is not None and new != origin and _file_gone(origin, seed_origins):
            stmt = update(s).where(s.c.article_key == key, s.c.source == source)
            conn.execute(stmt.values(origin=new))


def _target_id(
    article: Article, by_id: dict[str, _Stored], by_hash: dict[str, _Stored], seen: dict[str, str]
) -> str:
    if article.article_id in by_id or article.article_id in seen:
        return article.article_id
    found = by_hash.get(article.content_hash)
    return found.article_id if found else article.article_id


def _same_file(
    conn: Connection,
    batch: Sequence[Article],
    by_id: dict[str, _Stored],
    by_hash: dict[str, _Stored],
) -> dict[str, _Stored]:
    """The stored article of each edited seed file in ``batch``, by origin.

    A seed file without a URL is one article whose id comes from its content, so fixing a typo
    in it gave a new id and a second copy of the story. An article of such a file (origin
    without a ``#record`` number; records move when a file gains one) that is neither stored
    under its id nor its content is looked up by origin: found, it is that file's article, and
    the edit updates it. One lookup per batch holding an edited or new seed file, in the
    partial index of articles without a URL (``schema.SEED_ORIGIN``).
    """
    wanted = {
        a.origin
        for a in batch
        if a.url is None
        and "#" not in a.origin
        and a.article_id not in by_id
        and a.content_hash not in by_hash
    }
    if not wanted:
        return {}
    a = schema.articles
    stmt = (
        select(a.c.article_id, a.c.content_hash, a.c.article_key, a.c.origin, a.c.page_date)
        .where(a.c.origin.in_(sorted(wanted)), a.c.url.is_(None))
        .order_by(a.c.updated_at)  # legacy duplicates of one file: the latest one wins
    )
    return {row.origin: _Stored(*row) for row in conn.execute(stmt)}


def _existing_by_id(conn: Connection, ids: list[str]) -> dict[str, _Stored]:
    return {found.article_id: found for found in _stored(conn, schema.articles.c.article_id, ids)}


def _existing_by_hash(conn: Connection, hashes: list[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    for stored in _stored(conn, schema.articles.c.content_hash, hashes):
        found.setdefault(stored.content_hash, stored)  # the smallest id of equal contents
    return found


def _stored(conn: Connection, column: Any, values: list[str]) -> Iterator[_Stored]:
    """The stored articles whose ``column`` is among ``values``, a chunk at a time, by id."""
    a = schema.articles
    unique = sorted(set(values))
    for start in range(0, len(unique), _CHUNK):
        stmt = (
            select(a.c.article_id, a.c.content_hash, a.c.article_key, a.c.origin, a.c.page_date)
            .where(column.in_(unique[start : start + _CHUNK]))
            .order_by(a.c.article_id)
        )
        yield from (_Stored(*row) for row in conn.execute(stmt))


def _article_row(article: Article, key: int) -> dict[str, Any]:
    return {
        "article_id": article.article_id,
        "article_key": key,
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


def next_article_keys(conn: Connection, count: int) -> list[int]:
    """Take ``count`` new, increasing article keys (call inside the write transaction).

    SQLite: the write transaction holds the only write lock, so the keys after the largest one
    stored are free. PostgreSQL: a sequence, so concurrent writers never take the same key.
    """
    if count <= 0:
        return []
    if conn.dialect.name == "sqlite":
        top = conn.execute(select(func.max(schema.articles.c.article_key))).scalar_one() or 0
        return list(range(top + 1, top + 1 + count))
    stmt = text(f"SELECT nextval('{schema.ARTICLE_KEY_SEQUENCE}') FROM generate_series(1, :n)")
    return sorted(conn.execute(stmt, {"n": count}).scalars())


def _insert_articles(conn: Connection, added: list[Article]) -> dict[str, int]:
    """Insert new articles with fresh keys (in id order); return each one's key."""
    if not added:
        return {}
    ordered = sorted(added, key=lambda a: a.article_id)
    keys = dict(
        zip((a.article_id for a in ordered), next_article_keys(conn, len(ordered)), strict=True)
    )
    t = schema.articles
    stmt = insert_for(conn, t).on_conflict_do_nothing(index_elements=[t.c.article_id])
    execute_rows(conn, stmt, [_article_row(a, keys[a.article_id]) for a in ordered])
    search.flush_pending(conn)
    totals.add_score_keys(conn, keys.values())
    facts = {
        a.article_id: totals.Facts(
            a.event_date, a.source, a.language, a.content_hash, keys[a.article_id]
        )
        for a in added
    }
    totals.apply(conn, totals.State({}, {}), totals.State(facts, {}))  # the volume rows
    return keys


def _update_articles(conn: Connection, changed: list[Article]) -> None:
    """Rewrite changed articles and move their score totals to the new day, source or language.

    The new content has no scores yet: its score key goes back to '' so it is scored again,
    while its old scores keep counting until the new ones replace them.
    """
    if not changed:
        return
    before = totals.load_state(conn, [a.article_id for a in changed])
    stamp = now_utc()
    for article in sorted(changed, key=lambda a: a.article_id):
        row = _article_row(article, before.facts[article.article_id].key)
        for key in ("article_id", "article_key", "ingested_at"):
            row.pop(key)
        row.update(updated_at=stamp)
        conn.execute(
            update(schema.articles)
            .where(schema.articles.c.article_id == article.article_id)
            .values(**row)
        )
    after = totals.State(
        {
            a.article_id: totals.Facts(
                a.event_date, a.source, a.language, a.content_hash, before.facts[a.article_id].key
            )
            for a in changed
        },
        before.current,
    )
    totals.apply(conn, before, after)
    totals.reset_score_keys(conn, after, {a.article_id: "" for a in changed})


def _source_row(key: int, article: Article) -> dict[str, Any]:
    return {
        "article_key": key,
        "source": article.source,
        "origin": article.origin,
        "url": article.url,
        "first_seen_at": article.ingested_at,
    }


def _add_sources(conn: Connection, rows: list[dict[str, Any]]) -> None:
    unique = {(r["article_key"], r["source"]): r for r in rows}
    if unique:
        t = schema.article_sources
        stmt = insert_for(conn, t).on_conflict_do_nothing(
            index_elements=[t.c.article_key, t.c.source]
        )
        execute_rows(conn, stmt, [unique[k] for k in sorted(unique)])


def start_run(engine: Engine, kind: str = runlog.INGEST) -> int:
    """Record the start of a pipeline run and return its id; first close the rows of runs that
    were killed (``pipeline.runlog``). ``kind``: "run" ingests and scores, "score" only scores
    (``policy-risk score``), which readers of ingest runs leave out."""
    if kind not in runlog.RUN_KINDS:
        raise StoreError(f"unknown run kind {kind!r}")

    def work(conn: Connection) -> int:
        now = now_utc()
        _close_dead(conn, now)
        row = {"started_at": now, "status": "running", "heartbeat_at": now, "kind": kind}
        row |= {"host": runlog.this_host(), "pid": os.getpid()}
        result = conn.execute(insert(schema.runs).values(**row))
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    return write(engine, work)


def close_dead_runs(engine: Engine) -> int:
    """Close the runs that cannot still be running (``runlog.close_abandoned``) and drop their
    score claims; return how many were closed. Scoring calls it first: a run killed on this host
    must not keep its claimed articles from ``policy-risk score`` or a surviving run."""
    return write(engine, lambda conn: _close_dead(conn, now_utc()))


def _close_dead(conn: Connection, now: datetime) -> int:
    closed = runlog.close_abandoned(conn, now)
    if closed:
        log.warning("marked %d run(s) as interrupted: their process is gone", closed)
    score_claims.clear_dead(conn, now)  # what ended runs were scoring is anyone's again
    return closed


def record_source_error(engine: Engine, run_id: int, source: str, message: str) -> None:
    """Keep one source's failure with the run, so the summary and dashboard can show it."""
    row = {"run_id": run_id, "source": source, "message": message[:2000], "recorded_at": now_utc()}
    write(engine, lambda conn: conn.execute(insert(schema.run_errors).values(**row)))


def finish_run(engine: Engine, run_id: int, status: str, counts: dict[str, int]) -> None:
    """Close a run with its status and the counts given (a run's article counts are usually
    already there: its batches added them as they committed, ``pipeline.runlog.add_counts``)."""
    stmt = (
        update(schema.runs)
        .where(schema.runs.c.run_id == run_id)
        .values(finished_at=now_utc(), status=status, **counts)
    )
    write(engine, lambda conn: conn.execute(stmt))


def save_label(
    engine: Engine,
    article_id: str,
    signal: str,
    new_value: float,
    labelled_by: str,
    *,
    seen_hash: str | None = None,
) -> None:
    """Store an analyst's label correction with who, when, the value it replaces and the text
    it was given on (the article's content hash: training leaves the label out once it changes).

    ``seen_hash``: the content hash of the text the analyst read. If a run has changed the text
    since, nothing is stored and the error says so: the label would describe a text the store no
    longer holds (QA 6 #2)."""
    write(
        engine,
        lambda conn: _save_label(conn, article_id, signal, new_value, labelled_by, seen_hash),
    )


def _save_label(
    conn: Connection,
    article_id: str,
    signal: str,
    new_value: float,
    labelled_by: str,
    seen_hash: str | None,
) -> None:
    a, cs = schema.articles, schema.current_scores
    found = conn.execute(
        select(a.c.article_key, a.c.content_hash).where(a.c.article_id == article_id)
    ).first()
    if found is None:
        raise StoreError(f"no article with id {article_id!r}")
    key, content = found
    if seen_hash is not None and seen_hash != content:
        raise StoreError(
            "the article's text changed since it was shown (a run updated it); read the new "
            "text, then save the label again (nothing was saved)"
        )
    old = conn.execute(
        select(cs.c.value).where(cs.c.article_key == key).where(cs.c.signal == signal)
    ).scalar_one_or_none()
    conn.execute(
        insert(schema.labels).values(
            article_id=article_id,
            signal=signal,
            old_value=old,
            new_value=float(new_value),
            labelled_by=labelled_by[:100] or "analyst",
            labelled_at=now_utc(),
            content_hash=content,
        )
    )
