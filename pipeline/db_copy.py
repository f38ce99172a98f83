"""Copy a whole store into another database: how a team moves its SQLite file to PostgreSQL.

The copy walks each table in primary-key order, a batch at a time (never the whole table in
memory), and writes each batch in its own transaction with ``INSERT ... ON CONFLICT``, so it can
be stopped and run again: rows already there are skipped (history, runs, labels, raw payloads)
or brought up to date with the source (articles, current scores, feeds). Derived totals are not
copied but rebuilt in the target at the end. The target may be empty (it is created), at an
older revision (it is upgraded first) or at this program's revision; never newer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import DateTime, Engine, Table, func, select, text, tuple_
from sqlalchemy.engine import Connection

from pipeline import db, schema, search, totals
from pipeline.engine import MIGRATION_LOCK, WRITE_LOCK, insert_for, make_engine, safe_url, write
from pipeline.errors import StoreError
from pipeline.store import next_article_keys

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
BATCH = 2000
_OWNER = "owner_article_id"


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one table is copied: which columns, and what a row that already exists means."""

    table: Table
    update: bool = False  # True: the source's row replaces the target's
    skip: tuple[str, ...] = ()  # columns the target numbers itself
    conflict: tuple[str, ...] = ()  # unique columns to detect existing rows (default: the key)


PLANS = (
    _Plan(schema.articles, update=True),
    _Plan(schema.article_score_keys, update=True),
    _Plan(schema.article_sources),
    _Plan(schema.current_scores, update=True),
    _Plan(schema.scores),
    _Plan(schema.labels),
    _Plan(schema.raw_items, skip=("raw_id",), conflict=("origin", "payload_hash")),
    _Plan(schema.runs),
    _Plan(schema.run_errors),
    _Plan(schema.feeds, update=True),
)
# Tables whose integer ids are copied verbatim; PostgreSQL's sequences must then move past them.
_SERIALS = (("labels", "label_id"), ("runs", "run_id"), ("run_errors", "error_id"))


@dataclass
class CopyReport:
    """Rows read from the source per table, and the target's revision before the copy."""

    target_before: str
    rows: dict[str, int] = field(default_factory=dict)


def _quiet(_table: str, _count: int) -> None:
    return None


def copy_store(
    source_url: str, target_url: str, *, batch: int = BATCH, progress: Progress = _quiet
) -> CopyReport:
    """Copy every row of the store at ``source_url`` into ``target_url``; safe to run again."""
    if source_url == target_url:
        raise StoreError("source and target are the same database; nothing to copy")
    from pipeline.store import open_store

    source = open_store(source_url, create=False)
    target = make_engine(target_url)
    try:
        report = CopyReport(_prepare_target(target, target_url))
        for plan in PLANS:
            report.rows[plan.table.name] = _copy_table(source, target, plan, batch, progress)
        write(target, _finish, lock=WRITE_LOCK)
        return report
    finally:
        source.dispose()
        target.dispose()


def _prepare_target(target: Engine, url: str) -> str:
    """Create or upgrade the target's schema; refuse one newer than this program."""
    with target.connect() as conn:
        state = db.read_state(conn)
    if state.status == db.UNKNOWN:
        raise StoreError(db.refusal(state, url) or f"unknown schema in {safe_url(url)}")
    if state.status == db.BEHIND:
        db.upgrade_store(target, url)
    elif state.status == db.EMPTY:
        write(target, db.create_if_empty, lock=MIGRATION_LOCK)
    return state.revision or "empty"


def _copy_table(source: Engine, target: Engine, plan: _Plan, batch: int, progress: Progress) -> int:
    key = list(plan.table.primary_key.columns)
    copied, last = 0, None
    owned = _owned(plan.table)
    while True:
        stmt = select(plan.table).order_by(*key).limit(batch)
        if owned:  # the owning article's id: its key in the target may differ
            a = schema.articles
            stmt = stmt.add_columns(a.c.article_id.label(_OWNER))
            stmt = stmt.join_from(plan.table, a, a.c.article_key == plan.table.c.article_key)
        if last is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*last))
        with source.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return copied
        last = [rows[-1][c.name] for c in key]
        write(target, partial(_insert, plan=plan, rows=rows), lock=WRITE_LOCK)
        copied += len(rows)
        progress(plan.table.name, copied)


def _owned(table: Table) -> bool:
    """True for the per-article tables, keyed by their article's ``article_key``."""
    return table is not schema.articles and "article_key" in table.c


def _target_keys(
    conn: Connection, rows: list[dict[str, Any]], id_column: str
) -> list[dict[str, Any]]:
    """Give each row its article's key in the target (a new article takes a fresh one).

    Keys are numbered per store, so the source's may belong to another article in the target.
    """
    a = schema.articles
    ids = sorted({row[id_column] for row in rows})
    found = dict(
        conn.execute(select(a.c.article_id, a.c.article_key).where(a.c.article_id.in_(ids))).all()
    )
    if id_column == "article_id":
        fresh = [aid for aid in ids if aid not in found]
        found.update(zip(fresh, next_article_keys(conn, len(fresh)), strict=True))
    keyed = [{**row, "article_key": found[row[id_column]]} for row in rows]
    for row in keyed:
        row.pop(_OWNER, None)
    return keyed


def _insert(conn: Connection, *, plan: _Plan, rows: list[dict[str, Any]]) -> None:
    table = plan.table
    if table is schema.articles:
        rows = _target_keys(conn, rows, "article_id")
    elif _owned(table):
        rows = _target_keys(conn, rows, _OWNER)
    stamps = [c.name for c in table.columns if isinstance(c.type, DateTime)]
    values = [_utc({k: v for k, v in row.items() if k not in plan.skip}, stamps) for row in rows]
    stmt = insert_for(conn, table)
    target = list(plan.conflict) or [c.name for c in table.primary_key.columns]
    if plan.update:
        keys = {*target, "article_key"}  # an article keeps the key the target gave it
        changing = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        stmt = stmt.on_conflict_do_update(index_elements=target, set_=changing)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=target)
    conn.execute(stmt, values)
    search.flush_pending(conn)


def _utc(row: dict[str, Any], stamps: list[str]) -> dict[str, Any]:
    """SQLite hands timestamps back without their zone; every stored time is UTC (STYLE 3)."""
    for name in stamps:
        value = row.get(name)
        if isinstance(value, datetime) and value.tzinfo is None:
            row[name] = value.replace(tzinfo=UTC)
    return row


def _finish(conn: Connection) -> None:
    """Rebuild the derived totals and move PostgreSQL's id sequences past the copied ids."""
    totals.rebuild(conn)
    if conn.dialect.name != "postgresql":
        return
    for table, column in _SERIALS:
        top = conn.execute(select(func.max(schema.metadata.tables[table].c[column]))).scalar()
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence(:t, :c), :v, false)"),
            {"t": table, "c": column, "v": int(top or 0) + 1},
        )
