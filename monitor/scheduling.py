"""When feeds are due, which pending pages a run fetches first, and which hosts it stops: pure bookkeeping
for the feed and page stages.

One feed listing hundreds of links to one slow host must not use the run's page budget: `fair_order`
lets hosts (and, within a host, feeds) take turns, and `HostGuard` stops a host that keeps timing out
or uses more than its share of the time; what it stops waits, pending, for the next run.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from .errors import FetchError
from .models import Feed, PendingPage

MAX_HINT = 86_400  # a server may not push its next visit (max-age, Retry-After) beyond a day

HOST_TIMEOUTS = 3  # timed-out page requests after which a host's other pages wait for the next run
HOST_MIN_SHARE = 120.0  # seconds of the page budget every host may use, however many hosts there are


def request_host(url: str) -> str:
    """The lower-case host a request goes to ('' when the URL has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def due_feeds(feeds: Sequence[Feed], next_due: Mapping[str, datetime | None], now: datetime) -> list[Feed]:
    """The feeds whose next visit (`next_due`, by feed url; None or absent: never fetched) has come. A next visit
    further ahead than any wait a run sets (the feed's interval, or a server's hint or a back-off, both capped
    at MAX_HINT) was set by a clock that was wrong (jumped forward, then back): the feed is due, or it would
    not be polled until that date."""
    def due(feed: Feed) -> bool:
        at = next_due.get(feed.url)
        return at is None or at <= now or at > now + timedelta(seconds=max(feed.interval, MAX_HINT) + 60)

    return [f for f in feeds if due(f)]


def fair_order(pages: Sequence[PendingPage]) -> list[PendingPage]:
    """`pages` (newest first) reordered so that hosts take turns, and within a host its feeds take turns: one
    feed listing 1,000 links to one slow host cannot fill the first batches. Each host's and feed's own order
    is kept."""
    by_host: dict[str, dict[str | None, list[PendingPage]]] = {}
    for page in pages:
        by_host.setdefault(request_host(page.url), {}).setdefault(page.feed_url, []).append(page)
    queues = [_round_robin(list(feeds.values())) for feeds in by_host.values()]
    return _round_robin(queues)


T = TypeVar("T")


def _round_robin(queues: list[list[T]]) -> list[T]:
    out: list[T] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        out.extend(q[depth] for q in queues if depth < len(q))
    return out


class HostGuard:
    """Per-host limits on page fetching for one run: a host is stopped (its pages left pending, not counted as
    failed attempts) after HOST_TIMEOUTS timed-out requests, or, until the next `rebalance`, once its requests
    have held their connections for more than its share of the time left (split evenly between the hosts
    with pages in the batches to come, never less than HOST_MIN_SHARE). A host dripping a byte every few
    seconds thus costs the run a few deadlines, not one deadline per link; a host that is alone at the end
    gets all the time left."""

    def __init__(self, *, per_host: int = 4):
        self.per_host = per_host
        self.share = float("inf")  # connection-seconds per host until the next rebalance
        self.timeouts: dict[str, int] = {}
        self.spent: dict[str, float] = {}
        self.stopped: dict[str, str] = {}  # host -> why, for the run's summary
        self._over_share: set[str] = set()

    def rebalance(self, *, hosts: int, budget: float) -> None:
        self.share = max(HOST_MIN_SHARE, budget / max(1, hosts)) * self.per_host
        self.spent.clear()
        self._over_share.clear()

    def allows(self, host: str) -> bool:
        return host not in self._over_share and self.timeouts.get(host, 0) < HOST_TIMEOUTS

    def record(self, host: str, seconds: float, error: FetchError | None) -> None:
        self.spent[host] = self.spent.get(host, 0.0) + seconds
        if error is not None and "timed out" in str(error):
            self.timeouts[host] = self.timeouts.get(host, 0) + 1
            if self.timeouts[host] >= HOST_TIMEOUTS:
                self.stopped[host] = f"{self.timeouts[host]} requests timed out"
        if self.spent[host] > self.share:
            self._over_share.add(host)
            self.stopped.setdefault(host, f"used its share of the time ({self.share:.0f} connection-seconds)")


def backoff_delay(failures: int, *, base: float = 1800, cap: float = 86400, rng: random.Random | None = None) -> float:
    """Seconds to wait after `failures` failures in a row: base*2**(failures-1), capped, times a jitter in [0.5, 1].

    Never "gives up": a feed that failed a thousand times is still retried, at most `cap` seconds later.
    """
    if failures <= 0:
        return 0.0
    delay = cap if failures > 64 else min(cap, base * 2 ** (failures - 1))
    return delay * (rng or random).uniform(0.5, 1.0)
