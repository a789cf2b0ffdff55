"""Articles' pages: which are still to fetch, what an extracted page changes, and folding one article into
another when two addresses turn out to be one article (a page's canonical URL, a resolved aggregator link).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Sequence

from ..models import PageRecord, PendingPage, Retry, StoredPage
from .base import Tables, chunks, iso, marks, parse_iso


class PageTables(Tables):
    def article_id_for_url(self, url: str) -> int | None:
        """The article stored under `url` (any of its addresses), if any."""
        row = self.db.execute("SELECT article_id FROM article_urls WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def pending_pages(self, *, now: datetime, max_attempts: int, stale_after: datetime, limit: int) -> list[PendingPage]:
        """Articles whose page is still to fetch, newest first: not extracted, fewer than `max_attempts` tries,
        and due (a retry time later than `stale_after` was set by a clock that jumped: due now). An aggregator's
        item waiting for its link's resolution is not among them: its page is the aggregator's, not the article.
        Indexes articles_to_fetch and aggregator_links_waiting: what failed for good is not read."""
        rows = self.db.execute(
            "SELECT id, url, feed_url FROM articles INDEXED BY articles_to_fetch WHERE extracted = 0 AND attempts < ? "
            "AND (next_attempt IS NULL OR next_attempt <= ? OR next_attempt > ?) "
            "AND NOT EXISTS (SELECT 1 FROM aggregator_links l WHERE l.article_id = articles.id AND l.resolved_url IS NULL) "
            "ORDER BY published DESC, id DESC LIMIT ?",
            (max_attempts, iso(now), iso(stale_after), limit),
        ).fetchall()
        return [PendingPage(id=r[0], url=r[1], feed_url=r[2]) for r in rows]

    def still_pending(self, article_ids: Sequence[int], *, max_attempts: int) -> list[PendingPage]:
        """Those of these articles whose page is still to fetch (not extracted, fewer than `max_attempts` tries),
        in the order given: what a worker's job re-reads before fetching, since another may have done it."""
        rows: dict[int, PendingPage] = {}
        for chunk in chunks(list(article_ids)):
            for r in self.db.execute(f"SELECT id, url, feed_url FROM articles WHERE id IN ({marks(chunk)}) "
                                     "AND extracted = 0 AND attempts < ?", (*chunk, max_attempts)):
                rows[r[0]] = PendingPage(id=r[0], url=r[1], feed_url=r[2])
        return [rows[i] for i in article_ids if i in rows]

    def fresh_extractions(self) -> list[int]:
        """The articles extracted whose duplicates and relevance are still to find (`scored = 0`, index
        articles_unscored): this run's pages, those a worker extracted, and those a run killed before its
        duplicates stage left behind."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM articles INDEXED BY articles_unscored WHERE scored = 0 AND extracted = 1 ORDER BY id")]

    def page_state(self, article_id: int) -> StoredPage | None:
        row = self.db.execute("SELECT url, published, published_has_time FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            return None
        return StoredPage(id=article_id, url=row[0], published=parse_iso(row[1]), published_has_time=bool(row[2]))

    def save_extraction(self, record: PageRecord) -> int | None:
        """Write what `folding.page_record` decided; returns the id of the article that keeps the page's text
        (None when the article folded into another, or is gone)."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM articles WHERE id = ?", (record.article_id,)).fetchone() is None:
                return None
            if record.fold_into is not None:
                _fold(db, record.article_id, record.fold_into)
                _add_aliases(db, record.fold_into, record.aliases)
                return None
            ex = record.page
            db.execute("UPDATE articles SET url = ? WHERE id = ? AND url != ?", (record.url, record.article_id, record.url))
            _add_aliases(db, record.article_id, record.aliases)
            # the page is the authority on its own headline (rank 2) and its host is the outlet that served it
            db.execute(
                "UPDATE articles SET text = ?, title = coalesce(nullif(?, ''), nullif(title, url), title), "
                "title_rank = CASE WHEN coalesce(?, '') != '' THEN 2 ELSE title_rank END, author = coalesce(author, ?), "
                "image = ?, language = ?, published = ?, published_has_time = ?, extracted = 1, last_error = NULL, "
                "outlet = ?, scored = 0, signature = NULL, links = ? WHERE id = ?",
                (ex.text, ex.title, ex.title, ex.author, ex.image, ex.language, iso(record.published),
                 int(record.published_has_time), record.outlet, json.dumps(list(zip(ex.links, ex.link_texts))),
                 record.article_id),
            )
            _story_changed(db, record.article_id)
        return record.article_id

    def page_attempts(self, article_ids: Sequence[int]) -> dict[int, int]:
        """article id -> how many times its page failed so far."""
        out: dict[int, int] = {}
        for chunk in chunks(list(article_ids)):
            out.update(self.db.execute(f"SELECT id, attempts FROM articles WHERE id IN ({marks(chunk)})", chunk).fetchall())
        return out

    def record_page_failures(self, failures: dict[int, Retry]) -> None:
        """The article keeps its feed title and summary; its page is tried again at `Retry.at`."""
        if not failures:
            return
        with self.transaction() as db:
            db.executemany("UPDATE articles SET attempts = ?, last_error = ?, next_attempt = ? WHERE id = ?",
                           [(r.attempts, r.error[:500], iso(r.at), aid) for aid, r in failures.items()])



def _add_aliases(db: sqlite3.Connection, article_id: int, aliases: Sequence[str]) -> None:
    db.executemany("INSERT INTO article_urls(url, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING", [(a, article_id) for a in aliases])


def _story_changed(db: sqlite3.Connection, article_id: int) -> None:
    db.execute("UPDATE stories SET dirty = 1 WHERE id = (SELECT story_id FROM articles WHERE id = ?)", (article_id,))


def _fold(db: sqlite3.Connection, source_id: int, target_id: int) -> None:
    """`source_id` is the same article as `target_id`: its addresses, entries and copies move over and it is
    deleted; the story it was in is redone."""
    # a feed that listed both now lists one article fewer (feeds.articles counts distinct articles)
    db.execute("UPDATE feeds SET articles = articles - 1 WHERE url IN (SELECT feed_url FROM entries WHERE article_id = ?) "
               "AND url IN (SELECT feed_url FROM entries WHERE article_id = ?)", (source_id, target_id))
    db.execute("UPDATE article_urls SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("DELETE FROM article_urls WHERE article_id = ?", (source_id,))
    db.execute("UPDATE entries SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("UPDATE aggregator_links SET article_id = ? WHERE article_id = ?", (target_id, source_id))
    db.execute("UPDATE articles SET duplicate_of = ? WHERE duplicate_of = ?", (target_id, source_id))
    story = db.execute("SELECT story_id FROM articles WHERE id = ?", (source_id,)).fetchone()[0]
    db.execute("DELETE FROM articles WHERE id = ?", (source_id,))
    if story is not None:
        db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))
