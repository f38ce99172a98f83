"""Compare two dates or two snapshots: what moved the index between them (issue 5, 11c).

Between two periods of one series the weights are the same, so the change splits by signal:
signal ``s`` moved the composite by about ``w_s * (risk_b - risk_a) / sum|w|``. Between two
snapshots the weights may differ too, so the change at each period splits exactly into a *data*
part (new risks, old weights) and a *weights* part (new risks, new weights minus old weights).
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from pipeline.drilldown import term_weights
from pipeline.errors import PipelineError
from pipeline.index import COMPOSITE, composite


class SnapshotError(PipelineError):
    """An uploaded snapshot could not be read."""


def _at(frame: pd.DataFrame, when: pd.Timestamp, column: str) -> float:
    if when not in frame.index or column not in frame.columns:
        return float("nan")
    return float(frame.at[when, column])


def has_composite(frame: pd.DataFrame, when: pd.Timestamp) -> bool:
    """Whether the series has a composite for the period starting ``when`` (no relevant scored
    article in a period leaves it empty, and a comparison with it says nothing)."""
    return not pd.isna(_at(frame, when, COMPOSITE))


def latest_pair(frame: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The two most recent periods with a composite: the comparison an analyst makes first
    ("what changed since the last period with news?"), whatever the gaps between them."""
    if COMPOSITE not in frame.columns:
        return None
    valued = sorted(frame.index[frame[COMPOSITE].notna()])
    return (valued[-2], valued[-1]) if len(valued) >= 2 else None


def signal_changes(
    frame: pd.DataFrame,
    weights: Mapping[str, float],
    a: pd.Timestamp,
    b: pd.Timestamp,
) -> pd.DataFrame:
    """Per signal: risk in period A and B, the change, and its effect on the composite."""
    total = sum(abs(float(w)) for w in weights.values()) or float("nan")
    rows = []
    for signal, weight in weights.items():
        risk_a, risk_b = _at(frame, a, signal), _at(frame, b, signal)
        rows.append(
            {
                "signal": signal,
                "risk_a": risk_a,
                "risk_b": risk_b,
                "change": risk_b - risk_a,
                "weight": float(weight),
                "effect_on_composite": float(weight) * (risk_b - risk_a) / total,
            }
        )
    rows.append(
        {
            "signal": COMPOSITE,
            "risk_a": _at(frame, a, COMPOSITE),
            "risk_b": _at(frame, b, COMPOSITE),
            "change": _at(frame, b, COMPOSITE) - _at(frame, a, COMPOSITE),
            "weight": float("nan"),
            "effect_on_composite": _at(frame, b, COMPOSITE) - _at(frame, a, COMPOSITE),
        }
    )
    return pd.DataFrame(rows)


def weight_effect(
    frame: pd.DataFrame,
    file_weights: Mapping[str, float],
    weights: Mapping[str, float],
    when: pd.Timestamp,
) -> tuple[float, float]:
    """The composite of one period with the file's weights and with the weights in effect."""
    if when not in frame.index:
        return float("nan"), float("nan")
    row = frame.loc[[when]]
    return float(composite(row, file_weights).iloc[0]), float(composite(row, weights).iloc[0])


def term_shift(
    rows_a: pd.DataFrame, rows_b: pd.DataFrame, signals: Sequence[str], top: int = 15
) -> pd.DataFrame:
    """Terms whose average pull changed most between two periods' top articles, per signal."""
    out = []
    for signal in signals:
        column = f"{signal}_explanation"
        weights_a = _mean_terms(rows_a, column)
        weights_b = _mean_terms(rows_b, column)
        for term in set(weights_a) | set(weights_b):
            wa, wb = weights_a.get(term, 0.0), weights_b.get(term, 0.0)
            out.append(
                {"signal": signal, "term": term, "pull_a": wa, "pull_b": wb, "change": wb - wa}
            )
    frame = pd.DataFrame(out, columns=["signal", "term", "pull_a", "pull_b", "change"])
    if frame.empty:
        return frame
    frame["size"] = frame["change"].abs()
    frame = frame.sort_values(["size", "term"], ascending=[False, True]).drop(columns="size")
    return frame.groupby("signal", sort=False).head(top).reset_index(drop=True)


