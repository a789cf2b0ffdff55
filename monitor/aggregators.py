"""Aggregator links -> the outlet's own article URL, for the items of feeds marked `aggregator: true`.

News searches link to themselves, not to the article:

- Bing News: `.../news/apiclick.aspx?...&url=<the article URL, percent-encoded>&...`: read, no request.
- Google News: `.../rss/articles/<id>?oc=5`. The id no longer holds the URL and the page needs JavaScript,
  so two requests: the article page, whose `c-wiz` element carries a signature and a timestamp
  (`data-n-a-sg`, `data-n-a-ts`), then a POST of (id, timestamp, signature) to the same host's
  `batchexecute` endpoint, whose answer holds the URL.

The Google method is Google's private protocol and changes without notice. The PyPI package
`googlenewsdecoder` keeps up with it; three of its pure functions are used here, and nothing else of it
(never its HTTP client): `parse_signature` (page -> signature, timestamp), `build_batchexecute_body`
(the POST body) and `parse_batchexecute` (answer -> URLs). Every request goes through the monitor's own
`Fetcher` (address checks, timeouts, size caps, per-host limits), passed in by the caller. Anything that
goes wrong, a changed package API included, is a `ResolveError` naming the link: the caller keeps the
item headline-only and tries again later.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from .errors import FetchError, ResolveError
from .urls import is_http_url

if TYPE_CHECKING:
    from .fetch import Fetcher

PAGE_MAX_BYTES = 2_000_000  # the article page is ~100-300 KB of script
ANSWER_MAX_BYTES = 200_000  # a batchexecute answer for one id is well under 1 KB
BATCHEXECUTE_PATH = "/_/DotsSplashUi/data/batchexecute"
FORM = "application/x-www-form-urlencoded;charset=UTF-8"
_GOOGLE_PATH = re.compile(r"/(?:rss/)?(?:articles|read)/([A-Za-z0-9_-]{8,2000})/?$")
_LOCALE = ("hl", "gl", "ceid")


def _decoder():
    """googlenewsdecoder's pure parsing module, or ResolveError saying how to repair the install."""
    try:  # private, as its public API does its own HTTP: pinned <0.3 in pyproject, tests/test_aggregators.py checks it
        from googlenewsdecoder import _parse
    except ImportError as exc:
        raise ResolveError(f"googlenewsdecoder is not usable ({exc}); run: pip install -U 'googlenewsdecoder>=0.2.2,<0.3'") from exc
    return _parse


def _call(name: str, link: str, *args):
    """One googlenewsdecoder function by name; a missing function or one that raises is a ResolveError."""
    function = getattr(_decoder(), name, None)
    if not callable(function):
        raise ResolveError(f"{link}: googlenewsdecoder has no {name}() any more (its API changed); "
                           "update the monitor or pin googlenewsdecoder>=0.2.2,<0.3")
    try:
        return function(*args)
    except Exception as exc:  # its parsers raise what json/selectolax raise on an answer they do not expect
        raise ResolveError(f"{link}: {name}() failed ({type(exc).__name__}: {str(exc)[:160]})") from exc


# --- pure --------------------------------------------------------------------------------------


def bing_target(link: str) -> str | None:
    """The article URL in a Bing News `apiclick.aspx` link's `url` parameter (http(s) only), else None."""
    parts = urlsplit(link)
    if not parts.path.lower().endswith("/apiclick.aspx"):
        return None
    target = parse_qs(parts.query).get("url", [""])[0].strip()
    return target if is_http_url(target) else None


def google_article_id(link: str) -> str | None:
    """The article id of a Google News `/rss/articles/<id>` (or `/articles/`, `/read/`) link, else None."""
    match = _GOOGLE_PATH.search(urlsplit(link).path)
    return match.group(1) if match else None


