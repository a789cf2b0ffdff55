"""A whole `monitor run` against feeds and pages served on 127.0.0.1: what a user sees in the store,
the export, the site and the summary."""

from __future__ import annotations

import json
import re
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.loopback import Route
from monitor.folding import best_published
from monitor.pipeline import run
from monitor.store import RunLock, Store

from .sample import ARTICLES, serve_sample, write_config

MONITOR = [sys.executable, "-m", "monitor.cli"]


def monitor(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(MONITOR + list(args), capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def sample(server, tmp_path):
    serve_sample(server)
    return load_config(write_config(tmp_path, server))


def test_first_run_stores_articles_and_publishes_a_site(sample):
    summary = run(sample, extract_workers=0)
    assert summary.feeds_fetched == 2 and summary.feeds_failed == 0
    assert summary.new_articles == 4 and summary.pages_extracted == 4
    with Store.open(sample.database) as store:
        articles = {a.title: a for a in store.articles()}
    lab = articles[ARTICLES["/ledger/lab-automates-research"][1]]
    assert lab.extracted and "1,200 experiments" in lab.text and "Most read" not in lab.text
    assert lab.url.endswith("/ledger/lab-automates-research")  # tracking parameters gone
    assert any("utm_source" in u for u in lab.urls)  # ... but the link we saw is kept
    assert lab.published == datetime(2026, 11, 3, 9, 15, tzinfo=timezone.utc)
    football = articles[ARTICLES["/tribune/football-scouting"][1]]
    assert not football.relevant and football.story is None
    # the two reports of the Halcyon announcement are one story
    halcyon = articles[ARTICLES["/tribune/halcyon-agents"][1]]
    assert lab.story is not None and lab.story == halcyon.story
    site = json.loads((sample.site_dir / "stories.json").read_text())
    titles = [s["title"] for s in site["stories"]]
    assert len(titles) == 2 and not any("Riverside" in t for t in titles)
    story = next(s for s in site["stories"] if len(s["articles"]) == 2)
    assert story["sources"] == ["The Circuit Ledger", "Northgate Tribune"]
    assert (sample.site_dir / story["page"]).exists()
    assert (sample.site_dir / "index.html").exists()


def test_second_run_transfers_nothing_unchanged_and_does_not_rebuild(sample, server):
    run(sample, extract_workers=0)
    index = sample.site_dir / "index.html"
    built = index.stat().st_mtime_ns
    requests_before = len(server.requests)
    summary = run(sample, now=lambda: datetime.now(timezone.utc) + timedelta(hours=2), extract_workers=0)
    second = server.requests[requests_before:]
    assert summary.feeds_not_modified == 2 and summary.feeds_fetched == 0 and summary.new_articles == 0
    assert sorted(r.path for r in second) == ["/ledger/rss.xml", "/tribune/atom.xml"]  # no page fetched again
    assert all("if-none-match" in r.headers for r in second)
    assert not summary.site_built and index.stat().st_mtime_ns == built


def test_a_feed_not_due_is_not_fetched(sample, server):
    run(sample, extract_workers=0)
    before = len(server.requests)
    summary = run(sample, extract_workers=0)  # an hour has not passed
    assert summary.feeds_due == 0 and len(server.requests) == before


IDLE_PROBE = """
import sys
from monitor.cli import main
try:
    main(["run", "--config", sys.argv[1], "--quiet"])
except SystemExit as exit:
    heavy = ["asyncio", "httpx", "feedparser", "trafilatura", "sklearn", "scipy", "numpy", "mkdocs", "wordllama"]
    print(exit.code, *[name for name in heavy if name in sys.modules])
"""


def test_an_idle_run_loads_no_network_or_clustering_code_and_writes_nothing(sample):
    run(sample, extract_workers=0)
    database, site = sample.database.stat(), (sample.site_dir / "index.html").stat()
    result = subprocess.run([sys.executable, "-c", IDLE_PROBE, str(sample.path)], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["0"], result.stdout + result.stderr[-2000:]  # exit 0, none of them imported
    after = sample.database.stat()
    assert (after.st_size, after.st_mtime_ns) == (database.st_size, database.st_mtime_ns)
    assert (sample.site_dir / "index.html").stat().st_mtime_ns == site.st_mtime_ns


def test_broken_and_dead_feeds_do_not_stop_the_run(server, tmp_path):
    serve_sample(server)
    server.routes["/broken.xml"] = Route(b"<html><body><h1>Please verify you are human</h1></body></html>")
    server.routes["/down.xml"] = Route(b"oops", status=500)
    config = load_config(write_config(tmp_path, server, extra_feeds=["/broken.xml", "/down.xml"]))
    summary = run(config, extract_workers=0)
    assert summary.feeds_fetched == 2 and summary.feeds_failed == 2 and summary.new_articles == 4
    assert any("down.xml" in p and "500" in p for p in summary.problems)
    assert any("broken.xml" in p and "not a feed" in p for p in summary.problems)
    with Store.open(config.database) as store:
        health = {f.url.rsplit("/", 1)[1]: f for f in store.feed_statuses()}
    assert health["down.xml"].failures == 1 and "500" in health["down.xml"].last_error
    assert health["down.xml"].next_due > datetime.now(timezone.utc)
    assert health["rss.xml"].last_error is None and health["rss.xml"].last_success is not None


def test_unreachable_page_keeps_the_feed_entry_and_is_retried_later(server, tmp_path):
    serve_sample(server)
    path = "/ledger/pause-letter"
    good = server.routes[path]
    server.routes[path] = Route(b"gone", status=503)
    config = load_config(write_config(tmp_path, server))
    summary = run(config, extract_workers=0)
    assert summary.pages_failed == 1
    with Store.open(config.database) as store:
        letter = next(a for a in store.articles() if a.title == ARTICLES[path][1])
    assert not letter.extracted and letter.summary.startswith("More than 3,000 researchers")
    server.routes[path] = good
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    summary = run(config, now=lambda: later, extract_workers=0)
    assert summary.pages_extracted == 1
    with Store.open(config.database) as store:
        letter = next(a for a in store.articles() if a.title == ARTICLES[path][1])
    assert letter.extracted and "build the brakes" in letter.text


def test_export_prints_one_json_line_per_article(sample, cli):
    run(sample, extract_workers=0)
    result = cli("export", "--config", sample.path)
    assert result.exit_code == 0 and result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 4
    for record in records:
        assert {"url", "urls", "title", "source", "author", "published", "text", "relevant", "story"} <= set(record)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["published"]), record["published"]  # as stories.json
        assert record["url"] in record["urls"] or record["url"].split("?")[0] in record["urls"][0]
    assert sorted(r["title"] for r in records) == sorted(title for _, title, *_ in ARTICLES.values())
    assert sum(r["relevant"] for r in records) == 3
    assert len({r["story"] for r in records if r["relevant"]}) == 2


def test_cli_run_prints_summary_and_exits_zero_with_a_failed_feed(server, tmp_path, cli):
    serve_sample(server)
    server.routes["/down.xml"] = Route(b"oops", status=500)
    path = write_config(tmp_path, server, extra_feeds=["/down.xml"])
    result = cli("run", "--config", path, "--timings")
    assert result.exit_code == 0 and result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if not line.startswith("INFO ")]  # INFO: what each stage did
    assert len(lines) == 4, lines
    assert lines[0] == f'WARNING monitor.pipeline: feed failed url={server.url("/down.xml")} error="HTTP 500"'
    assert re.fullmatch(r"monitor: feeds: 2 fetched, 0 not modified, 1 failed; 4 new articles \(0 duplicates merged, "
                        r"0 pages kept from the feed\); stories: 2 new, 0 updated; site rebuilt; \d+\.\d s", lines[1]), lines[1]
    assert lines[2] == f"site: {tmp_path / 'public' / 'index.html'}"
    assert re.fullmatch(r"timings: feeds \d+\.\d\d s(, \w+ \d+\.\d\d s)+", lines[3]) and ", site " in lines[3], lines[3]
    quiet = cli("run", "--config", path, "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == quiet.stderr == ""  # nothing due, no problem: cron sends no mail


def test_cli_bad_config_is_one_line_and_exit_2(tmp_path, cli):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: file:///etc/passwd\n")
    result = cli("run", "--config", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"monitor: error: {path}:2: feeds[0].url: 'file:///etc/passwd' is not an http(s) URL\n"


def test_concurrent_run_is_refused_cleanly(sample):
    # a real second process: the lock is between processes (cron starting a run while one is still going)
    with RunLock(sample.database):
        result = monitor("run", "--config", str(sample.path))
    assert result.returncode == 75 and result.stdout == ""
    assert result.stderr == f"monitor: error: {sample.database}.lock: another monitor run is in progress; exiting\n"


def test_run_killed_midway_is_completed_by_the_next_run(server, tmp_path, cli):
    serve_sample(server)

    def slow_page(handler):
        time.sleep(30)

    slow_path = "/ledger/pause-letter"
    good = server.routes[slow_path]
    server.routes[slow_path] = slow_page
    path = write_config(tmp_path, server)
    config = load_config(path)
    proc = subprocess.Popen(MONITOR + ["run", "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not server.hits(slow_path):
            time.sleep(0.1)
        assert server.hits(slow_path), "the run never reached the page stage"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    server.routes[slow_path] = good
    db = sqlite3.connect(config.database)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 4  # entries were stored before the kill
    db.close()
    # the killed run's feeds are not due again, but its unfinished pages are carried over
    result = cli("run", "--config", path)
    assert result.exit_code == 0, result.stderr
    assert "monitor: feeds: 0 fetched, 0 not modified, 0 failed; 0 new articles" in result.stderr
    with Store.open(config.database) as store:
        assert store.integrity_ok()
        articles = store.articles()
    assert len(articles) == 4 and all(a.extracted for a in articles)
    stories = json.loads((config.site_dir / "stories.json").read_text())["stories"]
    assert sorted(len(s["articles"]) for s in stories) == [1, 2]  # the Halcyon story of two outlets, the letter


def test_best_published_prefers_a_time_of_day():
    feed_day = datetime(2026, 11, 3, tzinfo=timezone.utc)
    page_time = datetime(2026, 11, 3, 9, 15, tzinfo=timezone.utc)
    assert best_published(feed_day, False, page_time, True) == (page_time, True)
    feed_time = datetime(2026, 11, 3, 10, 0, tzinfo=timezone.utc)
    assert best_published(feed_time, True, datetime(2026, 11, 3, tzinfo=timezone.utc), False) == (feed_time, True)
    assert best_published(feed_time, True, page_time, True) == (feed_time, True)


def test_a_story_keeps_its_id_and_page_when_a_later_run_adds_coverage(server, tmp_path):
    serve_sample(server)
    path = write_config(tmp_path, server)
    full = path.read_text()
    # first run: only the Ledger's feed is configured
    path.write_text(full.split("  - url: " + server.url("/tribune/atom.xml"))[0])
    config = load_config(path)
    run(config, extract_workers=0)
    before = json.loads((config.site_dir / "stories.json").read_text())
    halcyon = next(s for s in before["stories"] if "Halcyon" in s["title"])
    assert halcyon["sources"] == ["The Circuit Ledger"]
    # the Tribune's feed is added; its report of the same event joins the existing story
    path.write_text(full)
    summary = run(load_config(path), now=lambda: datetime.now(timezone.utc) + timedelta(hours=2), extract_workers=0)
    assert summary.updated_stories == 1
    after = json.loads((config.site_dir / "stories.json").read_text())
    grown = next(s for s in after["stories"] if s["id"] == halcyon["id"])
    assert grown["page"] == halcyon["page"]
    assert grown["sources"] == ["The Circuit Ledger", "Northgate Tribune"]
    assert (config.site_dir / grown["page"]).exists()


def test_changing_the_threshold_or_subject_needs_no_refetch(sample, server):
    run(sample, extract_workers=0)
    pages_before = len([r for r in server.requests if "rss" not in r.path and "atom" not in r.path])
    with Store.open(sample.database) as store:
        football = next(a for a in store.articles() if "Riverside" in a.title)
    assert not football.relevant
    # an empty subject makes every article relevant: the football story appears, nothing is fetched again
    original = sample.path.read_text()
    sample.path.write_text(original.split("topics:")[0] + "topics: []\nfeeds:" + original.split("feeds:")[1])
    summary = run(load_config(sample.path), extract_workers=0)
    assert summary.new_stories == 1 and summary.feeds_due == 0
    site = json.loads((sample.site_dir / "stories.json").read_text())
    assert any("Riverside" in s["title"] for s in site["stories"])
    # a threshold nothing reaches empties the site again, from the stored scores
    sample.path.write_text(original + "relevance_threshold: 1000\n")
    run(load_config(sample.path), extract_workers=0)
    with Store.open(sample.database) as store:
        assert not any(a.relevant for a in store.articles())
    assert json.loads((sample.site_dir / "stories.json").read_text())["stories"] == []
    pages_after = len([r for r in server.requests if "rss" not in r.path and "atom" not in r.path])
    assert pages_after == pages_before


def test_rebuild_brings_back_a_deleted_site_from_the_database_alone(sample, server):
    import shutil

    from monitor.pipeline import rebuild_site

    run(sample, extract_workers=0)
    before = json.loads((sample.site_dir / "stories.json").read_text())["stories"]
    requests = len(server.requests)
    shutil.rmtree(sample.site_dir)
    rebuild_site(sample)
    after = json.loads((sample.site_dir / "stories.json").read_text())["stories"]
    assert [s["page"] for s in after] == [s["page"] for s in before]
    assert all((sample.site_dir / s["page"]).exists() for s in after)
    assert len(server.requests) == requests  # nothing fetched
