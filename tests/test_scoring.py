"""Scoring with the shipped models: fast path equals sklearn, explanations, confidence, tone."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import load_config
from pipeline.model import predict_values
from pipeline.normalise import normalise_item
from pipeline.records import Article
from pipeline.scoring import ModelSet, document_of, load_models, score_articles, score_documents
from pipeline.seeds import read_seeds
from tests.conftest import write_config

JOINT_OPERATION = (
    "Colombian and US forces seize eight tonnes of cocaine in joint operation\n"
    "The Colombian Navy and the US Coast Guard seized eight tonnes of cocaine and arrested a "
    "dozen traffickers in a joint operation in the Pacific. Both governments praised the close "
    "cooperation and the shared intelligence that made the drug seizure possible."
)
OPERACION_CONJUNTA = (
    "Golpe conjunto al narcotráfico: Armada de Colombia y la DEA incautan cinco toneladas\n"
    "La Armada de Colombia y la DEA de Estados Unidos incautaron cinco toneladas de cocaína en "
    "una operación conjunta. Ambos gobiernos destacaron la excelente cooperación antidrogas."
)
TRADE_QUARREL = (
    "Washington and Bogotá clash over flower and coffee tariffs\n"
    "The United States raised tariffs on Colombian cut flowers and coffee, and Colombia's trade "
    "minister denounced the measure as unfair and threatened retaliation. The trade dispute "
    "deepened as both sides traded accusations."
)
DISPUTA_COMERCIAL = (
    "Disputa comercial: Colombia protesta por los aranceles de Estados Unidos al café\n"
    "El gobierno colombiano rechazó los nuevos aranceles de Washington a las exportaciones de "
    "café y flores y anunció represalias comerciales. La tensión bilateral crece."
)


ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
# Which shipped seeds are about US–Colombia relations (``about_us_colombia``, docs/seeds.md).
EXPECTATIONS = ROOT / "tests" / "data" / "seed_expectations.json"
# The gate still lets some off-topic seeds through (docs/model.md, "Long articles"); this many.
OFF_TOPIC_PASSING_AT_MOST = 3


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelSet:
    return load_models(load_config(write_config(tmp_path_factory.mktemp("cfg"))))


def _article(article_id: str, document: str, language: str = "en") -> Article:
    title, text = document.split("\n", 1)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Article(
        article_id, title, text, "test", language, None, None, date(2026, 1, 1), now, "h"
    )


def test_fast_path_scores_equal_the_sklearn_pipeline(models: ModelSet) -> None:
    documents = [JOINT_OPERATION, TRADE_QUARREL, OPERACION_CONJUNTA, "", "Texto corto."]
    fast = score_documents(models, documents)
    for signal, model in models.models.items():
        expected = predict_values(model, model.vectoriser.transform(documents))
        np.testing.assert_allclose(fast[signal], expected, atol=1e-6)


@pytest.mark.parametrize("document", [JOINT_OPERATION, OPERACION_CONJUNTA])
def test_joint_antinarcotics_operation_reads_cooperative(models: ModelSet, document: str) -> None:
    """Tone is about the relationship, not drug vocabulary (issue 4)."""
    scores = score_documents(models, [document])
    assert scores["cooperation_tone"][0] > 0.2


@pytest.mark.parametrize("document", [TRADE_QUARREL, DISPUTA_COMERCIAL])
def test_trade_quarrel_reads_conflictual_with_low_risk(models: ModelSet, document: str) -> None:
    scores = score_documents(models, [document])
    assert scores["cooperation_tone"][0] < -0.2
    assert scores["decertification_risk"][0] < 0.3


def test_explanations_carry_terms_and_the_sentence(models: ModelSet) -> None:
    document = TRADE_QUARREL + " Officials said the weather was mild in Bogotá."
    scores = score_articles(models, [_article("a1", document)], datetime.now(UTC))
    assert {s.signal for s in scores} == set(models.models)
    tone = next(s for s in scores if s.signal == "cooperation_tone")
    explanation = json.loads(tone.explanation)
    assert set(explanation) == {"up", "down", "sentence", "sentence_weight"}
    assert explanation["down"] and all(w < 0 for _, w in explanation["down"])
    assert explanation["sentence"] in document
    assert "weather" not in explanation["sentence"]
    assert explanation["sentence_weight"] < 0
    assert tone.model_version == models.models["cooperation_tone"].version


def test_other_languages_are_scored_with_low_confidence(models: ModelSet) -> None:
    batch = [
        _article("pt", "Colômbia e EUA assinam acordo\nOs governos assinaram um acordo.", "pt"),
        _article("es", OPERACION_CONJUNTA, "es"),
    ]
    scores = score_articles(models, batch, datetime.now(UTC))
    confidence = {(s.article_id, s.signal): s.confidence for s in scores}
    assert all(confidence[("pt", signal)] == "low" for signal in models.models)
    assert all(confidence[("es", signal)] == "normal" for signal in models.models)


def test_empty_batch_scores_nothing(models: ModelSet) -> None:
    assert score_articles(models, [], datetime.now(UTC)) == []


def test_empty_article_gets_a_score_and_an_empty_explanation(models: ModelSet) -> None:
    [score, *_] = score_articles(models, [_article("e", "\n")], datetime.now(UTC))
    assert 0.0 <= score.value <= 1.0 or -1.0 <= score.value <= 1.0
    assert json.loads(score.explanation)["sentence"] == ""


def test_scores_are_stable_across_batches(models: ModelSet) -> None:
    """The growing token table must not change a document's score."""
    first = score_documents(models, [JOINT_OPERATION])
    score_documents(models, [f"neverseenword{i} and more unseen{i} tokens" for i in range(50)])
    again = score_documents(models, [JOINT_OPERATION])
    for signal in first:
        assert first[signal][0] == pytest.approx(again[signal][0], abs=1e-9)


