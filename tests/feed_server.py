"""A real HTTP server on 127.0.0.1 for the feed tests, plus helpers to build configs and ingest.

Import the fixture explicitly in a test module::

    from tests.feed_server import feed_server_fixture  # noqa: F401

Routes are added per test under unique paths. Behaviours cover what hostile or broken servers
do: hang after accepting, trickle bytes, stream a huge body, serve a gzip bomb, redirect in a loop.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from pipeline.config import Config
from pipeline.feed_cycle import FeedOutcome, collect_feeds
from pipeline.feed_health import record_articles_added
from pipeline.normalise import normalise_item
from pipeline.store import UpsertResult, now_utc, save_raw_items, upsert_articles

DATA = Path(__file__).parent / "data" / "feeds"


@dataclass
class Route:
    """How one path answers."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    behaviour: str = "plain"  # plain, hang, trickle, huge
    etag: str | None = None
    size: int = 0  # for "huge"


class FeedServer:
    """A ThreadingHTTPServer on 127.0.0.1, port 0, in a daemon thread."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: dict[str, dict[str, str]] = {}
        self.stop = threading.Event()
        self.corpus: Path | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        """Serve ``body`` at ``path`` and return its full URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)
        return self.url(path)

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            server.hits[path] += 1
            server.request_headers[path] = {k.lower(): v for k, v in self.headers.items()}
            if path.startswith("/corpus/") and server.corpus is not None:
                route = corpus_route(server.corpus, path[len("/corpus/"):], server.base_url)
            else:
                route = server.routes.get(path, Route(b"not found", 404))
            try:
                _answer(self, route, server.stop)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                pass

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


def _answer(handler: BaseHTTPRequestHandler, route: Route, stop: threading.Event) -> None:
    if route.behaviour == "hang":
        stop.wait(60)
        return
    if route.etag and handler.headers.get("If-None-Match") == route.etag:
        handler.send_response(304)
        handler.send_header("ETag", route.etag)
        handler.end_headers()
        return
    handler.send_response(route.status)
    for name, value in route.headers.items():
        handler.send_header(name, value)
    if route.etag:
        handler.send_header("ETag", route.etag)
    if route.behaviour == "trickle":
        handler.end_headers()
        _trickle(handler, route.body, stop)
        return
    if route.behaviour == "huge":
        handler.end_headers()
        _stream_huge(handler, route.size, stop)
        return
    handler.send_header("Content-Length", str(len(route.body)))
    handler.end_headers()
    handler.wfile.write(route.body)


def _trickle(handler: BaseHTTPRequestHandler, body: bytes, stop: threading.Event) -> None:
    """One byte every 0.2 s: never idle long enough for a read timeout."""
    for index in range(len(body)):
        if stop.wait(0.2):
            return
        handler.wfile.write(body[index:index + 1])
        handler.wfile.flush()


def _stream_huge(handler: BaseHTTPRequestHandler, size: int, stop: threading.Event) -> None:
    chunk = b"<!-- " + b"x" * 65_000 + b" -->\n"
    handler.wfile.write(b"<?xml version='1.0'?><rss version='2.0'><channel>\n")
    sent = 0
    while sent < size and not stop.is_set():
        handler.wfile.write(chunk)
        sent += len(chunk)


def corpus_route(root: Path, relative: str, base_url: str) -> Route:
    """Serve a corpus file with the status and headers its leading comment declares."""
    path = (root / relative).resolve()
    if root.resolve() not in path.parents or not path.is_file():
        return Route(b"not found", 404)
    body = path.read_bytes()
    route = Route(body=body)
    for line in body[:2000].decode("latin-1").splitlines():
        if not line.startswith("Header:"):
            continue
        name, _, value = line[len("Header:"):].strip().partition(":")
        name, value = name.strip(), value.strip()
        if name.lower() == "status":
            route.status = int(value)
        elif name.lower() == "location":
            route.headers["Location"] = value.replace("http://localhost:8097/tests/",
                                                      base_url + "/corpus/from-v6.0.14/")
        elif name:
            route.headers[name] = value
    if path.suffix == ".gz":
        route.headers["Content-Encoding"] = "gzip"
    elif path.suffix == ".z":
        route.headers["Content-Encoding"] = "deflate"
    return route


