"""Training: the fixed held-out split, signals from config, and analyst labels from the store."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.crossval import C_TOLERANCE, pick_c
from pipeline.errors import ModelError
from pipeline.examples import (
    Example,
    held_out_ids,
    is_held_out,
    load_examples,
    read_manifest,
    split_examples,
)
from pipeline.labels import SignalScale, label_value, read_analyst_examples
from pipeline.model import load_model
from pipeline.scoring import ModelSet, score_documents
from pipeline.stories import story_groups, story_pairs
from pipeline.training import SignalTask, TrainSettings, rows_for, train_all

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "models" / "data"
QUICK = TrainSettings(c_grid=(4.0,), folds=3, max_features=3000)


@pytest.fixture(scope="module")
def corpus() -> list[Example]:
    return load_examples([DATA])


def test_regularisation_is_the_strongest_within_tolerance_of_the_best() -> None:
    """A flat CV curve's maximum is noise: the smallest C close enough to it wins."""
    flat = {4.0: 0.7165, 8.0: 0.7182, 16.0: 0.7191, 32.0: 0.7191, 64.0: 0.7205}
    assert pick_c(flat) == 4.0
    steep = {4.0: 0.70, 8.0: 0.71, 16.0: 0.7205 - C_TOLERANCE / 2, 64.0: 0.7205}
    assert pick_c(steep) == 16.0
    assert pick_c({8.0: 0.9, 4.0: 0.8}) == 8.0


def test_corpus_is_large_bilingual_and_covers_every_level(corpus: list[Example]) -> None:
    assert len(corpus) >= 1200
    languages = [e.language for e in corpus]
    assert 0.4 < languages.count("es") / len(corpus) < 0.6
    for signal, levels in (("decertification_risk", range(4)), ("cooperation_tone", range(-2, 3))):
        found = {e.labels[signal] for e in corpus}
        assert {float(v) for v in levels} <= found


def test_heldout_manifest_matches_the_split_rule(corpus: list[Example]) -> None:
    assert held_out_ids(corpus) == read_manifest(DATA)
    train, held = split_examples(corpus)
    assert len(train) + len(held) == len(corpus)
    assert 0.12 < len(held) / len(corpus) < 0.25


def test_no_story_straddles_the_split(corpus: list[Example]) -> None:
    """Translations and retellings share a group; detection re-run finds nothing new."""
    for i, j, _ in story_pairs(corpus):
        assert is_held_out(corpus[i].story) == is_held_out(corpus[j].story), (
            corpus[i].example_id,
            corpus[j].example_id,
        )
    groups = story_groups(corpus)
    assert all(groups.get(e.example_id, "") == e.group for e in corpus)


def test_a_translation_is_grouped_with_its_original() -> None:
    english = Example(
        "a-1",
        "en",
        "Trump orders 25% tariffs on Colombia",
        "Washington imposed 25% tariffs on Colombian goods after Petro turned back two deportation flights from Tumaco.",
        {"cooperation_tone": -2, "decertification_risk": 0, "relevance": 1},
    )
    spanish = Example(
        "b-1",
        "es",
        "Trump ordena aranceles del 25 % a Colombia",
        "Washington impuso aranceles del 25 % a productos colombianos después de que Petro devolviera dos vuelos de deportación desde Tumaco.",
        {"cooperation_tone": -2, "decertification_risk": 0, "relevance": 1},
    )
    other = Example(
        "c-1",
        "es",
        "Lluvias en La Guajira",
        "Las lluvias dejaron damnificados en Riohacha y Maicao durante el fin de semana.",
        {"cooperation_tone": 0, "decertification_risk": 0, "relevance": 0},
    )
    groups = story_groups([english, spanish, other])
    assert groups == {"a-1": "a-1", "b-1": "a-1"}


def test_analyst_examples_are_never_held_out() -> None:
    held_story = next(f"analyst:{i}" for i in range(1000) if is_held_out(f"analyst:{i}"))
    example = Example(
        held_story, "en", "t", "x", {"cooperation_tone": 1}, origin="analyst", group=held_story
    )
    train, held = split_examples([example])
    assert train == [example] and held == []


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (0.9, SignalScale("risk", 2.0), 2.0),
        (0.2, SignalScale("risk", 2.0), 0.0),
        (3.0, SignalScale("risk", 2.0), 3.0),
        (-0.5, SignalScale("tone", 2.0), -1.0),
        (1.0, SignalScale("risk", 1.0), 1.0),
    ],
)
def test_label_value_maps_score_scale_onto_label_scale(
    value: float, scale: SignalScale, expected: float
) -> None:
    assert label_value(value, scale) == expected


