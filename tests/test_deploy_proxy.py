"""docs/deploy.md's reverse proxy, for real: its nginx block in front of two `policy-risk dashboard`
processes, with TLS and basic auth, driven by Chromium.

The site block is taken from the guide itself; only what is site-specific (the listening address,
the two upstream ports, the certificate and the password file) is swapped for test values, so a
change to the guide that breaks the proxy breaks this test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import (  # noqa: F401
    browser,
    composite_shown,
    free_port,
    move_tone_slider_to_minimum,
    wait_for_app,
)
from tests.conftest import ROOT, require
from tests.demo_store import demo_config

pytestmark = pytest.mark.browser
USER, PASSWORD = "analyst", "correct horse battery staple"
SITE_VALUES = {  # the guide's site-specific lines -> a format string for the test's value
    "listen 443 ssl;": "listen 127.0.0.1:{listen} ssl;",
    "server 127.0.0.1:8501;": "server 127.0.0.1:{first};",
    "server 127.0.0.1:8502;": "server 127.0.0.1:{second};",
    "ssl_certificate     /etc/ssl/certs/risk.example.org.pem;": "ssl_certificate {folder}/cert.pem;",
    "ssl_certificate_key /etc/ssl/private/risk.example.org.key;": "ssl_certificate_key {folder}/key.pem;",
    "auth_basic_user_file /etc/nginx/policy-risk.htpasswd;": "auth_basic_user_file {folder}/htpasswd;",
}


def documented_site() -> str:
    """The one ```nginx block of docs/deploy.md."""
    blocks = re.findall(r"```nginx\n(.*?)```", (ROOT / "docs" / "deploy.md").read_text(), re.S)
    assert len(blocks) == 1, "docs/deploy.md should hold exactly one nginx block"
    return str(blocks[0])


def site_for_test(site: str, **values: object) -> str:
    """The guide's block with its site-specific lines swapped; each must be there exactly once."""
    for line, replacement in SITE_VALUES.items():
        assert site.count(line) == 1, f"docs/deploy.md's nginx block no longer has {line!r}"
        site = site.replace(line, replacement.format(**values))
    return site


def nginx_path() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None
    )


@dataclass
class Proxy:
    url: str
    ports: tuple[int, int]
    access_log: Path
    dashboards: dict[int, subprocess.Popen[bytes]]

    def upstreams(self, path: str) -> list[tuple[str, str]]:
        """(answering upstream, status) of each logged request whose path starts with ``path``."""
        found = []
        for line in self.access_log.read_text(encoding="utf-8").splitlines():
            upstream, status, request_path = line.split("|", 2)
            if request_path.startswith(path):  # after a refused upstream: "A, B"; B answered
                found.append((upstream.rsplit(", ", 1)[-1], status))  # "-": nginx answered
        return found


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _credentials(folder: Path) -> None:
    """A self-signed certificate and an htpasswd file, as an operator would make them."""
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "1",
        "-subj", "/CN=risk.example.org",
    )  # fmt: skip
    hashed = subprocess.run(
        ["openssl", "passwd", "-apr1", "-stdin"],
        input=PASSWORD, text=True, check=True, capture_output=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    (folder / "htpasswd").write_text(f"{USER}:{hashed}\n", encoding="utf-8")


def _nginx_conf(folder: Path, site: str) -> Path:
    """A whole nginx.conf around the site block: files in ``folder``, the upstream in the log."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the tmp folder
    temp = "".join(
        f"    {kind}_temp_path {folder}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events {}\nhttp {\n"
        "    log_format upstream '$upstream_addr|$status|$request_uri';\n"
        f"    access_log {folder}/access.log upstream;\n{temp}{site}\n}}\n",
        encoding="utf-8",
    )
    return conf


def _start_dashboard(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``policy-risk dashboard --port N``, as the guide's systemd unit starts it."""
    env = {**os.environ, "POLICY_RISK_CONFIG": str(config)}
    command = [sys.executable, "-m", "pipeline", "dashboard", "--port", str(port)]
    with log.open("wb") as handle:
        return subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


def _wait_started(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait for the command's address line: it prints it once Streamlit is healthy and has
    given the dashboard its first run."""
    deadline = time.monotonic() + 120
    while "Dashboard on http://localhost:" not in log.read_text(errors="replace"):
        assert process.poll() is None, f"dashboard on {port} exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"dashboard on {port} did not start:\n{log.read_text()}"
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    nginx = nginx_path()
    require(nginx is not None, "nginx not found (apt-get install nginx-light)")
    require(shutil.which("openssl") is not None, "openssl not found (apt-get install openssl)")
    folder = tmp_path_factory.mktemp("proxy")
    config = demo_config(tmp_path_factory)
    _credentials(folder)
    first, second, listen = free_port(), free_port(), free_port()
    site = site_for_test(
        documented_site(), listen=listen, first=first, second=second, folder=folder
    )
    conf = _nginx_conf(folder, site)
    dashboards = {
        port: _start_dashboard(config, port, folder / f"dashboard-{port}.log")
        for port in (first, second)
    }
    server = None
    try:
        for port, process in dashboards.items():
            _wait_started(port, process, folder / f"dashboard-{port}.log")
        check = subprocess.run(
            [str(nginx), "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert check.returncode == 0, f"nginx -t refused the guide's block:\n{check.stderr}\n{site}"
        server = subprocess.Popen(
            [str(nginx), "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf),
             "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # it writes error.log
        )  # fmt: skip
        url = f"https://127.0.0.1:{listen}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, verify=False, timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, (folder / "error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.2)
        yield Proxy(url, (first, second), folder / "access.log", dashboards)
    finally:
        if server is not None:
            _stop(server)
        for process in dashboards.values():
            _stop(process)


def test_the_proxy_asks_for_the_password_before_any_dashboard_answers(proxy: Proxy) -> None:
    anonymous = httpx.get(proxy.url, verify=False, timeout=10)
    assert anonymous.status_code == 401
    assert "Policy Risk Monitor" in anonymous.headers["www-authenticate"]
    wrong = httpx.get(proxy.url, verify=False, timeout=10, auth=(USER, "guess"))
    assert wrong.status_code == 401
    assert [upstream for upstream, _ in proxy.upstreams("/")] == ["-"] * 3  # nginx said no
    allowed = httpx.get(proxy.url, verify=False, timeout=10, auth=(USER, PASSWORD))
    assert allowed.status_code == 200
    assert "<title>Streamlit</title>" in allowed.text or "streamlit" in allowed.text.lower()


def _open_dashboard(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="Policy Risk Monitor").wait_for(timeout=90_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=90_000)
    wait_for_app(page)


def test_a_browser_works_the_dashboard_through_the_proxy_and_moves_on_when_its_instance_stops(
    browser: Any,  # noqa: F811
    proxy: Proxy,
) -> None:
    context = browser.new_context(
        http_credentials={"username": USER, "password": PASSWORD},
        ignore_https_errors=True,
        viewport={"width": 1400, "height": 1000},
    )
    page = context.new_page()
    try:
        _open_dashboard(page, proxy.url)
        served = _instances(proxy.upstreams("/"))
        assert len(served) == 1, f"one browser should stay on one instance (ip_hash): {served}"
        (port,) = served

        # A round trip over the session's websocket: the composite follows the weight slider.
        before = move_tone_slider_to_minimum(page)
        assert composite_shown(page) != before

        # Stop that instance (systemctl stop sends SIGTERM): its websocket, logged as it closes,
        # was upgraded through the proxy; the next page load is served by the other instance.
        _stop(proxy.dashboards[port])
        _wait_logged(proxy, "/_stcore/stream", 1)
        assert proxy.upstreams("/_stcore/stream") == [(f"127.0.0.1:{port}", "101")]
        seen = len(proxy.upstreams("/"))
        (other,) = set(proxy.ports) - {port}
        _open_dashboard(page, proxy.url)
        assert _instances(proxy.upstreams("/")[seen:]) == {other}
    finally:
        context.close()
    _wait_logged(proxy, "/_stcore/stream", 2)
    assert proxy.upstreams("/_stcore/stream")[1] == (f"127.0.0.1:{other}", "101")


def _instances(logged: list[tuple[str, str]]) -> set[int]:
    """The dashboard ports that answered these requests (not those nginx answered itself)."""
    return {int(upstream.rsplit(":", 1)[1]) for upstream, _ in logged if upstream != "-"}


def _wait_logged(proxy: Proxy, path: str, count: int) -> None:
    """Wait until nginx has logged ``count`` requests for ``path`` (a websocket is logged when
    it closes)."""
    deadline = time.monotonic() + 30
    while len(proxy.upstreams(path)) < count:
        assert time.monotonic() < deadline, proxy.upstreams("/")
        time.sleep(0.2)
