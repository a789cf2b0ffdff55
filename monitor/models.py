"""The data that flows between stages: small frozen dataclasses, no behaviour beyond derived fields.

Times are timezone-aware datetimes in UTC everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

Clock = Callable[[], datetime]  # the run's clock, passed in (tests pin it)
Report = Callable[[str, int, int], None]  # (stage, done, total) for a progress display


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
    links: tuple[str, ...] = ()  # outbound http(s) links of the article body, absolute, in order
    link_texts: tuple[str, ...] = ()  # the anchor text of each link (same length as links)


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
    outlet: str = ""  # registrable domain of the host that served the article ("" when not known yet)
    links: tuple[str, ...] = ()  # outbound links of the body (Extracted.links)
    link_texts: tuple[str, ...] = ()


def outlet_of(article: Article) -> str:
    """Who published an article, for counting outlets: the serving host's registrable domain, else the outlet
    name. A host that cannot tell outlets apart (an IP address or a one-label name such as 'localhost', where one
    machine may serve many outlets) is qualified by the name: a feed cannot claim a name (see ingest), so this
    adds no way to fake an outlet."""
    host = article.outlet
    if not host:
        return article.source
    return host if names_an_outlet(host) else f"{host} {article.source}"


def names_an_outlet(domain: str) -> bool:
    """False for a registrable domain that cannot tell outlets apart: an IP address or a one-label name."""
    return "." in domain and not domain.replace(".", "").isdigit() and ":" not in domain


def originals(articles) -> list[Article]:
    """The articles that are not a syndicated copy of another article in `articles`, earliest first."""
    ids = {a.id for a in articles if a.id is not None}
    return [a for a in sorted(articles, key=lambda a: (a.published, a.id or 0))
            if a.duplicate_of is None or a.duplicate_of not in ids or a.duplicate_of == a.id]


def independent_reports(articles) -> list[Article]:
    """One article per outlet (its earliest original): what outlet counts count."""
    seen: dict[str, Article] = {}
    for a in originals(articles):
        seen.setdefault(outlet_of(a), a)
    return list(seen.values())


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
    outlets: tuple[str, ...]  # distinct independent outlets that report it (names)
    evidence: tuple[Evidence, ...] = ()  # one per outlet, in the order of `outlets`
    speaker: str = ""  # quotes: who is quoted, when the sentence says ("" when it does not)
    dispute: str = ""  # set on figures that disagree: facts with the same label are rival values of one quantity


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
    summary_url: str | None = None  # the article the summary is taken from

    @property
    def originals(self) -> tuple[Article, ...]:
        """Every article but the syndicated copies of another article of the story, earliest first."""
        return tuple(originals(self.articles))

    @property
    def reports(self) -> tuple[Article, ...]:
        """The independent reports: one original per outlet (see independent_reports)."""
        return tuple(independent_reports(self.articles))

    @property
    def first_published(self) -> datetime:
        return min(a.published for a in self.articles)

    @property
    def last_published(self) -> datetime:
        return max(a.published for a in self.articles)

    @property
    def sources(self) -> tuple[str, ...]:
        """Names of the independent outlets, in order of first coverage (a syndicated copy adds none)."""
        return tuple(dict.fromkeys(a.source for a in self.reports))


@dataclass(frozen=True)
class MergedStory:
    """A story that merged into another: its page (under its own slug) redirects to the survivor's."""

    id: int
    slug: str
    into: int  # the surviving story (the end of the chain when the survivor merged again)


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


# --- what the ingest stages decide and the store writes (see monitor/folding.py) ----------------------


@dataclass(frozen=True)
class EntryRecord:
    """One feed entry as it is to be stored: the article it names and what this feed may say about it.

    Who may say what (issue 15, item 3): a plain feed names only itself as the source; an aggregator's item
    names its outlet by `<source>`. `own` (the outlet's own feed) outranks any other feed on the headline.
    """

    guid: str
    url: str  # the article's canonical address
    aliases: tuple[str, ...]  # every address the entry reaches it by (url first), looked up and recorded
    title: str
    source: str
    outlet: str
    own: bool = False
    summary: str = ""
    author: str | None = None
    published: datetime | None = None  # None: the entry gave no date (the article is dated when first seen)
    published_has_time: bool = False
    aggregator_link: str | None = None  # an aggregator item's own link: its queued resolution names this article
    queue: tuple[str, str | None] | None = None  # (aggregator link, its target when known without a request)


@dataclass(frozen=True)
class PendingPage:
    """An article whose page is still to be fetched and extracted."""

    id: int
    url: str
    feed_url: str | None = None


@dataclass(frozen=True)
class StoredPage:
    """What the page stage needs to know of a stored article before it saves the article's page."""

    id: int
    url: str
    published: datetime
    published_has_time: bool = False


@dataclass(frozen=True)
class PageRecord:
    """What one extracted page changes: the article keeps the page (`fold_into` None), or it turns out to be
    another stored article of the same outlet (`fold_into`): it folds into that one, and the text is not kept
    (an article's text comes from its own URL's page only)."""

    article_id: int
    url: str  # the article's address from now on
    aliases: tuple[str, ...]  # addresses recorded for the article kept (`fold_into` or `article_id`)
    page: Extracted
    published: datetime
    published_has_time: bool
    outlet: str  # registrable domain of the host that served the page
    fold_into: int | None = None


@dataclass(frozen=True)
class QueuedLink:
    """An aggregator link waiting to be resolved, and the headline-only article stored under it."""

    link: str
    feed_url: str
    article_id: int
    attempts: int = 0


@dataclass(frozen=True)
class ResolutionRecord:
    """What a resolved aggregator link changes: the waiting article moves to `url`, or folds into
    `fold_into`, the article already stored there."""

    link: str
    url: str  # canonical form of the resolved target
    article_id: int
    outlet: str = ""  # registrable domain of `url`
    aliases: tuple[str, ...] = ()
    fold_into: int | None = None


@dataclass(frozen=True)
class Retry:
    """A failure to record: how many so far, the error, and when to try again."""

    attempts: int
    error: str
    at: datetime


@dataclass(frozen=True)
class WindowArticle:
    """A relevant original of the window a run re-clusters, as the stories stage reads it."""

    id: int
    url: str
    title: str
    text: str  # its page's text, or else its feed summary
    source: str
    published: str  # ISO 8601 UTC, as stored
    story: int | None


@dataclass(frozen=True)
class RefreshedStory:
    """What recomputing one changed story writes: its headline, summary, facts and related stories."""

    id: int
    title: str
    summary: str
    summary_url: str | None
    facts_json: str
    related: tuple[int, ...]
    first_published: str | None
    last_published: str | None
