"""The database schema: the first version as one SQL string, then numbered migrations.

`Store.open` runs MIGRATIONS[n] for every n from the file's PRAGMA user_version up to VERSION, each step in
one transaction, so a database made by any earlier monitor is brought up to date and a newer one is refused.
"""

from __future__ import annotations

import re
import sqlite3

SCHEMA = """
CREATE TABLE feeds (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_fetch TEXT,
    last_success TEXT,
    last_error TEXT,
    last_error_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_due TEXT
);
CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    feed_url TEXT,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    author TEXT,
    image TEXT,
    language TEXT,
    published TEXT NOT NULL,
    published_has_time INTEGER NOT NULL DEFAULT 0,
    extracted INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_error TEXT,
    signature BLOB,
    duplicate_of INTEGER REFERENCES articles(id),
    relevance REAL NOT NULL DEFAULT 0,
    relevant INTEGER NOT NULL DEFAULT 0,
    scored INTEGER NOT NULL DEFAULT 0,
    story_id INTEGER REFERENCES stories(id),
    first_seen TEXT NOT NULL
);
CREATE INDEX articles_pending ON articles(extracted, next_attempt);
CREATE INDEX articles_published ON articles(published);
CREATE INDEX articles_story ON articles(story_id);
CREATE TABLE article_urls (
    url TEXT PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id)
);
CREATE INDEX article_urls_article ON article_urls(article_id);
CREATE TABLE entries (
    feed_url TEXT NOT NULL,
    guid TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    first_seen TEXT NOT NULL,
    PRIMARY KEY (feed_url, guid)
);
CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    first_published TEXT,
    last_published TEXT,
    related TEXT NOT NULL DEFAULT '[]',
    facts TEXT NOT NULL DEFAULT '[]',
    updated TEXT NOT NULL,
    dirty INTEGER NOT NULL DEFAULT 1,
    unpublished INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX stories_last ON stories(last_published);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""

# Version 2: a story merged into another keeps its row (its page becomes a redirect) and names the survivor;
# indexes so that a run's cost follows what is new, not the archive: copies by their original (every story
# change moves an article's copies with it), the articles still to cluster, and those still to score.
STORY_IDENTITY = """
ALTER TABLE stories ADD COLUMN merged_into INTEGER REFERENCES stories(id);
CREATE INDEX articles_duplicate ON articles(duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_unassigned ON articles(published) WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL;
CREATE INDEX articles_unscored ON articles(id) WHERE scored = 0;
CREATE INDEX stories_dirty ON stories(id) WHERE dirty = 1;
CREATE INDEX stories_merged ON stories(merged_into) WHERE merged_into IS NOT NULL
"""

# Version 3: each article body's outbound links (JSON [[url, anchor text], ...]) for the story page's primary
# sources, and which article a story's summary is taken from (for its attribution)
LINKS = """
ALTER TABLE articles ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
ALTER TABLE stories ADD COLUMN summary_url TEXT
"""

def _fill_outlets(db: sqlite3.Connection) -> None:
    """Migration to version 4, second half: every stored article's outlet from its own URL (the host that served it)."""
    from ..urls import registrable_domain

    rows = db.execute("SELECT id, url FROM articles").fetchall()
    db.executemany("UPDATE articles SET outlet = ? WHERE id = ?", [(registrable_domain(r[1]), r[0]) for r in rows])


# Version 4: the outlet's identity (issue 15, item 4), which writer set the title (item 3), and the cache of
# aggregator links (issue 16): a link is resolved once; an unresolved one is retried with backoff.
AGGREGATORS = """
ALTER TABLE articles ADD COLUMN outlet TEXT NOT NULL DEFAULT '';
ALTER TABLE articles ADD COLUMN title_rank INTEGER NOT NULL DEFAULT 0;
CREATE TABLE aggregator_links (
    link TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL,
    article_id INTEGER REFERENCES articles(id),
    resolved_url TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_error TEXT,
    first_seen TEXT NOT NULL
);
CREATE INDEX aggregator_links_pending ON aggregator_links(resolved_url, next_attempt);
CREATE INDEX aggregator_links_feed ON aggregator_links(feed_url)
"""

# Version 5: what each feed listed is counted as it is stored (feeds.articles: distinct articles among the
# feed's entries), so that the feed statuses every run reads cost one row per feed, not a scan of every entry;
# entries by article, so that folding one article into another does not scan every entry either.
FEED_COUNTS = """
ALTER TABLE feeds ADD COLUMN articles INTEGER NOT NULL DEFAULT 0;
CREATE INDEX entries_article ON entries(article_id);
UPDATE feeds SET articles = (SELECT count(DISTINCT article_id) FROM entries WHERE entries.feed_url = feeds.url)
"""

# Version 6: what the story clustering reads of each article (and each story, for related stories) that
# does not depend on the window, kept so that a run does not tokenise and embed its whole window again
# (monitor/features.py Parts; `digest` is the hash of the text it was made from, so a changed text is made
# again). A cache: rows may be deleted at any time.
DOC_PARTS = """
CREATE TABLE doc_parts (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    digest BLOB NOT NULL,
    parts BLOB NOT NULL,
    PRIMARY KEY (kind, id)
)
"""

# Version 7: the questions every run asks of what is still to fetch leave out what failed for good, so that
# an hourly run's cost follows what is pending, not the archive: the pages to fetch by their attempts among the
# articles not extracted (a page that failed MAX_PAGE_ATTEMPTS times stays there, out of the range asked for;
# the index on (extracted, next_attempt) it replaces had every one of them read); the links to resolve by their
# attempts, likewise (replacing the one on (resolved_url, next_attempt)); and the articles waiting for their link's
# resolution by article, asked for each pending page.
PENDING = """
DROP INDEX IF EXISTS articles_pending;
CREATE INDEX articles_to_fetch ON articles(attempts) WHERE extracted = 0;
DROP INDEX IF EXISTS aggregator_links_pending;
CREATE INDEX aggregator_links_queued ON aggregator_links(attempts) WHERE resolved_url IS NULL AND article_id IS NOT NULL;
CREATE INDEX aggregator_links_waiting ON aggregator_links(article_id) WHERE resolved_url IS NULL
"""

# MIGRATIONS[n] upgrades a database at version n to n + 1. Version 0 is an empty file. A step is SQL
# statements separated by ";", or a list of such strings and functions of the connection (run in order).
MIGRATIONS: list = [SCHEMA, STORY_IDENTITY, LINKS, [AGGREGATORS, _fill_outlets], FEED_COUNTS, DOC_PARTS, PENDING]
VERSION = len(MIGRATIONS)
# The tables the migrations make (a PostgreSQL database that already has one of these is not taken over).
TABLES = frozenset(re.findall(r"CREATE TABLE (\w+)", " ".join(p for m in MIGRATIONS for p in (m if isinstance(m, list) else [m])
                                                          if isinstance(p, str))))
