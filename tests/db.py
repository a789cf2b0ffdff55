"""Tests read and arrange the database with the driver directly, the way a user inspecting it would: the
store hands no connection out (its methods are the only way the monitor itself touches the tables). A SQLite
file is opened with sqlite3; a PostgreSQL database (a store opened on a postgresql:// URL) with psycopg, the
statements written as for SQLite (monitor/store/postgres.py translates them, as it does the store's)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from monitor.store.base import is_url


def _location(store_or_path) -> Path | str:
    where = getattr(store_or_path, "path", store_or_path)
    return where if is_url(where) else Path(where)


def db_rows(store_or_path, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
    """The rows of one query on the database (of a Store, or at a path or URL)."""
    where = _location(store_or_path)
    if is_url(where):
        from monitor.store.postgres import connect

        db = connect(where)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()
    db = sqlite3.connect(where, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


@contextmanager
def db_write(store_or_path) -> Iterator[sqlite3.Connection]:
    """A connection to the database whose writes are committed at the end of the block."""
    where = _location(store_or_path)
    if is_url(where):
        yield from _pg_write(where)
        return
    db = sqlite3.connect(where, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()


def _pg_write(url: str):
    from monitor.store.postgres import connect

    db = connect(url)
    try:
        db.execute("BEGIN")
        yield db
        # rows given an id by hand: the next id the database makes follows them, as SQLite's does
        made = {r[0] for r in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
        for table in {"articles", "stories"} & made:
            db.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    finally:
        db.close()
