"""Load the labelled training examples and split off the fixed held-out test set.

The held-out split is decided by a hash of each example's *story group*: an example's ``group``
field when it has one, else its id. Translations and retellings of one story share a group
(``pipeline.stories`` finds them), so a story never sits on both sides of the split and a
translated copy cannot leak the answer. The rule never changes when examples are added, no
tuning run can see the held-out part, and ``models/data/heldout_ids.txt`` records the result so a
test notices any drift. Analyst labels from the store are always training data.
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
HELD_OUT_MANIFEST = "heldout_ids.txt"
RELEVANCE = "relevance"
ANALYST_ORIGIN = "analyst"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled headline and paragraph (or one article an analyst labelled)."""

    example_id: str
    language: str
    title: str
    text: str
    labels: dict[str, float] = field(default_factory=dict)
    origin: str = ""
    group: str = ""

    @property
    def document(self) -> str:
        """The text a model sees: headline, then body."""
        return f"{self.title}\n{self.text}"

    @property
    def story(self) -> str:
        """The story group that decides the split (the example's own id when ungrouped)."""
        return self.group or self.example_id

    @property
    def is_analyst(self) -> bool:
        """Analyst corrections from the store are training data, never held out."""
        return self.origin == ANALYST_ORIGIN


def is_held_out(story: str) -> bool:
    """Tell whether a story group (or an ungrouped example id) belongs to the held-out split."""
    digest = hashlib.sha256(story.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_OUT_PERCENT


def split_examples(examples: Sequence[Example]) -> tuple[list[Example], list[Example]]:
    """Return (train, held_out); analyst examples always train."""
    held = [e for e in examples if not e.is_analyst and is_held_out(e.story)]
    held_ids = {e.example_id for e in held}
    return [e for e in examples if e.example_id not in held_ids], held


def held_out_ids(examples: Sequence[Example]) -> list[str]:
    """Return the sorted ids of the held-out examples (what the manifest records)."""
    return sorted(e.example_id for e in split_examples(examples)[1])


def read_manifest(folder: Path) -> list[str]:
    """Read ``heldout_ids.txt`` (one id a line); an absent file reads as empty."""
    path = folder / HELD_OUT_MANIFEST
    if not path.is_file():
        return []
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_manifest(folder: Path, examples: Sequence[Example]) -> Path:
    """Record which examples the split rule holds out, so a test can catch any drift."""
    path = folder / HELD_OUT_MANIFEST
    path.write_text("".join(f"{i}\n" for i in held_out_ids(examples)), encoding="utf-8")
    return path


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
        group=str(record.get("group") or ""),
    )


def _label_value(value: Any, where: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise ModelError(f"{where}: expected a number or true/false, got {json.dumps(value)}")
