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
from .models import RefreshedStory, WindowArticle
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
    new = store.dedup_inputs(article_ids)
    since = iso(min(parse_iso(published) for _, _, published in new) - DUPLICATE_WINDOW)
    window = store.signed_originals(since)
    stale = [article for article, sig, _ in window if not dedup.is_current(sig)]
    if stale:  # signatures of an earlier format (stored before an upgrade), made again from the stored text
        texts = store.article_texts(stale)
        store.save_signatures((article, dedup.signature(texts[article])) for article in stale)
        window = store.signed_originals(since)
    summary.duplicates += store.mark_duplicates(dedup.duplicate_steps(new, window))


def score_relevance(store: Store, config: Config) -> None:
    """Score what is new. When the subject changes in feeds.yaml, every stored article is scored again from
    its stored text (no re-fetch); when only the threshold changes, the stored scores are simply re-cut."""
    threshold = config.relevance_threshold if config.relevance_threshold is not None else topics.RELEVANCE_THRESHOLD
    subject = hashlib.sha1(json.dumps([dataclasses.asdict(t) for t in config.topics]).encode()).hexdigest()
    cut = f"{subject}:{threshold}"
    if store.get_meta("relevance_subject") not in (None, subject):
        store.unscore_all()
    scores = {article: topics.relevance(title, text, config.topics) for article, title, text in store.unscored_articles()}
    states = store.relevance_states(None if store.get_meta("relevance_cut") != cut else list(scores))
    flips = topics.recut(((a, scores.get(a, stored), relevant) for a, stored, relevant in states), config.topics, threshold)
    store.save_relevance(scores.items(), flips, {"relevance_subject": subject, "relevance_cut": cut})


def _doc(a: WindowArticle) -> cluster.Doc:
    return cluster.Doc(id=str(a.id), title=a.title, text=a.text, source=a.source, published=parse_iso(a.published))


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
    new = store.unassigned_published()
    if not new:
        return
    lo, hi = story_window([parse_iso(p) for p in new])
    window = store.window_articles(iso(lo), iso(hi))
    docs = [_doc(a) for a in window]
    parts = _kept_parts(store, "article", [a.id for a in window], docs)
    labels = cluster.cluster_docs(docs, window_days=CLUSTER_WINDOW_DAYS, parts=parts)
    members = [identity.Member(article=a.id, story=a.story, cluster=int(c), key=(a.published, a.url))
               for a, c in zip(window, labels)]
    story_ids = sorted({m.story for m in members if m.story is not None})
    priors = [identity.Prior(id=sid, first=first) for sid, first in store.first_published(story_ids)]
    decision = identity.decide(members, priors)
    title = {a.id: a.title for a in window}
    before = {m.article: m.story for m in members}
    target: dict[int, int | str] = {**decision.existing, **{a: f"new:{k}" for a, k in decision.new.items()}}
    opened = store.save_assignment(
        opened=[title[articles[0]] for articles in decision.opened],
        moves={a: s for a, s in target.items() if before[a] != s},
        merged=decision.merged, changed=decision.changed, now=iso(now), slug=_slug)
    summary.new_stories += len(opened)
    summary.merged_stories += len(decision.merged)
    summary.updated_stories += len(decision.changed - set(decision.merged))


def _kept_parts(store: Store, kind: str, ids: Sequence[int], docs: Sequence[cluster.Doc]) -> list[cluster.Parts]:
    """Each doc's clustering parts: stored ones where its text is unchanged, the others made now and stored.
    Only these ids' parts are kept afterwards (the next run's window is this one's, an hour on)."""
    digests = {i: features.parts_digest(d) for i, d in zip(ids, docs)}
    found = {i: p for i, blob in store.doc_parts(kind, digests).items() if (p := features.Parts.loads(blob)) is not None}
    missing = [k for k, i in enumerate(ids) if i not in found]
    made = cluster.doc_parts([docs[k] for k in missing])
    for k, p in zip(missing, made):
        found[ids[k]] = p
    store.save_doc_parts(kind, [(ids[k], digests[ids[k]], p.dumps()) for k, p in zip(missing, made)], keep=ids)
    return [found[i] for i in ids]


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
    dirty_ids = store.dirty_story_ids()
    if not dirty_ids:
        return set()
    stories = {s.id: s for s in store.stories(dirty_ids)}
    texts = store.recent_story_texts(iso(now - timedelta(days=30)))
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
        updates[story_id] = (title, text, source.url if source else None)
        texts[story_id] = f"{title}. {text}"
    recent = list(texts.items())
    parts = _kept_parts(store, "story", [sid for sid, _ in recent], [cluster.Doc(id=str(sid), title=t) for sid, t in recent])
    related = cluster.related(recent, parts=parts, changed=updates) if texts else {}
    refreshed = [
        RefreshedStory(id=story_id, title=title, summary=text, summary_url=summary_url,
                       facts_json=facts_to_json(found[story_id]), related=tuple(related.get(story_id, ())),
                       first_published=iso(stories[story_id].first_published), last_published=iso(stories[story_id].last_published))
        for story_id, (title, text, summary_url) in updates.items()
    ]
    store.save_refreshed(refreshed, [sid for sid in dirty_ids if sid not in updates], iso(now))
    return set(dirty_ids)
