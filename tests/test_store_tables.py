"""The store's methods for the feed, page, link and site stages, on a real SQLite file and PostgreSQL database: what one stage writes is
what the next reads, and the counts kept for cheap reads agree with counting the rows."""

import sqlite3
from datetime import datetime, timedelta, timezone

from monitor.folding import entry_record
from monitor.models import Entry, Extracted, Feed, PageRecord, QueuedLink, ResolutionRecord, Retry
from monitor.store import MIGRATIONS, VERSION, Store

from tests.db import db_write

T = datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc)
A = Feed(url="https://harbourledger.example/feed.xml", name="Harbour Ledger")
B = Feed(url="https://reposter.example/feed.xml", name="Reposter")


def store_entries(store, feed, links, *, now=T):
    records = [entry_record(feed, Entry(link=link, guid=f"{feed.url}#{link}", title=link.rsplit("/", 1)[1]),
                            feed_title=None) for link in links]
    return store.record_feed_ok(feed, records, title=None, etag='"e1"', last_modified=None, problem=None, now=now,
                                next_due=now + timedelta(hours=1))


def counted(store):
    """What each feed listed, counted the slow way."""
    rows = store.db.execute("SELECT feed_url, count(DISTINCT article_id) FROM entries GROUP BY feed_url").fetchall()
    return {url: n for url, n in rows}


def test_entries_make_articles_once_and_feed_counts_follow_folds(database):
    with Store.open(database) as store:
        store.sync_feeds([A, B])
        one, two = "https://harbourledger.example/news/one", "https://harbourledger.example/news/two"
        assert store_entries(store, A, [one, two]) == 2
        assert store_entries(store, B, [one, two]) == 0  # the same addresses: no new article
        assert store_entries(store, A, [one]) == 0  # a guid seen before is skipped
        statuses = {f.url: f.articles for f in store.feed_statuses()}
        assert statuses == counted(store) == {A.url: 2, B.url: 2}
        # the page of "two" names "one" as its canonical URL: "two" folds into "one"
        first, second = store.article_id_for_url(one), store.article_id_for_url(two)
        state = store.page_state(second)
        store.save_extraction(PageRecord(article_id=second, url=state.url, aliases=(two,), page=Extracted(text="x"),
                                         published=T, published_has_time=True, outlet="harbourledger.example",
                                         fold_into=first))
        assert store.article_id_for_url(two) == first and store.page_state(second) is None
        assert {f.url: f.articles for f in store.feed_statuses()} == counted(store) == {A.url: 1, B.url: 1}
        assert store.feed_validators()[A.url] == ('"e1"', None)


def test_a_saved_page_is_extracted_and_leaves_the_pending_pages(database):
    with Store.open(database) as store:
        store.sync_feeds([A])
        url = "https://harbourledger.example/news/one"
        store_entries(store, A, [url])
        pending = store.pending_pages(now=T, max_attempts=6, stale_after=T + timedelta(days=2), limit=10)
        assert [p.url for p in pending] == [url]
        aid = pending[0].id
        store.record_page_failures({aid: Retry(attempts=1, error="timed out", at=T + timedelta(hours=1))})
        assert store.pending_pages(now=T, max_attempts=6, stale_after=T + timedelta(days=2), limit=10) == []
        later = T + timedelta(hours=2)
        assert store.page_attempts([aid]) == {aid: 1}
        assert [p.id for p in store.pending_pages(now=later, max_attempts=6, stale_after=later + timedelta(days=2), limit=10)] == [aid]
        kept = store.save_extraction(PageRecord(
            article_id=aid, url=url + "-moved", aliases=(url + "-moved",), published=T, published_has_time=True,
            outlet="harbourledger.example", page=Extracted(text="The full text.", title="One, from the page",
                                                           links=("https://source.example/report",), link_texts=("report",))))
        assert kept == aid
        article = store.articles()[0]
        assert (article.extracted, article.url, article.title, article.text) == (True, url + "-moved", "One, from the page", "The full text.")
        assert article.links == ("https://source.example/report",) and url in article.urls
        assert store.pending_pages(now=later, max_attempts=6, stale_after=later + timedelta(days=2), limit=10) == []
        assert store.story_work_waiting()  # new text: to be scored again


