"""The ``policy-risk db`` commands: schema revision, upgrades, and copying a store elsewhere.

``pipeline/cli.py`` registers the group (``cli.add_command(db_group)``) and, as for every
command, turns a PipelineError raised here into a one-line message and exit code 1.
"""

from __future__ import annotations

import time

import click
from sqlalchemy.exc import DBAPIError

from pipeline.cli_common import get_config
from pipeline.engine import make_engine, safe_url


def _store_url(ctx: click.Context) -> str:
    """The configured store (``database.url``, or ``DATABASE_URL`` when set)."""
    return str(get_config(ctx).database.url)


@click.group("db")
def db_group() -> None:
    """Inspect, upgrade and copy the article store (SQLite or PostgreSQL).

    Example: policy-risk db current
    """


@db_group.command("current")
@click.option(
    "--check", is_flag=True, help="Exit 1 unless the store is at this program's revision."
)
@click.pass_context
def current(ctx: click.Context, check: bool) -> None:
    """Show the store's schema revision and whether it needs `db upgrade`.

    Example: policy-risk db current --check
    """
    from pipeline.db import CURRENT, read_state
    from pipeline.store import cannot_open, missing_sqlite_file

    url = _store_url(ctx)
    missing = missing_sqlite_file(url)
    if missing is not None:  # connecting would create it: a status check must not
        click.echo(f"{safe_url(url)}: no database at {missing}")
        ctx.exit(1 if check else 0)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            state = read_state(conn)
    except DBAPIError as exc:
        raise cannot_open(url, exc) from None
    finally:
        engine.dispose()
    click.echo(f"{safe_url(url)}: {state.describe()}")
    if check and state.status != CURRENT:
        ctx.exit(1)


db_group.add_command(current, name="status")


@db_group.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Migrate the store to this program's schema revision, in one transaction.

    Back the store up first (docs/deploy.md). Stop the workers during the upgrade: it locks
    the tables it changes. Running it again when already up to date changes nothing.

    Example: policy-risk db upgrade
    """
    from pipeline.db import CURRENT, EMPTY, upgrade_store

    url = _store_url(ctx)
    engine = make_engine(url)
    try:
        before, after = upgrade_store(engine, url)
    finally:
        engine.dispose()
    where = safe_url(url)
    if before.status == CURRENT:
        click.echo(f"{where}: already at revision {after.revision} (head); nothing to do.")
    elif before.status == EMPTY:
        click.echo(f"{where}: created the schema at revision {after.revision}.")
    else:
        click.echo(f"{where}: upgraded from revision {before.revision} to {after.revision}.")


@db_group.command()
@click.option("--to", "target", required=True, help="SQLAlchemy URL of the target store.")
@click.option("--from", "source", help="Source store URL (default: the configured store).")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=2000,
    show_default=True,
    help="Rows per transaction.",
)
@click.pass_context
def copy(ctx: click.Context, target: str, source: str | None, batch_size: int) -> None:
    """Copy every article, score, run and label into another store, e.g. SQLite to PostgreSQL.

    The target may be empty (its schema is created) or at an older revision (it is upgraded).
    Safe to interrupt and run again: rows already copied are not duplicated. A target with
    data of its own keeps it: labels and runs are matched by what they record (not by id), and
    a score or article is replaced only by a newer one.

    Example: policy-risk db copy --to postgresql+psycopg://monitor@db.example/policy_risk
    """
    from pipeline.db_copy import copy_store

    origin = source or _store_url(ctx)
    click.echo(f"Copying {safe_url(origin)} -> {safe_url(target)} ...", err=True)
    shown = {"at": time.monotonic()}

    def progress(table: str, count: int) -> None:
        if time.monotonic() - shown["at"] >= 2.0:
            click.echo(f"  {table}: {count}", err=True)
            shown["at"] = time.monotonic()

    report = copy_store(origin, target, batch=batch_size, progress=progress)
    for table, count in report.rows.items():
        click.echo(f"  {table}: {count} row(s)")
    click.echo(f"Copied into {safe_url(target)} (target was at: {report.target_before}).")
