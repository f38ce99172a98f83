"""Keep the derived tables (daily signal totals, per-version counts, score keys) exact.

The overview of a million articles cannot afford to join every current score to its article on
each dashboard render (issue 6), so ``daily_signal_totals`` holds per-day count and sum of every
current score, keyed by what the dashboard filters on: day, signal, source, language and the
article's relevance bucket. The pseudo-signal ``VOLUME`` counts every article once, scored or
not and relevant or not (always in bucket ``UNGATED``), so article counts need no scan of the
articles either. Writers never add blindly: they
read the affected articles' state before the write, work out the state after it, and apply
the difference, so a re-scored or edited article moves its contribution instead of adding it
twice. The caller does this inside its write transaction, under the write lock, so the totals
commit or vanish with the rows.

The relevance gate ``relevance >= t`` is answered from the buckets whenever ``t`` is a multiple
of 1/20 (0.5, 0.55, ...): bucket ``b`` holds the articles with ``b/20 <= relevance < (b+1)/20``,
computed with the same float comparisons the detailed query makes, and articles without a
relevance score sit in ``UNGATED`` (they always pass, as in the detailed query).

The EPU share view counts articles whose risk on a signal is at least a threshold on the same
grid. Which formula turns a score into risk depends on the signal's kind in ``config.yaml``, so
each row counts both (revision 0007): ``risk_ge_bb`` how many of its scores have
``value >= bb/20`` and ``tone_ge_bb`` how many have ``(1 - value) / 2 >= bb/20``, again with the
float comparisons the detailed query makes. Rows without share counts to add (a new article's
volume row) are written without those columns, through a narrower statement.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import accumulate
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    select,
    table,
    update,
)
from sqlalchemy.engine import Connection

from pipeline import schema
from pipeline.engine import execute_rows, insert_for
from pipeline.examples import RELEVANCE

STEPS = schema.GRID_STEPS
UNGATED = 99
VOLUME = "#articles"  # pseudo-signal: every article once, scored or not (no signal name has '#')
_CHUNK = 500
DailyKey = tuple[date, str, str, str, int]
# A row's change: (n, total, risk_ge_00..20, tone_ge_00..20), see the module docstring.
Tally = tuple[float, ...]
_SHARE_COLUMNS = (*schema.RISK_AT_LEAST, *schema.TONE_AT_LEAST)
_WIDTH = 2 + len(_SHARE_COLUMNS)
_ZERO: Tally = (0,) * _WIDTH
_RISK_AT, _TONE_AT = 2, 2 + len(schema.RISK_AT_LEAST)  # where each run of share columns starts
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Current:
    """One current score as the totals see it."""

    value: float
    model_version: str
    content_hash: str
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class Facts:
    """The article fields that place its scores in the totals."""

    day: date
    source: str
    language: str
    content_hash: str
    key: int  # articles.article_key, which keys its rows in the per-article tables


@dataclass(slots=True)
class State:
    """Articles and their current scores, before or after a write."""

    facts: dict[str, Facts]
    current: dict[str, dict[str, Current]]


def relevance_bucket(value: float | None) -> int:
    """Place a relevance score in its bucket: the largest b with value >= b/20."""
    if value is None:
        return UNGATED
    bucket = min(max(int(value * STEPS), 0), STEPS)
    while bucket < STEPS and value >= (bucket + 1) / STEPS:
        bucket += 1
    while bucket > 0 and value < bucket / STEPS:
        bucket -= 1
    return bucket


def grid_bucket(value: float) -> int:
    """The largest b in 0..20 with ``value >= b/20``, or -1 when the value is below 0."""
    if not value >= 0.0:
        return -1
    return relevance_bucket(value)


def share_buckets(value: float) -> tuple[int, int]:
    """The grid buckets of a score read as a risk (itself) and as a tone (its risk (1 - v) / 2)."""
    return grid_bucket(value), grid_bucket((1.0 - value) / 2.0)


def share_counts(value: float) -> list[int]:
    """One score's contribution to the share columns: 1 where its risk reaches the step."""
    high, low = share_buckets(value)
    size = STEPS + 1
    return [1 if b <= high else 0 for b in range(size)] + [
        1 if b <= low else 0 for b in range(size)
    ]


