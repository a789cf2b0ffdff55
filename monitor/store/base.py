"""What every table area of the store shares: the connection and the one way to write (`transaction`).

The areas (feeds.py, pages.py, links.py, site.py) are mixins of `Store`; each holds the SQL of its tables
and names its methods for what a stage means by them, never handing out the connection.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, overload

from ..errors import StoreError


@overload
def iso(dt: datetime) -> str: ...
@overload
def iso(dt: None) -> None: ...
def iso(dt: datetime | None) -> str | None:
    """How times are stored: ISO 8601 in UTC, to the second (text that sorts in time order)."""
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


@overload
def parse_iso(value: str) -> datetime: ...
@overload
def parse_iso(value: None) -> None: ...
def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Tables:
    db: sqlite3.Connection
    path: Path

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


def chunks(items: list, size: int = 500) -> Iterator[list]:
    """`items` in slices of `size`: SQLite takes a bounded number of ? parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(items: list) -> str:
    return ",".join("?" * len(items))