def test_tone_correction_trains_as_the_nearest_level_of_the_label_scale(tmp_path: Path) -> None:
    """QA 5 #7: a tone nudged towards neutral (+0.05, or 0.476 stepped down to 0.026) trained as
    cooperative, because the class was the sign of the doubled value."""
    from pipeline import store
    from pipeline.records import Article

    url = f"sqlite:///{tmp_path / 'tones.db'}"
    engine = store.open_store(url)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    # (tone correction, expected level, expected class); a half rounds away from zero
    cases = [
        (0.05, 0.0, 0),
        (-0.05, 0.0, 0),
        (0.476 - 0.45, 0.0, 0),
        (-0.2, 0.0, 0),
        (_stepped(0.1, 3), 1.0, 1),  # 0.25 as the stepped box holds it
        (-0.25, -1.0, -1),
        (0.476, 1.0, 1),
        (-0.74, -1.0, -1),
        (0.75, 2.0, 1),
        (-1.0, -2.0, -1),
    ]
    for n, (value, _, _) in enumerate(cases):
        day = date(2026, 1, 5)
        article = Article(f"art{n}", f"T{n}", "Body.", "src", "en", None, None, day, now, f"h{n}")
        store.upsert_articles(engine, [article])
        store.save_label(engine, f"art{n}", "cooperation_tone", value, "ana")
    config = load_config(_write_minimal_config(tmp_path, url))
    examples, _ = read_analyst_examples(url, config.signals)
    by_id = {e.example_id: e for e in examples}
    chosen = [by_id[f"analyst:art{n}"] for n in range(len(cases))]
    rows = rows_for(SignalTask("cooperation_tone", "tone", 2.0), chosen)
    assert rows.labels.tolist() == [level for _, level, _ in cases]
    assert rows.targets.tolist() == [target for _, _, target in cases]


def _stepped(start: float, steps: int) -> float:
    """What the value box holds after ``steps`` clicks of 0.05 (negative: down)."""
    value = start
    for _ in range(abs(steps)):
        value += 0.05 if steps > 0 else -0.05
    return value


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (_stepped(0.7, -4), SignalScale("risk", 2.0), 2.0),  # 0.49999999999999983
        (_stepped(0.0, 10), SignalScale("risk", 1.0), 1.0),  # 0.49999999999999994
        (0.49, SignalScale("risk", 2.0), 0.0),
        (_stepped(1.0, -5), SignalScale("tone", 2.0), 2.0),  # 0.7499999999999998
        (_stepped(-1.0, 5), SignalScale("tone", 2.0), -2.0),
    ],
)
def test_correction_stepped_onto_a_boundary_counts_as_the_boundary(
    value: float, scale: SignalScale, expected: float
) -> None:
    """A risk of 0.5 is the positive class and a tone of 0.75 the strong level, also when the
    box's floating-point steps land a hair below them."""
    assert label_value(value, scale) == expected


def _tariff_examples() -> list[dict[str, Any]]:
    """A tiny labelled file for a signal the code has never heard of."""
    rng = random.Random(3)
    goods = ["flowers", "coffee", "steel", "avocados", "bananas", "textiles", "flores", "café"]
    hot = [
        "threatens new tariffs on",
        "raises duties on",
        "imposes a 25% tariff on",
        "anuncia aranceles a",
    ]
    calm = [
        "signs a trade facilitation deal for",
        "opens its market to",
        "celebrates record exports of",
        "firma acuerdo para exportar",
    ]
    rows = []
    for i in range(48):
        tense = i % 2 == 0
        verb = rng.choice(hot if tense else calm)
        good = rng.choice(goods)
        text = f"Officials said Washington {verb} Colombian {good}. Exporters in Bogotá {'warned of losses and retaliation' if tense else 'welcomed the news'}."
        rows.append(
            {
                "id": f"tt-{i:03d}",
                "language": "en",
                "title": f"US {verb} {good}",
                "text": text,
                "labels": {"tariff_tension": 2 if tense else 0},
            }
        )
    return rows


def test_new_signal_from_config_trains_without_code_change(tmp_path: Path) -> None:
    data = tmp_path / "tariff.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tariff_examples()) + "\n", encoding="utf-8")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"""
