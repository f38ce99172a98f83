"""Articles page: list filters, a sortable table, its snapshot downloads, and the detail view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st

from pipeline.display import with_safe_links
from pipeline.examples import RELEVANCE
from pipeline.insights import SORT_KEYS, ArticleQuery
from pipeline.snapshots import ARTICLE_COLUMNS, countries, mention_groups, snapshot_manifest
from views.common import downloads
from views.data import View, articles, versions
from views.detail import show_detail

LIMITS = [100, 1000, 5000]
DISPLAY_ORDER = ["title", "source", "event_date", "page_date", "language"]


def render(view: View) -> None:
    """Draw the filtered article list and the chosen article's detail."""
    st.subheader("Articles")
    query, limit = _list_filters(view)
    signals = list(view.config.signals)
    rows = articles(view.url, view.stamp, tuple(signals), query, limit + 1)
    truncated = len(rows) > limit
    table = rows.iloc[:limit][[*ARTICLE_COLUMNS, *signals, RELEVANCE]]
    st.caption(match_caption(len(table), limit, truncated=truncated))
    st.dataframe(
        with_safe_links(table),
        hide_index=True,
        column_config=_columns(view),
        column_order=DISPLAY_ORDER[:5] + [*signals, RELEVANCE, "url", "id"],
        key="articles_table",
        on_select=_on_pick(table),
        selection_mode="single-row",
    )
    spec = view.spec(query=query, limit=limit)
    info = snapshot_manifest(
        "articles", len(table), view.config, spec, versions(view.url, view.stamp)[1],
        truncated=truncated,
    )  # fmt: skip
    downloads("articles", "policy_risk_articles", table, info)
    if not table.empty:
        st.subheader("Article detail")
        titles = dict(zip(table["id"], table["title"], strict=True))
        ids = table["id"].tolist()
        if st.session_state.get("detail_article") not in ids:
            st.session_state["detail_article"] = ids[0]
        chosen = st.selectbox(
            "Article", ids, format_func=lambda i: str(titles.get(i, i)), key="detail_article"
        )
        show_detail(view, str(chosen), prefix="detail")


def match_caption(shown: int, limit: int, *, truncated: bool) -> str:
    """How many articles match: exact up to ``limit``; past it only "more than", since the list
    reads one row beyond the limit and counting every match would read them all."""
    if not truncated:
        return f"{shown:,} article(s) match the filters."
    return (
        f"More than {limit:,} articles match the filters; the first {limit:,} are shown"
        " (narrow the filters to see the rest)."
    )


def _list_filters(view: View) -> tuple[ArticleQuery, int]:
    config = view.config
    with st.expander("List filters: countries, score ranges, order", expanded=False):
        cols = st.columns(4)
        named = cols[0].multiselect("Mentions", list(countries(config)), key="mentions")
        sort_by = cols[1].selectbox(
            "Sort by", [*SORT_KEYS, *config.signals, RELEVANCE], key="sort_by"
        )
        descending = cols[2].checkbox("Descending", value=True, key="descending")
        limit = cols[3].selectbox("Rows", LIMITS, index=1, key="table_limit")
        ranges = _ranges(view)
    flt = replace(view.flt, signal_ranges=ranges)
    query = ArticleQuery(
        flt=flt,
        mentions=mention_groups(config, named),
        sort_by=str(sort_by),
        descending=bool(descending),
    )
    return query, int(limit)


def _ranges(view: View) -> dict[str, tuple[float, float]]:
    ranges: dict[str, tuple[float, float]] = {}
    cols = st.columns(len(view.config.signals))
    for col, (name, signal) in zip(cols, view.config.signals.items(), strict=True):
        low = -1.0 if signal.kind == "tone" else 0.0
        picked = col.slider(
            f"{signal.label} range", low, 1.0, (low, 1.0), 0.05, key=f"range_{name}"
        )
        if (float(picked[0]), float(picked[1])) != (low, 1.0):
            ranges[name] = (float(picked[0]), float(picked[1]))
    return ranges


def _columns(view: View) -> dict[str, Any]:
    config: dict[str, Any] = {
        "url": st.column_config.LinkColumn("Link"),
        "event_date": st.column_config.DateColumn("Event date"),
        "page_date": st.column_config.DateColumn("Page date"),
    }
    for name, signal in view.config.signals.items():
        config[name] = st.column_config.NumberColumn(signal.label, format="%.3f")
    return config


def _on_pick(table: pd.DataFrame) -> Callable[[], None]:
    ids = table["id"].tolist()

    def callback() -> None:
        event = st.session_state.get("articles_table")
        picked = (event or {}).get("selection", {}).get("rows") or []
        if picked and picked[0] < len(ids):
            st.session_state["detail_article"] = ids[picked[0]]

    return callback
