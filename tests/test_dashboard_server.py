"""The dashboard's server start: healthy, then one run of the script before any visitor.

Real Streamlit servers on 127.0.0.1 (no browser): a first run that never happened, or happened
per visitor, would leave the first analyst waiting for the imports and cold caches.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.dashboard_server import (
    FIRST_RUN_PATH,
    HEALTH_PATH,
    DashboardStartError,
    ensure_port_free,
    local_url,
)
from tests.browser import free_port, start_dashboard, stop_dashboard
from tests.conftest import ROOT, write_config

COUNTING = """
import os
from pathlib import Path

import streamlit as st

marker = Path(os.environ["FIRST_RUN_MARKER"])
with marker.open("a", encoding="utf-8") as runs:
    runs.write("run\\n")
st.title("Counting runs")
"""
FAILING = """
import streamlit as st

st.title("Fails")
raise RuntimeError("the store is unreadable")
"""


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_script_runs_once_before_any_visitor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "runs.txt"
    script = tmp_path / "counting.py"
    script.write_text(COUNTING, encoding="utf-8")
    monkeypatch.setenv("FIRST_RUN_MARKER", str(marker))  # the server inherits it
    server = start_dashboard(write_config(tmp_path), tmp_path / "log.txt", script)
    try:
        assert server.first_run_problem is None
        assert marker.read_text(encoding="utf-8") == "run\n"  # made by the start, no browser
        assert _get(f"{server.url}{HEALTH_PATH}") == (200, "ok")
    finally:
        stop_dashboard(server)


def test_a_failing_first_run_is_reported_and_the_server_keeps_serving(tmp_path: Path) -> None:
    script = tmp_path / "failing.py"
    script.write_text(FAILING, encoding="utf-8")
    server = start_dashboard(write_config(tmp_path), tmp_path / "log.txt", script)
    try:
        assert server.first_run_problem is not None
        assert "HTTP 503" in server.first_run_problem and "error" in server.first_run_problem
        assert _get(f"{server.url}{HEALTH_PATH}") == (200, "ok")
        assert _get(f"{server.url}{FIRST_RUN_PATH}")[0] == 503
    finally:
        stop_dashboard(server)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_policy_risk_dashboard_announces_the_page_after_its_first_run(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """The command prints the address once the first run is done; Ctrl+C (the whole process
    group) or a service manager's SIGTERM (the command alone) stops the server with it."""
    config = write_config(tmp_path)  # no database yet: the page says how to fill it
    port = free_port()
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "dashboard"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    health = f"{local_url(port)}{HEALTH_PATH}"
    try:
        assert process.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("Dashboard on" in x for x in lines):
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
        assert f"Dashboard on http://localhost:{port}" in "".join(lines), lines
        assert not any("Warning" in x for x in lines), lines
        assert _get(health) == (200, "ok")
        if stop == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        with pytest.raises(OSError):  # the server is gone too
            urllib.request.urlopen(health, timeout=2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


class _OtherServer(http.server.BaseHTTPRequestHandler):
    """Another program on the port that answers every GET with "ok", as a dashboard's health
    check does."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(name="taken_port")
def taken_port_fixture() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OtherServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["dashboard", "up"])
@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_a_port_outside_1_to_65535_is_a_usage_error(
    command: str, port: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(config), command, "--port", port])
    assert result.exit_code == 2, result.output
    assert "is not in the range 1<=x<=65535" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "test.db").exists()


def test_ensure_port_free_refuses_a_port_held_by_a_socket() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(DashboardStartError, match=f"port {port} is already in use"):
            ensure_port_free(port)
    ensure_port_free(port)  # free again once closed


@pytest.mark.parametrize("command", ["dashboard", "up"])
def test_a_taken_port_is_refused_before_anything_starts(
    command: str, taken_port: int, tmp_path: Path
) -> None:
    """Streamlit's health check would reach the other server: the command announced a dashboard
    that was not its own, then failed (``up`` after a whole pipeline run)."""
    config = write_config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--config", str(config), command],
        cwd=ROOT,
        env={**os.environ, "PORT": str(taken_port)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 1, result.stderr
    expected = (
        f"Error: port {taken_port} is already in use on 127.0.0.1; "
        "choose another with --port or PORT"
    )
    assert expected in result.stderr
    assert "Dashboard on" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "test.db").exists()  # ``up`` did not run the pipeline first
    assert _get(f"{local_url(taken_port)}{HEALTH_PATH}") == (200, "ok")  # the other one lives
