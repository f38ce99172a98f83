"""Save the dashboard's weights as the new defaults in ``config.yaml`` (issue 5.6).

ruamel.yaml's round-trip parser locates each ``signals.<name>.weight`` value and only that token
is rewritten, so comments, key order, quoting and layout stay exactly as the analyst wrote them.
The new text is written to a temporary file beside the original and validated with
``load_config`` before it replaces anything; the previous file is kept as ``config.yaml.bak``.
Invalid values are refused with a ``ConfigError`` that names the key, and the original file is
left untouched.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.config import Config, line_suffix, load_config, read_yaml
from pipeline.errors import ConfigError

_TOKEN = re.compile(r"[^\s#,}\]]+")


def backup_path(path: Path) -> Path:
    """``config.yaml`` -> ``config.yaml.bak``."""
    return path.with_name(path.name + ".bak")


def check_weights(path: Path, weights: Mapping[str, Any], known: Mapping[str, Any]) -> None:
    """Refuse unknown signals and anything but finite numbers in [-1, 1], at least one non-zero."""
    for name, value in weights.items():
        where = f"{path.name}: signals.{name}.weight"
        if name not in known:
            raise ConfigError(f"{path.name}: signals.{name}: no such signal in the file")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number between -1 and 1, got {value!r}")
        if not math.isfinite(float(value)) or not -1.0 <= float(value) <= 1.0:
            raise ConfigError(f"{where}: expected a number between -1 and 1, got {value!r}")
    if weights and all(float(v) == 0.0 for v in weights.values()):
        raise ConfigError(
            f"{path.name}: signals: at least one weight must be non-zero, "
            "or the composite index is undefined"
        )


def render_with_weights(path: Path, weights: Mapping[str, float]) -> str:
    """The file's text with the new weights; every other byte stays as it was.

    ruamel.yaml's round-trip parser says where each ``weight`` value sits (line and column), and
    only that token is replaced, so comments, quoting, flow lists and folded text are untouched.
    """
    data = read_yaml(path)
    signals = data.get("signals") if isinstance(data, dict) else None
    if not isinstance(signals, dict):
        raise ConfigError(
            f"{path.name}: signals: expected a mapping of signals{line_suffix(data, 'signals')}"
        )
    check_weights(path, weights, signals)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for name, value in weights.items():
        line, column = _weight_position(path, signals, name)
        text = lines[line]
        match = _TOKEN.match(text, column)
        if match is None:
            raise ConfigError(f"{path.name}: signals.{name}.weight: cannot find the value")
        lines[line] = text[:column] + repr(round(float(value), 4)) + text[match.end() :]
    return "".join(lines)


def _weight_position(path: Path, signals: Mapping[str, Any], name: str) -> tuple[int, int]:
    entry = signals[name]
    lc = getattr(entry, "lc", None)
    if not isinstance(entry, dict) or "weight" not in entry or lc is None:
        raise ConfigError(
            f"{path.name}: signals.{name}.weight: required key is missing"
            + line_suffix(signals, name)
        )
    line, column = lc.value("weight")
    return int(line), int(column)


def save_weights(path: Path, weights: Mapping[str, float]) -> Config:
    """Write the weights into the config file atomically; return the validated new config.

    Raises:
        ConfigError: a weight is invalid, or the edited file would not load; the file is unchanged.
    """
    path = Path(path)
    text = render_with_weights(path, weights)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        config = _validate(tmp, path)
        shutil.copy2(path, backup_path(path))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return config.model_copy(update={"path": path.resolve()})


def _validate(tmp: Path, original: Path) -> Config:
    try:
        return load_config(tmp)
    except ConfigError as exc:
        message = str(exc).replace(tmp.name, original.name)
        raise ConfigError(f"not saved: {message}") from None
