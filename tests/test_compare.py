"""Compare two dates or two snapshots: which signals, terms and weights moved the index."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

from pipeline.compare import (
    Snapshot,
    SnapshotError,
    has_composite,
    latest_pair,
    load_snapshot,
    settings_diff,
    signal_changes,
    snapshot_changes,
    term_shift,
    weight_effect,
)
from pipeline.export import frame_to_csv, manifest_json, snapshot_zip
from pipeline.index import COMPOSITE

SIGNALS = ["decertification_risk", "cooperation_tone"]
A, B = pd.Timestamp("2025-03-01"), pd.Timestamp("2025-09-01")


def _series(weights: dict[str, float]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"decertification_risk": [0.2, 0.8], "cooperation_tone": [0.4, 0.6]},
        index=pd.DatetimeIndex([A, B], name="period"),
    )
    total = sum(abs(w) for w in weights.values())
    frame["composite"] = sum(frame[s] * w for s, w in weights.items()) / total
    return frame


def test_signal_changes_add_up_to_the_composite_change() -> None:
    weights = {"decertification_risk": 0.6, "cooperation_tone": 0.4}
    table = signal_changes(_series(weights), weights, A, B).set_index("signal")
    assert table.loc["decertification_risk", "change"] == pytest.approx(0.6)
    assert table.loc["decertification_risk", "effect_on_composite"] == pytest.approx(0.36)
    assert table.loc["cooperation_tone", "effect_on_composite"] == pytest.approx(0.08)
    assert table.loc["composite", "change"] == pytest.approx(0.44)


def test_missing_periods_give_gaps_not_errors() -> None:
    weights = {"decertification_risk": 1.0}
    table = signal_changes(_series(weights), weights, A, pd.Timestamp("2030-01-01"))
    assert table["change"].isna().all()
    assert all(
        pd.isna(v)
        for v in weight_effect(_series(weights), weights, weights, pd.Timestamp("2030-01-01"))
    )


def test_weight_effect_compares_file_and_current_weights() -> None:
    frame = _series({"decertification_risk": 0.6, "cooperation_tone": 0.4})
    file_value, now_value = weight_effect(
        frame,
        {"decertification_risk": 0.6, "cooperation_tone": 0.4},
        {"decertification_risk": 1.0},
        B,
    )
    assert file_value == pytest.approx(0.72) and now_value == pytest.approx(0.8)


def test_term_shift_finds_the_terms_that_moved() -> None:
    rows_a = pd.DataFrame(
        {"decertification_risk_explanation": ['{"up": [["agreement", 0.2]], "down": []}']}
    )
    rows_b = pd.DataFrame(
        {"decertification_risk_explanation": ['{"up": [["coca", 0.5]], "down": []}']}
    )
    shift = term_shift(rows_a, rows_b, ["decertification_risk"])
    assert shift["term"].tolist() == ["coca", "agreement"]
    assert shift["change"].tolist() == pytest.approx([0.5, -0.2])
    assert term_shift(rows_a.iloc[0:0], rows_b.iloc[0:0], ["decertification_risk"]).empty


def _snapshot_bytes(weights: dict[str, float], as_zip: bool = True) -> bytes:
    frame = _series(weights).reset_index()
    data = frame_to_csv(frame)
    info = manifest_json({"kind": "series", "weights": weights, "period": "month"})
    return snapshot_zip("s.csv", data, info) if as_zip else data


def test_snapshot_change_splits_into_data_and_weights() -> None:
    old = load_snapshot(
        "a.zip", _snapshot_bytes({"decertification_risk": 1.0, "cooperation_tone": 0.0})
    )
    new = load_snapshot(
        "b.zip", _snapshot_bytes({"decertification_risk": 0.5, "cooperation_tone": 0.5})
    )
    changes = snapshot_changes(old, new, SIGNALS)
    assert (changes["data_effect"] == 0).all()
    assert changes["weights_effect"].tolist() == pytest.approx([0.1, -0.1])
    assert (changes["change"] == changes["data_effect"] + changes["weights_effect"]).all()
    diff = settings_diff(old.manifest, new.manifest)
    assert diff["setting"].tolist() == ["weights.cooperation_tone", "weights.decertification_risk"]


def test_snapshot_from_a_bare_csv_has_no_manifest() -> None:
    snap = load_snapshot("a.csv", _snapshot_bytes({"decertification_risk": 1.0}, as_zip=False))
    assert isinstance(snap, Snapshot) and snap.manifest == {}
    assert list(snap.frame.index) == [A, B]


def test_bare_csvs_compare_by_their_own_composites_without_a_split() -> None:
    """QA 6b #2: no manifest, no weights; equal weights were invented and no period moved."""
    old = load_snapshot(
        "a.csv", _snapshot_bytes({"decertification_risk": 1.0, "cooperation_tone": 0.0}, False)
    )
    new = load_snapshot(
        "b.csv", _snapshot_bytes({"decertification_risk": 0.5, "cooperation_tone": 0.5}, False)
    )
    changes = snapshot_changes(old, new, SIGNALS)
    assert changes["composite_a"].tolist() == old.frame[COMPOSITE].tolist()
    assert changes["composite_b"].tolist() == new.frame[COMPOSITE].tolist()
    assert changes["change"].tolist() == pytest.approx([0.1, -0.1])
    assert changes["data_effect"].isna().all() and changes["weights_effect"].isna().all()


