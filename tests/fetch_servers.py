"""Tiny raw-socket servers that misbehave on purpose, for tests/test_fetch.py.

Each `RawServer` listens on a loopback address and runs `behaviour(conn, stop)` in a thread for every
connection; `stop` is set when the server closes, so a behaviour that stalls can wait on it and end.
"""

from __future__ import annotations

import socket
import threading
import zlib
from typing import Callable

Behaviour = Callable[[socket.socket, threading.Event], None]


class RawServer:
    def __init__(self, behaviour: Behaviour, *, host: str = "127.0.0.1"):
        self.behaviour = behaviour
        self.connections = 0
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                self.behaviour(conn, self._stop)
        except OSError:
            pass  # the client gave up: that is the point of most of these servers

    def __enter__(self) -> "RawServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()


def read_request(conn: socket.socket) -> bytes:
    """Read up to the end of the request head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, never answer."""
    read_request(conn)
    stop.wait(30)


def dripping(conn: socket.socket, stop: threading.Event) -> None:
    """Answer with a 200 whose body arrives one byte a second, forever (well, for a minute)."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(60):
        if stop.wait(1.0):
            return
        conn.sendall(b"x")


def short_body_then_close(conn: socket.socket, stop: threading.Event) -> None:
    """Claim 100,000 bytes, send 11, hang up."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nhello world")


def short_body_then_wait(conn: socket.socket, stop: threading.Event) -> None:
    """Claim 100,000 bytes, send 11, keep the connection open and silent."""
    short_body_then_close(conn, stop)
    stop.wait(30)


def gzip_of_zeros(size: int) -> bytes:
    """`size` zero bytes, gzipped without ever holding them all in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = []
    for start in range(0, size, len(block)):
        parts.append(compressor.compress(block[: min(len(block), size - start)]))
    parts.append(compressor.flush())
    return b"".join(parts)


def tls_recording_sni(context, seen: list) -> Behaviour:
    """Start a TLS handshake with `context` (a server context) and record the SNI name the client sent."""

    def record(ssl_socket, server_name, ctx):
        seen.append(server_name)

    context.sni_callback = record

    def behaviour(conn: socket.socket, stop: threading.Event) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    return behaviour


def closed_port(host: str = "127.0.0.1") -> int:
    """A port on `host` with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
