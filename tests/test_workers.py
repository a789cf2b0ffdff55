"""Workers on the task queue (monitor/tasks.py): real `monitor worker` processes on a real PostgreSQL server and a
loopback HTTP server that counts, per host and per address, the requests in flight."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.demo import build_routes, demo_config, load_corpus
from monitor.loopback import LoopbackServer, Route, send_route
from monitor.models import Feed, PendingPage
from monitor.pipeline import export_articles, run
from monitor.store import Store
from monitor.tasks import FEEDS_TASK, ITEMS_PER_JOB, PAGES_TASK, feed_jobs, page_jobs

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parent.parent


class Counting:
    """Wraps a server's routes: each request waits `delay` seconds, while the requests in flight are counted
    per Host header and per path (the most seen at once), and every request per path."""

    def __init__(self, server: LoopbackServer, delay: float = 0.0, *, stall: set[str] | None = None):
        self.delay, self.stall = delay, stall or set()
        self.lock = threading.Lock()
        self.in_flight: Counter = Counter()
        self.most: Counter = Counter()
        self.hits: Counter = Counter()
        self.stalled = threading.Event()  # set when a path in `stall` is first asked for
        for path, route in list(server.routes.items()):
            server.routes[path] = self._wrap(path, route)

    def _wrap(self, path: str, route):
        def handle(handler) -> None:
            keys = ("host:" + handler.headers.get("Host", "").split(":")[0], "path:" + path)
            with self.lock:
                self.hits[path] += 1
                for key in keys:
                    self.in_flight[key] += 1
                    self.most[key] = max(self.most[key], self.in_flight[key])
            try:
                if path in self.stall and not self.stalled.is_set():
                    self.stalled.set()
                    time.sleep(30)  # the worker fetching this is killed meanwhile
                time.sleep(self.delay)
                route(handler) if callable(route) else send_route(handler, route)
            finally:
                with self.lock:
                    for key in keys:
                        self.in_flight[key] -= 1
        return handle


def start_workers(config_path: Path, n: int, database: str, *, command: bool = False) -> list[subprocess.Popen]:
    """`n` worker processes on the clock NOW (tests/worker_process.py), or, with `command`, `monitor worker`
    itself (the real clock); returned once each sends its heartbeat."""
    args = (["-m", "monitor.cli", "worker", "--config", str(config_path), "--processes", "1"] if command
            else ["-m", "tests.worker_process", str(config_path), NOW.isoformat()])
    workers = [subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
               for _ in range(n)]
    with Store.open(database) as store:
        deadline = time.monotonic() + 60
        while store.task_workers_alive(30) < n:
            for w in workers:
                assert w.poll() is None, w.stderr.read().decode() if w.stderr else ""
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def write_config(workdir: Path, text: str, database: str | None) -> Path:
    workdir.mkdir()
    if database is not None:
        text = text.replace(json.dumps(str(workdir.resolve() / "monitor.sqlite3")), database)
    (workdir / "feeds.yaml").write_text(text, encoding="utf-8")
    return workdir / "feeds.yaml"


def test_jobs_hold_one_hosts_items_at_most_items_per_job():
    feeds = [Feed(f"http://a.example/{i}.xml") for i in range(ITEMS_PER_JOB + 3)] + [Feed("http://b.example/f.xml")]
    jobs = feed_jobs(feeds)
    assert [(j.task, j.host, len(j.items)) for j in jobs] == [
        (FEEDS_TASK, "a.example", ITEMS_PER_JOB), (FEEDS_TASK, "a.example", 3), (FEEDS_TASK, "b.example", 1)]
    assert jobs[2].items[0] == {"url": "http://b.example/f.xml", "name": None, "interval": 3600, "tags": [], "aggregator": False}
    pages = page_jobs([PendingPage(1, "http://a.example/x"), PendingPage(2, "https://A.example:8443/y"), PendingPage(3, "http://c.example/z")])
    assert [(j.task, j.host, j.items) for j in pages] == [(PAGES_TASK, "a.example", (1, 2)), (PAGES_TASK, "c.example", (3,))]


@pytest.mark.slow
def test_three_workers_store_the_same_articles_and_stories_as_one_process(tmp_path, postgres_url):
    with LoopbackServer() as server:
        server.routes.update(build_routes(load_corpus(), server.base))
        counting = Counting(server, delay=0.05)
        alone = write_config(tmp_path / "alone", demo_config(server.base, tmp_path / "alone"), None)
        run(load_config(alone), now=lambda: NOW, extract_workers=0)
        asked_alone, counting.hits = counting.hits, Counter()
        shared = write_config(tmp_path / "shared", demo_config(server.base, tmp_path / "shared"), postgres_url)
        workers = start_workers(shared, 3, postgres_url)
        try:
            summary = run(load_config(shared), now=lambda: NOW, extract_workers=0)
        finally:
            stop_workers(workers)
    assert summary.jobs_sent >= 2 and summary.jobs_failed == 0 and summary.jobs_open == 0
    assert "workers: " in summary.line()
    alone_config, shared_config = load_config(alone), load_config(shared)
    stories = [json.loads((c.site_dir / "stories.json").read_text(encoding="utf-8")) for c in (alone_config, shared_config)]
    assert stories[0]["stories"]
    assert _differences(stories[1], stories[0]) == []
    with Store.open(alone_config.database) as a, Store.open(shared_config.database) as b:
        assert list(export_articles(b)) == list(export_articles(a))
    # each feed and page asked for as often as by one process (once: no two workers fetched one), and never more
    # at once than the per-host limit
    assert counting.hits == asked_alone and set(asked_alone.values()) == {1}
    assert max(v for k, v in counting.most.items() if k.startswith("host:")) <= shared_config.per_host_connections


def _differences(got, want, where: str = "") -> list[str]:
    """Where two JSON values differ, as paths (a readable failure for two stories.json)."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want)) for d in _differences(got.get(k), want.get(k), f"{where}.{k}")]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in _differences(g, w, f"{where}[{i}]")]
    return [] if got == want else [f"{where}: {json.dumps(got)[:300]} != {json.dumps(want)[:300]}"]


