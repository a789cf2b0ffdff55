"""Article page HTML -> Extracted: the article's text and metadata, via trafilatura.

`extract_page` is pure. `Extractor` runs it in a pebble process pool (fork) whose tasks are killed
when they run past a time limit: some pages make trafilatura run for minutes (a 4 MB page of
300,000 spans took 23 s; nested tables longer). The pool stays alive across pages; a killed
worker is replaced and the pool goes on.

The page is parsed once (lxml, through trafilatura's loader). trafilatura extracts the text from
its own copy of that tree with its metadata pass off; title, author, site name and image then come
from trafilatura's own metadata steps run on the tree (see `_metadata`), minus the steps whose
fields are never read, and only for pages that have an article. trafilatura gives
the date as a bare day; the page's own metadata (article:published_time, itemprop datePublished,
JSON-LD datePublished) often has the time of day, read here with lxml; htmldate's search through
the page runs only when those say nothing.
"""

from __future__ import annotations

import json
import queue
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import TypeVar

import lxml.etree
import trafilatura
from htmldate import find_date
from pebble import ProcessExpired
from trafilatura.metadata import (  # trafilatura's own metadata steps (2.x); named here so a rename fails at import
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document, set_date_params
from trafilatura.utils import load_html

from . import workers
from .dates import parse_datetime
from .errors import ExtractError
from .models import Extracted
from .text import clean_text
from .urls import absolute_url
from .workers import WorkerPool

MAX_BYTES = 5_000_000  # a page's size cap: the page stage fetches no more (decoded), and parsing reads no more
MIN_TEXT = 150  # characters: less than this is a teaser, a login wall or an index page, not an article
TEXT_MAX = 200_000
MAX_LINKS = 100  # outbound links kept per article
IN_FLIGHT_PER_WORKER = 4  # pages handed to the pool ahead of the results, per worker
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100
_HAS_TIME = re.compile(r"\d[T ]\d{1,2}:\d\d|^\d{1,2}:\d\d")
# Every element the page-metadata reads below look at, found in one walk over the tree (the reads
# used to walk it once per XPath). Each read then keeps the order its own XPaths gave.
_META_NODES = lxml.etree.XPath(
    "//meta | //link[@rel] | //script[@type='application/ld+json'] | //*[@itemprop='datePublished']")
# (rule, attribute): in this order of preference, as the XPaths //meta[@property='article:published_time']/@content,
# //meta[@itemprop='datePublished']/@content, //*[@itemprop='datePublished']/@content|@datetime, ...
_DATE_RULES = (
    (lambda el: el.tag == "meta" and el.get("property") == "article:published_time", "content"),
    (lambda el: el.tag == "meta" and el.get("itemprop") == "datePublished", "content"),
    (lambda el: el.get("itemprop") == "datePublished", "content"),
    (lambda el: el.get("itemprop") == "datePublished", "datetime"),
    (lambda el: el.tag == "meta" and el.get("name") == "article:published_time", "content"),
    (lambda el: el.tag == "meta" and el.get("property") == "og:published_time", "content"),
    (lambda el: el.tag == "meta" and el.get("name") == "pubdate", "content"),
)
_XML_SPACE = re.compile(r"[ \t\r\n]+")  # what XPath's normalize-space() splits on
_RELAXED_CANONICAL = str.maketrans("CANONIL", "canonil")  # rel="Canonical" too, as browsers read it

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"GIF87a", "a GIF image"), (b"GIF89a", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"), (b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b\x08", "gzip data"), (b"OggS", "Ogg media"), (b"ID3", "an MP3 file"),
)
BINARY_STRAYS = 4
_BINARY_BYTE = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
K = TypeVar("K")