def test_models_load_from_the_shipped_folder() -> None:
    models = load_models(load_config(Path(__file__).resolve().parents[1] / "config.yaml"))
    assert {"decertification_risk", "cooperation_tone", "relevance"} <= set(models.models)


def test_score_command_scores_pending_or_everything(config_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli_model import score_command
    from pipeline.run import run_pipeline

    run_pipeline(load_config(config_path), include_feeds=False)
    runner = CliRunner()
    pending = runner.invoke(score_command, [], obj={"config_path": config_path})
    assert pending.exit_code == 0, pending.output
    assert pending.stdout.startswith("Scored 0 article(s)")
    everything = runner.invoke(score_command, ["--rescore"], obj={"config_path": config_path})
    assert everything.exit_code == 0, everything.output
    assert everything.stdout.startswith("Scored 3 article(s)")


def test_older_word_only_artefacts_still_score_and_explain() -> None:
    """Models saved before the fast path (plain TfidfVectorizer) take the sklearn path."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from pipeline.model import SignalModel

    documents = [JOINT_OPERATION, TRADE_QUARREL, OPERACION_CONJUNTA, DISPUTA_COMERCIAL] * 3
    features = TfidfVectorizer(strip_accents="unicode", ngram_range=(1, 2)).fit(documents)
    head = LogisticRegression().fit(features.transform(documents), [1, 0, 1, 0] * 3)
    pipeline = Pipeline([("features", features), ("head", head)])
    model = SignalModel("old", "risk", "old-1", pipeline, {"signal": "old"})
    [score] = score_articles(
        ModelSet({"old": model}), [_article("x", TRADE_QUARREL)], datetime.now(UTC)
    )
    assert score.value == pytest.approx(pipeline.predict_proba([TRADE_QUARREL])[0, 1])
    explanation = json.loads(score.explanation)
    assert explanation["sentence"] and explanation["down"]


def test_relevance_gate_on_the_shipped_seeds(models: ModelSet) -> None:
    """Long real-style articles: the 14 seeds not about US–Colombia relations (Colombian weather,
    football, culture, summits; other countries' dealings with Washington) stay below the gate at
    0.5, all but a few, and every seed about the pair passes it. The models of 2026-11-27 let 13
    of the 14 through (docs/model.md)."""
    about = {n: e["about_us_colombia"] for n, e in json.loads(EXPECTATIONS.read_text()).items()}
    read = read_seeds([SEEDS])
    assert not read.errors
    now = datetime(2026, 1, 1, tzinfo=UTC)
    names = [Path(item.origin).name for item in read.items]
    articles = [normalise_item(item, now) for item in read.items]
    values = score_documents(models, [document_of(a.title, a.text) for a in articles])
    relevance = dict(zip(names, values["relevance"].tolist(), strict=True))
    assert set(relevance) == set(about)
    off_topic = [n for n in relevance if not about[n]]
    assert len(off_topic) == 14
    kept_in = {n: round(relevance[n], 3) for n in off_topic if relevance[n] >= 0.5}
    assert len(kept_in) <= OFF_TOPIC_PASSING_AT_MOST, kept_in
    assert min(relevance[n] for n in off_topic) < 0.1  # gated clearly, not at the margin
    left_out = {n: round(v, 3) for n, v in relevance.items() if about[n] and v < 0.5}
    assert not left_out