def _mean_terms(rows: pd.DataFrame, column: str) -> dict[str, float]:
    if rows.empty or column not in rows.columns:
        return {}
    totals = term_weights(rows[column])
    return {term: value / len(rows) for term, value in totals.items()}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A series snapshot read back from a download: its rows and its manifest."""

    name: str
    frame: pd.DataFrame
    manifest: Mapping[str, Any] = field(default_factory=dict)


def load_snapshot(name: str, data: bytes) -> Snapshot:
    """Read a series snapshot from a zip (CSV + manifest) or a bare CSV.

    The whole file is checked here, so the comparison that follows never meets a text weight or
    an unparseable period: anything malformed is a ``SnapshotError`` naming the file and the spot.
    """
    manifest: Any = {}
    try:
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = archive.namelist()
                csv_name = next(n for n in names if n.endswith(".csv"))
                meta = [n for n in names if n.endswith(".manifest.json")]
                manifest = json.loads(archive.read(meta[0])) if meta else {}
                data = archive.read(csv_name)
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    except (StopIteration, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{name}: not a series snapshot ({exc})") from None
    if "period" not in frame.columns or COMPOSITE not in frame.columns:
        raise SnapshotError(f"{name}: not a series snapshot (no period/composite columns)")
    problem = _manifest_problem(manifest) or _frame_problem(frame)
    if problem:
        raise SnapshotError(f"{name}: not a series snapshot ({problem})")
    periods = pd.to_datetime(frame.pop("period").astype("string"), format="ISO8601")
    frame.index = pd.DatetimeIndex(periods, name="period")
    for column in frame.columns.difference(_FLAG_COLUMNS):
        frame[column] = pd.to_numeric(frame[column])
    return Snapshot(name, frame, manifest)


_FLAG_COLUMNS = ["thin", "provisional"]  # True/False marks; every other column holds numbers
_MANIFEST_OBJECTS = ("weights", "filters", "model_versions")


def _manifest_problem(manifest: Any) -> str | None:
    """What makes a manifest unusable (``settings_diff`` and ``_weights`` read it), or None."""
    if not isinstance(manifest, dict):
        return f"the manifest is a JSON {type(manifest).__name__}, expected an object"
    for section in _MANIFEST_OBJECTS:
        value = manifest.get(section)
        if value is not None and not isinstance(value, dict):
            return f"manifest {section!r} is a JSON {type(value).__name__}, expected an object"
    for signal, weight in (manifest.get("weights") or {}).items():
        if not _is_number(weight):
            return f"manifest weight {signal!r} is {json.dumps(weight)}, expected a number"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _frame_problem(frame: pd.DataFrame) -> str | None:
    """The first unparseable period or non-numeric value, with its CSV line, or None."""
    lines = pd.Series(range(2, len(frame) + 2), index=frame.index)  # line 1 is the header
    raw = frame["period"]
    periods = pd.to_datetime(raw.astype("string"), format="ISO8601", errors="coerce")
    bad = periods.isna()
    if bad.any():
        first = bad.idxmax()
        return f"line {lines[first]}: period {_shown(raw[first])} is not a date (YYYY-MM-DD)"
    if periods.duplicated().any():
        first = periods.duplicated().idxmax()
        return f"line {lines[first]}: period {_shown(raw[first])} appears twice"
    for column in frame.columns.difference(["period", *_FLAG_COLUMNS], sort=False):
        values = frame[column]
        bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
        if bad.any():
            first = bad.idxmax()
            return (
                f"line {lines[first]}, column {column!r}: {_shown(values[first])} is not a number"
            )
    return None


def _shown(value: Any) -> str:
    return "(empty)" if pd.isna(value) else repr(str(value))


def settings_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> pd.DataFrame:
    """The manifest settings that differ: weights, filters, period, window, view, models."""
    rows = []
    for section in ("weights", "filters", "model_versions"):
        left, right = a.get(section) or {}, b.get(section) or {}
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                rows.append(
                    {"setting": f"{section}.{key}", "a": left.get(key), "b": right.get(key)}
                )
    for key in ("period", "smoothing_window", "view", "standardise_outlets"):
        if a.get(key) != b.get(key):
            rows.append({"setting": key, "a": a.get(key), "b": b.get(key)})
    frame = pd.DataFrame(rows, columns=["setting", "a", "b"])
    return frame.astype({"a": "string", "b": "string"})


def snapshot_changes(a: Snapshot, b: Snapshot, signals: Sequence[str]) -> pd.DataFrame:
    """Per period in both: composites, the change, and its split into data and weights.

    The split recomputes composites with each file's weights, which only its manifest holds. A
    bare CSV has none: then the composites are the files' own, the change is theirs, and the
    split is left empty rather than computed with invented weights (QA 6b #2).
    """
    common = a.frame.index.intersection(b.frame.index)
    if not (has_weights(a) and has_weights(b)):
        old, new = a.frame.loc[common, COMPOSITE], b.frame.loc[common, COMPOSITE]
        unknown = pd.Series(float("nan"), index=common)
        changes = {"change": new - old, "data_effect": unknown, "weights_effect": unknown}
        out = pd.DataFrame({"composite_a": old, "composite_b": new, **changes}, index=common)
        return out.dropna(how="all", subset=["composite_a", "composite_b"])
    weights_a = _weights(a, signals)
    weights_b = _weights(b, signals)
    cols = [s for s in signals if s in a.frame.columns and s in b.frame.columns]
    left, right = a.frame.loc[common, cols], b.frame.loc[common, cols]
    old = composite(left, weights_a)
    new_data = composite(right, weights_a)
    new = composite(right, weights_b)
    out = pd.DataFrame(
        {
            "composite_a": old,
            "composite_b": new,
            "change": new - old,
            "data_effect": new_data - old,
            "weights_effect": new - new_data,
        },
        index=common,
    )
    return out.dropna(how="all")


def has_weights(snapshot: Snapshot) -> bool:
    """Whether the snapshot's manifest says which weights made its composite."""
    return bool(snapshot.manifest.get("weights"))


def _weights(snapshot: Snapshot, signals: Sequence[str]) -> dict[str, float]:
    found = snapshot.manifest.get("weights") or {}
    return {s: float(found.get(s, 1.0)) for s in signals}
