"""Copy a whole store into another database: how a team moves its SQLite file to PostgreSQL.

The copy walks each table in primary-key order, a batch at a time (never the whole table in
memory), and writes each batch in its own transaction with ``INSERT ... ON CONFLICT``, so it can
be stopped and run again: rows already there are skipped (history, raw payloads) or brought up
to date with the source when the source's row is newer (articles by ``updated_at``, current
scores by ``scored_at``: an older source never reverts a target's newer score; feeds always).
Labels, runs and run errors are numbered per store, so they are matched by what they record (a
label by article, signal, author, time and values; a run by start time, host and pid; an error
by its run, source, message and time) and take new ids in the target: copying into a store with
rows of its own loses none of either; a run the target holds as still running takes the
source's row, so a copy repeated after the run ended records its end. Derived totals and score
keys are not trusted but rebuilt in the target at the end. The target may be empty (it is
created), at an older revision (it is upgraded first) or at this program's revision; never newer.

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

from sqlalchemy import DateTime, Engine, Table, select, tuple_, update
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
    newer: str = ""  # with ``update``: replace only a target row older by this column
    natural: tuple[str, ...] = ()  # columns that identify the row in any store (ids differ)

    def conflict_target(self) -> list[str]:
        """The columns whose equal values mean the row is already in the target."""
        return list(self.conflict) or [c.name for c in self.table.primary_key.columns]

    def replaced(self) -> list[str]:
        """The columns an existing row takes from the source (none unless ``update``)."""
        if not self.update:
            return []
        kept = {*self.conflict_target(), "article_key", *self.skip}  # an article keeps its key
        return [c.name for c in self.table.columns if c.name not in kept]


RUN_KEY = ("started_at", "host", "pid")  # a run in any store; its errors carry it as run_*
PLANS = (
    Plan(schema.articles, update=True, newer="updated_at"),
    Plan(schema.article_score_keys),  # a new article's; the others are recomputed at the end
    Plan(schema.article_sources),
    Plan(schema.current_scores, update=True, newer="scored_at"),
    Plan(schema.scores),
    Plan(  # its content_hash (the text it was given on) is carried, not part of its identity:
        schema.labels,  # a label copied before revision 0020 has none, and is the same label
        skip=("label_id",),
        natural=("article_id", "signal", "labelled_at", "labelled_by", "new_value", "old_value"),
    ),
    Plan(schema.raw_items, skip=("raw_id",), conflict=("origin", "payload_hash")),
    Plan(schema.runs, skip=("run_id",), natural=RUN_KEY),
    Plan(
        schema.run_errors,
        skip=("error_id",),
        natural=("run_id", "source", "message", "recorded_at"),
    ),
    Plan(schema.feeds, update=True, skip=("claim_run_id",)),  # a run id of the source store
)


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
        with target.connect() as conn:
            had_articles = conn.execute(select(schema.articles.c.article_id).limit(1)).first()
        for plan in PLANS:
            report.rows[plan.table.name] = _copy_table(source, target, plan, batch, progress)
        write(target, partial(_finish, rekey=had_articles is not None), lock=WRITE_LOCK)
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
        if plan.table is schema.run_errors:  # its run as any store knows it, not by id
            r = schema.runs
            stmt = stmt.add_columns(*(r.c[n].label(f"run_{n}") for n in RUN_KEY))
            stmt = stmt.join_from(plan.table, r, r.c.run_id == plan.table.c.run_id)
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
    if plan.natural:
        _insert_new(conn, plan, rows)
        return
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
        where = table.c[plan.newer] < stmt.excluded[plan.newer] if plan.newer else None
        stmt = stmt.on_conflict_do_update(index_elements=target, set_=set_, where=where)
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
        if plan.newer:
            newer = quote(plan.newer)
            action += f" WHERE {quote(table.name)}.{newer} < EXCLUDED.{newer}"
    return (
        f"INSERT INTO {quote(table.name)} ({columns}) SELECT {selected} FROM {source}"
        f" ON CONFLICT ({conflict}) {action}"
    )


def _insert_new(conn: Connection, plan: Plan, rows: list[dict[str, Any]]) -> None:
    """Insert the rows the target lacks, matched by ``plan.natural``; the target numbers them.

    Copying ids verbatim dropped a source label whose id the target had used for another one.
    Both dialects go row by row through SQLAlchemy: these tables are small (an analyst's labels,
    one run per cycle).
    """
    table, stamps = plan.table, _stamps(plan.table)
    if table is schema.run_errors:
        rows = _repoint_errors(conn, rows)
    values = [
        _utc({k: v for k, v in row.items() if k in table.c and k not in plan.skip}, stamps)
        for row in rows
    ]
    first = table.c[plan.natural[0]]
    wanted = sorted({v[first.name] for v in values}, key=repr)
    found = select(*(table.c[n] for n in plan.natural)).where(first.in_(wanted))
    seen = {_natural(plan, dict(r._mapping), stamps) for r in conn.execute(found)}
    fresh = []
    for value in values:
        natural = _natural(plan, value, stamps)
        if natural not in seen:
            seen.add(natural)
            fresh.append(value)
        elif table is schema.runs:
            _finish_copied_run(conn, value)
    if fresh:
        conn.execute(table.insert(), fresh)


def _finish_copied_run(conn: Connection, value: dict[str, Any]) -> None:
    """Bring a run the target holds as still ``running`` up to date with the source's row.

    A copy taken while a run was going on stores it as running; a later copy, after the run
    ended, brings its end, status and final counts. A run the target holds as ended is final.
    """
    r = schema.runs
    same_run = [r.c[n].is_not_distinct_from(value[n]) for n in RUN_KEY]
    changes = {k: v for k, v in value.items() if k not in RUN_KEY}
    conn.execute(update(r).where(*same_run, r.c.status == "running").values(changes))


def _natural(plan: Plan, row: dict[str, Any], stamps: list[str]) -> tuple[Any, ...]:
    """The row's identity in any store (times in UTC, as either dialect returns them)."""
    return tuple(_utc(dict(row), stamps)[n] for n in plan.natural)


