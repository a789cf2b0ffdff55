"""Shared fixtures: a real HTTP server on 127.0.0.1 per test."""

from __future__ import annotations

import pytest

from monitor.loopback import LoopbackServer


@pytest.fixture
def server():
    """A loopback server; add routes with `server.routes[path] = Route(...)`."""
    with LoopbackServer() as srv:
        yield srv
