"""The error tree. Every message names the offending file, line, feed or URL.

    MonitorError
    ├── ConfigError    feeds.yaml is missing, unreadable or invalid
    ├── FetchError     an HTTP request failed (network, status, size, address refused)
    ├── ParseError     bytes that should be a feed are not one
    ├── ExtractError   an article page could not be turned into text
    ├── ResolveError   an aggregator's link could not be resolved to the outlet's article URL
    ├── StoreError     the SQLite database is corrupt, locked or cannot be written
    │   └── LockedError    another run holds the lock
    ├── ClusterError   bad input to `monitor cluster`
    ├── ModelError     a model or table shipped in a package (embeddings, word frequencies) cannot load
    └── BuildError     the site could not be built or published
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(MonitorError):
    """feeds.yaml is missing, unreadable or invalid."""


class FetchError(MonitorError):
    """An HTTP request failed. `retry_after` is seconds the server asked us to wait, if any."""

    def __init__(self, url: str, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


class ParseError(MonitorError):
    """Bytes that should be a feed are not one."""


class ExtractError(MonitorError):
    """An article page could not be turned into text."""


class ResolveError(MonitorError):
    """An aggregator's link (news search) could not be resolved to the outlet's own article URL."""


class StoreError(MonitorError):
    """The database is corrupt, locked or cannot be written."""


class LockedError(StoreError):
    """Another run holds the lock."""


class ClusterError(MonitorError):
    """Bad input to the clustering command."""


class ModelError(MonitorError):
    """A model or data table that ships inside an installed package could not be loaded."""


class BuildError(MonitorError):
    """The site could not be built or published."""
