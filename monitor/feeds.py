"""Feed bytes -> ParsedFeed: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed by hand.

Pure: no network, no disk, no clock (the caller passes `now`). The format is decided by the bytes,
never by a content type. Everything read from a feed is hostile: titles and summaries come out as
plain text without control or bidi-override characters, links only as http(s), dates clamped.

Safety: feedparser is only ever given a BytesIO: given a string that looks like a URL it fetches it,
and given bytes or a string that name a local file it reads that file (measured on feedparser 6.0).
Documents that declare entities in a DOCTYPE are refused before parsing: expat stops a
billion-laughs document, but feedparser then re-reads it with its loose parser, which expands a
large entity referenced many times (100 MB from a 400 KB feed, measured), and no real feed needs
its own entities.
"""

from __future__ import annotations

import html
import io
import json
import re
from calendar import timegm
from datetime import datetime, timedelta, timezone
from xml.sax import SAXException

import feedparser
import lxml.etree
import lxml.html

from .dates import parse_datetime
from .errors import ParseError
from .models import Entry, ParsedFeed
from .text import clean_text, drop_bad_chars
from .urls import absolute_url, is_http_url

TITLE_MAX = 500
SUMMARY_MAX = 1000
GUID_MAX = 1000
TTL_MAX = 86400  # a feed may ask us to come back later, but not less than daily
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SKEW = timedelta(days=1)  # a date-only "today" in UTC+14 is up to a day ahead of UTC

_TAG = re.compile(r"<[A-Za-z/!?]")
_BLOCK = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th",
                    "blockquote", "pre", "section", "article", "header", "footer", "table", "dd", "dt", "hr"})
_HAS_TIME = re.compile(r"\d:\d\d|T\d\d")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
# comments and CDATA sections, whichever opens first (one inside the other is text of the outer)
_TEXT_SPANS = re.compile(rb"<!--.*?(?:-->|\Z)|<!\[CDATA\[.*?(?:\]\]>|\Z)", re.DOTALL)
_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*\{")
_SY_PERIOD = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}
_JSONFEED = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")
_CHAR_REF = re.compile(rb"&#([xX]0*[0-9a-fA-F]{1,6}|0*[0-9]{1,7});")
_ENTRY_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\s*>")


# --- text --------------------------------------------------------------------------------------


def plain_text(text: str | None, limit: int | None = None) -> str:
    """Markup (if any) to plain text: tags removed, entities decoded, whitespace collapsed."""
    if not text:
        return ""
    text = drop_bad_chars(text)
    if _TAG.search(text):
        text = _strip_tags(text)
    if "&" in text:
        text = html.unescape(text)
    return clean_text(text, limit)


def _strip_tags(markup: str) -> str:
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return re.sub(r"<[^>]*>", " ", markup)
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = " " + (el.tail or "")
            el.text = " " + (el.text or "")
    return root.text_content()


# --- dates -------------------------------------------------------------------------------------


def clamp_date(when: datetime | None, has_time: bool, now: datetime) -> tuple[datetime | None, bool]:
    """A stated publication date checked against the time it was read (`now`): a date past `now` plus
    FUTURE_SKEW, or before 1990, is a bug or a lie (a 2099 date would pin a story to the top of the
    site): it gives `now`, without a time. Used for feed entries and article pages alike."""
    if when is None:
        return None, False
    if when > now + FUTURE_SKEW or when < EARLIEST:
        return now, False
    return when, has_time


def _struct_to_dt(parsed) -> datetime | None:
    try:
        return datetime.fromtimestamp(timegm(parsed), tz=timezone.utc)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _entry_date(entry, now: datetime) -> tuple[datetime | None, bool]:
    unreadable = False
    for key in ("published", "updated", "created"):
        raw = dict.get(entry, key)  # plain dict lookups: FeedParserDict maps updated <-> published
        parsed = dict.get(entry, key + "_parsed")
        if parsed:
            when = _struct_to_dt(parsed)
            return (now, False) if when is None else clamp_date(when, bool(_HAS_TIME.search(raw or "")), now)
        if raw and re.search(r"\d{4}", raw):
            unreadable = True  # a year feedparser would not take (0001, 99999) or a broken date
    return (now, False) if unreadable else (None, False)


def _iso_date(raw, now: datetime) -> tuple[datetime | None, bool]:
    if not isinstance(raw, str) or not raw.strip():
        return None, False
    return clamp_date(parse_datetime(raw), bool(_HAS_TIME.search(raw)), now)


