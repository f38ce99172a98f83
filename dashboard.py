"""Policy Risk Monitor dashboard (``streamlit run dashboard.py``): layout and widgets only.

Every read goes through ``pipeline.queries``/``pipeline.snapshots``; this file never fetches
feeds or trains models. Feed-supplied text is shown as plain text, never as HTML or Markdown.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from pipeline import queries
from pipeline.charts import composite_figure, signals_figure
from pipeline.config import CONFIG_ENV_VAR, Config, load_config
from pipeline.errors import PipelineError
from pipeline.export import frame_to_csv, manifest, manifest_json
from pipeline.index import crossings
from pipeline.snapshots import articles_frame, series_frame, signal_kinds, snapshot_details
from pipeline.store import open_store

FILL_COMMAND = "make run   (or: policy-risk run)"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def plain(text: object) -> str:
    """Escape Markdown so feed text inside st.markdown renders as the literal characters."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return open_store(url, create=False)


def _config() -> Config:
    path = Path(os.environ.get(CONFIG_ENV_VAR) or Path(__file__).with_name("config.yaml"))
    return load_config(path)


def _store_state(engine: Engine) -> dict[str, Any]:
    return queries.store_summary(engine)


@st.cache_data(show_spinner=False, max_entries=64)
def _daily(
    url: str, stamp: str, signals: tuple[str, ...], flt: queries.ArticleFilter
) -> pd.DataFrame:
    return queries.daily_signal_stats(_engine(url), list(signals), flt)


@st.cache_data(show_spinner=False, max_entries=64)
def _articles(url: str, stamp: str, _config_key: str, flt: queries.ArticleFilter) -> pd.DataFrame:
    return articles_frame(_engine(url), _config(), flt, limit=5000)


def _stamp(state: dict[str, Any]) -> str:
    """Changes whenever the pipeline writes, so cached reads are refreshed."""
    run = state.get("last_run") or {}
    return f"{state['articles']}|{state['scored']}|{state['last_scored_at']}|{run.get('run_id')}"


def main() -> None:
    st.set_page_config(page_title="Policy Risk Monitor", layout="wide")
    st.title("Policy Risk Monitor")
    try:
        config = _config()
        url = config.database.url
        if _sqlite_missing(url):
            _empty_store(f"No database yet at {url}.")
        engine = _engine(url)
        state = _store_state(engine)
    except PipelineError as exc:
        st.error(str(exc))
        st.stop()
        return
    if state["articles"] == 0:
        _empty_store("The store holds no articles yet.")
    weights, flt, period, window = _sidebar(config, engine, state)
    _overview(config, url, _stamp(state), flt, weights, period, window, state)
    _articles_view(config, url, _stamp(state), flt, weights, engine)


def _sqlite_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()


def _empty_store(reason: str) -> None:
    st.info(f"{reason} Fill it with:")
    st.code(FILL_COMMAND, language="bash")
    st.stop()


def _sidebar(
    config: Config, engine: Engine, state: dict[str, Any]
) -> tuple[dict[str, float], queries.ArticleFilter, str, int]:
    side = st.sidebar
    side.header("Weights")
    if side.button("Reset weights to config.yaml", key="reset_weights"):
        for name, signal in config.signals.items():
            st.session_state[f"weight_{name}"] = float(signal.weight)
    weights = {
        name: side.slider(
            signal.label,
            -1.0,
            1.0,
            float(signal.weight),
            0.05,
            key=f"weight_{name}",
            help=signal.description,
        )
        for name, signal in config.signals.items()
    }
    side.header("Filters")
    first, last = state["first_event"], state["last_event"]
    picked = side.date_input(
        "Event dates", value=(first, last), min_value=first, max_value=last, key="dates"
    )
    start, end = _date_pair(picked, first, last)
    sources = side.multiselect("Sources", queries.list_sources(engine), key="sources")
    languages = side.multiselect("Languages", queries.list_languages(engine), key="languages")
    search = side.text_input("Search titles and text", key="search")
    relevant_only = side.checkbox(
        "Only articles about the monitored pair", value=True, key="relevant_only"
    )
    side.header("Index")
    periods = ["day", "week", "month"]
    period = side.selectbox(
        "Period", periods, index=periods.index(config.index.period), key="period"
    )
    window = side.number_input(
        "Smoothing window (periods)", 1, 365, config.index.smoothing_window, key="window"
    )
    flt = queries.ArticleFilter(
        start=start,
        end=end,
        sources=tuple(sources),
        languages=tuple(languages),
        search=search,
        relevant_only=relevant_only,
        relevance_threshold=config.index.relevance_threshold,
    )
    return weights, flt, str(period), int(window)


def _date_pair(picked: Any, first: date, last: date) -> tuple[date, date]:
    if isinstance(picked, tuple | list):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], last
        return first, last
    return picked, picked


