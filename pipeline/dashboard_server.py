"""Start the dashboard's Streamlit server, wait until it answers, and give it its first run.

A fresh server runs ``dashboard.py`` for the first time when the first analyst opens the page:
it imports the dashboard's modules and fills the caches then, and on a million-article store
that first page load took 6.3-8.7 s to the first chart against 3.1-3.5 s once warm
(docs/benchmarks.md, "First page load of a fresh server"). Streamlit's script health check (the
``server.scriptHealthCheckEnabled`` option, marked experimental by Streamlit) runs the script
once in a session of its own; asked right after start-up, it makes that first run before
anyone connects. If it fails or times out the server keeps running and the first visitor waits
as before (and sees the script's error, if it has one). The endpoint is served on 127.0.0.1 only,
like the rest of the dashboard.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[1]
HEALTH_PATH = "/_stcore/health"
FIRST_RUN_PATH = "/_stcore/script-health-check"
START_TIMEOUT_S = 60.0
FIRST_RUN_TIMEOUT_S = 120.0  # a first run on a large store reads it cold


class DashboardStartError(PipelineError):
    """The Streamlit server exited or never answered its health check."""


def streamlit_command(port: int, script: Path = ROOT / "dashboard.py") -> list[str]:
    """``streamlit run`` bound to 127.0.0.1, headless, with no usage statistics (no outbound
    calls), and the script health check on for the first run; the one way the dashboard is
    started, by ``dashboard``/``up`` and by the tests."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.scriptHealthCheckEnabled",
        "true",
        # no table toolbar "Download as CSV": it is not formula-escaped (dashboard.py sets it
        # too, for `streamlit run`; given here, the browser has it from the very first run)
        "--client.disableDataExport",
        "true",
    ]


def local_url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def ensure_port_free(port: int) -> None:
    """Bind 127.0.0.1:``port`` for a moment, as Streamlit will, and raise if that fails.

    Streamlit itself would only fail after the health check, which another server already on
    the port answers: the command would announce a dashboard that is not this one.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tornado binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise DashboardStartError(
                f"port {port} is already in use on 127.0.0.1; choose another with --port or PORT"
                f" ({error.strerror})"
            ) from None


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], timeout: float = START_TIMEOUT_S
) -> None:
    """Return once the server answers its health check; raise if it exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DashboardStartError(f"streamlit exited early (code {process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}{HEALTH_PATH}", timeout=2) as response:
                if response.read().decode() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise DashboardStartError(f"streamlit did not answer {url}{HEALTH_PATH} in {timeout:.0f} s")


def first_run(url: str, timeout: float = FIRST_RUN_TIMEOUT_S) -> str | None:
    """Run the dashboard script once on the server, before any visitor; None when it ran
    cleanly, else why not (the server keeps serving either way)."""
    try:
        with urllib.request.urlopen(f"{url}{FIRST_RUN_PATH}", timeout=timeout) as response:
            response.read()
            return None
    except urllib.error.HTTPError as error:  # 503: the script raised; its text says what
        detail = error.read().decode("utf-8", errors="replace").strip()[:300]
        return f"the dashboard's first run failed (HTTP {error.code}): {detail}"
    except OSError as error:
        return f"the dashboard's first run did not finish: {error}"


def start(
    port: int, script: Path = ROOT / "dashboard.py", **popen: Any
) -> tuple[subprocess.Popen[bytes], str | None]:
    """Start the server on ``port`` (``popen``: env, output, cwd), wait for its health, then
    give it its first run; the process and what ``first_run`` said. A server that never
    answers is stopped (``DashboardStartError``), as is one interrupted while starting; a
    port already taken is refused before anything starts."""
    ensure_port_free(port)
    process = subprocess.Popen(streamlit_command(port, script), **popen)
    url = local_url(port)
    try:
        wait_until_healthy(url, process)
    except BaseException:  # never answered, or Ctrl+C while waiting: do not leave it running
        process.terminate()
        process.wait(timeout=30)
        raise
    return process, first_run(url)
