"""From stored articles to stories: near-duplicates point at their original, every article gets its
relevance score, the window around the new relevant articles is clustered afresh and story ids are carried
over by the rules of monitor/identity.py (stories grow, merge into the older one, split), and every story
that changed gets its headline, summary, figures and related stories recomputed. Pure stages do the
thinking (dedup, topics, cluster, identity, facts, summary); this module reads and writes the store around
them. docs/stories.md explains the window and the identity rules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime, timedelta
from typing import Sequence

from . import cluster, dedup, fact_finder, features, identity, topics
from .config import Config
from .run_summary import RunSummary
from .store import Store, facts_to_json, iso, parse_iso
from .summary import headline, lead

DUPLICATE_WINDOW = timedelta(days=14)
CLUSTER_WINDOW_DAYS = 4.0


def merge_duplicates(store: Store, article_ids: Sequence[int], summary: RunSummary) -> None:
    """Near-duplicate texts (syndication, AMP and print copies) point at the earliest copy, which stands for
    them all (its date, its story). A copy seen after a later-dated one takes its place as the original."""
    if not article_ids:
        return
    new = store.rows(
        f"SELECT id, text, published FROM articles WHERE id IN ({','.join('?' * len(article_ids))}) ORDER BY published, id",
        list(article_ids),
    )
    start = min(parse_iso(r["published"]) for r in new) - DUPLICATE_WINDOW
    index = dedup.DuplicateIndex()
    new_ids = {r["id"] for r in new}
    published: dict[int, str] = {}
    query = ("SELECT id, signature, published FROM articles "
             "WHERE signature IS NOT NULL AND duplicate_of IS NULL AND published >= ?")
    window = store.rows(query, (iso(start),))
    stale = [r["id"] for r in window if not dedup.is_current(r["signature"])]
    if stale:
        _sign_again(stale, store)
        window = store.rows(query, (iso(start),))
    for r in window:
        if r["id"] not in new_ids:
            index.add(r["id"], r["signature"])
            published[r["id"]] = r["published"]
    replaced: dict[int, int] = {}  # an indexed original -> the earlier copy that took its place
    with store.transaction() as db:
        for r in new:
            sig = dedup.signature(r["text"])
            original = index.find(sig) if sig else None
            while original in replaced:
                original = replaced[original]
            if original is not None and original != r["id"]:
                story = db.execute("SELECT story_id FROM articles WHERE id = ?", (original,)).fetchone()[0]
                if r["published"] < published[original]:
                    db.execute("UPDATE articles SET duplicate_of = ?, story_id = ? WHERE id = ? OR duplicate_of = ?",
                               (r["id"], story, original, original))
                    db.execute("UPDATE articles SET duplicate_of = NULL, signature = ?, story_id = ? WHERE id = ?", (sig, story, r["id"]))
                    replaced[original] = r["id"]
                    published[r["id"]] = r["published"]
                else:
                    db.execute("UPDATE articles SET duplicate_of = ?, signature = ?, story_id = ? WHERE id = ?", (original, sig, story, r["id"]))
                if story is not None:
                    db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story,))
                summary.duplicates += 1
            else:
                db.execute("UPDATE articles SET signature = ? WHERE id = ?", (sig, r["id"]))
                if sig:
                    index.add(r["id"], sig)
                    published[r["id"]] = r["published"]


def _sign_again(article_ids: Sequence[int], store: Store) -> None:
    """Signatures of an earlier format (stored before an upgrade) made again from the stored text, once."""
    for chunk in range(0, len(article_ids), 500):
        ids = list(article_ids[chunk:chunk + 500])
        rows = store.rows(f"SELECT id, text FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids)
        with store.transaction() as db:
            db.executemany("UPDATE articles SET signature = ? WHERE id = ?", [(dedup.signature(r["text"]), r["id"]) for r in rows])


def score_relevance(store: Store, config: Config) -> None:
    """Score what is new. When the subject changes in feeds.yaml, every stored article is scored again from
    its stored text (no re-fetch); when only the threshold changes, the stored scores are simply re-cut."""
    threshold = config.relevance_threshold if config.relevance_threshold is not None else topics.RELEVANCE_THRESHOLD
    subject = hashlib.sha1(json.dumps([dataclasses.asdict(t) for t in config.topics]).encode()).hexdigest()
    cut = f"{subject}:{threshold}"
    if store.get_meta("relevance_subject") not in (None, subject):
        with store.transaction() as db:
            db.execute("UPDATE articles SET scored = 0")
    rows = store.rows("SELECT id, title, text, summary FROM articles WHERE scored = 0")  # index articles_unscored
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


def story_window(new_published: Sequence[datetime]) -> tuple[datetime, datetime]:
    """The span of publication times a run re-clusters: the new articles' span widened by the clustering
    window on each side (nothing further away can link to them directly).

    It follows publication times, not the run's clock: an hourly run re-clusters the last
    CLUSTER_WINDOW_DAYS days (its new articles are a few hours old), a backfill of old items re-clusters
    around them and leaves the present alone. The clock enters only through articles without a date, which
    ingest stamps with the time they were first seen."""
    span = timedelta(days=CLUSTER_WINDOW_DAYS)
    return min(new_published) - span, max(new_published) + span


def assign_stories(store: Store, summary: RunSummary, now: datetime) -> None:
    """Re-cluster the window around the new relevant articles and carry story ids over (monitor/identity.py).

    Articles outside the window never move (a story reaching past the window's edge keeps them: they are
    the anchors of that story, moved only when the whole story merges into an older one). Nothing new:
    nothing is read or clustered."""
    new = store.rows("SELECT published FROM articles INDEXED BY articles_unassigned "
                     "WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL")
    if not new:
        return
    lo, hi = story_window([parse_iso(r["published"]) for r in new])
    rows = store.rows(
        "SELECT id, url, title, text, summary, source, published, story_id FROM articles "
        "WHERE published BETWEEN ? AND ? AND relevant = 1 AND duplicate_of IS NULL",
        (iso(lo), iso(hi)),
    )
    rows.sort(key=lambda r: (r["published"], r["url"]))  # the same input whatever the arrival order (ids)
    docs = [_doc(r) for r in rows]
    parts = _kept_parts(store, "article", [r["id"] for r in rows], docs)
    labels = cluster.cluster_docs(docs, window_days=CLUSTER_WINDOW_DAYS, parts=parts)
    members = [identity.Member(article=r["id"], story=r["story_id"], cluster=int(c), key=(r["published"], r["url"]))
               for r, c in zip(rows, labels)]
    story_ids = sorted({m.story for m in members if m.story is not None})
    priors = [identity.Prior(id=sid, first=first) for sid, first in _first_published(store, story_ids)]
    decision = identity.decide(members, priors)
    title = {r["id"]: r["title"] for r in rows}
    before = {m.article: m.story for m in members}
    with store.transaction() as db:
        opened = [_open_story(db, title[articles[0]], now) for articles in decision.opened]
        target = {**decision.existing, **{a: opened[k] for a, k in decision.new.items()}}
        for article, story_id in target.items():
            if before[article] != story_id:
                db.execute("UPDATE articles SET story_id = ? WHERE id = ? OR duplicate_of = ?", (story_id, article, article))
        for old, survivor in decision.merged.items():
            db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (survivor, old))  # its anchors
            db.execute("UPDATE stories SET merged_into = ? WHERE id = ? OR merged_into = ?", (survivor, old, old))
        for story_id in decision.changed | set(opened):
            db.execute("UPDATE stories SET dirty = 1 WHERE id = ?", (story_id,))
    summary.new_stories += len(opened)
    summary.merged_stories += len(decision.merged)
    summary.updated_stories += len(decision.changed - set(decision.merged))


def _kept_parts(store: Store, kind: str, ids: Sequence[int], docs: Sequence[cluster.Doc], *, embed: bool = True) -> features.Batch:
    """Each doc's clustering parts, as one features.Batch: the rows of last run's batch where a doc's text is
    unchanged, the others from their stored Parts or made now (and stored). Only these ids are kept afterwards
    (the next run's window is this one's, an hour on). `embed`: with embedding rows (what related() skips)."""
    digests = [features.parts_digest(d) for d in docs]
    kept = features.Batch.loads(store.doc_parts(f"{kind} batch", {0: b""}).get(0, b""))
    want = dict(zip(ids, digests))
    at = {} if kept is None else {i: k for k, (i, d) in enumerate(zip(kept.ids, kept.digests)) if want.get(i) == d}
    reuse = [k for k, i in enumerate(ids) if i in at]
    rest = [k for k, i in enumerate(ids) if i not in at]
    found = {i: features.Parts.loads(blob) for i, blob in store.doc_parts(kind, {ids[k]: digests[k] for k in rest}).items()}
    missing = [k for k in rest if found.get(ids[k]) is None]
    made = (cluster.doc_parts if embed else features.doc_parts)([docs[k] for k in missing])
    for k, p in zip(missing, made):
        found[ids[k]] = p
    store.save_doc_parts(kind, [(ids[k], digests[k], p.dumps()) for k, p in zip(missing, made)], keep=ids)
    batch = features.Batch.from_parts([found[ids[k]] for k in rest], [ids[k] for k in rest], [digests[k] for k in rest],
                                      embeddings=embed)
    if reuse:  # last run's rows, then the fresh ones: each id's row, in order
        fresh = dict(zip(rest, range(len(kept), len(kept) + len(rest))))
        batch = kept.merge(batch).take([at[i] if i in at else fresh[k] for k, i in enumerate(ids)])
    store.save_doc_parts(f"{kind} batch", [(0, b"", batch.dumps())], keep=[0])
    return batch


def _first_published(store: Store, story_ids: Sequence[int]) -> list[tuple[int, str]]:
    """Each story's earliest article, anchors outside the window included (the age a merge compares)."""
    out = []
    for chunk in range(0, len(story_ids), 500):
        ids = list(story_ids[chunk:chunk + 500])
        out += store.rows(
            f"SELECT story_id, min(published) FROM articles WHERE story_id IN ({','.join('?' * len(ids))}) "
            "AND duplicate_of IS NULL GROUP BY story_id", ids)
    return [(r[0], r[1]) for r in out]


