"""The store's story tables: what the stories stages (monitor/stories.py) read and write: signatures and
copies, relevance scores and flags, story assignments and merges, recomputed stories, and the clustering's
per-document feature cache.

`StoryTables` is a mixin of `Store`: it uses the connection (`self.db`) and `self.transaction()`, and
takes and returns plain values or models dataclasses, so no SQL is written outside the store.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from ..models import RefreshedStory, WindowArticle
from .base import Tables, chunks, marks

if TYPE_CHECKING:  # numpy and datasketch stay out of a run that has no story work
    from ..dedup import DuplicateStep


class StoryTables(Tables):
    """Duplicates, relevance, story assignments, recomputed stories and the kept clustering parts."""

    # --- features kept between runs (monitor/features.py Parts) ------------------------------

    def doc_parts(self, kind: str, digests: Mapping[int, bytes]) -> dict[int, bytes]:
        """The stored parts of each id whose stored digest matches (its text has not changed since)."""
        out: dict[int, bytes] = {}
        ids = list(digests)
        for s in range(0, len(ids), 500):
            chunk = ids[s : s + 500]
            rows = self.db.execute(
                f"SELECT id, digest, parts FROM doc_parts WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})",
                [kind, *chunk]).fetchall()
            out.update((r[0], r[2]) for r in rows if r[1] == digests[r[0]])
        return out

    def save_doc_parts(self, kind: str, parts: Iterable[tuple[int, bytes, bytes]], *, keep: Sequence[int] | None = None) -> None:
        """Store (id, digest, parts) rows; with `keep`, forget the parts of every other id of this kind (a
        window's articles are the only ones clustered again)."""
        with self.transaction() as db:
            db.executemany("INSERT INTO doc_parts(kind, id, digest, parts) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT(kind, id) DO UPDATE SET digest = excluded.digest, parts = excluded.parts",
                           [(kind, i, d, p) for i, d, p in parts])
            if keep is not None:
                db.execute("DELETE FROM doc_parts WHERE kind = ? AND id NOT IN (SELECT value FROM json_each(?))",
                           (kind, json.dumps(list(keep))))

    # --- duplicates (monitor/dedup.py decides) ----------------------------------------------

    def dedup_inputs(self, article_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(id, text, published) of these articles, in time order (the order copies are judged in)."""
        out: list[tuple[int, str, str]] = []
        for chunk in chunks(list(article_ids)):
            out += [tuple(r) for r in self.db.execute(
                f"SELECT id, text, published FROM articles WHERE id IN ({marks(chunk)})", chunk)]
        return sorted(out, key=lambda r: (r[2], r[0]))

    def signed_originals(self, since: str) -> list[tuple[int, bytes, str]]:
        """(id, signature, published) of every signed original published since `since` (ISO)."""
        return [tuple(r) for r in self.db.execute(
            "SELECT id, signature, published FROM articles "
            "WHERE signature IS NOT NULL AND duplicate_of IS NULL AND published >= ? ORDER BY published, id", (since,))]

    def article_texts(self, article_ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        for chunk in chunks(list(article_ids)):
            out.update(self.db.execute(f"SELECT id, text FROM articles WHERE id IN ({marks(chunk)})", chunk).fetchall())
        return out

    def save_signatures(self, signatures: Iterable[tuple[int, bytes | None]]) -> None:
        with self.transaction() as db:
            db.executemany("UPDATE articles SET signature = ? WHERE id = ?", [(s, a) for a, s in signatures])

    def mark_duplicates(self, steps: Iterable[DuplicateStep]) -> int:
        """Write monitor/dedup.py's steps in order, in one transaction: a copy takes its original's story (and
        that story is recomputed); an earlier copy that replaces its original takes over the original's copies
        too. Returns the number of copies found."""
        copies = 0
        with self.transaction() as db:
            for step in steps:
                if step.original is None:
                    db.execute("UPDATE articles SET signature = ? WHERE id = ?", (step.signature, step.article))
                    continue
                story = db.execute("SELECT story_id FROM articles WHERE id = ?", (step.original,)).fetchone()[0]
                if step.replaces:
                    # the original and its copies (index articles_duplicate_of) now point at the earlier copy
                    db.execute("UPDATE articles SET duplicate_of = ?, story_id = ? WHERE id = ?", (step.article, story, step.original))
                    db.execute("UPDATE articles SET duplicate_of = ?, story_id = ? WHERE duplicate_of = ?",
                               (step.article, story, step.original))
                    db.execute("UPDATE articles SET duplicate_of = NULL, signature = ?, story_id = ? WHERE id = ?",
                               (step.signature, story, step.article))
                else:
                    db.execute("UPDATE articles SET duplicate_of = ?, signature = ?, story_id = ? WHERE id = ?",
                               (step.original, step.signature, story, step.article))
                if story is not None:
                    db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))
                copies += 1
        return copies

    # --- relevance (monitor/topics.py decides) ----------------------------------------------

    def unscore_all(self) -> None:
        """The subject changed: every article is scored again from its stored text."""
        with self.transaction() as db:
            db.execute("UPDATE articles SET scored = 0")

    def unscored_articles(self) -> list[tuple[int, str, str]]:
        """(id, title, text or else summary) of each article waiting for its relevance score."""
        return [(r[0], r[1], r[2] or r[3]) for r in self.db.execute(
            "SELECT id, title, text, summary FROM articles WHERE scored = 0 ORDER BY id")]  # index articles_unscored

    def relevance_states(self, article_ids: Sequence[int] | None = None) -> list[tuple[int, float, bool]]:
        """(id, stored relevance, relevant flag) of these articles (None: all of them)."""
        if article_ids is None:
            return [(r[0], r[1], bool(r[2])) for r in self.db.execute("SELECT id, relevance, relevant FROM articles ORDER BY id")]
        out = []
        for chunk in chunks(list(article_ids)):
            out += [(r[0], r[1], bool(r[2])) for r in self.db.execute(
                f"SELECT id, relevance, relevant FROM articles WHERE id IN ({marks(chunk)})", chunk)]
        return out

    def save_relevance(self, scores: Iterable[tuple[int, float]], flips: Iterable[tuple[int, bool]],
                       meta: Mapping[str, str]) -> None:
        """In one transaction: new scores, the flags that changed (an article that stops being relevant leaves
        its story, with its copies, and the story is recomputed) and the meta keys saying what they were cut
        with."""
        with self.transaction() as db:
            db.executemany("UPDATE articles SET relevance = ?, scored = 1 WHERE id = ?", [(s, a) for a, s in scores])
            for article, relevant in flips:
                db.execute("UPDATE articles SET relevant = ? WHERE id = ?", (int(relevant), article))
                if relevant:
                    continue  # newly relevant: the stories stage clusters it
                story = db.execute("SELECT story_id FROM articles WHERE id = ?", (article,)).fetchone()[0]
                if story is not None:
                    db.execute("UPDATE articles SET story_id = NULL WHERE id = ?", (article,))
                    db.execute("UPDATE articles SET story_id = NULL WHERE duplicate_of = ?", (article,))
                    db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))
            db.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", list(meta.items()))

    # --- story assignment (monitor/identity.py decides) -------------------------------------

    def unassigned_published(self) -> list[str]:
        """Publication times (ISO) of the relevant originals waiting for a story."""
        return [r[0] for r in self.db.execute(
            "SELECT published FROM articles INDEXED BY articles_unassigned "
            "WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL")]

    def window_articles(self, lo: str, hi: str) -> list[WindowArticle]:
        """The relevant originals published between `lo` and `hi` (ISO), the input of one re-clustering,
        in (published, url) order: the same whatever order they arrived in."""
        rows = self.db.execute(
            "SELECT id, url, title, text, summary, source, published, story_id FROM articles "
            "WHERE published BETWEEN ? AND ? AND relevant = 1 AND duplicate_of IS NULL", (lo, hi)).fetchall()
        out = [WindowArticle(id=r[0], url=r[1], title=r[2], text=r[3] or r[4], source=r[5], published=r[6], story=r[7])
               for r in rows]
        return sorted(out, key=lambda a: (a.published, a.url))

    def first_published(self, story_ids: Sequence[int]) -> list[tuple[int, str]]:
        """Each story's earliest original, anchors outside any window included (the age a merge compares)."""
        out: list[tuple[int, str]] = []
        for chunk in chunks(list(story_ids)):
            out += [(r[0], r[1]) for r in self.db.execute(
                f"SELECT story_id, min(published) FROM articles WHERE story_id IN ({marks(chunk)}) "
                "AND duplicate_of IS NULL GROUP BY story_id ORDER BY story_id", chunk)]
        return out

    def save_assignment(self, *, opened: Sequence[str], moves: Mapping[int, int | str], merged: Mapping[int, int],
                        changed: Iterable[int], now: str, slug: Callable[[int, str], str]) -> list[int]:
        """Write one re-clustering's outcome in one transaction and return the new stories' ids. `opened` are
        the new stories' first headlines, in the order their ids are allocated; `moves` maps an article to its
        story (an id, or "new:<k>" for the k-th opened story) and takes its copies along; `merged` maps a
        story to its survivor (its articles outside the window and the stories already merged into it
        follow); `changed` stories (and the new ones) are marked to be recomputed. A story's slug is made
        once, from its id and first headline."""
        with self.transaction() as db:
            new_ids: list[int] = []
            for title in opened:
                story_id = db.execute("INSERT INTO stories(slug, title, updated) VALUES (?, ?, ?) RETURNING id",
                                      (f"new-{secrets.token_hex(8)}", title, now)).fetchone()[0]
                db.execute("UPDATE stories SET slug = ? WHERE id = ?", (slug(story_id, title), story_id))
                new_ids.append(story_id)
            for article, target in moves.items():
                story_id = new_ids[int(target[4:])] if isinstance(target, str) else target
                db.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article))
                db.execute("UPDATE articles SET story_id = ? WHERE duplicate_of = ?", (story_id, article))
            for old, survivor in merged.items():
                db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (survivor, old))
                db.execute("UPDATE stories SET merged_into = ? WHERE id = ? OR merged_into = ?", (survivor, old, old))
            db.executemany("UPDATE stories SET dirty = 1 WHERE id = ?", [(s,) for s in {*changed, *new_ids}])
        return new_ids

    # --- refreshing changed stories ---------------------------------------------------------

    def dirty_story_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM stories WHERE dirty = 1 ORDER BY id")]  # index stories_dirty

    def recent_story_texts(self, since: str) -> dict[int, str]:
        """"<headline>. <summary>" of each story with an article since `since` (ISO) or waiting to be
        recomputed: the stories a changed one may be related to."""
        return {r[0]: f"{r[1]}. {r[2]}" for r in self.db.execute(
            "SELECT id, title, summary FROM stories WHERE last_published >= ? OR dirty = 1 ORDER BY id", (since,))}

    def save_refreshed(self, refreshed: Iterable[RefreshedStory], emptied: Iterable[int], now: str) -> None:
        """Each recomputed story's headline, summary, facts and related stories; a story left with no relevant
        article loses its dates (the site no longer lists it)."""
        with self.transaction() as db:
            for story_id in emptied:
                db.execute("UPDATE stories SET first_published = NULL, last_published = NULL, updated = ? WHERE id = ?",
                           (now, story_id))
            for s in refreshed:
                db.execute(
                    "UPDATE stories SET title = ?, summary = ?, summary_url = ?, facts = ?, related = ?, first_published = ?, "
                    "last_published = ?, updated = ? WHERE id = ?",
                    (s.title, s.summary, s.summary_url, s.facts_json, json.dumps(list(s.related)),
                     s.first_published, s.last_published, now, s.id))
