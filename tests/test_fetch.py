"""Fetching under limits, against a real HTTP server on 127.0.0.1 (issue 3)."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib

import pytest

from pipeline.config import FetchConfig
from pipeline.fetch import (
    FetchError,
    FetchResult,
    fetch,
    fetch_url,
    forbidden_kind,
    make_client,
    parse_retry_after,
    resolve_checked,
)
from tests.feed_server import FeedServer, feed_server_fixture, gzip_bomb  # noqa: F401

FAST = FetchConfig(connect_timeout_s=1, read_timeout_s=1, total_timeout_s=2,
                   allow_private_addresses=True, max_bytes=1_000_000, max_redirects=3)


def _get(url: str, config: FetchConfig = FAST, **kwargs: str) -> FetchResult:
    async def once() -> FetchResult:
        async with make_client(config) as client:
            return await fetch(client, url, config, **kwargs)

    return asyncio.run(once())


def test_fetch_returns_body_and_validators(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/good.xml", b"<rss/>", etag='"abc"',
                          headers={"Last-Modified": "Tue, 05 Mar 2024 10:00:00 GMT",
                                   "Content-Type": "application/rss+xml"})
    result = _get(url)
    assert (result.status, result.body, result.etag) == (200, b"<rss/>", '"abc"')
    assert result.last_modified == "Tue, 05 Mar 2024 10:00:00 GMT"
    assert result.content_type == "application/rss+xml"
    sent = feed_server.request_headers["/fetch/good.xml"]
    assert sent["user-agent"] == FAST.user_agent
    assert "gzip" in sent["accept-encoding"]


def test_fetch_conditional_get_answers_304(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/etag.xml", b"<rss/>", etag='"v1"')
    result = _get(url, etag='"v1"')
    assert result.not_modified and result.body == b""


@pytest.mark.parametrize("status", [404, 500])
def test_fetch_http_error_names_status(feed_server: FeedServer, status: int) -> None:
    url = feed_server.add(f"/fetch/{status}", b"oops", status=status)
    with pytest.raises(FetchError, match=f"^HTTP {status}") as info:
        _get(url)
    assert info.value.status == status


def test_fetch_503_carries_retry_after(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/503", b"busy", status=503, headers={"Retry-After": "120"})
    with pytest.raises(FetchError, match="HTTP 503") as info:
        _get(url)
    assert info.value.retry_after_s == 120.0


def test_fetch_server_that_never_answers_times_out(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/hang", behaviour="hang")
    started = time.monotonic()
    with pytest.raises(FetchError, match="read timeout"):
        _get(url)
    assert time.monotonic() - started < 3


def test_fetch_trickling_server_hits_total_timeout(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/trickle", b"x" * 1000, behaviour="trickle")
    started = time.monotonic()
    with pytest.raises(FetchError, match="total timeout"):
        _get(url)
    assert time.monotonic() - started < 3.5


def test_fetch_follows_redirects_then_stops_a_loop(feed_server: FeedServer) -> None:
    target = feed_server.add("/fetch/target.xml", b"<rss/>")
    start = feed_server.add("/fetch/moved", status=301, headers={"Location": "/fetch/target.xml"})
    assert _get(start).url == target
    feed_server.add("/fetch/loop-a", status=302, headers={"Location": "/fetch/loop-b"})
    loop = feed_server.add("/fetch/loop-b", status=302, headers={"Location": "/fetch/loop-a"})
    with pytest.raises(FetchError, match="too many redirects"):
        _get(loop)


def test_fetch_redirect_hop_to_file_url_is_refused(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/to-file", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="only http and https"):
        _get(url)


def test_fetch_huge_body_stops_at_limit(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/huge", behaviour="huge", size=50_000_000)
    with pytest.raises(FetchError, match="byte limit"):
        _get(url)


def test_fetch_declared_length_over_limit_is_refused_early(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/big", b"x" * 1_500_000)
    with pytest.raises(FetchError, match="byte limit"):
        _get(url)


def test_fetch_gzip_body_is_decoded(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/gz", gzip.compress(b"<rss>hello</rss>"),
                          headers={"Content-Encoding": "gzip"})
    assert _get(url).body == b"<rss>hello</rss>"


def test_fetch_raw_deflate_and_uncompressed_lies_are_read(feed_server: FeedServer) -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = raw.compress(b"<rss>raw</rss>") + raw.flush()
    url = feed_server.add("/fetch/raw-deflate", body, headers={"Content-Encoding": "deflate"})
    assert _get(url).body == b"<rss>raw</rss>"
    lie = feed_server.add("/fetch/not-gz", b"<rss>plain</rss>", headers={"Content-Encoding": "gzip"})
    result = _get(lie)
    assert result.body == b"<rss>plain</rss>"
    assert any("not compressed" in p for p in result.problems)


def test_fetch_gzip_bomb_stops_after_decompression_limit(feed_server: FeedServer) -> None:
    bomb = gzip_bomb()
    assert len(bomb) < FAST.max_bytes  # small on the wire: only the decoded size can catch it
    url = feed_server.add("/fetch/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="after decompression"):
        _get(url)


def test_fetch_stacked_encodings_are_refused(feed_server: FeedServer) -> None:
    body = gzip.compress(gzip.compress(b"<rss/>"))
    url = feed_server.add("/fetch/double", body, headers={"Content-Encoding": "gzip, gzip"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding"):
        _get(url)


def test_fetch_refuses_loopback_unless_allowed(feed_server: FeedServer) -> None:
    url = feed_server.add("/fetch/private.xml", b"<rss/>")
    closed = FetchConfig(connect_timeout_s=1, read_timeout_s=1, total_timeout_s=2)
    hits = feed_server.hits["/fetch/private.xml"]
    with pytest.raises(FetchError, match="loopback address"):
        fetch_url(url, closed)
    assert feed_server.hits["/fetch/private.xml"] == hits  # refused before connecting
    assert fetch_url(url, FAST).body == b"<rss/>"


@pytest.mark.parametrize(
    ("address", "kind"),
    [("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("192.168.0.1", "private"),
     ("169.254.169.254", "link-local"), ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"),
     ("::1", "loopback"), ("fe80::1", "link-local"), ("::ffff:127.0.0.1", "loopback"),
     ("100.64.0.1", "non-public"), ("240.0.0.1", "reserved"), ("8.8.8.8", None),
     ("2001:4860:4860::8888", None)],
)
def test_forbidden_kind_classifies_addresses(address: str, kind: str | None) -> None:
    assert forbidden_kind(address) == kind


def test_resolve_checked_refuses_localhost_names() -> None:
    with pytest.raises(FetchError, match="request forgery guard"):
        asyncio.run(resolve_checked("localhost", 80, allow_private=False))


def test_fetch_unresolvable_host_is_a_short_error() -> None:
    with pytest.raises(FetchError, match="cannot resolve host"):
        fetch_url("http://no-such-host.invalid/feed.xml", FAST)


def test_parse_retry_after_reads_seconds_and_dates() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
