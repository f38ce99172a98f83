"""A CLI group for testing the dashboard commands before (or after) ``pipeline.cli`` adds them.

It mirrors the real group: ``--config`` before the command, PipelineError -> one line, exit 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner, Result

from pipeline.cli import _Group
from pipeline.cli_dashboard import alerts_command, export_command


@click.group(cls=_Group)
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def group(ctx: click.Context, config_path: Path) -> None:
    """Test group."""
    ctx.ensure_object(dict)["config_path"] = config_path


group.add_command(alerts_command)
group.add_command(export_command)


def invoke(config: Path, *args: Any) -> Result:
    """Run ``policy-risk --config CONFIG ARGS...`` through the test group."""
    return CliRunner().invoke(group, ["--config", str(config), *map(str, args)])