def _feeds_on_two_hosts(server: LoopbackServer, n: int) -> list[str]:
    """`n` one-item feeds on each of two host names of the one server (127.0.0.1 and localhost)."""
    urls = []
    for host in ("127.0.0.1", "localhost"):
        base = server.base.replace("127.0.0.1", host)
        for i in range(n):
            title = f"Lab {i} on {host} says agents run its experiments"
            server.routes[f"/{host}/{i}.xml"] = Route(
                (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title><item><title>{title}</title>'
                 f"<link>{base}/{host}/{i}.html</link><pubDate>Thu, 19 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>").encode(),
                content_type="application/rss+xml")
            server.routes[f"/{host}/{i}.html"] = Route(
                f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1><p>{'The lab said its agents now plan and run most of its experiments. ' * 8}</p></article></body></html>".encode())
            urls.append(f"{base}/{host}/{i}.xml")
    return urls


@pytest.mark.slow
def test_the_per_host_limit_holds_across_workers_and_hosts_run_side_by_side(tmp_path, postgres_url):
    with LoopbackServer() as server:
        urls = _feeds_on_two_hosts(server, 30)
        counting = Counting(server, delay=0.2)
        feeds = "".join(f"  - {{url: {json.dumps(u)}}}\n" for u in urls)
        config_path = tmp_path / "feeds.yaml"
        config_path.write_text(f"database: {postgres_url}\nsite_dir: site\nallow_private_networks: true\n"
                               f"per_host_connections: 2\nfeeds:\n{feeds}", encoding="utf-8")
        workers = start_workers(config_path, 3, postgres_url)
        try:
            summary = run(load_config(config_path), now=lambda: NOW, extract_workers=0)
        finally:
            stop_workers(workers)
    assert summary.jobs_failed == 0 and summary.jobs_open == 0
    hosts = {k: v for k, v in counting.most.items() if k.startswith("host:")}
    assert hosts == {"host:127.0.0.1": 2, "host:localhost": 2}  # the limit, reached and never passed
    assert len(counting.hits) == 120 and set(counting.hits.values()) == {1}  # 60 feeds, 60 pages, each once
    with Store.open(postgres_url) as store:
        assert len([a for a in store.articles() if a.extracted]) == 60


@pytest.mark.slow
def test_a_worker_killed_mid_job_loses_nothing_and_another_does_its_job(tmp_path, postgres_url):
    with LoopbackServer() as server:
        urls = _feeds_on_two_hosts(server, 4)
        counting = Counting(server, stall={"/localhost/2.html"})
        feeds = "".join(f"  - {{url: {json.dumps(u)}}}\n" for u in urls)
        config_path = tmp_path / "feeds.yaml"
        config_path.write_text(f"database: {postgres_url}\nsite_dir: site\nallow_private_networks: true\nfeeds:\n{feeds}",
                               encoding="utf-8")
        first = start_workers(config_path, 1, postgres_url)
        outcome: dict = {}
        publisher = threading.Thread(target=lambda: outcome.update(summary=run(load_config(config_path), now=lambda: NOW,
                                                                                extract_workers=0)))
        publisher.start()
        try:
            assert counting.stalled.wait(60), "no worker asked for the page"
            os.killpg(first[0].pid, signal.SIGKILL)  # mid-job: the page is being fetched
            first[0].wait()
            second = start_workers(config_path, 1, postgres_url)
            publisher.join(120)
        finally:
            stop_workers(first + locals().get("second", []))
    assert not publisher.is_alive()
    summary = outcome["summary"]
    assert summary.jobs_failed == 0 and summary.jobs_open == 0
    assert counting.hits["/localhost/2.html"] == 2  # asked again by the second worker
    with Store.open(postgres_url) as store:
        articles = store.articles()
    assert len(articles) == 8 and all(a.extracted for a in articles)
    assert (tmp_path / "site" / "index.html").exists()


@pytest.mark.slow
def test_no_wait_leaves_the_jobs_to_a_worker_started_later_and_the_next_run_publishes_them(tmp_path, postgres_url, cli):
    with LoopbackServer() as server:
        urls = _feeds_on_two_hosts(server, 3)
        feeds = "".join(f"  - {{url: {json.dumps(u)}}}\n" for u in urls)
        config_path = tmp_path / "feeds.yaml"
        config_path.write_text(f"database: {postgres_url}\nsite_dir: site\nallow_private_networks: true\nfeeds:\n{feeds}",
                               encoding="utf-8")
        sent = cli("run", "--config", config_path, "--no-wait")
        assert sent.exit_code == 0, sent.stderr
        assert "feeds: 6 due; workers: 2 jobs sent, 0 failed, 2 not done yet" in sent.stderr
        again = cli("run", "--config", config_path, "--no-wait")  # the same feeds are still queued: not sent twice
        assert "feeds: 6 due; workers: 0 jobs sent, 0 failed, 6 already queued" in again.stderr
        workers = start_workers(config_path, 1, postgres_url, command=True)
        try:
            with Store.open(postgres_url) as store:
                deadline = time.monotonic() + 60
                while len(store.articles()) < 6:
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            done = cli("run", "--config", config_path)  # the pages, through the worker, then the stories
        finally:
            stop_workers(workers)
    assert done.exit_code == 0, done.stderr
    # the feeds were fetched by the worker (not due again); the 6 pages, on 2 hosts, are 2 jobs, waited for
    assert "feeds: 0 due; workers: 2 jobs sent, 0 failed; 5 duplicates merged; stories: 1 new" in done.stderr
    with Store.open(postgres_url) as store:
        assert len([a for a in store.articles() if a.extracted]) == 6


@pytest.mark.slow
def test_a_worker_whose_database_goes_away_exits_with_one_line_naming_it(tmp_path):
    from .postgres import PostgresServer, PostgresUnavailable

    try:
        own = PostgresServer.start()  # its own server: this test stops it
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        url = own.database()
        config_path = tmp_path / "feeds.yaml"
        config_path.write_text(f"database: {url}\nfeeds: []\n", encoding="utf-8")
        worker = start_workers(config_path, 1, url, command=True)[0]
    finally:
        own.stop()
    try:
        _, err = worker.communicate(timeout=90)
    finally:
        stop_workers([worker])
    assert worker.returncode == 3
    assert "@" in url and ":" not in url.split("//")[1].split("@")[0]  # no password: shown as written
    assert err.decode().splitlines()[-1].startswith(f"monitor: error: {url}: the task queue failed (")


def test_no_wait_on_sqlite_says_it_runs_alone(tmp_path, cli):
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text("database: m.sqlite3\nsite_dir: site\nfeeds: []\n", encoding="utf-8")
    result = cli("run", "--config", config_path, "--no-wait")
    assert result.exit_code == 0
    assert (f"monitor: warning: --no-wait needs a PostgreSQL store with workers; {tmp_path / 'm.sqlite3'} is SQLite: "
            "this run fetches and extracts itself") in result.stderr
    assert (tmp_path / "site" / "index.html").exists()


def test_a_worker_needs_a_postgres_database(tmp_path, cli):
    config_path = tmp_path / "feeds.yaml"
    config_path.write_text("database: data/m.sqlite3\nfeeds: []\n", encoding="utf-8")
    result = cli("worker", "--config", config_path)
    assert result.exit_code == 3
    assert result.stderr.strip() == (f"monitor: error: {tmp_path / 'data' / 'm.sqlite3'}: workers need a PostgreSQL "
                                     "database (database: postgresql://...)")
