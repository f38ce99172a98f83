"""The demo store the dashboard tests share: shipped seeds plus the small test seeds and one
hostile article, ingested and scored once per session by the real pipeline."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.run import run_pipeline
from tests.conftest import ROOT, SMALL_SEEDS, write_config

HOSTILE_TITLE = (
    "Colombia <script>alert('x')</script> decertification ![x](http://evil.example/t.png)"
)
HOSTILE_TEXT = (
    "The United States and Colombia <img src=http://evil.example/pixel.gif> discussed coca. "
    "[click](javascript:alert(1)) **bold** <b>raw</b> javascript:alert(document.cookie)"
)
HOSTILE = {
    "title": HOSTILE_TITLE,
    "text": HOSTILE_TEXT,
    "published": "2025-06-02",
    "url": "javascript:alert(1)",
    "source": "Hostile <i>Wire</i>",
    "language": "en",
}


def _seed_folder(folder: Path) -> Path:
    extra = folder / "extra_seeds"
    extra.mkdir(parents=True, exist_ok=True)
    for name, body in SMALL_SEEDS.items():
        (extra / name).write_text(body, encoding="utf-8")
    (extra / "hostile.json").write_text(json.dumps(HOSTILE), encoding="utf-8")
    return extra


def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the demo store once per session (later calls reuse it); return its config."""
    folder = tmp_path_factory.getbasetemp() / "dashboard_demo"
    config = folder / "config.yaml"
    if (folder / "ready").exists():
        return config
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, seeds=[ROOT / "seeds", _seed_folder(folder)])
    run_pipeline(load_config(path), include_feeds=False)
    (folder / "ready").write_text("ok", encoding="utf-8")
    return path


def fresh_copy(config: Path, target: Path, *, extra: str = "") -> Path:
    """A private copy of the demo store with its own config, for tests that write."""
    target.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal"):
        source = config.parent / f"test.db{suffix}"
        if source.exists():
            shutil.copy2(source, target / f"test.db{suffix}")
    seeds = [ROOT / "seeds", config.parent / "extra_seeds"]
    text = write_config(target, seeds=seeds, extra=extra).read_text(encoding="utf-8")
    commented = "# Analyst's notes: keep this comment when saving weights.\n" + text
    (target / "config.yaml").write_text(commented, encoding="utf-8")
    return target / "config.yaml"
