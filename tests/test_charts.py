"""Figures: what the composite, signals and share charts draw, with labelled axes and palette."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline.charts import (
    PALETTE,
    PROVISIONAL_FILL,
    THIN_FILL,
    Marks,
    composite_figure,
    share_figure,
    signals_figure,
)
from pipeline.config import Annotation
from pipeline.index import Crossing

LABELS = {"decertification_risk": "Decertification risk", "cooperation_tone": "Cooperation tone"}


def _frame() -> pd.DataFrame:
    index = pd.date_range("2025-09-01", periods=10, freq="D", name="period")
    values = [0.2, 0.3, np.nan, 0.7, 0.8, 0.5, 0.4, 0.65, 0.7, 0.9]
    frame = pd.DataFrame({"composite": values}, index=index)
    frame["composite_smoothed"] = frame["composite"].rolling(3, min_periods=1).mean()
    for signal in LABELS:
        frame[signal] = frame["composite"]
        frame[f"{signal}_smoothed"] = frame["composite_smoothed"]
    frame["articles"] = [3, 2, 0, 4, 5, 1, 1, 2, 3, 1]
    frame["all_articles"] = frame["articles"] + 2
    frame["sources"] = 2
    frame["feeds_configured"] = 3
    frame["feeds_healthy"] = [3, 3, np.nan, 1, 3, 3, 3, 3, 3, 3]
    return frame


def _marks(**changes: object) -> Marks:
    base = {
        "threshold": 0.6,
        "alerts": [Crossing(pd.Timestamp("2025-09-04"), 0.7, 0.3)],
        "annotations": [Annotation(date=date(2025, 9, 5), label="Colombia decertified")],
        "thin": [(pd.Timestamp("2025-09-03"), pd.Timestamp("2025-09-05"))],
        "provisional": [(pd.Timestamp("2025-09-10"), pd.Timestamp("2025-09-11"))],
    }
    return Marks(**{**base, **changes})  # type: ignore[arg-type]


def test_composite_figure_draws_every_layer() -> None:
    fig = composite_figure(_frame(), _marks())
    names = [trace.name for trace in fig.data]
    assert names == [
        "Composite (per period)",
        "Composite (rolling mean)",
        "Threshold crossed (alert)",
        "Relevant articles",
        "All stored articles",
        "Thin coverage (shaded grey)",
        "Provisional (shaded orange)",
    ]
    shapes = fig.layout.shapes
    assert any(s.type == "line" and s.y0 == 0.6 == s.y1 for s in shapes)  # threshold
    assert [s.fillcolor for s in shapes if s.type == "rect"] == [THIN_FILL, PROVISIONAL_FILL]
    texts = [a.text for a in fig.layout.annotations]
    assert "Colombia decertified" in texts and "alert threshold 0.60" in texts


def test_composite_figure_labels_axes_and_units() -> None:
    fig = composite_figure(_frame(), _marks())
    assert fig.layout.yaxis.title.text == "Risk (0 = low, 1 = high)"
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    assert fig.layout.yaxis2.title.text == "Articles per period"
    assert fig.layout.xaxis2.title.text == "Event date"
    assert fig.layout.clickmode == "event+select"


def test_hover_carries_coverage_per_period() -> None:
    trace = composite_figure(_frame(), _marks()).data[0]
    assert "feeds healthy: %{customdata[3]}" in trace.hovertemplate
    assert trace.customdata[2][3] == "n/a"  # nothing ran that day: unknown, not zero
    assert trace.customdata[3][3] == 1


def test_optional_layers_can_be_absent() -> None:
    fig = composite_figure(_frame(), _marks(alerts=[], thin=[], provisional=[], annotations=[]))
    assert [t.name for t in fig.data] == [
        "Composite (per period)",
        "Composite (rolling mean)",
        "Relevant articles",
        "All stored articles",
    ]
    assert not [s for s in fig.layout.shapes if s.type == "rect"]


def test_annotations_outside_the_range_are_not_drawn() -> None:
    far = Annotation(date=date(2020, 1, 1), label="Long ago")
    fig = composite_figure(_frame(), _marks(annotations=[far]))
    assert "Long ago" not in [a.text for a in fig.layout.annotations]


def test_signals_figure_uses_the_colour_blind_safe_palette() -> None:
    fig = signals_figure(_frame(), LABELS)
    assert [t.name for t in fig.data] == [
        "Decertification risk (per period)",
        "Decertification risk (rolling mean)",
        "Cooperation tone (per period)",
        "Cooperation tone (rolling mean)",
    ]
    assert fig.data[1].line.color == PALETTE[0] and fig.data[3].line.color == PALETTE[1]
    assert fig.layout.yaxis.title.text.startswith("Risk (tone shown as")


def test_share_figure_names_its_unit() -> None:
    frame = _frame().assign(
        decertification_risk_share=10.0, cooperation_tone_share=5.0, composite_share=8.0
    )
    fig = share_figure(frame, LABELS, "% of all articles")
    assert [t.name for t in fig.data] == [
        "Decertification risk",
        "Cooperation tone",
        "Weighted (composite)",
    ]
    assert fig.layout.yaxis.title.text == "% of all articles"


def test_dense_series_draw_lines_and_sparse_ones_keep_markers() -> None:
    assert composite_figure(_frame(), _marks()).data[0].mode == "markers+lines"
    index = pd.date_range("2023-01-01", periods=900, freq="D", name="period")
    dense = pd.DataFrame({c: 0.5 for c in _frame().columns}, index=index)
    assert composite_figure(dense, _marks()).data[0].mode == "lines"
    assert signals_figure(dense, LABELS).data[0].mode == "lines"
    assert signals_figure(_frame(), LABELS).data[0].mode == "markers"


def _one_week() -> pd.DataFrame:
    return _frame().iloc[[3]].set_axis(pd.DatetimeIndex(["2026-11-16"], name="period"))


def test_a_single_period_gets_a_padded_date_axis() -> None:
    alert = [Crossing(pd.Timestamp("2026-11-16"), 0.7, None)]
    fig = composite_figure(_one_week(), _marks(alerts=alert), period="week")
    day_ms = 86_400_000
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):  # shared: the volume axis too
        assert [pd.Timestamp(x) for x in axis.range] == [
            pd.Timestamp("2026-11-12 12:00"),
            pd.Timestamp("2026-11-19 12:00"),
        ]  # half a week either side of the period start, not a millisecond
        assert axis.tickformat == "%Y-%m-%d" and axis.dtick == day_ms
    composite, smoothed, alerts, bars = fig.data[:4]
    assert bars.type == "bar" and bars.width == 3.5 * day_ms
    # the point stays visible: larger than the rolling-mean marker, inside an open triangle
    assert composite.marker.size > 6 and alerts.marker.symbol == "triangle-up-open"


def test_a_single_period_axis_follows_the_period() -> None:
    month = _one_week().set_axis(pd.DatetimeIndex(["2026-11-01"], name="period"))
    fig = signals_figure(month, LABELS, period="month")
    assert [pd.Timestamp(x) for x in fig.layout.xaxis.range] == [
        pd.Timestamp("2026-10-17"),
        pd.Timestamp("2026-11-16"),
    ]
    assert fig.layout.xaxis.dtick == 7 * 86_400_000
    share = share_figure(month.assign(composite_share=5.0), LABELS, "%", period="day")
    assert [pd.Timestamp(x) for x in share.layout.xaxis.range] == [
        pd.Timestamp("2026-10-29"),
        pd.Timestamp("2026-11-04"),
    ]


def test_a_single_period_without_a_period_name_assumes_a_week() -> None:
    month = _one_week().set_axis(pd.DatetimeIndex(["2026-11-01"], name="period"))
    default = composite_figure(month, _marks())  # the axis still shows dates around the point
    assert [pd.Timestamp(x) for x in default.layout.xaxis.range] == [
        pd.Timestamp("2026-10-28 12:00"),
        pd.Timestamp("2026-11-04 12:00"),
    ]


def test_several_periods_keep_plotly_autorange() -> None:
    fig = composite_figure(_frame(), _marks(), period="day")
    assert fig.layout.xaxis.range is None and fig.layout.xaxis.tickformat is None
    assert fig.data[3].width is None and fig.data[0].marker.size == 5
