"""Is this an http(s) URL? The one check every module asks (config, OPML, feeds, pages, links).

Light on purpose (standard library only): `monitor check` and the config loader use it before
anything heavy is imported. Spaces and control characters inside a URL are what feeds get wrong
most (a link wrapped over two lines): `split_http_url` drops them, as `canonical_url` does;
`is_http_url(url, exact=True)` refuses them instead, for a URL that is written out as it stands
(an OPML import, a page's link).
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from .text import valid_utf8

_SCHEMES = ("http", "https")
URL_CONTROLS = {c: None for c in range(0x21)} | {0x7F: None}  # C0 controls, space and DEL: never part of a URL


def strip_url_controls(url: str) -> str:
    """`url` without surrounding white space and without the control characters and spaces inside it."""
    return url.strip().translate(URL_CONTROLS)


def split_http_url(url: object) -> SplitResult:
    """urlsplit of a URL (controls dropped) whose scheme is http(s), that has a host and a valid port, else ValueError."""
    if not isinstance(url, str):
        raise ValueError(f"not a URL: {url!r}")
    if not valid_utf8(url):
        raise ValueError(f"not a URL (not valid Unicode): {url[:200]!r}")
    parts = urlsplit(strip_url_controls(url))
    if parts.scheme.lower() not in _SCHEMES:
        raise ValueError(f"not an http(s) URL: {url[:200]!r}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {url[:200]!r}")
    parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    return parts


def is_http_url(url: object, *, exact: bool = False) -> bool:
    """True for an absolute http:// or https:// URL with a host (any case of the scheme). With `exact`, a
    URL with a space or control character anywhere (surrounding white space included) is refused."""
    if exact and isinstance(url, str) and url != url.translate(URL_CONTROLS):
        return False
    try:
        split_http_url(url)
    except ValueError:
        return False
    return True
