"""Ingest: due feeds are fetched and parsed, their entries stored as articles, and each new article's
page fetched and extracted. Each feed body is parsed (in worker processes) as soon as it arrives,
while the other feeds are still being fetched. Every feed's entries and every batch of pages are
written in their own transaction; what a run does not finish (a page that failed, the time budget)
waits for the next. An aggregator's item (news search) is stored under its real URL when the link says it
(Bing) or a resolution was cached; otherwise it waits headline-only under the aggregator link, queued for
`links.resolve_links`, and its page is not fetched until then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from pebble import ProcessExpired

from .config import Config
from .aggregators import bing_target, needs_request, strip_outlet_suffix
from .errors import ExtractError, FetchError, ParseError
from .extract import MAX_BYTES as EXTRACT_MAX_BYTES, Extractor
from .feeds import clamp_date, clean_text, parse_feed
from .fetch import MAX_HINT, Fetcher, Response, backoff_delay
from .logs import event, file_event
from .models import Entry, Extracted, Feed, ParsedFeed
from .run_summary import RunSummary
from .scheduling import HostGuard, fair_order, request_host
from .store import Store, iso, parse_iso
from .urls import canonical_url, host_of, registrable_domain
from .workers import WorkerPool

log = logging.getLogger("monitor.ingest")

MAX_PAGE_ATTEMPTS = 6  # then the entry keeps its feed title and summary for good
PAGE_BATCH = 100
PENDING_SCAN = 5  # pending pages read per run, in multiples of max_articles_per_run, before they are put in fair order
PAGE_MAX_BYTES = EXTRACT_MAX_BYTES  # one page size cap: what extraction reads is what is fetched
PAGE_RETRY_MAX = 86400  # seconds: the longest wait before a failed page is tried again
# Per-request and per-page bounds. Module constants rather than feeds.yaml keys: operators never need them,
# tests make them small (monkeypatch) to check that a hostile server or page ends in a stored error.
FETCH_DEADLINE = 60.0  # seconds one request may take in all (httpx alone counts only idle time)
FEED_MAX_BYTES = 10_000_000  # decoded size cap of a feed body
EXTRACT_TIMEOUT = 20.0  # seconds one page's extraction may run before its worker is killed
FEED_PARSE_TIMEOUT = 10.0  # seconds one feed's parse may run before its worker is killed (a 12 KB feed takes ~8 ms)
# All due feeds are fetched at once; per-host limits still apply. 1,000 feeds on a server answering in 200 ms
# need more than 100 connections to finish in under 2 s (the floor is requests / connections x 0.2 s).
FEED_CONNECTIONS = 256

Clock = Callable[[], datetime]
Report = Callable[[str, int, int], None]  # (stage, done, total) for a progress display


def sync_feeds(store: Store, feeds: Sequence[Feed]) -> None:
    with store.transaction() as db:
        for feed in feeds:
            fallback = feed.name or urlsplit(feed.url).hostname or feed.url
            db.execute(
                "INSERT INTO feeds(url, name) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET "
                "name = CASE WHEN ? IS NOT NULL THEN ? ELSE coalesce(feeds.title, feeds.name) END",
                (feed.url, fallback, feed.name, feed.name),
            )


def due_feeds(store: Store, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
    """The feeds whose next visit has come. A next visit further ahead than any wait this module sets (the
    feed's interval, or a server's hint or a back-off, both capped at MAX_HINT) was set by a clock that was
    wrong (jumped forward, then back): the feed is due, or it would not be polled until that date."""
    due_at = {r["url"]: parse_iso(r["next_due"]) for r in store.rows("SELECT url, next_due FROM feeds")}
    due = [f for f in feeds if due_at.get(f.url) is None or due_at[f.url] <= now
           or due_at[f.url] > now + timedelta(seconds=max(f.interval, MAX_HINT) + 60)]
    chosen = {f.url for f in due}
    for f in feeds:
        if f.url not in chosen:
            file_event(log, logging.INFO, "feed not due", url=f.url, next_due=iso(due_at[f.url]))
    return due


@dataclass(frozen=True)
class FeedResult:
    """One fetched feed: the Response (200 or 304) and, for a 2xx, what its body parsed into."""

    response: Response
    parsed: ParsedFeed | ParseError | None = None  # None for a 304


async def fetch_feeds(config: Config, feeds: Sequence[Feed], store: Store, deadline: float, report: Report | None, *,
                      now: datetime, workers: int | None = None) -> list[tuple[Feed, FeedResult | FetchError]]:
    """Fetch every feed in `feeds` (sending back the stored validators) and parse each body as it arrives."""
    validators = {r["url"]: (r["etag"], r["last_modified"]) for r in store.rows("SELECT url, etag, last_modified FROM feeds")}
    return await fetch_and_parse(config, feeds, validators, deadline, report, now=now, workers=workers)


async def fetch_and_parse(config: Config, feeds: Sequence[Feed], validators: dict[str, tuple[str | None, str | None]],
                          deadline: float, report: Report | None = None, *, now: datetime,
                          workers: int | None = None) -> list[tuple[Feed, FeedResult | FetchError]]:
    """(feed, FeedResult or FetchError) for each feed the `deadline` (time.monotonic()) did not cut off.

    Each 2xx body is parsed as soon as it arrives, in `workers` processes (None: one per core) with
    FEED_PARSE_TIMEOUT each, while the other feeds are still being fetched; `workers=0` parses in this
    process, with no time limit (tests, tiny runs). A parse that fails is a ParseError in the result.
    """
    requests = {}
    for feed in feeds:
        etag, modified = validators.get(feed.url, (None, None))
        requests[feed.url] = (feed.url, {"etag": etag, "last_modified": modified, "max_bytes": FEED_MAX_BYTES})
    progress = (lambda n: report("feeds", n, len(feeds))) if report else (lambda n: None)
    with FeedParser(workers=workers, timeout=FEED_PARSE_TIMEOUT, now=now,
                    max_entries=config.max_entries_per_feed) as parser:

        async def parse(url: str, response: Response) -> FeedResult:
            if response.status == 304:
                return FeedResult(response)
            return FeedResult(response, await parser.parse(response.content, url=url))

        done = await _fetch_all(config, requests, deadline, progress, then=parse, max_connections=FEED_CONNECTIONS)
    by_url = {f.url: f for f in feeds}
    return [(by_url[url], outcome) for url, outcome in done.items()]


async def _fetch_all(config: Config, requests: dict, deadline: float, progress: Callable[[int], object] = lambda n: None,
                     *, then: Callable[[object, Response], Awaitable[object]] | None = None,
                     max_connections: int = 100, guard: HostGuard | None = None) -> dict:
    """key -> Response (or what `then(key, response)` made of it) or FetchError for each `key: (url, get() options)`;
    what the deadline cuts off, and what `guard` stops, is left out."""
    out: dict = {}
    slots: dict[str, asyncio.Semaphore] = {}
    async with Fetcher(allow_private_networks=config.allow_private_networks, per_host=config.per_host_connections,
                       max_connections=max_connections, deadline=FETCH_DEADLINE) as fetcher:

        async def guarded(url: str, options: dict):
            host = request_host(url)
            async with slots.setdefault(host, asyncio.Semaphore(config.per_host_connections)):
                if not guard.allows(host):
                    return None
                started = time.monotonic()
                try:
                    result = await fetcher.get(url, **options)
                except FetchError as exc:
                    guard.record(host, time.monotonic() - started, exc)
                    raise
                guard.record(host, time.monotonic() - started, None)
                return result

        async def one(key, url: str, options: dict) -> None:
            try:
                result = await (fetcher.get(url, **options) if guard is None else guarded(url, options))
            except FetchError as exc:
                result = exc
            if result is None:  # stopped by the guard: left for the next run
                return
            if then is not None and not isinstance(result, FetchError):
                result = await then(key, result)
            out[key] = result
            progress(len(out))

        tasks = [asyncio.create_task(one(key, url, options)) for key, (url, options) in requests.items()]
        if not tasks:
            return out
        done, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # a fetch fails as a FetchError; anything else is a bug (or a changed httpx) and must stop the run loudly,
        # not pass for "time budget reached"
        errors = [task.exception() for task in tasks if task in done and not task.cancelled()]  # each one read
        for error in errors:
            if error is not None:
                raise error
    return out


def store_feed_result(store: Store, config: Config, feed: Feed, outcome: FeedResult | FetchError, now: datetime, summary: RunSummary) -> None:
    """Record one feed's fetch and parse: its new entries and validators, or its failure."""
    if isinstance(outcome, FetchError):
        return _record_feed_failure(store, feed, str(outcome), now, summary, retry_after=outcome.retry_after)
    response, parsed = outcome.response, outcome.parsed
    interval = max(feed.interval, response.max_age or 0)
    if response.status == 304:
        summary.feeds_not_modified += 1
        file_event(log, logging.INFO, "feed not modified", url=feed.url)
        with store.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, last_success = ?, failures = 0, last_error = NULL, next_due = ? WHERE url = ?",
                (iso(now), iso(now), iso(now + timedelta(seconds=interval)), feed.url),
            )
        return
    if not isinstance(parsed, ParsedFeed):
        error = parsed or ParseError(f"{feed.url}: not parsed")
        return _record_feed_failure(store, feed, str(error), now, summary)
    interval = max(interval, parsed.ttl or 0)
    file_event(log, logging.INFO, "feed fetched", url=feed.url, status=response.status, entries=len(parsed.entries),
               partly=parsed.bozo)
    if parsed.bozo:
        summary.problem("feed partly read", url=feed.url, error=parsed.bozo)
    try:
        _store_parsed(store, feed, response, parsed, now, interval, summary)
    except (UnicodeError, ValueError, TypeError, OverflowError) as exc:  # rolled back: nothing half-stored
        _record_feed_failure(store, feed, f"{feed.url}: cannot store its entries ({type(exc).__name__}: "
                             f"{clean_text(str(exc), 160)})", now, summary)


