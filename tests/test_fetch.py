"""monitor.fetch against real servers on loopback addresses (no mocked transports)."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import random
import shutil
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from email.utils import formatdate

import pytest

import monitor
from monitor.errors import FetchError
from monitor.fetch import Fetcher, Response, is_public_address, parse_max_age, parse_retry_after
from monitor.scheduling import backoff_delay
from monitor.loopback import LoopbackServer, Route

from .fetch_servers import (
    RawServer,
    closed_port,
    dripping,
    gzip_of_zeros,
    read_request,
    short_body_then_close,
    short_body_then_wait,
    silent,
    tls_recording_sni,
)

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Harbour Gazette</title></channel></rss>"


def run(coro, limit: float = 30):
    """Run one coroutine; a hang becomes a test failure instead of a stuck suite."""
    return asyncio.run(asyncio.wait_for(coro, limit))


async def fetch(url: str, **options) -> Response:
    get_options = {k: options.pop(k) for k in ("etag", "last_modified", "max_bytes") if k in options}
    options.setdefault("allow_private_networks", True)
    async with Fetcher(**options) as fetcher:
        return await fetcher.get(url, **get_options)


def fetch_error(url: str, **options) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(fetch(url, **options))
    return info.value


# ---------------------------------------------------------------- ordinary fetching


def test_200_then_304_round_trip(server):
    server.routes["/feed.xml"] = Route(FEED, content_type="application/rss+xml", headers={"Cache-Control": "max-age=900"})
    first = run(fetch(server.url("/feed.xml")))
    assert (first.status, first.content, first.content_type) == (200, FEED, "application/rss+xml")
    assert first.etag and first.last_modified and first.max_age == 900
    assert first.url == first.final_url == server.url("/feed.xml")

    again = run(fetch(server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified))
    assert (again.status, again.content) == (304, b"")
    assert again.etag == first.etag
    sent = server.hits("/feed.xml")[1].headers
    assert sent["if-none-match"] == first.etag and sent["if-modified-since"] == first.last_modified

    by_date = run(fetch(server.url("/feed.xml"), last_modified=first.last_modified))
    assert by_date.status == 304


def test_hostile_validators_are_not_sent_back(server):
    server.routes["/"] = Route(FEED)
    assert run(fetch(server.url("/"), etag='"caf\u00e9"', last_modified="Mon\r\nX-Evil: 1")).status == 200
    sent = server.hits("/")[0].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent and "x-evil" not in sent


def test_gzip_with_trailing_junk_and_two_members(server):
    server.routes["/junk"] = Route(gzip.compress(FEED) + b"\n\n", headers={"Content-Encoding": "gzip"})
    server.routes["/two"] = Route(gzip.compress(FEED[:20]) + gzip.compress(FEED[20:]), headers={"Content-Encoding": "gzip"})
    server.routes["/bad"] = Route(b"\x1f\x8b not really gzip", headers={"Content-Encoding": "gzip"})
    assert run(fetch(server.url("/junk"))).content == FEED
    assert run(fetch(server.url("/two"))).content == FEED
    assert "cannot decompress the body" in str(fetch_error(server.url("/bad")))


def test_user_agent_and_accept_encoding_seen_by_server(server):
    server.routes["/"] = Route(b"ok")
    run(fetch(server.url("/")))
    headers = server.hits("/")[0].headers
    assert headers["user-agent"] == monitor.USER_AGENT and "monitor" in headers["user-agent"]
    assert "gzip" in headers["accept-encoding"] and "deflate" in headers["accept-encoding"]


@pytest.mark.parametrize("encoding, body", [
    ("gzip", gzip.compress(FEED)),
    ("deflate", zlib.compress(FEED)),
    ("deflate", zlib.compress(FEED)[2:-4]),  # raw deflate, as some servers send it
])
def test_compressed_bodies_are_decoded(server, encoding, body):
    server.routes["/"] = Route(body, headers={"Content-Encoding": encoding})
    assert run(fetch(server.url("/"))).content == FEED


def test_unknown_content_encoding_is_an_error(server):
    server.routes["/"] = Route(b"\x00\x01", headers={"Content-Encoding": "snappy-9000"})
    assert "unsupported Content-Encoding 'snappy-9000'" in str(fetch_error(server.url("/")))


def test_http_errors_carry_status_and_retry_after(server):
    server.routes["/gone"] = Route(b"no", status=404, conditional=False)
    server.routes["/busy"] = Route(b"slow down", status=429, headers={"Retry-After": "120"}, conditional=False)
    later = formatdate(time.time() + 600, usegmt=True)
    server.routes["/down"] = Route(b"maintenance", status=503, headers={"Retry-After": later}, conditional=False)

    gone = fetch_error(server.url("/gone"))
    assert (gone.status, gone.reason, gone.url) == (404, "HTTP 404", server.url("/gone"))
    assert server.url("/gone") in str(gone)
    busy = fetch_error(server.url("/busy"))
    assert (busy.status, busy.retry_after) == (429, 120)
    down = fetch_error(server.url("/down"))
    assert down.status == 503 and 590 <= down.retry_after <= 600


# ---------------------------------------------------------------- redirects


def chain(server, hops: int, prefix: str = "/r") -> str:
    for i in range(hops):
        nxt = f"{prefix}{i + 1}" if i + 1 < hops else "/final"
        server.routes[f"{prefix}{i}"] = Route(status=302, headers={"Location": nxt}, conditional=False)
    server.routes["/final"] = Route(FEED)
    return server.url(f"{prefix}0")


def test_redirect_chain_of_three_is_followed(server):
    start = chain(server, 3)
    response = run(fetch(start))
    assert (response.url, response.final_url, response.content) == (start, server.url("/final"), FEED)


def test_redirect_chain_of_six_is_refused(server):
    start = chain(server, 6)
    error = fetch_error(start)
    assert "too many redirects" in str(error) and error.url == start
    assert not server.hits("/final")


def test_redirect_loop_is_refused(server):
    server.routes["/a"] = Route(status=301, headers={"Location": "/b"}, conditional=False)
    server.routes["/b"] = Route(status=307, headers={"Location": server.url("/a")}, conditional=False)
    assert "redirect loop" in str(fetch_error(server.url("/a")))


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "http://[::1"])
def test_redirect_to_other_schemes_is_refused(server, location):
    server.routes["/r"] = Route(status=302, headers={"Location": location}, conditional=False)
    error = fetch_error(server.url("/r"))
    assert "unsupported URL scheme" in str(error) or "location" in str(error).lower()
    assert error.url == server.url("/r")


def test_redirect_to_a_private_address_is_refused_at_connect_time():
    """127.0.0.2 plays a public site that redirects to an internal service on 127.0.0.1."""
    with LoopbackServer(host="127.0.0.1") as internal, LoopbackServer(host="127.0.0.2") as public:
        internal.routes["/admin"] = Route(b"secrets")
        public.routes["/feed"] = Route(status=302, headers={"Location": internal.url("/admin")}, conditional=False)
        public.routes["/ok"] = Route(FEED)
        policy = lambda ip: ip == ipaddress.ip_address("127.0.0.2")  # noqa: E731

        assert run(fetch(public.url("/ok"), allow_private_networks=False, address_policy=policy)).content == FEED
        error = fetch_error(public.url("/feed"), allow_private_networks=False, address_policy=policy)
        assert "refused: 127.0.0.1 is a private/loopback address" in str(error)
        assert error.url == public.url("/feed")
        assert public.hits("/feed") and not internal.requests


# ---------------------------------------------------------------- the address guard


def test_loopback_and_odd_spellings_are_refused_by_default(server):
    server.routes["/"] = Route(b"internal")
    port = server.base.rsplit(":", 1)[1]
    for host in ["127.0.0.1", "localhost", "2130706433", "0x7f.1", "127.1", "0", "0.0.0.0", "[::ffff:127.0.0.1]", "[::1]"]:
        error = fetch_error(f"http://{host}:{port}/", allow_private_networks=False)
        assert "refused: " in str(error) and "is a private/loopback address" in str(error), host
    # not even a dotted-octal spelling gets through (httpx rejects it before any lookup)
    assert isinstance(fetch_error(f"http://0177.0.0.1:{port}/", allow_private_networks=False), FetchError)
    assert not server.requests


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "data:text/plain,hi", "gopher://x/", "notaurl", ""])
def test_other_schemes_are_refused(url):
    error = fetch_error(url)
    assert url in str(error) and error.url == url


@pytest.mark.parametrize("ip, public", [
    ("8.8.8.8", True), ("2606:4700:4700::1111", True), ("::ffff:8.8.8.8", True),
    ("127.0.0.1", False), ("127.255.0.9", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("100.127.255.254", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("239.255.255.250", False), ("240.0.0.1", False),
    ("255.255.255.255", False), ("192.0.2.1", False), ("::", False), ("::1", False), ("fe80::1", False),
    ("fc00::1", False), ("fd12:3456::1", False), ("ff02::1", False), ("fec0::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("::ffff:169.254.169.254", False),
    ("2002:7f00:1::", False), ("2001:db8::1", False),
])
def test_is_public_address(ip, public):
    assert is_public_address(ip) is public
    assert is_public_address(ipaddress.ip_address(ip)) is public


# ---------------------------------------------------------------- slow and lying servers


@pytest.mark.parametrize("behaviour", [silent, dripping])
def test_slow_servers_end_at_the_deadline(behaviour):
    with RawServer(behaviour) as slow:
        error = fetch_error(slow.url("/"), deadline=2, read_timeout=20)
    assert "timed out after 2 s" in str(error)


def test_read_timeout(server):
    with RawServer(short_body_then_wait) as liar:
        error = fetch_error(liar.url("/"), read_timeout=1, deadline=20)
    assert "timed out after 1 s" in str(error)


def error_page_that_never_ends(conn, stop) -> None:
    """A 404 that claims 500 bytes of body, sends 10, then keeps the connection open and silent."""
    read_request(conn)
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 500\r\n\r\nnot found ")
    stop.wait(30)


def test_an_unfinished_error_body_is_not_waited_for():
    with RawServer(error_page_that_never_ends) as liar:
        error = fetch_error(liar.url("/"), read_timeout=20, deadline=10)
    assert (error.status, error.reason) == (404, "HTTP 404")  # not "timed out after 10 s"


def test_lying_content_length_is_an_error_not_a_hang():
    with RawServer(short_body_then_close) as liar:
        error = fetch_error(liar.url("/"))
    assert "broken HTTP response" in str(error)


def test_gzip_bomb_stops_at_the_cap_with_little_memory(server):
    server.routes["/bomb"] = Route(gzip_of_zeros(50_000_000), headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(FetchError) as info:
            run(fetch(server.url("/bomb"), max_bytes=1_000_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "body larger than 1000000 bytes" in str(info.value)
    assert peak < 8_000_000, peak


def test_size_cap_on_plain_bodies(server):
    server.routes["/big"] = Route(b"x" * 200_001)
    server.routes["/fits"] = Route(b"x" * 200_000)
    assert "body larger than 200000 bytes" in str(fetch_error(server.url("/big"), max_bytes=200_000))
    assert len(run(fetch(server.url("/fits"), max_bytes=200_000)).content) == 200_000


# ---------------------------------------------------------------- concurrency


def test_many_concurrent_gets_to_several_hosts_respect_the_limits():
    lock = threading.Lock()
    active = {"all": 0}
    peak = {"all": 0}

    def slow_handler(name):
        def handle(h):
            with lock:
                for key in ("all", name):
                    active[key] = active.get(key, 0) + 1
                    peak[key] = max(peak.get(key, 0), active[key])
            time.sleep(0.03)
            with lock:
                for key in ("all", name):
                    active[key] -= 1
            body = f"story from {name} {h.path}".encode()
            h.send_response(200)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        return handle

    hosts = [f"127.0.0.{i}" for i in range(2, 6)]
    servers = [LoopbackServer(host=host).start() for host in hosts]
    try:
        for srv, host in zip(servers, hosts):
            srv.routes["/item"] = slow_handler(host)
        urls = [srv.url(f"/item?n={n}") for n in range(30) for srv in servers]

        async def all_of_them():
            async with Fetcher(allow_private_networks=True, per_host=2, max_connections=6) as fetcher:
                return await asyncio.gather(*(fetcher.get(u) for u in urls))

        responses = run(all_of_them())
    finally:
        for srv in servers:
            srv.stop()
    assert [r.content for r in responses] == [f"story from {u.split('/')[2].split(':')[0]} /{u.split('/', 3)[3]}".encode() for u in urls]
    assert all(peak[h] <= 2 for h in hosts), peak
    assert peak["all"] <= 6, peak
    assert peak["all"] > 2, peak  # hosts were served side by side, not one after another


def counting(server) -> set:
    """Routes on `server` that note each client port (one per TCP connection) before answering:
    /feed.xml 200 then 304 on its ETag, /moved 302 with a small body, /gone 404 with a small body."""
    ports: set = set()
    etag = '"v1"'

    def answer(h, status: int, body: bytes = b"", headers: dict | None = None):
        ports.add(h.client_address[1])
        h.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    server.routes["/feed.xml"] = lambda h: (answer(h, 304, headers={"ETag": etag}) if h.headers.get("If-None-Match") == etag
                                            else answer(h, 200, FEED, {"ETag": etag}))
    server.routes["/moved"] = lambda h: answer(h, 302, b"<p>moved to /feed.xml</p>" * 20, {"Location": "/feed.xml"})
    server.routes["/gone"] = lambda h: answer(h, 404, b"<p>no such page</p>" * 20)
    server.routes["/big"] = lambda h: answer(h, 200, b"x" * 50_000)
    return ports


def test_304_redirect_and_error_bodies_leave_the_connection_reusable(server):
    ports = counting(server)

    async def many():
        async with Fetcher(allow_private_networks=True, per_host=1) as fetcher:
            first = await fetcher.get(server.url("/feed.xml"))
            statuses = [(await fetcher.get(server.url("/feed.xml"), etag=first.etag)).status for _ in range(5)]
            statuses.append((await fetcher.get(server.url("/moved"), etag=first.etag)).status)
            for _ in range(3):
                with pytest.raises(FetchError, match="HTTP 404"):
                    await fetcher.get(server.url("/gone"))
            return first.status, statuses

    assert run(many()) == (200, [304] * 6)
    assert len(server.requests) == 11
    assert len(ports) == 1, f"{len(ports)} connections for 11 requests"


def test_a_body_over_the_cap_is_still_cut_off_and_the_next_request_works(server):
    ports = counting(server)

    async def two():
        async with Fetcher(allow_private_networks=True, per_host=1) as fetcher:
            with pytest.raises(FetchError, match="body larger than 1000 bytes"):
                await fetcher.get(server.url("/big"), max_bytes=1000)
            return await fetcher.get(server.url("/feed.xml"))

    assert run(two()).content == FEED
    assert len(ports) == 2  # the cut-off body cost its connection; nothing waited for the rest of it


# ---------------------------------------------------------------- network failures are FetchErrors


def test_connection_refused_and_unresolvable_host():
    url = f"http://127.0.0.1:{closed_port()}/feed"
    error = fetch_error(url)
    assert "cannot connect" in str(error) and error.url == url
    assert "cannot resolve no-such-outlet.invalid" in str(fetch_error("http://no-such-outlet.invalid/feed", connect_timeout=3))


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command to make a certificate")
def test_https_keeps_the_hostname_for_sni_and_checks_the_certificate(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list = []
    with RawServer(tls_recording_sni(context, seen)) as tls:
        url = f"https://localhost:{tls.url().rsplit(':', 1)[1]}"
        error = fetch_error(url)
    assert seen == ["localhost"]  # connected to the checked IP, but TLS still named the host
    assert "cannot connect" in str(error) and "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_https_to_a_plain_http_server_is_a_fetch_error(server):
    error = fetch_error(server.url("/").replace("http://", "https://"))
    assert "cannot connect" in str(error)


# ---------------------------------------------------------------- pure helpers


def test_backoff_grows_is_capped_and_never_gives_up():
    rng = random.Random(7)
    for failures in range(1, 12):
        delay = backoff_delay(failures, base=1800, cap=86400, rng=rng)
        ideal = min(86400, 1800 * 2 ** (failures - 1))
        assert ideal / 2 <= delay <= ideal
    assert backoff_delay(3, rng=rng) > 1800 * 2 ** 0  # grows: third failure waits longer than the first can
    assert all(0 < backoff_delay(n, rng=rng) <= 86400 for n in (50, 1_000, 10**9))
    assert backoff_delay(0) == 0


def test_cache_control_and_retry_after_parsing():
    assert parse_max_age(None) is None and parse_max_age("public") is None
    assert parse_max_age("public, max-age=600") == 600
    assert parse_max_age("s-maxage=300") == 300
    assert parse_max_age("no-cache") == 0 and parse_max_age("max-age=60, no-store") == 0
    assert parse_max_age("max-age=99999999999") == 86400  # a server cannot silence a feed for centuries
    assert parse_max_age("max-age=-5") is None and parse_max_age("max-age=soon") is None
    now = 1_700_000_000.0
    assert parse_retry_after("120", now=now) == 120
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now=now) == 90
    assert parse_retry_after(formatdate(now - 90, usegmt=True), now=now) == 0
    assert parse_retry_after("whenever", now=now) is None and parse_retry_after("", now=now) is None
    assert parse_retry_after("10" * 30, now=now) == 86400