def _repoint_errors(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each error the id its run has in the target (copied before, maybe renumbered)."""
    r, stamps = schema.runs, _stamps(schema.runs)
    owners = [_utc({n: row[f"run_{n}"] for n in RUN_KEY}, stamps) for row in rows]
    starts = sorted({o["started_at"] for o in owners})
    found = select(r.c.run_id, *(r.c[n] for n in RUN_KEY)).where(r.c.started_at.in_(starts))
    ids = {}
    for stored in conn.execute(found):
        known = _utc(dict(stored._mapping), stamps)
        ids[tuple(known[n] for n in RUN_KEY)] = known["run_id"]
    repointed = []
    for row, owner in zip(rows, owners, strict=True):
        run = ids.get(tuple(owner[n] for n in RUN_KEY))
        if run is None:
            started = owner["started_at"]
            raise StoreError(f"cannot copy run_errors: the target lacks the run started {started}")
        repointed.append({**row, "run_id": run})
    return repointed


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


def _finish(conn: Connection, *, rekey: bool) -> None:
    """Rebuild the derived totals; with ``rekey``, every article's score key too.

    A target that held articles before the copy may now mix its rows with the source's (an
    article kept, a score taken), so no store's score key is right for it without recomputing.
    """
    if rekey:
        a, last = schema.articles, ""
        while True:
            ids = (
                conn.execute(
                    select(a.c.article_id)
                    .where(a.c.article_id > last)
                    .order_by(a.c.article_id)
                    .limit(BATCH)
                )
                .scalars()
                .all()
            )
            if not ids:
                break
            last = ids[-1]
            state = totals.load_state(conn, ids)
            totals.reset_score_keys(conn, state, totals.score_keys(state))
    totals.rebuild(conn)
