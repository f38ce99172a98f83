"""The ``alerts`` and ``export`` commands; ``pipeline.cli`` registers them with ``add_command``.

Both build on the same code as the dashboard (``pipeline.snapshots``, ``pipeline.alerts``), so the
crossings, rows and columns match what an analyst sees for the same filters and weights.
Errors are raised as PipelineError subclasses and left to the main group to print (exit 1).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import TypeAdapter, ValidationError

from pipeline.alerts import EXIT_NEW_ALERT, config_alerts
from pipeline.cli_common import get_config
from pipeline.config import Config, Weight
from pipeline.errors import ConfigError
from pipeline.examples import RELEVANCE
from pipeline.insights import SORT_KEYS, ArticleQuery
from pipeline.queries import ArticleFilter
from pipeline.snapshots import (
    SnapshotSpec,
    config_series,
    mention_groups,
    write_spec_snapshot,
)

_DATE = click.DateTime(["%Y-%m-%d"])


@click.command("alerts")
@click.option(
    "--since",
    type=_DATE,
    default=None,
    help=(
        "Crossings in periods ending on or after this date, so the period still going on counts"
        " (YYYY-MM-DD; default 7 days ago)."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the crossings as JSON lines.")
@click.pass_context
def alerts_command(ctx: click.Context, since: datetime | None, as_json: bool) -> None:
    """Print threshold crossings of the composite since a date; exit 3 if there is one.

    Uses the config's weights, period, smoothing window and alert threshold over every relevant
    article, the same crossings the dashboard's Alerts page lists. Exit codes: 0 no crossing,
    3 at least one crossing since the date (for cron or CI to notify), 1 an error.

    A weekly or monthly crossing is dated by its period's first day but counts until the period
    ends, so a daily run with --since yesterday reports it on every run from the news that
    caused it to the day after the period ends.

    Example: policy-risk alerts --since "$(date -d yesterday +%F)"
    """
    config = get_config(ctx)
    first = since.date() if since else default_since()
    spec = SnapshotSpec.from_config(config)
    found = config_alerts(config_series(config), config, first)
    for alert in found:
        if as_json:
            record = {**_record(alert), "period_kind": spec.period}
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(alert.describe(spec.period))
    if not found:
        click.echo(f"No threshold crossings since {first.isoformat()}.", err=True)
        return
    click.echo(f"{len(found)} crossing(s) since {first.isoformat()}.", err=True)
    ctx.exit(EXIT_NEW_ALERT)


def _record(alert: Any) -> dict[str, Any]:
    return {
        "period": alert.period.isoformat(),
        "value": round(alert.value, 6),
        "previous": None if alert.previous is None else round(alert.previous, 6),
        "threshold": alert.threshold,
        "provisional": alert.provisional,
        "period_end": alert.end.isoformat(),
    }


def _parse_range(text: str) -> tuple[str, tuple[float, float]]:
    try:
        name, low, high = text.split(":")
        bounds = float(low), float(high)
    except ValueError:
        raise click.BadParameter(f"expected SIGNAL:LOW:HIGH, got {text!r}") from None
    if not all(math.isfinite(b) for b in bounds):
        raise click.BadParameter(f"bounds must be numbers, got {text!r}", param_hint="'--range'")
    if bounds[0] > bounds[1]:  # an empty CSV that looks like a result
        raise click.BadParameter(
            f"LOW is above HIGH in {text!r}; write SIGNAL:{high}:{low}", param_hint="'--range'"
        )
    return name, bounds


def _check_choices(config: Config, opts: dict[str, Any]) -> None:
    """Refuse settings the export would not apply, so the manifest records only what did."""
    columns = (*SORT_KEYS, *config.signals, RELEVANCE)  # what ``insights`` sorts by
    if opts["sort_by"] not in columns:
        raise click.BadParameter(
            f"unknown column {opts['sort_by']!r}; choose one of {', '.join(columns)}",
            param_hint="'--sort'",
        )
    if opts["standardise"] and not opts["share"]:
        raise click.UsageError("--standardise applies to the share columns: add --share")
    if opts["start"] and opts["end"] and opts["start"] > opts["end"]:
        raise click.BadParameter(
            f"{opts['start']:%Y-%m-%d} is after --to {opts['end']:%Y-%m-%d}",
            param_hint="'--from'",
        )


_WEIGHT = TypeAdapter(Weight)  # the config's rule: a finite number in [-1, 1]


def _parse_weight(text: str, config: Config) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in config.signals:
        raise click.BadParameter(f"unknown signal {name!r} in --weight {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"expected SIGNAL=NUMBER, got {text!r}") from None
    try:
        return name, _WEIGHT.validate_python(number)
    except ValidationError:
        raise click.BadParameter(
            f"expected a number between -1 and 1, got {value!r}", param_hint="'--weight'"
        ) from None


_FILTER_OPTIONS = (
    "start", "end", "sources", "languages", "search", "relevant_only", "ranges", "mentions",
    "sort_by", "ascending", "limit", "weights", "period", "window", "share", "standardise",
    "series",
)  # fmt: skip


def _spec_from_options(config: Config, opts: dict[str, Any]) -> SnapshotSpec:
    _check_choices(config, opts)
    base = SnapshotSpec.from_config(config)
    for name, _ in map(_parse_range, opts["ranges"]):
        if name not in config.signals and name != "relevance":
            raise click.BadParameter(f"unknown signal {name!r} in --range")
    flt = ArticleFilter(
        start=opts["start"].date() if opts["start"] else None,
        end=opts["end"].date() if opts["end"] else None,
        sources=tuple(opts["sources"]),
        languages=tuple(opts["languages"]),
        search=opts["search"] or "",
        signal_ranges=dict(map(_parse_range, opts["ranges"])),
        relevant_only=opts["relevant_only"],
        relevance_threshold=config.index.relevance_threshold,
    )
    query = ArticleQuery(
        flt=flt,
        mentions=mention_groups(config, opts["mentions"]),
        sort_by=opts["sort_by"],
        descending=not opts["ascending"],
    )
    weights = {**base.weights, **dict(_parse_weight(w, config) for w in opts["weights"])}
    return replace(
        base,
        query=query,
        weights=weights,
        period=opts["period"] or base.period,
        window=opts["window"] or base.window,
        view="share" if opts["share"] else "mean",
        standardise=opts["standardise"],
        limit=opts["limit"],
    )


def _from_manifest(ctx: click.Context, config: Config, like: Path) -> tuple[str, SnapshotSpec]:
    for name in _FILTER_OPTIONS:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "COMMANDLINE":
            raise click.UsageError(f"--like takes every setting from the manifest; drop --{name}")
    try:
        info = json.loads(like.read_text(encoding="utf-8"))
        kind, spec = str(info.get("kind") or "articles"), SnapshotSpec.from_manifest(info, config)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{like}: not a snapshot manifest ({exc})") from None
    for name, weight in spec.weights.items():  # json.loads reads NaN: the manifest must not
        try:
            _WEIGHT.validate_python(weight)
        except ValidationError:
            raise ConfigError(
                f"{like}: weights.{name}: expected a number between -1 and 1, got {weight!r}"
            ) from None
    return kind, spec


@click.command("export")
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV file to write, with a .manifest.json beside it; with --zip, a .zip file holding "
    "both.",
)
@click.option("--from", "start", type=_DATE, help="First event date (YYYY-MM-DD).")
@click.option("--to", "end", type=_DATE, help="Last event date (YYYY-MM-DD).")
@click.option("--series", is_flag=True, help="Export the index series instead of the articles.")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--language", "languages", multiple=True, help="Only this language (repeatable).")
@click.option(
    "--search",
    help="Only articles whose title or text has every word of this, each as a word start.",
)
@click.option(
    "--relevant-only", is_flag=True, help="Only articles about the monitored pair (articles)."
)
@click.option(
    "--range", "ranges", multiple=True, metavar="SIGNAL:LOW:HIGH",
    help="Only articles whose score lies in a range, e.g. decertification_risk:0.5:1.",
)  # fmt: skip
@click.option(
    "--mentions", multiple=True, metavar="COUNTRY",
    help="Only articles mentioning the monitored country or partner (repeatable).",
)  # fmt: skip
@click.option(
    "--sort", "sort_by", default="event_date", show_default=True,
    help="Sort column: event_date, page_date, title, source, language, a signal or relevance.",
)  # fmt: skip
@click.option("--ascending", is_flag=True, help="Sort ascending (default: descending).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many articles.")
@click.option(
    "--weight", "weights", multiple=True, metavar="SIGNAL=W",
    help="Weight in effect for the series (default: the config's).",
)  # fmt: skip
@click.option("--period", type=click.Choice(["day", "week", "month"]), help="Series period.")
@click.option("--window", type=click.IntRange(1, 365), help="Smoothing window in periods.")
@click.option("--share", is_flag=True, help="Add the EPU-style share columns to the series.")
@click.option(
    "--standardise", is_flag=True, help="Standardise each outlet's share (EPU; needs --share)."
)
@click.option(
    "--zip", "as_zip", is_flag=True,
    help="Write one zip holding the CSV and manifest; --output must then end in .zip.",
)  # fmt: skip
@click.option(
    "--like", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Reproduce a dashboard snapshot: take every setting from its .manifest.json.",
)  # fmt: skip
@click.pass_context
def export_command(
    ctx: click.Context, /, output_path: Path, like: Path | None, as_zip: bool, **opts: Any
) -> None:
    """Write a CSV snapshot of articles (or of the index series) with its manifest.

    The rows and columns are those the dashboard downloads for the same filters, weights and view.

    Example: policy-risk export --output snapshot.csv --from 2025-01-01 --search coca
    """
    if as_zip and output_path.suffix.lower() != ".zip":  # a zip named X.csv opens as garbage
        raise click.BadParameter(
            f"{output_path.name} with --zip: name the archive X.zip", param_hint="'--output'"
        )
    config = get_config(ctx)
    if like is not None:
        kind, spec = _from_manifest(ctx, config, like)
    else:
        kind, spec = ("series" if opts["series"] else "articles"), _spec_from_options(config, opts)
    rows = write_spec_snapshot(config, output_path, kind, spec, as_zip=as_zip)
    extra = "" if as_zip else " (+ manifest)"
    click.echo(f"Wrote {rows} row(s) to {output_path}{extra}.", err=True)


def default_since(today: date | None = None) -> date:
    """The ``alerts`` default: seven days before today (UTC)."""
    return (today or datetime.now(UTC).date()) - timedelta(days=7)