@pytest.mark.parametrize("data", [b"x,y\n1,2\n", b"\xff\xfe\x00garbage", b"PK\x03\x04broken zip"])
def test_files_that_are_not_series_snapshots_are_refused(data: bytes) -> None:
    with pytest.raises(SnapshotError, match="not a series snapshot"):
        load_snapshot("bad", data)


def test_a_zip_without_a_csv_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("only.manifest.json", json.dumps({}))
    with pytest.raises(SnapshotError):
        load_snapshot("x.zip", buffer.getvalue())


def _zip(manifest: object, csv: bytes = b"period,composite\n2025-01-06,0.5\n") -> bytes:
    return snapshot_zip("s.csv", csv, json.dumps(manifest).encode("utf-8"))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"period,composite\nnotadate,0.5\n", "line 2: period 'notadate' is not a date"),
        (b"period,composite\n2025-01-06,0.5\n,0.3\n", "line 3: period (empty) is not a date"),
        (b"period,composite\n2025-01-06,0.5\n2025-01-06,0.3\n", "'2025-01-06' appears twice"),
        (
            b"period,composite,decertification_risk\n2025-01-06,high,x\n",
            "line 2, column 'composite': 'high' is not a number",
        ),
        (
            b"period,composite,decertification_risk\n2025-01-06,0.5,0.1\n2025-01-13,0.5,x\n",
            "line 3, column 'decertification_risk': 'x' is not a number",
        ),
        (_zip([1, 2]), "the manifest is a JSON list, expected an object"),
        (_zip({"weights": [1, 2]}), "manifest 'weights' is a JSON list, expected an object"),
        (_zip({"filters": "all"}), "manifest 'filters' is a JSON str, expected an object"),
        (
            _zip({"weights": {"decertification_risk": "abc"}}),
            "manifest weight 'decertification_risk' is \"abc\", expected a number",
        ),
        (
            _zip({"weights": {"decertification_risk": True}}),
            "manifest weight 'decertification_risk' is true, expected a number",
        ),
    ],
)
def test_malformed_snapshots_name_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        load_snapshot("bad.zip", data)
    assert str(caught.value).startswith("bad.zip: not a series snapshot (")
    assert problem in str(caught.value)


def test_a_valid_snapshot_keeps_numbers_flags_and_empty_values() -> None:
    csv = (
        b"period,composite,decertification_risk,thin,provisional\n"
        b"2025-01-06,0.5,,False,False\n2025-01-13,-0.25,0.4,True,True\n"
    )
    snap = load_snapshot("s.zip", _zip({"weights": {"decertification_risk": 1}}, csv))
    assert list(snap.frame.index) == [pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-13")]
    assert snap.frame["composite"].tolist() == [0.5, -0.25]
    assert snap.frame["thin"].tolist() == [False, True]
    changes = snapshot_changes(snap, snap, ["decertification_risk"])
    assert changes["change"].dropna().tolist() == [0.0]


def test_latest_pair_is_the_two_newest_periods_with_a_composite() -> None:
    weeks = pd.to_datetime(["2025-01-27", "2025-01-06", "2025-01-20", "2025-01-13"])
    frame = pd.DataFrame({COMPOSITE: [float("nan"), 0.2, float("nan"), 0.5]}, index=weeks)
    assert latest_pair(frame) == (pd.Timestamp("2025-01-06"), pd.Timestamp("2025-01-13"))
    assert latest_pair(frame.iloc[:2]) is None
    assert latest_pair(frame.drop(columns=COMPOSITE)) is None


def test_has_composite_is_false_for_empty_and_unknown_periods() -> None:
    weeks = pd.to_datetime(["2025-01-06", "2025-01-13"])
    frame = pd.DataFrame({COMPOSITE: [0.2, float("nan")]}, index=weeks)
    assert has_composite(frame, weeks[0])
    assert not has_composite(frame, weeks[1])
    assert not has_composite(frame, pd.Timestamp("2030-01-07"))
