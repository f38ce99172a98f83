"""End-to-end CLI tests on real temp configs and SQLite databases, with the shipped models."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from pipeline import schema, store
from pipeline.cli import cli
from tests.conftest import write_config

EXCERPTS = [
    {
        "id": "decert",
        "title": "US decertifies Colombia over record coca crop",
        "text": "The White House said Colombia failed demonstrably to meet its drug-control obligations and warned that aid cuts and sanctions could follow.",
    },
    {
        "id": "ofac",
        "title": "Treasury sanctions Colombian president over drug trade",
        "text": "The Office of Foreign Assets Control added the president to its sanctions list, accusing him of allowing cocaine trafficking to flourish.",
        "language": "en",
    },
    {
        "id": "descert",
        "title": "Estados Unidos descertifica a Colombia en la lucha antidrogas",
        "text": "La Casa Blanca concluyó que Colombia falló de manera demostrable en sus compromisos contra el narcotráfico y advirtió recortes de ayuda.",
        "language": "es",
    },
    {
        "id": "weather",
        "title": "Heavy rain expected across the Andes this weekend",
        "text": "Forecasters said storms would bring flooding to mountain valleys, and farmers were told to protect their harvests.",
    },
    {
        "id": "football",
        "title": "Bogotá club reaches the cup final",
        "text": "The team beat its rival two to one in a tense semifinal, and thousands of fans celebrated in the streets.",
    },
    {
        "id": "agreement",
        "title": "Colombia and the United States sign security cooperation agreement",
        "text": "Both governments praised their partnership as they signed a new accord to share information and expand joint programs.",
    },
    {
        "id": "dispute",
        "title": "Trump threatens Colombia with tariffs after deportation flights are turned back",
        "text": "Washington announced retaliatory tariffs and visa restrictions, and Bogotá answered with its own tariffs in an escalating dispute.",
    },
]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


def _invoke(config: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_every_command_has_help_text() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, command in cli.commands.items():
        assert command.help, f"command {name} has no help text"
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, sub.output
        assert "Example" in sub.output or "Usage" in sub.output


def test_run_ingests_scores_and_is_idempotent(config_path: Path) -> None:
    first = _invoke(config_path, "run", "--no-feeds")
    assert first.exit_code == 0, first.output
    assert "3 added, 0 updated, 3 scored; 0 source(s) failed" in first.output
    second = _invoke(config_path, "run", "--no-feeds")
    assert "0 added, 0 updated, 0 scored" in second.output


def test_run_says_how_many_articles_had_no_usable_date(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    records = [
        {"title": "Colombia and US renew drug cooperation", "text": "Officials signed a plan.",
         "url": "https://example.org/a", "published": "2025-03-04"},
        {"title": "Coca crop estimate released", "text": "The survey found more coca.",
         "url": "https://example.org/b"},
        {"title": "Aid review postponed", "text": "The review moved to next month.",
         "url": "https://example.org/c", "published": "2025-02-30"},
    ]
    lines = "\n".join(json.dumps(record) for record in records)
    (seeds / "mixed.jsonl").write_text(lines + "\n", encoding="utf-8")
    config = write_config(tmp_path, seeds=[seeds])
    first = _invoke(config, "run", "--no-feeds")
    assert first.exit_code == 0, first.output
    assert "3 added" in first.output
    assert "2 of the added or updated articles had no usable date" in first.output
    again = _invoke(config, "run", "--no-feeds")
    assert "0 added" in again.output and "no usable date" not in again.output


def test_an_edited_seed_file_updates_its_article_instead_of_adding_one(
    config_path: Path, seed_dir: Path
) -> None:
    """QA 3 #3: a seed file has no URL, so its id comes from its text; fixing a typo used to
    store the story a second time, and both copies counted in the index."""
    assert _invoke(config_path, "run", "--no-feeds").exit_code == 0
    seed = seed_dir / "decert.txt"
    seed.write_text(seed.read_text(encoding="utf-8").replace("waiving", "waiving most"), "utf-8")
    edited = _invoke(config_path, "run", "--no-feeds")
    assert "0 added, 1 updated, 1 scored" in edited.output, edited.output
    engine = store.open_store(f"sqlite:///{config_path.parent / 'test.db'}", create=False)
    a = schema.articles
    with engine.connect() as conn:
        texts = conn.execute(select(a.c.text).where(a.c.origin == "seeds/decert.txt")).scalars()
        assert ["waiving most" in t for t in texts] == [True]
    assert "0 added, 0 updated, 0 scored" in _invoke(config_path, "run", "--no-feeds").output
    seed.rename(seed_dir / "decert-renamed.txt")  # same text under another name: nothing new
    assert "0 added, 0 updated, 0 scored" in _invoke(config_path, "run", "--no-feeds").output
    engine.dispose()


def test_run_reports_unreadable_seed_and_ingests_the_rest(
    config_path: Path, seed_dir: Path
) -> None:
    (seed_dir / "broken.txt").write_bytes(b"\xff\xfe\x00 not utf-8 \x80\x81")
    result = _invoke(config_path, "run", "--no-feeds")
    assert result.exit_code == 1
    assert "3 added" in result.output
    assert "broken.txt" in result.output


def test_export_writes_one_row_per_article_with_signal_columns(
    config_path: Path, tmp_path: Path
) -> None:
    _invoke(config_path, "run", "--no-feeds")
    out = tmp_path / "snap.csv"
    result = _invoke(config_path, "export", "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert len(rows) == 3
    assert {
        "id",
        "url",
        "title",
        "source",
        "page_date",
        "event_date",
        "decertification_risk",
        "cooperation_tone",
    } <= set(rows[0])
    manifest = json.loads((tmp_path / "snap.manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"] == 3 and manifest["weights"]["decertification_risk"] == 0.6
    decert = next(r for r in rows if "failed demonstrably" in r["title"])
    assert decert["event_date"] == "2025-09-15" and decert["page_date"] == "2025-09-16"


def test_export_date_range_limits_rows(config_path: Path, tmp_path: Path) -> None:
    _invoke(config_path, "run", "--no-feeds")
    out = tmp_path / "range.csv"
    _invoke(
        config_path, "export", "--output", str(out), "--from", "2025-01-01", "--to", "2025-06-30"
    )
    rows = _rows(out)
    assert [r["event_date"] for r in rows] == ["2025-03-27"]


def test_export_series_has_composite(config_path: Path, tmp_path: Path) -> None:
    _invoke(config_path, "run", "--no-feeds")
    out = tmp_path / "series.csv"
    result = _invoke(config_path, "export", "--series", "--output", str(out))
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert "composite" in rows[0] and "composite_smoothed" in rows[0]
    assert any(r["composite"] for r in rows)


def test_classify_ranks_risk_and_tone_sensibly(config_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(
        "\n".join(json.dumps(e, ensure_ascii=False) for e in EXCERPTS) + "\n", encoding="utf-8"
    )
    target = tmp_path / "out.jsonl"
    result = _invoke(config_path, "classify", "--input", str(source), "--output", str(target))
    assert result.exit_code == 0, result.output
    scores = {r["id"]: r for r in map(json.loads, target.read_text(encoding="utf-8").splitlines())}
    assert set(scores) == {e["id"] for e in EXCERPTS}
    risky = ["decert", "ofac", "descert"]
    calm = ["weather", "football", "agreement"]
    assert min(scores[i]["decertification_risk"] for i in risky) > max(
        scores[i]["decertification_risk"] for i in calm
    )
    assert scores["dispute"]["cooperation_tone"] < scores["agreement"]["cooperation_tone"]
    assert all(
        -1 <= r["cooperation_tone"] <= 1 and 0 <= r["decertification_risk"] <= 1
        for r in scores.values()
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "in.jsonl:2: invalid JSON"),
        ('{"title": "no id or text"}', "in.jsonl:2: missing field(s) id, text"),
        ('["a list"]', "in.jsonl:2: expected a JSON object"),
    ],
)
def test_classify_bad_line_names_file_and_line(
    config_path: Path, tmp_path: Path, line: str, message: str
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "ok", "text": "fine"}\n' + line + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config_path),
            "classify",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "o.jsonl").exists()


def test_invalid_config_exits_1_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(
        "signals:\n  decertification_risk:\n    label: x\n    weight: high\n", encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["--config", str(bad), "run"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        'Error: config.yaml: signals.decertification_risk.weight: expected a number between -1 and 1, got "high" (line 4)'
    )


def test_missing_model_says_how_to_retrain(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        str(Path("models") / "decertification_risk"), "nowhere"
    )
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "run"])
    assert result.exit_code == 1
    assert "no trained model for signal 'decertification_risk'" in result.output
    assert "policy-risk train" in result.output


def test_config_from_environment_variable(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICY_RISK_CONFIG", str(config_path))
    result = CliRunner().invoke(cli, ["run", "--no-feeds"])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output


def test_run_never_prints_the_database_password(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as closed:  # a local port nothing listens on: the run fails to connect
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg://monitor:S3CRETpw@127.0.0.1:{port}/x")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "run", "--no-feeds"])
    assert result.exit_code == 1
    assert "Ingesting into postgresql+psycopg://monitor:***@127.0.0.1" in result.output
    assert "cannot open database" in result.output and "S3CRETpw" not in result.output
