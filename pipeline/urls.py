"""Canonical URLs, so the same story reached through tracking links or fragments has one id."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PARAMS = {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid"}
SAFE_SCHEMES = ("http", "https")


def is_web_url(url: str | None) -> bool:
    """Tell whether a URL is a plain http(s) link with a host (no javascript:, data:, file:)."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.hostname)


def canonical_url(url: str | None) -> str | None:
    """Lower-case scheme and host, drop the fragment, default ports and tracking parameters."""
    if not is_web_url(url):
        return None
    assert url is not None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), netloc, path, urlencode(sorted(query)), ""))
