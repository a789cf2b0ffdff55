"""The HTTP edge: fetch feeds and article pages safely, many at a time.

`Fetcher.get(url)` returns a `Response` (200 with a decoded body, or 304 for an unchanged resource) or
raises `FetchError`; every httpx/httpcore/OS error is wrapped here, once. What it guards against:

- SSRF: the host is resolved by our own httpcore network backend (monitor/transport.py) at connect time, every address is
  checked (`is_public_address` unless told otherwise) and the socket is connected to the checked IP,
  so DNS rebinding and odd spellings (`http://2130706433/`) cannot reach a private address. Redirects
  are followed by hand, each hop re-checked (scheme and address) and counted; https never redirects to
  plain http.
- Slow servers: connect/read timeouts plus a total deadline per request (httpx only counts
  inactivity, so a server dripping a byte at a time would otherwise never end).
- Big bodies: the size cap counts DECODED bytes; gzip/deflate are inflated here in small steps, so a
  tiny gzip bomb stops at the cap without ever holding more than a chunk of its output.
- Scale: one AsyncClient runs out of CPU above ~20 connections, so hosts are hashed onto `shards`
  clients; a per-host semaphore and a global one bound the concurrency. A body we do not keep (304,
  redirect, error page) is still read to its end when small, or httpcore drops the connection instead
  of reusing it (a run of conditional requests would otherwise open one connection per request).

    async with Fetcher() as fetcher:
        response = await fetcher.get("https://example.org/feed.xml", etag=old_etag)
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeGuard

import httpcore
import httpx

from . import USER_AGENT
from .dates import parse_datetime
from .errors import FetchError
from .scheduling import MAX_HINT
from .transport import AddressRefused, GuardedBackend, GuardedTransport, IPAddress, is_public_address

try:  # brotli is optional: "br" is advertised (and decoded) only with a decoder that can bound its output
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None


def _bounded_brotli() -> bool:
    """brotli >= 1.2 stops each step at `output_buffer_limit`; older ones (and brotlicffi) return all a step
    inflates at once: an 809-byte body grew to 2.1 GB in one call. Those are not used."""
    if _brotli is None:
        return False
    try:
        _brotli.Decompressor().process(b"", output_buffer_limit=1)
    except TypeError:
        return False
    except _brotli.error:
        pass
    return hasattr(_brotli.Decompressor, "can_accept_more_data")


if not _bounded_brotli():
    _brotli = None

_BROTLI_ERRORS = (_brotli.error,) if _brotli is not None else ()
ACCEPT_ENCODING = "gzip, deflate" + (", br" if _brotli else "")
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
          "text/xml;q=0.9, text/html;q=0.8, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
DRAIN_BYTES = 64 * 1024  # an unwanted body (304, redirect, error page) up to this size is read to keep the connection
DRAIN_SECONDS = 2.0  # ... if it arrives within this time


@dataclass(frozen=True)
class Response:
    url: str  # requested URL
    final_url: str  # after redirects
    status: int  # 200 (or another 2xx) or 304
    content: bytes  # decoded body; b"" on 304
    content_type: str | None
    etag: str | None
    last_modified: str | None
    max_age: int | None  # Cache-Control max-age / s-maxage in seconds; 0 for no-cache/no-store


# ---------------------------------------------------------------- pure helpers


def parse_max_age(cache_control: str | None) -> int | None:
    """Seconds from a Cache-Control header (max-age, else s-maxage), capped at a day; 0 for no-cache/no-store."""
    if not cache_control:
        return None
    directives = {}
    for part in cache_control.split(","):
        name, _, value = part.partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0
    for key in ("max-age", "s-maxage"):
        if directives.get(key, "").isdigit():
            return min(int(directives[key]), MAX_HINT)
    return None


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date, relative to `now`), capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), MAX_HINT))
    when = parse_datetime(value)
    if when is None:
        return None
    return float(min(max(0.0, when.timestamp() - now), MAX_HINT))


def _inflater(encoding: str) -> Callable[[bytes], Iterator[bytes]] | None:
    """An incremental decoder for one Content-Encoding whose output comes in chunks of at most _CHUNK bytes."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        state: dict[str, Any] = {"d": zlib.decompressobj(zlib.MAX_WBITS | (16 if "gzip" in encoding else 0)), "first": True}

        def inflate(data: bytes) -> Iterator[bytes]:
            while data:
                d = state["d"]
                try:
                    out = d.decompress(data, _CHUNK)
                except zlib.error:
                    if not (encoding == "deflate" and state["first"]):
                        raise
                    state["d"] = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate
                    state["first"] = False
                    continue
                state["first"] = False
                if out:
                    yield out
                data = d.unconsumed_tail
                if not data and d.eof and d.unused_data[:2] == b"\x1f\x8b" and "gzip" in encoding:  # next member
                    data, state["d"] = d.unused_data, zlib.decompressobj(zlib.MAX_WBITS | 16)
        return inflate
    if encoding == "br" and _brotli is not None:
        d = _brotli.Decompressor()

        def unbrotli(data: bytes) -> Iterator[bytes]:
            out = d.process(data, output_buffer_limit=_CHUNK)
            while out:  # more output may be waiting: ask with empty input until there is none
                yield out
                out = d.process(b"", output_buffer_limit=_CHUNK)
        return unbrotli
    return None


