"""Policy Risk Monitor dashboard (``streamlit run dashboard.py``): layout and widgets only.

The sidebar picks the page, the weights, the filters and the index settings; each page lives in
``views/`` and every read goes through ``pipeline`` (cached in ``views.data`` by the store stamp).
Feed-supplied text is shown with ``st.text``/``st.dataframe`` only, never as HTML or Markdown.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import streamlit as st

from pipeline import queries
from pipeline.config import CONFIG_ENV_VAR, DATABASE_ENV_VAR, Config, load_config
from pipeline.config_writer import backup_path, save_weights
from pipeline.errors import PipelineError
from views import alerts, articles, compare, first_paint, model, overview, sources
from views.data import View, choices, stamp, summary, versions
from views.model import unscored_note

FILL_COMMAND = "make run   (or: policy-risk run)"
RELEVANT_ONLY = True  # the filter's default, also used by a session's first run
PAGES = {
    "Overview": overview.render,
    "Articles": articles.render,
    "Sources": sources.render,
    "Model": model.render,
    "Alerts": alerts.render,
    "Compare": compare.render,
}


def _config() -> Config:
    path = Path(os.environ.get(CONFIG_ENV_VAR) or Path(__file__).with_name("config.yaml"))
    try:
        found = path.stat()
    except OSError:
        return load_config(path)  # its ConfigError says what is wrong
    key = (found.st_ino, found.st_mtime_ns, found.st_size)
    return _loaded(str(path), key, os.environ.get(DATABASE_ENV_VAR))


@st.cache_resource(show_spinner=False, max_entries=8)
def _loaded(path: str, file_key: tuple[int, int, int], database_url: str | None) -> Config:
    """The parsed config, until the file (e.g. "Save as default") or DATABASE_URL changes."""
    return load_config(Path(path))  # frozen, so one shared object is safe


def _disable_table_export() -> None:
    """Hide every table's toolbar "Download as CSV" (and its clipboard copy).

    That CSV is written by the browser from the shown cells with no formula escaping, so a feed
    title such as ``=HYPERLINK(...)`` would reach a spreadsheet live; the *Download ...* buttons
    escape it (pipeline.export). The option reaches the browser with a run's session message,
    which is sent before the script runs: the first run that sets it starts over at once.
    """
    if not st.get_option("client.disableDataExport"):
        st.set_option("client.disableDataExport", True)
        st.rerun()


def main() -> None:
    _disable_table_export()
    st.set_page_config(page_title="Policy Risk Monitor", layout="wide")
    st.title("Policy Risk Monitor")
    try:
        config = _config()
        url = config.database.url
        if _sqlite_missing(url):
            _empty_store(f"No database yet at {url}.")
        current = stamp(url)
        state = summary(url, current)
    except PipelineError as exc:
        st.error(str(exc))
        st.stop()
        return
    if state["articles"] == 0:
        _empty_store("The store holds no articles yet.")
    if first_paint.pending():
        _first_paint(_default_view(config, url, current, state))
        return
    page = st.sidebar.radio("Page", list(PAGES), key="page")
    view = _sidebar(config, url, current, state)
    PAGES[str(page)](view)


def _first_paint(view: View) -> None:
    """A browser session's first run: the composite chart alone; the rest once it is painted."""
    st.sidebar.caption("Loading the filters…")
    if overview.render_first(view):
        first_paint.report_when_painted()
    else:  # nothing to chart: draw the whole page now
        first_paint.mark_painted()
        st.rerun()


def _default_view(config: Config, url: str, current: str, state: dict[str, Any]) -> View:
    """What the sidebar's widgets hold before anyone touches them."""
    flt = _filter(config, state["first_event"], state["last_event"])
    index = config.index
    return View(
        config, url, current, state, flt, config.weights(), index.period, index.smoothing_window
    )


def _sqlite_missing(url: str) -> bool:
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()


def _empty_store(reason: str) -> None:
    st.info(f"{reason} Fill it with:")
    st.code(FILL_COMMAND, language="bash")
    st.stop()


def _sidebar(config: Config, url: str, current: str, state: dict[str, Any]) -> View:
    weights = _weights(config, set(versions(url, current)[1]))
    flt = _filters(config, url, current, state)
    side = st.sidebar
    side.header("Index")
    periods = ["day", "week", "month"]
    period = side.selectbox(
        "Period", periods, index=periods.index(config.index.period), key="period"
    )
    window = side.number_input(
        "Smoothing window (periods)", 1, 365, config.index.smoothing_window, key="window"
    )
    return View(config, url, current, state, flt, weights, str(period), int(window))


def _weights(config: Config, scored: set[str]) -> dict[str, float]:
    """The weight sliders; ``scored``: the signals with scores in the store."""
    side = st.sidebar
    side.header("Weights")
    file_weights = config.weights()
    if side.button("Reset weights to config.yaml", key="reset_weights"):
        for name, value in file_weights.items():
            st.session_state[f"weight_{name}"] = float(value)
    for name, value in file_weights.items():
        st.session_state.setdefault(f"weight_{name}", float(value))
    weights = {}
    for name, signal in config.signals.items():
        weights[name] = side.slider(
            signal.label, -1.0, 1.0, step=0.05, key=f"weight_{name}", help=signal.description
        )
        if name not in scored:  # e.g. a signal added to the config but never trained
            side.caption(f"{unscored_note(signal.label)}: this weight changes nothing.")
    if side.button("Save as default", key="save_weights", help=f"Write to {config.path.name}"):
        _save(config, weights)
    elif weights != file_weights:
        side.caption("Weights differ from the config file (not saved).")
    return weights


def _save(config: Config, weights: dict[str, float]) -> None:
    try:
        save_weights(config.path, weights)
    except PipelineError as exc:
        st.sidebar.error(str(exc))
        return
    st.sidebar.success(
        f"Saved to {config.path.name}; the previous file is {backup_path(config.path).name}."
    )


def _filters(
    config: Config, url: str, current: str, state: dict[str, Any]
) -> queries.ArticleFilter:
    side = st.sidebar
    side.header("Filters")
    first, last = state["first_event"], state["last_event"]
    picked = side.date_input(
        "Event dates", value=(first, last), min_value=first, max_value=last, key="dates"
    )
    start, end = _date_pair(picked, first, last)
    all_sources, all_languages = choices(url, current)
    chosen_sources = side.multiselect("Sources", all_sources, key="sources")
    chosen_languages = side.multiselect("Languages", all_languages, key="languages")
    search = side.text_input("Search titles and text", key="search")
    relevant_only = side.checkbox(
        "Only articles about the monitored pair", value=RELEVANT_ONLY, key="relevant_only"
    )
    return _filter(
        config, start, end, chosen_sources, chosen_languages, search, relevant_only=relevant_only
    )


def _filter(
    config: Config,
    start: date,
    end: date,
    sources: list[str] | None = None,
    languages: list[str] | None = None,
    search: str = "",
    *,
    relevant_only: bool = RELEVANT_ONLY,
) -> queries.ArticleFilter:
    return queries.ArticleFilter(
        start=start,
        end=end,
        sources=tuple(sources or ()),
        languages=tuple(languages or ()),
        search=search,
        relevant_only=relevant_only,
        relevance_threshold=config.index.relevance_threshold,
    )


def _date_pair(picked: Any, first: date, last: date) -> tuple[date, date]:
    if isinstance(picked, tuple | list):
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], last
        return first, last
    return picked, picked


main()
