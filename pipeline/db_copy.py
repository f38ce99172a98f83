"""Copy a whole store into another database: how a team moves its SQLite file to PostgreSQL.

The copy walks each table in primary-key order, a batch at a time (never the whole table in
memory), and writes each batch in its own transaction with ``INSERT ... ON CONFLICT``, so it can
be stopped and run again: rows already there are skipped (history, runs, labels, raw payloads)
or brought up to date with the source (articles, current scores, feeds). Derived totals are not
copied but rebuilt in the target at the end. The target may be empty (it is created), at an
older revision (it is upgraded first) or at this program's revision; never newer.

Into PostgreSQL a batch goes by ``COPY`` into a scratch table and one ``INSERT ... SELECT``, which
also gives each row its article's key in the target; row by row through SQLAlchemy, the client's
parameter work and the key lookups were half the copy's time (docs/benchmarks.md).
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
from sqlalchemy.exc import DBAPIError

from pipeline import db, schema, search, totals
from pipeline.engine import (
    MIGRATION_LOCK,
    WRITE_LOCK,
    fill_scratch,
    insert_for,
    make_engine,
    safe_url,
    write,
)
from pipeline.errors import StoreError
from pipeline.store import cannot_open, next_article_keys

log = logging.getLogger(__name__)
Progress = Callable[[str, int], None]
BATCH = 2000
OWNER = "owner_article_id"  # the owning article's id, beside a per-article row
_SCRATCH = "db_copy_batch"  # PostgreSQL: the batch's temporary table, dropped at its commit


@dataclass(frozen=True, slots=True)
class Plan:
    """How one table is copied: which columns, and what a row that already exists means."""

    table: Table
    update: bool = False  # True: the source's row replaces the target's
    skip: tuple[str, ...] = ()  # columns the target numbers itself
    conflict: tuple[str, ...] = ()  # unique columns to detect existing rows (default: the key)

    def conflict_target(self) -> list[str]:
        """The columns whose equal values mean the row is already in the target."""
        return list(self.conflict) or [c.name for c in self.table.primary_key.columns]

    def replaced(self) -> list[str]:
        """The columns an existing row takes from the source (none unless ``update``)."""
        if not self.update:
            return []
        kept = {*self.conflict_target(), "article_key", *self.skip}  # an article keeps its key
        return [c.name for c in self.table.columns if c.name not in kept]


PLANS = (
    Plan(schema.articles, update=True),
    Plan(schema.article_score_keys, update=True),
    Plan(schema.article_sources),
    Plan(schema.current_scores, update=True),
    Plan(schema.scores),
    Plan(schema.labels),
    Plan(schema.raw_items, skip=("raw_id",), conflict=("origin", "payload_hash")),
    Plan(schema.runs),
    Plan(schema.run_errors),
    Plan(schema.feeds, update=True),
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
    try:
        with target.connect() as conn:
            state = db.read_state(conn)
    except DBAPIError as exc:
        raise cannot_open(url, exc) from None
    if state.status == db.UNKNOWN:
        raise StoreError(db.refusal(state, url) or f"unknown schema in {safe_url(url)}")
    if state.status == db.BEHIND:
        db.upgrade_store(target, url)
    elif state.status == db.EMPTY:
        write(target, db.create_if_empty, lock=MIGRATION_LOCK)
    return state.revision or "empty"


def _copy_table(source: Engine, target: Engine, plan: Plan, batch: int, progress: Progress) -> int:
    key = list(plan.table.primary_key.columns)
    copied, last = 0, None
    owned = _owned(plan.table)
    while True:
        stmt = select(plan.table).order_by(*key).limit(batch)
        if owned:  # the owning article's id: its key in the target may differ
            a = schema.articles
            stmt = stmt.add_columns(a.c.article_id.label(OWNER))
            stmt = stmt.join_from(plan.table, a, a.c.article_key == plan.table.c.article_key)
        if last is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*last))
        with source.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return copied
        last = [rows[-1][c.name] for c in key]
        write(target, partial(insert_batch, plan=plan, rows=rows), lock=WRITE_LOCK)
        copied += len(rows)
        progress(plan.table.name, copied)


def _owned(table: Table) -> bool:
    """True for the per-article tables, keyed by their article's ``article_key``."""
    return table is not schema.articles and "article_key" in table.c


def _target_keys(
    conn: Connection, rows: list[dict[str, Any]], id_column: str, table_name: str
) -> list[dict[str, Any]]:
    """Give each row its article's key in the target (a new article takes a fresh one).

    Keys are numbered per store, so the source's may belong to another article in the target.
    """
    a = schema.articles
    ids = sorted({row[id_column] for row in rows})
    found = dict(
        conn.execute(select(a.c.article_id, a.c.article_key).where(a.c.article_id.in_(ids))).all()
    )
    fresh = [aid for aid in ids if aid not in found]
    if id_column == "article_id":
        found.update(zip(fresh, next_article_keys(conn, len(fresh)), strict=True))
    elif fresh:
        raise StoreError(_orphan_message(table_name, fresh[0]))
    keyed = [{**row, "article_key": found[row[id_column]]} for row in rows]
    for row in keyed:
        row.pop(OWNER, None)
    return keyed


