"""A small HTTP server on 127.0.0.1 that serves a table of routes.

Used by `monitor demo` to serve the bundled corpus with no network, and by the tests to serve their
own feeds and pages. Static routes answer conditional GETs (ETag and Last-Modified) with 304, so a
second run against it transfers nothing unchanged. Every request is logged for tests to inspect.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Route:
    """A fixed answer. `body` None with status 200 is an empty body."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # send ETag/Last-Modified and answer 304 when they match


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[BaseHTTPRequestHandler], None]
_LAST_MODIFIED = formatdate(1_700_000_000, usegmt=True)


class LoopbackServer:
    """Serve `routes` (path -> Route or a handler function) on 127.0.0.1 in a background thread.

        with LoopbackServer({"/feed.xml": Route(body=b"...")}) as server:
            server.url("/feed.xml")
    """

    def __init__(self, routes: dict[str, Route | Handler] | None = None, *, host: str = "127.0.0.1", port: int = 0):
        self.routes: dict[str, Route | Handler] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two sends; avoid the delayed-ACK wait

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                with server._lock:
                    server.requests.append(Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    return send_route(self, Route(b"not found", status=404, content_type="text/plain"))
                if callable(route):
                    return route(self)
                return send_route(self, route)

            do_HEAD = do_POST = do_GET  # a POST's body is left for a handler route to read

        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Request]:
        """Requests made for `path` (query string ignored)."""
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def start(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def send_route(handler: BaseHTTPRequestHandler, route: Route) -> None:
    """Answer one request with a fixed Route (a handler route may end this way)."""
    headers = dict(route.headers)
    if route.conditional and route.status == 200:
        etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
        headers.setdefault("ETag", etag)
        headers.setdefault("Last-Modified", _LAST_MODIFIED)
        if handler.headers.get("If-None-Match") == etag or (
            "If-None-Match" not in handler.headers and handler.headers.get("If-Modified-Since") == _LAST_MODIFIED
        ):
            handler.send_response(304)
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
    handler.send_response(route.status)
    handler.send_header("Content-Type", route.content_type)
    handler.send_header("Content-Length", str(len(route.body)))
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(route.body)
