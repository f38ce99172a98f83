"""The ``policy-risk`` command line: the one place that turns PipelineError into exit codes."""

from __future__ import annotations

import logging
import os
import signal
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from pipeline.cli_common import WORKERS_OPTION, echo_progress, get_config
from pipeline.config import CONFIG_ENV_VAR
from pipeline.errors import PipelineError

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """Report PipelineError as one line and exit 1; ``--debug`` shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PipelineError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(1)


@click.group(cls=_Group)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=CONFIG_ENV_VAR,
    default="config.yaml",
    show_default=True,
    help=f"Config file (or set {CONFIG_ENV_VAR}).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, debug: bool) -> None:
    """Policy Risk Monitor: policy-risk signals from the news.

    Example: policy-risk --config config.yaml run
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["debug"] = debug


@cli.command()
@click.option("--no-feeds", is_flag=True, help="Ingest seed folders only.")
@click.option(
    "--worker",
    default=lambda: f"{os.uname().nodename}-{os.getpid()}",
    help="Worker name for feed claims.",
)
@WORKERS_OPTION
@click.pass_context
def run(ctx: click.Context, no_feeds: bool, worker: str, workers: int | None) -> None:
    """Ingest seeds and feeds, then score every new or changed article.

    Example: policy-risk run
    """
    from pipeline.engine import safe_url
    from pipeline.parallel_scoring import worker_count
    from pipeline.run import run_pipeline

    config = get_config(ctx)
    click.echo(f"Ingesting into {safe_url(config.database.url)} ...", err=True)
    summary = run_pipeline(
        config,
        worker=worker,
        include_feeds=not no_feeds,
        progress=echo_progress,
        workers=worker_count(workers),
    )
    not_due = f", {summary.sources_skipped} feed(s) not due" if summary.sources_skipped else ""
    if summary.backing_off:
        not_due += f", {len(summary.backing_off)} feed(s) backing off"
    click.echo(
        f"Run {summary.run_id}: {summary.added} added, {summary.updated} updated, "
        f"{summary.scored} scored; {summary.sources_failed} source(s) failed{not_due}."
    )
    if summary.scored_elsewhere:
        click.echo(
            f"  {summary.scored_elsewhere} article(s) scored by this run had been saved by "
            "another run first (not saved or counted twice).",
            err=True,
        )
    if summary.undated:
        click.echo(
            f"  {summary.undated} of the added or updated articles had no usable date: each is "
            "placed on the day it was first seen and flagged 'undated'.",
            err=True,
        )
    for source, message in summary.errors:
        click.echo(f"  failed: {source}: {message}", err=True)
    if summary.backing_off:
        click.echo(
            f"  still failing, not tried until their backoff ends: {', '.join(summary.backing_off)}"
            " (`policy-risk feeds` shows why)",
            err=True,
        )
    if summary.failing:
        ctx.exit(1)


PORT_OPTION = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    envvar="PORT",
    default=8501,
    show_default=True,
    help="Port, 1-65535 (or set PORT); it must be free on 127.0.0.1.",
)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@cli.command()
@PORT_OPTION
@click.pass_context
def dashboard(ctx: click.Context, port: int) -> None:
    """Start the Streamlit dashboard on http://localhost:PORT (127.0.0.1 only).

    Example: policy-risk dashboard --port 8502
    """
    from pipeline import dashboard_server as server

    config = get_config(ctx)
    env = {**os.environ, CONFIG_ENV_VAR: str(config.path)}
    # a service manager's SIGTERM stops the server too, instead of leaving it running orphaned
    signal.signal(signal.SIGTERM, _interrupt)
    process = None
    try:
        process, problem = server.start(port, env=env)  # first run before anyone connects
        if problem:
            click.echo(f"Warning: {problem}", err=True)
        click.echo(f"Dashboard on http://localhost:{port}  (Ctrl+C to stop)", err=True)
        returncode = process.wait()
    except KeyboardInterrupt:  # Ctrl+C (streamlit got it too) or SIGTERM
        returncode = 0
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    ctx.exit(returncode)


@cli.command()
@PORT_OPTION
@click.pass_context
def up(ctx: click.Context, port: int) -> None:
    """Run the pipeline, then start the dashboard.

    Example: PORT=8600 policy-risk up
    """
    from pipeline.dashboard_server import ensure_port_free
    from pipeline.run import run_pipeline

    config = get_config(ctx)
    ensure_port_free(port)  # before the run, not after it
    summary = run_pipeline(config, progress=echo_progress)
    click.echo(f"Run {summary.run_id}: {summary.added} added, {summary.scored} scored.", err=True)
    for source, message in summary.errors:
        click.echo(f"  failed: {source}: {message}", err=True)
    ctx.invoke(dashboard, port=port)


@cli.command()
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL with id, title, text, optional language.",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSONL to write: id plus one field per signal.",
)
@click.pass_context
def classify(ctx: click.Context, input_path: Path, output_path: Path) -> None:
    """Score a JSONL file of articles without touching the database.

    Example: policy-risk classify --input news.jsonl --output scores.jsonl
    """
    from pipeline.classify import classify_file
    from pipeline.scoring import load_models

    models = load_models(get_config(ctx))
    tmp = output_path.with_name(f".{output_path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as target:
            count = classify_file(models, input_path, target)
        tmp.replace(output_path)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"Scored {count} record(s) into {output_path}.", err=True)


def _register_commands() -> None:
    """Attach the command groups that live in their own modules."""
    from pipeline.cli_dashboard import alerts_command, export_command
    from pipeline.cli_db import db_group
    from pipeline.cli_feeds import feeds_group, watch_command
    from pipeline.cli_model import evaluate_command, score_command, train_command

    cli.add_command(feeds_group)
    cli.add_command(watch_command)
    cli.add_command(alerts_command)
    cli.add_command(export_command)
    cli.add_command(train_command)
    cli.add_command(evaluate_command)
    cli.add_command(score_command)
    cli.add_command(db_group)


_register_commands()
