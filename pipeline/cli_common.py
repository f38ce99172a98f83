"""What every command module shares: the config loaded once per invocation, progress lines and
the ``--workers`` option."""

from __future__ import annotations

import click

from pipeline.config import Config, load_config

WORKERS_OPTION = click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Scoring processes for a large backlog, besides this one (0: score in-process; "
    "default: one per core).",
)


def get_config(ctx: click.Context) -> Config:
    """Load the config once per invocation, from ``--config`` (or ``POLICY_RISK_CONFIG``, else
    ``config.yaml``), validated before anything else happens."""
    obj = ctx.find_root().ensure_object(dict)
    if "config" not in obj:
        obj["config"] = load_config(obj.get("config_path"))
    config: Config = obj["config"]
    return config


def echo_progress(stage: str, count: int) -> None:
    """Report a stage's progress on stderr (stdout stays for results)."""
    click.echo(f"  {stage}: {count}", err=True)
