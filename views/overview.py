"""Overview page: composite and signals over time, coverage, "why did it move", series snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from pipeline.alerts import Alert, alerts_in
from pipeline.drilldown import (
    Baseline,
    contributions,
    period_span,
    previous_composite,
    selection_span,
    snap_to_options,
    why_caption,
)
from pipeline.index import COMPOSITE
from pipeline.snapshots import SnapshotSpec, series_table, signal_kinds, snapshot_manifest
from views import figures
from views.common import downloads
from views.data import View, contribution_count, contributors, series, versions
from views.detail import show_detail

MEAN, SHARE = "Mean risk", "Share of articles (EPU-style)"
TABS = ["Signals", "Why did it move?", "Snapshot"]


@dataclass(frozen=True)
class ChartOptions:
    """The chart options row beneath the composite; the defaults are its widgets' defaults."""

    measure: str = MEAN
    standardise: bool = False
    yearly: bool = True
    shade: bool = True


def render(view: View) -> None:
    """Draw the overview for the sidebar's filters, weights and index settings."""
    head = st.container()  # the composite chart, above the options that shape it
    options = _chart_options()
    today = date.today()
    spec = _spec(view, options)
    frame = series(view, spec, today)
    drawn = _head(head, view, spec, frame, today, options)
    _metrics(view, frame, alerts_in(frame, view.config.index.alert_threshold))
    if not drawn:
        return
    # Lazy tabs: only the open one runs and reaches the browser, so the first chart draws sooner.
    tabs = st.tabs(TABS, key="overview_tab", on_change="rerun")
    with tabs[0]:
        if tabs[0].open:
            _second_chart(view, spec, today)
    with tabs[1]:
        if tabs[1].open:
            _why(view, frame)
    with tabs[2]:
        if tabs[2].open:
            info = snapshot_manifest(
                "series", len(frame), view.config, spec, versions(view.url, view.stamp)[1]
            )
            table = series_table(frame, signal_kinds(view.config))
            downloads("series", "policy_risk_series", table, info)


def render_first(view: View) -> bool:
    """Only the composite chart, with the default options; whether there was one to draw.

    The same container and chart as ``render`` draws first, so the full page that follows (see
    ``views.first_paint``) keeps the painted chart instead of drawing it again.
    """
    options, today = ChartOptions(), date.today()
    spec = _spec(view, options)
    frame = series(view, spec, today)
    if not _drawable(frame):
        return False
    with st.container():  # the slot of ``render``'s head
        _composite(view, spec, frame, today, options)
    return True


def _chart_options() -> ChartOptions:
    default = ChartOptions()
    controls = st.columns(4)
    measures = [MEAN, SHARE]
    measure = controls[0].radio(
        "Measure", measures, index=measures.index(default.measure), key="measure", horizontal=True
    )
    standardise = controls[1].checkbox(
        "Standardise each outlet (EPU)",
        value=default.standardise,
        key="standardise",
        help="Scale each outlet's share to unit variance so one loud outlet cannot dominate.",
    )
    yearly = controls[2].checkbox(
        "Yearly policy calendar", value=default.yearly, key="yearly_events"
    )
    shade = controls[3].checkbox("Shade thin & provisional", value=default.shade, key="shade")
    return ChartOptions(str(measure), standardise, yearly, shade)


def _spec(view: View, options: ChartOptions) -> SnapshotSpec:
    return view.spec(
        view="share" if options.measure == SHARE else "mean", standardise=options.standardise
    )


def _drawable(frame: pd.DataFrame) -> bool:
    return not frame.empty and not frame[COMPOSITE].isna().all()


def _head(
    head: DeltaGenerator,
    view: View,
    spec: SnapshotSpec,
    frame: pd.DataFrame,
    today: date,
    options: ChartOptions,
) -> bool:
    """The composite chart and its caption into ``head`` (or a warning); whether it was drawn."""
    with head:
        if not _drawable(frame):
            st.warning("No scored articles match these filters.")
            return False
        _composite(view, spec, frame, today, options)
    return True


