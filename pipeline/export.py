"""CSV snapshots that open safely in a spreadsheet, each with a JSON manifest saying what it holds.

Text cells that a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or
carriage return) get a leading apostrophe; numbers stay numbers, so a tone of -0.4 is still -0.4.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """Defuse a text cell that a spreadsheet would evaluate; leave other values alone."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralise_cell(value)


def frame_to_csv(frame: pd.DataFrame) -> bytes:
    """Render a DataFrame as safe UTF-8 CSV (ISO dates, neutralised text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise_cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        writer.writerow([_plain(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def manifest(kind: str, rows: int, **details: Any) -> dict[str, Any]:
    """Describe a snapshot: what it is, how many rows, the filters, weights and model versions."""
    return {
        "kind": kind,
        "rows": rows,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **details,
    }


def manifest_path(csv_path: Path) -> Path:
    """``X.csv`` -> ``X.manifest.json``."""
    return csv_path.with_name(csv_path.stem + ".manifest.json")


def write_snapshot(csv_path: Path, frame: pd.DataFrame, info: dict[str, Any]) -> Path:
    """Write the CSV and its manifest atomically; return the manifest's path."""
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(csv_path, frame_to_csv(frame))
    target = manifest_path(csv_path)
    write_bytes_atomic(target, manifest_json(info))
    return target


def manifest_json(info: dict[str, Any]) -> bytes:
    """Serialise a manifest (dates as ISO strings) as strict JSON: a NaN or infinity raises
    ``ValueError`` instead of writing a token that strict parsers reject."""
    text = json.dumps(info, indent=2, ensure_ascii=False, default=str, allow_nan=False)
    return (text + "\n").encode("utf-8")


def snapshot_zip(csv_name: str, csv_data: bytes, manifest_data: bytes) -> bytes:
    """One zip holding a snapshot's CSV and, beside it, its ``.manifest.json``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(csv_name, csv_data)
        archive.writestr(manifest_path(Path(csv_name)).name, manifest_data)
    return buffer.getvalue()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a file under a temporary name in its folder, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
