"""Shared fixtures: a real HTTP server on 127.0.0.1 per test; a PostgreSQL server for the session."""

from __future__ import annotations

import pytest
from monitor.loopback import LoopbackServer

from .postgres import PostgresServer, PostgresUnavailable


@pytest.fixture
def server():
    """A loopback server; add routes with `server.routes[path] = Route(...)`."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the session (tests/postgres.py), stopped at the end; every test that needs it
    is skipped, with the reason, when it cannot start."""
    try:
        srv = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {' '.join(str(exc).split())}")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    url = postgres_server.database()
    yield url
    postgres_server.drop(url)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """Where a store test's database is: a new SQLite file, then a new PostgreSQL database (the same test on
    both backends)."""
    if request.param == "sqlite":
        return tmp_path / "m.sqlite3"
    return request.getfixturevalue("postgres_url")


def pytest_collection_modifyitems(items):
    """Every test that uses the PostgreSQL server is marked `postgres` (`-m "not postgres"` leaves them out)."""
    for item in items:
        spec = getattr(item, "callspec", None)
        if "postgres_server" in getattr(item, "fixturenames", ()) or (spec and spec.params.get("database") == "postgres"):
            item.add_marker(pytest.mark.postgres)
