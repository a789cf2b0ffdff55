"""What the site stage records: which stories it published, and the feed health it last showed."""

from __future__ import annotations

from typing import Collection

from .base import Tables, chunks, marks


class SiteTables(Tables):
    def site_feed_health(self) -> str | None:
        """The fingerprint of the feed health the site last showed (None before the first build)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'site_feed_health'").fetchone()
        return row[0] if row else None

    def mark_published(self, story_ids: Collection[int], *, feed_health: str) -> None:
        """The site now shows these stories as they are (their `dirty` flag is cleared) and this feed health."""
        with self.transaction() as db:
            for chunk in chunks(list(story_ids)):
                db.execute(f"UPDATE stories SET dirty = 0 WHERE id IN ({marks(chunk)})", chunk)
            db.execute("INSERT INTO meta(key, value) VALUES ('site_feed_health', ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (feed_health,))