def threshold_bucket(threshold: float) -> int | None:
    """Return b when ``threshold`` is exactly b/20 (the totals can gate on it), else None."""
    bucket = round(threshold * STEPS)
    return bucket if 0 <= bucket <= STEPS and bucket / STEPS == threshold else None


def score_key(pairs: Iterable[tuple[str, str]]) -> str:
    """Fingerprint a set of (signal, model version) pairs; '' means nothing scored yet."""
    items = sorted(set(pairs))
    if not items:
        return ""
    joined = "\n".join(f"{signal}={version}" for signal, version in items)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def load_state(conn: Connection, ids: Sequence[str]) -> State:
    """Read the facts and current scores of the given articles."""
    a, cs = schema.articles, schema.current_scores
    state = State({}, {})
    unique = sorted(set(ids))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        facts = select(
            a.c.article_id,
            a.c.event_date,
            a.c.source,
            a.c.language,
            a.c.content_hash,
            a.c.article_key,
        )
        by_key: dict[int, str] = {}
        for aid, day, source, language, content, key in conn.execute(
            facts.where(a.c.article_id.in_(chunk))
        ):
            state.facts[aid] = Facts(day, source, language, content, key)
            by_key[key] = aid
        if not by_key:
            continue
        scores = select(
            cs.c.article_key,
            cs.c.signal,
            cs.c.value,
            cs.c.model_version,
            cs.c.content_hash,
            cs.c.scored_at,
        ).where(cs.c.article_key.in_(sorted(by_key)))
        for key, signal, value, version, content, scored_at in conn.execute(scores):
            stamp = scored_at if scored_at.tzinfo else scored_at.replace(tzinfo=UTC)  # SQLite
            current = state.current.setdefault(by_key[key], {})
            current[signal] = Current(value, version, content, stamp)
    return state


def apply(conn: Connection, before: State, after: State) -> None:
    """Move the totals from ``before`` to ``after`` for the articles either state names.

    A new article is a move from ``State({}, {})``: it adds its ``VOLUME`` row.
    """
    daily = _subtract(_daily(after), _daily(before))
    _increment_daily(conn, {k: v for k, v in daily.items() if any(v)})
    versions = _subtract_versions(_versions(after), _versions(before))
    _increment_versions(conn, versions, _last_scored(after))


def score_keys(state: State) -> dict[str, str]:
    """Each article's key: the (signal, version) pairs scored on its current content."""
    keys = {}
    for aid, facts in state.facts.items():
        current = state.current.get(aid, {})
        pairs = [
            (s, c.model_version) for s, c in current.items() if c.content_hash == facts.content_hash
        ]
        keys[aid] = score_key(pairs)
    return keys


def _daily(state: State) -> dict[DailyKey, Tally]:
    """Each totals row's sums for this state; the share columns as ``share_counts`` sums them.

    A score adds 1 to every step up to its grid bucket, so each row first counts its scores per
    bucket (two additions per score instead of 42) and turns the counts into "at or above"
    sums once at the end: a tenth of the writer's CPU went to those additions.
    """
    sums: dict[DailyKey, list[float]] = {}
    for aid, facts in state.facts.items():
        scores = state.current.get(aid, {})
        gate = scores.get(RELEVANCE)
        bucket = relevance_bucket(gate.value if gate else None)
        # Volume counts every article, relevant or not: one fixed bucket, so scoring an
        # article never moves its volume row.
        rows: list[tuple[str, int, float | None]] = [(VOLUME, UNGATED, None)]
        rows += [(signal, bucket, score.value) for signal, score in scores.items()]
        for signal, row_bucket, value in rows:
            key = (facts.day, signal, facts.source, facts.language, row_bucket)
            tally = sums.get(key)
            if tally is None:
                tally = sums[key] = [0] * _WIDTH
            tally[0] += 1
            if value is not None:
                tally[1] += value
                high, low = share_buckets(value)
                if high >= 0:
                    tally[_RISK_AT + high] += 1
                if low >= 0:
                    tally[_TONE_AT + low] += 1
    for tally in sums.values():
        if not any(tally[_RISK_AT:]):  # a volume row, or scores below every step
            continue
        for first in (_RISK_AT, _TONE_AT):
            at_or_above = list(accumulate(tally[first + STEPS : first - 1 : -1]))
            tally[first : first + STEPS + 1] = at_or_above[::-1]
    return {key: tuple(tally) for key, tally in sums.items()}