database:
  url: sqlite:///{tmp_path / "db.sqlite"}
monitor:
  relevance_model: {tmp_path / "models" / "relevance"}
signals:
  tariff_tension:
    label: Tariff tension
    kind: risk
    positive_from: 1
    keywords: [tariff, arancel]
    weight: 0.3
    examples: {data}
""",
        encoding="utf-8",
    )
    config = load_config(config_path)
    examples = load_examples([data])
    [model] = train_all(config, examples, QUICK)
    assert model.signal == "tariff_tension"
    loaded = load_model(tmp_path / "models" / "tariff_tension", "tariff_tension")
    assert loaded.version == model.version
    for key in ("training_data_sha256", "metrics_cv", "sklearn_version", "artefact"):
        assert key in loaded.card
    scores = score_documents(
        ModelSet({"tariff_tension": loaded}),
        [
            "Washington imposes a 25% tariff on Colombian steel; exporters warn of retaliation",
            "Colombia signs a trade facilitation deal for coffee exports; exporters welcomed it",
        ],
    )["tariff_tension"]
    assert scores[0] > scores[1]


def test_training_refuses_a_signal_with_too_few_examples(tmp_path: Path) -> None:
    data = tmp_path / "few.jsonl"
    rows = _tariff_examples()[:6]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"signals:\n  tariff_tension:\n    label: T\n    weight: 0.1\n    positive_from: 1\n    examples: {data}\n",
        encoding="utf-8",
    )
    with pytest.raises(ModelError, match="need at least 5 examples of each class"):
        train_all(load_config(config_path), load_examples([data]), QUICK)


def test_analyst_labels_are_read_latest_first(tmp_path: Path) -> None:
    from pipeline import store
    from pipeline.records import Article

    url = f"sqlite:///{tmp_path / 'labels.db'}"
    engine = store.open_store(url)
    now = datetime(2026, 1, 5, tzinfo=UTC)
    article = Article(
        "art1", "Headline", "Body text.", "src", "en", None, None, date(2026, 1, 5), now, "h1"
    )
    store.upsert_articles(engine, [article])
    store.save_label(engine, "art1", "cooperation_tone", -0.5, "ana")
    store.save_label(engine, "art1", "cooperation_tone", 1.0, "ben")
    store.save_label(engine, "art1", "decertification_risk", 0.9, "ana")
    store.save_label(engine, "art1", "no_longer_configured", 1.0, "ana")
    config = load_config(_write_minimal_config(tmp_path, url))
    examples, note = read_analyst_examples(url, config.signals)
    assert note == "1 analyst-labelled article(s)"
    [example] = examples
    assert example.is_analyst and example.example_id == "analyst:art1"
    assert example.labels == {"cooperation_tone": 2.0, "decertification_risk": 2.0}


def test_analyst_labels_absent_database_is_not_an_error(tmp_path: Path) -> None:
    config = load_config(_write_minimal_config(tmp_path, f"sqlite:///{tmp_path / 'none.db'}"))
    assert read_analyst_examples(config.database.url, config.signals) == ([], "no database yet")


def _write_minimal_config(folder: Path, url: str) -> Path:
    path = folder / "config.yaml"
    path.write_text(
        f"""
database:
  url: {url}
signals:
  decertification_risk: {{label: Risk, kind: risk, weight: 0.6}}
  cooperation_tone: {{label: Tone, kind: tone, weight: 0.4}}