def signature_page_url(link: str, feed_url: str) -> str:
    """The page that carries the signature: `/rss/articles/<id>` on the link's host, with the feed's locale
    (`/articles/<id>` redirects clients without a browser to a captcha)."""
    parts = urlsplit(link)
    query = parse_qs(urlsplit(feed_url).query)
    locale = {"hl": "en-US", "gl": "US", "ceid": "US:en"} | {k: query[k][0] for k in _LOCALE if query.get(k)}
    path = f"/rss/articles/{google_article_id(link)}"
    return urlunsplit((parts.scheme, parts.netloc, path, "&".join(f"{k}={quote(v, safe='')}" for k, v in locale.items()), ""))


def read_signature(link: str, html: str) -> tuple[str, str]:
    """(signature, timestamp) from the article page, or ResolveError (the page changed, or a captcha)."""
    found = _call("parse_signature", link, html)
    if found is None:
        raise ResolveError(f"{link}: the article page has no data-n-a-sg/data-n-a-ts (Google changed the page, or a captcha)")
    if not (isinstance(found, tuple) and len(found) == 2 and all(isinstance(v, str) and v for v in found)):
        raise ResolveError(f"{link}: googlenewsdecoder parse_signature() returned {type(found).__name__}; its API changed")
    return found


def batchexecute_request(link: str, signature: str, timestamp: str) -> tuple[str, bytes]:
    """(endpoint URL on the link's host, POST body) asking for the article URL of `link`."""
    body = _call("build_batchexecute_body", link, [("0", google_article_id(link), timestamp, signature)])
    if not isinstance(body, str) or not body.startswith("f.req="):
        raise ResolveError(f"{link}: googlenewsdecoder build_batchexecute_body() returned an unexpected body; its API changed")
    parts = urlsplit(link)
    return urlunsplit((parts.scheme, parts.netloc, BATCHEXECUTE_PATH, "", "")), body.encode("ascii")


def read_answer(link: str, text: str) -> str:
    """The article URL in a batchexecute answer, or ResolveError."""
    pairs = _call("parse_batchexecute", link, text)
    if not isinstance(pairs, list):
        raise ResolveError(f"{link}: googlenewsdecoder parse_batchexecute() returned {type(pairs).__name__}; its API changed")
    for pair in pairs:
        url = pair[1] if isinstance(pair, tuple) and len(pair) == 2 else None
        if isinstance(url, str) and is_http_url(url):
            return url.strip()
    raise ResolveError(f"{link}: the batchexecute answer holds no article URL")


def strip_outlet_suffix(title: str, outlet: str | None) -> str:
    """'Headline - Outlet' -> 'Headline' (news searches append the outlet's name to every title)."""
    if outlet:
        for dash in (" - ", " – ", " — ", " | "):
            suffix = dash + outlet
            if title.endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].rstrip()
    return title


# --- the requests ------------------------------------------------------------------------------


def needs_request(link: str) -> bool:
    """True for a link that only a request can resolve (Google News); False for Bing's and for plain links."""
    return bing_target(link) is None and google_article_id(link) is not None


async def resolve(fetcher: Fetcher, link: str, *, feed_url: str) -> str:
    """The outlet's article URL for one aggregator link, by the requests it needs; ResolveError otherwise."""
    target = bing_target(link)
    if target is not None:
        return target
    if google_article_id(link) is None:
        raise ResolveError(f"{link}: not a Google News or Bing News article link")
    try:
        page = await fetcher.get(signature_page_url(link, feed_url), max_bytes=PAGE_MAX_BYTES)
        signature, timestamp = read_signature(link, page.content.decode("utf-8", "replace"))
        endpoint, body = batchexecute_request(link, signature, timestamp)
        answer = await fetcher.post(endpoint, body, content_type=FORM, max_bytes=ANSWER_MAX_BYTES)
    except FetchError as exc:
        raise ResolveError(f"{link}: {exc}") from exc
    return read_answer(link, answer.content.decode("utf-8", "replace"))
