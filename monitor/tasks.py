"""Workers on a task queue: fetching feeds, and fetching and extracting pages, as jobs of procrastinate, whose
tables live in the same PostgreSQL database as the store (docs/scale-out.md says why procrastinate).

The publisher's side (`monitor run` on a PostgreSQL store, pipeline.py): `run_jobs` sends what is due as jobs,
one per host and at most ITEMS_PER_JOB items each, and waits for them (or not: `--no-wait`). The worker's side
(`monitor worker`, `work`): each job re-reads from the store what is still to do among its items (a feed no
longer due, a page already extracted, is left alone), runs the feed or page stage's own code on them and
writes what it found, as `monitor run` does in one process.

What holds across all workers, and how:
- a job carries the lock `host:<host>`, which procrastinate gives to one running job at a time: the jobs of
  one host run one after the other, whichever worker takes them, and inside a job the fetcher keeps to
  `per_host_connections`; so does a host across all workers, and no feed or page is fetched by two at once;
- a worker sends a heartbeat every HEARTBEAT seconds; a job whose worker stopped sending them for
  STALLED_AFTER (a worker killed mid-job) is put back in the queue by whoever looks first (the waiting
  publisher, or any worker's periodic housekeeping) and taken by another worker; what the killed one had
  written stays, each feed and page having been written in its own transaction;
- a job that raises is tried again (RETRY); the feed and page stages record their own failures and back-off,
  so a job raises only for what is nobody's fault in particular (the database gone, the time budget).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from . import feed_stage, page_stage, scheduling
from .config import Config
from .errors import StoreError
from .logs import file_event
from .models import Feed, PendingPage
from .run_summary import RunSummary
from .scheduling import request_host
from .store import Store
from .store.base import shown
from .text import clean_text

log = logging.getLogger("monitor.worker")

QUEUE = "monitor"
ITEMS_PER_JOB = 25  # feeds or pages of one host in one job: a host with more gets several jobs, run in turn
HEARTBEAT = 2.0  # seconds between a worker's heartbeats
STALLED_AFTER = 10.0  # seconds without a heartbeat after which a worker's running job is given to another
ALIVE_WITHIN = 30.0  # a worker with a heartbeat this recent counts as running (the publisher sends it jobs)
JOB_BUDGET = 600.0  # seconds one job may fetch for; what is left is done by a later job
CONNECT_TIMEOUT = 10.0  # seconds the queue's connection pool waits for a connection before it fails
POLL = 0.25  # seconds between the publisher's looks at its jobs
KEEP_FAILED_HOURS = 72  # failed jobs are kept this long for `procrastinate` inspection, then deleted
FEEDS_TASK, PAGES_TASK, HOUSEKEEPING_TASK = "monitor.fetch_feeds", "monitor.fetch_pages", "monitor.housekeeping"


class JobUnfinished(Exception):
    """A job's time budget ran out before all its items were done: it is retried for the rest."""


@dataclass(frozen=True)
class Job:
    """One job to send: its task, its host (the lock) and its items (feeds as dicts, or article ids)."""

    task: str
    host: str
    items: tuple


@dataclass(frozen=True)
class JobOutcome:
    """What became of the jobs a run sent: how many, how many failed for good, and how many were still
    queued or running when the run stopped waiting (all of them with `--no-wait`)."""

    sent: int = 0
    skipped: int = 0  # items already in a queued job (an earlier run's): not sent twice
    failed: int = 0
    open: int = 0


# --- the publisher's side -------------------------------------------------------------------------


def feed_jobs(feeds: Iterable[Feed]) -> list[Job]:
    return _by_host(FEEDS_TASK, ((f.url, _feed_args(f)) for f in feeds))


def page_jobs(pages: Iterable[PendingPage]) -> list[Job]:
    return _by_host(PAGES_TASK, ((p.url, p.id) for p in pages))


def _by_host(task: str, items: Iterable[tuple[str, Any]]) -> list[Job]:
    """Items grouped by the host of their URL, in order, cut in jobs of ITEMS_PER_JOB."""
    hosts: dict[str, list] = {}
    for url, item in items:
        hosts.setdefault(request_host(url), []).append(item)
    return [Job(task, host, tuple(group[i:i + ITEMS_PER_JOB]))
            for host, group in hosts.items() for i in range(0, len(group), ITEMS_PER_JOB)]


