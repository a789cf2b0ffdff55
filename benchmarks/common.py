"""Shared pieces of the benchmarks: a loopback asyncio server for many hosts, invented text, pages and
feeds, machine facts, memory and CPU meters, and a Markdown table printer.

Nothing here is timed itself. Every byte served is generated from a seed; every name is invented.
Only loopback addresses are ever bound or contacted (127.0.0.2 ... stand for separate hosts: all of
127/8 answers on Linux).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import hashlib
import multiprocessing
import os
import platform
import random
import resource
import socket
import sys
import time
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `.venv/bin/python benchmarks/bench_x.py`
    sys.path.insert(0, str(ROOT))

# ----------------------------------------------------------------------------- machine and meters


def machine() -> dict[str, str]:
    """nproc, CPU model, Python version and date: printed above every table."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def machine_line() -> str:
    m = machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"machine: nproc={m['nproc']}, CPU {m['cpu']}, Python {m['python']}, {m['date']}; "
            f"load average before the run {load} (other work on the machine shares its cores)")


def _burn(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def parallel_capacity(n: int = 6_000_000) -> float:
    """How many cores' worth of pure-Python CPU two processes get right now (2.0 on an idle 2-core box).

    Printed next to any "uses both cores" figure: on a shared machine the other load takes cores away.
    """
    t0 = time.perf_counter()
    _burn(n)
    one = time.perf_counter() - t0
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_burn, args=(n,)) for _ in range(2)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return 2 * one / (time.perf_counter() - t0)


