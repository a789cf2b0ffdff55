"""The identity of an article: one canonical form for every way a link to it is written.

courlan decides which query parameters are trackers (its list knows utm_*, fbclid,
gclid, mc_cid, ref, source, xtor, ...; asked through its public `normalize_url`, one name at a
time) and normalises host, port and path; w3lib gives the final percent-encoding and query order. What this module adds, after reading courlan 1.4:

- courlan's normalize_url drops query parameters without a value (``/story.php?4521``), which
  would merge different articles: the query is filtered here, keeping blank values (w3lib then
  writes them as ``?4521=``);
- a few trackers courlan misses (``ocid``, ``cmpid``, ``smid``, ``_hsenc``, ...), in `EXTRA_TRACKERS`;
- only http(s) URLs with a host are accepted; anything else raises ValueError.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url
from tld import get_fld
from w3lib.url import canonicalize_url

from .urlcheck import is_http_url, split_http_url, strip_url_controls

# Tracking parameters seen in news links that courlan 1.4 keeps (lower-case names).
EXTRA_TRACKERS = frozenset({
    "ocid", "cmpid", "cmp", "intcmp", "int_cmp", "smid", "smtyp", "spm", "icid", "ito", "taid",
    "share", "si", "guccounter", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
    "wt.mc_id", "wt.mc_ev", "ns_mchannel", "ns_linkname", "ns_fee", "mbid", "cvid", "ncid",
    "sr_share", "soc_src", "soc_trk", "tpcc", "_openstat", "__twitter_impression", "fb_action_ids",
    "fb_action_types", "trk", "trkcampaign", "gclsrc", "dm_i", "epik", "s_kwcid", "ef_id", "irgwc",
})
def _is_tracker(name: str) -> bool:
    key = name.lower()
    return key in EXTRA_TRACKERS or _courlan_drops(key)


@lru_cache(maxsize=4096)
def _courlan_drops(name: str) -> bool:
    """Whether courlan's public normalize_url removes a parameter of this name (its tracker list)."""
    try:
        kept = urlsplit(normalize_url(f"http://example.invalid/?{quote(name, safe='')}=1")).query
    except ValueError:
        return False
    return not kept


def canonical_url(url: str) -> str:
    """One form per article: lower-case scheme and host (IDN as punycode), no default port, no
    fragment, no tracking parameters, remaining query parameters sorted; path case kept.

    Raises ValueError for anything that is not an http(s) URL with a host.
    """
    parts = split_http_url(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracker(k)]
    base = normalize_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), trailing_slash=True)
    query = urlencode(kept)
    out = canonicalize_url(base + ("?" + query if query else ""), keep_fragments=False)
    split_http_url(out)  # courlan or w3lib must not have produced something unusable
    return out


def absolute_url(base: str, href: str | None) -> str | None:
    """`href` resolved against `base`; None when it is missing or the result is not http(s)."""
    if href is None:
        return None
    href = strip_url_controls(href)
    if not href:
        return None
    try:
        out = urljoin(base, href)
    except ValueError:
        return None
    return out if is_http_url(out) else None


def host_of(url: str) -> str:
    """The lower-case host of a URL without port or 'www.' ('' when there is none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") else host


def registrable_domain(url: str) -> str:
    """The part of a URL's host that one owner registers: 'news.example.co.uk' -> 'example.co.uk',
    'alice.github.io' -> 'alice.github.io' (private suffixes count). An IP address, 'localhost' or a host
    under no known suffix is its own domain; '' when the URL has no host.

    The Public Suffix List snapshot bundled with `tld` is read; nothing is fetched.
    """
    host = host_of(url) if "//" in url else url.strip().rstrip(".").lower()
    if not host:
        return ""
    if host.startswith("[") or _is_ip(host):
        return host
    found = get_fld(host, fix_protocol=True, fail_silently=True, search_private=True)
    return found or host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def public_url(url: str) -> str:
    """`url` as it may be published: without user name, password, query string and fragment (a feed URL
    may carry `user:password@` or `?token=`). Text that does not parse as a URL comes back unchanged."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return url
    if not parts.scheme or host is None:
        return url
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]*[^\s'\"<>:;,.)]", re.IGNORECASE)  # not the sentence's ":" or "."


def redact_urls(text: str) -> str:
    """`text` (an error message, say) with every http(s) URL in it as `public_url` gives it."""
    return _URL_IN_TEXT.sub(lambda m: public_url(m.group(0)), text)
