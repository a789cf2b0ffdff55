"""Aggregator links, the store-facing half: the queued links of news-search items are resolved (before the
pages are fetched) and each waiting article moves to its real URL, or folds into the article already stored
there. `aggregators` holds the parsing and the requests; `ingest` queues the links as it stores entries.

Polite to the aggregator: at most RESOLVE_PER_RUN links a run, one at a time, RESOLVE_DELAY apart, a rate
limit ends the round; a resolved link is cached (never asked again), a failed one retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta

from .aggregators import resolve
from .config import Config
from .errors import FetchError, ResolveError
from .feeds import clean_text
from .fetch import Fetcher, backoff_delay
from .ingest import FETCH_DEADLINE, Clock, fold_article
from .logs import event
from .run_summary import RunSummary
from .store import Store, iso
from .urls import canonical_url, registrable_domain

log = logging.getLogger("monitor.links")

RESOLVE_PER_RUN = 100  # Google links resolved per run at most: two requests each, one at a time
RESOLVE_DELAY = 2.0  # seconds between two resolutions (the aggregator host is asked politely)
MAX_RESOLVE_ATTEMPTS = 8  # then the item stays headline-only for good
RESOLVE_RETRY_BASE = 3600.0  # seconds before the first retry; doubled per failure, capped at a day


def resolve_links(store: Store, config: Config, now: Clock, deadline: float, summary: RunSummary) -> None:
    """Resolve the queued aggregator links (before the pages are fetched), politely: at most RESOLVE_PER_RUN,
    one at a time, RESOLVE_DELAY apart; a rate limit ends the round. Never raises for a link."""
    rows = store.rows(
        "SELECT link, feed_url, article_id, attempts FROM aggregator_links WHERE resolved_url IS NULL "
        "AND article_id IS NOT NULL AND attempts < ? AND (next_attempt IS NULL OR next_attempt <= ?) "
        "ORDER BY first_seen DESC LIMIT ?",
        (MAX_RESOLVE_ATTEMPTS, iso(now()), RESOLVE_PER_RUN),
    )
    if not rows:
        return
    outcomes = asyncio.run(_resolve_all(config, rows, deadline))
    errors = []
    for row in rows:
        outcome = outcomes.get(row["link"])
        if outcome is None:
            continue  # not attempted: the deadline or a rate limit came first
        if isinstance(outcome, ResolveError):
            errors.append(str(outcome))
            _record_resolve_failure(store, row, str(outcome), now())
        else:
            _store_resolution(store, row, outcome)
    summary.links_resolved += len(outcomes) - len(errors)
    summary.links_unresolved += len(errors)
    if errors:
        summary.problem("aggregator links not resolved", count=len(errors), first=errors[0][:300])


async def _resolve_all(config: Config, rows, deadline: float) -> dict[str, str | ResolveError]:
    out: dict[str, str | ResolveError] = {}
    async with Fetcher(allow_private_networks=config.allow_private_networks, per_host=1, max_connections=2,
                       deadline=FETCH_DEADLINE) as fetcher:
        for i, row in enumerate(rows):
            if time.monotonic() > deadline:
                break
            if i:
                await asyncio.sleep(RESOLVE_DELAY)
            try:
                out[row["link"]] = await resolve(fetcher, row["link"], feed_url=row["feed_url"])
            except ResolveError as exc:
                out[row["link"]] = exc
                cause = exc.__cause__
                if isinstance(cause, FetchError) and cause.status in (429, 503):
                    break  # the aggregator asks us to slow down: the rest waits for a later run
            except Exception as exc:  # a bug in the parsing on a hostile answer must not stop the run
                out[row["link"]] = ResolveError(f"{row['link']}: {type(exc).__name__}: {clean_text(str(exc), 160)}")
    return out


def _store_resolution(store: Store, row, target: str) -> None:
    """The article waiting under an aggregator link moves to its real URL, or folds into the article already
    stored there (reached through the outlet's own feed): one article either way."""
    try:
        url = canonical_url(target)
    except ValueError:
        return
    with store.transaction() as db:
        placeholder = row["article_id"]
        db.execute("UPDATE aggregator_links SET resolved_url = ?, attempts = attempts + 1, last_error = NULL, "
                   "next_attempt = NULL WHERE link = ?", (url, row["link"]))
        if db.execute("SELECT 1 FROM articles WHERE id = ?", (placeholder,)).fetchone() is None:
            return
        other = db.execute("SELECT article_id FROM article_urls WHERE url IN (?, ?)", (url, target)).fetchone()
        if other and other[0] != placeholder:
            fold_article(db, placeholder, other[0])
            return
        db.execute("UPDATE articles SET url = ?, outlet = ?, last_error = NULL, attempts = 0, next_attempt = NULL "
                   "WHERE id = ?", (url, registrable_domain(url), placeholder))
        db.execute("UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM articles WHERE id = ?)", (placeholder,))
        for alias in dict.fromkeys((url, target)):
            db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, placeholder))


def _record_resolve_failure(store: Store, row, error: str, now: datetime) -> None:
    attempts = row["attempts"] + 1
    retry = now + timedelta(seconds=backoff_delay(attempts, base=RESOLVE_RETRY_BASE, cap=86400))
    with store.transaction() as db:
        db.execute("UPDATE aggregator_links SET attempts = ?, last_error = ?, next_attempt = ? WHERE link = ?",
                   (attempts, error[:500], iso(retry), row["link"]))
        db.execute("UPDATE articles SET last_error = ? WHERE id = ?", ("link not resolved: " + error[:480], row["article_id"]))
    event(log, logging.INFO, "aggregator link not resolved", link=row["link"], error=error[:300])
