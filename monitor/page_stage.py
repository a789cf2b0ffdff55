"""The page stage: the pages of new articles are fetched and extracted, in batches, fairly (hosts take turns,
a host that keeps timing out or uses its share of the time waits for the next run), and each page's result
saved: folding.page_record decides which article it is and what it changes, the store writes it. A page
that fails keeps the feed's title and summary and is tried again later, at most MAX_PAGE_ATTEMPTS times.

The fetcher and the extractor (trafilatura, worker processes) are imported only when a page is pending.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from .config import Config
from .errors import ExtractError, FetchError
from .logs import event
from .models import Clock, Extracted, PendingPage, Report, Retry
from .run_summary import RunSummary
from .scheduling import HostGuard, backoff_delay, fair_order, request_host
from .store import Store

if TYPE_CHECKING:
    from .extract import Extractor

log = logging.getLogger("monitor.ingest")  # the name operators' log filters know

MAX_PAGE_ATTEMPTS = 6  # then the entry keeps its feed title and summary for good
PAGE_BATCH = 100
PENDING_SCAN = 5  # pending pages read per run, in multiples of max_articles_per_run, before they are put in fair order
PAGE_RETRY_MAX = 86400  # seconds: the longest wait before a failed page is tried again
EXTRACT_TIMEOUT = 20.0  # seconds one page's extraction may run before its worker is killed


def due_pages(store: Store, config: Config, at: datetime) -> list[PendingPage]:
    """The pages this run fetches: the pending ones in fair order (hosts take turns), at most max_articles_per_run."""
    pending = store.pending_pages(now=at, max_attempts=MAX_PAGE_ATTEMPTS, limit=PENDING_SCAN * config.max_articles_per_run,
                                  stale_after=at + timedelta(seconds=PAGE_RETRY_MAX + 60))
    return fair_order(pending)[: config.max_articles_per_run]


def extract_pages(store: Store, config: Config, pending: Sequence[PendingPage], now: Clock, deadline: float,
                  summary: RunSummary, report: Report | None, workers: int | None, *,
                  extractor: Extractor | None = None) -> None:
    """Fetch and extract these pages, in batches, and save each result (the duplicates stage finds what was
    extracted in the store: `fresh_extractions`). An `extractor` already started (a worker's, kept between its
    jobs) is used as it is."""
    if not pending:
        return
    import asyncio

    from .batch_fetch import fetch_all
    from .extract import MAX_BYTES, Extractor
    from .fetch import Response

    guard = HostGuard(per_host=config.per_host_connections)
    started = extractor or Extractor(workers=workers, timeout=EXTRACT_TIMEOUT)
    with started if extractor is None else contextlib.nullcontext(started):
        for start in range(0, len(pending), PAGE_BATCH):
            if time.monotonic() > deadline:
                summary.unfinished = True
                break
            batch = pending[start:start + PAGE_BATCH]
            guard.rebalance(hosts=len({request_host(p.url) for p in pending[start:]}), budget=deadline - time.monotonic())
            requests = {p.id: (p.url, {"max_bytes": MAX_BYTES}) for p in batch}
            pages = asyncio.run(fetch_all(config, requests, deadline, guard=guard))
            if len(pages) < len(batch):  # the time budget or the host guard left some: they stay pending
                summary.unfinished = True
            failures: dict[int, str] = {aid: str(r) for aid, r in pages.items() if isinstance(r, FetchError)}
            fetched = {aid: r for aid, r in pages.items() if isinstance(r, Response)}
            results: dict[int, Extracted] = {}
            items = ((aid, r.content, r.final_url) for aid, r in fetched.items())
            for aid, result in started.extract_many(items):
                if isinstance(result, ExtractError):
                    failures[aid] = str(result)
                else:
                    results[aid] = result
            for aid in [p.id for p in batch if p.id in results]:  # in the batch's order, not as they came back
                _save(store, aid, results[aid], fetched[aid].final_url, now)
            _record_failures(store, failures, now)
            summary.pages_extracted += len(results)
            summary.pages_failed += len(failures)
            if report:
                report("pages", min(start + PAGE_BATCH, len(pending)), len(pending))
    for host in guard.stopped:
        summary.problem("host left for the next run", url=host, error=guard.stopped[host])


def _save(store: Store, article_id: int, page: Extracted, final_url: str, now: Clock) -> None:
    """Save what the page said, as read now (nothing when the article is gone meanwhile)."""
    from .folding import page_record

    stored = store.page_state(article_id)
    if stored is None:
        return
    record = page_record(stored, page, final_url=final_url, owner_of=store.article_id_for_url, fetched_at=now())
    store.save_extraction(record)


def _record_failures(store: Store, failures: dict[int, str], now: Clock) -> None:
    if not failures:
        return
    at = now()
    attempts = store.page_attempts(list(failures))
    retries = {}
    for aid, error in failures.items():
        n = attempts.get(aid, 0) + 1
        retries[aid] = Retry(attempts=n, error=error, at=at + timedelta(seconds=backoff_delay(n, base=3600, cap=PAGE_RETRY_MAX)))
    store.record_page_failures(retries)
    for aid, error in failures.items():
        event(log, logging.INFO, "page kept from the feed", article=aid, error=error[:300])
