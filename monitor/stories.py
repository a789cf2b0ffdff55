"""From stored articles to stories: near-duplicates point at their original, every article gets its
relevance score, new relevant articles join existing stories or open new ones, and every story that
changed gets its headline, summary, figures and related stories recomputed. Pure stages do the
thinking (dedup, topics, cluster, facts, summary); this module reads and writes the store around them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from typing import Sequence

from . import cluster, dedup, facts, topics
from .summary import headline, lead
from .config import Config
from .run_summary import RunSummary
from .store import Store, facts_to_json, iso, parse_iso

DUPLICATE_WINDOW = timedelta(days=14)
CLUSTER_WINDOW_DAYS = 4.0


def merge_duplicates(store: Store, article_ids: Sequence[int], summary: RunSummary) -> None:
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


def score_relevance(store: Store, config: Config) -> None:
    """Score what is new. When the subject changes in feeds.yaml, every stored article is scored again from
    its stored text (no re-fetch); when only the threshold changes, the stored scores are simply re-cut."""
    threshold = config.relevance_threshold if config.relevance_threshold is not None else topics.RELEVANCE_THRESHOLD
    subject = hashlib.sha1(json.dumps([dataclasses.asdict(t) for t in config.topics]).encode()).hexdigest()
    cut = f"{subject}:{threshold}"
    if store.get_meta("relevance_subject") not in (None, subject):
        with store.transaction() as db:
            db.execute("UPDATE articles SET scored = 0")
    rows = store.rows("SELECT id, title, text, summary FROM articles WHERE scored = 0")
    with store.transaction() as db:
        for r in rows:
            score = topics.relevance(r["title"], r["text"] or r["summary"], config.topics)
            db.execute("UPDATE articles SET relevance = ?, scored = 1 WHERE id = ?", (score, r["id"]))
        changed = [r["id"] for r in rows]
        if store.get_meta("relevance_cut") != cut:
            changed = [r[0] for r in db.execute("SELECT id FROM articles")]
        for chunk in range(0, len(changed), 500):
            ids = changed[chunk:chunk + 500]
            marks = ",".join("?" * len(ids))
            for r in db.execute(f"SELECT id, relevance, relevant, story_id FROM articles WHERE id IN ({marks})", ids).fetchall():
                relevant = topics.is_relevant(r["relevance"], config.topics, threshold)
                if relevant == bool(r["relevant"]):
                    continue
                db.execute("UPDATE articles SET relevant = ? WHERE id = ?", (int(relevant), r["id"]))
                if not relevant and r["story_id"] is not None:  # it leaves its story; newly relevant ones get clustered
                    db.execute("UPDATE articles SET story_id = NULL WHERE id = ? OR duplicate_of = ?", (r["id"], r["id"]))
                    db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (r["story_id"],))
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('relevance_subject', ?), ('relevance_cut', ?)", (subject, cut))


def _doc(r) -> cluster.Doc:
    return cluster.Doc(id=str(r["id"]), title=r["title"], text=r["text"] or r["summary"], source=r["source"], published=parse_iso(r["published"]))


def assign_stories(store: Store, summary: RunSummary, now: datetime) -> None:
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


def refresh_dirty_stories(store: Store, now: datetime) -> set[int]:
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
        title = headline(originals)
        text, source = lead(relevant)
        updates[story_id] = (title, text, facts.story_facts(relevant), story, source.url if source else None)
        texts[story_id] = f"{title}. {updates[story_id][1]}"
    related = cluster.related(list(texts.items())) if texts else {}
    with store.transaction() as db:
        for story_id in dirty_ids:
            if story_id not in updates:
                db.execute("UPDATE stories SET first_published = NULL, last_published = NULL, updated = ? WHERE id = ?", (iso(now), story_id))
                continue
            title, text, story_facts, story, summary_url = updates[story_id]
            db.execute(
                "UPDATE stories SET title = ?, summary = ?, summary_url = ?, facts = ?, related = ?, first_published = ?, "
                "last_published = ?, updated = ? WHERE id = ?",
                (title, text, summary_url, facts_to_json(story_facts), json.dumps(list(related.get(story_id, ()))),
                 iso(story.first_published), iso(story.last_published), iso(now), story_id),
            )
    return set(dirty_ids)
