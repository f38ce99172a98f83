"""The ``train``, ``evaluate`` and ``score`` commands; ``pipeline.cli`` registers them.

Errors are raised as PipelineError subclasses and left to the main group to print (exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli_common import WORKERS_OPTION, echo_progress, get_config
from pipeline.examples import Example

if TYPE_CHECKING:  # imported when a command runs: `policy-risk --help` stays fast
    from sqlalchemy import Engine

    from pipeline.scoring import ModelSet


@click.command("train")
@click.option(
    "--no-analyst-labels", is_flag=True, help="Ignore analyst corrections in the database."
)
@click.pass_context
def train_command(ctx: click.Context, no_analyst_labels: bool) -> None:
    """Train every configured signal and the relevance gate; save new model versions.

    Uses the labelled files each signal's `examples` names, plus analysts' label corrections
    from the configured database (never the held-out split). Takes a few minutes.

    Example: policy-risk train
    """
    from pipeline.examples import load_examples
    from pipeline.labels import read_analyst_examples
    from pipeline.training import default_example_paths, train_all

    config = get_config(ctx)
    examples = load_examples(default_example_paths(config))
    analyst: list[Example] = []
    note = "analyst labels not used"
    if not no_analyst_labels:
        analyst, note = read_analyst_examples(config.database.url, config.signals)
    click.echo(f"Training on {len(examples)} labelled examples and {note} ...", err=True)
    for model in train_all(config, [*examples, *analyst]):
        held = model.card.get("metrics_held_out", {})
        click.echo(
            f"{model.version}: cv {_brief(model.card['metrics_cv'])}; held-out {_brief(held)}"
        )


def _brief(metrics: dict[str, float]) -> str:
    keys = ("roc_auc", "spearman", "f1")
    return ", ".join(f"{k} {metrics[k]:.3f}" for k in keys if k in metrics) or "-"


@click.command("evaluate")
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the tables to this Markdown file.",
)
@click.option(
    "--no-analyst-effect", is_flag=True, help="Skip retraining with/without analyst labels."
)
@click.option(
    "--compare",
    is_flag=True,
    help="Also compare feature sets and estimators by CV on the training split (slow).",
)
@click.pass_context
def evaluate_command(
    ctx: click.Context, markdown_path: Path | None, no_analyst_effect: bool, compare: bool
) -> None:
    """Measure the current models on the held-out split beside the baselines.

    Per signal: precision, recall, F1, ROC-AUC (risk) and Spearman (tone) for the model, the
    keyword lexicon and VADER (tone, English only); then, when the database holds analyst
    labels, the same metrics for models retrained without and with them. With --compare, also
    the cross-validated comparison of feature sets and estimators (takes several minutes).

    Example: policy-risk evaluate --markdown evaluation.md
    """
    from pipeline.evaluate import report
    from pipeline.examples import load_examples
    from pipeline.labels import read_analyst_examples
    from pipeline.scoring import load_models
    from pipeline.training import default_example_paths

    config = get_config(ctx)
    models = load_models(config)
    examples = load_examples(default_example_paths(config))
    analyst: list[Example] = []
    note = "--no-analyst-effect"
    if not no_analyst_effect:
        analyst, note = read_analyst_examples(config.database.url, config.signals)
    text = report(config, examples, models, (analyst, note))
    if compare:
        from pipeline.selection import compare as run_comparison
        from pipeline.selection import format_comparison

        click.echo("Comparing feature sets and estimators (grouped 5-fold CV) ...", err=True)
        table = format_comparison(run_comparison(config, examples))
        text += ["", "Model selection (CV on the training split):", "", table]
    click.echo("\n".join(text))
    if markdown_path is not None:
        markdown_path.write_text("\n".join(text) + "\n", encoding="utf-8")


@click.command("score")
@click.option(
    "--rescore", is_flag=True, help="Re-score every article, not only new or out-of-date ones."
)
@WORKERS_OPTION
@click.pass_context
def score_command(ctx: click.Context, rescore: bool, workers: int | None) -> None:
    """Score stored articles that lack a score from the current model versions.

    `run` does this after ingesting; use `score` after `train`, or `score --rescore` to
    recompute every score and explanation (for instance after a scoring-code change). It is
    recorded as a run of kind "score": beside a running `run` or `watch`, the two share the
    backlog (score claims) instead of both scoring it.

    Example: policy-risk score --rescore
    """
    from pipeline.scoring import load_models
    from pipeline.store import open_store

    config = get_config(ctx)
    models = load_models(config)
    engine = open_store(config.database.url)
    try:
        _score(engine, models, workers, rescore)
    finally:
        engine.dispose()  # PostgreSQL: close the pooled connections before exiting


def _score(engine: Engine, models: ModelSet, workers: int | None, rescore: bool) -> None:
    from pipeline.parallel_scoring import worker_count
    from pipeline.run import score_stored
    from pipeline.score_claims import held_by_others
    from pipeline.store import now_utc

    summary = score_stored(
        engine, models, echo_progress, workers=worker_count(workers), rescore=rescore
    )
    versions = json.dumps(models.versions())
    click.echo(f"Scored {summary.scored} article(s) with {versions}.")
    if summary.scored_elsewhere:
        click.echo(
            f"  {summary.scored_elsewhere} article(s) scored by this run had been saved by "
            "another run first (not saved or counted twice).",
            err=True,
        )
    left = held_by_others(engine, summary.run_id, now_utc())
    if left:
        click.echo(
            f"{left} pending article(s) were left to run(s) still going on, which claimed them "
            "(docs/storage.md, score claims)."
        )
