"""Dashboard speed on a large store (issue 5.9): first drawn chart in Chromium, and filter changes.

1. **Page load to first drawn chart**, in headless Chromium (Playwright, Debian's binary), for the
   dashboard and for a trivial one-chart Streamlit page, started and timed in the same run. The
   time is ``performance.now()`` (ms since navigation start) when the first Plotly SVG exists.
   Round 1 is *cold*: the first page load of a fresh server, started as ``policy-risk
   dashboard`` starts it (``tests.browser.start_dashboard``: healthy, then one run of the script
   before any browser, ``pipeline/dashboard_server.py``); later rounds are *warm* (new browser
   page, same server, caches filled). Target: dashboard within 1.5x of the trivial page. Also timed,
   for the dashboard: the *full page*, when the sidebar's weight sliders exist (a session's first
   run draws the composite chart alone and the rest once it is painted, ``views/first_paint.py``).
2. **Server time of a filter change**: Streamlit's AppTest runs the dashboard script in this
   process; each change is timed from the widget change to the end of the script run (every
   change uses a new filter value, so the SQL really runs). Target: under 1 s.

Usage (fill the store first with ``python -m bench.fill_store --db DB --n 1000000``):
    .venv/bin/python -m bench.bench_dashboard --db /tmp/bench1m/policy_risk.db
    .venv/bin/python -m bench.bench_dashboard --db DB --filters-only --search certif --search coca
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from pipeline.config import CONFIG_ENV_VAR, DATABASE_ENV_VAR
from tests.browser import chromium_path, start_dashboard, stop_dashboard

ROOT = Path(__file__).resolve().parents[1]
TRIVIAL = """
import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Trivial", layout="wide")
st.title("Trivial")
st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])), key="chart")
"""
FIRST_CHART = (
    "() => document.querySelector('.js-plotly-plot .main-svg') ? performance.now() : false"
)
FULL_PAGE = (
    '() => document.querySelector(\'[data-testid="stSidebar"] [data-testid="stSlider"]\')'
    " ? performance.now() : false"
)


def _load_ms(browser: Any, url: str, full: bool) -> tuple[float, float]:
    """Ms from navigation to the first drawn chart, and to the full page (``full``: sidebar)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url, wait_until="commit")
        handle = page.wait_for_function(FIRST_CHART, polling="raf", timeout=300_000)
        first = float(handle.json_value())
        if not full:
            return first, first
        handle = page.wait_for_function(FULL_PAGE, polling="raf", timeout=300_000)
        return first, float(handle.json_value())
    finally:
        page.close()


def time_page_loads(config: Path, folder: Path, rounds: int) -> dict[str, list[float]]:
    """Per app, the load-to-first-chart times in ms (round 1 cold, the rest warm).

    The dashboard's load-to-full-page times are under ``dashboard (full page)``.
    """
    from playwright.sync_api import sync_playwright

    trivial = folder / "trivial.py"
    trivial.write_text(TRIVIAL, encoding="utf-8")
    apps = {"trivial": trivial, "dashboard": ROOT / "dashboard.py"}
    servers = {
        name: start_dashboard(config, folder / f"{name}.log", script)
        for name, script in apps.items()
    }
    times: dict[str, list[float]] = {name: [] for name in [*apps, "dashboard (full page)"]}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(),
                headless=True,
                args=["--no-sandbox", "--disable-gpu"],
            )
            for _ in range(rounds):
                for name, server in servers.items():
                    first, full = _load_ms(browser, server.url, full=name == "dashboard")
                    times[name].append(first)
                    if name == "dashboard":
                        times["dashboard (full page)"].append(full)
            browser.close()
    finally:
        for server in servers.values():
            stop_dashboard(server)
    return times


def _type_search(at: Any, word: str) -> Any:
    return at.sidebar.text_input(key="search").input(word)


def _timed(at: Any, change: Callable[[Any], Any]) -> float:
    change(at)
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(str(at.exception))
    return elapsed