def _store_parsed(store: Store, feed: Feed, response: Response, parsed: ParsedFeed, now: datetime, interval: int,
                  summary: RunSummary) -> None:
    partly = f"partly read: {parsed.bozo}" if parsed.bozo else None  # shown as "read partly" on its outlet page
    new = 0
    with store.transaction() as db:
        for entry in parsed.entries:
            new += _store_entry(db, feed, entry, parsed.title, now)
        db.execute(
            "UPDATE feeds SET title = ?, name = CASE WHEN ? IS NULL AND ? IS NOT NULL THEN ? ELSE name END, "
            "etag = ?, last_modified = ?, last_fetch = ?, last_success = ?, failures = 0, last_error = ?, "
            "last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END, next_due = ? WHERE url = ?",
            (parsed.title, feed.name, parsed.title, parsed.title, response.etag, response.last_modified,
             iso(now), iso(now), partly, partly, iso(now), iso(now + timedelta(seconds=interval)), feed.url),
        )
    summary.feeds_fetched += 1
    summary.new_articles += new


def _parse_task(content: bytes, url: str, now: datetime, max_entries: int) -> ParsedFeed | ParseError:
    """parse_feed with every failure as a returned ParseError: a plain value crosses the process boundary whole."""
    try:
        return parse_feed(content, url=url, now=now, max_entries=max_entries)
    except ParseError as exc:
        return ParseError(str(exc))  # its message only: the traceback and cause stay in the worker
    except Exception as exc:  # a bug in a parser on hostile bytes must not stop the run
        return ParseError(f"{url}: not a feed ({type(exc).__name__}: {clean_text(str(exc), 120)})")


