"""One run of the monitor, and the only module that knows the order of the stages:

    due feeds -> fetch -> parse -> store entries          (feed_stage)
    -> resolve aggregator links                           (links)
    -> fetch pages -> extract                             (page_stage)
    -> merge duplicates -> score relevance -> assign stories -> refresh stories  (stories)
    -> build the site                                     (site)

On a PostgreSQL store with `monitor worker`s running, the feed and page stages run in the workers: the run
sends them what is due and waits (tasks.py), and every stage after them runs here, in this order.

Each stage writes its results in short transactions, so a run killed anywhere leaves a consistent
database and the next run picks up what is left (pending pages, unclustered articles, dirty
stories: monitor/store/__init__.py lists the state each stage leaves for the next). The clock, the
progress display and the worker count come in from the caller.

An hourly run usually finds nothing to do, and must cost little whatever the archive's size: each stage
asks the store first (indexed questions: what is due, pending, dirty) and imports its heavy libraries
(httpx, trafilatura, scikit-learn, the site builder) only when it has work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from datetime import datetime, timezone

from . import feed_stage, links, page_stage
from .config import Config
from .dates import iso_z
from .models import Clock, Report
from .run_summary import RunSummary
from .store import RunLock, Store


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def run(config: Config, *, now: Clock = utcnow, report: Report | None = None, extract_workers: int | None = None,
        wait: bool = True) -> RunSummary:
    """Run every stage once. Raises ConfigError/StoreError/BuildError/LockedError; feed and page failures are
    recorded and counted, never raised. `extract_workers` processes parse feeds, extract pages and find each
    story's figures (None: one per core; 0: all in this process, without time limits).

    On a PostgreSQL store with a worker running (`monitor worker`), or with `wait` False, the feeds and pages
    are sent to the workers as jobs (tasks.py) and waited for (unless `wait` is False: what they find is
    published by a later run); the stages after them run here, once."""
    summary = RunSummary()
    started = time.monotonic()
    deadline = started + config.time_budget
    stage = summary.stage
    with RunLock(config.database), Store.open(config.database) as store:
        queue = _task_queue(store, config, wait)
        with stage("feeds"):
            store.sync_feeds(config.feeds)
            due = feed_stage.due_feeds(store, config.feeds, now())
            summary.feeds_due = len(due)
            if due and queue:
                summary.count_jobs(queue.run_jobs(str(config.database), queue.feed_jobs(due), deadline, wait=wait))
            elif due:
                import asyncio  # like every stage's network code, only when there is something to fetch

                results = asyncio.run(feed_stage.fetch_feeds(config, due, store, deadline, report, now=now(),
                                                             workers=extract_workers))
                for feed, outcome in results:
                    feed_stage.store_feed_result(store, feed, outcome, now(), summary)
                if len(results) < len(due):
                    summary.unfinished = True
        with stage("links"):
            links.resolve_links(store, config, now, deadline, summary)
        with stage("pages"):
            pages = page_stage.due_pages(store, config, now())
            if pages and queue:
                summary.count_jobs(queue.run_jobs(str(config.database), queue.page_jobs(pages), deadline, wait=wait))
            elif pages:
                page_stage.extract_pages(store, config, pages, now, deadline, summary, report, extract_workers)
        inputs = story_inputs(config)
        if store.story_work_waiting() or store.get_meta("story_inputs") != inputs:
            from . import stories  # clustering (scikit-learn, the embedding model): loaded only when there is work

            with stage("duplicates"):
                stories.merge_duplicates(store, store.fresh_extractions(), summary)
            with stage("relevance"):
                stories.score_relevance(store, config)
            with stage("stories"):
                stories.assign_stories(store, summary, now())
                dirty = stories.refresh_dirty_stories(store, now(), workers=extract_workers)
            store.set_meta("story_inputs", inputs)
        else:
            dirty = set()
        with stage("site"):
            summary.site_built = _build_site_if_needed(store, config, dirty, now())
    summary.seconds = time.monotonic() - started
    return summary


def _task_queue(store: Store, config: Config, wait: bool):
    """tasks.py when the feeds and pages go to workers: a PostgreSQL store with a worker running, or `wait`
    False (the jobs wait for a worker); else None: this process does them."""
    if not isinstance(config.database, str):
        return None
    from . import tasks

    return tasks if not wait or tasks.workers_alive(store) else None


def story_inputs(config: Config) -> str:
    """A fingerprint of what feeds.yaml says to the story stages (the subject and its threshold): a change makes
    them run even when nothing new came in (every article is scored again, or its score re-cut)."""
    subject = [dataclasses.asdict(t) for t in config.topics]
    return hashlib.sha1(json.dumps([subject, config.relevance_threshold]).encode()).hexdigest()


# --- site -----------------------------------------------------------------------------------


def feed_health(feeds) -> str:
    """A fingerprint of the feed health the site shows: a change rebuilds the site."""
    return hashlib.sha1(json.dumps([(f.url, f.name, f.last_error, f.articles) for f in feeds]).encode()).hexdigest()


def _build_site_if_needed(store: Store, config: Config, dirty: set[int], now: datetime) -> bool:
    """Rebuild only when a story changed, a feed's health changed, or the site is missing."""
    feeds = store.feed_statuses(config.feeds)
    health = feed_health(feeds)
    missing = not (config.site_dir / "index.html").exists() or not _site_work_dir(config).exists()
    if not dirty and not missing and store.site_feed_health() == health:
        return False
    from .site import build_site  # mkdocs and the page renderers: loaded only for a build

    # the site publishes excerpts only: the start of each text is enough, and keeps memory flat
    stories = [s for s in store.stories(dated=True, text_chars=2000) if any(a.relevant for a in s.articles)]
    build_site(
        stories, feeds, site_dir=config.site_dir, work_dir=_site_work_dir(config),
        title=config.site_title, now=now, base_url=config.site_url, changed=None if missing else dirty,
        merged=store.merged_stories(),
        home_stories=config.home_stories, installation=store.installation_id(now.strftime("%Y-%m-%d")),
    )
    store.mark_published(dirty, feed_health=health)
    return True