def extract_page(html: bytes, *, url: str) -> Extracted:
    """The article in a page fetched from `url`. Raises ExtractError when there is no article text."""
    if not html or not html.strip():
        raise ExtractError(f"{url}: empty page")
    binary = sniff_binary(html)
    if binary:
        raise ExtractError(f"{url}: not HTML ({binary})")
    tree = load_html(bytes(html[:MAX_BYTES]))
    if tree is None:
        raise ExtractError(f"{url}: not HTML")
    try:  # trafilatura works on its own copy of `tree`: the reads below see the page as served
        doc = trafilatura.bare_extraction(
            tree, url=url, with_metadata=False, output_format="xml", include_comments=False, include_tables=True,
            include_images=False, include_links=True, deduplicate=False,
        )
    except (ValueError, TypeError, lxml.etree.LxmlError, RecursionError) as exc:
        raise ExtractError(f"{url}: extraction failed ({type(exc).__name__}: {clean_text(str(exc), 120)})") from exc
    body = getattr(doc, "body", None)  # a trafilatura Document (None when it found nothing)
    paragraphs = _paragraphs(body) if body is not None else []
    if sum(len(p) + 2 for p in paragraphs) < MIN_TEXT:  # before the metadata reads: an index page costs no more
        raise ExtractError(f"{url}: no article text found")
    nodes = _META_NODES(tree)
    published, has_time = _page_timestamp(nodes)
    try:
        meta = _metadata(tree, url, with_date=published is None)
    except (ValueError, TypeError, lxml.etree.LxmlError, RecursionError) as exc:
        raise ExtractError(f"{url}: metadata extraction failed ({type(exc).__name__}: {clean_text(str(exc), 120)})") from exc
    text = "\n\n".join(_drop_heading(paragraphs, clean_text(meta.title) if meta.title else ""))
    if len(text) < MIN_TEXT:
        raise ExtractError(f"{url}: no article text found")
    if published is None and meta.date:
        published, has_time = _parse_date(meta.date)
    links = _links(body, url)
    return Extracted(
        text=text[:TEXT_MAX],
        title=clean_text(meta.title, 500) or None,
        author=clean_text(meta.author, 200) or None,
        published=published,
        published_has_time=has_time if published else False,
        site_name=clean_text(meta.sitename, 200) or None,
        image=absolute_url(url, meta.image),
        language=_language(tree, nodes),
        canonical_url=_canonical(nodes, url),
        links=tuple(links), link_texts=tuple(links.values()),
    )


def _links(body, url: str) -> dict[str, str]:
    """The article body's outbound http(s) links (trafilatura's <ref target>), absolute, first anchor text each."""
    found: dict[str, str] = {}
    for ref in body.iter("ref"):
        target = absolute_url(url, ref.get("target"))
        if target and target.split("#", 1)[0] != url.split("#", 1)[0] and target not in found and len(found) < MAX_LINKS:
            found[target] = clean_text("".join(ref.itertext()), 200)
    return found


def sniff_binary(body: bytes) -> str | None:
    """What a body is when it is plainly not text ("a PNG image", "binary data"), whatever its Content-Type
    said; None for text. Known signatures first, then the WHATWG rule: bytes no text file holds (NUL and
    the controls other than tab, line feed, form feed, carriage return and escape) in the first 1,024
    bytes (a few strays are forgiven: broken pages have them). A body with a UTF-16 byte-order mark is text."""
    head = bytes(body[:1024])
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    return "binary data" if len(_BINARY_BYTE.findall(head)) > BINARY_STRAYS else None


