"""The overview's Plotly figures, cached like the reads they draw (by store stamp and settings).

Building the composite through Plotly's validators takes about 0.1 s a run. The cache keeps each
figure as its plain dict (``Figure.to_dict``): cheap to copy out, and ``st.plotly_chart`` turns
it into the same JSON every time, so a rerun sends the browser an identical chart that it keeps
instead of drawing again (an unpickled ``Figure`` orders its keys differently from a fresh one).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from pipeline.charts import Marks, composite_figure, share_figure, signals_figure
from pipeline.config import Config
from pipeline.coverage import spans
from pipeline.events import chart_annotations
from pipeline.index import COMPOSITE, crossings
from pipeline.share import share_unit
from pipeline.snapshots import SnapshotSpec, signal_labels
from views.data import composed


@st.cache_data(show_spinner=False, max_entries=64)
def composite(
    url: str,
    stamp: str,
    config: Config,
    spec: SnapshotSpec,
    today: date,
    *,
    yearly: bool,
    shade: bool,
) -> dict[str, Any]:
    """Composite, threshold, crossings, events (``yearly``: the policy calendar), shading."""
    frame = composed(url, stamp, config, spec, today)
    index = config.index
    first, last = frame.index.min().date(), frame.index.max().date()
    marks = Marks(
        threshold=index.alert_threshold,
        alerts=crossings(frame[f"{COMPOSITE}_smoothed"], index.alert_threshold),
        annotations=chart_annotations(
            index.annotations, index.yearly_annotations, first, last, include_yearly=yearly
        ),
        thin=spans(frame["thin"], spec.period) if shade else [],
        provisional=spans(frame["provisional"], spec.period) if shade else [],
    )
    return dict(composite_figure(frame, marks, period=spec.period).to_dict())


@st.cache_data(show_spinner=False, max_entries=64)
def second(url: str, stamp: str, config: Config, spec: SnapshotSpec, today: date) -> dict[str, Any]:
    """The signals chart (mean view) or the share chart (share view)."""
    frame = composed(url, stamp, config, spec, today)
    labels = signal_labels(config)
    if spec.view == "share":
        unit = share_unit(spec.standardise)
        return dict(share_figure(frame, labels, unit, period=spec.period).to_dict())
    return dict(signals_figure(frame, labels, period=spec.period).to_dict())
