"""Fetch many URLs at once under one deadline: the feed stage's and the page stage's requests.

Every request goes through one `Fetcher` (address checks, size caps, per-host limits, FETCH_DEADLINE each);
a `HostGuard` (scheduling.py) may stop a host that keeps timing out or uses its share of the time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

from .config import Config
from .errors import FetchError
from .fetch import Fetcher, Response
from .scheduling import HostGuard, request_host

FETCH_DEADLINE = 60.0  # seconds one request may take in all (httpx alone counts only idle time)


async def fetch_all(config: Config, requests: dict, deadline: float, progress: Callable[[int], object] = lambda n: None,
                    *, then: Callable[[Any, Response], Awaitable[object]] | None = None,
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
                if guard is not None and not guard.allows(host):
                    return None
                started = time.monotonic()
                try:
                    result = await fetcher.get(url, **options)
                except FetchError as exc:
                    if guard is not None:
                        guard.record(host, time.monotonic() - started, exc)
                    raise
                if guard is not None:
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
