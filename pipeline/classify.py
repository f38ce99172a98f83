"""Score JSONL records without touching the database (``policy-risk classify``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from pipeline.errors import SourceError
from pipeline.scoring import ModelSet, document_of, score_documents
from pipeline.seeds import TextEncodingError, decode_utf8

BATCH = 2000


@dataclass(frozen=True, slots=True)
class Record:
    """One input line: an id and the text to score."""

    record_id: str
    title: str
    text: str
    language: str | None


def read_records(path: Path) -> Iterator[Record]:
    """Yield records from a JSONL file; a bad line stops with its file and line number.

    Read as bytes and decoded line by line, so a non-UTF-8 byte names its line too.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"{path}: cannot open input: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = decode_utf8(raw, first_line=number)  # the seed reader's wording
            except TextEncodingError as exc:
                raise SourceError(f"{path}:{number}: {exc.reason}") from None
            if line.strip():
                yield _record(line, f"{path}:{number}")


def _record(line: str, where: str) -> Record:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{where}: invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise SourceError(f"{where}: expected a JSON object with id, title and text")
    missing = [k for k in ("id", "text") if k not in data]
    if missing:
        raise SourceError(f"{where}: missing field(s) {', '.join(missing)}")
    if not isinstance(data["text"], str) or not isinstance(data.get("title", ""), str):
        raise SourceError(f"{where}: title and text must be strings")
    language = data.get("language")
    return Record(str(data["id"]), data.get("title") or "", data["text"], language)


def classify_file(models: ModelSet, source: Path, target: IO[str]) -> int:
    """Score every record in ``source`` and write ``{id, <signal>: value, ...}`` lines."""
    batch: list[Record] = []
    written = 0
    for record in read_records(source):
        batch.append(record)
        if len(batch) >= BATCH:
            written += _flush(models, batch, target)
            batch = []
    return written + _flush(models, batch, target)


def _flush(models: ModelSet, batch: list[Record], target: IO[str]) -> int:
    if not batch:
        return 0
    values = score_documents(models, [document_of(r.title, r.text) for r in batch])
    for i, record in enumerate(batch):
        row: dict[str, Any] = {"id": record.record_id}
        row.update({signal: round(float(v[i]), 6) for signal, v in values.items()})
        target.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(batch)
