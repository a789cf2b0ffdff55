"""The store: feeds and their health, articles and their URLs, stories and their facts, in a SQLite file or a
PostgreSQL database (postgres.py: the same SQL and schema, translated where the two differ; docs/scale-out.md).

The only module that speaks SQL. `Store` is one connection; its methods are grouped by area in mixins:
feeds.py (feeds, their schedule and entries), pages.py (pages to fetch, extraction results, folding one
article into another), links.py (aggregator links), site.py (what the site published), stories.py (story
tables); schema.py holds the schema and its migrations. WAL mode, every write in one short transaction,
so a run killed at any moment leaves a consistent database and the next run carries on. No cursor is held
across network waits: stages read, do I/O, then write. Overlapping runs are kept apart by `RunLock` (an
flock on `<database>.lock`; on PostgreSQL an advisory lock), not by the database's own locking.

The state each stage leaves for the next (the contract between stages, in run order):

- feeds: `feeds.next_due` (when the feed stage fetches it again), `etag`/`last_modified` (sent back),
  `failures`/`last_error` (health, back-off), `articles` (distinct articles among its entries). Each entry
  is a row of `entries` (feed, guid) pointing at an article; a new address makes an `articles` row with
  `extracted = 0`, `scored = 0`, `relevant = 0`, `story_id` NULL, and its addresses in `article_urls`.
  An aggregator item waiting for its real URL has an `aggregator_links` row with `resolved_url` NULL.
- links: `aggregator_links.resolved_url` set (cached for good), the article moved to the real URL or
  folded into the article stored there; a failure sets `attempts`/`next_attempt`.
- pages: `extracted = 1` with the page's text, title (`title_rank` 2), date and links, and `scored = 0`,
  `signature` NULL (to be redone); a failure raises `attempts` and sets `next_attempt`. An article whose
  page names another stored article (canonical URL) is folded into it (deleted, its addresses moved).
  Any change to an article in a story sets that story's `dirty = 1`.
- duplicates: `signature` (MinHash) set; a near-copy gets `duplicate_of` = its original (and its story).
- relevance: `relevance` and `scored = 1`, `relevant` re-cut; meta `relevance_subject`, `relevance_cut`
  (the topics and threshold they were made with: a change re-scores or re-cuts). An article that stops
  being relevant leaves its story (`story_id` NULL, story `dirty`).
- stories: `story_id` for every relevant original (and its copies), `stories` rows with `merged_into` for a
  story merged into another, `dirty = 1` on each story changed; then headline, summary, facts, related and
  `first_published`/`last_published` recomputed for each dirty story.
- site: `dirty = 0` on the stories published (the `unpublished` column is read by nothing); meta
  `site_feed_health` (the feed health shown), `installation_id` (made once: Atom ids).
- workers (PostgreSQL, `monitor worker`, monitor/tasks.py): the jobs and the workers' heartbeats are
  procrastinate's own tables (`procrastinate_*`) in the same database; a worker writes what the feed and
  page stages above write, the same way. The duplicates stage takes the extracted articles still unscored
  (`fresh_extractions`), whoever extracted them, and a run killed before it leaves them for the next.
- the run itself: meta `story_inputs` (the feeds.yaml settings the story stages last ran with: with
  nothing waiting and these unchanged, the run skips those stages and their imports).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import LockedError, StoreError
from ..models import Article, Evidence, Fact, MergedStory, Story
from .base import Tables, chunks, is_url, iso, marks, parse_iso
from .feeds import FeedTables
from .links import LinkTables
from .pages import PageTables
from .schema import MIGRATIONS, SCHEMA, TABLES, VERSION
from .site import SiteTables
from .sqlite import SqliteDialect
from .stories import StoryTables


class RunLock:
    """An exclusive, non-blocking lock for one run: a second run raises LockedError at once. On SQLite an flock
    on `<database>.lock`; on PostgreSQL an advisory lock held for the run (postgres.AdvisoryLock)."""

    def __init__(self, database: Path | str):
        self._advisory = None
        if is_url(database):
            from .postgres import AdvisoryLock

            self._advisory = AdvisoryLock(str(database))
            return
        self.path = Path(str(database) + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        if self._advisory is not None:
            self._advisory.__enter__()
            return self
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
        if self._advisory is not None:
            self._advisory.__exit__(*exc)
            return
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Store(FeedTables, PageTables, LinkTables, SiteTables, StoryTables, Tables):
    """One database: a SQLite file, or a PostgreSQL database (postgres.py). Open with `Store.open(path or URL)`;
    use as a context manager to close it."""

    def __init__(self, db: Any, path: Path | str, *, checked_at: float | None = None,
                 clock: Callable[[], float] = time.time, dialect=None):
        self.db = db
        self.path = path
        self._checked_at = checked_at
        self._clock = clock
        self._dialect: Any = dialect or SqliteDialect()  # SqliteDialect or postgres.PostgresDialect: the same calls
        self._errors = self._dialect.errors

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True, clock: Callable[[], float] = time.time) -> "Store":
        """Open (and create or migrate) the database: a path (SQLite) or a postgresql:// URL. A SQLite file's
        integrity is checked (PRAGMA quick_check, which reads the whole file) only when it may have changed
        since this monitor last closed it cleanly, or when the last check is older than INTEGRITY_EVERY: see
        `_CleanClose`."""
        if is_url(path):
            return cls._open_postgres(str(path), create=create, clock=clock)
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

    @classmethod
    def _open_postgres(cls, url: str, *, create: bool, clock: Callable[[], float]) -> "Store":
        from . import postgres

        name = postgres.shown(url)
        db = postgres.connect(url)
        store = cls(db, name, clock=clock, dialect=postgres.PostgresDialect())
        try:
            if not create and store._dialect.version(db) == 0:
                raise StoreError(f"{name}: no monitor tables in this database yet (run `monitor run` first)")
            store._migrate()
        except postgres.Error as exc:
            db.close()
            raise StoreError(f"{name}: not a usable monitor database ({exc}); nothing was changed") from exc
        except BaseException:
            db.close()
            raise
        return store

    def close(self) -> None:
        self.db.close()
        if self._checked_at is not None:  # a SQLite file's (PostgreSQL checks its own pages)
            _CleanClose(Path(self.path)).record(checked_at=self._checked_at)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, kind, error, tb) -> None:
        self.close()
        if isinstance(error, self._errors):  # a read that failed (writes fail inside `transaction` already)
            raise StoreError(f"{self.path}: {error}") from error

    def _migrate(self) -> None:
        """Bring the database to VERSION, one transaction per step; a newer database, or one that holds other
        tables (on PostgreSQL: tables named like the monitor's, since a server's database may be shared, with
        the task queue's tables for one), is refused untouched."""
        dialect = self._dialect
        version = dialect.version(self.db)
        if version > VERSION:
            raise StoreError(f"{self.path}: database schema v{version} is newer than this monitor (v{VERSION})")
        if version == 0:
            tables = dialect.tables(self.db)
            clash = [t for t in tables if t in TABLES] if dialect.shares_database else tables
            if clash:
                raise StoreError(f"{self.path}: not a monitor database (it has other tables); nothing was changed")
        while version < VERSION:
            with self.transaction() as db:  # one writer at a time, on both backends
                version = dialect.version(db)  # another process may have migrated meanwhile
                if version >= VERSION:
                    break
                step = MIGRATIONS[version]
                for part in step if isinstance(step, list) else [step]:
                    if callable(part):
                        part(db)
                        continue
                    for statement in dialect.statements(part):
                        db.execute(statement)
                version += 1
                dialect.set_version(db, version)

    def integrity_ok(self) -> bool:
        return self._dialect.integrity_ok(self.db)

    # --- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def story_work_waiting(self) -> bool:
        """True while an article waits to be scored or put in a story, or a story to be recomputed or published
        (each answered by a partial index: the cost does not grow with the archive)."""
        return any(self.db.execute(sql).fetchone() for sql in (
            "SELECT 1 FROM articles INDEXED BY articles_unscored WHERE scored = 0 LIMIT 1",
            "SELECT 1 FROM articles INDEXED BY articles_unassigned "
            "WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL LIMIT 1",
            "SELECT 1 FROM stories INDEXED BY stories_dirty WHERE dirty = 1 LIMIT 1",
        ))

    def task_workers_alive(self, within: float) -> int:
        """How many task-queue workers (`monitor worker`: procrastinate's `procrastinate_workers`, in the same
        PostgreSQL database) sent a heartbeat in the last `within` seconds; 0 on SQLite, which has none."""
        if not self._dialect.shares_database or "procrastinate_workers" not in self._dialect.tables(self.db):
            return 0
        return self.db.execute("SELECT count(*) FROM procrastinate_workers "
                               "WHERE last_heartbeat > now() - ? * interval '1 second'", (within,)).fetchone()[0]

    def installation_id(self, today: str) -> str:
        """This installation's id, "<yyyy-mm-dd>:<hex>", made once (on `today`) and kept in meta for good:
        the site's Atom entry ids are built from it, so they never change when site_url does."""
        value = self.get_meta("installation_id")
        if value is None:
            with self.transaction() as db:
                db.execute("INSERT INTO meta(key, value) VALUES ('installation_id', ?) ON CONFLICT DO NOTHING",
                           (f"{today}:{secrets.token_hex(8)}",))
            value = self.get_meta("installation_id")
        assert value is not None  # just written, in this connection
        return value

    # --- articles ---------------------------------------------------------------------------

    def urls_of(self, article_ids: Sequence[int]) -> dict[int, list[str]]:
        found: dict[int, list[str]] = {i: [] for i in article_ids}
        for chunk in chunks(list(article_ids)):
            for row in self.db.execute(
                f"SELECT article_id, url FROM article_urls WHERE article_id IN ({marks(chunk)}) ORDER BY rowid", chunk
            ):
                found[row[0]].append(row[1])
        return found

    def articles(self, *, copies: bool | None = None, story_ids: Sequence[int] | None = None, with_urls: bool = True,
                 text_chars: int | None = None) -> list[Article]:
        """Articles, oldest first: all, only the near-copies (`copies=True`) or only the originals (False), or
        those of these stories; `text_chars` keeps only the start of each text (for excerpts)."""
        where, params = {None: "TRUE", True: "duplicate_of IS NOT NULL", False: "duplicate_of IS NULL"}[copies], list(story_ids or ())
        if story_ids is not None:
            where += f" AND story_id IN ({marks(params)})" if params else " AND FALSE"
        columns = "*"
        if text_chars is not None:
            names = [c[0] for c in self.db.execute("SELECT * FROM articles LIMIT 0").description if c[0] != "text"]
            columns = ", ".join(names) + f", substr(text, 1, {int(text_chars)}) AS text"
        rows = self.db.execute(f"SELECT {columns} FROM articles WHERE {where} ORDER BY published, id", params).fetchall()
        urls = self.urls_of([r["id"] for r in rows]) if with_urls else {}
        return [_article(r, urls.get(r["id"], [r["url"]])) for r in rows]

    # --- stories ----------------------------------------------------------------------------

    def stories(self, ids: Sequence[int] | None = None, *, dated: bool = False, text_chars: int | None = None) -> list[Story]:
        """Stories (all, or these ids; `dated`: only those with a dated article, the ones the site shows) with
        their articles (originals and syndicated copies), oldest article first."""
        where = "first_published IS NOT NULL" if dated else "TRUE"
        story_rows = []
        for chunk in chunks(list(ids)) if ids is not None else [None]:
            sql = f"SELECT * FROM stories WHERE {where}" + (f" AND id IN ({marks(chunk)})" if chunk is not None else "")
            story_rows += self.db.execute(sql, chunk or ()).fetchall()
        story_rows.sort(key=lambda r: r["id"])
        if not story_rows:
            return []
        by_story: dict[int, list[Article]] = {r["id"]: [] for r in story_rows}
        ids = list(by_story)
        for chunk in chunks(ids):
            for article in self.articles(story_ids=chunk, text_chars=text_chars):
                by_story[article.story].append(article)  # type: ignore[index]  # chosen by story id: never None
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


__all__ = ["Store", "RunLock", "iso", "parse_iso", "facts_to_json", "VERSION", "MIGRATIONS", "SCHEMA"]
