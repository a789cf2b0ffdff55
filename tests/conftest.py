"""Shared fixtures: a real HTTP server on 127.0.0.1 per test; the command line run in-process."""

from __future__ import annotations

import logging

import pytest

from monitor.loopback import LoopbackServer


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