def _overview(
    config: Config,
    url: str,
    stamp: str,
    flt: queries.ArticleFilter,
    weights: dict[str, float],
    period: str,
    window: int,
    state: dict[str, Any],
) -> None:
    from pipeline.index import index_frame

    daily = _daily(url, stamp, tuple(config.signals), flt)
    frame = index_frame(daily, signal_kinds(config), weights, period, window)
    alerts = (
        crossings(frame["composite_smoothed"], config.index.alert_threshold)
        if not frame.empty
        else []
    )
    latest = frame["composite_smoothed"].dropna()
    cols = st.columns(4)
    cols[0].metric("Articles stored", f"{state['articles']:,}")
    cols[1].metric(
        "Composite (latest, smoothed)",
        f"{latest.iloc[-1]:.3f}" if not latest.empty else "n/a",
    )
    cols[2].metric("Threshold crossings", len(alerts))
    cols[3].metric(
        "Last scored", str(state["last_scored_at"])[:16] if state["last_scored_at"] else "never"
    )
    if frame.empty:
        st.warning("No scored articles match these filters.")
        return
    st.plotly_chart(
        composite_figure(frame, config.index.alert_threshold, alerts, config.index.annotations),
        key="composite_chart",
    )
    labels = {name: s.label for name, s in config.signals.items()}
    st.plotly_chart(signals_figure(frame, labels), key="signals_chart")
    st.session_state["series_frame"] = frame
    _series_downloads(config, url, flt, weights, period, window)


def _series_downloads(
    config: Config,
    url: str,
    flt: queries.ArticleFilter,
    weights: dict[str, float],
    period: str,
    window: int,
) -> None:
    engine = _engine(url)
    series = series_frame(engine, config, flt, weights, period, window)
    info = manifest("series", len(series), **snapshot_details(engine, config, flt, weights))
    info.update(period=period, smoothing_window=window)
    cols = st.columns(2)
    cols[0].download_button(
        "Download series CSV",
        frame_to_csv(series),
        "policy_risk_series.csv",
        "text/csv",
        key="download_series",
    )
    cols[1].download_button(
        "Series manifest (JSON)",
        manifest_json(info),
        "policy_risk_series.manifest.json",
        "application/json",
        key="download_series_manifest",
    )


def _articles_view(
    config: Config,
    url: str,
    stamp: str,
    flt: queries.ArticleFilter,
    weights: dict[str, float],
    engine: Engine,
) -> None:
    st.subheader("Articles")
    table = _articles(url, stamp, str(config.path), flt)
    st.caption(
        f"{len(table):,} article(s) match the filters (newest events first; at most 5,000 shown)."
    )
    column_config = {
        "url": st.column_config.LinkColumn("Link"),
        "event_date": st.column_config.DateColumn("Event date"),
        "page_date": st.column_config.DateColumn("Page date"),
    }
    st.dataframe(table, hide_index=True, column_config=column_config, key="articles_table")
    info = manifest("articles", len(table), **snapshot_details(engine, config, flt, weights))
    cols = st.columns(2)
    cols[0].download_button(
        "Download articles CSV",
        frame_to_csv(table),
        "policy_risk_articles.csv",
        "text/csv",
        key="download_articles",
    )
    cols[1].download_button(
        "Articles manifest (JSON)",
        manifest_json(info),
        "policy_risk_articles.manifest.json",
        "application/json",
        key="download_articles_manifest",
    )
    if not table.empty:
        _detail(config, engine, table)


def _detail(config: Config, engine: Engine, table: pd.DataFrame) -> None:
    st.subheader("Article detail")
    options = table["id"].tolist()
    titles = dict(zip(table["id"], table["title"], strict=True))
    chosen = st.selectbox(
        "Article", options, format_func=lambda i: titles.get(i, i), key="detail_article"
    )
    detail = queries.article_detail(engine, chosen)
    if detail is None:
        st.warning("That article is no longer in the store.")
        return
    st.markdown(f"**{plain(detail['title'])}**")
    st.text(
        f"Source: {detail['source']}   Language: {detail['language']}\n"
        f"Event date: {detail['event_date']}   Page date: {detail['page_date'] or 'unknown'}"
    )
    if detail["url"]:
        st.link_button("Open original", detail["url"])
    for score in detail["scores"]:
        label = (
            config.signals[score["signal"]].label
            if score["signal"] in config.signals
            else score["signal"]
        )
        st.text(
            f"{label}: {score['value']:.3f}  "
            f"(model {score['model_version']}, confidence {score['confidence']})"
        )
        if score["explanation"]:
            st.caption(plain(_explain(score["explanation"])))
    st.text(detail["text"])


def _explain(raw: str) -> str:
    import json

    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    up = ", ".join(term for term, _ in data.get("up", []))
    down = ", ".join(term for term, _ in data.get("down", []))
    return f"pushed up by: {up or '-'}; pushed down by: {down or '-'}"


main()
