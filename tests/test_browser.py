"""One real-browser pass: Debian Chromium driven by Playwright against `streamlit run dashboard.py`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import load_config
from pipeline.dashboard_server import local_url, streamlit_command, wait_until_healthy
from pipeline.run import run_pipeline
from tests.browser import (  # noqa: F401
    COMPOSITE_LABEL,
    Dashboard,
    browser,
    composite_shown,
    free_port,
    full_screenshot,
    move_tone_slider_to_minimum,
    start_dashboard,
    stop_dashboard,
    wait_for_app,
)
from tests.conftest import ROOT, write_config
from tests.demo_store import demo_config

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "tests" / "artifacts"
KNOWN = "Washington declares Colombia failed demonstrably in drug fight"


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    config = demo_config(tmp_path_factory)
    server = start_dashboard(config, tmp_path_factory.mktemp("browser") / "streamlit.log")
    yield server
    stop_dashboard(server)


def _download(page: Any, label: str) -> list[dict[str, str]]:
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name=label).click()
    content = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(content)))


def _first_chart_then_the_rest(page: Any) -> None:
    """The composite draws first; the sidebar and the rest follow around the same drawing."""
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    page.evaluate("window.firstChart = document.querySelector('.js-plotly-plot .main-svg')")
    page.get_by_role("slider", name=re.compile("Cooperation tone")).wait_for(timeout=60_000)
    page.locator('[data-testid="stTabs"] .js-plotly-plot').wait_for(timeout=60_000)
    wait_for_app(page)
    page.locator('[data-testid="stMetric"]', has_text=COMPOSITE_LABEL).wait_for(timeout=30_000)
    assert page.evaluate("window.firstChart.isConnected")  # not drawn a second time


def _check_series(rows: list[dict[str, str]]) -> None:
    assert len(rows) > 10
    assert "cooperation_tone" not in rows[0]  # the tone's risk has its own name (QA 5 #5)
    drawn = [r for r in rows if r["composite"]]
    assert drawn
    for row in drawn:
        risk, tone = row["decertification_risk"], row["cooperation_tone_risk"]
        if risk and tone:  # weights now 0.6 and -1.0: the slider's move is in the file
            expected = (0.6 * float(risk) - 1.0 * float(tone)) / 1.6
            assert float(row["composite"]) == pytest.approx(expected, abs=1e-9)


def test_overview_slider_download_and_screenshot(browser: Any, dashboard: Dashboard) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page.goto(dashboard.url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="Policy Risk Monitor").wait_for(timeout=60_000)
        _first_chart_then_the_rest(page)
        assert page.title() == "Policy Risk Monitor"

        before = move_tone_slider_to_minimum(page)
        assert composite_shown(page) != before
        page.get_by_role("tab", name="Snapshot").click()
        page.get_by_role("button", name="Download series CSV").wait_for(timeout=30_000)
        wait_for_app(page)
        _check_series(_download(page, "Download series CSV"))

        page.locator('[data-testid="stRadioOption"]', has_text=re.compile("^Articles$")).click()
        page.get_by_role("heading", name="Article detail").wait_for(timeout=30_000)
        wait_for_app(page)
        search = page.get_by_label("Search titles and text")
        search.fill("insult to the police officers")
        search.press("Enter")
        page.locator('[data-testid="stText"]', has_text=KNOWN).first.wait_for(timeout=30_000)
        wait_for_app(page)
        caption = page.get_by_text(re.compile(r"article\(s\) match the filters")).inner_text()
        expected = int(re.search(r"([\d,]+) article", caption).group(1).replace(",", ""))  # type: ignore[union-attr]
        rows = _download(page, "Download articles CSV")
        assert len(rows) == expected > 0 and KNOWN in [r["title"] for r in rows]
        assert {"id", "title", "event_date", "page_date", "decertification_risk"} <= set(rows[0])

        full_screenshot(page, ARTIFACTS / "dashboard.png")
    except Exception:
        print(dashboard.output())  # noqa: T201 (the server log explains a failure)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
        raise
    finally:
        page.close()


FORMULA_SEED = {
    "title": '=HYPERLINK("http://evil.example","x") United States decertifies Colombia',
    "text": (
        "Washington decertified Colombia as a partner in the drug fight, saying Bogota failed"
        " demonstrably to cut coca cultivation and cocaine production; the United States kept"
        " aid with a national-interest waiver."
    ),
    "published": "2025-09-16",
    "url": "http://news.example.org/formula/1",
    "source": "=cmd|' /C calc'!A0",
    "language": "en",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def plain_dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """`streamlit run dashboard.py` as a user starts it: no first run before the browser's."""
    folder = tmp_path_factory.mktemp("formula")
    (folder / "seeds").mkdir()
    (folder / "seeds" / "formula.json").write_text(json.dumps(FORMULA_SEED), encoding="utf-8")
    config = write_config(folder, seeds=[folder / "seeds"])
    run_pipeline(load_config(config), include_feeds=False)
    port = free_port()
    log = folder / "streamlit.log"
    env = {**os.environ, "POLICY_RISK_CONFIG": str(config)}
    with log.open("wb") as handle:
        process = subprocess.Popen(
            streamlit_command(port), env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=folder
        )
    server = Dashboard(local_url(port), log, process)
    try:
        wait_until_healthy(server.url, process)
    except BaseException:
        stop_dashboard(server)
        raise
    yield server
    stop_dashboard(server)


