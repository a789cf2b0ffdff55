"""One run of the monitor, and the only module that knows the order of the stages:

    due feeds -> fetch -> parse -> store entries -> fetch pages -> extract -> merge duplicates
    -> score relevance -> assign stories -> refresh dirty stories -> build the site

Each stage writes its results in short transactions, so a run killed anywhere leaves a
consistent database and the next run picks up what is left (pending pages, unclustered articles,
dirty stories). The network, the clock and the worker pool come in from the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence
from urllib.parse import urlsplit

from . import cluster, dedup, facts, summary, topics
from .config import Config
from .errors import ExtractError, FetchError, MonitorError, ParseError, StoreError
from .extract import Extractor
from .feeds import parse_feed
from .logs import event, format_event
from .fetch import Fetcher, Response, backoff_delay
from .models import Entry, Extracted, Feed
from .site import build_site
from .store import RunLock, Store, facts_to_json, iso, parse_iso
from .urls import canonical_url

log = logging.getLogger("monitor.pipeline")

MAX_PAGE_ATTEMPTS = 6  # then the entry keeps its feed title and summary for good
DUPLICATE_WINDOW = timedelta(days=14)
CLUSTER_WINDOW_DAYS = 4.0
PAGE_BATCH = 100
PAGE_MAX_BYTES = 5_000_000

Clock = Callable[[], datetime]
Report = Callable[[str, int, int], None]  # (stage, done, total) for a progress display


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RunSummary:
    feeds_due: int = 0
    feeds_fetched: int = 0
    feeds_not_modified: int = 0
    feeds_failed: int = 0
    new_articles: int = 0
    pages_extracted: int = 0
    pages_failed: int = 0
    duplicates: int = 0
    relevant: int = 0
    new_stories: int = 0
    updated_stories: int = 0
    site_built: bool = False
    unfinished: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            f"feeds: {self.feeds_fetched} fetched, {self.feeds_not_modified} not modified, {self.feeds_failed} failed",
            f"{self.new_articles} new articles ({self.duplicates} duplicates merged, {self.pages_failed} pages kept from the feed)",
            f"stories: {self.new_stories} new, {self.updated_stories} updated",
            "site rebuilt" if self.site_built else "site unchanged",
            f"{self.seconds:.1f} s",
        ]
        if self.unfinished:
            parts.append("time budget reached: the rest carries over to the next run")
        return "monitor: " + "; ".join(parts)

    def timing_line(self) -> str:
        return "timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items())


class _Stages:
    """Times each stage for `--timings`."""

    def __init__(self, summary: RunSummary):
        self.summary = summary

    def __call__(self, name: str):
        stages = self

        class _Timer:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                stages.summary.timings[name] = stages.summary.timings.get(name, 0.0) + time.perf_counter() - self.start

        return _Timer()


def run(config: Config, *, now: Clock = utcnow, report: Report | None = None, extract_workers: int | None = None) -> RunSummary:
    """Run every stage once. Raises ConfigError/StoreError/BuildError/LockedError; feed and page failures are
    recorded and counted, never raised."""
    summary = RunSummary()
    started = time.monotonic()
    deadline = started + config.time_budget
    stage = _Stages(summary)
    try:
        _run_stages(config, summary, stage, now, deadline, report, extract_workers)
    except sqlite3.Error as exc:  # reads outside a transaction (writes are wrapped in Store.transaction)
        raise StoreError(f"{config.database}: {exc}") from exc
    summary.seconds = time.monotonic() - started
    return summary


def _run_stages(config, summary, stage, now, deadline, report, extract_workers) -> None:
    with RunLock(config.database), Store.open(config.database) as store:
        with stage("feeds"):
            _sync_feeds(store, config.feeds)
            due = _due_feeds(store, config.feeds, now())
            summary.feeds_due = len(due)
            results = asyncio.run(_fetch_feeds(config, due, store, deadline, report))
            for feed, outcome in results:
                _store_feed_result(store, config, feed, outcome, now(), summary)
            if len(results) < len(due):
                summary.unfinished = True
        with stage("pages"):
            extracted_ids = _fetch_and_extract_pages(store, config, now, deadline, summary, report, extract_workers)
        with stage("duplicates"):
            _merge_duplicates(store, extracted_ids, summary)
        with stage("relevance"):
            _score_relevance(store, config)
        with stage("stories"):
            _assign_stories(store, summary, now())
            dirty = _refresh_dirty_stories(store, now())
        with stage("site"):
            summary.site_built = _build_site_if_needed(store, config, dirty, now())


def _problem(summary: RunSummary, what: str, **fields) -> None:
    """A feed or page that failed: one WARNING line naming it (stderr, even with --quiet, and the log file)."""
    summary.problems.append(format_event(what, **fields))
    event(log, logging.WARNING, what, **fields)


# --- feeds ----------------------------------------------------------------------------------


def _sync_feeds(store: Store, feeds: Sequence[Feed]) -> None:
    with store.transaction() as db:
        for feed in feeds:
            fallback = feed.name or urlsplit(feed.url).hostname or feed.url
            db.execute(
                "INSERT INTO feeds(url, name) VALUES (?, ?) ON CONFLICT(url) DO UPDATE SET "
                "name = CASE WHEN ? IS NOT NULL THEN ? ELSE coalesce(feeds.title, feeds.name) END",
                (feed.url, fallback, feed.name, feed.name),
            )


def _due_feeds(store: Store, feeds: Sequence[Feed], now: datetime) -> list[Feed]:
    due_at = {r["url"]: parse_iso(r["next_due"]) for r in store.rows("SELECT url, next_due FROM feeds")}
    return [f for f in feeds if due_at.get(f.url) is None or due_at[f.url] <= now]


async def _fetch_feeds(config: Config, feeds: Sequence[Feed], store: Store, deadline: float, report: Report | None):
    validators = {r["url"]: (r["etag"], r["last_modified"]) for r in store.rows("SELECT url, etag, last_modified FROM feeds")}
    results: list[tuple[Feed, Response | FetchError]] = []
    if not feeds:
        return results
    async with Fetcher(allow_private_networks=config.allow_private_networks, per_host=config.per_host_connections) as fetcher:

        async def one(feed: Feed):
            etag, modified = validators.get(feed.url, (None, None))
            try:
                outcome = await fetcher.get(feed.url, etag=etag, last_modified=modified)
            except FetchError as exc:
                outcome = exc
            results.append((feed, outcome))
            if report:
                report("feeds", len(results), len(feeds))

        tasks = [asyncio.create_task(one(f)) for f in feeds]
        _, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return results


def _store_feed_result(store: Store, config: Config, feed: Feed, outcome: Response | FetchError, now: datetime, summary: RunSummary) -> None:
    if isinstance(outcome, FetchError):
        return _record_feed_failure(store, feed, str(outcome), now, summary, retry_after=outcome.retry_after)
    interval = max(feed.interval, outcome.max_age or 0)
    if outcome.status == 304:
        summary.feeds_not_modified += 1
        with store.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, last_success = ?, failures = 0, last_error = NULL, next_due = ? WHERE url = ?",
                (iso(now), iso(now), iso(now + timedelta(seconds=interval)), feed.url),
            )
        return
    try:
        parsed = parse_feed(outcome.content, url=feed.url, now=now, max_entries=config.max_entries_per_feed)
    except ParseError as exc:
        return _record_feed_failure(store, feed, str(exc), now, summary)
    interval = max(interval, parsed.ttl or 0)
    summary.feeds_fetched += 1
    if parsed.bozo:
        _problem(summary, "feed partly read", url=feed.url, error=parsed.bozo)
    with store.transaction() as db:
        for entry in parsed.entries:
            summary.new_articles += _store_entry(db, feed, entry, parsed.title, now)
        db.execute(
            "UPDATE feeds SET title = ?, name = CASE WHEN ? IS NULL AND ? IS NOT NULL THEN ? ELSE name END, "
            "etag = ?, last_modified = ?, last_fetch = ?, last_success = ?, failures = 0, last_error = NULL, "
            "next_due = ? WHERE url = ?",
            (parsed.title, feed.name, parsed.title, parsed.title, outcome.etag, outcome.last_modified,
             iso(now), iso(now), iso(now + timedelta(seconds=interval)), feed.url),
        )


def _record_feed_failure(store, feed: Feed, error: str, now: datetime, summary: RunSummary, *, retry_after=None) -> None:
    summary.feeds_failed += 1
    _problem(summary, "feed failed", url=feed.url, error=error.removeprefix(feed.url + ": "))
    with store.transaction() as db:
        failures = db.execute("SELECT failures FROM feeds WHERE url = ?", (feed.url,)).fetchone()[0] + 1
        delay = max(backoff_delay(failures, base=min(feed.interval, 1800)), retry_after or 0)
        db.execute(
            "UPDATE feeds SET last_fetch = ?, last_error = ?, last_error_at = ?, failures = ?, next_due = ? WHERE url = ?",
            (iso(now), error[:500], iso(now), failures, iso(now + timedelta(seconds=delay)), feed.url),
        )


def _store_entry(db, feed: Feed, entry: Entry, feed_title: str | None, now: datetime) -> int:
    """Store one feed entry; returns 1 when it is a new article."""
    if db.execute("SELECT 1 FROM entries WHERE feed_url = ? AND guid = ?", (feed.url, entry.guid)).fetchone():
        return 0
    try:
        url = canonical_url(entry.link)
    except ValueError:
        return 0
    row = db.execute("SELECT article_id FROM article_urls WHERE url IN (?, ?)", (url, entry.link)).fetchone()
    created = 0
    if row:
        article_id = row[0]
    else:
        source = entry.source or feed.name or feed_title or urlsplit(feed.url).hostname or feed.url
        cursor = db.execute(
            "INSERT INTO articles(url, feed_url, source, title, summary, author, published, published_has_time, first_seen) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (url, feed.url, source, entry.title or url, entry.summary, entry.author, iso(entry.published or now),
             int(entry.published_has_time), iso(now)),
        )
        article_id = cursor.lastrowid
        created = 1
    for alias in dict.fromkeys((url, entry.link)):
        db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, article_id))
    db.execute("INSERT INTO entries(feed_url, guid, article_id, first_seen) VALUES (?, ?, ?, ?)", (feed.url, entry.guid, article_id, iso(now)))
    return created


# --- pages ----------------------------------------------------------------------------------


def _fetch_and_extract_pages(store, config, now: Clock, deadline, summary, report, workers) -> list[int]:
    pending = store.rows(
        "SELECT id, url FROM articles WHERE extracted = 0 AND attempts < ? AND (next_attempt IS NULL OR next_attempt <= ?) "
        "ORDER BY published DESC LIMIT ?",
        (MAX_PAGE_ATTEMPTS, iso(now()), config.max_articles_per_run),
    )
    done: list[int] = []
    if not pending:
        return done
    with Extractor(workers=workers) as extractor:
        for start in range(0, len(pending), PAGE_BATCH):
            if time.monotonic() > deadline:
                summary.unfinished = True
                break
            batch = pending[start:start + PAGE_BATCH]
            pages = asyncio.run(_fetch_pages(config, batch, deadline))
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
                kept = _store_extraction(store, aid, extracted, fetched[aid].final_url)
                if kept is not None:
                    done.append(kept)
            _record_page_failures(store, failures, now())
            summary.pages_extracted += len(results)
            summary.pages_failed += len(failures)
            if report:
                report("pages", min(start + PAGE_BATCH, len(pending)), len(pending))
    return done


async def _fetch_pages(config: Config, rows, deadline: float) -> dict[int, Response | FetchError]:
    out: dict[int, Response | FetchError] = {}
    async with Fetcher(allow_private_networks=config.allow_private_networks, per_host=config.per_host_connections) as fetcher:

        async def one(row):
            try:
                out[row["id"]] = await fetcher.get(row["url"], max_bytes=PAGE_MAX_BYTES)
            except FetchError as exc:
                out[row["id"]] = exc

        tasks = [asyncio.create_task(one(r)) for r in rows]
        _, pending = await asyncio.wait(tasks, timeout=max(1.0, deadline - time.monotonic()))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return out


def best_published(feed_dt: datetime, feed_has_time: bool, page_dt: datetime | None, page_has_time: bool) -> tuple[datetime, bool]:
    """The most precise publication time: a time of day beats a bare date; the feed wins a tie."""
    if feed_has_time or page_dt is None:
        return feed_dt, feed_has_time
    if page_has_time:
        return page_dt, True
    return feed_dt, False


def _store_extraction(store: Store, article_id: int, ex: Extracted, final_url: str) -> int | None:
    """Save what the page said. When the page's canonical URL belongs to another stored article, this
    article is folded into that one (its URLs and entries move over). Returns the id kept."""
    with store.transaction() as db:
        row = db.execute("SELECT * FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        aliases = [final_url]
        target = article_id
        if ex.canonical_url:
            try:
                canonical = canonical_url(ex.canonical_url)
            except ValueError:
                canonical = None
            if canonical and canonical != row["url"]:
                other = db.execute("SELECT article_id FROM article_urls WHERE url = ?", (canonical,)).fetchone()
                if other and other[0] != article_id:
                    target = other[0]
                    _fold_article(db, article_id, target)
                    if db.execute("SELECT extracted FROM articles WHERE id = ?", (target,)).fetchone()[0]:
                        return None
                else:
                    db.execute("UPDATE articles SET url = ? WHERE id = ?", (canonical, article_id))
                aliases.append(canonical)
        for alias in aliases:
            try:
                alias = canonical_url(alias) if alias != final_url else alias
            except ValueError:
                continue
            db.execute("INSERT OR IGNORE INTO article_urls(url, article_id) VALUES (?, ?)", (alias, target))
        published, has_time = best_published(parse_iso(row["published"]), bool(row["published_has_time"]), ex.published, ex.published_has_time)
        db.execute(
            "UPDATE articles SET text = ?, title = coalesce(nullif(title, url), ?, title), author = coalesce(author, ?), "
            "image = ?, language = ?, published = ?, published_has_time = ?, extracted = 1, last_error = NULL, "
            "scored = 0, signature = NULL WHERE id = ?",
            (ex.text, ex.title, ex.author, ex.image, ex.language, iso(published), int(has_time), target),
        )
    return target


def _fold_article(db, source_id: int, target_id: int) -> None:
    db.execute("UPDATE OR IGNORE article_urls SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("DELETE FROM article_urls WHERE article_id = ?", (source_id,))
    db.execute("UPDATE entries SET article_id = ? WHERE article_id = ?", (target_id, source_id))
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
            delay = min(3600 * 2 ** (attempts - 1), 86400)
            db.execute(
                "UPDATE articles SET attempts = ?, last_error = ?, next_attempt = ? WHERE id = ?",
                (attempts, error[:500], iso(now + timedelta(seconds=delay)), aid),
            )
            event(log, logging.INFO, "page kept from the feed", article=aid, error=error[:300])


# --- duplicates, relevance, stories ---------------------------------------------------------


def _merge_duplicates(store: Store, article_ids: Sequence[int], summary: RunSummary) -> None:
    """Near-duplicate texts (syndication, AMP and print copies) point at the earliest copy."""
    if not article_ids:
        return
    new = store.rows(
        f"SELECT id, text, published FROM articles WHERE id IN ({','.join('?' * len(article_ids))}) ORDER BY published, id",
        list(article_ids),
    )
    start = min(parse_iso(r["published"]) for r in new) - DUPLICATE_WINDOW
    index = dedup.DuplicateIndex()
    new_ids = {r["id"] for r in new}
    for r in store.rows(
        "SELECT id, signature FROM articles WHERE signature IS NOT NULL AND duplicate_of IS NULL AND published >= ?", (iso(start),)
    ):
        if r["id"] not in new_ids:
            index.add(r["id"], r["signature"])
    with store.transaction() as db:
        for r in new:
            sig = dedup.signature(r["text"])
            original = index.find(sig) if sig else None
            if original is not None and original != r["id"]:
                story = db.execute("SELECT story_id FROM articles WHERE id = ?", (original,)).fetchone()[0]
                db.execute("UPDATE articles SET duplicate_of = ?, signature = ?, story_id = ? WHERE id = ?", (original, sig, story, r["id"]))
                if story is not None:
                    db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))
                summary.duplicates += 1
            else:
                db.execute("UPDATE articles SET signature = ? WHERE id = ?", (sig, r["id"]))
                if sig:
                    index.add(r["id"], sig)


def _score_relevance(store: Store, config: Config) -> None:
    rows = store.rows("SELECT id, title, text, summary, relevant, story_id FROM articles WHERE scored = 0")
    if not rows:
        return
    threshold = config.relevance_threshold if config.relevance_threshold is not None else topics.RELEVANCE_THRESHOLD
    with store.transaction() as db:
        for r in rows:
            score = topics.relevance(r["title"], r["text"] or r["summary"], config.topics)
            relevant = topics.is_relevant(score, config.topics, threshold)
            db.execute("UPDATE articles SET relevance = ?, relevant = ?, scored = 1 WHERE id = ?", (score, int(relevant), r["id"]))
            if not relevant and r["story_id"] is not None:
                db.execute("UPDATE articles SET story_id = NULL WHERE id = ? OR duplicate_of = ?", (r["id"], r["id"]))
                db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (r["story_id"],))


def _doc(r) -> cluster.Doc:
    return cluster.Doc(id=str(r["id"]), title=r["title"], text=r["text"] or r["summary"], source=r["source"], published=parse_iso(r["published"]))


def _assign_stories(store: Store, summary: RunSummary, now: datetime) -> None:
    new = store.rows(
        "SELECT id, title, text, summary, source, published FROM articles "
        "WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL ORDER BY published, id"
    )
    if not new:
        return
    start = min(parse_iso(r["published"]) for r in new) - timedelta(days=CLUSTER_WINDOW_DAYS)
    end = max(parse_iso(r["published"]) for r in new) + timedelta(days=CLUSTER_WINDOW_DAYS)
    existing = store.rows(
        "SELECT id, title, text, summary, source, published, story_id FROM articles "
        "WHERE relevant = 1 AND story_id IS NOT NULL AND duplicate_of IS NULL AND published BETWEEN ? AND ?",
        (iso(start), iso(end)),
    )
    assignment = cluster.assign([_doc(r) for r in new], [(_doc(r), r["story_id"]) for r in existing], window_days=CLUSTER_WINDOW_DAYS)
    opened: dict[str, int] = {}
    touched: set[int] = set()
    with store.transaction() as db:
        for r in new:
            target = assignment.get(str(r["id"]))
            if target is None:
                continue
            if isinstance(target, str):
                if target not in opened:
                    opened[target] = _open_story(db, r["title"], now)
                story_id = opened[target]
            else:
                story_id = target
                touched.add(story_id)
            db.execute("UPDATE articles SET story_id = ? WHERE id = ? OR duplicate_of = ?", (story_id, r["id"], r["id"]))
            db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story_id,))
    summary.new_stories += len(opened)
    summary.updated_stories += len(touched)


def _open_story(db, title: str, now: datetime) -> int:
    story_id = db.execute(
        "INSERT INTO stories(slug, title, updated) VALUES (?, ?, ?)", (hashlib.sha1(f"{title}{now}".encode()).hexdigest(), title, iso(now))
    ).lastrowid
    db.execute("UPDATE stories SET slug = ? WHERE id = ?", (_slug(story_id, title), story_id))
    return story_id


def _slug(story_id: int, title: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in title if c.isascii()).split()
    base = "-".join(words)[:60].rstrip("-")
    return f"{story_id}-{base}" if base else str(story_id)


def _refresh_dirty_stories(store: Store, now: datetime) -> set[int]:
    """Recompute headline, summary, figures and related stories of every story that changed."""
    dirty_ids = [r[0] for r in store.rows("SELECT id FROM stories WHERE dirty = 1")]
    if not dirty_ids:
        return set()
    stories = {s.id: s for s in store.stories(f"id IN ({','.join('?' * len(dirty_ids))})", dirty_ids)}
    recent_rows = store.rows(
        "SELECT id, title, summary FROM stories WHERE last_published >= ? OR dirty = 1",
        (iso(now - timedelta(days=30)),),
    )
    texts = {r["id"]: f"{r['title']}. {r['summary']}" for r in recent_rows}
    updates = {}
    for story_id, story in stories.items():
        relevant = [a for a in story.articles if a.relevant or a.duplicate_of is not None]
        originals = [a for a in relevant if a.duplicate_of is None] or relevant
        if not originals:
            continue
        title = summary.headline(originals)
        updates[story_id] = (title, summary.summarize(originals), facts.story_facts(relevant), story)
        texts[story_id] = f"{title}. {updates[story_id][1]}"
    related = cluster.related(list(texts.items())) if texts else {}
    with store.transaction() as db:
        for story_id in dirty_ids:
            if story_id not in updates:
                db.execute("UPDATE stories SET first_published = NULL, last_published = NULL, updated = ? WHERE id = ?", (iso(now), story_id))
                continue
            title, text, story_facts, story = updates[story_id]
            db.execute(
                "UPDATE stories SET title = ?, summary = ?, facts = ?, related = ?, first_published = ?, "
                "last_published = ?, updated = ? WHERE id = ?",
                (title, text, facts_to_json(story_facts), json.dumps(list(related.get(story_id, ()))),
                 iso(story.first_published), iso(story.last_published), iso(now), story_id),
            )
    return set(dirty_ids)


# --- site -----------------------------------------------------------------------------------


def _build_site_if_needed(store: Store, config: Config, dirty: set[int], now: datetime) -> bool:
    """Rebuild only when a story changed, a feed's health changed, or the site is missing."""
    feeds = store.feed_statuses({f.url: f.name for f in config.feeds}, {f.url: f.tags for f in config.feeds})
    health = hashlib.sha1(json.dumps([(f.url, f.name, f.last_error, f.articles) for f in feeds]).encode()).hexdigest()
    missing = not (config.site_dir / "index.html").exists() or not _site_work_dir(config).exists()
    if not dirty and not missing and store.get_meta("site_feed_health") == health:
        return False
    stories = [s for s in store.stories("first_published IS NOT NULL") if any(a.relevant for a in s.articles)]
    build_site(
        stories, feeds, site_dir=config.site_dir, work_dir=_site_work_dir(config),
        title=config.site_title, now=now, base_url=config.site_url, changed=None if missing else dirty,
    )
    with store.transaction() as db:
        if dirty:
            db.execute(f"UPDATE stories SET dirty = 0 WHERE id IN ({','.join('?' * len(dirty))})", list(dirty))
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('site_feed_health', ?)", (health,))
    return True


