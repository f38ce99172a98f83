"""Read the model cards (``models/<signal>/<version>.card.json``) for the dashboard's Model page.

Read-only and tolerant: a card that is missing keys or is not valid JSON is listed with what it
has rather than breaking the page. The model code itself lives in ``pipeline.model``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.config import Config
from pipeline.examples import RELEVANCE

CARD_SUFFIX = ".card.json"


@dataclass(frozen=True, slots=True)
class ModelCard:
    """The parts of a model card the dashboard shows."""

    signal: str
    version: str
    trained_at: str = ""
    n_train: int | None = None
    n_analyst: int | None = None  # of n_train, analysts' label corrections (None: older card)
    sklearn_version: str = ""
    metrics_cv: Mapping[str, float] = field(default_factory=dict)
    metrics_held_out: Mapping[str, float] = field(default_factory=dict)
    is_current: bool = False


def current_version(folder: Path) -> str | None:
    """The version named in the folder's ``CURRENT`` file, if any."""
    marker = folder / "CURRENT"
    try:
        return marker.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def read_card(path: Path, signal: str, current: str | None = None) -> ModelCard:
    """One card; unreadable files give a card with only the version (from the file name)."""
    version = path.name[: -len(CARD_SUFFIX)]
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    version = str(data.get("version") or version)
    n_train, n_analyst = data.get("n_train"), data.get("n_analyst")
    return ModelCard(
        signal=str(data.get("signal") or signal),
        version=version,
        trained_at=str(data.get("trained_at") or ""),
        n_train=int(n_train) if isinstance(n_train, int | float) else None,
        n_analyst=int(n_analyst) if isinstance(n_analyst, int | float) else None,
        sklearn_version=str(data.get("sklearn_version") or ""),
        metrics_cv=_metrics(data.get("metrics_cv")),
        metrics_held_out=_metrics(data.get("metrics_held_out")),
        is_current=version == current,
    )


def _metrics(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}


def read_cards(folder: Path, signal: str) -> list[ModelCard]:
    """Every card in a signal's model folder, newest training first."""
    if not folder.is_dir():
        return []
    current = current_version(folder)
    cards = [read_card(p, signal, current) for p in folder.glob(f"*{CARD_SUFFIX}")]
    return sorted(cards, key=lambda c: (c.trained_at, c.version), reverse=True)


def model_folders(config: Config) -> dict[str, Path]:
    """Signal (and the relevance gate) -> its model folder."""
    folders = {
        name: s.model or config.base_dir / "models" / name for name, s in config.signals.items()
    }
    folders[RELEVANCE] = config.monitor.relevance_model
    return folders


def _summary(metrics: Mapping[str, float]) -> str:
    keys = [k for k in ("roc_auc", "f1", "precision", "recall", "mae", "spearman") if k in metrics]
    keys += [k for k in sorted(metrics) if k not in keys and k != "n"]
    return ", ".join(f"{k} {metrics[k]:.3f}" for k in keys)


def cards_table(config: Config) -> pd.DataFrame:
    """One row per card of every configured signal: the current version first per signal."""
    rows = []
    for signal, folder in model_folders(config).items():
        for card in read_cards(folder, signal):
            rows.append(
                {
                    "signal": signal,
                    "version": card.version,
                    "current": card.is_current,
                    "trained_at": card.trained_at,
                    "n_train": card.n_train,
                    "n_analyst": card.n_analyst,
                    "cross_validated": _summary(card.metrics_cv),
                    "held_out": _summary(card.metrics_held_out),
                    "sklearn_version": card.sklearn_version,
                }
            )
    frame = pd.DataFrame(rows, columns=_COLUMNS)
    return frame.sort_values(["signal", "current"], ascending=[True, False], kind="stable")


_COLUMNS = [
    "signal", "version", "current", "trained_at", "n_train", "n_analyst", "cross_validated",
    "held_out", "sklearn_version",
]  # fmt: skip
