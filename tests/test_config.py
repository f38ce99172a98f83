"""Config loading: valid files resolve paths; every invalid one names file, key path and expectation."""

from __future__ import annotations

import re
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
    with pytest.raises(ConfigError, match=r"^config.yaml: invalid YAML: .* \(line 3\)$"):
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


ANNOTATION = (
    MINIMAL.format(weight=0.4) + "index:\n  annotations:\n    - {{date: {date}, label: X}}\n"
)


@pytest.mark.parametrize(
    ("date", "reason"),
    [("2025-02-30", "day is out of range for month"), ("2025-13-01", "month must be in 1..12")],
)
def test_impossible_date_is_a_config_error_with_key_and_line(
    tmp_path: Path, date: str, reason: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, ANNOTATION.format(date=date)))
    assert str(info.value) == (
        f"config.yaml: index.annotations.0.date: {date} is not a date (YYYY-MM-DD): "
        f"{reason} (line 16)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01 25:00:00", "index.when: 2025-01-01 25:00:00 is not a date and time"),
        ("!!int abc", "index.when: abc is not a whole number"),
        ("!!float abc", "index.when: abc is not a number"),
        ("[1, !!int 0xZZ]", "index.when.1: 0xZZ is not a whole number"),
    ],
)
def test_every_value_yaml_cannot_build_is_a_config_error(
    tmp_path: Path, value: str, expected: str
) -> None:
    text = MINIMAL.format(weight=0.4) + f"index:\n  when: {value}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert str(info.value).startswith(f"config.yaml: {expected}")
    assert str(info.value).endswith("(line 15)")


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('index:\n  alert_threshold: "0.6"', 'index.alert_threshold: expected a number, got "0.6"'),
        (
            'index:\n  smoothing_window: "7"',
            'index.smoothing_window: expected a whole number, got "7"',
        ),
        (
            "index:\n  smoothing_window: 7.0",
            "index.smoothing_window: expected a whole number, got 7.0",
        ),
        (
            "index:\n  alert_threshold: .nan",
            "index.alert_threshold: expected a finite number, got NaN",
        ),
        (
            'index:\n  yearly_annotations: [{month: "9", day: 15, label: X}]',
            "month: expected a whole",
        ),
        ('sources:\n  fetch: {connect_timeout_s: "10"}', "connect_timeout_s: expected a number"),
    ],
)
def test_numbers_given_as_text_are_refused_everywhere(
    tmp_path: Path, setting: str, expected: str
) -> None:
    text = MINIMAL.format(weight=0.4).replace("sources:\n  seeds: [seeds]\n", "") + setting + "\n"
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(_write(tmp_path, text))


def _feed(tmp_path: Path, extra: str) -> Path:
    return _write(
        tmp_path,
        MINIMAL.format(weight=0.4).replace(
            "  seeds: [seeds]", f"  seeds: [seeds]\n  feeds:\n    - name: x\n{extra}"
        ),
    )


@pytest.mark.parametrize("language", ["english", "EN", "e", "eng", "1a", "xx", "sp"])
def test_feed_language_must_be_a_two_letter_code(tmp_path: Path, language: str) -> None:
    path = _feed(tmp_path, f"      url: https://a.example/rss\n      language: {language}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        "config.yaml: sources.feeds.0.language: expected a two-letter lower-case ISO 639-1 code "
        f'such as en or es, got "{language}" (line 9)'
    )


def test_feed_language_code_and_upper_case_scheme_are_accepted(tmp_path: Path) -> None:
    path = _feed(tmp_path, "      url: HTTPS://A.example/rss\n      language: es")
    feed = load_config(path).sources.feeds[0]
    assert (feed.url, feed.language) == ("https://A.example/rss", "es")


@pytest.mark.parametrize("url", ["ftp://a.example/rss", "https://", "javascript:alert(1)"])
def test_non_web_feed_url_gets_a_plain_message(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_feed(tmp_path, f'      url: "{url}"'))
    assert str(info.value) == (
        f'config.yaml: sources.feeds.0.url: expected an http:// or https:// URL, got "{url}" '
        "(line 8)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "",
            "config.yaml: expected a mapping of settings at the top level, got an empty file (line 1)",
        ),
        (
            "- a\n- b\n",
            "config.yaml: expected a mapping of settings at the top level, got a list (line 1)",
        ),
        (
            "database: {}\nsignals: {}\n",
            "config.yaml: signals: expected at least one signal (line 2)",
        ),
        (
            'a: "\x00"\n',
            "config.yaml: invalid YAML: unacceptable character #x0000: special characters are not allowed (line 1)",
        ),
    ],
)
def test_file_level_errors_name_the_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert str(info.value) == expected


def test_every_error_names_the_file_by_its_name_not_its_folder(tmp_path: Path) -> None:
    broken = _write(tmp_path, "signals:\n  a: [1, 2\n")
    with pytest.raises(ConfigError) as info:
        load_config(broken)
    assert str(info.value).startswith("config.yaml: ") and str(tmp_path) not in str(info.value)
    with pytest.raises(ConfigError) as missing:
        load_config(tmp_path / "nope.yaml")
    assert str(missing.value).startswith(f"nope.yaml: config file not found at {tmp_path}")


def test_bad_signal_name_error_gives_its_line(tmp_path: Path) -> None:
    text = MINIMAL.format(weight=0.4).replace("cooperation_tone:", "Cooperation-Tone:")
    with pytest.raises(ConfigError, match=r"starting with a letter \(line 10\)$"):
        load_config(_write(tmp_path, text))


def test_two_feeds_with_one_name_are_refused_at_the_second(tmp_path: Path) -> None:
    feeds = (
        "  seeds: [seeds]\n  feeds:\n"
        "    - {name: Wire, url: 'https://a.example/rss'}\n"
        "    - {name: Other, url: 'https://b.example/rss'}\n"
        "    - {name: Wire, url: 'https://c.example/rss', enabled: false}\n"
    )
    text = MINIMAL.format(weight=0.4).replace("  seeds: [seeds]\n", feeds)
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert str(info.value) == (
        "config.yaml: sources.feeds.2.name: 'Wire' is already the name of sources.feeds.0; "
        "expected a name of its own (line 9)"
    )
