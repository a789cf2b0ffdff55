"""Faults a cron job meets in months of running unattended: killed mid-fetch, mid-write and mid-build, a full
disk, a corrupt database, a run still going when the next starts, a feed down for a week, a run that would
outlast its slot. Each test checks what the operator sees next: the exit code and message, the database
(integrity, nothing lost or doubled), the previous site, and the next run finishing the work.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from monitor.config import load_config
from monitor.loopback import Route
from monitor.pipeline import run
from monitor.store import Store

from tests.db import db_rows

from .sample import ARTICLES, serve_sample, write_config

MONITOR = [sys.executable, "-m", "monitor.cli"]
T0 = datetime(2026, 11, 6, 9, 0, tzinfo=timezone.utc)


def cli(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(MONITOR + list(args), capture_output=True, text=True, timeout=120, **kw)


def start(path: Path, **kw) -> subprocess.Popen:
    return subprocess.Popen(MONITOR + ["run", "--config", str(path), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)


def stall(release: threading.Event):
    """A route that answers only when `release` is set (then with a 503, closing the connection)."""

    def handler(h) -> None:
        release.wait(30)
        h.close_connection = True
        h.send_response(503)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handler


def kill_when(proc: subprocess.Popen, condition, what: str, timeout: float = 60) -> None:
    """SIGKILL `proc` as soon as `condition()` holds (polled every 2 ms)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if condition():
                break
            time.sleep(0.002)
        assert proc.poll() is None, f"the run ended before {what}: {proc.stderr.read().decode()}"
        assert condition(), f"never saw {what}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def db_state(database: Path) -> tuple[str, list[tuple]]:
    db = sqlite3.connect(database)
    try:
        ok = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT url, title FROM articles ORDER BY url").fetchall()
    finally:
        db.close()
    return ok, rows


def assert_no_doubles(database: Path) -> None:
    db = sqlite3.connect(database)
    try:
        assert db.execute("SELECT count(*) - count(DISTINCT url) FROM articles").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM (SELECT feed_url, guid FROM entries GROUP BY 1, 2 HAVING count(*) > 1)").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM article_urls u LEFT JOIN articles a ON a.id = u.article_id WHERE a.id IS NULL").fetchone()[0] == 0
    finally:
        db.close()