# --- parsing -----------------------------------------------------------------------------------


def parse_feed(content: bytes, *, url: str, now: datetime, max_entries: int = 500) -> ParsedFeed:
    """Parse feed bytes fetched from `url`. Raises ParseError when the bytes are not a feed."""
    if not isinstance(content, (bytes, bytearray)):
        raise TypeError("parse_feed takes bytes")
    content = bytes(content)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if _JSON_START.match(content):
        return _parse_json_feed(content, url=url, now=now, max_entries=max_entries)
    _refuse_entities(content, url)
    content = _no_surrogate_refs(content)
    try:
        # A stream, never bytes or str: feedparser open()s bytes that name a local file.
        doc = feedparser.parse(io.BytesIO(_drop_entries_beyond(content, 2 * max_entries + 50)),
                               sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser is not supposed to raise; hostile bytes might make it
        raise ParseError(f"{url}: not a feed ({type(exc).__name__}: {_one_line(exc)})") from exc
    bozo = _bozo_reason(doc)
    if not doc.entries and not doc.get("version"):
        raise ParseError(f"{url}: not a feed ({_not_a_feed_reason(content, bozo)})")
    entries = _entries((_rss_atom_entry(e, url, now) for e in doc.entries), max_entries)
    info = doc.get("feed", {})
    return ParsedFeed(
        title=plain_text(info.get("title"), TITLE_MAX) or None,
        link=absolute_url(url, info.get("link")),
        entries=entries,
        ttl=_ttl(info),
        bozo=bozo,
    )


def _refuse_entities(content: bytes, url: str) -> None:
    """Refuse a document that declares entities anywhere outside comments and CDATA sections. Looking only
    before the first element was not enough: a processing instruction (`<?x <a?>`) or a quoted system id
    (`SYSTEM "<a"`) holding "<a" ended that prolog early and hid the declarations after it."""
    probe = content.replace(b"\x00", b"") if b"\x00" in content[:4] else content  # UTF-16/32: ASCII bytes remain
    if not _ENTITY_DECL.search(probe):
        return
    if _ENTITY_DECL.search(_TEXT_SPANS.sub(b"", probe)):
        raise ParseError(f"{url}: not a feed (declares XML entities in its DOCTYPE; refused for safety)")


def _no_surrogate_refs(content: bytes) -> bytes:
    """Character references to surrogates (`&#xD800;`) as U+FFFD: feedparser's loose parser turns them into
    lone surrogates and then fails on the whole feed when it encodes them."""
    if b"&#" not in content:
        return content
    return _CHAR_REF.sub(lambda m: b"&#xFFFD;" if 0xD800 <= _ref_value(m.group(1)) <= 0xDFFF else m.group(0), content)


def _ref_value(digits: bytes) -> int:
    return int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)


def _drop_entries_beyond(content: bytes, keep: int) -> bytes:
    """The document without its entries after the `keep`-th (what follows the last entry is kept, so the cut
    document stays well-formed). feedparser reads every entry: 50,000 of them took 8 s to keep 200."""
    cut = last = None
    for count, match in enumerate(_ENTRY_END.finditer(content), 1):
        if count == keep:
            cut = match.end()
        last = match.end()
    if cut is None or cut == last:
        return content
    return content[:cut] + content[last:]


def _bozo_reason(doc) -> str | None:
    exc = doc.get("bozo_exception")
    if not doc.get("bozo") or exc is None:
        return None
    if isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        return None  # read fine with another encoding or content type: nothing was lost
    if isinstance(exc, SAXException):
        return f"malformed XML: {_one_line(exc)}"[:200]
    return f"{type(exc).__name__}: {_one_line(exc)}"[:200]


def _not_a_feed_reason(content: bytes, bozo: str | None) -> str:
    stripped = content.strip()
    if not stripped:
        return "empty body"
    lowered = stripped[:2000].lower()
    if b"<html" in lowered or b"<!doctype html" in lowered:
        title = re.search(rb"<title[^>]*>(.*?)</title", stripped[:20000], re.IGNORECASE | re.DOTALL)
        name = clean_text(title.group(1).decode("utf-8", "replace"), 80) if title else ""
        return f"an HTML page{': ' + repr(name) if name else ''}"
    return bozo or "no RSS, Atom or JSON Feed element found"


