"""The pure decisions of monitor/folding.py: which stored article an entry, a page or a resolved aggregator
link belongs to, and what it may say. No database: what the store would know comes in as arguments."""

from datetime import datetime, timezone

from monitor.folding import aggregator_target, entry_record, page_record, resolution_record, trusted_canonical
from monitor.models import Entry, Extracted, Feed, QueuedLink, StoredPage

T = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)
BING = "https://www.bing.com/news/apiclick.aspx?ref=FexRss&url=https%3a%2f%2fharbourledger.example%2fnews%2ftunnel&c=1"
GOOGLE = "https://news.google.com/rss/articles/CBMiQWh0dHBzOi8vZXhhbXBsZS5jb20vYQ?oc=5"


def stored(url="https://harbourledger.example/news/tunnel-copy", published=T, has_time=True):
    return StoredPage(id=7, url=url, published=published, published_has_time=has_time)


def page(canonical=None, **fields):
    return Extracted(text="Body of the article.", title="Tunnel budget approved", canonical_url=canonical, **fields)


# --- pages: the canonical URL ------------------------------------------------------------------


def test_a_page_naming_another_stored_article_of_its_site_folds_into_it_and_keeps_no_text():
    final = "https://harbourledger.example/news/tunnel-copy?utm_source=rss"
    record = page_record(stored(), page("https://harbourledger.example/news/tunnel"), final_url=final,
                         owner_of={"https://harbourledger.example/news/tunnel": 3}.get, fetched_at=T)
    assert record.fold_into == 3 and record.article_id == 7
    # only the address it was read at joins the original: the canonical one is the original's already
    assert "https://harbourledger.example/news/tunnel" not in record.aliases
    assert final in record.aliases


def test_a_page_whose_canonical_url_is_new_moves_the_article_there():
    record = page_record(stored(), page("https://harbourledger.example/news/tunnel"),
                         final_url="https://harbourledger.example/news/tunnel-copy", owner_of={}.get, fetched_at=T)
    assert record.fold_into is None
    assert record.url == "https://harbourledger.example/news/tunnel"
    assert record.aliases[:2] == ("https://harbourledger.example/news/tunnel-copy", "https://harbourledger.example/news/tunnel")


def test_a_page_cannot_claim_another_outlets_url():
    victim = "https://victim.example/news/tunnel"
    record = page_record(stored(), page(victim), final_url="https://harbourledger.example/news/tunnel-copy",
                         owner_of={victim: 3}.get, fetched_at=T)
    assert record.fold_into is None and record.url == "https://harbourledger.example/news/tunnel-copy"
    assert victim not in record.aliases
    assert trusted_canonical(victim, "https://harbourledger.example/x") is None
    assert trusted_canonical("javascript:alert(1)", "https://harbourledger.example/x") is None


def test_a_canonical_url_already_its_own_changes_nothing_and_the_outlet_is_the_serving_host():
    url = "https://harbourledger.example/news/tunnel"
    record = page_record(stored(url), page(url), final_url="https://www.harbourledger.example/news/tunnel",
                         owner_of={url: 7}.get, fetched_at=T)
    assert record.fold_into is None and record.url == url and record.outlet == "harbourledger.example"


def test_the_page_date_counts_only_when_it_is_more_precise_and_not_in_the_future():
    bare_day = datetime(2026, 11, 2, tzinfo=timezone.utc)
    with_time = datetime(2026, 11, 2, 14, 30, tzinfo=timezone.utc)
    url = "https://harbourledger.example/a"
    record = page_record(stored(url, bare_day, False), page(published=with_time, published_has_time=True),
                         final_url=url, owner_of={}.get, fetched_at=T)
    assert (record.published, record.published_has_time) == (with_time, True)
    future = datetime(2099, 1, 1, 12, 0, tzinfo=timezone.utc)
    record = page_record(stored(url, bare_day, False), page(published=future, published_has_time=True),
                         final_url=url, owner_of={}.get, fetched_at=T)
    assert (record.published, record.published_has_time) == (bare_day, False)


# --- feed entries -------------------------------------------------------------------------------


def test_a_plain_feed_names_only_itself_and_its_own_outlet_outranks_others():
    entry = Entry(link="https://harbourledger.example/news/tunnel?utm_source=rss", guid="g1", title="Tunnel",
                  source="Victim Daily", source_url="https://victim.example/")
    own = entry_record(Feed(url="https://harbourledger.example/feed.xml", name="Harbour Ledger"), entry, feed_title=None)
    other = entry_record(Feed(url="https://reposter.example/feed.xml"), entry, feed_title="Reposter")
    assert own.own and own.source == "Harbour Ledger" and own.url == "https://harbourledger.example/news/tunnel"
    assert not other.own and other.source == "Reposter"  # its <source> claim is ignored
    assert own.outlet == other.outlet == "harbourledger.example"
    assert own.aliases == ("https://harbourledger.example/news/tunnel", entry.link)


def test_an_entry_whose_link_is_not_a_url_stores_nothing():
    assert entry_record(Feed(url="https://a.example/f"), Entry(link="javascript:alert(1)", guid="x"), feed_title=None) is None


def test_aggregator_items_are_stored_under_their_real_url_or_wait_under_the_link():
    feed = Feed(url="https://www.bing.com/news/search?q=tunnel&format=rss", aggregator=True)
    bing = entry_record(feed, Entry(link=BING, guid="b", title="Tunnel approved - Harbour Ledger", source="Harbour Ledger"),
                        feed_title=None)
    assert bing.url == "https://harbourledger.example/news/tunnel" and bing.title == "Tunnel approved"
    assert bing.queue == (BING, "https://harbourledger.example/news/tunnel") and bing.aggregator_link == BING
    google_feed = Feed(url="https://news.google.com/rss/search?q=tunnel", aggregator=True)
    waiting = entry_record(google_feed, Entry(link=GOOGLE, guid="g", title="Tunnel", source="Harbour Ledger",
                                              source_url="https://harbourledger.example"), feed_title=None)
    assert waiting.url == GOOGLE and waiting.queue == (GOOGLE, None)
    assert waiting.outlet == "harbourledger.example"  # named by <source url> while the link waits
    cached = entry_record(google_feed, Entry(link=GOOGLE, guid="g2", title="Tunnel"), feed_title=None,
                          resolved="https://harbourledger.example/news/tunnel")
    assert cached.url == "https://harbourledger.example/news/tunnel" and cached.queue is None
    assert aggregator_target("https://harbourledger.example/direct", None) == ("https://harbourledger.example/direct", False, None)


# --- resolved aggregator links ------------------------------------------------------------------


def test_a_resolved_link_moves_its_article_or_folds_it_into_the_one_stored_there():
    link = QueuedLink(link=GOOGLE, feed_url="https://news.google.com/rss/search?q=t", article_id=5)
    target = "https://harbourledger.example/news/tunnel?utm_medium=x"
    moved = resolution_record(link, target, owner_of={}.get)
    assert moved.fold_into is None and moved.url == "https://harbourledger.example/news/tunnel"
    assert moved.outlet == "harbourledger.example" and set(moved.aliases) == {moved.url, target}
    folded = resolution_record(link, target, owner_of={"https://harbourledger.example/news/tunnel": 2}.get)
    assert folded.fold_into == 2 and folded.url == moved.url
    assert resolution_record(link, target, owner_of={target: 5}.get).fold_into is None  # already its own
    assert resolution_record(link, "not a url", owner_of={}.get) is None
