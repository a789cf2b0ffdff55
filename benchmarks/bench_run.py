"""A whole run: `monitor run` (the real command, in a child process) over 1,000 feeds on 50 loopback hosts
and the 10,000 new articles they list, every page served on loopback; its peak memory and time.

    .venv/bin/python benchmarks/bench_run.py             # 1,000 feeds x 10 items = 10,000 articles (slow)
    .venv/bin/python benchmarks/bench_run.py --small     # 50 feeds x 10 items = 500 articles (~1 minute)
    .venv/bin/python benchmarks/bench_run.py --quick     # the same as --small

Target: peak memory under 1 GB, read as the child's max RSS from getrusage(RUSAGE_CHILDREN) (the largest
single process of the run: the monitor process or one of its extraction workers). The sum of the RSS of the
whole process tree, sampled every 0.25 s, is printed beside it (forked workers share pages with their
parent, so the sum counts those twice). The config has allow_private_networks: true and
max_articles_per_run: 10000; about a third of the events are on the configured subject. The server
answers each request after 50 ms.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401
from common import Event, LoopbackHosts, article_text, hosts, machine_line, page_html, rss_feed, table, tree_rss_mb, verdict

ITEMS = 10
NOW = datetime.now(timezone.utc).replace(microsecond=0)
MONITOR = Path(sys.executable).with_name("monitor")


def _event_of(feed: int, item: int, n_events: int) -> int:
    return (feed * ITEMS + item) % n_events  # the same event turns up in feeds far apart (other hosts)


def content_for(n_feeds: int):
    n_events = max(1, n_feeds * ITEMS // 3)

    def content(host: str, path: str):
        m = re.fullmatch(r"/feed/(\d+)\.xml", path)
        if m:
            f = int(m.group(1))
            items = []
            for i in range(ITEMS):
                ev = Event(_event_of(f, i, n_events), NOW, topical=_event_of(f, i, n_events) % 3 == 0)
                title, paras = article_text(ev, f, paragraphs=3)
                items.append({"title": title, "link": f"http://{host}/news/{f}-{i}.html",
                              "guid": f"{f}-{i}", "summary": paras[0][:400],
                              "published": NOW - timedelta(hours=36) + timedelta(minutes=(f * 7 + i * 53) % 2000)})
            return rss_feed(title=f"Outlet {f}", link=f"http://{host}/", items=items), "application/rss+xml"
        m = re.fullmatch(r"/news/(\d+)-(\d+)\.html", path)
        if m:
            f, i = int(m.group(1)), int(m.group(2))
            ev = Event(_event_of(f, i, n_events), NOW, topical=_event_of(f, i, n_events) % 3 == 0)
            title, paras = article_text(ev, f, paragraphs=7 + (f + i) % 6)
            return page_html(url=f"http://{host}{path}", title=title, paragraphs=paras, outlet=f"Outlet {f}",
                             published=NOW - timedelta(hours=36) + timedelta(minutes=(f * 7 + i * 53) % 2000),
                             seed=f * ITEMS + i, target_kb=60 + (f * 13 + i) % 80), "text/html; charset=utf-8"
        return None

    return content


def write_config(folder: Path, urls: list[str]) -> Path:
    lines = ["database: data/monitor.sqlite3", "site_dir: data/site", "site_title: Benchmark run",
             "allow_private_networks: true", "max_articles_per_run: 10000", "time_budget: 3h", "topics:",
             "  - name: AI self-improvement", "    phrases: [self-improving AI]", "    terms: [frontier AI]", "feeds:"]
    lines += [f"  - url: {u}\n    name: Outlet {i}" for i, u in enumerate(urls)]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_feeds, n_hosts = (50, 10) if (args.small or args.quick) else (1000, 50)
    print(machine_line())
    addrs = hosts(n_hosts)
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp, LoopbackHosts(addrs, content_for(n_feeds), delay=0.05) as srv:
        urls = [srv.url(addrs[f % n_hosts], f"/feed/{f}.xml") for f in range(n_feeds)]
        config = write_config(Path(tmp), urls)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(MONITOR), "run", "--config", str(config), "--timings"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        peak_tree = 0.0
        while proc.poll() is None and time.perf_counter() - t0 < 3 * 3600:
            peak_tree = max(peak_tree, tree_rss_mb(proc.pid))
            time.sleep(0.25)
        if proc.poll() is None:
            proc.kill()  # the run's own process, by its handle
        out, err = proc.communicate()
        wall = time.perf_counter() - t0
        child_max = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        site_pages = sum(1 for _ in (Path(tmp) / "data" / "site").rglob("index.html"))
    print(f"\n`monitor run` over {n_feeds} feeds x {ITEMS} items = {n_feeds * ITEMS} new articles on {n_hosts} hosts "
          f"(exit code {proc.returncode})\n")
    print("\n".join(line for line in err.splitlines() if line.startswith(("monitor:", "timings:")) and "feed partly" not in line)[-3000:])
    print()
    note = "" if before == 0 else f" (an earlier child had {before / 1024:.0f} MB)"
    print(table(["articles", "wall time", "max RSS of one process (getrusage)", "peak RSS of the process tree (sampled sum)",
                 "site pages", "target", "met"],
                [[f"{n_feeds * ITEMS:,}", f"{wall:.0f} s", f"{child_max:.0f} MB{note}", f"{peak_tree:.0f} MB",
                  f"{site_pages:,}", "< 1 GB", verdict(child_max < 1024 and proc.returncode == 0)]]))


if __name__ == "__main__":
    main()
