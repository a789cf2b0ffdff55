"""Tests read and arrange the database file with sqlite3 directly, the way a user inspecting it would: the
store hands no connection out (its methods are the only way the monitor itself touches the tables)."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence


def _path(store_or_path) -> Path:
    return Path(getattr(store_or_path, "path", store_or_path))


def db_rows(store_or_path, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
    """The rows of one query on the database file (of a Store, or at a path)."""
    db = sqlite3.connect(_path(store_or_path), timeout=30)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


@contextmanager
def db_write(store_or_path) -> Iterator[sqlite3.Connection]:
    """A connection to the database file whose writes are committed at the end of the block."""
    db = sqlite3.connect(_path(store_or_path), timeout=30)
    db.row_factory = sqlite3.Row
    try:
        with db:
            yield db
    finally:
        db.close()