@pytest.fixture(scope="module", name="feed_server")
def feed_server_fixture() -> Iterator[FeedServer]:
    """A running FeedServer shared by one test module; hanging handlers end at teardown."""
    server = FeedServer().start()
    yield server
    server.close()


_BOMB: list[bytes] = []


def gzip_bomb(decompressed_mb: int = 100) -> bytes:
    """A gzip body of about 100 KB that inflates to ``decompressed_mb`` MB of zeros."""
    if not _BOMB:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b"\0" * 1_048_576
        parts = [compressor.compress(block) for _ in range(decompressed_mb)]
        _BOMB.append(b"".join(parts) + compressor.flush())
    return _BOMB[0]


def rss(title: str, items: list[dict[str, str]], *, language: str | None = "en") -> str:
    """A small RSS 2.0 document; item values are inserted as given (escape them yourself)."""
    lang = f"<language>{language}</language>" if language else ""
    body = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>"
        for item in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>http://example.org/</link>{lang}{body}</channel></rss>")


def story(number: int, *, host: str = "example.org", extra: str = "") -> dict[str, str]:
    """One plausible policy story as RSS item fields."""
    return {
        "title": f"Story {number}: Colombia and the United States review cooperation {extra}",
        "link": f"https://{host}/news/{number}?utm_source=feed",
        "guid": f"https://{host}/news/{number}",
        "pubDate": "Tue, 05 Mar 2024 10:00:00 GMT",
        "description": f"&lt;p&gt;Officials met on day {number} to discuss certification, "
                       f"aid and counter-narcotics cooperation. {extra}&lt;/p&gt;",
    }


def make_config(tmp_path: Path, feeds: list[dict[str, Any]], **fetch: Any) -> Config:
    """A validated Config with a SQLite store under ``tmp_path`` and test-sized fetch limits."""
    limits = {"connect_timeout_s": 1.0, "read_timeout_s": 1.0, "total_timeout_s": 2.0,
              "allow_private_addresses": True, "backoff_base_s": 60.0, "backoff_max_s": 3600.0,
              "max_bytes": 2_000_000, **fetch}
    return Config.model_validate({
        "database": {"url": f"sqlite:///{tmp_path / 'store.db'}"},
        "sources": {"feeds": feeds, "fetch": limits},
        "signals": {"risk": {"label": "Risk", "weight": 1.0}},
        "path": tmp_path / "config.yaml",
    })


@dataclass
class Ingested:
    outcomes: dict[str, FeedOutcome]
    upserts: dict[str, UpsertResult]


def ingest(config: Config, engine: Engine, *, now: datetime | None = None,
           worker: str = "local") -> Ingested:
    """Run a cycle as pipeline.run does: collect, store raw, normalise, upsert, record counts."""
    outcomes = collect_feeds(config, engine, worker=worker, now=now)
    upserts: dict[str, UpsertResult] = {}
    for outcome in outcomes:
        if outcome.status != "ok":
            continue
        save_raw_items(engine, outcome.items)
        at = now or now_utc()
        upserts[outcome.name] = upsert_articles(engine, [normalise_item(i, at) for i in outcome.items])
    record_articles_added(engine, {name: r.added for name, r in upserts.items()})
    return Ingested({o.name: o for o in outcomes}, upserts)


def wait_until(condition: Any, timeout_s: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def serve_data_file(server: FeedServer, name: str, path: str | None = None) -> str:
    """Serve ``tests/data/feeds/NAME`` with the Status and headers its leading comment declares."""
    body = (DATA / name).read_bytes()
    comment = body[: body.find(b"-->")].decode("utf-8") if b"-->" in body else ""
    status, headers = 200, {}
    for line in comment.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "status":
            status = int(value)
        elif key.strip().lower() in ("content-type", "content-encoding", "retry-after", "etag"):
            headers[key.strip()] = value.strip()
    return server.add(path or f"/data/{name}", body, status=status, headers=headers)
