"""Shared fixtures: a real HTTP server on 127.0.0.1 per test; the command line run in-process; a PostgreSQL
server for the session."""

from __future__ import annotations

import logging

import pytest
from monitor.loopback import LoopbackServer

from .postgres import PostgresServer, PostgresUnavailable


@pytest.fixture
def server():
    """A loopback server; add routes with `server.routes[path] = Route(...)`."""
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def cli():
    """`cli("run", "--config", path)` runs `monitor run --config PATH` in this process (click's CliRunner) and
    returns its result: `.exit_code`, `.stdout` and `.stderr` apart; `input=` is its stdin. Cheaper than a
    process (no second import of the pipeline), for every test that does not kill, lock or time imports.
    The logging that a command sets up (`setup_logging`) is undone afterwards."""
    from click.testing import CliRunner

    from monitor.cli import main
    from monitor.logs import NOISY

    root = logging.getLogger()
    names = ("monitor", *NOISY)
    handlers, root_level, levels = list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names}

    def invoke(*args: str, input: str | bytes | None = None):
        return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    yield invoke
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


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