def site_snapshot(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def assert_site_whole(site: Path, before: dict[str, bytes]) -> None:
    """The previously published site, byte for byte, and its index and stories.json parse."""
    assert site_snapshot(site) == before
    json.loads((site / "stories.json").read_text())
    assert b"</html>" in (site / "index.html").read_bytes()


@pytest.fixture
def sample(server, tmp_path):
    serve_sample(server)
    return write_config(tmp_path, server)


# --- SIGKILL ------------------------------------------------------------------------------------------


def test_sigkill_while_fetching_feeds(server, sample):
    release = threading.Event()
    good = server.routes["/tribune/atom.xml"]
    server.routes["/tribune/atom.xml"] = stall(release)
    config = load_config(sample)
    try:
        kill_when(start(sample), lambda: server.hits("/tribune/atom.xml"), "the feed request")
    finally:
        release.set()
    server.routes["/tribune/atom.xml"] = good
    ok, rows = db_state(config.database)
    assert ok == "ok" and rows == []  # feeds are stored after fetching: nothing half-written
    result = cli("run", "--config", str(sample))
    assert result.returncode == 0, result.stderr
    ok, rows = db_state(config.database)
    assert ok == "ok" and len(rows) == 4
    assert_no_doubles(config.database)
    assert (config.site_dir / "stories.json").exists()


def _bulk_feed(base: str, n: int) -> bytes:
    filler = "A sentence that pads the summary so the write is large enough to spill out of the page cache. " * 9
    items = "".join(f"<item><title>Bulk report {i}</title><link>{base}/bulk/{i}</link><guid>bulk-{i}</guid>"
                    f"<description>{i} {filler}</description></item>" for i in range(n))
    return f'<rss version="2.0"><channel><title>Bulk</title>{items}</channel></rss>'.encode()


def test_sigkill_during_a_database_write(server, tmp_path):
    """A feed of 6,000 long entries is written in one transaction larger than SQLite's page cache, so the WAL
    grows while the transaction is open; the run is killed as soon as it does."""
    n = 6000
    server.routes["/bulk.xml"] = Route(_bulk_feed(server.base, n))
    path = tmp_path / "feeds.yaml"
    path.write_text("database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\n"
                    f"max_entries_per_feed: {n}\nmax_articles_per_run: 3\ntopics: [nothing matches this]\n"
                    f"feeds:\n  - url: {server.url('/bulk.xml')}\n")
    config = load_config(path)
    wal = Path(str(config.database) + "-wal")
    proc = start(path)
    kill_when(proc, lambda: wal.exists() and wal.stat().st_size > 3_000_000, "the entries transaction", timeout=90)
    ok, rows = db_state(config.database)
    assert ok == "ok"
    assert rows == []  # killed inside the transaction: rolled back as a whole, not half of the entries
    result = cli("run", "--config", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    ok, rows = db_state(config.database)
    assert ok == "ok" and len(rows) == n
    assert_no_doubles(config.database)


def test_sigkill_during_the_site_build_keeps_the_previous_site(server, sample):
    config = load_config(sample)
    run(config, now=lambda: T0, extract_workers=0)
    before = site_snapshot(config.site_dir)
    old_stories = json.loads((config.site_dir / "stories.json").read_text())
    # new coverage arrives: the next run rebuilds the site, and is killed while mkdocs works
    base = server.base
    extra = ("<item><title>Commons Safety Trust publishes evaluations for self-improving AI</title>"
             f"<link>{base}/ledger/evals</link><guid>{base}/ledger/evals</guid>"
             "<pubDate>Fri, 06 Nov 2026 08:00:00 GMT</pubDate><description>The trust published shared evaluations "
             "for recursive self-improvement and asked frontier AI labs to pause training runs that fail them."
             "</description></item>")
    feed = server.routes["/ledger/rss.xml"].body.replace(b"</channel>", extra.encode() + b"</channel>")
    server.routes["/ledger/rss.xml"] = Route(feed, content_type="application/rss+xml")
    work = config.database.parent / (config.database.stem + "-site-work")
    proc = start(sample)
    kill_when(proc, lambda: any(work.glob("stage-*/docs/index.md")), "the site build")
    assert_site_whole(config.site_dir, before)
    ok, rows = db_state(config.database)
    assert ok == "ok" and len(rows) == 5
    # the next run publishes the story the killed run could not
    result = cli("run", "--config", str(sample))
    assert result.returncode == 0, result.stderr
    after = json.loads((config.site_dir / "stories.json").read_text())
    assert len(after["stories"]) == len(old_stories["stories"]) + 1
    assert any("Commons Safety Trust" in s["title"] for s in after["stories"])
    assert not list(config.site_dir.parent.glob(".public.tmp-*")) and not list(work.glob("stage-*"))
    assert_no_doubles(config.database)


# --- disk full ----------------------------------------------------------------------------------------


def _limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return preexec


def test_disk_full_during_a_write_rolls_back_and_keeps_the_site(server, sample, tmp_path):
    config = load_config(sample)
    run(config, now=lambda: T0, extract_workers=0)
    before_site = site_snapshot(config.site_dir)
    _, before_rows = db_state(config.database)
    db_bytes = config.database.read_bytes()
    # a big new feed whose entries cannot be written under a 256 KB file size limit
    server.routes["/bulk.xml"] = Route(_bulk_feed(server.base, 2000))
    sample.write_text(sample.read_text() + f"  - url: {server.url('/bulk.xml')}\n")
    sample.write_text(sample.read_text().replace("allow_private_networks: true\n",
                                                 "allow_private_networks: true\nmax_entries_per_feed: 2000\nmax_articles_per_run: 5\n"))
    result = subprocess.run(MONITOR + ["run", "--config", str(sample), "--quiet"], capture_output=True, text=True,
                            timeout=120, preexec_fn=_limit_file_size(256 * 1024))
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monitor: error: ") and "full" in lines[0], result.stderr
    assert str(config.database) in lines[0] and "Traceback" not in result.stderr
    ok, rows = db_state(config.database)
    assert ok == "ok" and rows == before_rows
    assert_site_whole(config.site_dir, before_site)
    assert len(db_bytes) > 0
    # with room again, the next run does the work
    result = cli("run", "--config", str(sample), "--quiet")
    assert result.returncode == 0, result.stderr
    ok, rows = db_state(config.database)
    assert ok == "ok" and len(rows) == len(before_rows) + 2000


# --- the database -------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "bad page"])
def test_corrupt_database_is_one_line_exit_3_and_untouched(server, sample, damage):
    config = load_config(sample)
    if damage == "garbage":
        config.database.parent.mkdir(parents=True)
        config.database.write_bytes(b"these bytes are not a database, they are a shopping list\n" * 100)
    else:
        run(config, now=lambda: T0, extract_workers=0)
        data = bytearray(config.database.read_bytes())
        page = 4096
        assert len(data) > 6 * page
        data[3 * page: 5 * page] = b"\xa5" * (2 * page)  # two pages of the middle of the file overwritten
        config.database.write_bytes(bytes(data))
    before = config.database.read_bytes()
    result = cli("run", "--config", str(sample))
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("monitor: error: "), result.stderr
    assert str(config.database) in result.stderr and "Traceback" not in result.stderr
    assert config.database.read_bytes() == before
    assert not Path(str(config.database) + "-wal").exists() or Path(str(config.database) + "-wal").stat().st_size == 0


def test_no_transaction_or_read_snapshot_is_held_while_waiting_on_the_network(server, sample):
    """While a run waits on a slow feed, another connection can write at once and the WAL can be checkpointed
    entirely: the run holds no open transaction or cursor across network waits."""
    release = threading.Event()
    good = server.routes["/tribune/atom.xml"]
    server.routes["/tribune/atom.xml"] = stall(release)
    config = load_config(sample)
    with Store.open(config.database) as store:  # a database with data, so there is something to read
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    proc = start(sample)
    try:
        deadline = time.monotonic() + 60
        while not server.hits("/tribune/atom.xml") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.hits("/tribune/atom.xml")
        db = sqlite3.connect(config.database, timeout=0, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # no writer holds the database
        db.execute("INSERT INTO meta(key, value) VALUES ('probe', 'x')")
        db.execute("COMMIT")
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0  # no reader holds a snapshot
        db.close()
    finally:
        release.set()
        server.routes["/tribune/atom.xml"] = good
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


# --- a feed down for a week ---------------------------------------------------------------------------


def test_a_feed_down_for_a_week_backs_off_is_retried_and_recovers(server, sample):
    config = load_config(sample)
    feed = server.url("/ledger/rss.xml")
    run(config, now=lambda: T0, extract_workers=0)
    good = server.routes["/ledger/rss.xml"]
    server.routes["/ledger/rss.xml"] = Route(b"down for maintenance", status=503, content_type="text/plain")
    with Store.open(config.database) as store:
        kept = {a.url for a in store.articles()}
    now = T0 + timedelta(hours=1)
    tries: list[datetime] = []
    while now < T0 + timedelta(days=7):
        run(config, now=lambda: now, extract_workers=0)
        tries.append(now)
        with Store.open(config.database) as store:
            status = next(f for f in store.feed_statuses() if f.url == feed)
        assert status.failures == len(tries) and "HTTP 503" in status.last_error
        now = status.next_due
    gaps = [(b - a).total_seconds() for a, b in zip(tries, tries[1:])]
    for n, gap in enumerate(gaps, start=1):  # after n failures: 1800 * 2**(n-1) s, capped at a day, times [0.5, 1]
        nominal = min(86400, 1800 * 2 ** (n - 1))
        assert 0.5 * nominal - 1 <= gap <= nominal + 1, (n, gap)
    assert max(gaps) <= 86400 + 1 and max(gaps) > 86400 / 2  # the cap was reached, never passed
    assert len(set(round(g) for g in gaps)) == len(gaps)  # jitter: no two waits alike
    assert 6 <= len(tries) <= 20 and len(server.hits("/ledger/rss.xml")) == 1 + len(tries)
    # the feed comes back: the next due run reads it again and nothing was lost meanwhile
    server.routes["/ledger/rss.xml"] = good
    run(config, now=lambda: now, extract_workers=0)
    with Store.open(config.database) as store:
        status = next(f for f in store.feed_statuses() if f.url == feed)
        assert {a.url for a in store.articles()} == kept
    assert status.failures == 0 and status.last_error is None and status.last_success == now
    assert status.next_due == now + timedelta(hours=1)


# --- the time budget ----------------------------------------------------------------------------------


def test_a_run_past_its_time_budget_leaves_the_rest_to_the_next_run(server, sample):
    release = threading.Event()
    slow = ["/ledger/pause-letter", "/tribune/football-scouting"]
    good = {p: server.routes[p] for p in slow}

    for p in slow:
        server.routes[p] = stall(release)
    sample.write_text(sample.read_text().replace("allow_private_networks: true\n", "allow_private_networks: true\ntime_budget: 3s\n"))
    config = load_config(sample)
    try:
        summary = run(config, now=lambda: T0, extract_workers=0)
    finally:
        release.set()
    assert summary.unfinished and "time budget reached" in summary.line()
    assert summary.pages_extracted == 2 and summary.pages_failed == 0
    assert summary.seconds < 20  # the run did not wait for the slow pages
    with Store.open(config.database) as store:
        pending = {a.url.rsplit("/", 1)[1] for a in store.articles() if not a.extracted}
        attempts = [r[0] for r in db_rows(store, "SELECT attempts FROM articles")]
    assert pending == {"pause-letter", "football-scouting"} and set(attempts) == {0}  # not counted as failures
    assert (config.site_dir / "index.html").exists()  # what was done is published
    for p in slow:
        server.routes[p] = good[p]
    summary = run(config, now=lambda: T0 + timedelta(minutes=10), extract_workers=0)
    assert not summary.unfinished and summary.pages_extracted == 2
    with Store.open(config.database) as store:
        assert all(a.extracted for a in store.articles())
        titles = {a.title for a in store.articles()}
    assert titles == {v[1] for v in ARTICLES.values()}


# --- workers die with the run ---------------------------------------------------------------------------


def test_sigkill_during_a_slow_extraction_leaves_no_worker_holding_the_lock(server, tmp_path):
    """The worker extracting a page that takes trafilatura about ten seconds is forked from the run and
    inherits its lock. When the run is SIGKILLed, the worker must die too: the next run starts at once."""
    from .hostile_sources import article_page, published_articles, rss_feed
    from .hostile_sources import write_config as write_trust_config

    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/slow")]))
    server.routes["/slow"] = Route(("<html><body><article>" + "<span>a</span>" * 100_000 + "</article></body></html>").encode())
    path = write_trust_config(tmp_path, [server.url("/feed.rss")])
    proc = start(path)
    seen = []
    kill_when(proc, lambda: seen or (server.hits("/slow") and (time.sleep(1.5) or seen.append(1))),
              "the page request")  # killed 1.5 s after the page was served: it is in a worker by then
    server.routes["/slow"] = Route(article_page("Barrier opens to night ships"))
    result = cli("run", "--config", str(path), "--quiet")
    assert result.returncode == 0, (result.returncode, result.stderr)  # 75 would mean "locked"
    config = load_config(path)
    assert f"{base}/slow" in published_articles(config)
    ok, rows = db_state(config.database)
    assert ok == "ok" and rows == [(f"{base}/slow", "Barrier opens to night ships")]
