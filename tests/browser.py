"""Fixtures for real-browser tests: a running Streamlit server and Debian's Chromium via Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.dashboard_server import local_url, start
from pipeline.errors import PipelineError
from tests.conftest import ROOT, require

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
COMPOSITE_LABEL = "Composite (latest, smoothed)"


def chromium_path() -> str | None:
    """Debian's Chromium; we never download a browser (``playwright install`` cannot run here)."""
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Dashboard:
    url: str
    log: Path
    process: subprocess.Popen[bytes]
    first_run_problem: str | None = None  # what ``first_run`` said (None: it ran cleanly)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_dashboard(config: Path, log: Path, script: Path = ROOT / "dashboard.py") -> Dashboard:
    """Start ``streamlit run`` headless on a free 127.0.0.1 port as ``policy-risk dashboard``
    does: wait for its health check, then give it its first run before any browser connects."""
    port = free_port()
    env = {**os.environ, "POLICY_RISK_CONFIG": str(config)}
    with log.open("wb") as handle:
        try:
            process, problem = start(
                port, script, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
            )
        except PipelineError as error:
            raise RuntimeError(f"{error}:\n{log.read_text(errors='replace')}") from error
    return Dashboard(local_url(port), log, process, problem)


def stop_dashboard(dashboard: Dashboard) -> None:
    dashboard.process.terminate()
    try:
        dashboard.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        dashboard.process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium; skipped on a laptop without it, a failure in CI."""
    path = chromium_path()
    require(path is not None, "Chromium not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        require(False, "Python Playwright not installed (pip install -e '.[test]')")
        raise
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


def wait_for_app(page: object, timeout_ms: int = 60_000) -> None:
    """Wait until the Streamlit script run has finished (stale elements are gone)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning';
        }""",
        timeout=timeout_ms,
    )


def full_screenshot(page: object, path: Path, width: int = 1400) -> None:
    """Screenshot the whole app: Streamlit scrolls an inner element, so grow the window first."""
    height = page.evaluate(  # type: ignore[attr-defined]
        "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
    )
    page.set_viewport_size({"width": width, "height": int(height) + 40})  # type: ignore[attr-defined]
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]


def composite_shown(page: object) -> str:
    """The value of the composite metric on the overview."""
    metric = page.locator('[data-testid="stMetric"]', has_text=COMPOSITE_LABEL)  # type: ignore[attr-defined]
    return str(metric.locator('[data-testid="stMetricValue"]').inner_text())


def move_tone_slider_to_minimum(page: object) -> str:
    """Move the cooperation-tone weight to its minimum, wait until the composite shown changes
    (a round trip over the session's websocket) and the run ends; return the value before."""
    before = composite_shown(page)
    slider = page.get_by_role("slider", name=re.compile("Cooperation tone"))  # type: ignore[attr-defined]
    slider.focus()
    slider.press("Home")
    page.wait_for_function(  # type: ignore[attr-defined]
        """([label, before]) => {
            const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
                .find(e => e.innerText.includes(label));
            return m && !m.innerText.includes(before);
        }""",
        arg=[COMPOSITE_LABEL, before],
        timeout=60_000,
    )
    wait_for_app(page)
    return before
