"""Fetch one URL under hard limits, for feeds and for the pages full-text extraction reads.

Feeds are untrusted input from servers we do not control (issue 3), so every fetch has:
connect, read and total timeouts (the total is a deadline over every hop and the whole body, so
a server trickling one byte a second cannot hold a worker for ever); a size cap counted on the
bytes received AND on the bytes after decompression (a 50 KB gzip bomb must not become 50 MB);
a redirect cap, following hops by hand so each one is checked; and a server-side request forgery
guard that resolves the host once, refuses private, loopback, link-local, multicast and reserved
addresses, then connects to exactly the address it checked (no second DNS lookup to rebind).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from pipeline.config import FetchConfig
from pipeline.errors import SourceError

log = logging.getLogger(__name__)

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(SourceError):
    """A fetch failed; ``status`` and ``retry_after_s`` feed the health table and backoff."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One successful response (200 with its body, or 304 without one)."""

    url: str
    status: int
    body: bytes
    content_type: str | None = None
    content_location: str | None = None
    content_language: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    problems: tuple[str, ...] = ()

    @property
    def not_modified(self) -> bool:
        """Tell whether the server answered 304: the feed is unchanged since the last fetch."""
        return self.status == 304


def make_client(config: FetchConfig) -> httpx.AsyncClient:
    """Build the shared client: no automatic redirects, no proxy or .netrc from the environment.

    ``trust_env=False`` because a proxy would make the address check meaningless and would
    route test traffic for 127.0.0.1 elsewhere.
    """
    timeout = httpx.Timeout(
        connect=config.connect_timeout_s,
        read=config.read_timeout_s,
        write=config.read_timeout_s,
        pool=config.total_timeout_s,
    )
    limits = httpx.Limits(
        max_connections=config.concurrency * 2, max_keepalive_connections=config.concurrency
    )
    headers = {
        "User-Agent": config.user_agent,
        "Accept": ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, follow_redirects=False, trust_env=False, headers=headers
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    config: FetchConfig,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """Fetch ``url`` within every limit of ``config``; raise FetchError with a short reason."""
    conditional = {"If-None-Match": etag} if etag else {}
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    try:
        async with asyncio.timeout(config.total_timeout_s):
            return await _follow(client, url, config, conditional)
    except TimeoutError:
        raise FetchError(f"gave up after {config.total_timeout_s:g} s (total timeout)") from None
    except httpx.HTTPError as exc:
        raise FetchError(describe_http_error(exc, config)) from None


def fetch_url(url: str, config: FetchConfig) -> FetchResult:
    """Fetch one URL from synchronous code (``feeds check``), with a client of its own."""

    async def _once() -> FetchResult:
        async with make_client(config) as client:
            return await fetch(client, url, config)

    return asyncio.run(_once())


async def _follow(
    client: httpx.AsyncClient, url: str, config: FetchConfig, headers: dict[str, str]
) -> FetchResult:
    current = url
    for _hop in range(config.max_redirects + 1):
        request = await _pinned_request(client, current, config, headers)
        response = await client.send(request, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                current = urljoin(current, location.strip())
                continue
            return await _read(response, current, config)
        finally:
            await response.aclose()
    raise FetchError(f"too many redirects (more than {config.max_redirects})")


async def _pinned_request(
    client: httpx.AsyncClient, url: str, config: FetchConfig, headers: dict[str, str]
) -> httpx.Request:
    """Build a request that connects to the checked address while naming the real host."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FetchError(f"invalid URL {url[:200]!r}: {exc}") from None
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError(f"refused URL {url[:200]!r}: only http and https are fetched")
    port = target.port or (443 if target.scheme == "https" else 80)
    host = target.raw_host.decode("ascii")  # IDNA-encoded, as DNS and TLS want it
    address = await resolve_checked(host, port, config.allow_private_addresses)
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    host_header = target.netloc.decode("ascii")
    return client.build_request(
        "GET",
        target.copy_with(host=address),
        headers={**headers, "Host": host_header},
        extensions=extensions,
    )


async def resolve_checked(host: str, port: int, allow_private: bool) -> str:
    """Resolve ``host`` and return one address, refusing non-public ones unless allowed."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host}: {exc}") from None
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve host {host}")
    if not allow_private:
        for address in addresses:
            kind = forbidden_kind(address)
            if kind:
                raise FetchError(
                    f"refused {host}: it resolves to {address}, a {kind} address (request "
                    "forgery guard; set sources.fetch.allow_private_addresses: true to allow)"
                )
    return addresses[0]


def forbidden_kind(address: str) -> str | None:
    """Name why an address must not be fetched from (``loopback``, ``private``...), else None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    checks = (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), None)


async def _read(response: httpx.Response, url: str, config: FetchConfig) -> FetchResult:
    status, headers = response.status_code, response.headers
    if status == 304:
        return FetchResult(url, 304, b"", etag=headers.get("etag"),
                           last_modified=headers.get("last-modified"))
    if status >= 300 or status < 200:
        reason = response.reason_phrase or ""
        detail = " without a Location header" if status in _REDIRECTS else ""
        raise FetchError(
            f"HTTP {status} {reason}".strip() + detail,
            status=status,
            retry_after_s=parse_retry_after(headers.get("retry-after")),
        )
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.max_bytes:
        raise FetchError(_too_large(config.max_bytes), status=status)
    body, problems = await _read_body(response, config.max_bytes)
    return FetchResult(
        url=url,
        status=status,
        body=body,
        content_type=headers.get("content-type"),
        content_location=headers.get("content-location"),
        content_language=headers.get("content-language"),
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        problems=problems,
    )


async def _read_body(response: httpx.Response, limit: int) -> tuple[bytes, tuple[str, ...]]:
    """Stream the raw body through a bounded decoder, stopping as soon as a limit is passed."""
    received = 0
    try:
        decoder = _Decoder(response.headers.get("content-encoding", ""), limit)
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > limit:
                raise FetchError(_too_large(limit))
            decoder.feed(chunk)
    except FetchError as exc:
        raise FetchError(str(exc), status=response.status_code) from None
    return decoder.finish()


class _Decoder:
    """Decompress gzip or deflate with every output step capped at what the limit leaves."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"unsupported Content-Encoding {content_encoding[:40]!r}")
        self.encoding, self.limit = encoding, limit
        self.out = bytearray()
        self.pending = bytearray()  # raw bytes kept until output starts, to retry another way
        self.problems: list[str] = []
        plain = encoding in ("", "identity")
        self._modes = [] if plain else ([31] if "gzip" in encoding else [15, -15])
        self._zlib = zlib.decompressobj(self._modes[0]) if self._modes else None

    def feed(self, chunk: bytes) -> None:
        if self._zlib is None:
            self._append(chunk)
            return
        if not self.out:
            self.pending += chunk
        try:
            self._inflate(chunk)
        except zlib.error:
            self._fall_back()
        if self.out:
            self.pending = bytearray()

    def _inflate(self, data: bytes) -> None:
        assert self._zlib is not None
        while data and not self._zlib.eof:
            self._append(self._zlib.decompress(data, self.limit - len(self.out) + 1))
            data = self._zlib.unconsumed_tail

    def _fall_back(self) -> None:
        """Retry a corrupt start as raw deflate, then as an uncompressed body (servers lie)."""
        if self.out:
            raise FetchError(f"corrupt {self.encoding} body")
        data, self.pending = bytes(self.pending), bytearray()
        self._modes.pop(0)
        if self._modes:
            self._zlib = zlib.decompressobj(self._modes[0])
            self.feed(data)
            return
        self.problems.append(f"Content-Encoding {self.encoding} but the body is not compressed")
        self._zlib = None
        self._append(data)

    def _append(self, data: bytes) -> None:
        self.out += data
        if len(self.out) > self.limit:
            raise FetchError(_too_large(self.limit) + " after decompression")

    def finish(self) -> tuple[bytes, tuple[str, ...]]:
        """Return the decoded body and any problem noticed on the way."""
        if self._zlib is not None and not self._zlib.eof:
            self.problems.append(f"{self.encoding} body was truncated")
        return bytes(self.out), tuple(self.problems)


def parse_retry_after(value: str | None) -> float | None:
    """Read Retry-After as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe_http_error(exc: httpx.HTTPError, config: FetchConfig) -> str:
    """Turn an httpx exception into a short reason an analyst can act on."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect within {config.connect_timeout_s:g} s"
    if isinstance(exc, httpx.ReadTimeout):
        return f"server sent nothing for {config.read_timeout_s:g} s (read timeout)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {_short(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"invalid HTTP response: {_short(exc)}"
    return f"{type(exc).__name__}: {_short(exc)}"


def _short(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]


def _too_large(limit: int) -> str:
    return f"response larger than the {limit:,} byte limit"


def host_of(url: str) -> str:
    """Return the lower-case host of a URL, for the per-host concurrency cap."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
