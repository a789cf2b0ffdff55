"""The store on both backends (a SQLite file, a PostgreSQL database): schema versioning, transactions, the run
lock; and SQLite's own: WAL, corrupt files, the integrity check."""

import re
import sqlite3
from pathlib import Path

import pytest
from monitor.errors import LockedError, StoreError
from monitor.store import VERSION, RunLock, Store

from tests.db import db_rows, db_write


def test_new_database_is_wal_and_versioned(tmp_path):
    with Store.open(tmp_path / "m.sqlite3") as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        assert store.integrity_ok()
    # reopening does not migrate again
    with Store.open(tmp_path / "m.sqlite3") as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == VERSION


def test_a_new_postgres_database_is_versioned_and_reopened_as_it_is(postgres_url):
    with Store.open(postgres_url) as store:
        assert store.integrity_ok()
    assert db_rows(postgres_url, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(VERSION)
    with Store.open(postgres_url, create=False) as store:  # reopening does not migrate again
        assert store.feed_statuses() == []
    assert len(db_rows(postgres_url, "SELECT * FROM meta")) == 1


def test_both_backends_make_the_same_tables_columns_and_indexes(tmp_path, postgres_url):
    # the PostgreSQL schema is made from the same migrations (monitor/store/postgres.py translates them):
    # this is what keeps the two from drifting apart
    Store.open(tmp_path / "m.sqlite3").close()
    Store.open(postgres_url).close()
    lite_info = [(t, r) for (t,) in db_rows(tmp_path / "m.sqlite3", "SELECT name FROM sqlite_master WHERE type = 'table'")
                 for r in db_rows(tmp_path / "m.sqlite3", f"PRAGMA table_info({t})")]
    lite = {(t, r[1], r[3], r[4]) for t, r in lite_info}
    keys = {(t, r[1]) for t, r in lite_info if r[5]}
    pg = {(r[0], r[1], int(r[2] == "NO"), r[3] and re.sub(r"::[a-z ]+$", "", r[3])) for r in db_rows(postgres_url,
          "SELECT table_name, column_name, is_nullable, column_default FROM information_schema.columns "
          "WHERE table_schema = current_schema() AND column_name != 'rowid'")}
    assert {(t, c) for t, c, _, _ in lite} == {(t, c) for t, c, _, _ in pg}
    # the same NOT NULLs (but in primary keys: PostgreSQL's are NOT NULL, SQLite's only in name) and defaults
    assert {(t, c, n) for t, c, n, _ in lite if (t, c) not in keys} == {(t, c, n) for t, c, n, _ in pg if (t, c) not in keys}
    assert {(t, c, d) for t, c, _, d in lite if d is not None} == {(t, c, d) for t, c, _, d in pg if d is not None}
    lite_indexes = {r[0] for r in db_rows(tmp_path / "m.sqlite3",
                                          "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    pg_indexes = {r[0] for r in db_rows(postgres_url, "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                                      "AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'")}
    assert lite_indexes == pg_indexes and "articles_unassigned" in pg_indexes


def test_a_write_that_fails_halfway_leaves_nothing_written(database):
    from monitor.dedup import DuplicateStep

    with Store.open(database) as store:
        with db_write(store) as db:
            db.execute("INSERT INTO articles(id, url, source, title, published, first_seen) VALUES "
                       "(1, 'https://a.example/1', 'A', 'T', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')")
        steps = [DuplicateStep(1, b"\x03sig"), DuplicateStep(2, b"\x03sig", original=99)]  # 99: no such article
        with pytest.raises(Exception):
            store.mark_duplicates(steps)
        assert db_rows(store, "SELECT signature FROM articles")[0][0] is None  # the first step was rolled back


def test_corrupt_file_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "m.sqlite3"
    garbage = b"this is not a database" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="m.sqlite3: not a usable monitor database"):
        Store.open(path)
    assert path.read_bytes() == garbage


def test_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE accounts (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a monitor database"):
        Store.open(path)


def test_a_postgres_database_with_a_table_named_like_ours_is_refused_and_others_are_shared(postgres_url):
    with db_write(postgres_url) as db:
        db.execute("CREATE TABLE procrastinate_jobs (id INTEGER)")  # another application's: fine
    Store.open(postgres_url).close()
    with db_write(postgres_url) as db:
        db.execute("DROP TABLE meta CASCADE")
    with pytest.raises(StoreError, match="not a monitor database"):
        Store.open(postgres_url)
    assert db_rows(postgres_url, "SELECT to_regclass('meta')")[0][0] is None  # nothing was changed


def test_a_newer_postgres_schema_is_refused(postgres_url):
    Store.open(postgres_url).close()
    with db_write(postgres_url) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(VERSION + 1),))
    with pytest.raises(StoreError, match="newer than this monitor"):
        Store.open(postgres_url)


