"""Dates read from outside and dates written for readers: one parser, one public format.

`parse_datetime` reads the two forms feeds, pages, HTTP headers and JSON lines state a date in:
ISO 8601 / RFC 3339 (`2026-11-04T08:00:00Z`, `2026-11-04`) and RFC 822 / HTTP dates
(`Wed, 04 Nov 2026 08:00:00 GMT`). The result is aware and in UTC (a date without a zone is taken
as UTC); anything else is None. `iso_z` is the one format of public output (stories.json, the Atom
feed, story pages, `monitor export`): seconds, UTC, ending in `Z`. The store keeps its own internal
form (`+00:00`, see monitor.store): its columns are compared as text, so it stays as it is.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def parse_datetime(raw: object) -> datetime | None:
    """An ISO 8601 or RFC 822 date as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    try:
        when = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.astimezone(timezone.utc)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None


def iso_z(when: datetime) -> str:
    """`when` in UTC to the second, as public output writes it: `2026-11-04T08:00:00Z` (naive means UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
