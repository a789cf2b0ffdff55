"""The SQLite store: schema versioning, WAL, transactions, lock, corrupt files."""

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


def test_a_write_that_fails_halfway_leaves_nothing_written(tmp_path):
    from monitor.dedup import DuplicateStep

    with Store.open(tmp_path / "m.sqlite3") as store:
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


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "m.sqlite3"
    Store.open(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this monitor"):
        Store.open(path)


def test_second_lock_is_refused_at_once(tmp_path):
    with RunLock(tmp_path / "m.sqlite3"):
        with pytest.raises(LockedError, match="another monitor run is in progress"):
            with RunLock(tmp_path / "m.sqlite3"):
                pass
    with RunLock(tmp_path / "m.sqlite3"):  # released
        pass


def test_articles_can_be_read_with_only_the_start_of_their_text(tmp_path):
    with Store.open(tmp_path / "m.sqlite3") as store:
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
