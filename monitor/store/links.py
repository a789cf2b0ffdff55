"""Aggregator links (news-search items): the queue of links to resolve, and what a resolution changes.

A link is queued by `FeedTables.record_feed_ok` as its item is stored; once resolved it is never asked again
(later items with the same link are stored under the resolved URL); a failure is retried at `Retry.at`.
"""

from __future__ import annotations

from datetime import datetime

from ..models import QueuedLink, ResolutionRecord, Retry
from .base import Tables, iso
from .pages import _add_aliases, _fold, _story_changed


class LinkTables(Tables):
    def queued_links(self, *, now: datetime, max_attempts: int, limit: int) -> list[QueuedLink]:
        """The links still to resolve whose retry time has come, newest first."""
        rows = self.db.execute(
            "SELECT link, feed_url, article_id, attempts FROM aggregator_links WHERE resolved_url IS NULL "
            "AND article_id IS NOT NULL AND attempts < ? AND (next_attempt IS NULL OR next_attempt <= ?) "
            "ORDER BY first_seen DESC, link LIMIT ?",
            (max_attempts, iso(now), limit),
        ).fetchall()
        return [QueuedLink(link=r[0], feed_url=r[1], article_id=r[2], attempts=r[3]) for r in rows]

    def save_resolution(self, record: ResolutionRecord) -> None:
        """Write what `folding.resolution_record` decided: the link is resolved for good, and its article moves
        to the real URL or folds into the article stored there."""
        with self.transaction() as db:
            db.execute("UPDATE aggregator_links SET resolved_url = ?, attempts = attempts + 1, last_error = NULL, "
                       "next_attempt = NULL WHERE link = ?", (record.url, record.link))
            if db.execute("SELECT 1 FROM articles WHERE id = ?", (record.article_id,)).fetchone() is None:
                return
            if record.fold_into is not None:
                _fold(db, record.article_id, record.fold_into)
                return
            db.execute("UPDATE articles SET url = ?, outlet = ?, last_error = NULL, attempts = 0, next_attempt = NULL "
                       "WHERE id = ?", (record.url, record.outlet, record.article_id))
            _story_changed(db, record.article_id)
            _add_aliases(db, record.article_id, record.aliases)

    def record_link_failure(self, link: QueuedLink, retry: Retry) -> None:
        """The item stays headline-only; the link is asked again at `retry.at` (the article says why meanwhile)."""
        with self.transaction() as db:
            db.execute("UPDATE aggregator_links SET attempts = ?, last_error = ?, next_attempt = ? WHERE link = ?",
                       (retry.attempts, retry.error[:500], iso(retry.at), link.link))
            db.execute("UPDATE articles SET last_error = ? WHERE id = ?",
                       ("link not resolved: " + retry.error[:480], link.article_id))
