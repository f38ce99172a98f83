"""CSV snapshots: formula injection neutralised, numbers kept, UTF-8, ISO dates, manifest beside."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.export import frame_to_csv, manifest, manifest_json, neutralise_cell, write_snapshot


def test_formula_like_text_is_neutralised() -> None:
    for dangerous in ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]:
        assert neutralise_cell(dangerous) == "'" + dangerous
    assert neutralise_cell("Colombia decertified") == "Colombia decertified"
    assert neutralise_cell(-0.4) == -0.4


def test_csv_keeps_numbers_and_iso_dates() -> None:
    frame = pd.DataFrame(
        {
            "title": ["=cmd|' /C calc'!A0", "Ñandú café"],
            "tone": [-0.4, 0.25],
            "event_date": [date(2025, 3, 27), None],
        }
    )
    rows = list(csv.reader(io.StringIO(frame_to_csv(frame).decode("utf-8"))))
    assert rows[0] == ["title", "tone", "event_date"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-0.4", "2025-03-27"]
    assert rows[2] == ["Ñandú café", "0.25", ""]


def test_snapshot_writes_csv_and_manifest(tmp_path: Path) -> None:
    target = tmp_path / "out" / "snap.csv"
    frame = pd.DataFrame({"id": ["a"], "decertification_risk": [0.9]})
    written = write_snapshot(target, frame, manifest("articles", 1, weights={"x": 0.5}))
    assert written == tmp_path / "out" / "snap.manifest.json"
    info = json.loads(written.read_text(encoding="utf-8"))
    assert info["rows"] == 1 and info["kind"] == "articles" and info["weights"] == {"x": 0.5}
    assert "generated_at" in info
    assert target.read_text(encoding="utf-8").splitlines() == ["id,decertification_risk", "a,0.9"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_manifest_is_strict_json_and_never_holds_nan(bad: float) -> None:
    with pytest.raises(ValueError):
        manifest_json({"kind": "series", "weights": {"tone": bad}})
    assert json.loads(manifest_json({"weights": {"tone": -0.5}})) == {"weights": {"tone": -0.5}}
