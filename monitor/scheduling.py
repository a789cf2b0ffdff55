"""Which pending pages a run fetches first, and which hosts it stops: pure bookkeeping for ingest.

One feed listing hundreds of links to one slow host must not use the run's page budget: `fair_order`
lets hosts (and, within a host, feeds) take turns, and `HostGuard` stops a host that keeps timing out
or uses more than its share of the time; what it stops waits, pending, for the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from .errors import FetchError

HOST_TIMEOUTS = 3  # timed-out page requests after which a host's other pages wait for the next run
HOST_MIN_SHARE = 120.0  # seconds of the page budget every host may use, however many hosts there are


def request_host(url: str) -> str:
    """The lower-case host a request goes to ('' when the URL has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def fair_order(rows: Sequence) -> list:
    """`rows` (each with "url" and "feed_url", newest first) reordered so that hosts take turns, and within a
    host its feeds take turns: one feed listing 1,000 links to one slow host cannot fill the first batches.
    Each host's and feed's own order is kept."""
    by_host: dict[str, dict[str | None, list]] = {}
    for row in rows:
        by_host.setdefault(request_host(row["url"]), {}).setdefault(row["feed_url"], []).append(row)
    queues = [_round_robin(list(feeds.values())) for feeds in by_host.values()]
    return _round_robin(queues)


def _round_robin(queues: list[list]) -> list:
    out: list = []
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
