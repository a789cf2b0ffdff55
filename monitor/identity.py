"""Which story each article of a re-clustered window belongs to: the identity rules, pure.

Each run clusters the window afresh (monitor/stories.py chooses it); the clusters say which articles
belong together, these rules say which story id each cluster carries, so that a story's id (and its
page) lasts as long as the story does:

1. The main part of an existing story is the cluster holding most of its window articles (a tie goes
   to the cluster whose first article is earliest). Its articles outside the window (anchors) never
   move: they stay with the story, so they count for its age but never pull a cluster to themselves.
2. A cluster that is the main part of no story opens a new story.
3. A cluster that is the main part of one story carries that story's id.
4. A cluster that is the main part of several stories carries the id of the oldest of them (the
   earliest first article, anchors included; a tie goes to the lower id); the others merge into it.
   Their pages become redirects to it and they are never reused.
5. The rest of a story (window articles outside its main part) goes wherever its cluster goes: a
   split-off part joins the story whose main part it is, or opens a new one.

Every rule depends on the clusters and the stories' own data only, never on arrival order. New stories
are listed in the order of their first article, so the caller allocates ids in that order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

__all__ = ["Member", "Prior", "Identity", "decide"]


@dataclass(frozen=True)
class Member:
    """One article of the window: its id, its story before this run (None: new) and its cluster now.

    `key` orders articles the same way whatever their arrival (e.g. (published, url)); it decides ties.
    """

    article: int
    story: int | None
    cluster: int
    key: Any  # comparable with the other members' keys


@dataclass(frozen=True)
class Prior:
    """An existing story with articles in the window: when its first article appeared, anchors included
    (any values that compare with each other; every story named by a Member needs one)."""

    id: int
    first: Any  # comparable with the other priors' values


@dataclass(frozen=True)
class Identity:
    """The outcome: the story of each article (an existing id, or the index of a story in `opened`)."""

    existing: Mapping[int, int]  # article -> existing story id it belongs to now
    new: Mapping[int, int]  # article -> index into `opened`
    opened: tuple[tuple[int, ...], ...]  # articles of each new story, oldest first; stories in first-article order
    merged: Mapping[int, int]  # story id -> the story it merged into
    changed: frozenset[int]  # existing stories whose articles changed (merged ones included)


def decide(members: Sequence[Member], priors: Sequence[Prior]) -> Identity:
    """Apply the rules in the module docstring to one re-clustered window."""
    clusters: dict[int, list[Member]] = defaultdict(list)
    for m in members:
        clusters[m.cluster].append(m)
    for group in clusters.values():
        group.sort(key=lambda m: m.key)
    first_key = {c: group[0].key for c, group in clusters.items()}

    held: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # story -> cluster -> count
    for m in members:
        if m.story is not None:
            held[m.story][m.cluster] += 1
    main = {s: min(counts, key=lambda c: (-counts[c], first_key[c])) for s, counts in held.items()}

    age = {p.id: p.first for p in priors}
    claimants: dict[int, list[int]] = defaultdict(list)
    for story, cluster in main.items():
        claimants[cluster].append(story)

    owner: dict[int, int] = {}
    merged: dict[int, int] = {}
    for cluster, stories in claimants.items():
        stories.sort(key=lambda s: (age[s], s))
        owner[cluster] = stories[0]
        merged.update((s, stories[0]) for s in stories[1:])

    fresh = sorted((c for c in clusters if c not in owner), key=lambda c: first_key[c])
    opened = tuple(tuple(m.article for m in clusters[c]) for c in fresh)
    index = {c: k for k, c in enumerate(fresh)}
    existing = {m.article: owner[m.cluster] for m in members if m.cluster in owner}
    new = {m.article: index[m.cluster] for m in members if m.cluster in index}

    changed = set(merged)
    for m in members:
        now = existing.get(m.article)
        if m.story != now:
            if m.story is not None:
                changed.add(m.story)
            if now is not None:
                changed.add(now)
    return Identity(existing=existing, new=new, opened=opened, merged=merged, changed=frozenset(changed))
