"""The feed stage: every due feed fetched at once, each body parsed in a worker process as it arrives
(feed_stage.fetch_and_parse / fetch_feeds), then stored by store_feed_result. Real loopback servers."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor import feed_parser, feed_stage
from monitor.config import Config, load_config
from monitor.errors import ParseError
from monitor.feeds import parse_feed
from monitor.loopback import Route
from monitor.models import Feed, ParsedFeed
from monitor.pipeline import run
from monitor.store import Store

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)


def rss(base: str, outlet: str, titles: list[str]) -> bytes:
    items = "".join(f"<item><title>{t}</title><link>{base}/{outlet}/{i}</link><guid>{outlet}-{i}</guid>"
                    f"<pubDate>Wed, 04 Nov 2026 0{i}:30:00 GMT</pubDate><description>{t}, in brief.</description></item>"
                    for i, t in enumerate(titles))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{outlet}</title>'
            f"<link>{base}/{outlet}</link><ttl>30</ttl>{items}</channel></rss>").encode()


def serve_three(server) -> dict[str, str]:
    """Two good feeds and one that is not a feed at all."""
    base = server.base
    server.routes["/quay.rss"] = Route(rss(base, "Quayside Courier", ["Ferry timetable changes from Monday",
                                                                      "Harbour wall repairs finish early"]),
                                       content_type="application/rss+xml")
    server.routes["/fen.rss"] = Route(rss(base, "Fenland Post", ["Drainage board votes on new pumps"]),
                                      content_type="application/rss+xml")
    server.routes["/login"] = Route(b"<html><body><form>Please sign in</form></body></html>")
    return {"quay": server.url("/quay.rss"), "fen": server.url("/fen.rss"), "login": server.url("/login")}


def config_for(tmp_path: Path, urls: list[str]) -> Config:
    return Config(path=tmp_path / "feeds.yaml", feeds=tuple(Feed(url=u) for u in urls), topics=(),
                  database=tmp_path / "db.sqlite3", site_dir=tmp_path / "public", allow_private_networks=True,
                  max_entries_per_feed=30)


def stage(config: Config, validators=None, *, workers: int | None, budget: float = 30, limit: float = 40):
    """fetch_and_parse on every feed of `config`; a hang becomes a test failure instead of a stuck suite."""
    coro = feed_stage.fetch_and_parse(config, config.feeds, validators or {}, time.monotonic() + budget, now=NOW,
                                  workers=workers)
    return {feed.url: outcome for feed, outcome in asyncio.run(asyncio.wait_for(coro, limit))}


def test_worker_processes_parse_exactly_as_this_process_does(server, tmp_path):
    urls = serve_three(server)
    config = config_for(tmp_path, list(urls.values()))
    here, pooled = stage(config, workers=0), stage(config, workers=2)

    def comparable(results):  # exceptions compare by identity: compare their type and message
        return {u: (r.response, (type(r.parsed), str(r.parsed)) if isinstance(r.parsed, Exception) else r.parsed)
                for u, r in results.items()}

    assert comparable(here) == comparable(pooled)
    for key in ("quay", "fen"):
        parsed = pooled[urls[key]].parsed
        assert isinstance(parsed, ParsedFeed)
        expected = parse_feed(server.routes[urls[key].removeprefix(server.base)].body, url=urls[key], now=NOW,
                              max_entries=30)
        assert parsed == expected
    assert [e.title for e in pooled[urls["quay"]].parsed.entries] == ["Ferry timetable changes from Monday",
                                                                      "Harbour wall repairs finish early"]
    error = pooled[urls["login"]].parsed
    assert isinstance(error, ParseError)  # crossed the process boundary with its message whole
    assert str(error) == str(here[urls["login"]].parsed)
    assert str(error).startswith(urls["login"] + ": not a feed")
    assert not multiprocessing.active_children()  # the pool is gone with the stage


def test_a_second_run_with_the_validators_gets_304s_and_parses_nothing(server, tmp_path):
    urls = serve_three(server)
    config = config_for(tmp_path, [urls["quay"], urls["fen"]])
    first = stage(config, workers=2)
    validators = {u: (r.response.etag, r.response.last_modified) for u, r in first.items()}
    again = stage(config, validators, workers=2)
    assert {u: (r.response.status, r.parsed) for u, r in again.items()} == {urls["quay"]: (304, None),
                                                                              urls["fen"]: (304, None)}


def hang_on(url: str, seconds: float = 60):
    """parse_feed, except that the feed at `url` keeps its parser busy for `seconds`, as a hostile document
    that sends feedparser into a near-endless loop would (the pool's workers are forked, so they see this)."""
    def slow(content, *, url: str, **kw):
        if url == hanging:
            time.sleep(seconds)
        return parse_feed(content, url=url, **kw)
    hanging = url
    return slow


def test_a_parse_killed_by_the_timeout_is_a_failed_feed_and_the_run_goes_on(server, tmp_path, monkeypatch):
    urls = serve_three(server)
    path = tmp_path / "feeds.yaml"
    path.write_text("database: db.sqlite3\nsite_dir: public\nallow_private_networks: true\ntopics: []\nfeeds:\n"
                    + "".join(f"  - url: '{u}'\n" for u in (urls["quay"], urls["fen"])), encoding="utf-8")
    monkeypatch.setattr(feed_parser, "parse_feed", hang_on(urls["quay"]))
    monkeypatch.setattr(feed_stage, "FEED_PARSE_TIMEOUT", 1.0)
    config = load_config(path)

    summary = run(config, now=lambda: NOW, extract_workers=2)

    assert (summary.feeds_fetched, summary.feeds_failed) == (1, 1)
    assert any("parsing timed out after 1 s" in p and urls["quay"] in p for p in summary.problems), summary.problems
    with Store.open(config.database) as store:
        health = {f.url: f for f in store.feed_statuses()}
        assert health[urls["quay"]].last_error == f"{urls['quay']}: parsing timed out after 1 s"
        assert health[urls["quay"]].failures == 1
        assert health[urls["fen"]].last_error is None
        assert [a.title for a in store.articles()] == ["Drainage board votes on new pumps"]
    assert not multiprocessing.active_children()


def test_the_deadline_leaves_out_a_feed_still_being_parsed(server, tmp_path, monkeypatch):
    urls = serve_three(server)
    monkeypatch.setattr(feed_parser, "parse_feed", hang_on(urls["fen"]))
    monkeypatch.setattr(feed_stage, "FEED_PARSE_TIMEOUT", 30.0)
    config = config_for(tmp_path, list(urls.values()))

    done = stage(config, workers=2, budget=1, limit=20)  # the hanging parse would take 60 s

    assert sorted(done) == sorted([urls["quay"], urls["login"]])  # the cut-off feed stays due for the next run
    assert isinstance(done[urls["quay"]].parsed, ParsedFeed)
    assert not multiprocessing.active_children()  # its worker was stopped, not left behind


def test_in_this_process_a_parser_bug_is_a_parse_error_not_a_crash(server, tmp_path, monkeypatch):
    urls = serve_three(server)

    def broken(content, *, url, **kw):
        raise KeyError("entries")

    monkeypatch.setattr(feed_parser, "parse_feed", broken)
    done = stage(config_for(tmp_path, [urls["fen"]]), workers=0)
    assert str(done[urls["fen"]].parsed) == f"{urls['fen']}: not a feed (KeyError: 'entries')"


@pytest.mark.parametrize("workers", [0, 2])
def test_store_feed_result_records_what_the_stage_parsed(server, tmp_path, workers):
    urls = serve_three(server)
    path = tmp_path / "feeds.yaml"
    path.write_text("database: db.sqlite3\nsite_dir: public\nallow_private_networks: true\ntopics: []\nfeeds:\n"
                    + "".join(f"  - url: '{u}'\n" for u in urls.values()), encoding="utf-8")
    config = load_config(path)
    summary = run(config, now=lambda: NOW, extract_workers=workers)
    assert (summary.feeds_fetched, summary.feeds_failed, summary.new_articles) == (2, 1, 3)
    with Store.open(config.database) as store:
        health = {f.url: f for f in store.feed_statuses()}
        assert health[urls["login"]].last_error.startswith(urls["login"] + ": not a feed")
        assert sorted(a.title for a in store.articles()) == ["Drainage board votes on new pumps",
                                                              "Ferry timetable changes from Monday",
                                                              "Harbour wall repairs finish early"]
