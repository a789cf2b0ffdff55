"""Search and first visit: what a reader's browser downloads from a site of 1,000 and 10,000 generated stories.

Builds the site (monitor.site.build_site, the stories of bench_site.py), serves it from a loopback HTTP server
(Python's http.server: no compression, so HTML counts at full size) and drives Debian's headless Chromium:

  * first visit: a fresh browser profile opens index.html; bytes = every file the server sent for it;
  * one query: on search.html, the bytes the server sent from typing a query to its 20 results showing
    (Pagefind's script, its worker and WebAssembly, the index chunks and the result fragments).
    Counted at the server: Pagefind fetches from a web worker, which the page's Resource Timing misses.
  * indexing: the seconds Pagefind takes over the story records of the whole archive (it runs on every build
    that changed a story).

    .venv/bin/python benchmarks/bench_search.py            # 1,000 and 10,000 stories
    .venv/bin/python benchmarks/bench_search.py --quick    # 1,000

Targets at 10,000 stories: first visit < 500 KB, one query < 1 MB.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import common  # noqa: F401
from bench_site import NOW, feeds, make_stories
from common import machine_line, table, verdict

from monitor import search
from monitor.site import build_site



class _Counting(SimpleHTTPRequestHandler):
    """Serves the site and adds the size of every file it sends to `sent`."""

    sent: list[int] = []

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        self.sent.append(os.fstat(source.fileno()).st_size)
        super().copyfile(source, outputfile)


def _driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def common_word(stories) -> str:
    """The query: the commonest longer word of the headlines, so that it matches many stories."""
    from collections import Counter

    words = Counter(w.lower().strip(",.:;'\"") for s in stories for w in s.title.split())
    return next(w for w, _ in words.most_common() if len(w) > 5 and w.isalpha())


def measure(site: Path, tmp: Path, query_text: str) -> tuple[int, int, int]:
    """(first-visit bytes, one-query bytes, results shown) through a real browser."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sent: list[int] = []
    handler = type("Handler", (_Counting,), {"sent": sent})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    driver = _driver(tmp / "profile")
    try:
        driver.get(base + "index.html")
        time.sleep(1)
        first = sum(sent)
        driver.get(base + "search.html")
        time.sleep(1)
        before = sum(sent)
        driver.find_element(By.ID, "mn-q").send_keys(query_text)
        WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#mn-results li")) > 0)
        time.sleep(1)  # result fragments still arriving
        shown = len(driver.find_elements(By.CSS_SELECTOR, "#mn-results li"))
        query = sum(sent) - before
    finally:
        driver.quit()
        httpd.shutdown()
    return first, query, shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = (1000,) if args.quick else (1000, 10000)
    print(machine_line())
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        for n in sizes:
            stories = make_stories(n)
            site, work = tmp / f"site{n}", tmp / f"work{n}"
            build_site(stories, feeds(), site_dir=site, work_dir=work, title="Benchmark monitor", now=NOW)
            t0 = time.perf_counter()
            search._pagefind(work / "search", tmp / f"index{n}").communicate()
            index_s = time.perf_counter() - t0
            index_mb = sum(p.stat().st_size for p in (site / "pagefind").rglob("*") if p.is_file()) / 2**20
            word = common_word(stories)
            first, query, shown = measure(site, tmp / f"browser{n}", word)
            big = n == sizes[-1]
            rows.append([f"{n:,}", f"{index_s:.1f} s", f"{index_mb:.1f} MB", f"{first / 1024:.0f} KB",
                         "< 500 KB" if big else "-", verdict(first < 500 * 1024) if big else "-",
                         f"{query / 1024:.0f} KB ({word!r}, {shown} shown)", "< 1 MB" if big else "-",
                         verdict(query < 1024 * 1024) if big else "-"])
            shutil.rmtree(site, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(["stories", "Pagefind indexing", "index on disk", "first visit (home)", "target", "met",
                 "one query (20 results shown at most)", "target", "met"], rows))


if __name__ == "__main__":
    main()