def _feed_args(feed: Feed) -> dict:
    return dataclasses.asdict(feed) | {"tags": list(feed.tags)}


def workers_alive(store: Store) -> int:
    return store.task_workers_alive(ALIVE_WITHIN)


def run_jobs(database: str, jobs: Sequence[Job], deadline: float, *, wait: bool) -> JobOutcome:
    """Send `jobs` (leaving out the items an earlier run's queued jobs already hold) and, with `wait`, wait until
    each is done or the `deadline` (time.monotonic()) comes, putting back the jobs of workers that died."""
    if not jobs:
        return JobOutcome()
    with _queue_errors(database):
        return asyncio.run(_send_and_wait(database, jobs, deadline, wait))


@contextlib.contextmanager
def _queue_errors(database: str) -> Iterator[None]:
    """The queue's failures (its connection lost, its tables unusable) as one StoreError naming the database."""
    from procrastinate.exceptions import ProcrastinateException

    try:
        yield
    except ProcrastinateException as exc:
        raise StoreError(f"{shown(database)}: the task queue failed ({type(exc).__name__}: "
                         f"{clean_text(str(exc.__cause__ or exc), 200)})") from exc


async def _send_and_wait(database: str, jobs: Sequence[Job], deadline: float, wait: bool) -> JobOutcome:
    app = make_app(database)
    async with app.open_async():
        await _ensure_schema(app)
        manager = app.job_manager
        queued = {_item_key(j.task_name, item) for j in await _open_jobs(manager) for item in j.task_kwargs.get("items", [])}
        ids, skipped = [], 0
        for job in jobs:
            items = [item for item in job.items if _item_key(job.task, item) not in queued]
            skipped += len(job.items) - len(items)
            if items:
                task = app.tasks[job.task].configure(lock=f"host:{job.host}", queue=QUEUE)
                ids.append(await task.defer_async(items=items))
        remaining = set(ids)
        while wait and remaining and time.monotonic() < deadline:
            await retry_stalled(manager)
            remaining &= {j.id for j in await _open_jobs(manager)}
            if remaining:
                await asyncio.sleep(POLL)
        failed = {j.id for j in await manager.list_jobs_async(queue=QUEUE, status="failed")} & set(ids)
        return JobOutcome(sent=len(ids), skipped=skipped, failed=len(failed), open=len(remaining))


async def _open_jobs(manager) -> list:
    return [j for status in ("todo", "doing") for j in await manager.list_jobs_async(queue=QUEUE, status=status)]


def _item_key(task: str, item: Any) -> tuple:
    return (task, item["url"] if isinstance(item, dict) else item)


async def retry_stalled(manager) -> int:
    """Put back in the queue the running jobs of workers whose heartbeat stopped (killed, or cut off)."""
    stalled = list(await manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=STALLED_AFTER))
    for job in stalled:
        file_event(log, logging.WARNING, "job of a stalled worker put back", job=job.id, task=job.task_name)
        await manager.retry_job(job)
    return len(stalled)


# --- the queue ------------------------------------------------------------------------------------


def make_app(database: str):
    """A procrastinate App on `database` with the monitor's tasks."""
    import procrastinate

    # a connection the pool cannot make in CONNECT_TIMEOUT fails the worker (systemd starts it again) or the run
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database, timeout=CONNECT_TIMEOUT))
    retry = procrastinate.RetryStrategy(max_attempts=3, wait=5, exponential_wait=5)
    app.task(name=FEEDS_TASK, queue=QUEUE, pass_context=True, retry=retry)(_fetch_feeds)
    app.task(name=PAGES_TASK, queue=QUEUE, pass_context=True, retry=retry)(_fetch_pages)
    app.periodic(cron="* * * * *")(app.task(name=HOUSEKEEPING_TASK, queue=QUEUE, pass_context=True)(_housekeeping))
    return app


async def _ensure_schema(app) -> None:
    """procrastinate's tables, made the first time (by whoever comes first: a second maker's clash is harmless)."""
    if await app.job_manager.check_connection_async():
        return
    try:
        await app.schema_manager.apply_schema_async()
    except Exception:
        if not await app.job_manager.check_connection_async():
            raise


def _fetch_feeds(context, items: list[dict]) -> None:
    context.additional_context["monitor"].fetch_feeds([Feed(**(item | {"tags": tuple(item["tags"])})) for item in items])


