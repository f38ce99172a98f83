"""The ``feeds`` and ``watch`` commands; ``pipeline.cli`` registers them with ``add_command``.

Errors are raised as PipelineError subclasses and left to the main group to print (exit 1).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from pipeline.cli_common import get_config
from pipeline.errors import SourceError
from pipeline.feed_cycle import FeedOutcome, check_feed
from pipeline.feed_health import FeedHealth, list_health
from pipeline.opml import import_opml
from pipeline.store import open_store
from pipeline.watch import parse_interval, run_watch


@click.group("feeds", invoke_without_command=True)
@click.pass_context
def feeds_group(ctx: click.Context) -> None:
    """List feeds and their health (the default), import OPML, or check one feed.

    Example: policy-risk feeds
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command)


@feeds_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """Show every configured feed with its last fetch, failures, entries and articles added.

    Example: policy-risk feeds list
    """
    config = get_config(ctx)
    engine = open_store(config.database.url, create=False)  # a URL typo must not make a store
    health = {row.name: row for row in list_health(engine)}
    configured = {feed.name: feed.enabled for feed in config.sources.feeds}
    if not configured and not health:
        click.echo("No feeds configured: add them under sources.feeds in the config, "
                   "or run `policy-risk feeds import FILE.opml`.")
        return
    header = ("NAME", "STATE", "LAST SUCCESS", "HTTP", "FAILS", "ENTRIES", "ADDED", "LAST ERROR")
    rows = [_row(name, configured.get(name), health.get(name))
            for name in dict.fromkeys([*configured, *health])]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, str(row[-1])]).rstrip())


def _row(name: str, enabled: bool | None, health: FeedHealth | None) -> tuple[str, ...]:
    state = _state(enabled, health)
    if health is None:
        return (name, state, "-", "-", "0", "0", "0", "")
    return (
        name[:40],
        state,
        _when(health.last_success_at),
        str(health.http_status or "-"),
        str(health.consecutive_failures),
        str(health.entries_seen),
        str(health.articles_added),
        (health.last_error or "")[:80],
    )


def _state(enabled: bool | None, health: FeedHealth | None) -> str:
    if enabled is None:
        return "not in config"
    if not enabled:
        return "disabled"
    if health is None or health.last_attempt_at is None:
        return "never fetched"
    if health.consecutive_failures:
        return f"failing, retry {_when(health.next_attempt_at)}"
    return "ok"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@feeds_group.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, opml_file: Path) -> None:
    """Add the feeds listed in an OPML file to sources.feeds in the config file.

    Feeds already in the config (same URL) are left alone; comments in the file are kept.

    Example: policy-risk feeds import subscriptions.opml
    """
    config = get_config(ctx)
    result = import_opml(config.path, opml_file, list(config.sources.feeds))
    for feed in result.added:
        click.echo(f"added    {feed.name}  {feed.url}")
    for name, reason in result.skipped:
        click.echo(f"skipped  {name}: {reason}")
    click.echo(f"{len(result.added)} feeds added to {config.path}, {len(result.skipped)} skipped")
    if result.added:
        click.echo("A running `policy-risk watch` on this config fetches them from its next cycle.")


@feeds_group.command("check")
@click.argument("url")
@click.option("--limit", default=10, show_default=True, help="Entries to list.")
@click.pass_context
def check_command(ctx: click.Context, url: str, limit: int) -> None:
    """Fetch one feed and show what would be ingested, without storing anything.

    Example: policy-risk feeds check https://example.org/rss.xml
    """
    outcome = check_feed(url, get_config(ctx))
    _print_outcome(outcome, limit)
    if outcome.status == "failed":
        raise SourceError(f"{url}: {outcome.error}")


def _print_outcome(outcome: FeedOutcome, limit: int) -> None:
    status = f"HTTP {outcome.http_status}" if outcome.http_status else "no HTTP response"
    click.echo(f"{outcome.name}: {outcome.status} ({status}), {len(outcome.items)} entries")
    for item in outcome.items[:limit]:
        date = item.page_date.isoformat() if item.page_date else "no date"
        click.echo(f"  {date}  {item.title[:100]}")
        click.echo(f"              {item.url or '(no link)'}")
    if len(outcome.items) > limit:
        click.echo(f"  ... and {len(outcome.items) - limit} more")
    for problem in outcome.problems:
        click.echo(f"  problem: {problem}")


@click.command("watch")
@click.option("--every", default="15m", show_default=True, help="Interval: 30s, 15m, 1h...")
@click.option("--worker", default="local", show_default=True,
              help="Name of this worker in the feed claims (one per machine).")
@click.option("--max-cycles", type=click.IntRange(min=1), default=None,
              help="Stop after this many cycles (default: run until stopped).")
@click.pass_context
def watch_command(ctx: click.Context, every: str, worker: str, max_cycles: int | None) -> None:
    """Ingest and score on a schedule until Ctrl-C or SIGTERM; one line per cycle.

    Never overlaps itself on this machine: a second watch on the same SQLite file, or on the
    same PostgreSQL database with a config in the same folder, refuses to start. Workers on
    other machines may run at once: feeds are claimed.

    Example: policy-risk watch --every 15m
    """
    seconds = parse_interval(every)
    config = get_config(ctx)
    banner = f"watching every {every} (Ctrl-C stops after the current cycle)"
    cycles = run_watch(config, every_s=seconds, worker=worker, max_cycles=max_cycles,
                       report=_echo_line, on_start=lambda: click.echo(banner))
    click.echo(f"stopped after {cycles} cycles")


def _echo_line(line: str) -> None:
    click.echo(f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S} {line}")