def test_a_resolved_link_moves_the_waiting_article_and_a_failure_waits(database):
    google = "https://news.google.com/rss/articles/CBMiQWh0dHBzOi8vZXhhbXBsZS5jb20vYQ?oc=5"
    feed = Feed(url="https://news.google.com/rss/search?q=tunnel", aggregator=True)
    with Store.open(database) as store:
        store.sync_feeds([feed])
        record = entry_record(feed, Entry(link=google, guid="g", title="Tunnel", source="Harbour Ledger"), feed_title=None)
        store.record_feed_ok(feed, [record], title=None, etag=None, last_modified=None, problem=None, now=T, next_due=T)
        queued = store.queued_links(now=T, max_attempts=8, limit=10)
        assert [(q.link, q.attempts) for q in queued] == [(google, 0)]
        assert store.pending_pages(now=T, max_attempts=6, stale_after=T, limit=10) == []  # its page is Google's
        store.record_link_failure(queued[0], Retry(attempts=1, error="429", at=T + timedelta(hours=1)))
        assert store.queued_links(now=T, max_attempts=8, limit=10) == []
        again = store.queued_links(now=T + timedelta(hours=2), max_attempts=8, limit=10)
        assert again == [QueuedLink(link=google, feed_url=feed.url, article_id=queued[0].article_id, attempts=1)]
        real = "https://harbourledger.example/news/tunnel"
        store.save_resolution(ResolutionRecord(link=google, url=real, article_id=again[0].article_id,
                                               outlet="harbourledger.example", aliases=(real,)))
        assert store.resolved_links([google]) == {google: real}
        assert store.article_id_for_url(real) == again[0].article_id
        assert [p.url for p in store.pending_pages(now=T, max_attempts=6, stale_after=T, limit=10)] == [real]


def test_mark_published_clears_dirty_stories_and_keeps_the_feed_health(database):
    with Store.open(database) as store:
        assert store.site_feed_health() is None and not store.story_work_waiting()
        with db_write(store) as db:
            db.execute("INSERT INTO stories(id, slug, title, updated) VALUES (1, '1-a', 'A', ?)", (T.isoformat(),))
        assert store.story_work_waiting()  # a new story is dirty
        store.mark_published({1}, feed_health="abc")
        assert store.site_feed_health() == "abc" and not store.story_work_waiting()


def test_version_4_databases_get_their_feed_counts(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:4]:
        for part in step if isinstance(step, list) else [step]:
            part(db) if callable(part) else db.executescript(part)
    db.executescript("""
        INSERT INTO feeds(url, name) VALUES ('https://a.example/f', 'A'), ('https://b.example/f', 'B');
        INSERT INTO articles(id, url, source, title, published, first_seen) VALUES
            (1, 'https://a.example/1', 'A', 'One', '2026-11-01', '2026-11-01'),
            (2, 'https://a.example/2', 'A', 'Two', '2026-11-01', '2026-11-01');
        INSERT INTO entries VALUES ('https://a.example/f', 'x', 1, '2026-11-01'), ('https://a.example/f', 'y', 2, '2026-11-01'),
            ('https://a.example/f', 'z', 2, '2026-11-01'), ('https://b.example/f', 'x', 1, '2026-11-01');
        PRAGMA user_version = 4;
    """)
    db.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert {f.url: f.articles for f in store.feed_statuses()} == {"https://a.example/f": 2, "https://b.example/f": 1}


def test_a_read_that_fails_inside_the_store_block_is_a_store_error_naming_the_database(database):
    import re

    import pytest
    from monitor.errors import StoreError

    with pytest.raises(StoreError, match=re.escape(str(database)) + ": (no such table|relation .no_such_table. does not exist)"):
        with Store.open(database) as store:
            store.db.execute("SELECT * FROM no_such_table")


