"""Alerts page: the threshold crossings `policy-risk alerts` reports, for the same settings."""

from __future__ import annotations

import shlex
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from pipeline.alerts import EXIT_NEW_ALERT, config_alerts
from pipeline.snapshots import SnapshotSpec
from views.data import View, series

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"  # dashboard.py's default


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
        f"alert threshold ({config.index.alert_threshold:.2f}) over every relevant article. "
        "A crossing is listed when its period ends on or after the date, so the period still "
        "going on counts."
    )
    st.code(alerts_command(config.path, since), language="bash")
    if not found:
        st.success(f"No threshold crossings since {since.isoformat()}.")
        return
    st.warning(f"{len(found)} crossing(s) since {since.isoformat()} (exit code {EXIT_NEW_ALERT}).")
    table = pd.DataFrame(
        [
            {
                "period": a.period,
                "period_end": a.end,
                "composite": round(a.value, 4),
                "previous": None if a.previous is None else round(a.previous, 4),
                "provisional": a.provisional,
            }
            for a in found
        ]
    )
    st.dataframe(table, hide_index=True, key="alerts_table")


def alerts_command(config_path: Path, since: date) -> str:
    """The command that reports the same crossings: with ``--config`` unless the dashboard runs
    on the repository's own config.yaml (the one ``policy-risk`` finds from the repo folder)."""
    option = ""
    if Path(config_path).resolve() != DEFAULT_CONFIG:
        option = f"--config {shlex.quote(str(config_path))} "
    return f"policy-risk {option}alerts --since {since.isoformat()}"
