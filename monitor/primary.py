"""The primary source of a story: the document its outlets point to (a lab's post, a paper, a bill, a filing).

A link of an article body (`Article.links`) is a primary source when two or more independent outlets link
it, or when one article names it as its source (the anchor text or the words just before it say "paper",
"filing", "according to", ...). Links to social media and to the story's own outlets (any site an article
of the story was served from) never count. Pure: articles in, PrimarySource tuples out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from courlan import extract_domain

from monitor.models import Article, originals, outlet_of
from monitor.urls import canonical_url, host_of

SOCIAL = {"twitter.com", "x.com", "t.co", "facebook.com", "fb.com", "instagram.com", "linkedin.com", "lnkd.in",
          "youtube.com", "youtu.be", "tiktok.com", "threads.net", "reddit.com", "t.me", "telegram.me", "bsky.app",
          "mastodon.social", "whatsapp.com", "pinterest.com", "snapchat.com", "tumblr.com", "flipboard.com",
          "news.google.com", "discord.gg", "discord.com"}
_CUES = re.compile(r"\b(?:paper|preprint|study|report|filing|filed|complaint|ruling|judgment|bill|legislation|"
                   r"statement|announcement|announced|blog post|post|letter|full text|document|documents|source|"
                   r"according to|published|released|press release|transcript|dataset)\b", re.I)
_GENERIC = {"here", "this", "link", "read more", "click here", "source", "the post", "the paper", "this post"}


@dataclass(frozen=True)
class PrimarySource:
    url: str
    host: str
    title: str  # "" when not known
    outlets: tuple[str, ...]  # names of the outlets whose articles link it


def site_of(url: str) -> str:
    """The registrable domain of a URL (bbc.co.uk for www.bbc.co.uk); host:port when there is none (127.0.0.1:80)."""
    try:
        domain = extract_domain(url, fast=True)
    except (ValueError, TypeError):
        domain = None
    if domain:
        return domain.lower()
    try:
        return (urlsplit(url).netloc.rsplit("@", 1)[-1] or "").lower()
    except ValueError:
        return ""


def _excluded(url: str, own_sites: set[str]) -> bool:
    host = host_of(url)
    if not host:
        return True
    if any(host == s or host.endswith("." + s) for s in SOCIAL):
        return True
    return site_of(url) in own_sites


def _names_as_source(article: Article, anchor: str) -> bool:
    if _CUES.search(anchor):
        return True
    at = article.text.find(anchor) if len(anchor) >= 4 else -1
    return at >= 0 and bool(_CUES.search(article.text[max(0, at - 60):at]))


def primary_sources(articles: Sequence[Article], *, limit: int = 3) -> tuple[PrimarySource, ...]:
    """The documents the story's outlets point to, most linked first."""
    own = {site_of(u) for a in articles for u in (a.url, *a.urls)} | {a.outlet for a in articles if a.outlet}
    titles = {a.url: a.title for a in articles}
    by_url: dict[str, dict] = {}
    for a in originals(articles):
        for i, raw in enumerate(a.links):
            try:
                url = canonical_url(raw)
            except ValueError:
                continue
            if _excluded(url, own):
                continue
            anchor = a.link_texts[i] if i < len(a.link_texts) else ""
            entry = by_url.setdefault(url, {"outlets": {}, "named": False, "anchors": []})
            entry["outlets"].setdefault(outlet_of(a), a.source)
            entry["anchors"].append(anchor)
            entry["named"] = entry["named"] or _names_as_source(a, anchor)
    picked = [(u, e) for u, e in by_url.items() if len(e["outlets"]) >= 2 or e["named"]]
    picked.sort(key=lambda ue: (-len(ue[1]["outlets"]), not ue[1]["named"], ue[0]))
    return tuple(PrimarySource(url=u, host=host_of(u), title=titles.get(u) or _title(e["anchors"]),
                               outlets=tuple(e["outlets"].values())) for u, e in picked[:limit])


def _title(anchors: list[str]) -> str:
    """The longest anchor text that reads like a title (three words or more, not "here" or "this post")."""
    good = [t for t in anchors if len(t.split()) >= 3 and t.lower().strip(" .") not in _GENERIC]
    return max(good, key=len) if good else ""


__all__ = ["PrimarySource", "primary_sources", "site_of"]