def test_version_6_databases_upgrade_and_still_find_the_same_pages_and_links_to_fetch(tmp_path):
    """Version 7 changed the indexes the pending pages and queued links are found by: an older file upgrades in
    place and answers as before (what failed for good, or waits for its link, is not asked for)."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for step in MIGRATIONS[:6]:
        for part in step if isinstance(step, list) else [step]:
            part(db) if callable(part) else db.executescript(part)
    past, future = ((T + timedelta(hours=h)).isoformat() for h in (-1, 1))
    db.executescript(f"""
        INSERT INTO feeds(url, name) VALUES ('https://a.example/f', 'A'), ('https://news.google.com/f', 'G');
        INSERT INTO articles(id, url, source, title, published, first_seen, extracted, attempts, next_attempt) VALUES
            (1, 'https://a.example/new', 'A', 'New', '2026-11-03T08:00:00+00:00', '2026-11-03', 0, 0, NULL),
            (2, 'https://a.example/failed', 'A', 'Failed for good', '2026-11-03T07:00:00+00:00', '2026-11-03', 0, 6, '{past}'),
            (3, 'https://a.example/retry-now', 'A', 'Retry due', '2026-11-02T08:00:00+00:00', '2026-11-03', 0, 2, '{past}'),
            (4, 'https://a.example/retry-later', 'A', 'Retry later', '2026-11-03T09:00:00+00:00', '2026-11-03', 0, 2, '{future}'),
            (5, 'https://a.example/done', 'A', 'Extracted', '2026-11-03T06:00:00+00:00', '2026-11-03', 1, 0, NULL),
            (6, 'https://news.google.com/a', 'G', 'Waits for its link', '2026-11-03T08:30:00+00:00', '2026-11-03', 0, 0, NULL),
            (7, 'https://news.google.com/b', 'G', 'Its link failed for good', '2026-11-03T08:40:00+00:00', '2026-11-03', 0, 0, NULL);
        INSERT INTO aggregator_links(link, feed_url, article_id, resolved_url, attempts, next_attempt, first_seen) VALUES
            ('https://news.google.com/a', 'https://news.google.com/f', 6, NULL, 1, '{past}', '2026-11-03'),
            ('https://news.google.com/b', 'https://news.google.com/f', 7, NULL, 8, '{past}', '2026-11-03'),
            ('https://news.google.com/c', 'https://news.google.com/f', 5, 'https://a.example/done', 1, NULL, '2026-11-02');
        PRAGMA user_version = 6;
    """)
    db.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        pending = store.pending_pages(now=T, max_attempts=6, stale_after=T + timedelta(days=2), limit=10)
        assert [p.url for p in pending] == ["https://a.example/new", "https://a.example/retry-now"]  # newest first
        assert [q.link for q in store.queued_links(now=T, max_attempts=8, limit=10)] == ["https://news.google.com/a"]


def test_feed_names_follow_feeds_yaml_and_an_unchanged_feeds_yaml_writes_nothing(tmp_path):
    with Store.open(tmp_path / "m.sqlite3") as store:
        unnamed = Feed(url="https://quayside.example/rss")
        store.sync_feeds([A, unnamed])
        names = lambda: {f.url: f.name for f in store.feed_statuses()}  # noqa: E731
        assert names() == {A.url: "Harbour Ledger", unnamed.url: "quayside.example"}
        store.record_feed_ok(unnamed, [], title="Quayside Weekly", etag=None, last_modified=None, problem=None, now=T, next_due=T)
        store.record_feed_ok(A, [], title="The Ledger", etag=None, last_modified=None, problem=None, now=T, next_due=T)
        before = store.db.total_changes
        store.sync_feeds([A, unnamed])
        assert store.db.total_changes == before  # nothing to change: no row written
        assert names() == {A.url: "Harbour Ledger", unnamed.url: "Quayside Weekly"}
        store.sync_feeds([Feed(url=A.url), Feed(url=unnamed.url, name="Quayside")])  # names dropped / given
        assert names() == {A.url: "The Ledger", unnamed.url: "Quayside"}
