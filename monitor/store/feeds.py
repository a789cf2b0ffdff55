"""The feeds table and what a feed stores: its schedule and validators, its health, its entries.

`record_feed_ok` stores a feed's new entries and its state in one transaction: a feed is read whole or not
at all. `feeds.articles` counts the distinct articles among a feed's entries, kept up to date here and in
`PageTables.fold_article`, so that reading every feed's status costs one row per feed.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Sequence
from urllib.parse import urlsplit

from ..models import EntryRecord, Feed, FeedStatus, Retry
from .base import Tables, chunks, iso, marks, parse_iso


class FeedTables(Tables):
    def sync_feeds(self, feeds: Sequence[Feed]) -> None:
        """Every configured feed has a row, named by feeds.yaml, else by its own title, else by its host. A row
        whose name is already that is left alone: an hourly run with the same feeds.yaml writes nothing."""
        name = "CASE WHEN ?3 IS NOT NULL THEN ?3 ELSE coalesce(feeds.title, feeds.name) END"
        with self.transaction() as db:
            db.executemany(
                f"INSERT INTO feeds(url, name) VALUES (?1, ?2) ON CONFLICT(url) DO UPDATE SET name = {name} "
                f"WHERE feeds.name IS NOT {name}",
                [(feed.url, feed.name or urlsplit(feed.url).hostname or feed.url, feed.name) for feed in feeds],
            )

    def feed_schedule(self, urls: Sequence[str] | None = None) -> dict[str, datetime | None]:
        """feed url -> when it is next due (None: never fetched); of every feed, or of these `urls`."""
        return {r[0]: parse_iso(r[1]) for r in self._feed_rows("url, next_due", urls)}

    def feed_validators(self, urls: Sequence[str] | None = None) -> dict[str, tuple[str | None, str | None]]:
        """feed url -> (ETag, Last-Modified) its server sent last, to send back; of every feed, or of these `urls`."""
        return {r[0]: (r[1], r[2]) for r in self._feed_rows("url, etag, last_modified", urls)}

    def _feed_rows(self, columns: str, urls: Sequence[str] | None) -> list:
        if urls is None:
            return self.db.execute(f"SELECT {columns} FROM feeds").fetchall()
        rows: list = []
        for chunk in chunks(list(urls)):
            rows += self.db.execute(f"SELECT {columns} FROM feeds WHERE url IN ({marks(chunk)})", chunk).fetchall()
        return rows

    def feed_failures(self, url: str) -> int:
        row = self.db.execute("SELECT failures FROM feeds WHERE url = ?", (url,)).fetchone()
        return row[0] if row else 0

    def record_feed_not_modified(self, url: str, *, now: datetime, next_due: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, last_success = ?, failures = 0, last_error = NULL, next_due = ? WHERE url = ?",
                (iso(now), iso(now), iso(next_due), url),
            )

    def record_feed_failure(self, url: str, retry: Retry, *, now: datetime) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE feeds SET last_fetch = ?, last_error = ?, last_error_at = ?, failures = ?, next_due = ? WHERE url = ?",
                (iso(now), retry.error[:500], iso(now), retry.attempts, iso(retry.at), url),
            )

    def resolved_links(self, links: Sequence[str]) -> dict[str, str]:
        """aggregator link -> the article URL it was resolved to, for those of `links` resolved before."""
        out: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(links))):
            out.update(self.db.execute(
                f"SELECT link, resolved_url FROM aggregator_links WHERE link IN ({marks(chunk)}) AND resolved_url IS NOT NULL",
                chunk).fetchall())
        return out

    def record_feed_ok(self, feed: Feed, entries: Sequence[EntryRecord], *, title: str | None, etag: str | None,
                       last_modified: str | None, problem: str | None, now: datetime, next_due: datetime) -> int:
        """Store a feed's entries (those not stored before) and its new state in one transaction; returns the
        number of new articles. `problem` (a feed read only partly) is kept as its last error, shown as such."""
        new = 0
        with self.transaction() as db:
            for entry in entries:
                new += _add_entry(db, feed.url, entry, iso(now))
            db.execute(
                "UPDATE feeds SET title = ?, name = CASE WHEN ? IS NULL AND ? IS NOT NULL THEN ? ELSE name END, "
                "etag = ?, last_modified = ?, last_fetch = ?, last_success = ?, failures = 0, last_error = ?, "
                "last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END, next_due = ? WHERE url = ?",
                (title, feed.name, title, title, etag, last_modified, iso(now), iso(now), problem, problem, iso(now),
                 iso(next_due), feed.url),
            )
        return new

    def feed_statuses(self, configured: Sequence[Feed] | None = None) -> list[FeedStatus]:
        """Stored feed health; with `configured`, only those feeds (feeds dropped from feeds.yaml are left out),
        carrying their tags. `articles`: what each feed listed, so an article carried by two feeds counts for both."""
        tags = {f.url: f.tags for f in configured} if configured is not None else None
        out = []
        for r in self.db.execute("SELECT * FROM feeds ORDER BY lower(name), rowid"):
            if tags is not None and r["url"] not in tags:
                continue
            out.append(
                FeedStatus(
                    url=r["url"], name=r["name"], last_success=parse_iso(r["last_success"]),
                    last_error=r["last_error"], last_error_at=parse_iso(r["last_error_at"]),
                    failures=r["failures"], next_due=parse_iso(r["next_due"]),
                    articles=r["articles"], tags=(tags or {}).get(r["url"], ()),
                )
            )
        return out

    def link_counts(self) -> dict[str, tuple[int, int]]:
        """feed url -> (aggregator links resolved, aggregator links seen) among the articles each feed listed."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute(
            "SELECT e.feed_url, count(DISTINCT CASE WHEN l.resolved_url IS NOT NULL THEN l.link END), "
            "count(DISTINCT l.link) FROM entries e JOIN aggregator_links l ON l.article_id = e.article_id "
            "GROUP BY e.feed_url")}