def _metadata(tree, url: str, *, with_date: bool) -> Document:
    """Title, author, site name, image (and the day, when asked) as `trafilatura.extract_metadata` finds
    them, step for step, without the steps whose fields nobody reads: categories, tags, licence, and
    htmldate's date search when the page's own metadata already gave the timestamp. On the benchmark
    pages the whole pass cost more than the text extraction; the steps left out were about a fifth of it."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # trafilatura guards its own JSON-LD reader the same way
        pass
    if not meta.title:
        meta.title = extract_title(tree)
    if not meta.author:
        meta.author = extract_author(tree)
    if not meta.url:
        meta.url = extract_url(tree, url)
    if with_date:
        # as trafilatura calls htmldate by default (extensive search, no date after today)
        meta.date = find_date(tree, **{**set_date_params(True), "url": meta.url})
    if not meta.sitename:
        meta.sitename = extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    elif meta.url and (host := META_URL.match(meta.url)):
        meta.sitename = host[1]
    meta.clean_and_trim()
    return meta


def _paragraphs(body) -> list[str]:
    """Paragraphs of trafilatura's output tree: lists as "- " lines, tables as "a | b" rows."""
    paragraphs: list[str] = []
    for el in body:
        if el.tag == "list":
            lines = [clean_text("".join(item.itertext())) for item in el.iter("item")]
            block = "\n".join(f"- {line}" for line in lines if line)
        elif el.tag == "table":
            rows = [" | ".join(clean_text("".join(c.itertext())) for c in row.iter("cell")) for row in el.iter("row")]
            block = "\n".join(r for r in rows if r.strip(" |"))
        else:
            block = clean_text("".join(el.itertext()))
        if block:
            paragraphs.append(block)
    return paragraphs


def _drop_heading(paragraphs: list[str], title: str) -> list[str]:
    """Without the page's headline and the short kicker lines above it ("AI", "POLICY"): they are not the
    article's text, and would otherwise open every summary and quote."""
    if not title:
        return paragraphs
    wanted = _comparable(title)
    for i, block in enumerate(paragraphs[:4]):
        # a block over twice the title's length (plus slack for punctuation) is a paragraph, not the headline
        if len(block) <= 2 * len(title) + 20 and _comparable(block) == wanted:
            if all(len(p.split()) <= 5 for p in paragraphs[:i]):
                return paragraphs[i + 1:]
            break
    return paragraphs


