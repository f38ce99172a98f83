"""Load the labelled training examples and split off the fixed held-out test set.

The held-out split is decided by a hash of each example's id, so it never changes when examples
are added, and no tuning run can see it by accident.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ModelError

HELD_OUT_PERCENT = 20
RELEVANCE = "relevance"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled headline and paragraph."""

    example_id: str
    language: str
    title: str
    text: str
    labels: dict[str, float] = field(default_factory=dict)
    origin: str = ""

    @property
    def document(self) -> str:
        """The text a model sees: headline, then body."""
        return f"{self.title}\n{self.text}"


def is_held_out(example_id: str) -> bool:
    """Tell whether an example belongs to the fixed held-out test split."""
    digest = hashlib.sha256(example_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def split_examples(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """Return (train, held_out)."""
    train = [e for e in examples if not is_held_out(e.example_id)]
    held = [e for e in examples if is_held_out(e.example_id)]
    return train, held


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Read every ``.jsonl`` file in the given files or folders; duplicate ids are an error."""
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in sorted(set(_jsonl_files(paths))):
        for example in _read_file(path):
            if example.example_id in seen:
                raise ModelError(
                    f"{example.origin}: duplicate example id {example.example_id!r} "
                    f"(first at {seen[example.example_id]})"
                )
            seen[example.example_id] = example.origin
            examples.append(example)
    if not examples:
        raise ModelError("no labelled examples found; expected .jsonl files under models/data/")
    return examples


def _jsonl_files(paths: Iterable[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from path.glob("*.jsonl")
        elif path.is_file():
            yield path
        else:
            raise ModelError(f"{path}: labelled examples file or folder not found")


def _read_file(path: Path) -> Iterable[Example]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read labelled examples: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _parse_example(line, f"{path}:{number}")


def _parse_example(line: str, where: str) -> Example:
    try:
        record: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{where}: invalid JSON: {exc.msg}") from None
    if not isinstance(record, dict):
        raise ModelError(f"{where}: expected a JSON object")
    for key in ("id", "title", "text", "labels"):
        if key not in record:
            raise ModelError(f"{where}: missing field {key!r}")
    labels = record["labels"]
    if not isinstance(labels, dict):
        raise ModelError(f"{where}: labels: expected an object of signal -> value")
    values = {str(k): _label_value(v, f"{where}: labels.{k}") for k, v in labels.items()}
    if "relevant" in values:  # the corpus names the relevance gate's label "relevant"
        values.setdefault(RELEVANCE, values["relevant"])
    return Example(
        example_id=str(record["id"]),
        language=str(record.get("language") or "und"),
        title=str(record["title"]),
        text=str(record["text"]),
        labels=values,
        origin=where,
    )


def _label_value(value: Any, where: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise ModelError(f"{where}: expected a number or true/false, got {json.dumps(value)}")