def cpu_seconds() -> float:
    """CPU time (user+system) of this process and of its children reaped so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def tree_rss_mb(pid: int) -> float:
    """Current RSS of `pid` and all its descendants, in MB (reads /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, pages = int(fields[1]), int(fields[21])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def table(headers: list[str], rows: list[list]) -> str:
    """A Markdown table (what docs/benchmarks.md keeps)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def verdict(ok: bool) -> str:
    return "yes" if ok else "**NO**"


# ----------------------------------------------------------------------------- loopback server

Content = Callable[[str, str], "tuple[bytes, str] | None"]  # (netloc "ip:port", path) -> (body, content type)


def free_port(host: str = "127.0.0.2") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def hosts(n: int) -> list[str]:
    """127.0.0.2 ... 127.0.0.(n+1): n loopback addresses standing for n hosts."""
    if not 1 <= n <= 250:
        raise ValueError("1..250 hosts")
    return [f"127.0.0.{i}" for i in range(2, n + 2)]


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=8).hexdigest() + '"'


async def _serve(addresses: list[str], port: int, content: Content, delay: float, ready, counts) -> None:
    cache: dict[tuple[str, str], tuple[bytes, str, str] | None] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = "%s:%d" % writer.get_extra_info("sockname")[:2]  # the netloc, so bodies can link back
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                path = parts[1] if len(parts) > 1 else "/"
                headers = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    headers[k.strip().lower()] = v.strip()
                if delay:
                    await asyncio.sleep(delay)
                key = (host, path)
                if key not in cache:
                    made = content(host, path)
                    cache[key] = (made[0], made[1], _etag(made[0])) if made else None
                found = cache[key]
                if found is None:
                    counts[404] = counts.get(404, 0) + 1
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif headers.get("if-none-match") == found[2]:
                    counts[304] = counts.get(304, 0) + 1
                    writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {found[2]}\r\nContent-Length: 0\r\n\r\n".encode())
                else:
                    counts[200] = counts.get(200, 0) + 1
                    body, ctype, etag = found
                    writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nETag: {etag}\r\n"
                                 f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, a, port, backlog=1024) for a in addresses]
    ready.set()
    try:
        await asyncio.Event().wait()  # until the process is terminated
    finally:
        for s in servers:
            s.close()


def _server_main(addresses, port, content, delay, ready) -> None:
    asyncio.run(_serve(addresses, port, content, delay, ready, {}))


class LoopbackHosts:
    """An asyncio HTTP/1.1 server (keep-alive, ETag -> 304) on several loopback addresses, in its own
    process so that it never competes with the code under test for the GIL.

        with LoopbackHosts(hosts(50), content, delay=0.2) as srv:
            srv.url("127.0.0.2", "/feed/1.xml")

    `content(netloc, path)` makes a body on the first request for it (cached afterwards); the forked
    server process inherits it, so closures are fine.
    """

    def __init__(self, addresses: list[str], content: Content, *, delay: float = 0.0):
        self.addresses = addresses
        self.port = free_port(addresses[0])
        ctx = multiprocessing.get_context("fork")
        self._ready = ctx.Event()
        self._proc = ctx.Process(target=_server_main, args=(addresses, self.port, content, delay, self._ready),
                                 daemon=True)

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def __enter__(self) -> "LoopbackHosts":
        self._proc.start()
        if not self._ready.wait(30):
            self._proc.terminate()
            raise RuntimeError("loopback server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self._proc.terminate()  # only the process started above, by its own handle
        self._proc.join(10)


# ----------------------------------------------------------------------------- invented text

_ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "pr", "r", "s", "st", "t",
           "tr", "v", "w", "z", "sh", "ch", "th"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "io"]
_CODAS = ["", "", "n", "r", "l", "s", "t", "m", "nd", "st", "rk", "ng"]
FUNCTION = ("the of and to in a that for on with as by at from its this was is are after before while "
            "but not also more than over into about which who said would could will has have had").split()


def _word(r: random.Random, syllables: int) -> str:
    return "".join(r.choice(_ONSETS) + r.choice(_VOWELS) + r.choice(_CODAS) for _ in range(syllables))


def vocabulary(n: int = 4000, seed: int = 7) -> list[str]:
    r = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < n:
        words[_word(r, r.choice((1, 2, 2, 3)))] = None
    return list(words)


VOCAB = vocabulary()


def sentence(r: random.Random, words: int, *, extra: list[str] = ()) -> str:
    out = []
    for i in range(words):
        if extra and r.random() < 0.12:
            out.append(r.choice(extra))
        elif r.random() < 0.4:
            out.append(r.choice(FUNCTION))
        else:
            out.append(VOCAB[min(int(r.paretovariate(1.1)) - 1, len(VOCAB) - 1)] if r.random() < 0.5 else r.choice(VOCAB))
    s = " ".join(out)
    return s[0].upper() + s[1:] + "."


def paragraph(r: random.Random, sentences: int, *, extra: list[str] = ()) -> str:
    return " ".join(sentence(r, r.randint(12, 26), extra=extra) for _ in range(sentences))


class Event:
    """One invented event: its names, figure and key words, shared by every report of it."""

    def __init__(self, n: int, when: _dt.datetime, *, topical: bool = False):
        r = random.Random(f"event-{n}")
        self.n, self.when, self.topical = n, when, topical
        self.org = _word(r, 2).capitalize() + " " + r.choice(["Labs", "Systems", "Group", "Institute", "Works"])
        self.people = [f"{_word(r, 2).capitalize()} {_word(r, 2).capitalize()}" for _ in range(2)]
        self.place = _word(r, 3).capitalize()
        self.figure = f"{r.randint(2, 950)}{r.choice(['%', ' million', ' billion', ''])}"
        self.keys = [r.choice(VOCAB) for _ in range(5)]
        if topical:
            self.keys[:2] = ["self-improving AI", "frontier AI"]


def article_text(event: Event, outlet: int, paragraphs: int = 8) -> tuple[str, list[str]]:
    """(title, paragraphs) of one outlet's own report of `event`."""
    r = random.Random(f"article-{event.n}-{outlet}")
    k = event.keys
    verb = r.choice(["announces", "reveals", "faces questions over", "defends", "expands", "halts", "reports"])
    title = r.choice([
        f"{event.org} {verb} {k[0]} {k[1]} in {event.place}",
        f"{event.people[0]} says {event.org} {k[0]} plan reaches {event.figure}",
        f"{event.figure} {k[1]}: {event.org} {verb} {k[0]} {k[2]}",
        f"Why {event.org}'s {k[0]} {k[2]} matters for {event.place}",
    ])
    extra = k + [event.org]
    lead = (f"{event.org} said in {event.place} that its {k[0]} {k[1]} work reached {event.figure}, "
            f"according to {event.people[0]}. " + paragraph(r, 2, extra=extra))
    quote = f"\"{sentence(r, 14, extra=extra)[:-1]},\" said {event.people[r.randint(0, 1)]} of {event.org}."
    body = [lead, quote] + [paragraph(r, r.randint(3, 6), extra=extra if i < 2 else []) for i in range(paragraphs - 2)]
    return title, body


# ----------------------------------------------------------------------------- pages and feeds


def _links(r: random.Random, n: int, prefix: str) -> str:
    return "".join(f'<li><a href="{prefix}/{r.choice(VOCAB)}-{i}">{escape(sentence(r, r.randint(2, 5))[:-1])}</a></li>'
                   for i in range(n))


def page_html(*, url: str, title: str, paragraphs: list[str], outlet: str, published: _dt.datetime,
              seed: int, target_kb: int = 100) -> bytes:
    """A realistic news page: head metadata, scripts and styles, big navigation, the article in one
    of four layouts, related links, comments, sidebars and footer, padded to about `target_kb` KB."""
    r = random.Random(seed)
    layout = seed % 4
    ts = published.isoformat()
    paras = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    if layout == 0:
        article = f'<article class="story"><h1>{escape(title)}</h1><div class="byline">By {escape(outlet)} staff</div>{paras}</article>'
    elif layout == 1:
        parts = [f"<h2>{escape(sentence(r, 4)[:-1])}</h2><p>{escape(p, quote=False)}</p>" if i % 3 == 2
                 else f"<p>{escape(p, quote=False)}</p>" for i, p in enumerate(paragraphs)]
        article = (f'<main id="content"><div class="story-body" itemprop="articleBody"><h1 class="headline">{escape(title)}</h1>'
                   + "".join(parts) + f'<ul class="facts">{_links(r, 0, "")}' + "".join(
                       f"<li>{escape(sentence(r, 8))}</li>" for _ in range(4)) + "</ul></div></main>")
    elif layout == 2:
        rows = "".join(f"<tr><td>{escape(r.choice(VOCAB))}</td><td>{r.randint(1, 999)}</td></tr>" for _ in range(5))
        article = (f'<div id="main"><section class="post"><header><h1>{escape(title)}</h1><time datetime="{ts}">{ts}</time></header>'
                   f'<div class="entry-content">{paras}<table><tr><th>item</th><th>value</th></tr>{rows}</table></div></section></div>')
    else:
        article = (f'<table width="100%"><tr><td class="left"><ul>{_links(r, 15, "/sec")}</ul></td><td class="content">'
                   f'<h1>{escape(title)}</h1>{paras}</td></tr></table>')
    comments = "".join(f'<div class="comment"><span class="user">{escape(r.choice(VOCAB))}{r.randint(1, 99)}</span>'
                       f"<p>{escape(sentence(r, r.randint(8, 30)))}</p></div>" for _ in range(r.randint(5, 25)))
    head = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | {escape(outlet)}</title>'
            f'<meta property="og:site_name" content="{escape(outlet)}"><meta property="og:title" content="{escape(title)}">'
            f'<meta property="article:published_time" content="{ts}"><link rel="canonical" href="{escape(url)}">'
            f'<meta name="author" content="{escape(outlet)} staff"><style>'
            + "".join(f".c{i}{{margin:{i % 7}px;padding:{i % 5}px;color:#{i * 7919 % 0xFFFFFF:06x}}}" for i in range(150))
            + "</style></head>")
    nav = f'<header class="site"><nav class="menu"><ul>{_links(r, 60, "/section")}</ul></nav><div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news">News</a></div></header>'
    aside = (f'<aside class="sidebar"><h3>Most read</h3><ol>{_links(r, 10, "/popular")}</ol><h3>Newsletter</h3>'
             f'<form action="/subscribe"><input name="email"><button>Sign up</button></form></aside>')
    related = f'<div class="related"><h3>Related</h3><ul>{_links(r, 12, "/news")}</ul></div>'
    share = '<div class="share"><a href="#">Share</a> <a href="#">Post</a> <a href="#">Mail</a></div>'
    footer = f'<footer><ul>{_links(r, 80, "/about")}</ul><p>&copy; {escape(outlet)}. All rights reserved.</p></footer>'
    doc = head + "<body>" + nav + share + article + related + f'<section id="comments"><h3>Comments</h3>{comments}</section>' + aside + footer
    pad = []
    size = len(doc.encode())
    i = 0
    while size < target_kb * 1024 - 200:  # trackers, config blobs and ad slots make up the rest of a real page
        chunk = (f'<script>window.__cfg{i}={{"slot":"{r.choice(VOCAB)}","ids":[{",".join(str(r.randint(1, 10**9)) for _ in range(40))}],'
                 f'"t":"{r.choice(VOCAB)}"}};</script><div class="ad" data-slot="{i}"></div>')
        pad.append(chunk)
        size += len(chunk)
        i += 1
    return (doc + "".join(pad) + "</body></html>").encode()


def rss_feed(*, title: str, link: str, items: list[dict]) -> bytes:
    """RSS 2.0 with one <item> per dict (title, link, guid, summary, published datetime)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             f"<link>{escape(link)}</link><description>{escape(title)} news</description><ttl>60</ttl>"]
    for it in items:
        parts.append(f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
                     f"<guid isPermaLink=\"false\">{escape(it['guid'])}</guid>"
                     f"<pubDate>{format_datetime(it['published'], usegmt=True)}</pubDate>"
                     f"<description>{escape(it['summary'])}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
