"""The SQLite store: feeds and their health, articles and their URLs, stories and their facts.

WAL mode, a versioned schema (PRAGMA user_version) with numbered migrations, every write in one
short transaction, so a run killed at any moment leaves a consistent database and the next run
carries on. No cursor is held across network waits: callers read, do I/O, then write.

Overlapping runs are kept apart by `RunLock` (an flock on `<database>.lock`), not by SQLite.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from ..errors import LockedError, StoreError
from ..models import Article, Evidence, Fact, Feed, FeedStatus, MergedStory, Story
from .stories import StoryTables

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

# Version 5: what the story clustering reads of each article (and each story, for related stories) that
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

# MIGRATIONS[n] upgrades a database at version n to n + 1. Version 0 is an empty file. A step is SQL
# statements separated by ";", or a list of such strings and functions of the connection (run in order).
MIGRATIONS: list = [SCHEMA, STORY_IDENTITY, LINKS, [AGGREGATORS, _fill_outlets], DOC_PARTS]
VERSION = len(MIGRATIONS)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class RunLock:
    """An exclusive, non-blocking lock for one run: a second run raises LockedError at once."""

    def __init__(self, database: Path):
        self.path = Path(str(database) + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(f"{self.path}: another monitor run is in progress; exiting") from None
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store(StoryTables):
    """One SQLite database. Open with `Store.open(path)`; use as a context manager to close it."""

    def __init__(self, db: sqlite3.Connection, path: Path, *, checked_at: float | None = None,
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.path = path
        self._checked_at = checked_at
        self._clock = clock

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, clock: Callable[[], float] = time.time) -> "Store":
        """Open (and create or migrate) the database. Its integrity is checked (PRAGMA quick_check, which
        reads the whole file) only when it may have changed since this monitor last closed it cleanly, or
        when the last check is older than INTEGRITY_EVERY: see `_CleanClose`."""
        path = Path(path)
        if not path.exists() and not create:
            raise StoreError(f"{path}: no database yet (run `monitor run` first)")
        existed = path.exists() and path.stat().st_size > 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():  # private from the start: SQLite gives its -wal and -shm files the same mode
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            checked = _CleanClose(path).take(now=clock())
            db = sqlite3.connect(path, isolation_level=None, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            if existed and checked is None:
                _check_not_corrupt(db, path)
                checked = clock()
            store = cls(db, path, checked_at=checked if checked is not None else clock(), clock=clock)
            store._migrate()
            return store
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable monitor database ({exc}); nothing was changed") from exc
        except OSError as exc:
            raise StoreError(f"{path}: cannot open database: {exc}") from exc

    def close(self) -> None:
        self.db.close()
        if self._checked_at is not None:
            _CleanClose(self.path).record(checked_at=self._checked_at)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception (disk full included)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.path}: {exc}") from exc
        try:
            yield self.db
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"{self.path}: write failed, rolled back: {exc}") from exc
        except BaseException:
            self._rollback()
            raise
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"{self.path}: write failed, rolled back: {exc}") from exc

    def _rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite already rolled back (e.g. after SQLITE_FULL)

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise StoreError(f"{self.path}: database schema v{version} is newer than this monitor (v{VERSION})")
        if version == 0 and self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(f"{self.path}: not a monitor database (it has other tables); nothing was changed")
        for step in range(version, VERSION):
            parts = MIGRATIONS[step] if isinstance(MIGRATIONS[step], list) else [MIGRATIONS[step]]
            with self.transaction() as db:
                for part in parts:
                    if callable(part):
                        part(db)
                        continue
                    for statement in part.split(";"):
                        if statement.strip():
                            db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")

    def integrity_ok(self) -> bool:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # --- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def installation_id(self, today: str) -> str:
        """This installation's id, "<yyyy-mm-dd>:<hex>", made once (on `today`) and kept in meta for good:
        the site's Atom entry ids are built from it, so they never change when site_url does."""
        value = self.get_meta("installation_id")
        if value is None:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('installation_id', ?)",
                           (f"{today}:{secrets.token_hex(8)}",))
            value = self.get_meta("installation_id")
        return value

    # --- articles ---------------------------------------------------------------------------

    def article_id_for_url(self, url: str) -> int | None:
        row = self.db.execute("SELECT article_id FROM article_urls WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    def urls_of(self, article_ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in article_ids}
        for chunk in _chunks(list(article_ids), 500):
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                f"SELECT article_id, url FROM article_urls WHERE article_id IN ({marks}) ORDER BY rowid", chunk
            ):
                found[row[0]].append(row[1])
        return found

    def articles(self, where: str = "1", params: Sequence = (), *, with_urls: bool = True, text_chars: int | None = None) -> list[Article]:
        """Articles matching `where`, oldest first; `text_chars` keeps only the start of each text (for excerpts)."""
        columns = "*"
        if text_chars is not None:
            names = [r[1] for r in self.db.execute("PRAGMA table_info(articles)") if r[1] != "text"]
            columns = ", ".join(names) + f", substr(text, 1, {int(text_chars)}) AS text"
        rows = self.db.execute(f"SELECT {columns} FROM articles WHERE {where} ORDER BY published, id", params).fetchall()
        urls = self.urls_of([r["id"] for r in rows]) if with_urls else {}
        return [_article(r, urls.get(r["id"], [r["url"]])) for r in rows]

    def rows(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()

    # --- stories ----------------------------------------------------------------------------

    def stories(self, where: str = "1", params: Sequence = (), *, text_chars: int | None = None) -> list[Story]:
        """Stories with their articles (originals and syndicated copies), oldest article first."""
        story_rows = self.db.execute(f"SELECT * FROM stories WHERE {where} ORDER BY id", params).fetchall()
        if not story_rows:
            return []
        by_story: dict[int, list[Article]] = {r["id"]: [] for r in story_rows}
        ids = list(by_story)
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            for article in self.articles(f"story_id IN ({marks})", chunk, text_chars=text_chars):
                by_story[article.story].append(article)
        stories = []
        for r in story_rows:
            articles = by_story[r["id"]]
            if not articles:
                continue
            stories.append(
                Story(
                    id=r["id"], slug=r["slug"], title=r["title"], summary=r["summary"],
                    articles=tuple(articles), facts=_facts_from_json(r["facts"]),
                    related=tuple(json.loads(r["related"])), updated=parse_iso(r["updated"]),
                    summary_url=r["summary_url"],
                )
            )
        return stories

    def merged_stories(self) -> list[MergedStory]:
        """Every story that merged into another, with the survivor it ends at (chains followed)."""
        into = dict(self.db.execute("SELECT id, merged_into FROM stories WHERE merged_into IS NOT NULL").fetchall())
        slugs = dict(self.db.execute("SELECT id, slug FROM stories WHERE merged_into IS NOT NULL").fetchall())
        out = []
        for story_id in sorted(into):
            end, seen = into[story_id], {story_id}
            while end in into and end not in seen:
                seen.add(end)
                end = into[end]
            out.append(MergedStory(id=story_id, slug=slugs[story_id], into=end))
        return out

    def link_counts(self) -> dict[str, tuple[int, int]]:
        """feed url -> (aggregator links resolved, aggregator links seen) among the articles each feed listed."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute(
            "SELECT e.feed_url, count(DISTINCT CASE WHEN l.resolved_url IS NOT NULL THEN l.link END), "
            "count(DISTINCT l.link) FROM entries e JOIN aggregator_links l ON l.article_id = e.article_id "
            "GROUP BY e.feed_url")}

    def feed_statuses(self, configured: Sequence[Feed] | None = None) -> list[FeedStatus]:
        """Stored feed health; with `configured`, only those feeds (feeds dropped from feeds.yaml are left out),
        carrying their tags."""
        tags = {f.url: f.tags for f in configured} if configured is not None else None
        # what each feed listed, so an article carried by two feeds counts for both
        counts = dict(self.db.execute("SELECT feed_url, count(DISTINCT article_id) FROM entries GROUP BY feed_url").fetchall())
        out = []
        for r in self.db.execute("SELECT * FROM feeds ORDER BY name COLLATE NOCASE"):
            if tags is not None and r["url"] not in tags:
                continue
            out.append(
                FeedStatus(
                    url=r["url"], name=r["name"], last_success=parse_iso(r["last_success"]),
                    last_error=r["last_error"], last_error_at=parse_iso(r["last_error_at"]),
                    failures=r["failures"], next_due=parse_iso(r["next_due"]),
                    articles=counts.get(r["url"], 0), tags=(tags or {}).get(r["url"], ()),
                )
            )
        return out


INTEGRITY_EVERY = 86400.0  # seconds between integrity checks of a file that only this monitor has touched


class _CleanClose:
    """`<database>-clean`: written after the last clean close, with the file's size and mtime then and the
    time of the last integrity check; removed at open, before anything writes. At the next open the check
    can be skipped only if that record is there (no crash since), the file still has that size and mtime
    (nothing else wrote to it), no write-ahead log is left over, and the last check is recent."""

    def __init__(self, database: Path):
        self.database = database
        self.path = Path(str(database) + "-clean")

    def take(self, *, now: float) -> float | None:
        """The time of the last integrity check if it still holds for the file as it is; None otherwise."""
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
            self.path.unlink()
        except (OSError, ValueError):
            return None
        try:
            st = self.database.stat()
            wal = Path(str(self.database) + "-wal")
            leftover = wal.exists() and wal.stat().st_size > 0
        except OSError:
            return None
        if not isinstance(record, dict) or leftover or [st.st_size, st.st_mtime_ns] != record.get("file"):
            return None
        checked = record.get("checked_at")
        return checked if isinstance(checked, (int, float)) and 0 <= now - checked < INTEGRITY_EVERY else None

    def record(self, *, checked_at: float) -> None:
        try:
            st = self.database.stat()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"file": [st.st_size, st.st_mtime_ns], "checked_at": checked_at}, f)
        except OSError:
            pass  # no record: the next open checks the file, which is only slower


def _check_not_corrupt(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged database before anything writes to it: a run on a file with a few overwritten pages
    otherwise wrote its first transactions and failed halfway (PRAGMA quick_check reads every page once;
    about a second per few hundred MB)."""
    problems = [" ".join(str(r[0]).split()) for r in db.execute("PRAGMA quick_check(3)").fetchall()]
    if problems != ["ok"]:
        db.close()
        detail = "; ".join(p.replace("*** in database main ***", "").strip() for p in problems)[:200]
        raise StoreError(f"{path}: the database is corrupt ({detail}); nothing was changed. "
                         "Restore a backup, or move the file aside to start afresh")


def facts_to_json(facts: Iterable[Fact]) -> str:
    return json.dumps(
        [
            {"kind": f.kind, "key": f.key, "text": f.text, "outlets": list(f.outlets),
             "evidence": [[e.source, e.url, e.sentence] for e in f.evidence], "speaker": f.speaker, "dispute": f.dispute}
            for f in facts
        ]
    )


def _facts_from_json(value: str) -> tuple[Fact, ...]:
    return tuple(
        Fact(kind=f["kind"], key=f["key"], text=f["text"], outlets=tuple(f["outlets"]),
             evidence=tuple(Evidence(*e) for e in f["evidence"]), speaker=f.get("speaker", ""),
             dispute=f.get("dispute", ""))
        for f in json.loads(value or "[]")
    )


def _article(r: sqlite3.Row, urls: list[str]) -> Article:
    links = [(str(u), str(t)) for u, t in json.loads(r["links"] or "[]")]
    return Article(
        id=r["id"], url=r["url"], urls=tuple(urls) or (r["url"],), title=r["title"], source=r["source"],
        published=parse_iso(r["published"]), text=r["text"], summary=r["summary"], author=r["author"],
        image=r["image"], language=r["language"], extracted=bool(r["extracted"]), relevance=r["relevance"],
        relevant=bool(r["relevant"]), story=r["story_id"], duplicate_of=r["duplicate_of"], feed_url=r["feed_url"],
        links=tuple(u for u, _ in links), link_texts=tuple(t for _, t in links),
        outlet=r["outlet"],
    )


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["Store", "RunLock", "iso", "parse_iso", "facts_to_json", "VERSION"]