def _subtract(
    after: Mapping[DailyKey, Tally], before: Mapping[DailyKey, Tally]
) -> dict[DailyKey, Tally]:
    out = dict(after)  # most writes are new articles: nothing to subtract
    for key, old in before.items():
        out[key] = tuple(x - y for x, y in zip(after.get(key, _ZERO), old, strict=True))
    return out


def _versions(state: State) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for aid, scores in state.current.items():
        if aid in state.facts:
            for signal, score in scores.items():
                counts[(signal, score.model_version)] += 1
    return counts


def _subtract_versions(
    after: Mapping[tuple[str, str], int], before: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    keys = set(after) | set(before)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys}


def _last_scored(state: State) -> dict[tuple[str, str], datetime]:
    last: dict[tuple[str, str], datetime] = {}
    for scores in state.current.values():
        for signal, score in scores.items():
            key = (signal, score.model_version)
            if key not in last or score.scored_at > last[key]:
                last[key] = score.scored_at
    return last


def _increment_daily(conn: Connection, deltas: Mapping[DailyKey, Tally]) -> None:
    narrow = {k: v for k, v in deltas.items() if not any(v[2:])}
    wide = {k: v for k, v in deltas.items() if any(v[2:])}
    _upsert_daily(conn, narrow, ())
    _upsert_daily(conn, wide, _SHARE_COLUMNS)


def _upsert_daily(
    conn: Connection, deltas: Mapping[DailyKey, Tally], share_columns: Sequence[str]
) -> None:
    if not deltas:
        return
    t = schema.daily_signal_totals
    names = ["n", "total", *share_columns]
    rows = [
        {
            "day": k[0],
            "signal": k[1],
            "source": k[2],
            "language": k[3],
            "relevance_bucket": k[4],
            **dict(zip(names, tally, strict=False)),
        }
        for k, tally in sorted(deltas.items())
    ]
    stmt = insert_for(conn, t)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.signal, t.c.day, t.c.source, t.c.language, t.c.relevance_bucket],
        set_={name: t.c[name] + stmt.excluded[name] for name in names},
    )
    execute_rows(conn, stmt, rows)


def _increment_versions(
    conn: Connection,
    deltas: Mapping[tuple[str, str], int],
    last: Mapping[tuple[str, str], datetime],
) -> None:
    keys = sorted(k for k in set(deltas) | set(last) if deltas.get(k, 0) or k in last)
    if not keys:
        return
    t = schema.version_totals
    rows = [
        {
            "signal": s,
            "model_version": v,
            "n": deltas.get((s, v), 0),
            "last_scored_at": last.get((s, v)) or _EPOCH,
        }
        for s, v in keys
    ]
    stmt = insert_for(conn, t)
    newer = case(
        (stmt.excluded.last_scored_at > t.c.last_scored_at, stmt.excluded.last_scored_at),
        else_=t.c.last_scored_at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.c.signal, t.c.model_version],
        set_={"n": t.c.n + stmt.excluded.n, "last_scored_at": newer},
    )
    conn.execute(stmt, rows)