def test_a_postgres_url_is_named_without_its_password():
    # nothing listens on port 1: the error names the database, never the password
    with pytest.raises(StoreError) as failed:
        Store.open("postgresql://monitor:s3cret@127.0.0.1:1/news?password=s3cret&sslmode=disable")
    message = str(failed.value)
    assert message.startswith("postgresql://monitor@127.0.0.1:1/news?sslmode=disable: cannot connect to the database")
    assert "s3cret" not in message


def test_opening_an_empty_postgres_database_without_create_is_refused(postgres_url):
    with pytest.raises(StoreError, match="run `monitor run` first"):
        Store.open(postgres_url, create=False)


def test_two_stores_opening_a_new_postgres_database_at_once_migrate_it_once(postgres_url):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        for store in pool.map(lambda _: Store.open(postgres_url), range(4)):
            store.close()
    assert db_rows(postgres_url, "SELECT value FROM meta WHERE key = 'schema_version'")[0][0] == str(VERSION)


def test_postgres_write_transactions_take_turns_as_on_sqlite(postgres_url):
    # BEGIN IMMEDIATE: a second store's write waits for the first's transaction to end (reads do not)
    import threading
    import time

    with Store.open(postgres_url) as first, Store.open(postgres_url) as second:
        done = threading.Event()
        with first.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES ('turn', 'first')")
            writer = threading.Thread(target=lambda: (second.set_meta("turn", "second"), done.set()))
            writer.start()
            for _ in range(600):  # until the second is seen waiting for the write lock
                if db_rows(postgres_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0][0]:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the second write never waited")
            assert not done.is_set()
            assert db_rows(postgres_url, "SELECT count(*) FROM meta WHERE key = 'turn'")[0][0] == 0  # a read does not wait
        writer.join(timeout=60)
        assert done.is_set() and first.get_meta("turn") == "second"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "m.sqlite3"
    Store.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this monitor"):
        Store.open(path)


def test_second_lock_is_refused_at_once(database):
    with RunLock(database):
        with pytest.raises(LockedError, match="another monitor run is in progress"):
            with RunLock(database):
                pass
    with RunLock(database):  # released
        pass


def test_articles_can_be_read_with_only_the_start_of_their_text(database):
    with Store.open(database) as store:
        with db_write(store) as db:
            db.execute(
                "INSERT INTO articles(url, source, title, text, published, first_seen) VALUES "
                "('https://a.example/1', 'A', 'T', ?, '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')",
                ("word " * 1000,),
            )
            db.execute("INSERT INTO article_urls(url, article_id) VALUES ('https://a.example/1', 1)")
        assert len(store.articles()[0].text) == 5000
        short = store.articles(text_chars=100)[0]
        assert len(short.text) == 100 and short.url == "https://a.example/1" and short.urls == ("https://a.example/1",)


def test_integrity_is_checked_only_when_the_file_may_have_changed(tmp_path):
    # PRAGMA quick_check reads the whole file: an hourly run on an untouched database skips it, but not after
    # a crash (no clean close), a write by anything else, a left-over write-ahead log, or a day
    from monitor.store import INTEGRITY_EVERY, _CleanClose

    path = tmp_path / "m.sqlite3"
    t = [1_000_000.0]
    Store.open(path, clock=lambda: t[0]).close()
    record = _CleanClose(path)
    assert record.path.exists() and oct(record.path.stat().st_mode & 0o777) == "0o600"

    t[0] += 3600
    assert record.take(now=t[0]) == 1_000_000.0  # untouched since a clean close: the check is skipped
    assert not record.path.exists()  # taken at open: a crash from here on leaves no record

    Store.open(path, clock=lambda: t[0]).close()  # open without the record: checked, and recorded anew
    other = sqlite3.connect(path)  # another program writes to the file
    other.execute("CREATE TABLE notes (x)")
    other.commit()
    other.close()
    assert record.take(now=t[0]) is None

    Store.open(path, clock=lambda: t[0]).close()
    Path(str(path) + "-wal").write_bytes(b"left over by a crash")
    assert record.take(now=t[0]) is None
    Path(str(path) + "-wal").unlink()

    Store.open(path, clock=lambda: t[0]).close()
    assert record.take(now=t[0] + INTEGRITY_EVERY + 1) is None  # a day later: checked again


def test_a_store_killed_before_closing_leaves_no_clean_record(tmp_path):
    from monitor.store import _CleanClose

    path = tmp_path / "m.sqlite3"
    Store.open(path).close()
    store = Store.open(path)  # as a run that is then killed: never closed
    assert not _CleanClose(path).path.exists()
    store.db.close()


def test_statements_are_translated_for_postgres_once_each():
    from monitor.store.postgres import translate

    assert translate("SELECT ?3, ?1 FROM feeds WHERE name IS NOT ?3 AND title IS NOT NULL AND url IS ?") == (
        "SELECT %s, %s FROM feeds WHERE name IS DISTINCT FROM %s AND title IS NOT NULL AND url IS NOT DISTINCT FROM %s",
        (2, 0, 2, 3))
    assert translate("SELECT '100%' FROM articles INDEXED BY articles_unscored WHERE scored = ?") == (
        "SELECT '100%%' FROM articles WHERE scored = %s", None)