def _add_entry(db: sqlite3.Connection, feed_url: str, entry: EntryRecord, now: str | None) -> int:
    """One entry (skipped when this feed listed its guid before); 1 when it made a new article.

    An address stored before names the article: the earliest dated report of it wins the date, the outlet's own
    feed outranks whatever another feed said first (rank 1 < the page's own rank 2), and its story is redone."""
    if db.execute("SELECT 1 FROM entries WHERE feed_url = ? AND guid = ?", (feed_url, entry.guid)).fetchone():
        return 0
    if entry.queue is not None:
        db.execute("INSERT INTO aggregator_links(link, feed_url, resolved_url, first_seen) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   (entry.queue[0], feed_url, entry.queue[1], now))
    row = db.execute(f"SELECT article_id FROM article_urls WHERE url IN ({marks(list(entry.aliases))}) ORDER BY url LIMIT 1",
                     entry.aliases).fetchone()
    created = 0
    if row:
        article_id = row[0]
        changed = 0
        published = iso(entry.published)
        if entry.published is not None and entry.published_has_time:
            changed += db.execute("UPDATE articles SET published = ?, published_has_time = 1 WHERE id = ? AND published > ?",
                                  (published, article_id, published)).rowcount
        if entry.own:
            changed += db.execute("UPDATE articles SET title = ?, source = ?, title_rank = 1, scored = 0 "
                                  "WHERE id = ? AND title_rank < 1 AND ? != ''",
                                  (entry.title, entry.source, article_id, entry.title)).rowcount
        if changed:
            db.execute("UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM articles WHERE id = ?)", (article_id,))
    else:
        article_id = db.execute(
            "INSERT INTO articles(url, feed_url, source, outlet, title, title_rank, summary, author, published, "
            "published_has_time, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (entry.url, feed_url, entry.source, entry.outlet, entry.title or entry.url, int(entry.own and bool(entry.title)),
             entry.summary, entry.author, iso(entry.published) or now, int(entry.published_has_time), now),
        ).fetchone()[0]
        created = 1
    for alias in entry.aliases:
        db.execute("INSERT INTO article_urls(url, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (alias, article_id))
    if entry.aggregator_link is not None:
        db.execute("UPDATE aggregator_links SET article_id = ? WHERE link = ? AND article_id IS NULL",
                   (article_id, entry.aggregator_link))
    if not db.execute("SELECT 1 FROM entries WHERE article_id = ? AND feed_url = ?", (article_id, feed_url)).fetchone():
        db.execute("UPDATE feeds SET articles = articles + 1 WHERE url = ?", (feed_url,))
    db.execute("INSERT INTO entries(feed_url, guid, article_id, first_seen) VALUES (?, ?, ?, ?)",
               (feed_url, entry.guid, article_id, now))
    return created