def _comparable(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def _page_timestamp(nodes: list) -> tuple[datetime | None, bool]:
    """The first publication date the page states in its metadata, preferring one with a time of day."""
    found = []
    for position, el in enumerate(nodes):
        for rule, (applies, attribute) in enumerate(_DATE_RULES):
            if (value := el.get(attribute)) is not None and applies(el):
                found.append((rule, position, value))
    candidates = [value for _, _, value in sorted(found)]
    for el in nodes:
        if el.tag == "script" and el.text and el.get("type") == "application/ld+json":
            candidates.extend(_jsonld_dates(el.text))
    first_bare: tuple[datetime | None, bool] = (None, False)
    for raw in candidates:
        when, has_time = _parse_date(raw)
        if when is None:
            continue
        if has_time:
            return when, True
        if first_bare[0] is None:
            first_bare = (when, False)
    return first_bare


def _jsonld_dates(script: str) -> list[str]:
    try:
        data = json.loads(script)
    except (ValueError, RecursionError):
        return []
    out: list[str] = []
    stack, seen = [data], 0
    while stack and seen < 1000:
        node = stack.pop()
        seen += 1
        if isinstance(node, dict):
            value = node.get("datePublished")
            if isinstance(value, str):
                out.append(value)
            stack.extend(v for k, v in node.items() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return out


def _parse_date(raw: str) -> tuple[datetime | None, bool]:
    when = parse_datetime(raw)
    if when is None or not EARLIEST_YEAR <= when.year <= LATEST_YEAR:
        return None, False
    return when, bool(_HAS_TIME.search(raw))


def _canonical(nodes: list, url: str) -> str | None:
    """The first <link rel=canonical> that resolves to an http(s) URL, else the first such og:url."""
    links = [el.get("href") for el in nodes if el.tag == "link" and el.get("href") is not None
             and " canonical " in f" {_XML_SPACE.sub(' ', el.get('rel').translate(_RELAXED_CANONICAL)).strip(' ')} "]
    og = [el.get("content") for el in nodes if el.tag == "meta" and el.get("property") == "og:url" and el.get("content") is not None]
    for href in links + og:
        resolved = absolute_url(url, href)
        if resolved:
            return resolved
    return None


def _language(tree, nodes: list) -> str | None:
    """<html lang>, else the first content-language or og:locale meta, as a bare two- or three-letter code."""
    root = tree.getroottree().getroot()
    raw = [root.get("lang")] if root.tag == "html" and root.get("lang") is not None else []
    raw += [el.get("content") for el in nodes if el.tag == "meta" and el.get("content") is not None
            and (el.get("http-equiv") == "content-language" or el.get("property") == "og:locale")]
    for value in raw:
        code = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
        if re.fullmatch(r"[a-z]{2,3}", code):
            return code
    return None


def _extract_task(html: bytes, url: str) -> Extracted:
    return extract_page(html, url=url)


class Extractor(WorkerPool):
    """Extract many pages in worker processes, each page with a time limit.

    ``with Extractor(workers=2, timeout=20) as ex: for key, result in ex.extract_many(pages): ...``
    `workers=0` extracts in this process (no time limit); None means one worker per core.
    """

    def __init__(self, *, workers: int | None = None, timeout: float = 20.0):
        super().__init__(workers=workers, timeout=timeout)

    def extract_many(self, pages: Iterable[tuple[K, bytes, str]]) -> Iterator[tuple[K, Extracted | ExtractError]]:
        """(key, html, url) in; (key, Extracted or ExtractError) out for every key, in completion order."""
        if self._pool is None:
            if self.workers > 0:
                raise RuntimeError("use Extractor as a context manager")
            for key, html, url in pages:
                yield key, _run_here(html, url)
            return
        # A few tasks per worker in flight, refilled as results come back: pebble's bookkeeping and the
        # pages waiting in its queue stay small, and one queue fed by done-callbacks replaces a
        # wait(FIRST_COMPLETED) over every pending future (quadratic in the batch size).
        finished: queue.SimpleQueue = queue.SimpleQueue()
        running: dict = {}
        todo = iter(pages)

        pool = self._pool

        def schedule_next() -> None:
            for key, html, url in todo:
                future = pool.schedule(_extract_task, args=(bytes(html[:MAX_BYTES]), url), timeout=self.timeout)
                running[future] = (key, url)
                future.add_done_callback(finished.put)
                return

        try:
            for _ in range(IN_FLIGHT_PER_WORKER * self.workers):
                schedule_next()
            while running:
                future = finished.get()
                key, url = running.pop(future)
                schedule_next()
                yield key, self._outcome(future, url)
        finally:  # the caller stopped early: drop what has not started
            for future in running:
                future.cancel()

    def _outcome(self, future, url: str) -> Extracted | ExtractError:
        try:
            return future.result()
        except ExtractError as exc:
            return exc
        except FutureTimeout:
            return ExtractError(f"{url}: extraction timed out after {self.timeout:g} s")
        except ProcessExpired as exc:
            return ExtractError(f"{url}: extraction worker died (exit code {exc.exitcode})")
        except MemoryError:
            return ExtractError(f"{url}: extraction ran out of memory (a worker may grow by {workers.WORKER_MEMORY >> 20} MB)")
        except CancelledError:
            return ExtractError(f"{url}: extraction cancelled")
        except Exception as exc:  # a bug in trafilatura on a hostile page must not stop the run
            return ExtractError(f"{url}: extraction failed ({type(exc).__name__}: {clean_text(str(exc), 120)})")


def _run_here(html: bytes, url: str) -> Extracted | ExtractError:
    try:
        return extract_page(html, url=url)
    except ExtractError as exc:
        return exc
    except Exception as exc:  # same rule as in the pool
        return ExtractError(f"{url}: extraction failed ({type(exc).__name__}: {clean_text(str(exc), 120)})")
