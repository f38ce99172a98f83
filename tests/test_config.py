"""Config loading: valid files resolve paths; every invalid one names file, key path and expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.errors import ConfigError
from tests.conftest import ROOT


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
database:
  url: sqlite:///data/x.db
sources:
  seeds: [seeds]
signals:
  decertification_risk:
    label: Decertification risk
    weight: 0.6
  cooperation_tone:
    label: Cooperation tone
    kind: tone
    weight: {weight}
"""


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.yaml")
    assert list(config.signals)[:2] == ["decertification_risk", "cooperation_tone"]
    assert config.signals["cooperation_tone"].kind == "tone"
    assert config.index.annotations, "the shipped config preloads event annotations"


def test_relative_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL.format(weight=0.4)))
    assert config.sources.seeds == [(tmp_path / "seeds").resolve()]
    assert config.database.url == f"sqlite:///{(tmp_path / 'data' / 'x.db').resolve()}"
    assert (
        config.signals["decertification_risk"].model == tmp_path / "models" / "decertification_risk"
    )


def test_weight_error_names_file_key_and_expectation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, MINIMAL.format(weight='"high"')))
    assert str(info.value).startswith(
        'config.yaml: signals.cooperation_tone.weight: expected a number between -1 and 1, got "high"'
    )
    assert "(line 13)" in str(info.value)


def test_weight_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"weight: expected a number between -1 and 1, got 1.5"):
        load_config(_write(tmp_path, MINIMAL.format(weight=1.5)))


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=0.4).replace("  seeds: [seeds]", "  seeds: [seeds]\n  seedz: [x]")
    with pytest.raises(ConfigError, match=r"^config.yaml: sources.seedz: unknown key"):
        load_config(_write(tmp_path, text))


def test_wrong_period_lists_allowed_values(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=0.4) + "index:\n  period: fortnight\n"
    with pytest.raises(
        ConfigError,
        match=r"index.period: expected one of 'day', 'week' or 'month', got \"fortnight\"",
    ):
        load_config(_write(tmp_path, text))


def test_missing_signals_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^config.yaml: signals: required key is missing"):
        load_config(_write(tmp_path, "database:\n  url: sqlite:///x.db\n"))


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.yaml, line 3: invalid YAML"):
        load_config(_write(tmp_path, "signals:\n  a: [1, 2\n  b: 3\n"))


def test_missing_file_says_how_to_point_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found .*POLICY_RISK_CONFIG"):
        load_config(tmp_path / "nope.yaml")


def test_bad_feed_url_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=0.4).replace(
        "  seeds: [seeds]",
        "  seeds: [seeds]\n  feeds:\n    - name: x\n      url: javascript:alert(1)",
    )
    with pytest.raises(
        ConfigError, match=r"sources.feeds.0.url: expected an http:// or https:// URL"
    ):
        load_config(_write(tmp_path, text))


def test_database_url_env_var_overrides_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://user@localhost:5432/risk")
    config = load_config(_write(tmp_path, MINIMAL.format(weight=0.4)))
    assert config.database.url == "postgresql+psycopg://user@localhost:5432/risk"


def test_bad_signal_name_is_refused(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=0.4).replace("cooperation_tone:", "Cooperation-Tone:")
    with pytest.raises(
        ConfigError, match="signals.Cooperation-Tone: expected a name of lower-case"
    ):
        load_config(_write(tmp_path, text))
