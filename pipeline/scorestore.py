"""Score writes and the pending-work query; ``pipeline.store`` re-exports both.

Scores are history plus one current value per article and signal (STYLE 5.6). Saving a batch
also moves the derived totals and each article's score key in the same transaction, under the
write lock, so the overview never counts a score twice and a killed worker leaves no half batch.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, true
from sqlalchemy.engine import Connection

from pipeline import runlog, schema, score_claims, totals
from pipeline.engine import WRITE_LOCK, execute_rows, insert_for, write
from pipeline.errors import StoreError
from pipeline.records import Article, Score


def articles_to_score(
    engine: Engine,
    versions: dict[str, str],
    limit: int = 5000,
    exclude: Collection[str] = (),
    *,
    skip_claimed: bool = False,
    run_id: int | None = None,
) -> list[Article]:
    """Return articles lacking a current score from the given model version for some signal
    (leaving out the ids in ``exclude``: those already being scored; with ``skip_claimed``,
    also those another live run than ``run_id`` has claimed: ``pipeline.score_claims``).

    Candidates come from the score-key index: an article scored with exactly these versions on
    its current content carries their fingerprint, so only the others are looked at (new,
    changed, or scored by other models), which keeps each call fast however big the store is.
    The exact per-signal check then runs on those candidates only.
    """
    a, k = schema.articles, schema.article_score_keys
    wanted = totals.score_key(versions.items())
    found: list[Article] = []
    skip = [a.c.article_id.not_in(sorted(exclude))] if exclude else []
    if skip_claimed:
        skip.append(score_claims.unclaimed(a.c.article_id, run_id, datetime.now(UTC)))
    with engine.connect() as conn:
        for side in (k.c.score_key < wanted, k.c.score_key > wanted):
            if len(found) >= limit:
                break
            stmt = (
                select(a)
                .select_from(k.join(a, a.c.article_key == k.c.article_key))
                .where(side, _stale(versions), *skip)
                .order_by(k.c.score_key, k.c.article_key)
                .limit(limit - len(found))
            )
            found.extend(article_from_row(row._mapping) for row in conn.execute(stmt))
    return found


def _stale(versions: dict[str, str]) -> Any:
    """True when the article lacks a current score from one of ``versions`` on its content.

    Counted in one correlated subquery (at most one row per signal: the key is article and
    signal) rather than one NOT EXISTS per signal: PostgreSQL turns an OR of NOT EXISTS into
    hashed subplans that read every current score once it expects many candidates, which is
    exactly the case after a model update.
    """
    a, cs = schema.articles, schema.current_scores
    if not versions:
        return true()
    wanted = or_(*[and_(cs.c.signal == s, cs.c.model_version == v) for s, v in versions.items()])
    matching = (
        select(func.count())
        .where(cs.c.article_key == a.c.article_key, cs.c.content_hash == a.c.content_hash, wanted)
        .scalar_subquery()
    )
    return matching < len(versions)


def article_from_row(row: Any) -> Article:
    """Rebuild an Article from an ``articles`` row (shared by scoring and re-scoring)."""
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


def save_scores(
    engine: Engine,
    batch: Sequence[Score],
    hashes: dict[str, str],
    *,
    skip_current: bool = False,
    run_id: int | None = None,
) -> int:
    """Append scores to the history and make them the current value, in one transaction;
    return how many articles got a score saved.

    ``hashes`` gives the content hash each article had when it was scored: if the article
    changed since, the scores are kept but stay marked stale, so it is scored again.
    ``skip_current`` drops the scores an article already holds as current (same model version,
    same content): another run saved them first, so this one neither rewrites nor counts them.
    ``run_id`` adds the count to that run's row in the same transaction (``pipeline.runlog``).
    """
    if not batch:
        return 0
    return write(
        engine, lambda conn: _save(conn, batch, hashes, skip_current, run_id), lock=WRITE_LOCK
    )


def _score_row(score: Score, key: int, content: str) -> dict[str, Any]:
    return {
        "article_key": key,
        "signal": score.signal,
        "model_version": score.model_version,
        "content_hash": content,
        "value": float(score.value),
        "confidence": score.confidence,
        "explanation": score.explanation,
        "scored_at": score.scored_at,
    }


def _save(
    conn: Connection,
    batch: Sequence[Score],
    hashes: dict[str, str],
    skip_current: bool,
    run_id: int | None,
) -> int:
    """Write the batch (the last score of an article and signal wins) and move the totals;
    return how many articles got a score written.

    The skip is decided on the current scores read in this transaction, under the write lock,
    so of two runs saving the same scores exactly one writes and counts them.
    """
    before = totals.load_state(conn, [s.article_id for s in batch])
    missing = sorted({s.article_id for s in batch} - set(before.facts))
    if missing:
        raise StoreError(f"cannot save scores for unknown article(s): {', '.join(missing[:5])}")
    if skip_current:
        batch = [s for s in batch if not _is_current(before, s, hashes[s.article_id])]
    if not batch:
        return 0
    keyed: dict[tuple[int, str], dict[str, Any]] = {}
    after = totals.State(before.facts, {k: dict(v) for k, v in before.current.items()})
    for score in batch:
        row = _score_row(score, before.facts[score.article_id].key, hashes[score.article_id])
        keyed[row["article_key"], score.signal] = row
        after.current.setdefault(score.article_id, {})[score.signal] = totals.Current(
            row["value"], row["model_version"], row["content_hash"], row["scored_at"]
        )
    rows = [keyed[k] for k in sorted(keyed)]  # in key order: appended to the indexes
    history = insert_for(conn, schema.scores).on_conflict_do_nothing()
    execute_rows(conn, history, rows)
    _upsert_current(conn, rows)
    totals.apply(conn, before, after)
    old_keys, new_keys = totals.score_keys(before), totals.score_keys(after)
    changed = {k: v for k, v in new_keys.items() if old_keys.get(k) != v}
    totals.reset_score_keys(conn, after, changed)
    saved = len({s.article_id for s in batch})
    runlog.add_counts(conn, run_id, articles_scored=saved)
    return saved


def _is_current(state: totals.State, score: Score, content: str) -> bool:
    """Whether the store already holds this score's model version on this content as current."""
    held = state.current.get(score.article_id, {}).get(score.signal)
    return held is not None and (held.model_version, held.content_hash) == (
        score.model_version,
        content,
    )


def _upsert_current(conn: Connection, rows: list[dict[str, Any]]) -> None:
    cs = schema.current_scores
    stmt = insert_for(conn, cs)
    changing = ("value", "model_version", "content_hash", "confidence", "explanation", "scored_at")
    stmt = stmt.on_conflict_do_update(
        index_elements=[cs.c.article_key, cs.c.signal],
        set_={name: stmt.excluded[name] for name in changing},
    )
    execute_rows(conn, stmt, rows)
