"""Aggregator links, the store-facing half: the queued links of news-search items are resolved (before the
pages are fetched) and each waiting article moves to its real URL, or folds into the article already stored
there. `aggregators` holds the parsing and the requests; the feed stage queues the links as it stores entries,
folding.resolution_record decides what a resolution changes, the store writes it.

Polite to the aggregator: at most RESOLVE_PER_RUN links a run, one at a time, RESOLVE_DELAY apart, a rate
limit ends the round; a resolved link is cached (never asked again), a failed one retried with backoff.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Sequence

from .config import Config
from .errors import FetchError, ResolveError
from .logs import event
from .models import Clock, QueuedLink, Retry
from .run_summary import RunSummary
from .scheduling import backoff_delay
from .store import Store
from .text import clean_text

log = logging.getLogger("monitor.links")

RESOLVE_PER_RUN = 100  # Google links resolved per run at most: two requests each, one at a time
RESOLVE_DELAY = 2.0  # seconds between two resolutions (the aggregator host is asked politely)
MAX_RESOLVE_ATTEMPTS = 8  # then the item stays headline-only for good
RESOLVE_RETRY_BASE = 3600.0  # seconds before the first retry; doubled per failure, capped at a day


def resolve_links(store: Store, config: Config, now: Clock, deadline: float, summary: RunSummary) -> None:
    """Resolve the queued aggregator links (before the pages are fetched), politely: at most RESOLVE_PER_RUN,
    one at a time, RESOLVE_DELAY apart; a rate limit ends the round. Never raises for a link."""
    queued = store.queued_links(now=now(), max_attempts=MAX_RESOLVE_ATTEMPTS, limit=RESOLVE_PER_RUN)
    if not queued:
        return
    import asyncio

    from .folding import resolution_record

    outcomes = asyncio.run(_resolve_all(config, queued, deadline))
    errors = []
    for link in queued:
        outcome = outcomes.get(link.link)
        if outcome is None:
            continue  # not attempted: the deadline or a rate limit came first
        if isinstance(outcome, ResolveError):
            errors.append(str(outcome))
            _record_failure(store, link, str(outcome), now())
            continue
        record = resolution_record(link, outcome, owner_of=store.article_id_for_url)
        if record is not None:  # a target that is no URL: the link stays queued
            store.save_resolution(record)
    summary.links_resolved += len(outcomes) - len(errors)
    summary.links_unresolved += len(errors)
    if errors:
        summary.problem("aggregator links not resolved", count=len(errors), first=errors[0][:300])


async def _resolve_all(config: Config, queued: Sequence[QueuedLink], deadline: float) -> dict[str, str | ResolveError]:
    import asyncio

    from .aggregators import resolve
    from .batch_fetch import FETCH_DEADLINE
    from .fetch import Fetcher

    out: dict[str, str | ResolveError] = {}
    async with Fetcher(allow_private_networks=config.allow_private_networks, per_host=1, max_connections=2,
                       deadline=FETCH_DEADLINE) as fetcher:
        for i, link in enumerate(queued):
            if time.monotonic() > deadline:
                break
            if i:
                await asyncio.sleep(RESOLVE_DELAY)
            try:
                out[link.link] = await resolve(fetcher, link.link, feed_url=link.feed_url)
            except ResolveError as exc:
                out[link.link] = exc
                cause = exc.__cause__
                if isinstance(cause, FetchError) and cause.status in (429, 503):
                    break  # the aggregator asks us to slow down: the rest waits for a later run
            except Exception as exc:  # a bug in the parsing on a hostile answer must not stop the run
                out[link.link] = ResolveError(f"{link.link}: {type(exc).__name__}: {clean_text(str(exc), 160)}")
    return out


def _record_failure(store: Store, link: QueuedLink, error: str, now: datetime) -> None:

    attempts = link.attempts + 1
    retry = now + timedelta(seconds=backoff_delay(attempts, base=RESOLVE_RETRY_BASE, cap=86400))
    store.record_link_failure(link, Retry(attempts=attempts, error=error, at=retry))
    event(log, logging.INFO, "aggregator link not resolved", link=link.link, error=error[:300])
