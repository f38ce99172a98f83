"""Know which schema revision a store is at, create new stores, and upgrade old ones (issue 6).

A program may only write to a store whose schema it was written for. ``open_store`` therefore
checks the revision on every open: a brand-new empty database is migrated to the head revision
on the spot; an older one is refused with the command that upgrades it (upgrading a shared team
database should be a deliberate step, after a backup, not a side effect of some worker starting);
a revision this program has never heard of was written by a newer release and is refused too.

Stores created before Alembic carry only ``schema_info.schema_version = 1``; they are revision
``0001`` and ``policy-risk db upgrade`` adopts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from pipeline import schema
from pipeline.engine import MIGRATION_LOCK, safe_url, write
from pipeline.errors import StoreError

EMPTY = "empty"
CURRENT = "current"
BEHIND = "behind"
UNKNOWN = "unknown"
UPGRADE_COMMAND = "policy-risk db upgrade"


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database stands: its revision (None when empty) and what that means."""

    revision: str | None
    status: str
    legacy: bool = False

    def describe(self) -> str:
        """One line for ``policy-risk db current``."""
        shown = self.revision or "none"
        if self.status == EMPTY:
            return f"empty database (this program creates revision {schema.HEAD_REVISION})"
        if self.status == CURRENT:
            return f"revision {shown} (head): up to date"
        if self.status == BEHIND:
            return f"revision {shown}, head is {schema.HEAD_REVISION}: run `{UPGRADE_COMMAND}`"
        return f"revision {shown}: newer than this program knows ({schema.HEAD_REVISION})"


def read_state(conn: Connection) -> SchemaState:
    """Find the store's schema revision without changing anything."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        revision = _stamped_revision(conn)
        if revision is not None:
            return _classify(str(revision), legacy=False)
    if "schema_info" in tables:
        value = conn.execute(
            select(schema.schema_info.c.value).where(schema.schema_info.c.key == "schema_version")
        ).scalar()
        if value == "1":
            return SchemaState("0001", BEHIND, legacy=True)
        return SchemaState(f"schema version {value}", UNKNOWN, legacy=True)
    ours = tables & set(schema.metadata.tables)
    if ours:
        raise StoreError(
            f"database holds store tables ({', '.join(sorted(ours))}) but no schema revision; "
            "it was not created by policy-risk or is damaged"
        )
    return SchemaState(None, EMPTY)


def _stamped_revision(conn: Connection) -> object:
    """The revision Alembic stamped in ``alembic_version`` (None when the table is empty)."""
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def _classify(revision: str, *, legacy: bool) -> SchemaState:
    if revision == schema.HEAD_REVISION:
        return SchemaState(revision, CURRENT, legacy)
    if revision in schema.KNOWN_REVISIONS:
        return SchemaState(revision, BEHIND, legacy)
    return SchemaState(revision, UNKNOWN, legacy)


def refusal(state: SchemaState, url: str) -> str | None:
    """Why this program must not use the store, or None when it may."""
    where = safe_url(url)
    if state.status == BEHIND:
        return (
            f"database {where} is at schema revision {state.revision}, older than this "
            f"program's {schema.HEAD_REVISION}; back it up, then run `{UPGRADE_COMMAND}`"
        )
    if state.status == UNKNOWN:
        return (
            f"database {where} is at schema revision {state.revision}, newer than this program "
            f"knows ({schema.HEAD_REVISION}); upgrade policy-risk-monitor before using it"
        )
    return None


def refusal_now(engine: Engine, url: str) -> str | None:
    """``refusal`` for a reader that stays open (a dashboard): the store may have been upgraded
    under it since it opened it. One tiny query, so it can run on every page render."""
    with engine.connect() as conn:
        try:
            revision = _stamped_revision(conn)
        except DBAPIError:
            conn.rollback()
            revision = None
        state = _classify(str(revision), legacy=False) if revision else read_state(conn)
    return refusal(state, url)


def ensure_schema(engine: Engine, url: str, *, create: bool) -> SchemaState:
    """Create the schema in an empty database (when ``create``); refuse a foreign revision."""
    with engine.connect() as conn:
        state = read_state(conn)
    if state.status == EMPTY and create:
        return write(engine, create_if_empty, lock=MIGRATION_LOCK)
    if state.status == EMPTY:
        raise StoreError(
            f"database {safe_url(url)} has no tables yet; fill it with `policy-risk run`"
        )
    reason = refusal(state, url)
    if reason:
        raise StoreError(reason)
    return state


def create_if_empty(conn: Connection) -> SchemaState:
    """Migrate an empty database to the head revision (call under the migration lock).

    Another worker may have created the schema while this one waited for the lock, so the
    state is read again here, inside the locked transaction.
    """
    state = read_state(conn)
    if state.status == EMPTY:
        from pipeline import migrations

        migrations.upgrade(conn)
        return SchemaState(schema.HEAD_REVISION, CURRENT)
    return state


def upgrade_store(engine: Engine, url: str) -> tuple[SchemaState, SchemaState]:
    """Migrate the store to the head revision in one transaction; return (before, after)."""
    return write(engine, lambda conn: _upgrade(conn, url), lock=MIGRATION_LOCK)


def _upgrade(conn: Connection, url: str) -> tuple[SchemaState, SchemaState]:
    from pipeline import migrations

    before = read_state(conn)
    if before.status == UNKNOWN:
        raise StoreError(refusal(before, url) or "unknown schema revision")
    if before.status == CURRENT:
        return before, before
    if before.legacy:
        migrations.stamp(conn, "0001")
    migrations.upgrade(conn)
    return before, read_state(conn)