def rebuild_site(config: Config, *, now: Clock = utcnow) -> None:
    """Build the whole site again from the database (no fetching): `monitor serve --rebuild`."""
    with RunLock(config.database), Store.open(config.database, create=False) as store:
        shutil.rmtree(_site_work_dir(config), ignore_errors=True)  # without it, the next build is a full one
        _build_site_if_needed(store, config, set(), now())


def _site_work_dir(config: Config):
    base = config.site_dir if isinstance(config.database, str) else config.database  # a PostgreSQL URL: by the site
    return base.parent / (base.stem + "-site-work")


# --- export ---------------------------------------------------------------------------------


def export_articles(store: Store):
    """One dict per stored article: the originals oldest first (`original` True; a syndicated copy's URLs and
    outlet join its original's `urls` and `sources`), then the copies oldest first (`original` False, `copy_of`
    the original's URL), so every article carries the original-report / copy flag."""
    copies: dict[int | None, list] = {}
    for a in store.articles(copies=True):
        copies.setdefault(a.duplicate_of, []).append(a)
    url_of: dict[int | None, str] = {}
    for a in store.articles(copies=False):
        url_of[a.id] = a.url
        urls = list(a.urls)
        sources = [a.source]
        for copy in copies.get(a.id, []):
            urls += [u for u in copy.urls if u not in urls]
            if copy.source not in sources:
                sources.append(copy.source)
        yield _export_row(a, urls, sources) | {"original": True}
    for a in sorted((c for group in copies.values() for c in group), key=lambda a: (a.published, a.id)):
        yield _export_row(a, list(a.urls), [a.source]) | {"original": False, "copy_of": url_of.get(a.duplicate_of)}


def _export_row(a, urls: list[str], sources: list[str]) -> dict:
    return {
        "url": a.url, "urls": urls, "title": a.title, "source": a.source, "sources": sources, "author": a.author,
        "published": iso_z(a.published) if a.published else None, "text": a.text or a.summary, "extracted": a.extracted,
        "relevant": a.relevant, "relevance": round(a.relevance, 4), "story": a.story,
    }


__all__ = ["run", "rebuild_site", "export_articles", "RunSummary"]