class FeedParser(WorkerPool):
    """Parse feed bodies in worker processes, each parse with a time limit: `await parser.parse(body, url=url)`.

    ``with FeedParser(workers=2, timeout=10, now=now, max_entries=200) as parser: ...``
    `workers=0` parses in this process (no time limit); None means one worker per core. The workers
    are forked on entering, before the fetcher opens any connection: a worker forked later would hold
    copies of every open socket, keeping connections the fetcher closed open until the pool stops.
    """

    def __init__(self, *, workers: int | None, timeout: float, now: datetime, max_entries: int):
        super().__init__(workers=workers, timeout=timeout)
        self._args = (now, max_entries)

    async def parse(self, content: bytes, *, url: str) -> ParsedFeed | ParseError:
        if self._pool is None:
            if self.workers > 0:
                raise RuntimeError("use FeedParser as a context manager")
            return _parse_task(content, url, *self._args)
        future = self._pool.schedule(_parse_task, args=(content, url, *self._args), timeout=self.timeout)
        try:
            return await asyncio.wrap_future(future)
        except TimeoutError:  # pebble killed the worker; the pool starts another
            return ParseError(f"{url}: parsing timed out after {self.timeout:g} s")
        except ProcessExpired as exc:
            return ParseError(f"{url}: parsing worker died (exit code {exc.exitcode})")
        except Exception as exc:  # the pool itself failed (a result that would not pickle, a broken pool)
            return ParseError(f"{url}: parsing failed ({type(exc).__name__}: {clean_text(str(exc), 120)})")


