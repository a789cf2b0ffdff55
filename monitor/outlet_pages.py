"""The outlets index and one page per outlet: its feeds and their health, its stories, its articles over time.

Pure functions, like render.py, whose autoescaping templates they fill (templates/outlets_index.md and
outlet.md). An outlet is not a feed: feeds whose configured names are the same once normalised (case,
spacing, punctuation), or that are served from the same host, are one outlet. Articles belong to the
outlet their `source` names; outlets seen only through aggregator feeds (a news-search feed names each
item's outlet) get a page too, without feeds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from monitor import charts
from monitor.models import FeedStatus, Story, names_an_outlet
from monitor.render import plural, template
from monitor.urls import registrable_domain

STORIES_PER_PAGE = 50  # an outlet page lists its latest stories; the rest are in the archive
PARTLY = "partly read: "  # how ingest records a feed document read only in part (feedparser's bozo reason)
_NORM = re.compile(r"[^0-9a-z]+")
_SLUG = re.compile(r"[^a-z0-9]+")


def name_key(name: str) -> str:
    """An outlet name normalised for grouping: "The  Harbor-Tech Daily" and "the harbor tech daily" match."""
    return _NORM.sub(" ", (name or "").casefold()).strip()


def _domain(url: str) -> str | None:
    """The feed's registrable domain when it tells outlets apart (not a bare address such as 127.0.0.1)."""
    domain = registrable_domain(url)
    return domain if domain and names_an_outlet(domain) else None


@dataclass
class Outlet:
    name: str
    slug: str = ""
    feeds: list[FeedStatus] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)


def health(f: FeedStatus) -> tuple[str, str]:
    """(CSS class, words) for a feed's state: failing, not fetched yet, last fetch failed, read partly, healthy."""
    if f.failures and f.last_error:
        return "mn-bad", f"failing ({plural(f.failures, 'failure')})"
    if f.last_success is None:
        return "mn-warn", "not fetched yet"
    if f.last_error and f.last_error.startswith(PARTLY):
        return "mn-warn", "read partly"
    if f.last_error_at and f.last_success and f.last_error_at > f.last_success:
        return "mn-warn", "last fetch failed"
    return "mn-ok", "healthy"


def group(feeds: Sequence[FeedStatus], stories: Sequence[Story]) -> list[Outlet]:
    """The outlets of these feeds and stories, by name; feeds joined by normalised name or by host."""
    parent = list(range(len(feeds)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, f in enumerate(feeds):
        domain = _domain(f.url)
        for k in (f"n:{name_key(f.name or f.url)}", *([f"h:{domain}"] if domain else [])):
            if k in first:
                parent[find(i)] = find(first[k])
            else:
                first[k] = i
    outlets: dict[int, Outlet] = {}
    by_key: dict[str, Outlet] = {}
    for i, f in enumerate(feeds):  # the outlet takes the name of its first feed in feeds.yaml
        o = outlets.setdefault(find(i), Outlet(name=f.name or f.url))
        o.feeds.append(f)
        by_key.setdefault(name_key(f.name or f.url), o)
    for s in sorted(stories, key=lambda s: (s.last_published, s.id), reverse=True):
        seen: set[int] = set()
        for a in s.articles:
            found = by_key.get(name_key(a.source))
            if found is None:
                found = by_key[name_key(a.source)] = Outlet(name=a.source)
            o = found
            o.times.append(a.published)
            if id(o) not in seen:
                seen.add(id(o))
                o.stories.append(s)
    result = sorted({id(o): o for o in by_key.values()}.values(), key=lambda o: o.name.lower())
    taken: set[str] = set()
    for o in result:
        base = _SLUG.sub("-", o.name.lower()).strip("-")[:80].strip("-") or "outlet"
        slug, n = base, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        taken.add(slug)
        o.slug = slug
    return result


def pages(feeds: Sequence[FeedStatus], stories: Sequence[Story], paths: dict[int, str]) -> dict[str, str]:
    """Markdown by path: outlets/index.md and outlets/<slug>.md for every outlet."""
    outlets = group(feeds, stories)
    out = {"outlets/index.md": index_md(outlets, paths, feeds=len(feeds))}
    for o in outlets:
        # the outlet's own newest article ends its chart: its page changes only when its coverage does
        latest = max(o.times, default=datetime(1970, 1, 1, tzinfo=timezone.utc))
        out[f"outlets/{o.slug}.md"] = outlet_md(o, paths, latest=latest)
    return out


def _worst(o: Outlet) -> tuple[str, str]:
    if not o.feeds:
        return "mn-muted", "no feed of its own"
    states = [health(f) for f in o.feeds]
    for cls in ("mn-bad", "mn-warn"):
        bad = [w for c, w in states if c == cls]
        if bad:
            return cls, bad[0] if len(states) == 1 else f"{len(bad)} of {len(states)} feeds: {bad[0]}"
    return "mn-ok", "healthy"


def index_md(outlets: Sequence[Outlet], paths: dict[int, str], *, feeds: int) -> str:
    """Every outlet once (templates/outlets_index.md): its feeds' health, its articles and stories, its latest story."""
    def row(o: Outlet) -> tuple:
        last = o.stories[0] if o.stories else None
        return (o, *_worst(o), last if last and last.id in paths else None)

    own = [o for o in outlets if o.feeds]
    seen = sorted((o for o in outlets if not o.feeds), key=lambda o: (-len(o.stories), o.name.lower()))
    return template("outlets_index.md", own=[row(o) for o in own], seen=[row(o) for o in seen], paths=paths, feeds=feeds,
                    ok=sum(1 for o in own if _worst(o)[0] == "mn-ok"))


def _error_label(f: FeedStatus) -> str:
    return "Last read" if f.last_error and f.last_error.startswith(PARTLY) and not f.failures else "Last error"


def outlet_md(o: Outlet, paths: dict[int, str], *, latest: datetime) -> str:
    """One outlet (templates/outlet.md): its feeds and their health, its articles over time, its latest stories."""
    cls, word = _worst(o)
    return template("outlet.md", outlet=o, cls=cls, word=word, paths=paths,
                    chart=charts.volume_chart(o.times, now=latest, days=None) if o.times else None,
                    cards=[(f, *health(f), _error_label(f)) for f in o.feeds],
                    listed=[s for s in o.stories[:STORIES_PER_PAGE] if s.id in paths],
                    listed_of=min(len(o.stories), STORIES_PER_PAGE))
