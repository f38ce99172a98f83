"""Widgets several pages share: snapshot downloads and plain-text article fields."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from pipeline.export import frame_to_csv, manifest_json, snapshot_zip


def downloads(kind: str, stem: str, frame: pd.DataFrame, info: dict[str, Any]) -> None:
    """CSV, manifest and zip (both) download buttons for one snapshot.

    Keys: ``download_<kind>``, ``download_<kind>_manifest`` and ``download_<kind>_zip``.
    """
    data = frame_to_csv(frame)
    meta = manifest_json(info)
    cols = st.columns(3)
    cols[0].download_button(
        f"Download {kind} CSV",
        data,
        f"{stem}.csv",
        "text/csv",
        key=f"download_{kind}",
        on_click="ignore",
    )
    cols[1].download_button(
        f"{kind.capitalize()} manifest (JSON)",
        meta,
        f"{stem}.manifest.json",
        "application/json",
        key=f"download_{kind}_manifest",
        on_click="ignore",
    )
    cols[2].download_button(
        f"{kind.capitalize()} CSV + manifest (zip)",
        snapshot_zip(f"{stem}.csv", data, meta),
        f"{stem}.zip",
        "application/zip",
        key=f"download_{kind}_zip",
        on_click="ignore",
    )


def text_field(label: str, value: Any) -> None:
    """A fixed label and a feed-supplied value, the value rendered as literal text."""
    st.caption(label)
    st.text("" if value is None else str(value))