def _record_feed_failure(store, feed: Feed, error: str, now: datetime, summary: RunSummary, *, retry_after=None) -> None:
    summary.feeds_failed += 1
    summary.problem("feed failed", url=feed.url, error=error.removeprefix(feed.url + ": "))
    with store.transaction() as db:
        failures = db.execute("SELECT failures FROM feeds WHERE url = ?", (feed.url,)).fetchone()[0] + 1
        delay = max(backoff_delay(failures, base=min(feed.interval, 1800)), retry_after or 0)
        db.execute(
            "UPDATE feeds SET last_fetch = ?, last_error = ?, last_error_at = ?, failures = ?, next_due = ? WHERE url = ?",
            (iso(now), error[:500], iso(now), failures, iso(now + timedelta(seconds=delay)), feed.url),
        )


def _store_entry(db, feed: Feed, entry: Entry, feed_title: str | None, now: datetime) -> int:
    """Store one feed entry; returns 1 when it is a new article.

    Who may say what (issue 15, item 3): a plain feed names only itself as the source of what it carries (a
    `<source>` it claims is ignored); an aggregator's item names its outlet by `<source>`. The title is set by
    the first writer of the highest rank: any feed (0) < the outlet's own feed (1) < the page itself (2).
    """
    if db.execute("SELECT 1 FROM entries WHERE feed_url = ? AND guid = ?", (feed.url, entry.guid)).fetchone():
        return 0
    title, link, pending = entry.title, entry.link, False
    if feed.aggregator:
        title = strip_outlet_suffix(title, entry.source)
        link, pending = _aggregator_target(db, feed, entry.link, now)
    try:
        url = canonical_url(link)
    except ValueError:
        return 0
    own = not feed.aggregator and registrable_domain(feed.url) == registrable_domain(url)
    if feed.aggregator:
        source = entry.source or host_of((entry.source_url or "") if pending else url) or feed.name or feed.url
    else:
        source = feed.name or feed_title or urlsplit(feed.url).hostname or feed.url
    row = db.execute("SELECT article_id FROM article_urls WHERE url IN (?, ?, ?)", (url, link, entry.link)).fetchone()
    created = 0
    if row:
        article_id = row[0]
        changed = 0
        if entry.published is not None and entry.published_has_time:  # the earliest report of one address wins
            changed += db.execute("UPDATE articles SET published = ?, published_has_time = 1 WHERE id = ? AND published > ?",
                                  (iso(entry.published), article_id, iso(entry.published))).rowcount
        if own:  # the outlet's own feed outranks whatever another feed said first
            changed += db.execute("UPDATE articles SET title = ?, source = ?, title_rank = 1, scored = 0 "
                                  "WHERE id = ? AND title_rank < 1 AND ? != ''", (title, source, article_id, title)).rowcount
        if changed:
            db.execute("UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM articles WHERE id = ?)", (article_id,))
    else:
        outlet = registrable_domain(entry.source_url or "") if pending else registrable_domain(url)
        cursor = db.execute(
            "INSERT INTO articles(url, feed_url, source, outlet, title, title_rank, summary, author, published, "
            "published_has_time, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, feed.url, source, outlet, title or url, int(own and bool(title)), entry.summary, entry.author,
             iso(entry.published or now), int(entry.published_has_time), iso(now)),
        )
        article_id = cursor.lastrowid
        created = 1
    for alias in dict.fromkeys((url, link, entry.link)):
        db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, article_id))
    if feed.aggregator:
        db.execute("UPDATE aggregator_links SET article_id = ? WHERE link = ? AND article_id IS NULL", (article_id, entry.link))
    db.execute("INSERT INTO entries(feed_url, guid, article_id, first_seen) VALUES (?, ?, ?, ?)", (feed.url, entry.guid, article_id, iso(now)))
    return created


