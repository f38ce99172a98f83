"""Measure the shipped models on the held-out split, beside the baselines they must beat.

``policy-risk evaluate`` prints what this module computes: per signal, precision, recall and F1
(risk and relevance at 0.5; tone as the macro average of the three bands at +-1/3), ROC-AUC for
risks and Spearman's rho for tone, for the model, the keyword lexicon and (tone, English only)
VADER. It also scores *padded* held-out copies (each followed by unrelated held-out paragraphs)
as a check on article-length robustness, and, when the store holds analyst labels, retrains in
memory with and without them to report their effect on the same held-out split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.baselines import (
    keyword_risk,
    lexicon_relevance,
    lexicon_risk,
    lexicon_tone,
    vader_tone,
)
from pipeline.config import Config
from pipeline.crossval import Rows, metrics_for, pad
from pipeline.examples import RELEVANCE, Example, split_examples
from pipeline.scoring import ModelSet, score_documents
from pipeline.training import SignalTask, TrainSettings, rows_for, tasks_for, train_all

PRIMARY = {"risk": ("roc_auc", "f1"), "tone": ("spearman", "f1")}


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the evaluation table."""

    signal: str
    system: str
    subset: str
    metrics: dict[str, float]


def evaluate(config: Config, examples: Sequence[Example], models: ModelSet) -> list[Row]:
    """Score the held-out split with the models and the baselines, per signal."""
    _, held = split_examples(examples)
    rows: list[Row] = []
    for task in tasks_for(config):
        if task.signal not in models.models:
            continue
        data = rows_for(task, held)
        if len(data.targets) == 0:
            continue
        rows.extend(_model_rows(task, data, held, models))
        rows.extend(_baseline_rows(config, task, data, held))
    return rows


def _model_rows(
    task: SignalTask, data: Rows, held: Sequence[Example], models: ModelSet
) -> list[Row]:
    def model(documents: Sequence[str]) -> np.ndarray:
        return score_documents(models, documents)[task.signal]

    rows = [_row(task, "model", "all", data, model)]
    rows += [_row(task, "model", lang, _subset(task, held, lang), model) for lang in ("en", "es")]
    padded = pad(data, 1, seed=7)
    if len(padded.targets):
        rows.append(_row(task, "model", "all, padded", padded, model))
    return [r for r in rows if r.metrics.get("n")]


def _baseline_rows(
    config: Config, task: SignalTask, data: Rows, held: Sequence[Example]
) -> list[Row]:
    if task.signal == RELEVANCE:
        terms = config.monitor

        def baseline(documents: Sequence[str]) -> np.ndarray:
            return lexicon_relevance(documents, terms.country_terms, terms.partner_terms)

        return [_row(task, "lexicon", "all", data, baseline)]
    if task.kind == "tone":
        english = _subset(task, held, "en")
        return [
            _row(task, "lexicon", "all", data, lexicon_tone),
            _row(task, "VADER", "en", english, vader_tone),
        ]
    keywords = config.signals[task.signal].keywords
    if task.signal == "decertification_risk":
        return [_row(task, "lexicon", "all", data, lambda d: lexicon_risk(d, keywords))]
    return [_row(task, "lexicon", "all", data, lambda d: keyword_risk(d, keywords))]


def _subset(task: SignalTask, held: Sequence[Example], language: str) -> Rows:
    return rows_for(task, [e for e in held if e.language == language])


def _row(
    task: SignalTask,
    system: str,
    subset: str,
    data: Rows,
    predict: Callable[[Sequence[str]], np.ndarray],
) -> Row:
    if not len(data.targets):
        return Row(task.signal, system, subset, {})
    values = np.asarray(predict(data.documents), dtype=np.float64)
    return Row(
        task.signal, system, subset, metrics_for(task.kind, values, data.labels, data.targets)
    )


def beats_baselines(rows: Sequence[Row]) -> dict[str, bool]:
    """Per signal: does the model beat every baseline on each primary metric, same subset?"""
    verdict: dict[str, bool] = {}
    for row in rows:
        if row.system == "model":
            continue
        kind = "tone" if "spearman" in row.metrics else "risk"
        model = next(
            (
                r
                for r in rows
                if r.signal == row.signal and r.system == "model" and r.subset == row.subset
            ),
            None,
        )
        wins = model is not None and all(
            model.metrics.get(k, float("nan")) > row.metrics.get(k, float("nan"))
            for k in PRIMARY[kind]
        )
        verdict[row.signal] = verdict.get(row.signal, True) and wins
    return verdict


def analyst_effect(
    config: Config,
    examples: Sequence[Example],
    analyst: Sequence[Example],
    settings: TrainSettings,
) -> list[Row]:
    """Retrain in memory without and with the analyst labels; score both on the held-out split."""
    rows: list[Row] = []
    for label, extra in (("without analyst labels", ()), ("with analyst labels", analyst)):
        trained = train_all(config, [*examples, *extra], settings, save=False)
        models = ModelSet({m.signal: m for m in trained})
        rows += [
            replace(r, system=label)
            for r in evaluate(config, examples, models)
            if r.system == "model" and r.subset == "all"
        ]
    return rows


def report(
    config: Config,
    examples: Sequence[Example],
    models: ModelSet,
    analyst: tuple[Sequence[Example], str],
) -> list[str]:
    """The lines ``policy-risk evaluate`` prints: the held-out table, the verdict against the
    baselines, and the effect of the analyst labels (``analyst``: examples and a note)."""
    rows = evaluate(config, examples, models)
    text = [
        f"Held-out evaluation (models: {', '.join(models.versions().values())})",
        "",
        format_table(rows),
        "",
        *(
            f"{signal}: {'beats' if ok else 'does NOT beat'} every baseline"
            for signal, ok in beats_baselines(rows).items()
        ),
        "",
    ]
    if not analyst[0]:  # no empty section under a heading (QA3 #9): one line says why
        return [*text, f"Effect of analyst labels: {_why_skipped(analyst[1])}"]
    fixed = tuple(
        (m.signal, float(m.card.get("tuning", {}).get("C", 8.0))) for m in models.models.values()
    )
    settings = TrainSettings(cross_validate=False, fixed_c=fixed)
    effect = format_table(analyst_effect(config, examples, analyst[0], settings))
    return [*text, f"Effect of analyst labels ({analyst[1]}):", "", effect]


def _why_skipped(note: str) -> str:
    if note.startswith("0 "):  # labels.read_analyst_examples found the table, but no labels
        return "no analyst labels in the store: skipped"
    return f"skipped ({note})"


def format_table(rows: Sequence[Row]) -> str:
    """Render rows as a Markdown table (the same text goes into docs/model.md)."""
    header = "| signal | system | subset | n | precision | recall | F1 | ROC-AUC | Spearman |"
    lines = [header, "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [
            _cell(r.metrics.get(k)) for k in ("precision", "recall", "f1", "roc_auc", "spearman")
        ]
        lines.append(
            f"| {r.signal} | {r.system} | {r.subset} | {int(r.metrics.get('n', 0))} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def _cell(value: float | None) -> str:
    if value is None or value != value:  # NaN: undefined on this subset
        return "–"
    return f"{value:.3f}"
