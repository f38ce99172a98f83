"""``classify``: JSONL in, one score per signal out, without touching the database."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from pipeline.classify import classify_file, read_records
from pipeline.config import load_config
from pipeline.errors import SourceError
from pipeline.scoring import load_models
from tests.conftest import write_config


def test_classify_writes_one_line_per_record_with_every_signal(tmp_path: Path) -> None:
    models = load_models(load_config(write_config(tmp_path)))
    source = tmp_path / "in.jsonl"
    records = [
        {"id": "a", "title": "US decertifies Colombia", "text": "Aid cuts and sanctions follow."},
        {"id": "b", "text": "Lluvias en Bogotá.", "language": "es"},
        {"id": "c", "title": "", "text": ""},
    ]
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    target = io.StringIO()
    assert classify_file(models, source, target) == 3
    rows = [json.loads(line) for line in target.getvalue().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    for row in rows:
        assert set(row) == {"id", *models.models}
        assert 0 <= row["decertification_risk"] <= 1 and -1 <= row["cooperation_tone"] <= 1
    assert rows[0]["decertification_risk"] > rows[1]["decertification_risk"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{oops", "in.jsonl:1: invalid JSON"),
        ('{"id": 1}', "in.jsonl:1: missing field(s) text"),
        ('{"id": 1, "text": 5}', "in.jsonl:1: title and text must be strings"),
        ("[1, 2]", "in.jsonl:1: expected a JSON object"),
    ],
)
def test_bad_records_name_the_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=re.escape(message)):
        list(read_records(source))


def test_missing_input_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot open input"):
        list(read_records(tmp_path / "absent.jsonl"))


GOOD = '{"id": 1, "title": "Título", "text": "Política."}\n'


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GOOD.encode("latin-1"), "in.jsonl:1: not UTF-8: byte 0xed on line 1 is invalid; "),
        (
            GOOD.encode("utf-8") + GOOD.encode("latin-1"),
            "in.jsonl:2: not UTF-8: byte 0xed on line 2 is invalid; re-save the file as UTF-8",
        ),
        (b"\xde\xad\xbe\xef\x00\x01\n", "in.jsonl:1: binary file (contains NUL bytes)"),
        (GOOD.encode("utf-16"), "in.jsonl:1: UTF-16 text: re-save the file as UTF-8"),
    ],
)
def test_non_utf8_input_names_the_file_and_line(tmp_path: Path, data: bytes, message: str) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(data)
    with pytest.raises(SourceError, match=re.escape(message)):
        list(read_records(source))


def test_utf8_input_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(GOOD.encode("utf-8-sig") + GOOD.encode("utf-8"))
    assert [r.title for r in read_records(source)] == ["Título", "Título"]