def _aggregator_target(db, feed: Feed, link: str, now: datetime) -> tuple[str, bool]:
    """(the URL to store an aggregator's item under, True while it waits for resolution by request).

    A link resolved before is read from the cache; a Bing link is resolved here (no request); a Google link
    is queued for `resolve_links` and stored under the aggregator link meanwhile, headline-only.
    """
    row = db.execute("SELECT resolved_url FROM aggregator_links WHERE link = ?", (link,)).fetchone()
    if row and row[0]:
        return row[0], False
    target = bing_target(link)
    if target is None and not needs_request(link):
        return link, False  # an aggregator may also link to articles directly
    db.execute("INSERT OR IGNORE INTO aggregator_links(link, feed_url, resolved_url, first_seen) VALUES (?, ?, ?, ?)",
               (link, feed.url, target, iso(now)))
    return (target, False) if target else (link, True)


def fetch_and_extract_pages(store, config, now: Clock, deadline, summary, report, workers) -> list[int]:
    """Fetch and extract pending pages, in batches, fairly: hosts take turns (`fair_order`), a host that
    times out HOST_TIMEOUTS times or uses its share of the time is left for the next run (`HostGuard`)."""
    at = now()
    rows = store.rows(  # a retry time beyond the longest retry delay was set by a clock that jumped: due now
        "SELECT id, url, feed_url FROM articles WHERE extracted = 0 AND attempts < ? "
        "AND (next_attempt IS NULL OR next_attempt <= ? OR next_attempt > ?) "
        # an aggregator's own page is not the article: it waits for resolve_links
        "AND id NOT IN (SELECT article_id FROM aggregator_links WHERE resolved_url IS NULL AND article_id IS NOT NULL) "
        "ORDER BY published DESC LIMIT ?",
        (MAX_PAGE_ATTEMPTS, iso(at), iso(at + timedelta(seconds=PAGE_RETRY_MAX + 60)), PENDING_SCAN * config.max_articles_per_run),
    )
    pending = fair_order(rows)[: config.max_articles_per_run]
    done: list[int] = []
    if not pending:
        return done
    guard = HostGuard(per_host=config.per_host_connections)
    with Extractor(workers=workers, timeout=EXTRACT_TIMEOUT) as extractor:
        for start in range(0, len(pending), PAGE_BATCH):
            if time.monotonic() > deadline:
                summary.unfinished = True
                break
            batch = pending[start:start + PAGE_BATCH]
            guard.rebalance(hosts=len({request_host(r["url"]) for r in pending[start:]}), budget=deadline - time.monotonic())
            requests = {r["id"]: (r["url"], {"max_bytes": PAGE_MAX_BYTES}) for r in batch}
            pages = asyncio.run(_fetch_all(config, requests, deadline, guard=guard))
            if len(pages) < len(batch):  # the time budget or the host guard left some: they stay pending
                summary.unfinished = True
            failures: dict[int, str] = {aid: str(r) for aid, r in pages.items() if isinstance(r, FetchError)}
            fetched = {aid: r for aid, r in pages.items() if isinstance(r, Response)}
            results: dict[int, Extracted] = {}
            items = ((aid, r.content, r.final_url) for aid, r in fetched.items())
            for aid, result in extractor.extract_many(items):
                if isinstance(result, ExtractError):
                    failures[aid] = str(result)
                else:
                    results[aid] = result
            for aid, extracted in results.items():
                kept = _store_extraction(store, aid, extracted, fetched[aid].final_url, now())
                if kept is not None:
                    done.append(kept)
            _record_page_failures(store, failures, now())
            summary.pages_extracted += len(results)
            summary.pages_failed += len(failures)
            if report:
                report("pages", min(start + PAGE_BATCH, len(pending)), len(pending))
    for host in guard.stopped:
        summary.problem("host left for the next run", url=host, error=guard.stopped[host])
    return done


def best_published(feed_dt: datetime, feed_has_time: bool, page_dt: datetime | None, page_has_time: bool) -> tuple[datetime, bool]:
    """The most precise publication time: a time of day beats a bare date; the feed wins a tie."""
    if feed_has_time or page_dt is None:
        return feed_dt, feed_has_time
    if page_has_time:
        return page_dt, True
    return feed_dt, False