def _is_live_formula(cell: str) -> bool:
    """A text cell a spreadsheet would run (numbers such as -0.4 are fine)."""
    try:
        float(cell)
    except ValueError:
        return cell.startswith(FORMULA_START)
    return False


def _toolbar_downloads(page: Any, table: Any) -> tuple[list[str], list[Any]]:
    """Hover a table: the toolbar buttons shown, and the visible ones that download."""
    table.scroll_into_view_if_needed()
    table.hover()
    toolbar = page.locator('[data-testid="stElementToolbar"]')
    toolbar.locator("button").first.wait_for(timeout=10_000)
    shown = [b for b in toolbar.locator("button").all() if b.is_visible()]
    labels = [str(b.get_attribute("aria-label") or b.inner_text()) for b in shown]
    return labels, [b for b, label in zip(shown, labels, strict=True) if "ownload" in label]


def test_tables_offer_no_unescaped_csv_download(browser: Any, plain_dashboard: Dashboard) -> None:  # noqa: F811
    """A table's toolbar CSV is not formula-escaped, so none may be offered (QA3 #2)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    # headless Chromium's save picker never answers; without it the browser downloads directly
    page.add_init_script("window.showSaveFilePicker = undefined;")
    try:
        page.goto(plain_dashboard.url, wait_until="domcontentloaded")
        page.locator('[data-testid="stRadioOption"]', has_text=re.compile("^Articles$")).click()
        page.get_by_role("heading", name="Article detail").wait_for(timeout=60_000)
        wait_for_app(page)
        tables = page.locator('[data-testid="stDataFrame"]')
        tables.first.wait_for(timeout=30_000)
        for k in range(tables.count()):
            labels, downloads = _toolbar_downloads(page, tables.nth(k))
            assert labels  # the toolbar is there (search, fullscreen), so the check is real
            for button in downloads:
                with page.expect_download(timeout=30_000) as info:
                    button.click()
                cells = csv.reader(io.StringIO(Path(info.value.path()).read_text("utf-8")))
                live = [c for row in cells for c in row if _is_live_formula(c)]
                assert not live, f"table {k}'s toolbar CSV holds live formulas: {live}"
            assert not downloads, f"table {k}'s toolbar offers {labels}"
    except Exception:
        print(plain_dashboard.output())  # noqa: T201 (the server log explains a failure)
        raise
    finally:
        page.close()


def test_label_out_of_range_is_refused_in_the_browser(browser: Any, plain_dashboard: Dashboard) -> None:  # noqa: F811
    """Chromium keeps a number box's last valid value past its bounds; the box has none now, so
    a typed 3 reaches the check and is refused instead of saving the current score (QA3 #5)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(plain_dashboard.url, wait_until="domcontentloaded")
        page.locator('[data-testid="stRadioOption"]', has_text=re.compile("^Articles$")).click()
        page.get_by_role("heading", name="Article detail").wait_for(timeout=60_000)
        wait_for_app(page)
        page.get_by_label("Your name").fill("Ana Analyst")
        page.get_by_label("Your name").press("Enter")
        wait_for_app(page)
        page.get_by_label("Corrected value", exact=True).fill("3")
        page.get_by_role("button", name="Save label").click()
        page.get_by_text(re.compile("Corrected value must be between 0 and 1")).wait_for()
        wait_for_app(page)
        assert page.get_by_text(re.compile("^Saved:")).count() == 0
    except Exception:
        print(plain_dashboard.output())  # noqa: T201 (the server log explains a failure)
        raise
    finally:
        page.close()
