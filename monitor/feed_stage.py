"""The feed stage: which feeds are due, fetching them (sending back the stored validators), parsing each body
in worker processes as soon as it arrives while the others are still being fetched, and storing each feed's
new entries (folding.entry_record decides what an entry stores) or its failure, one transaction per feed.

The fetcher (httpx), the parser (feedparser) and the workers are imported only once a feed is due: an
hourly run with nothing due never loads them.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from . import scheduling
from .config import Config
from .errors import FetchError, ParseError
from .logs import file_event
from .models import Feed, ParsedFeed, Report, Retry
from .run_summary import RunSummary
from .store import Store, iso
from .text import clean_text

if TYPE_CHECKING:
    from .feed_parser import FeedParser
    from .fetch import Response

log = logging.getLogger("monitor.ingest")  # the name operators' log filters know

FEED_MAX_BYTES = 10_000_000  # decoded size cap of a feed body
FEED_PARSE_TIMEOUT = 10.0  # seconds one feed's parse may run before its worker is killed (a 12 KB feed takes ~8 ms)
# All due feeds are fetched at once; per-host limits still apply. 1,000 feeds on a server answering in 200 ms
# need more than 100 connections to finish in under 2 s (the floor is requests / connections x 0.2 s).
FEED_CONNECTIONS = 256


def due_feeds(store: Store, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
    """The configured feeds whose next visit has come (scheduling.due_feeds); each other one is logged."""
    schedule = store.feed_schedule()
    due = scheduling.due_feeds(feeds, schedule, now)
    chosen = {f.url for f in due}
    for f in feeds:
        if f.url not in chosen:
            file_event(log, logging.INFO, "feed not due", url=f.url, next_due=iso(schedule.get(f.url)))
    return due


@dataclass(frozen=True)
class FeedResult:
    """One fetched feed: the Response (200 or 304) and, for a 2xx, what its body parsed into."""

    response: Response
    parsed: ParsedFeed | ParseError | None = None  # None for a 304


async def fetch_feeds(config: Config, feeds: Sequence[Feed], store: Store, deadline: float, report: Report | None, *,
                      now: datetime, workers: int | None = None) -> list[tuple[Feed, FeedResult | FetchError]]:
    """Fetch every feed in `feeds` (sending back the stored validators) and parse each body as it arrives."""
    return await fetch_and_parse(config, feeds, store.feed_validators(), deadline, report, now=now, workers=workers)


async def fetch_and_parse(config: Config, feeds: Sequence[Feed], validators: dict[str, tuple[str | None, str | None]],
                          deadline: float, report: Report | None = None, *, now: datetime,
                          workers: int | None = None, parser: FeedParser | None = None) -> list[tuple[Feed, FeedResult | FetchError]]:
    """(feed, FeedResult or FetchError) for each feed the `deadline` (time.monotonic()) did not cut off.

    Each 2xx body is parsed as soon as it arrives, in `workers` processes (None: one per core) with
    FEED_PARSE_TIMEOUT each, while the other feeds are still being fetched; `workers=0` parses in this
    process, with no time limit (tests, tiny runs). A parse that fails is a ParseError in the result.
    No feed: no worker is started. A `parser` already started (a worker's, kept between its jobs) is used as it is.
    """
    if not feeds:
        return []
    from .batch_fetch import fetch_all
    from .feed_parser import FeedParser

    requests = {}
    for feed in feeds:
        etag, modified = validators.get(feed.url, (None, None))
        requests[feed.url] = (feed.url, {"etag": etag, "last_modified": modified, "max_bytes": FEED_MAX_BYTES})
    progress = (lambda n: report("feeds", n, len(feeds))) if report else (lambda n: None)
    started = parser or FeedParser(workers=workers, timeout=FEED_PARSE_TIMEOUT, now=now, max_entries=config.max_entries_per_feed)
    with started if parser is None else contextlib.nullcontext(started):

        async def parse(url: str, response: Response) -> FeedResult:
            if response.status == 304:
                return FeedResult(response)
            return FeedResult(response, await started.parse(response.content, url=url, now=now))

        done = await fetch_all(config, requests, deadline, progress, then=parse, max_connections=FEED_CONNECTIONS)
    # in the order asked, not as they arrived: what is stored first (an article's first address, its id) must not
    # depend on which server answered first
    return [(feed, done[feed.url]) for feed in feeds if feed.url in done]


def store_feed_result(store: Store, feed: Feed, outcome: FeedResult | FetchError, now: datetime, summary: RunSummary) -> None:
    """Record one feed's fetch and parse: its new entries and validators, or its failure."""
    if isinstance(outcome, FetchError):
        return _record_failure(store, feed, str(outcome), now, summary, retry_after=outcome.retry_after)
    response, parsed = outcome.response, outcome.parsed
    interval = max(feed.interval, response.max_age or 0)
    if response.status == 304:
        summary.feeds_not_modified += 1
        file_event(log, logging.INFO, "feed not modified", url=feed.url)
        store.record_feed_not_modified(feed.url, now=now, next_due=now + timedelta(seconds=interval))
        return
    if not isinstance(parsed, ParsedFeed):
        error = parsed or ParseError(f"{feed.url}: not parsed")
        return _record_failure(store, feed, str(error), now, summary)
    interval = max(interval, parsed.ttl or 0)
    file_event(log, logging.INFO, "feed fetched", url=feed.url, status=response.status, entries=len(parsed.entries),
               partly=parsed.bozo)
    if parsed.bozo:
        summary.problem("feed partly read", url=feed.url, error=parsed.bozo)
    try:
        new = store.record_feed_ok(
            feed, _entry_records(store, feed, parsed), title=parsed.title, etag=response.etag,
            last_modified=response.last_modified, now=now, next_due=now + timedelta(seconds=interval),
            problem=f"partly read: {parsed.bozo}" if parsed.bozo else None,  # shown as "read partly" on its outlet page
        )
    except (UnicodeError, ValueError, TypeError, OverflowError) as exc:  # rolled back: nothing half-stored
        _record_failure(store, feed, f"{feed.url}: cannot store its entries ({type(exc).__name__}: "
                        f"{clean_text(str(exc), 160)})", now, summary)
        return
    summary.feeds_fetched += 1
    summary.new_articles += new


def _entry_records(store: Store, feed: Feed, parsed: ParsedFeed) -> list:
    from .folding import entry_record

    resolved = store.resolved_links([e.link for e in parsed.entries]) if feed.aggregator else {}
    records = (entry_record(feed, e, feed_title=parsed.title, resolved=resolved.get(e.link)) for e in parsed.entries)
    return [r for r in records if r is not None]


def _record_failure(store: Store, feed: Feed, error: str, now: datetime, summary: RunSummary, *,
                    retry_after: float | None = None) -> None:

    summary.feeds_failed += 1
    summary.problem("feed failed", url=feed.url, error=error.removeprefix(feed.url + ": "))
    failures = store.feed_failures(feed.url) + 1
    delay = max(scheduling.backoff_delay(failures, base=min(feed.interval, 1800)), retry_after or 0)
    store.record_feed_failure(feed.url, Retry(attempts=failures, error=error, at=now + timedelta(seconds=delay)), now=now)
