"""Saving weights as defaults: atomic, validated, comments kept, previous file kept as .bak."""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.config_writer import backup_path, save_weights
from pipeline.errors import ConfigError
from tests.conftest import ROOT

SHIPPED = ROOT / "config.yaml"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A copy of the shipped config (comments, folded text, flow lists) in a temp folder."""
    target = tmp_path / "config.yaml"
    target.write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def test_save_changes_only_the_weights_and_keeps_comments(config_file: Path) -> None:
    before = config_file.read_text(encoding="utf-8")
    config = save_weights(config_file, {"decertification_risk": 0.7, "cooperation_tone": -0.25})
    after = config_file.read_text(encoding="utf-8")
    assert config.weights() == {"decertification_risk": 0.7, "cooperation_tone": -0.25}
    assert load_config(config_file).weights() == config.weights()
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        ("    weight: 0.6", "    weight: 0.7"),
        ("    weight: 0.4", "    weight: -0.25"),
    ]
    assert backup_path(config_file).read_text(encoding="utf-8") == before


def test_save_keeps_the_file_mode(config_file: Path) -> None:
    os.chmod(config_file, 0o640)
    save_weights(config_file, {"cooperation_tone": 0.5})
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            {"cooperation_tone": 1.5},
            "signals.cooperation_tone.weight: expected a number between -1 and 1, got 1.5",
        ),
        ({"cooperation_tone": math.nan}, "expected a number between -1 and 1, got nan"),
        ({"cooperation_tone": True}, "expected a number between -1 and 1, got True"),
        ({"cooperation_tone": "high"}, "expected a number between -1 and 1, got 'high'"),
        ({"no_such_signal": 0.2}, "signals.no_such_signal: no such signal in the file"),
        (
            {"decertification_risk": 0.0, "cooperation_tone": 0.0},
            "at least one weight must be non-zero",
        ),
    ],
)
def test_invalid_weights_are_refused_and_nothing_changes(
    config_file: Path, weights: dict[str, object], message: str
) -> None:
    before = config_file.read_text(encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        save_weights(config_file, weights)  # type: ignore[arg-type]
    assert message in str(info.value)
    assert config_file.read_text(encoding="utf-8") == before
    assert not backup_path(config_file).exists()
    assert [p.name for p in config_file.parent.iterdir()] == ["config.yaml"]


def test_a_file_that_would_not_load_is_not_replaced(config_file: Path) -> None:
    broken = re.sub(
        r"period: \w+", "period: fortnight", config_file.read_text(encoding="utf-8"), count=1
    )
    config_file.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        save_weights(config_file, {"cooperation_tone": 0.3})
    assert str(info.value).startswith("not saved: config.yaml: index.period: expected one of")
    assert config_file.read_text(encoding="utf-8") == broken
    assert [p.name for p in config_file.parent.iterdir()] == ["config.yaml"]


def test_a_second_save_backs_up_the_first(config_file: Path) -> None:
    save_weights(config_file, {"cooperation_tone": 0.3})
    first = config_file.read_text(encoding="utf-8")
    save_weights(config_file, {"cooperation_tone": 0.2})
    assert backup_path(config_file).read_text(encoding="utf-8") == first


def test_an_impossible_date_in_the_file_is_a_config_error_and_nothing_changes(
    config_file: Path,
) -> None:
    broken = re.sub(
        r"date: 2025-01-26", "date: 2025-02-30", config_file.read_text(encoding="utf-8")
    )
    config_file.write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        save_weights(config_file, {"cooperation_tone": 0.3})
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "2025-02-30" in x)) + 1
    assert str(info.value) == (
        "config.yaml: index.annotations.0.date: 2025-02-30 is not a date (YYYY-MM-DD): "
        f"day is out of range for month (line {line})"
    )
    assert config_file.read_text(encoding="utf-8") == broken
    assert [p.name for p in config_file.parent.iterdir()] == ["config.yaml"]


def test_a_signal_without_a_weight_is_reported_with_its_line(config_file: Path) -> None:
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(re.sub(r"\n    weight: 0\.4", "", text, count=1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        save_weights(config_file, {"cooperation_tone": 0.3})
    assert re.fullmatch(
        r"config.yaml: signals.cooperation_tone.weight: required key is missing \(line \d+\)",
        str(info.value),
    )