def _open_story(db, title: str, now: datetime) -> int:
    story_id = db.execute(
        "INSERT INTO stories(slug, title, updated) VALUES (?, ?, ?)", (hashlib.sha1(f"{title}{now}".encode()).hexdigest(), title, iso(now))
    ).lastrowid
    db.execute("UPDATE stories SET slug = ? WHERE id = ?", (_slug(story_id, title), story_id))
    return story_id


SLUG_CHARS = 60


def _slug(story_id: int, title: str) -> str:
    """"<id>-<words of the first headline>", cut after the last whole word that fits in SLUG_CHARS. Set once,
    when the story opens: the page's address never changes, whatever later headlines say."""
    words = "".join(c.lower() if c.isalnum() else " " for c in title if c.isascii()).split()
    base = ""
    for word in words:
        if len(base) + len(word) + bool(base) > SLUG_CHARS:
            break
        base = f"{base}-{word}" if base else word
    if not base and words:  # one word longer than the limit
        base = words[0][:SLUG_CHARS]
    return f"{story_id}-{base}" if base else str(story_id)


def refresh_dirty_stories(store: Store, now: datetime, *, workers: int | None = None) -> set[int]:
    """Recompute headline, summary, figures and related stories of every story that changed. Figures and quotes
    are found in `workers` processes under a time limit (monitor/fact_finder.py; 0: in this process)."""
    dirty_ids = [r[0] for r in store.rows("SELECT id FROM stories WHERE dirty = 1")]  # index stories_dirty
    if not dirty_ids:
        return set()
    stories = {s.id: s for s in store.stories(f"id IN ({','.join('?' * len(dirty_ids))})", dirty_ids)}
    recent_rows = store.rows(
        "SELECT id, title, summary FROM stories WHERE last_published >= ? OR dirty = 1",
        (iso(now - timedelta(days=30)),),
    )
    texts = {r["id"]: f"{r['title']}. {r['summary']}" for r in recent_rows}
    reported = {}
    for story_id, story in stories.items():
        relevant = [a for a in story.articles if a.relevant or a.duplicate_of is not None]
        if relevant:
            reported[story_id] = relevant
    found = fact_finder.stories_facts(reported, workers=workers)
    updates = {}
    for story_id, relevant in reported.items():
        originals = [a for a in relevant if a.duplicate_of is None] or relevant
        title = headline(originals)
        text, source = lead(relevant)
        updates[story_id] = (title, text, found[story_id], stories[story_id], source.url if source else None)
        texts[story_id] = f"{title}. {text}"
    recent = list(texts.items())
    parts = _kept_parts(store, "story", [sid for sid, _ in recent], [cluster.Doc(id=str(sid), title=t) for sid, t in recent], embed=False)
    related = cluster.related(recent, parts=parts, changed=updates) if texts else {}
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
