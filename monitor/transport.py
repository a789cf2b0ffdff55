"""The connection layer under the fetcher: every connection goes to an address the policy allows.

`GuardedBackend` is an httpcore network backend that resolves the host itself, checks every address
(`is_public_address` by default in monitor/fetch.py) and connects the socket to the checked IP, so DNS
rebinding and odd spellings cannot reach a private address. `GuardedTransport` is the public way to hand
httpx that backend (an `AsyncBaseTransport` over our own `httpcore.AsyncConnectionPool`, as httpx's
`AsyncHTTPTransport` takes no network backend), with httpcore's errors raised as httpx's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import AsyncIterable, AsyncIterator, Callable

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public_address(ip: str | IPAddress) -> bool:
    """True only for global unicast addresses (IPv4-mapped and 6to4 IPv6 judged by the IPv4 inside)."""
    ip = ipaddress.ip_address(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None:
            return is_public_address(inner)
        if ip.is_site_local:
            return False
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class AddressRefused(Exception):
    """Raised at connect time when the resolved address is not allowed; wrapped into FetchError by get()."""

    def __init__(self, host: str, ip: str):
        super().__init__(f"refused: {ip} is a private/loopback address")
        self.host, self.ip = host, ip


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve the host ourselves, check every address with `policy`, connect to a checked IP.

    TLS still uses the URL's hostname for SNI and certificate checks (httpcore passes it to start_tls).
    """

    def __init__(self, policy: Callable[[IPAddress], bool], *, resolvers: int = 16):
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()
        self._resolvers = resolvers
        self._executor: ThreadPoolExecutor | None = None  # asyncio's default pool has only cpu+4 threads

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]  # a canonical literal needs no lookup
        except ValueError:
            pass
        try:
            async with asyncio.timeout(timeout):
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self._resolvers, thread_name_prefix="monitor-dns")
                infos = await asyncio.get_running_loop().run_in_executor(
                    self._executor, partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM))
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        ips = await self._resolve(host, port, timeout)
        for ip in ips:  # refuse the host if ANY of its addresses is refused: no mixed public/private records
            if not self._policy(ipaddress.ip_address(ip)):
                raise AddressRefused(host, ip)
        error: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in ips:
            try:
                return await self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are not allowed")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# httpcore's errors as httpx's, most specific first (httpx.AsyncHTTPTransport maps them the same way).
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout), (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout), (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException), (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError), (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError), (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError), (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError), (httpcore.ProxyError, httpx.ProxyError),
)


def _as_httpx_error(exc: Exception) -> Exception:
    for core, mapped in _HTTPCORE_ERRORS:
        if isinstance(exc, core):
            return mapped(str(exc))
    return exc


class _CoreStream(httpx.AsyncByteStream):
    """A response body from httpcore, read with httpcore's errors raised as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]):
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except Exception as exc:
            mapped = _as_httpx_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)  # httpcore's stream has one; a plain iterable may not
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over our own httpcore pool (whose network backend is the address guard): the
    public way to give httpx a network backend, as AsyncHTTPTransport takes none."""

    def __init__(self, pool: httpcore.AsyncConnectionPool):
        self._pool = pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("the guarded transport needs an async request body")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host, port=request.url.port,
                             target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions,
        )
        try:
            response = await self._pool.handle_async_request(core_request)
        except Exception as exc:
            mapped = _as_httpx_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_CoreStream(response.stream), extensions=response.extensions)  # type: ignore[arg-type]  # async pool: async body

    async def aclose(self) -> None:
        await self._pool.aclose()
