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
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(database: object) -> bool:
    """A PostgreSQL URL (the store on PostgreSQL) rather than a SQLite file's path."""
    return isinstance(database, str) and database.startswith(URL_SCHEMES)


def shown(url: str) -> str:
    """A database URL as messages name it: without its password (in the netloc or a `password=` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


class Tables:
    db: sqlite3.Connection  # or postgres.Connection, which answers the same calls
    path: Path | str  # a SQLite file, or a PostgreSQL URL without its password
    _errors: tuple[type[Exception], ...] = (sqlite3.Error,)  # the driver's errors

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any exception (disk full included)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except self._errors as exc:
            raise StoreError(f"{self.path}: {exc}") from exc
        try:
            yield self.db
        except self._errors as exc:
            self._rollback()
            raise StoreError(f"{self.path}: write failed, rolled back: {exc}") from exc
        except BaseException:
            self._rollback()
            raise
        try:
            self.db.execute("COMMIT")
        except self._errors as exc:
            self._rollback()
            raise StoreError(f"{self.path}: write failed, rolled back: {exc}") from exc

    def _rollback(self) -> None:
        try:
            self.db.execute("ROLLBACK")
        except self._errors:
            pass  # SQLite already rolled back (e.g. after SQLITE_FULL), or the connection is gone


def chunks(items: list, size: int = 500) -> Iterator[list]:
    """`items` in slices of `size`: SQLite takes a bounded number of ? parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def marks(items: list) -> str:
    return ",".join("?" * len(items))