def _one_line(exc: BaseException) -> str:
    return clean_text(str(exc), 160) or type(exc).__name__


def _entries(candidates, max_entries: int) -> tuple[Entry, ...]:
    out: list[Entry] = []
    seen: set[str] = set()
    for entry in candidates:
        if len(out) >= max_entries:
            break
        if entry is None or entry.guid in seen:
            continue
        seen.add(entry.guid)
        out.append(entry)
    return tuple(out)


def _rss_atom_entry(e, feed_url: str, now: datetime) -> Entry | None:
    raw_id = (e.get("id") or "").strip()
    link = absolute_url(feed_url, e.get("link"))
    if link is None:
        link = absolute_url(feed_url, raw_id) if is_http_url(raw_id) else None
    if link is None:
        return None
    summary = e.get("summary") or ""
    if not summary and e.get("content"):
        summary = e["content"][0].get("value") or ""
    published, has_time = _entry_date(e, now)
    source = e.get("source")
    source_name = plain_text(source.get("title"), 200) if isinstance(source, dict) else ""
    source_url = absolute_url(feed_url, source.get("href")) if isinstance(source, dict) else None
    if not source_name:  # Bing News names the outlet in its own element
        source_name = plain_text(e.get("news_source") if isinstance(e.get("news_source"), str) else "", 200)
    return Entry(
        link=link,
        guid=clean_text(raw_id, GUID_MAX) or link,
        title=plain_text(e.get("title"), TITLE_MAX),
        summary=plain_text(summary, SUMMARY_MAX),
        author=plain_text(e.get("author"), 200) or None,
        published=published,
        published_has_time=has_time,
        source=source_name or None,
        source_url=source_url,
    )


def _ttl(info) -> int | None:
    seconds = None
    ttl = _int(info.get("ttl"))
    if ttl is not None and ttl > 0:
        seconds = ttl * 60
    else:
        period = _SY_PERIOD.get(str(info.get("sy_updateperiod", "")).strip().lower())
        frequency = _int(info.get("sy_updatefrequency"))
        if period:
            seconds = period // frequency if frequency and frequency > 0 else period
    return min(seconds, TTL_MAX) if seconds else None


def _int(value) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# --- JSON Feed ---------------------------------------------------------------------------------


def _parse_json_feed(content: bytes, *, url: str, now: datetime, max_entries: int) -> ParsedFeed:
    try:
        doc = json.loads(content.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"{url}: not a feed (invalid JSON: {_one_line(exc)})") from exc
    if not isinstance(doc, dict) or not _JSONFEED.match(str(doc.get("version", "")).strip()):
        raise ParseError(f"{url}: not a feed (JSON without a jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(f"{url}: not a feed (JSON Feed without an items list)")
    home = doc.get("home_page_url")
    return ParsedFeed(
        title=plain_text(_str(doc.get("title")), TITLE_MAX) or None,
        link=absolute_url(url, _str(home)),
        entries=_entries((_json_entry(i, url, now) for i in items if isinstance(i, dict)), max_entries),
        ttl=None,
    )


def _str(value) -> str | None:
    return value if isinstance(value, str) else None


def _json_entry(item: dict, feed_url: str, now: datetime) -> Entry | None:
    link = absolute_url(feed_url, _str(item.get("url"))) or absolute_url(feed_url, _str(item.get("external_url")))
    raw_id = item.get("id")
    raw_id = str(raw_id).strip() if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else ""
    if link is None and is_http_url(raw_id):
        link = raw_id
    if link is None:
        return None
    summary = _str(item.get("summary")) or _str(item.get("content_text")) or _str(item.get("content_html")) or ""
    published, has_time = _iso_date(item.get("date_published"), now)
    if published is None:
        published, has_time = _iso_date(item.get("date_modified"), now)
    listed = item.get("authors")
    authors = listed if isinstance(listed, list) else [item.get("author")]
    names = [plain_text(_str(a.get("name")), 100) for a in authors if isinstance(a, dict)]
    return Entry(
        link=link,
        guid=clean_text(raw_id, GUID_MAX) or link,
        title=plain_text(_str(item.get("title")), TITLE_MAX),
        summary=plain_text(summary, SUMMARY_MAX),
        author=clean_text(", ".join(n for n in names if n), 200) or None,
        published=published,
        published_has_time=has_time,
    )
