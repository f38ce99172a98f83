"""Safe links, the feed status table, seed folders, and the model cards reader."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.display import (
    date_flag_notes,
    feed_status,
    latest_refresh,
    safe_link,
    seed_folders,
    stale_versions,
    with_safe_links,
)
from pipeline.model_cards import cards_table, current_version, read_card, read_cards
from tests.conftest import write_config


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=1", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>", False),
        ("vbscript:x", False),
        ("//example.org/x", False),
        ("https://example.org/<script>", False),
        ("https:///nohost", False),
        ("", False),
        (None, False),
        (float("nan"), False),
    ],
)
def test_only_plain_web_links_are_kept(url: object, safe: bool) -> None:
    assert (safe_link(url) is not None) == safe


def test_date_flags_are_said_in_plain_words() -> None:
    assert date_flag_notes("") == [] and date_flag_notes(None) == []
    assert date_flag_notes("future-date:2099-01-01,undated") == [
        "refused the date 2099-01-01: after the day the article was first seen",
        "no usable date: placed on the day it was first seen",
    ]
    assert date_flag_notes("implausible-date:1900-01-01") == [
        "refused the date 1900-01-01: before 1990"
    ]
    assert date_flag_notes("some-new-flag") == ["some-new-flag"]  # unknown flags shown as stored


def test_with_safe_links_clears_only_bad_cells() -> None:
    frame = pd.DataFrame({"url": ["https://a.example/x", "javascript:alert(1)"]})
    cleaned = with_safe_links(frame)["url"]
    assert cleaned.iloc[0] == "https://a.example/x" and pd.isna(cleaned.iloc[1])
    assert frame["url"].tolist()[1] == "javascript:alert(1)"  # the original is untouched


def test_feed_status_covers_configured_and_known_feeds(tmp_path: Path) -> None:
    feeds: list[dict[str, object]] = [
        {"name": "Healthy", "url": "https://a.example/rss"},
        {"name": "Broken", "url": "https://b.example/rss"},
        {"name": "New", "url": "https://c.example/rss"},
        {"name": "Off", "url": "https://d.example/rss", "enabled": False},
    ]
    config = load_config(write_config(tmp_path, feeds=feeds))
    rows = pd.DataFrame(
        {
            "name": ["Healthy", "Broken", "Gone"],
            "url": ["https://a.example/rss", "https://b.example/rss", "https://g.example/rss"],
            "last_attempt_at": [pd.Timestamp("2026-01-01")] * 3,
            "consecutive_failures": [0, 4, 0],
        }
    )
    table = feed_status(config, rows)
    states = dict(zip(table["name"], table["state"], strict=True))
    assert states == {
        "Healthy": "healthy",
        "Broken": "failing",
        "New": "not fetched yet",
        "Off": "disabled",
        "Gone": "not in config",
    }
    assert table.loc[table["name"] == "New", "url"].item() == "https://c.example/rss"


def test_seed_folders_count_seed_files(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("x", encoding="utf-8")
    (seeds / "b.jsonl").write_text("{}", encoding="utf-8")
    (seeds / "ignore.png").write_bytes(b"")
    config = load_config(write_config(tmp_path, seeds=[seeds, tmp_path / "missing"]))
    table = seed_folders(config)
    assert table["files"].tolist() == [2, 0] and table["exists"].tolist() == [True, False]
    assert table["last_changed"].iloc[0] is not None


def _card(folder: Path, version: str, **fields: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.card.json"
    data = {"signal": "decertification_risk", "version": version, **fields}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_model_cards_are_read_with_the_current_version_marked(tmp_path: Path) -> None:
    folder = tmp_path / "decertification_risk"
    _card(folder, "v1", trained_at="2026-01-01T00:00:00+00:00", n_train=10)
    _card(
        folder, "v2", trained_at="2026-02-01T00:00:00+00:00", n_train=20, n_analyst=3,
        metrics_cv={"roc_auc": 0.91, "f1": 0.7, "n": 20}, sklearn_version="1.9.1",
    )  # fmt: skip
    (folder / "CURRENT").write_text("v2\n", encoding="utf-8")
    (folder / "broken.card.json").write_text("{not json", encoding="utf-8")
    assert current_version(folder) == "v2"
    cards = read_cards(folder, "decertification_risk")
    assert [c.version for c in cards] == ["v2", "v1", "broken"]
    assert cards[0].is_current and cards[0].metrics_cv["roc_auc"] == 0.91
    assert (cards[0].n_analyst, cards[1].n_analyst) == (3, None)  # v1's card predates the count
    assert read_card(folder / "broken.card.json", "decertification_risk").trained_at == ""
    assert read_cards(tmp_path / "missing", "x") == []


def test_cards_table_and_store_versions_for_the_shipped_models(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    cards = cards_table(config)
    assert {"decertification_risk", "cooperation_tone", "relevance"} <= set(cards["signal"])
    assert cards.groupby("signal")["current"].sum().eq(1).all()
    assert cards["cross_validated"].str.contains("roc_auc|mae|f1").any()
    shipped = cards[cards["current"] & cards["signal"].ne("relevance")]
    assert shipped["n_analyst"].tolist() == [0, 0]  # trained before any analyst correction
    current = cards[cards["current"]].set_index("signal")["version"]
    versions = pd.DataFrame(
        {
            "signal": ["decertification_risk", "cooperation_tone"],
            "model_version": [current["decertification_risk"], "cooperation_tone-old"],
            "articles": [5, 3],
            "last_scored_at": ["2026-01-01 10:00:00", "2026-02-01 09:00:00"],
        }
    )
    assert stale_versions(cards, versions)["model_version"].tolist() == ["cooperation_tone-old"]
    assert latest_refresh(versions) == "2026-02-01 09:00:00"
    assert latest_refresh(versions.iloc[0:0]) == "never"
