"""Plotly figures for the dashboard: pure functions from frames to figures, no Streamlit here.

No feed-supplied text ever goes into a figure (Plotly renders a subset of HTML in labels, links
included); labels come from the config and the frames' numbers only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pipeline.config import Annotation
from pipeline.index import COMPOSITE, Crossing

# Okabe–Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
THIN_FILL = "rgba(120, 120, 120, 0.18)"
PROVISIONAL_FILL = "rgba(230, 159, 0, 0.22)"
_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 40, "b": 40},
    "legend": {"orientation": "h", "y": -0.15},
}
Span = tuple[pd.Timestamp, pd.Timestamp]
DENSE_PERIODS = 400
# A lone period: days shown either side (half a period; 3 for a day so the axis shows dates, not
# hours) and the width of its volume bar (half a period). Without a period, a week is assumed.
_LONE_PAD_DAYS = {"day": 3.0, "week": 3.5, "month": 15.0}
_LONE_BAR_DAYS = {"day": 0.5, "week": 3.5, "month": 15.0}
_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Marks:
    """What the composite chart draws besides the series: alerts, events, shaded spans."""

    threshold: float
    alerts: Sequence[Crossing] = ()
    annotations: Sequence[Annotation] = ()
    thin: Sequence[Span] = ()
    provisional: Sequence[Span] = ()


def _dense(frame: pd.DataFrame) -> bool:
    """Past this many drawn periods a marker each costs the browser more than it shows.

    Sparse series keep their markers: a lone period between gaps is only visible as one.
    """
    return int(frame[COMPOSITE].notna().sum()) > DENSE_PERIODS


def _days(frame: pd.DataFrame) -> list[str]:
    """Period starts as ``YYYY-MM-DD``: half the bytes of full timestamps in the page payload."""
    return [d.strftime("%Y-%m-%d") for d in pd.DatetimeIndex(frame.index)]


def _lone_period(frame: pd.DataFrame) -> bool:
    """One period only: Plotly would zoom its date axis to a millisecond around the point."""
    return len(frame.index) == 1


def _pad_lone_period(fig: go.Figure, frame: pd.DataFrame, period: str | None) -> None:
    """Give a one-period chart a date axis: the point centred, half a period either side."""
    if not _lone_period(frame):
        return
    start = pd.Timestamp(frame.index[0])
    pad = _LONE_PAD_DAYS.get(period or "week", 3.5)
    fig.update_xaxes(
        range=[
            (start - pd.Timedelta(days=pad)).isoformat(),
            (start + pd.Timedelta(days=pad)).isoformat(),
        ],
        tickformat="%Y-%m-%d",
        tick0=start.isoformat(),
        dtick=_DAY_MS * (7 if pad > 7 else 1),
    )


def _values(series: pd.Series) -> list[float | None]:
    """Values rounded to 4 decimals (what the axes can show), gaps as None."""
    return [None if pd.isna(v) else round(float(v), 4) for v in series]


def _hover(frame: pd.DataFrame) -> tuple[list[list[object]], str]:
    """Coverage per period in the hover text of the composite (issue 5, 11a)."""
    columns = ["articles", "all_articles", "sources", "feeds_healthy", "feeds_configured"]
    present = [c for c in columns if c in frame.columns]
    data = frame[present].astype(object).where(frame[present].notna(), "n/a")
    custom = data.values.tolist()
    parts = ["%{x|%Y-%m-%d}: %{y:.3f}"]
    names = {
        "articles": "relevant articles",
        "all_articles": "all articles",
        "sources": "sources",
        "feeds_healthy": "feeds healthy",
        "feeds_configured": "of feeds configured",
    }
    parts += [f"{names[c]}: %{{customdata[{i}]}}" for i, c in enumerate(present)]
    return custom, "<br>".join(parts) + "<extra></extra>"


def composite_figure(
    frame: pd.DataFrame,
    marks: Marks,
    title: str = "Composite risk index",
    *,
    period: str | None = None,
) -> go.Figure:
    """Composite (raw and smoothed), threshold, crossings, events and shading; volume beneath.

    ``period`` (day, week, month) only sizes the x axis and the bar when there is one period.
    """
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.75, 0.25], vertical_spacing=0.05
    )
    custom, hover = _hover(frame)
    fig.add_trace(
        go.Scatter(
            x=_days(frame),
            y=_values(frame[COMPOSITE]),
            name="Composite (per period)",
            mode="lines" if _dense(frame) else "markers+lines",
            line={"color": PALETTE[5], "width": 1},
            marker={
                "size": 10 if _lone_period(frame) else 5
            },  # a lone point: a ring around the mean
            connectgaps=False,
            customdata=custom,
            hovertemplate=hover,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=_days(frame),
            y=_values(frame[f"{COMPOSITE}_smoothed"]),
            name="Composite (rolling mean)",
            line={"color": PALETTE[0], "width": 3},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.3f} (rolling mean)<extra></extra>",
        ),
        row=1,
        col=1,
    )
    _alerts(fig, marks)
    _volume(fig, frame, period)
    _legend_swatch(fig, marks.thin, THIN_FILL, "Thin coverage (shaded grey)")
    _legend_swatch(fig, marks.provisional, PROVISIONAL_FILL, "Provisional (shaded orange)")
    # Shapes and notes go in with one layout update: plotly's add_vline/add_vrect re-validate
    # every shape on each call, which cost 0.3 s per render on a three-year daily chart.
    shapes = [
        *_spans(marks.thin, THIN_FILL),
        *_spans(marks.provisional, PROVISIONAL_FILL),
        _threshold_line(marks.threshold),
    ]
    notes = [_threshold_note(marks.threshold)]
    for note in _visible(frame, marks.annotations):
        shapes.append(_event_line(note))
        notes.append(_event_note(note))
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_yaxes(title_text="Risk (0 = low, 1 = high)", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="Articles per period", row=2, col=1)
    fig.update_xaxes(title_text="Event date", row=2, col=1)
    fig.update_layout(title=title, height=540, clickmode="event+select", **_LAYOUT)
    _pad_lone_period(fig, frame, period)
    return fig


def _threshold_line(threshold: float) -> dict[str, object]:
    return {
        "type": "line",
        "xref": "x domain",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": threshold,
        "y1": threshold,
        "line": {"color": PALETTE[1], "dash": "dash"},
    }


def _threshold_note(threshold: float) -> dict[str, object]:
    return {
        "xref": "x domain",
        "x": 1,
        "yref": "y",
        "y": threshold,
        "text": f"alert threshold {threshold:.2f}",
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
    }


def _alerts(fig: go.Figure, marks: Marks) -> None:
    if marks.alerts:
        fig.add_trace(
            go.Scatter(
                x=[a.period for a in marks.alerts],
                y=[a.value for a in marks.alerts],
                name="Threshold crossed (alert)",
                mode="markers",
                # open, so the point it marks stays visible inside it
                marker={
                    "symbol": "triangle-up-open",
                    "size": 13,
                    "color": PALETTE[1],
                    "line": {"width": 2},
                },
                hovertemplate="alert %{x|%Y-%m-%d}: %{y:.3f}<extra></extra>",
            ),
            row=1,
            col=1,
        )


def _volume(fig: go.Figure, frame: pd.DataFrame, period: str | None) -> None:
    common: dict[str, Any] = {
        "x": _days(frame),
        "y": _values(frame["articles"]),
        "name": "Relevant articles",
        "hovertemplate": "%{x|%Y-%m-%d}: %{y} relevant<extra></extra>",
    }
    if _dense(frame):  # one filled step line instead of an SVG bar per period
        volume: go.Scatter | go.Bar = go.Scatter(
            **common,
            mode="lines",
            line={"color": PALETTE[7], "width": 0.5, "shape": "hv"},
            fill="tozeroy",
        )
    else:
        volume = go.Bar(**common, marker={"color": PALETTE[7]}, opacity=0.55)
        if _lone_period(frame):  # otherwise one bar is 1 ms wide, or fills the whole plot
            volume.width = _LONE_BAR_DAYS.get(period or "week", 3.5) * _DAY_MS
    fig.add_trace(volume, row=2, col=1)
    if "all_articles" in frame.columns:
        fig.add_trace(
            go.Scatter(
                x=_days(frame),
                y=_values(frame["all_articles"]),
                name="All stored articles",
                mode="lines",
                line={"color": PALETTE[2], "width": 1, "shape": "hv"},
                hovertemplate="%{x|%Y-%m-%d}: %{y} stored<extra></extra>",
            ),
            row=2,
            col=1,
        )


def _spans(spans: Sequence[Span], colour: str) -> list[dict[str, object]]:
    return [
        {
            "type": "rect",
            "xref": "x",
            "x0": start,
            "x1": end,
            "yref": "y domain",
            "y0": 0,
            "y1": 1,
            "fillcolor": colour,
            "line": {"width": 0},
            "layer": "below",
        }
        for start, end in spans
    ]


def _legend_swatch(fig: go.Figure, spans: Sequence[Span], colour: str, name: str) -> None:
    if spans:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=name,
                marker={"symbol": "square", "size": 12, "color": colour},
            ),
            row=1,
            col=1,
        )


def signals_figure(
    frame: pd.DataFrame, labels: Mapping[str, str], *, period: str | None = None
) -> go.Figure:
    """Each signal on the shared risk scale, per period and smoothed."""
    fig = go.Figure()
    for i, (signal, label) in enumerate(labels.items()):
        colour = PALETTE[i % len(PALETTE)]
        if signal not in frame.columns:
            continue
        fig.add_trace(
            go.Scatter(
                x=_days(frame),
                y=_values(frame[signal]),
                name=f"{label} (per period)",
                mode="lines" if _dense(frame) else "markers",
                marker={"color": colour, "size": 5},
                line={"color": colour, "width": 0.7},
                opacity=0.6,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=_days(frame),
                y=_values(frame[f"{signal}_smoothed"]),
                name=f"{label} (rolling mean)",
                line={"color": colour, "width": 2},
            )
        )
    fig.update_yaxes(title_text="Risk (tone shown as (1 - tone) / 2)", range=[0, 1])
    fig.update_xaxes(title_text="Event date")
    fig.update_layout(title="Signals", height=380, **_LAYOUT)
    _pad_lone_period(fig, frame, period)
    return fig


def share_figure(
    frame: pd.DataFrame, labels: Mapping[str, str], unit: str, *, period: str | None = None
) -> go.Figure:
    """The EPU-style share of articles above the threshold, per signal and weighted."""
    fig = go.Figure()
    for i, (signal, label) in enumerate(labels.items()):
        column = f"{signal}_share"
        if column in frame.columns:
            fig.add_trace(
                go.Scatter(
                    x=_days(frame),
                    y=_values(frame[column]),
                    name=label,
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": PALETTE[i % len(PALETTE)], "width": 1.5},
                )
            )
    if "composite_share" in frame.columns:
        fig.add_trace(
            go.Scatter(
                x=_days(frame),
                y=_values(frame["composite_share"]),
                name="Weighted (composite)",
                line={"color": PALETTE[7], "width": 3},
            )
        )
    fig.update_yaxes(title_text=unit, rangemode="tozero")
    fig.update_xaxes(title_text="Event date")
    fig.update_layout(title="Share of articles above the risk threshold", height=380, **_LAYOUT)
    _pad_lone_period(fig, frame, period)
    return fig


def _visible(frame: pd.DataFrame, annotations: Sequence[Annotation]) -> list[Annotation]:
    if frame.empty:
        return []
    first, last = frame.index.min(), frame.index.max()
    return [n for n in annotations if first <= pd.Timestamp(n.date) <= last]


def _event_line(note: Annotation) -> dict[str, object]:
    return {
        "type": "line",
        "xref": "x",
        "x0": pd.Timestamp(note.date),
        "x1": pd.Timestamp(note.date),
        "yref": "y domain",
        "y0": 0,
        "y1": 1,
        "line": {"color": "#555555", "dash": "dot", "width": 1},
    }


def _event_note(note: Annotation) -> dict[str, object]:
    return {
        "x": pd.Timestamp(note.date),
        "xref": "x",
        "y": 1,
        "yref": "y domain",
        "text": note.label,
        "showarrow": False,
        "textangle": -90,
        "xanchor": "right",
        "yanchor": "top",
        "font": {"size": 10},
    }
