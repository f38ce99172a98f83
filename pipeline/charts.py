"""Plotly figures for the dashboard: pure functions from frames to figures, no Streamlit here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline.config import Annotation
from pipeline.index import COMPOSITE, Crossing

# Okabe–Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.15},
}


def composite_figure(
    frame: pd.DataFrame,
    threshold: float,
    alerts: Sequence[Crossing],
    annotations: Sequence[Annotation],
    title: str = "Composite risk index",
) -> go.Figure:
    """The composite (raw and smoothed), the alert threshold and crossings, volume beneath."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.05
    )
    x = frame.index
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame[COMPOSITE],
            name="Composite (per period)",
            mode="markers+lines",
            line={"color": PALETTE[5], "width": 1},
            marker={"size": 4},
            connectgaps=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=frame[f"{COMPOSITE}_smoothed"],
            name="Composite (rolling mean)",
            line={"color": PALETTE[0], "width": 3},
        ),
        row=1,
        col=1,
    )
    fig.add_hline(
        y=threshold,
        line={"color": PALETTE[1], "dash": "dash"},
        annotation_text=f"alert threshold {threshold:.2f}",
        row=1,
        col=1,
    )
    if alerts:
        fig.add_trace(
            go.Scatter(
                x=[a.period for a in alerts],
                y=[a.value for a in alerts],
                name="Threshold crossed",
                mode="markers",
                marker={"symbol": "triangle-up", "size": 12, "color": PALETTE[1]},
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Bar(
            x=x,
            y=frame["articles"],
            name="Relevant articles",
            marker={"color": PALETTE[7]},
            opacity=0.5,
        ),
        row=2,
        col=1,
    )
    _annotate(fig, frame, annotations)
    fig.update_yaxes(title_text="Risk (0 = low, 1 = high)", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="Articles", row=2, col=1)
    fig.update_xaxes(title_text="Event date", row=2, col=1)
    fig.update_layout(title=title, height=520, **_LAYOUT)
    return fig


def signals_figure(frame: pd.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Each signal on the shared risk scale, per period and smoothed."""
    fig = go.Figure()
    for i, (signal, label) in enumerate(labels.items()):
        colour = PALETTE[i % len(PALETTE)]
        if signal not in frame.columns:
            continue
        fig.add_trace(
            go.Scatter(
                x=frame.index,
                y=frame[signal],
                name=f"{label} (per period)",
                mode="markers",
                marker={"color": colour, "size": 5},
                opacity=0.6,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=frame.index,
                y=frame[f"{signal}_smoothed"],
                name=f"{label} (rolling mean)",
                line={"color": colour, "width": 2},
            )
        )
    fig.update_yaxes(title_text="Risk (tone shown as (1 - tone) / 2)", range=[0, 1])
    fig.update_xaxes(title_text="Event date")
    fig.update_layout(title="Signals", height=380, **_LAYOUT)
    return fig


def _annotate(fig: go.Figure, frame: pd.DataFrame, annotations: Sequence[Annotation]) -> None:
    if frame.empty:
        return
    first, last = frame.index.min(), frame.index.max()
    for note in annotations:
        when = pd.Timestamp(note.date)
        if first <= when <= last:
            fig.add_vline(
                x=when, line={"color": "#555555", "dash": "dot", "width": 1}, row=1, col=1
            )
            fig.add_annotation(
                x=when,
                y=1,
                yref="y domain",
                text=note.label,
                showarrow=False,
                textangle=-90,
                xanchor="right",
                yanchor="top",
                font={"size": 10},
            )