""",
        encoding="utf-8",
    )
    return path


def test_train_command_trains_the_configured_signals(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline.cli_model import train_command

    data = tmp_path / "tariff.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tariff_examples()) + "\n", encoding="utf-8")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"monitor:\n  relevance_model: {tmp_path / 'rel'}\nsignals:\n  tariff_tension:\n"
        f"    label: T\n    weight: 0.2\n    positive_from: 1\n    examples: {data}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(train_command, [], obj={"config_path": config_path})
    assert result.exit_code == 0, result.output
    assert "Training on 48 labelled examples and no database yet" in result.output
    assert "tariff_tension-" in result.output and "held-out" in result.output
    assert (tmp_path / "models" / "tariff_tension" / "CURRENT").is_file()


def _label_then_rewrite(url: str) -> None:
    """Three labelled articles: one rewritten after its labels, one relabelled after its
    rewrite, and one labelled before revision 0020 (no hash), as QA 5 #12 found them."""
    from sqlalchemy import insert

    from pipeline import schema, store
    from pipeline.records import Article

    engine = store.open_store(url)
    now, day = datetime(2026, 1, 5, tzinfo=UTC), date(2026, 1, 5)

    def article(aid: str, text: str) -> Article:
        return Article(aid, f"Headline {aid}", text, "src", "es", None, None, day, now, text)

    agreed, threat = "Acuerdo conjunto de erradicación.", "EE. UU. amenaza con descertificar."
    store.upsert_articles(engine, [article("art1", agreed), article("art2", agreed + " Dos.")])
    store.upsert_articles(engine, [article("art3", agreed + " Tres.")])
    store.save_label(engine, "art1", "decertification_risk", 0.0, "ana")
    store.save_label(engine, "art1", "cooperation_tone", 1.0, "ana")
    store.save_label(engine, "art2", "cooperation_tone", 1.0, "ana")
    with engine.begin() as conn:  # as a program before 0020 stored it: no hash
        conn.execute(
            insert(schema.labels).values(
                article_id="art3",
                signal="cooperation_tone",
                new_value=-1.0,
                labelled_by="old",
                labelled_at=now,
            )
        )
    store.upsert_articles(engine, [article("art1", threat), article("art2", threat + " Dos.")])
    store.save_label(engine, "art2", "cooperation_tone", -1.0, "ben")  # on the new text
    engine.dispose()


def test_label_made_on_an_earlier_text_is_left_out_and_counted(tmp_path: Path) -> None:
    """QA 5 #12: "no decertification risk" given to an agreement trained on the threat that
    replaced its text."""
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    _label_then_rewrite(url)
    config = load_config(_write_minimal_config(tmp_path, url))
    examples, note = read_analyst_examples(url, config.signals)
    assert note == (
        "2 analyst-labelled article(s) (2 label(s) made on an earlier text of their article"
        " left out)"
    )
    found = {e.example_id: (e.text, e.labels) for e in examples}
    assert found == {
        "analyst:art2": ("EE. UU. amenaza con descertificar. Dos.", {"cooperation_tone": -2.0}),
        "analyst:art3": ("Acuerdo conjunto de erradicación. Tres.", {"cooperation_tone": -2.0}),
    }


def test_only_labels_on_earlier_texts_say_so_rather_than_no_labels(tmp_path: Path) -> None:
    from pipeline import store

    url = f"sqlite:///{tmp_path / 'labels.db'}"
    _label_then_rewrite(url)
    engine = store.open_store(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM labels WHERE article_id != 'art1'")
    engine.dispose()
    config = load_config(_write_minimal_config(tmp_path, url))
    assert read_analyst_examples(url, config.signals) == (
        [],
        "no analyst label on its article's current text (2 label(s) made on an earlier text"
        " of their article left out)",
    )


def test_train_command_says_how_many_labels_it_left_out(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeline import store
    from pipeline.cli_model import train_command
    from pipeline.records import Article

    url = f"sqlite:///{tmp_path / 'labels.db'}"
    engine = store.open_store(url)
    now, day = datetime(2026, 1, 5, tzinfo=UTC), date(2026, 1, 5)
    for aid, text in (("calm", "Exporters welcomed the news."), ("hot", "Tariffs on flowers.")):
        store.upsert_articles(
            engine, [Article(aid, aid, text, "s", "en", None, None, day, now, text)]
        )
        store.save_label(engine, aid, "tariff_tension", 0.0, "ana")
    changed = "Washington imposes a 25% tariff on flowers."
    store.upsert_articles(
        engine, [Article("hot", "hot", changed, "s", "en", None, None, day, now, changed)]
    )
    engine.dispose()
    data = tmp_path / "tariff.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in _tariff_examples()) + "\n", encoding="utf-8")
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        f"database:\n  url: {url}\nmonitor:\n  relevance_model: {tmp_path / 'rel'}\n"
        f"signals:\n  tariff_tension:\n    label: T\n    weight: 0.2\n    positive_from: 1\n"
        f"    examples: {data}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(train_command, [], obj={"config_path": config_path})
    assert result.exit_code == 0, result.output
    assert (
        "Training on 48 labelled examples and 1 analyst-labelled article(s) (1 label(s) made on"
        " an earlier text of their article left out)"
    ) in result.output
    card = json.loads(next((tmp_path / "models" / "tariff_tension").glob("*.json")).read_text())
    assert card["n_analyst"] == 1
