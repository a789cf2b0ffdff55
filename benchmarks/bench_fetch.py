"""Fetching: 1,000 feeds on 50 loopback hosts, each answer after 200 ms, through the project's fetch stage
(monitor.feed_stage.fetch_and_parse: Fetcher + parse_feed in worker processes), then again with the ETags (all 304,
nothing parsed), against a plain loop over feedparser.parse(url) measured on a sample and extrapolated.

    .venv/bin/python benchmarks/bench_fetch.py            # full: 1,000 feeds, 25-feed baseline sample
    .venv/bin/python benchmarks/bench_fetch.py --quick    # 300 feeds on 15 hosts, 10-feed sample
    .venv/bin/python benchmarks/bench_fetch.py --profile  # also cProfile the first run (top functions)

The stage is the one monitor/pipeline.py runs: every due feed fetched concurrently (per_host=4, the config
default; 256 connections in all), each 200 body parsed in a worker process as soon as it arrives.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401  (puts the project on sys.path)
from common import LoopbackHosts, hosts, machine_line, paragraph, rss_feed, sentence, table, verdict

import feedparser

from monitor import feed_stage
from monitor.config import Config
from monitor.errors import FetchError
from monitor.models import Feed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
ITEMS = 20  # items per feed; summaries of 2-3 sentences: about 12 KB a feed, like a typical news feed
DELAY = 0.2


def feed_body(host: str, path: str):
    if not path.startswith("/feed/"):
        return None
    n = int(path.rsplit("/", 1)[1].split(".")[0])
    r = random.Random(n)
    items = []
    for i in range(ITEMS):
        items.append({"title": sentence(r, r.randint(6, 12))[:-1], "link": f"http://{host}/news/{n}-{i}.html",
                      "guid": f"{host}-{n}-{i}", "summary": paragraph(r, r.randint(2, 3)),
                      "published": NOW - timedelta(minutes=37 * i + n)})
    return rss_feed(title=f"Outlet {host} feed {n}", link=f"http://{host}/", items=items), "application/rss+xml"


async def fetch_stage(urls: list[str], validators: dict[str, tuple[str | None, str | None]]):
    """The pipeline's feed stage itself (feed_stage.fetch_and_parse): fetch every due feed, parse each 200 body in
    worker processes as it arrives."""
    config = Config(path=Path("bench.yaml"), feeds=(), topics=(), database=Path("bench.sqlite3"),
                    site_dir=Path("site"), allow_private_networks=True, per_host_connections=4)
    t0 = time.perf_counter()
    done = await feed_stage.fetch_and_parse(config, [Feed(url=u) for u in urls], validators, time.monotonic() + 600, now=NOW)
    total = time.perf_counter() - t0
    parsed = entries = errors = not_modified = 0
    new_validators = {}
    for feed, res in done:
        if isinstance(res, FetchError):
            errors += 1
            continue
        new_validators[feed.url] = (res.response.etag, res.response.last_modified)
        if res.response.status == 304:
            not_modified += 1
            continue
        parsed += 1
        if isinstance(res.parsed, Exception):
            errors += 1
        else:
            entries += len(res.parsed.entries)
    return {"total": total, "parsed": parsed, "entries": entries, "errors": errors,
            "not_modified": not_modified, "validators": new_validators}


def baseline(urls: list[str]) -> tuple[float, int]:
    """A plain loop over feedparser.parse(url): its own fetching (urllib), one feed after another."""
    t0 = time.perf_counter()
    entries = 0
    for u in urls:
        entries += len(feedparser.parse(u).entries)
    return time.perf_counter() - t0, entries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    n_hosts, n_feeds, sample = (15, 300, 10) if args.quick else (50, 1000, 25)
    addrs = hosts(n_hosts)
    print(machine_line())
    with LoopbackHosts(addrs, feed_body, delay=DELAY) as srv:
        urls = [srv.url(addrs[i % n_hosts], f"/feed/{i}.xml") for i in range(n_feeds)]
        # warm the server's cache of generated bodies so that generation is not timed (it runs in its process)
        asyncio.run(fetch_stage(urls, {}))
        first = asyncio.run(fetch_stage(urls, {}))
        second = asyncio.run(fetch_stage(urls, first["validators"]))
        prof = cProfile.Profile() if args.profile else None
        if prof:  # an extra, untimed run: the profiler slows what it watches
            prof.enable()
            asyncio.run(fetch_stage(urls, {}))
            prof.disable()
        sample_urls = random.Random(1).sample(urls, sample)
        base_s, base_entries = baseline(sample_urls)
    base_total = base_s * n_feeds / sample
    print(f"\n{n_feeds} feeds ({ITEMS} items each) on {n_hosts} hosts, server answers after {DELAY * 1000:.0f} ms\n")
    rows = [
        ["plain feedparser.parse(url) loop", f"{sample} feeds measured", f"{base_s:.2f} s for {sample}",
         f"{base_total:.1f} s (extrapolated x{n_feeds // sample})", "1.0x", "-", "-"],
        ["project: fetch and parse (overlapped)", f"{first['parsed']} parsed, {first['entries']} entries, {first['errors']} errors",
         f"{first['total']:.2f} s", f"{first['total']:.2f} s",
         f"{base_total / first['total']:.0f}x", "< 5 s", verdict(first["total"] < 5 and not first["errors"])],
        ["project, again with ETags", f"{second['not_modified']} x 304, {second['parsed']} parsed",
         f"{second['total']:.2f} s", f"{second['total']:.2f} s", f"{base_total / second['total']:.0f}x", "< 2 s, all 304",
         verdict(second["total"] < 2 and second["not_modified"] == n_feeds and second["parsed"] == 0)],
    ]
    print(table(["what", "work", "measured", f"time for {n_feeds} feeds", "speed-up", "target", "met"], rows))
    if args.quick:
        print("\n(--quick: 300 feeds on 15 hosts; the targets are set for 1,000 feeds on 50 hosts)")
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
        print("\ncProfile of an extra first run, not the timed one (top 15 by own time):\n" + s.getvalue())


if __name__ == "__main__":
    main()
