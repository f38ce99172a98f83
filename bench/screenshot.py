"""Take the README screenshot (docs/dashboard.png) of the overview with the shipped seeds.

Builds the demo store in a temporary folder from ``seeds/`` with the shipped ``config.yaml`` (only
the database moves, through ``DATABASE_URL``), starts ``streamlit run dashboard.py`` headless on a
free port and photographs the whole overview page with Debian's Chromium through Playwright.

Usage:
    .venv/bin/python -m bench.screenshot [--out docs/dashboard.png] [--width 1400]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from pipeline.config import DATABASE_ENV_VAR, load_config
from pipeline.run import run_pipeline
from tests.browser import (
    chromium_path,
    full_screenshot,
    start_dashboard,
    stop_dashboard,
    wait_for_app,
)

ROOT = Path(__file__).resolve().parents[1]


def build_demo(folder: Path) -> Path:
    """Ingest and score the shipped seeds into ``folder/demo.db``; return the config path."""
    os.environ[DATABASE_ENV_VAR] = f"sqlite:///{folder / 'demo.db'}"
    config = ROOT / "config.yaml"
    run_pipeline(load_config(config), include_feeds=False)
    return config


def shoot(config: Path, out: Path, width: int, log: Path) -> None:
    """Open the overview in headless Chromium and save a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise SystemExit("Chromium not found (apt-get install chromium)")
    server = start_dashboard(config, log)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=path, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": width, "height": 1000})
            page.goto(server.url, wait_until="domcontentloaded")
            page.locator(".js-plotly-plot").nth(1).wait_for(timeout=90_000)
            wait_for_app(page)
            page.wait_for_timeout(1500)  # let Plotly finish its transitions
            full_screenshot(page, out, width)
            browser.close()
    finally:
        stop_dashboard(server)


def main() -> None:
    """Build the demo store and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="policy-risk-shot-") as tmp:
        folder = Path(tmp)
        config = build_demo(folder)
        shoot(config, args.out, args.width, folder / "streamlit.log")
    print(f"wrote {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()