def rebuild_site(config: Config, *, now: Clock = utcnow) -> None:
    """Build the whole site again from the database (no fetching): `monitor serve --rebuild`."""
    with RunLock(config.database), Store.open(config.database, create=False) as store:
        with store.transaction() as db:
            db.execute("DELETE FROM meta WHERE key = 'site_feed_health'")
        shutil.rmtree(_site_work_dir(config), ignore_errors=True)
        _build_site_if_needed(store, config, set(), now())


def _site_work_dir(config: Config):
    return config.database.parent / (config.database.stem + "-site-work")


# --- export ---------------------------------------------------------------------------------


def export_articles(store: Store):
    """One dict per stored article (syndicated copies folded into their original), oldest first."""
    copies: dict[int, list] = {}
    for a in store.articles("duplicate_of IS NOT NULL"):
        copies.setdefault(a.duplicate_of, []).append(a)
    for a in store.articles("duplicate_of IS NULL"):
        urls = list(a.urls)
        sources = [a.source]
        for copy in copies.get(a.id, []):
            urls += [u for u in copy.urls if u not in urls]
            if copy.source not in sources:
                sources.append(copy.source)
        yield {
            "url": a.url, "urls": urls, "title": a.title, "source": a.source, "sources": sources, "author": a.author,
            "published": iso(a.published), "text": a.text or a.summary, "extracted": a.extracted,
            "relevant": a.relevant, "relevance": round(a.relevance, 4), "story": a.story,
        }


__all__ = ["run", "RunSummary", "export_articles", "best_published", "MonitorError"]
