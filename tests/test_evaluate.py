"""``policy-risk evaluate``: held-out metrics beside the baselines, and the analyst-label effect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.baselines import lexicon_relevance, lexicon_risk, lexicon_tone, vader_tone
from pipeline.cli_model import evaluate_command
from pipeline.config import load_config
from pipeline.evaluate import Row, analyst_effect, beats_baselines, evaluate, format_table
from pipeline.examples import Example, load_examples
from pipeline.scoring import load_models
from pipeline.store import open_store
from pipeline.training import TrainSettings
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    config = load_config(write_config(tmp_path_factory.mktemp("cfg")))
    return evaluate(config, load_examples([ROOT / "models" / "data"]), load_models(config))


def test_every_signal_is_measured_beside_its_baselines(rows: list[Row]) -> None:
    systems = {(r.signal, r.system, r.subset) for r in rows}
    assert ("decertification_risk", "lexicon", "all") in systems
    assert ("cooperation_tone", "VADER", "en") in systems
    assert ("relevance", "lexicon", "all") in systems
    for signal in ("decertification_risk", "cooperation_tone", "relevance"):
        assert (signal, "model", "all") in systems
        assert (signal, "model", "all, padded") in systems


def test_model_beats_every_baseline_on_the_held_out_split(rows: list[Row]) -> None:
    assert beats_baselines(rows) == {
        "decertification_risk": True,
        "cooperation_tone": True,
        "relevance": True,
    }


def test_table_has_one_line_per_row(rows: list[Row]) -> None:
    table = format_table(rows).splitlines()
    assert table[0].startswith("| signal | system | subset | n | precision")
    assert len(table) == len(rows) + 2


def test_baselines_read_the_obvious_words() -> None:
    risky, calm = "Washington decertifies Colombia; OFAC sanctions follow", "Rain in Bogotá"
    assert lexicon_risk([risky, calm]).tolist()[0] > lexicon_risk([risky, calm]).tolist()[1]
    tone = lexicon_tone(["Both sign a cooperation agreement", "Tariffs and retaliation threats"])
    assert tone[0] > 0 > tone[1]
    assert vader_tone(["A wonderful, friendly agreement"])[0] > 0
    pair = lexicon_relevance(["Colombia and the US talk", "Colombia votes"], ["colombia"], ["us"])
    np.testing.assert_array_equal(pair, [1.0, 0.0])


def test_analyst_labels_effect_is_reported_on_the_same_split(tmp_path: Path) -> None:
    from tests.test_training import _tariff_examples

    data = tmp_path / "t.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tariff_examples()) + "\n", encoding="utf-8")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"monitor:\n  relevance_model: {tmp_path / 'rel'}\nsignals:\n  tariff_tension:\n"
        f"    label: T\n    weight: 0.2\n    positive_from: 1\n    examples: {data}\n",
        encoding="utf-8",
    )
    config = load_config(config_path)
    examples = load_examples([data])
    analyst = [
        Example(
            f"analyst:{i}",
            "en",
            "US slaps duties on Colombian roses",
            "Growers fear losses.",
            {"tariff_tension": 2.0},
            origin="analyst",
            group=f"analyst:{i}",
        )
        for i in range(3)
    ]
    settings = TrainSettings(cross_validate=False, c_grid=(4.0,), max_features=2000)
    effect = analyst_effect(config, examples, analyst, settings)
    assert [r.system for r in effect] == ["without analyst labels", "with analyst labels"]
    assert all(r.metrics["n"] == effect[0].metrics["n"] for r in effect)


def test_evaluate_command_prints_and_writes_the_table(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    out = tmp_path / "evaluation.md"
    result = CliRunner().invoke(
        evaluate_command, ["--markdown", str(out)], obj={"config_path": config_path}
    )
    assert result.exit_code == 0, result.output
    assert "beats every baseline" in result.output
    assert result.output.endswith("\nEffect of analyst labels: skipped (no database yet)\n")
    assert out.read_text(encoding="utf-8").startswith("Held-out evaluation")


def test_evaluate_command_says_a_store_without_analyst_labels_is_skipped(tmp_path: Path) -> None:
    config_path = write_config(tmp_path)
    open_store(load_config(config_path).database.url).dispose()  # a store, with no labels in it
    out = tmp_path / "evaluation.md"
    result = CliRunner().invoke(
        evaluate_command, ["--markdown", str(out)], obj={"config_path": config_path}
    )
    assert result.exit_code == 0, result.output
    last = "Effect of analyst labels: no analyst labels in the store: skipped"
    assert result.output.endswith(f"\n{last}\n") and "(0 analyst" not in result.output
    assert out.read_text(encoding="utf-8").endswith(f"\n{last}\n")
    skipped = CliRunner().invoke(
        evaluate_command, ["--no-analyst-effect"], obj={"config_path": config_path}
    )
    assert skipped.output.endswith("\nEffect of analyst labels: skipped (--no-analyst-effect)\n")


def test_evaluate_command_says_labels_on_earlier_texts_were_left_out(tmp_path: Path) -> None:
    """QA 5 #12: evaluate reads the analyst labels as train does; a store whose only label was
    made on an earlier text of its article is not "a store without labels"."""
    from datetime import UTC, date, datetime

    from pipeline.records import Article
    from pipeline.store import save_label, upsert_articles

    config_path = write_config(tmp_path)
    engine = open_store(load_config(config_path).database.url)
    now, day = datetime(2026, 1, 5, tzinfo=UTC), date(2026, 1, 5)
    for text in ("Joint eradication agreement signed.", "Washington threatens decertification."):
        upsert_articles(engine, [Article("a1", "T", text, "s", "en", None, None, day, now, text)])
        if text.startswith("Joint"):
            save_label(engine, "a1", "decertification_risk", 0.0, "ana")
    engine.dispose()
    result = CliRunner().invoke(evaluate_command, [], obj={"config_path": config_path})
    assert result.exit_code == 0, result.output
    last = (
        "Effect of analyst labels: skipped (no analyst label on its article's current text"
        " (1 label(s) made on an earlier text of their article left out))"
    )
    assert result.output.endswith(f"\n{last}\n")