def insert_batch(conn: Connection, *, plan: Plan, rows: list[dict[str, Any]]) -> None:
    """Write one batch of ``plan.table``'s rows, as read from the source, into the target."""
    table = plan.table
    if conn.dialect.name == "postgresql":
        _insert_by_copy(conn, plan, rows)
        return
    if table is schema.articles:
        rows = _target_keys(conn, rows, "article_id", table.name)
    elif _owned(table):
        rows = _target_keys(conn, rows, OWNER, table.name)
    stamps = _stamps(table)
    values = [_utc({k: v for k, v in row.items() if k not in plan.skip}, stamps) for row in rows]
    stmt = insert_for(conn, table)
    target, changing = plan.conflict_target(), plan.replaced()
    if changing:
        set_ = {name: stmt.excluded[name] for name in changing}
        stmt = stmt.on_conflict_do_update(index_elements=target, set_=set_)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=target)
    conn.execute(stmt, values)
    search.flush_pending(conn)


def _insert_by_copy(conn: Connection, plan: Plan, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: ``COPY`` the batch into a scratch table, then insert it in one statement.

    The statement joins each row to its article in the target for the key (a new article takes
    the sequence's next key, in id order), so no key crosses the network.
    """
    table, quote = plan.table, conn.dialect.identifier_preparer.quote
    owned = _owned(table)
    names = [c.name for c in table.columns if c.name not in plan.skip and c.name != "article_key"]
    loaded = [*names, OWNER] if owned else names
    picked = ", ".join(f"t.{quote(n)}" for n in names)
    owner = f", a.article_id AS {OWNER}" if owned else ""
    joined = " CROSS JOIN articles AS a" if owned else ""
    shape = f"SELECT {picked}{owner} FROM {quote(table.name)} AS t{joined}"
    stamps = _stamps(table)
    stamped = (_utc(dict(row), stamps) for row in rows)
    fill_scratch(conn, _SCRATCH, shape, loaded, ([v[n] for n in loaded] for v in stamped))
    if owned:
        _refuse_orphans(conn, table.name)
    conn.exec_driver_sql(_insert_sql(conn, plan, names))
    search.flush_pending(conn)


def _refuse_orphans(conn: Connection, table: str) -> None:
    """Stop with the row's article named, rather than let the join drop rows without one."""
    orphan = conn.exec_driver_sql(
        f"SELECT s.{OWNER} FROM {_SCRATCH} AS s LEFT JOIN articles AS t"
        f" ON t.article_id = s.{OWNER} WHERE t.article_key IS NULL LIMIT 1"
    ).scalar()
    if orphan is not None:
        raise StoreError(_orphan_message(table, orphan))


def _orphan_message(table: str, article_id: str) -> str:
    return f"cannot copy {table}: a row belongs to article {article_id!r}, which the target lacks"


def _insert_sql(conn: Connection, plan: Plan, names: list[str]) -> str:
    """The ``INSERT ... SELECT ... ON CONFLICT`` from the scratch table into ``plan.table``."""
    table, quote = plan.table, conn.dialect.identifier_preparer.quote
    picked = ", ".join(f"s.{quote(n)}" for n in names)
    if table is schema.articles:
        key = f"COALESCE(s.known_key, nextval('{schema.ARTICLE_KEY_SEQUENCE}'))"
        source = (  # ordered first, so the new keys follow the ids as on SQLite
            f"(SELECT b.*, t.article_key AS known_key FROM {_SCRATCH} AS b"
            " LEFT JOIN articles AS t ON t.article_id = b.article_id"
            " ORDER BY b.article_id) AS s"
        )
    elif _owned(table):
        key = "t.article_key"
        source = f"{_SCRATCH} AS s JOIN articles AS t ON t.article_id = s.{OWNER}"
    else:
        key, source = "", f"{_SCRATCH} AS s"
    columns = ", ".join(quote(n) for n in names) + (", article_key" if key else "")
    selected = picked + (f", {key}" if key else "")
    conflict = ", ".join(quote(n) for n in plan.conflict_target())
    changing = plan.replaced()
    action = "DO NOTHING"
    if changing:
        action = "DO UPDATE SET " + ", ".join(f"{quote(n)} = EXCLUDED.{quote(n)}" for n in changing)
    return (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {selected} FROM {source}"
        f" ON CONFLICT ({conflict}) {action}"
    )


def _stamps(table: Table) -> list[str]:
    """The table's timestamp columns, which ``_utc`` gives their zone."""
    return [c.name for c in table.columns if isinstance(c.type, DateTime)]


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