def _fetch_pages(context, items: list[int]) -> None:
    context.additional_context["monitor"].fetch_pages(items)


async def _housekeeping(context, timestamp: int) -> None:
    manager = context.app.job_manager
    await retry_stalled(manager)
    await manager.delete_old_jobs(nb_hours=KEEP_FAILED_HOURS, queue=QUEUE, include_failed=True)


# --- the worker's side ----------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Worker:
    """What a worker process keeps between jobs: the configuration, its parser and extractor processes
    (started once, before any connection is open: see workers.py) and one store connection per thread
    (procrastinate runs each job of a plain function in a thread of its own)."""

    def __init__(self, config: Config, parser, extractor, now: Callable[[], datetime]):
        self.config, self.parser, self.extractor, self.now = config, parser, extractor, now
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store.open(self.config.database)
            with self._lock:
                self._stores.append(store)
        return store

    def close(self) -> None:
        for store in self._stores:
            store.close()

    def fetch_feeds(self, feeds: Sequence[Feed]) -> None:
        store, now = self.store(), self.now()
        due = scheduling.due_feeds(feeds, store.feed_schedule([f.url for f in feeds]), now)
        summary = RunSummary()
        results = asyncio.run(feed_stage.fetch_and_parse(
            self.config, due, store.feed_validators([f.url for f in due]), time.monotonic() + JOB_BUDGET, now=now,
            parser=self.parser))
        for feed, outcome in results:
            feed_stage.store_feed_result(store, feed, outcome, self.now(), summary)
        file_event(log, logging.INFO, "feed job done", feeds=len(due), fetched=summary.feeds_fetched,
                   not_modified=summary.feeds_not_modified, failed=summary.feeds_failed, new=summary.new_articles)
        if len(results) < len(due):
            raise JobUnfinished(f"{len(due) - len(results)} of {len(due)} feeds left when the job's time ran out")

    def fetch_pages(self, article_ids: Sequence[int]) -> None:
        store = self.store()
        pending = store.still_pending(article_ids, max_attempts=page_stage.MAX_PAGE_ATTEMPTS)
        summary = RunSummary()
        page_stage.extract_pages(store, self.config, pending, self.now, time.monotonic() + JOB_BUDGET, summary, None,
                                 None, extractor=self.extractor)
        # pages a slow host or the time budget left stay pending: the next run sends them again
        file_event(log, logging.INFO, "page job done", pages=len(pending), extracted=summary.pages_extracted,
                   failed=summary.pages_failed, left=summary.unfinished)


def work(config: Config, *, concurrency: int | None = None, now: Callable[[], datetime] = utcnow,
         processes: int | None = None) -> None:
    """Run a worker until it is stopped (SIGINT or SIGTERM: it finishes its running jobs first). `concurrency`
    jobs at a time (None: two per extraction process: more only queue for the extractor, while other
    workers wait for jobs; docs/scale-out.md); `processes` parser and extractor processes (None: one per
    core). Raises StoreError when the database is not PostgreSQL or cannot be reached."""
    if not isinstance(config.database, str):
        raise StoreError(f"{config.database}: workers need a PostgreSQL database (database: postgresql://...)")
    from .extract import Extractor
    from .feed_parser import FeedParser

    with FeedParser(workers=processes, timeout=feed_stage.FEED_PARSE_TIMEOUT, now=now(),
                    max_entries=config.max_entries_per_feed) as parser, \
            Extractor(workers=processes, timeout=page_stage.EXTRACT_TIMEOUT) as extractor:
        worker = Worker(config, parser, extractor, now)
        concurrency = concurrency or 2 * max(1, extractor.workers)
        try:
            worker.store()  # the database reachable and migrated before the first job: a bad URL fails here
            with _queue_errors(config.database):
                asyncio.run(_run(config.database, worker, concurrency))
        finally:
            worker.close()


async def _run(database: str, worker: Worker, concurrency: int) -> None:
    app = make_app(database)
    async with app.open_async():
        await _ensure_schema(app)
        file_event(log, logging.INFO, "worker started", concurrency=concurrency)
        await app.run_worker_async(
            queues=[QUEUE], concurrency=concurrency, delete_jobs="successful", additional_context={"monitor": worker},
            update_heartbeat_interval=HEARTBEAT, stalled_worker_timeout=STALLED_AFTER, install_signal_handlers=True,
        )