def _store_extraction(store: Store, article_id: int, ex: Extracted, final_url: str, fetched_at: datetime) -> int | None:
    """Save what the page said, as read at `fetched_at`. Returns the id kept.

    The page's canonical URL is trusted only on the page's own registrable domain (`trusted_canonical`):
    a page cannot claim another outlet's URL. When it names another stored article of its own site, this
    article is folded into that one (its URLs and entries move over) and the text is not kept: an
    article's text comes from its own URL's page only, so the other article waits for its own fetch."""
    with store.transaction() as db:
        row = db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        aliases = [final_url]  # as fetched (after redirects), and canonical forms below
        canonical = trusted_canonical(ex.canonical_url, final_url)
        if canonical and canonical != row["url"]:
            other = db.execute("SELECT article_id FROM article_urls WHERE url = ?", (canonical,)).fetchone()
            if other and other[0] != article_id:
                fold_article(db, article_id, other[0])
                for alias in _with_canonical(final_url):
                    db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, other[0]))
                return None
            db.execute("UPDATE articles SET url = ? WHERE id = ?", (canonical, article_id))
            aliases.append(canonical)
        aliases += _with_canonical(final_url)
        for alias in dict.fromkeys(aliases):
            db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, article_id))
        page_date, page_has_time = clamp_date(ex.published, ex.published_has_time, fetched_at)
        if page_date != ex.published:
            page_date = None  # a page dated in the future (or before 1990) says nothing: the feed's date stands
        published, has_time = best_published(parse_iso(row["published"]), bool(row["published_has_time"]), page_date, page_has_time)
        # the page is the authority on its own headline (rank 2) and its host is the outlet that served it
        db.execute(
            "UPDATE articles SET text = ?, title = coalesce(nullif(?, ''), nullif(title, url), title), "
            "title_rank = CASE WHEN coalesce(?, '') != '' THEN 2 ELSE title_rank END, author = coalesce(author, ?), "
            "image = ?, language = ?, published = ?, published_has_time = ?, extracted = 1, last_error = NULL, "
            "outlet = ?, scored = 0, signature = NULL, links = ? WHERE id = ?",
            (ex.text, ex.title, ex.title, ex.author, ex.image, ex.language, iso(published), int(has_time),
             registrable_domain(final_url), json.dumps(list(zip(ex.links, ex.link_texts))), article_id),
        )
        db.execute("UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM articles WHERE id = ?)", (article_id,))
    return article_id


def trusted_canonical(canonical: str | None, page_url: str) -> str | None:
    """The canonical form of a page's stated canonical URL when it is on the page's own registrable
    domain, else None."""
    if not canonical:
        return None
    try:
        canonical = canonical_url(canonical)
    except ValueError:
        return None
    return canonical if registrable_domain(canonical) == registrable_domain(page_url) else None


def _with_canonical(url: str) -> list[str]:
    try:
        return [url, canonical_url(url)]
    except ValueError:
        return [url]


def fold_article(db, source_id: int, target_id: int) -> None:
    db.execute("UPDATE OR IGNORE article_urls SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("DELETE FROM article_urls WHERE article_id = ?", (source_id,))
    db.execute("UPDATE entries SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("UPDATE aggregator_links SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", (target_id, source_id))
    story = db.execute("SELECT story_id FROM articles WHERE id = ?", (source_id,)).fetchone()[0]
    db.execute("DELETE FROM articles WHERE id = ?", (source_id,))
    if story is not None:
        db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))


def _record_page_failures(store: Store, failures: dict[int, str], now: datetime) -> None:
    if not failures:
        return
    with store.transaction() as db:
        for aid, error in failures.items():
            attempts = (db.execute("SELECT attempts FROM articles WHERE id = ?", (aid,)).fetchone() or [0])[0] + 1
            delay = backoff_delay(attempts, base=3600, cap=PAGE_RETRY_MAX)
            db.execute(
                "UPDATE articles SET attempts = ?, last_error = ?, next_attempt = ? WHERE id = ?",
                (attempts, error[:500], iso(now + timedelta(seconds=delay)), aid),
            )
            event(log, logging.INFO, "page kept from the feed", article=aid, error=error[:300])