# ---------------------------------------------------------------- the fetcher


class Fetcher:
    """Fetch URLs with bounded time, size and concurrency. Use as `async with Fetcher(...) as f`."""

    def __init__(self, *, allow_private_networks: bool = False, per_host: int = 4, max_connections: int = 100,
                 connect_timeout: float = 10, read_timeout: float = 20, deadline: float = 60,
                 max_bytes: int = 10_000_000, max_redirects: int = 5, user_agent: str = USER_AGENT,
                 address_policy: Callable[[IPAddress], bool] | None = None, shards: int = 16):
        if address_policy is None:
            address_policy = (lambda ip: True) if allow_private_networks else is_public_address
        self._backend = GuardedBackend(address_policy, resolvers=min(32, max(4, max_connections // 4)))
        self._per_host = max(1, per_host)
        self._global = asyncio.Semaphore(max(1, max_connections))
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._shards = max(1, min(shards, max_connections))
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._pool_keepalive = max(8, 2 * -(-max_connections // self._shards))
        self._max_connections = max(1, max_connections)
        self._timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=None)
        self._deadline = deadline
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._user_agent = user_agent
        self._ssl: ssl.SSLContext | None = None

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        try:
            for client in clients:
                await client.aclose()
        finally:
            self._backend.close()

    def _client(self, host: str) -> httpx.AsyncClient:
        shard = zlib.crc32(host.encode()) % self._shards
        client = self._clients.get(shard)
        if client is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(trust_env=False)  # shared: building one costs ~10 ms
            transport = GuardedTransport(httpcore.AsyncConnectionPool(
                ssl_context=self._ssl, max_connections=self._max_connections,
                max_keepalive_connections=self._pool_keepalive, keepalive_expiry=5.0, http1=True, http2=False,
                network_backend=self._backend,
            ))
            client = httpx.AsyncClient(transport=transport, timeout=self._timeout, follow_redirects=False,
                                       trust_env=False)
            self._clients[shard] = client
        return client

    def _headers(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
        if _header_safe(etag):  # validators came from servers: send them back only when they are plain text
            headers["If-None-Match"] = etag
        if _header_safe(last_modified):
            headers["If-Modified-Since"] = last_modified
        return headers

    async def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                  max_bytes: int | None = None) -> Response:
        """GET `url`, following up to `max_redirects` redirects; raises FetchError naming `url`."""
        return await self._request(url, self._headers(etag, last_modified), max_bytes)

    async def post(self, url: str, body: bytes, *, content_type: str, max_bytes: int | None = None) -> Response:
        """POST `body` to `url` under the same guards as get(); a redirect is refused (FetchError), not followed."""
        headers = self._headers(None, None) | {"Content-Type": content_type}
        return await self._request(url, headers, max_bytes, body=body)

    async def _request(self, url: str, headers: dict[str, str], max_bytes: int | None, *,
                       body: bytes | None = None) -> Response:
        limit = self._max_bytes if max_bytes is None else max_bytes
        current = _check_url(url, url, "")
        seen = {str(current)}
        loop = asyncio.get_running_loop()
        where = ""
        try:
            async with asyncio.timeout(None) as clock:
                for _hop in range(self._max_redirects + 1):
                    host = current.host
                    slot = self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))
                    async with slot, self._global:  # host first: waiting for a busy host holds no global slot
                        if clock.when() is None:  # the deadline starts when the first request is sent
                            clock.reschedule(loop.time() + self._deadline)
                        result = await self._send(url, current, headers, limit, where, body)
                    if isinstance(result, Response):
                        return result
                    if body is not None:
                        raise FetchError(url, f"POST redirected to {str(result)[:200]!r}")
                    target = _check_url(url, result, f" (redirect from {current})", base=current)
                    if current.scheme == "https" and target.scheme == "http":  # would send the request in clear text
                        raise FetchError(url, f"refused: redirect from https to plain http ({target})")
                    if str(target) in seen:
                        raise FetchError(url, f"redirect loop at {target}")
                    seen.add(str(target))
                    current, where = target, f" (after redirect to {target})"
                raise FetchError(url, f"too many redirects (more than {self._max_redirects})")
        except TimeoutError as exc:
            raise FetchError(url, f"timed out after {self._deadline:g} s{where}") from exc

    async def _send(self, url: str, current: httpx.URL, headers: dict, limit: int, where: str,
                    body: bytes | None = None) -> Response | str:
        """One hop: a Response, or the Location of a redirect. A `body` makes it a POST."""
        client = self._client(current.host)
        try:
            request = client.build_request("GET" if body is None else "POST", current, headers=headers, content=body)
            response = await client.send(request, stream=True)
            try:
                status = response.status_code
                if status == 304 or not 200 <= status < 300:  # no body we keep: read it only to reuse the connection
                    await _drain(response)
                if status in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(url, f"HTTP {status} without a Location{where}", status=status)
                    return location
                if status >= 400:
                    retry = None
                    if status in (429, 503):
                        retry = parse_retry_after(response.headers.get("retry-after"), now=time.time())
                    raise FetchError(url, f"HTTP {status}{where}", status=status, retry_after=retry)
                if status != 304 and not 200 <= status < 300:
                    raise FetchError(url, f"HTTP {status}{where}", status=status)
                content = b"" if status == 304 else await _read_body(url, response, limit, where)
                h = response.headers
                return Response(
                    url=url, final_url=str(current), status=status, content=content,
                    content_type=h.get("content-type"),
                    etag=h.get("etag") or (headers.get("If-None-Match") if status == 304 else None),
                    last_modified=h.get("last-modified") or (headers.get("If-Modified-Since") if status == 304 else None),
                    max_age=parse_max_age(h.get("cache-control")),
                )
            finally:
                await response.aclose()
        except AddressRefused as exc:
            raise FetchError(url, f"{exc}{where}") from exc
        except httpx.ConnectTimeout as exc:
            raise FetchError(url, f"connect timed out after {self._timeout.connect:g} s{where}") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"read timed out after {self._timeout.read:g} s{where}") from exc
        except httpx.ConnectError as exc:
            raise FetchError(url, f"cannot connect: {_short(exc)}{where}") from exc
        except httpx.InvalidURL as exc:  # httpx parses a redirect's Location itself, even when not following
            raise FetchError(url, f"invalid redirect Location: {_short(exc)}{where}") from exc
        except httpx.RemoteProtocolError as exc:
            raise FetchError(url, f"broken HTTP response: {_short(exc)}{where}") from exc
        except (zlib.error, *_BROTLI_ERRORS) as exc:
            raise FetchError(url, f"cannot decompress the body: {_short(exc)}{where}") from exc
        except (httpx.HTTPError, OSError, UnicodeError) as exc:
            raise FetchError(url, f"{type(exc).__name__}: {_short(exc)}{where}") from exc


def _check_url(url: str, target: str | httpx.URL, where: str, *, base: httpx.URL | None = None) -> httpx.URL:
    """Parse and vet one hop's URL: http/https with a host, or FetchError naming `url`."""
    try:
        parsed = base.join(target) if base is not None else httpx.URL(target)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(url, f"invalid URL {str(target)[:200]!r}{where}: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchError(url, f"unsupported URL scheme {parsed.scheme!r} in {str(target)[:200]!r}{where}")
    if not parsed.host:
        raise FetchError(url, f"URL without a host: {str(target)[:200]!r}{where}")
    return parsed


async def _read_body(url: str, response: httpx.Response, limit: int, where: str) -> bytes:
    """Read and decode the body, stopping as soon as the decoded size passes `limit`."""
    too_big = FetchError(url, f"body larger than {limit} bytes{where}")
    encodings = [e.strip().lower() for e in response.headers.get("content-encoding", "").split(",")]
    encodings = [e for e in encodings if e and e != "identity"]
    decoders = []
    for encoding in reversed(encodings):  # the last encoding applied is undone first
        decoder = _inflater(encoding)
        if decoder is None:
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}{where}")
        decoders.append(decoder)
    declared = response.headers.get("content-length", "")
    if not decoders and declared.isdigit() and int(declared) > limit:
        raise too_big

    def decode(data: bytes, stage: int = 0) -> Iterator[bytes]:
        if stage == len(decoders):
            yield data
            return
        for chunk in decoders[stage](data):
            yield from decode(chunk, stage + 1)

    parts: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        for chunk in decode(raw):
            size += len(chunk)
            if size > limit:
                raise too_big
            parts.append(chunk)
    return b"".join(parts)


async def _drain(response: httpx.Response) -> None:
    """Read the rest of a body we do not keep (304, redirect, error page), so that httpcore sees the message end
    and puts the connection back in its pool; a response closed before its end costs its connection.

    Only a small body that arrives promptly is worth it: past DRAIN_BYTES or DRAIN_SECONDS, or on any error, stop
    and let aclose() drop the connection (the request's own deadline still bounds the whole exchange).
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        return
    size = 0
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            async for raw in response.aiter_raw():
                size += len(raw)
                if size > DRAIN_BYTES:
                    return
    except (TimeoutError, httpx.HTTPError, OSError):
        return


def _header_safe(value: str | None) -> TypeGuard[str]:
    return bool(value) and value is not None and len(value) < 1024 and value.isascii() and value.isprintable()


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