def bucket_sql(value: Any) -> Any:
    """The SQL twin of ``relevance_bucket`` (used when rebuilding the totals in one statement)."""
    steps = [case((value >= literal(b / STEPS), 1), else_=0) for b in range(1, STEPS + 1)]
    summed: Any = steps[0]
    for step in steps[1:]:
        summed = summed + step
    return case((value.is_(None), UNGATED), else_=cast(summed, Integer))


def share_counts_sql(value: Any) -> list[Any]:
    """The SQL twin of ``share_counts``: per share column, the sum of its 0/1 hits."""
    risk = (literal(1.0) - value) / 2.0
    return [
        func.sum(case((measure >= literal(b / STEPS), 1), else_=0))
        for measure in (value, risk)
        for b in range(STEPS + 1)
    ]


def rebuild(conn: Connection, share_columns: bool = True, key: str = "article_key") -> None:
    """Recompute both totals tables from ``articles`` and ``current_scores`` from scratch.

    ``share_columns=False`` leaves the share counts out, for the migrations before 0007 (their
    table has no such columns yet); ``key="article_id"`` joins the scores to their articles as
    the tables were before revision 0014, for the migrations before it.
    """
    a, cs, d, v = (
        schema.articles,
        schema.current_scores,
        schema.daily_signal_totals,
        schema.version_totals,
    )
    if key != "article_key":
        names = ("signal", "value", "model_version", "scored_at", key)
        a = table("articles", *(column(n) for n in ("event_date", "source", "language", key)))  # type: ignore[assignment]
        cs = table("current_scores", *(column(n) for n in names))  # type: ignore[assignment]
    gate = cs.alias("gate")
    bucket = bucket_sql(gate.c.value).label("relevance_bucket")
    on_gate = and_(gate.c[key] == a.c[key], gate.c.signal == RELEVANCE)
    keys = [a.c.event_date, a.c.source, a.c.language, bucket]
    shares = share_counts_sql(cs.c.value) if share_columns else []
    scored = (
        select(*keys[:1], cs.c.signal, *keys[1:], func.count(), func.sum(cs.c.value), *shares)
        .select_from(cs.join(a, a.c[key] == cs.c[key]).outerjoin(gate, on_gate))
        .group_by(cs.c.signal, *keys)
    )
    volume = select(
        a.c.event_date,
        literal(VOLUME),
        a.c.source,
        a.c.language,
        literal(UNGATED),
        func.count(),
        literal(0.0),
    ).group_by(a.c.event_date, a.c.source, a.c.language)
    columns = ["day", "signal", "source", "language", "relevance_bucket", "n", "total"]
    conn.execute(d.delete())
    conn.execute(
        d.insert().from_select(columns + (list(_SHARE_COLUMNS) if share_columns else []), scored)
    )
    conn.execute(d.insert().from_select(columns, volume))
    versions = select(cs.c.signal, cs.c.model_version, func.count(), func.max(cs.c.scored_at))
    conn.execute(v.delete())
    conn.execute(
        v.insert().from_select(
            ["signal", "model_version", "n", "last_scored_at"],
            versions.group_by(cs.c.signal, cs.c.model_version),
        )
    )


def reset_score_keys(conn: Connection, state: State, keys: Mapping[str, str]) -> None:
    """Store new score keys for the given articles of ``state`` (only those that changed)."""
    if not keys:
        return
    k = schema.article_score_keys
    stmt = update(k).where(k.c.article_key == bindparam("ak")).values(score_key=bindparam("key"))
    rows = sorted((state.facts[aid].key, key) for aid, key in keys.items())
    execute_rows(conn, stmt, [{"ak": ak, "key": key} for ak, key in rows])


def add_score_keys(conn: Connection, article_keys: Iterable[int]) -> None:
    """Give new articles their empty score key (nothing scored yet), with the articles."""
    rows = [{"article_key": ak, "score_key": ""} for ak in sorted(set(article_keys))]
    if rows:
        k = schema.article_score_keys
        stmt = insert_for(conn, k).on_conflict_do_nothing(index_elements=[k.c.article_key])
        execute_rows(conn, stmt, rows)
