"""Compare page: two dates of the current series, or two downloaded series snapshots."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from pipeline.compare import (
    SnapshotError,
    has_composite,
    has_weights,
    latest_pair,
    load_snapshot,
    settings_diff,
    signal_changes,
    snapshot_changes,
    term_shift,
    weight_effect,
)
from pipeline.coverage import period_start
from pipeline.drilldown import period_span
from pipeline.snapshots import series_from_table, signal_kinds
from views.data import View, contributors, series

DATES, SNAPSHOTS = "Two dates", "Two snapshots"


def render(view: View) -> None:
    """Say what moved the index between two dates or two snapshots."""
    mode = st.radio("Compare", [DATES, SNAPSHOTS], key="compare_mode", horizontal=True)
    if mode == DATES:
        _dates(view)
    else:
        _snapshots(view)


def _dates(view: View) -> None:
    first, last = view.summary["first_event"], view.summary["last_event"]
    frame = series(view, view.spec())
    pair = latest_pair(frame)  # what changed since the last period with news
    starts = [p.date() for p in pair] if pair else [last - timedelta(days=30), last]
    cols = st.columns(2)
    a, b = (
        col.date_input(
            f"Date {name}", value=min(last, max(first, start)), min_value=first, max_value=last,
            key=f"compare_{name.lower()}",
        )
        for col, name, start in zip(cols, "AB", starts, strict=True)
    )  # fmt: skip
    when_a, when_b = period_start(a, view.period), period_start(b, view.period)
    st.caption(f"Periods ({view.period}) starting {when_a.date()} and {when_b.date()}.")
    for name, when in (("A", when_a), ("B", when_b)):
        if not has_composite(frame, when):
            st.info(
                f"Date {name}: no relevant scored article in the {view.period} starting "
                f"{when.date()} (within the filters), so it has no risk to compare. The Overview "
                "shows which periods have one."
            )
    st.dataframe(
        signal_changes(frame, view.weights, when_a, when_b), hide_index=True, key="compare_signals"
    )
    file_value, now_value = weight_effect(frame, view.config.weights(), view.weights, when_b)
    cols = st.columns(2)
    cols[0].metric("Composite at B, weights from the file", _fmt(file_value))
    cols[1].metric("Composite at B, weights in effect", _fmt(now_value))
    rows_a, rows_b = _top(view, a), _top(view, b)
    st.subheader("Articles behind each period")
    cols = st.columns(2)
    for col, rows, name in ((cols[0], rows_a, "a"), (cols[1], rows_b, "b")):
        shown = rows[["title", "source", "event_date", "article_composite"]]
        col.dataframe(shown, hide_index=True, key=f"compare_articles_{name}")
    st.subheader("Terms whose pull changed")
    shift = term_shift(rows_a, rows_b, list(view.config.signals))
    st.dataframe(shift, hide_index=True, key="compare_terms")


def _top(view: View, day: date) -> pd.DataFrame:
    kinds = signal_kinds(view.config)
    span = period_span(period_start(day, view.period), view.period)
    return contributors(
        view.url, view.stamp, tuple(kinds.items()), tuple(view.weights.items()), view.flt, span
    )


def _fmt(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3f}"


def _snapshots(view: View) -> None:
    st.caption("Upload two series snapshots (the zip, or the CSV) downloaded from the Overview.")
    cols = st.columns(2)
    uploads = [
        cols[i].file_uploader(f"Snapshot {n}", type=["zip", "csv"], key=f"snapshot_{n.lower()}")
        for i, n in enumerate(("A", "B"))
    ]
    if not all(uploads):
        return
    try:
        a, b = (load_snapshot(u.name, u.getvalue()) for u in uploads if u is not None)
    except SnapshotError as exc:
        st.error(str(exc))
        return
    kinds = signal_kinds(view.config)  # a tone's risk is ``<signal>_risk`` in the CSV
    a, b = (replace(s, frame=series_from_table(s.frame, kinds)) for s in (a, b))
    st.subheader("Settings that differ")
    st.dataframe(settings_diff(a.manifest, b.manifest), hide_index=True, key="snapshot_settings")
    changes = snapshot_changes(a, b, list(view.config.signals))
    moved = changes[changes["change"].abs() > 1e-9]
    st.subheader("Periods whose composite moved")
    if has_weights(a) and has_weights(b):
        st.caption("change = data_effect (new articles or scores) + weights_effect (new weights).")
    else:
        bare = " and ".join(s.name for s in (a, b) if not has_weights(s))
        st.warning(
            f"{bare}: a CSV without its manifest does not say which weights made its composite, "
            "so the composites and the change are the files' own and the split into data and "
            "weights is left empty. Upload the zips (CSV and manifest) to get the split."
        )
    st.dataframe(moved.reset_index(), hide_index=True, key="snapshot_changes")
