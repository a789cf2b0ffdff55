"""Which stored article a feed entry, a page or a resolved aggregator link belongs to, and what it may say:
pure decisions that return what to write (models.EntryRecord, PageRecord, ResolutionRecord); the store
writes it. What the store knows comes in as arguments: the cached resolution of a link, and a lookup of the
article a URL is stored under (`Store.article_id_for_url`; a dict's `get` in tests).

The rules (tests/test_hostile.py holds them to account):
- an address is the article: every form an entry, a page or a resolution reaches it by is recorded, and a
  second address found to be the same article folds into the first;
- a page's canonical URL counts only on the page's own registrable domain: a page cannot claim another
  outlet's article;
- an article's text comes from its own URL's page only: a page whose canonical URL names another stored
  article folds into it and its text is not kept (the other article waits for its own fetch);
- who may name the headline: any feed (rank 0) < the outlet's own feed (1) < the page itself (2); a plain
  feed names only itself as the source, an aggregator's item its outlet (`<source>`);
- the most precise date wins: a time of day beats a bare date; the feed wins a tie; a page dated in the
  future (or before 1990) says nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

from .aggregators import bing_target, needs_request, strip_outlet_suffix
from .feeds import clamp_date
from .models import Entry, EntryRecord, Extracted, Feed, PageRecord, QueuedLink, ResolutionRecord, StoredPage
from .urls import canonical_url, host_of, registrable_domain

Lookup = Callable[[str], "int | None"]  # url -> the id of the article stored under it (Store.article_id_for_url)


def entry_record(feed: Feed, entry: Entry, *, feed_title: str | None, resolved: str | None = None) -> EntryRecord | None:
    """What one feed entry stores (None when its link is not a usable URL). `resolved`: the article URL the
    entry's aggregator link was resolved to before, if it was."""
    title, link, waiting, queue = entry.title, entry.link, False, None
    if feed.aggregator:
        title = strip_outlet_suffix(title, entry.source)
        link, waiting, queue = aggregator_target(entry.link, resolved)
    try:
        url = canonical_url(link)
    except ValueError:
        return None
    own = not feed.aggregator and registrable_domain(feed.url) == registrable_domain(url)
    if feed.aggregator:
        # a waiting item's URL is the aggregator's: its outlet is the <source url> it names
        source = entry.source or host_of((entry.source_url or "") if waiting else url) or feed.name or feed.url
        outlet = registrable_domain(entry.source_url or "") if waiting else registrable_domain(url)
    else:
        source = feed.name or feed_title or urlsplit(feed.url).hostname or feed.url
        outlet = registrable_domain(url)
    return EntryRecord(
        guid=entry.guid, url=url, aliases=tuple(dict.fromkeys((url, link, entry.link))), title=title, source=source,
        outlet=outlet, own=own, summary=entry.summary, author=entry.author, published=entry.published,
        published_has_time=entry.published_has_time, aggregator_link=entry.link if feed.aggregator else None,
        queue=queue,
    )


def aggregator_target(link: str, resolved: str | None) -> tuple[str, bool, tuple[str, str | None] | None]:
    """(the URL to store an aggregator's item under, True while it waits for a resolution by request, the
    (link, target) to queue or None). A link resolved before is taken from the cache; a Bing link is read
    here (no request); a Google link is queued and the item stored under it meanwhile, headline-only."""
    if resolved:
        return resolved, False, None
    target = bing_target(link)
    if target is None and not needs_request(link):
        return link, False, None  # an aggregator may also link to articles directly
    return (target, False, (link, target)) if target else (link, True, (link, None))


def trusted_canonical(canonical: str | None, page_url: str) -> str | None:
    """The canonical form of a page's stated canonical URL when it is on the page's own registrable
    domain, else None."""
    if not canonical:
        return None
    try:
        canonical = canonical_url(canonical)
    except ValueError:
        return None
    return canonical if registrable_domain(canonical) == registrable_domain(page_url) else None


def page_record(stored: StoredPage, page: Extracted, *, final_url: str, owner_of: Lookup,
                fetched_at: datetime) -> PageRecord:
    """What an extracted page changes. `final_url`: where the page was read (after redirects); `owner_of(url)`:
    the id of the article stored under `url`, if any."""
    canonical = trusted_canonical(page.canonical_url, final_url)
    owner = owner_of(canonical) if canonical and canonical != stored.url else None
    published, has_time = page_date(stored, page, fetched_at)
    folded = PageRecord(article_id=stored.id, url=stored.url, aliases=tuple(with_canonical(final_url)), page=page,
                        published=published, published_has_time=has_time, outlet=registrable_domain(final_url), fold_into=owner)
    if owner is not None and owner != stored.id:
        return folded
    url = canonical if canonical else stored.url
    aliases = [final_url] + ([canonical] if canonical and canonical != stored.url else []) + with_canonical(final_url)
    return dataclasses.replace(folded, url=url, aliases=tuple(dict.fromkeys(aliases)), fold_into=None)


def page_date(stored: StoredPage, page: Extracted, fetched_at: datetime) -> tuple[datetime, bool]:
    """The article's date once its page is read, as read at `fetched_at`."""
    page_dt, page_has_time = clamp_date(page.published, page.published_has_time, fetched_at)
    if page_dt != page.published:
        page_dt = None  # a page dated in the future (or before 1990) says nothing: the feed's date stands
    return best_published(stored.published, stored.published_has_time, page_dt, page_has_time)


def best_published(feed_dt: datetime, feed_has_time: bool, page_dt: datetime | None, page_has_time: bool) -> tuple[datetime, bool]:
    """The most precise publication time: a time of day beats a bare date; the feed wins a tie."""
    if feed_has_time or page_dt is None:
        return feed_dt, feed_has_time
    if page_has_time:
        return page_dt, True
    return feed_dt, False


def resolution_record(link: QueuedLink, target: str, *, owner_of: Lookup) -> ResolutionRecord | None:
    """What a resolved aggregator link changes: the waiting article moves to the target's canonical URL, or
    folds into the article already stored there (reached through the outlet's own feed). None when the
    target is not a usable URL."""
    try:
        url = canonical_url(target)
    except ValueError:
        return None
    owner = owner_of(url) or owner_of(target)
    if owner is not None and owner != link.article_id:
        return ResolutionRecord(link=link.link, url=url, article_id=link.article_id, fold_into=owner)
    return ResolutionRecord(link=link.link, url=url, article_id=link.article_id, outlet=registrable_domain(url),
                            aliases=tuple(dict.fromkeys((url, target))))


def with_canonical(url: str) -> list[str]:
    """`url` and its canonical form (just `url` when it has none)."""
    try:
        return [url, canonical_url(url)]
    except ValueError:
        return [url]