def _metrics(view: View, frame: pd.DataFrame, found: list[Alert]) -> None:
    state = view.summary
    latest = frame[f"{COMPOSITE}_smoothed"].dropna() if not frame.empty else pd.Series()
    cols = st.columns(5)
    cols[0].metric("Articles stored", f"{state['articles']:,}")
    when = f"{view.period} of {latest.index[-1]:%Y-%m-%d}" if not latest.empty else None
    cols[1].metric(
        "Composite (latest, smoothed)",
        f"{latest.iloc[-1]:.3f}" if not latest.empty else "n/a",
        delta=when,  # the latest period with relevant news may be weeks old: say which
        delta_color="off",
        delta_arrow="off",
    )
    cols[2].metric("Threshold crossings", len(found))
    cols[3].metric("Last scored", str(state["last_scored_at"] or "never")[:10])
    provisional = int(frame["provisional"].sum()) if "provisional" in frame else 0
    thin = int(frame["thin"].sum()) if "thin" in frame else 0
    cols[4].metric("Thin / provisional periods", f"{thin} / {provisional}")


def _composite(
    view: View, spec: SnapshotSpec, frame: pd.DataFrame, today: date, options: ChartOptions
) -> None:
    figure = figures.composite(
        view.url,
        view.stamp,
        view.config,
        spec,
        today,
        yearly=options.yearly,
        shade=options.shade,
    )
    st.plotly_chart(
        figure,
        key="composite_chart",
        on_select=_on_select(_options(frame), spec.period),
        selection_mode=("points", "box"),
    )
    st.caption(
        "Grey bands: thin coverage (few articles for the period, or most feeds failing). "
        "Orange band: provisional, late articles may still arrive. Hover a point for its "
        "coverage; click points or drag a box to see why it moved."
    )


def _second_chart(view: View, spec: SnapshotSpec, today: date) -> None:
    figure = figures.second(view.url, view.stamp, view.config, spec, today)
    key = "share_chart" if spec.view == "share" else "signals_chart"
    st.plotly_chart(figure, key=key)


def _options(frame: pd.DataFrame) -> list[str]:
    present = frame.index[frame[COMPOSITE].notna()]
    return [p.date().isoformat() for p in present]


def _on_select(options: list[str], period: str) -> Callable[[], None]:
    def callback() -> None:
        event = st.session_state.get("composite_chart")
        selection = event.get("selection") if event else None
        span = selection_span(selection, period)
        picked = snap_to_options(options, span) if span else None
        if picked:
            st.session_state["why_range"] = picked
            st.session_state["overview_tab"] = TABS[1]

    return callback


def _why(view: View, frame: pd.DataFrame) -> None:
    st.caption(
        "Click a point or drag a box on the composite chart, or pick the periods here: the "
        "articles that moved the selection's composite most from the previous period's, with "
        "the terms behind them."
    )
    options = _options(frame)
    latest = (options[-1], options[-1])
    current = st.session_state.get("why_range")
    if current is not None and any(v not in options for v in current):
        st.session_state["why_range"] = latest  # the filters removed the picked periods
    low, high = st.select_slider("Periods", options, value=latest, key="why_range")
    span = (
        period_span(pd.Timestamp(low), view.period)[0],
        period_span(pd.Timestamp(high), view.period)[1],
    )
    subset = frame.loc[pd.Timestamp(low) : pd.Timestamp(high)]
    baseline = previous_composite(frame, pd.Timestamp(low))
    _selection_metrics(subset, baseline)
    kinds = signal_kinds(view.config)
    key = (view.url, view.stamp, tuple(kinds.items()), tuple(view.weights.items()), view.flt, span)
    count = contribution_count(*key)
    rows = contributors(*key, baseline.composite if baseline else None)
    periods = int(subset[COMPOSITE].notna().sum())
    st.caption(why_caption(baseline, count, periods, view.period))
    table = contributions(rows, list(kinds), count, baseline)
    st.dataframe(table.drop(columns="id"), hide_index=True, key="why_table")
    if not table.empty:
        titles = dict(zip(table["id"], table["title"], strict=True))
        chosen = st.selectbox(
            "Article detail",
            table["id"].tolist(),
            index=None,
            placeholder="Pick an article to see its dates, sources, scores and terms",
            format_func=lambda i: str(titles.get(i, i)),
            key="why_article",
        )
        if chosen is not None:
            show_detail(view, str(chosen), prefix="why", labels=False)


def _selection_metrics(subset: pd.DataFrame, baseline: Baseline | None) -> None:
    weighted = (subset["articles"] * subset[COMPOSITE]).sum()
    count = subset.loc[subset[COMPOSITE].notna(), "articles"].sum()
    value = float(weighted / count) if count else float("nan")
    delta = f"{value - baseline.composite:+.3f} vs previous period" if baseline else None
    cols = st.columns(2)
    cols[0].metric("Composite of the selection", f"{value:.3f}", delta=delta, delta_color="inverse")
    cols[1].metric("Relevant articles in the selection", f"{int(subset['articles'].sum()):,}")
