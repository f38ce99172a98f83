"""Alerts page: the threshold crossings `policy-risk alerts` reports, for the same settings."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from pipeline.alerts import EXIT_NEW_ALERT, config_alerts
from pipeline.snapshots import SnapshotSpec
from views.data import View, series


def render(view: View) -> None:
    """List crossings since a date, computed with the config's weights and index settings."""
    config = view.config
    first, last = view.summary["first_event"], view.summary["last_event"]
    default = max(first, last - timedelta(days=365))
    since = st.date_input(
        "Crossings since", value=default, min_value=first, max_value=last, key="alerts_since"
    )
    frame = series(view, SnapshotSpec.from_config(config))
    found = config_alerts(frame, config, since)
    st.caption(
        f"Computed like `policy-risk alerts`: the config's weights, period "
        f"({config.index.period}), smoothing window ({config.index.smoothing_window}) and "
        f"alert threshold ({config.index.alert_threshold:.2f}) over every relevant article."
    )
    st.code(f"policy-risk alerts --since {since.isoformat()}", language="bash")
    if not found:
        st.success(f"No threshold crossings since {since.isoformat()}.")
        return
    st.warning(f"{len(found)} crossing(s) since {since.isoformat()} (exit code {EXIT_NEW_ALERT}).")
    table = pd.DataFrame(
        [
            {
                "period": a.period,
                "composite": round(a.value, 4),
                "previous": None if a.previous is None else round(a.previous, 4),
                "provisional": a.provisional,
            }
            for a in found
        ]
    )
    st.dataframe(table, hide_index=True, key="alerts_table")
