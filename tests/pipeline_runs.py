"""Real ``python -m pipeline run`` processes for the concurrency and crash tests.

``trained_models`` gives a folder with a current model per signal (plus the relevance gate when
trained): the shipped ``models/`` when both signal models are there, otherwise models trained
once per session from ``models/data`` into a temp folder. ``write_run_config`` writes a config
that uses them; the database URL reaches the child through ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from pipeline import schema, store
from pipeline.config import load_config
from pipeline.scoring import load_models
from tests.conftest import ROOT, write_config

SIGNALS = ("decertification_risk", "cooperation_tone")


def _has_models(folder: Path) -> bool:
    return all((folder / signal / "CURRENT").is_file() for signal in SIGNALS)


@pytest.fixture(scope="session", name="trained_models")
def trained_models_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding ``<signal>/CURRENT`` for every configured signal."""
    if _has_models(ROOT / "models"):
        return ROOT / "models"
    from pipeline.examples import load_examples
    from pipeline.training import train_all

    folder = tmp_path_factory.mktemp("models-config")
    config = load_config(write_run_config(folder, [], folder / "models"))
    train_all(config, load_examples([ROOT / "models" / "data"]))
    return folder / "models"


def write_run_config(folder: Path, seeds: list[Path], models: Path) -> Path:
    """A config in ``folder`` reading ``seeds`` and scoring with the models in ``models``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, seeds=seeds)
    text = path.read_text(encoding="utf-8")
    for name in (*SIGNALS, "relevance"):
        text = text.replace(str(ROOT / "models" / name), str(models / name))
    path.write_text(text, encoding="utf-8")
    return path


def start_run(
    config: Path, url: str, log: Path, command: tuple[str, ...] = ("run", "--no-feeds")
) -> subprocess.Popen[bytes]:
    """Start ``python -m pipeline run --no-feeds`` (or another ``command``) on ``url``,
    output to ``log``."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", "--config", str(config), *command],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def count(engine: Engine, table: object) -> int:
    """Rows in one table."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def model_versions(config: Path) -> dict[str, str]:
    """Signal -> model version the runs score with (relevance included when present)."""
    return load_models(load_config(config)).versions()


def assert_complete(engine: Engine, config: Path, expected: int) -> None:
    """Every article stored exactly once and scored by every model."""
    a = schema.articles
    assert count(engine, a) == expected
    with engine.connect() as conn:
        hashes = conn.execute(select(func.count(func.distinct(a.c.content_hash)))).scalar_one()
        urls = conn.execute(select(func.count(func.distinct(a.c.url)))).scalar_one()
    assert hashes == urls == expected
    versions = model_versions(config)
    assert store.articles_to_score(engine, versions) == []
    assert count(engine, schema.current_scores) == expected * len(versions)
