"""The data that flows between stages: small frozen dataclasses, no behaviour beyond derived fields.

Times are timezone-aware datetimes in UTC everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Feed:
    """One feed to watch, as configured in feeds.yaml."""

    url: str
    name: str | None = None
    interval: int = 3600  # seconds between fetches; a feed's own ttl/max-age wins when longer
    tags: tuple[str, ...] = ()
    aggregator: bool = False  # a news search: items link to the aggregator and name their outlet in <source url>


@dataclass(frozen=True)
class Topic:
    """One part of the subject. `phrases` weigh most, `terms` less; `exclude` marks off-subject text."""

    name: str
    phrases: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One item of a parsed feed. `summary` is plain text (markup removed)."""

    link: str
    guid: str
    title: str = ""
    summary: str = ""
    author: str | None = None
    published: datetime | None = None
    published_has_time: bool = False  # False when the feed gave a bare date
    source: str | None = None  # the outlet named by the entry itself (news-search feeds carry <source>)
    source_url: str | None = None  # that outlet's address, from <source url="...">: http(s) only


@dataclass(frozen=True)
class ParsedFeed:
    """What a feed document says about itself and its entries."""

    title: str | None = None
    link: str | None = None
    entries: tuple[Entry, ...] = ()
    ttl: int | None = None  # seconds, from RSS <ttl> or sy:updatePeriod
    bozo: str | None = None  # why the document was not well-formed, when entries were still read


@dataclass(frozen=True)
class Extracted:
    """What trafilatura found in an article page."""

    text: str
    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    published_has_time: bool = False
    site_name: str | None = None
    image: str | None = None
    language: str | None = None
    canonical_url: str | None = None  # the page's rel=canonical, already resolved and http(s)


@dataclass(frozen=True)
class Article:
    """One stored article: one text, possibly reached at several URLs and carried by several outlets."""

    url: str  # canonical
    title: str
    source: str  # outlet name of the original
    published: datetime
    urls: tuple[str, ...] = ()
    text: str = ""
    summary: str = ""
    author: str | None = None
    image: str | None = None
    language: str | None = None
    extracted: bool = False  # False: only the feed's title and summary are known (retried later)
    id: int | None = None
    relevance: float = 0.0
    relevant: bool = False
    story: int | None = None
    duplicate_of: int | None = None  # set on a syndicated copy: the id of the article it repeats
    feed_url: str | None = None
    outlet: str = ""  # registrable domain of the host that served it (the outlet's identity, never a claimed name)


@dataclass(frozen=True)
class Evidence:
    """Where one outlet reported a fact: the sentence and the link."""

    source: str
    url: str
    sentence: str


@dataclass(frozen=True)
class Fact:
    """A figure or a direct quote reported by the articles of one story."""

    kind: str  # "figure" or "quote"
    key: str  # normalised form, e.g. "80%" for "80 percent"
    text: str  # as displayed
    outlets: tuple[str, ...]  # distinct outlets that report it
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Story:
    """Articles from one or more outlets about the same event."""

    id: int
    slug: str  # page address under stories/, fixed when the story opens
    title: str
    summary: str
    articles: tuple[Article, ...]  # in publication order; syndicated copies have duplicate_of set
    facts: tuple[Fact, ...] = ()
    related: tuple[int, ...] = ()
    updated: datetime | None = None

    @property
    def first_published(self) -> datetime:
        return min(a.published for a in self.articles)

    @property
    def last_published(self) -> datetime:
        return max(a.published for a in self.articles)

    @property
    def sources(self) -> tuple[str, ...]:
        """Distinct outlets in order of first coverage."""
        seen: dict[str, None] = {}
        for a in sorted(self.articles, key=lambda a: a.published):
            seen.setdefault(a.source, None)
        return tuple(seen)


@dataclass(frozen=True)
class FeedStatus:
    """A feed's health as stored: shown on the outlets page and by `monitor feeds`."""

    url: str
    name: str
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0
    next_due: datetime | None = None
    articles: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