def time_filter_changes(config: Path, searches: list[str]) -> dict[str, float]:
    """Seconds of script run per filter change, after one warm-up run."""
    from streamlit.testing.v1 import AppTest

    os.environ[CONFIG_ENV_VAR] = str(config)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    results = {"first run (cold caches)": _timed(at, lambda _: None)}
    side = at.sidebar
    changes: dict[str, Callable[[Any], Any]] = {
        "rerun, nothing changed": lambda _: None,
        "weight slider": lambda a: side.slider(key="weight_cooperation_tone").set_value(0.1),
        "event-date range": lambda a: side.date_input(key="dates").set_value(
            (date(2025, 1, 1), date(2025, 6, 30))
        ),
        "source filter": lambda a: side.multiselect(key="sources").select(
            side.multiselect(key="sources").options[0]
        ),
        "language filter": lambda a: side.multiselect(key="languages").select("es"),
        "period: week": lambda a: side.selectbox(key="period").set_value("week"),
        "smoothing window": lambda a: side.number_input(key="window").set_value(3),
        "page: Articles": lambda a: side.radio(key="page").set_value("Articles"),
        "Articles: relevant-only off": lambda a: side.checkbox(key="relevant_only").uncheck(),
        "page: Overview again (cached)": lambda a: side.radio(key="page").set_value("Overview"),
        "search, narrowed by the filters above": lambda a: side.text_input(key="search").input(
            "cartel"
        ),
    }
    for name, change in changes.items():
        results[name] = _timed(at, change)
    for word in searches:
        fresh = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
        fresh.run()
        search = partial(_type_search, word=word)
        results[f"search {word!r}, whole store"] = _timed(fresh, search)
        results[f"search {word!r}, whole store: measure EPU share"] = _timed(
            fresh, lambda a: a.radio(key="measure").set_value("Share of articles (EPU-style)")
        )
    return results


def main() -> None:
    """Run both measurements and print (and save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite store to measure")
    parser.add_argument("--rounds", type=int, default=5, help="page loads per app")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "dashboard.json")
    parser.add_argument(
        "--search",
        action="append",
        help="a whole-store search to time, with the EPU share after it (repeatable; "
        "default: cartel)",
    )
    parser.add_argument(
        "--filters-only", action="store_true", help="only the server time of filter changes"
    )
    args = parser.parse_args()
    os.environ[DATABASE_ENV_VAR] = f"sqlite:///{args.db.resolve()}"
    config = ROOT / "config.yaml"
    if args.filters_only:
        filters = time_filter_changes(config, args.search or ["cartel"])
        print(json.dumps({k: round(v, 3) for k, v in filters.items()}, indent=2))  # noqa: T201
        return
    if chromium_path() is None:
        raise SystemExit("Chromium not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="policy-risk-bench-") as tmp:
        loads = time_page_loads(config, Path(tmp), args.rounds)
    filters = time_filter_changes(config, args.search or ["cartel"])
    report = _report(loads, filters)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))  # noqa: T201


def _report(loads: dict[str, list[float]], filters: dict[str, float]) -> dict[str, Any]:
    def summary(values: list[float]) -> dict[str, float]:
        warm = values[1:] or values
        return {"cold_ms": round(values[0]), "warm_median_ms": round(statistics.median(warm))}

    pages = {name: summary(values) for name, values in loads.items()}
    ratio_warm = pages["dashboard"]["warm_median_ms"] / pages["trivial"]["warm_median_ms"]
    ratio_cold = pages["dashboard"]["cold_ms"] / pages["trivial"]["cold_ms"]
    return {
        "page_load_to_first_chart": pages,
        "ratio_warm": round(ratio_warm, 2),
        "ratio_cold": round(ratio_cold, 2),
        "all_loads_ms": {k: [round(v) for v in vs] for k, vs in loads.items()},
        "filter_change_server_s": {k: round(v, 3) for k, v in filters.items()},
    }


if __name__ == "__main__":
    main()
