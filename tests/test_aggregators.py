"""News searches bring the real articles (issue 16): Google News and Bing News imitated on loopback in the
shapes they are known to have, the outlet's own feed and pages beside them, whole runs checked in the store,
the run summary, `monitor feeds` and the site.

Hosts: the outlet on 127.0.0.1, the Google imitation on 127.0.0.2, the Bing imitation on 127.0.0.3 (all
loopback; different hosts so that each is its own outlet identity).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote

import pytest
from monitor import aggregators, links
from monitor.aggregators import bing_target, google_article_id, read_answer, read_signature, strip_outlet_suffix
from monitor.config import load_config
from monitor.errors import FetchError, ResolveError
from monitor.fetch import Fetcher
from monitor.loopback import LoopbackServer, Route
from monitor.pipeline import run
from monitor.store import Store

from tests.db import db_rows

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
DATE = "Fri, 20 Nov 2026 07:30:00 GMT"
OUTLET = "Harbor Ledger"
IDS = {"a": "CBMiTkFVX3lxTFBhcmJvdXJUdW5uZWxPcGVuczAx", "c": "CBMiTkFVX3lxTFRvbGxQbGFuUmVqZWN0ZWQwMg"}

PAGES = {
    "a": ("Harbour tunnel opens to traffic after six years",
          "The new harbour tunnel opened to traffic on Thursday morning after six years of construction. "
          "The first cars passed under the estuary shortly after dawn, watched by a small crowd of engineers. "
          "City officials said the crossing would cut the commute between the two shores by twenty minutes."),
    "b": ("Ferry operators cut timetable as tunnel traffic grows",
          "Two ferry operators announced a reduced winter timetable, citing falling passenger numbers. "
          "Dock workers said the smaller crossings would keep running on weekends through the spring. "
          "The harbour board will review the remaining routes at its January meeting."),
    "c": ("Council rejects toll plan for the new crossing",
          "The city council voted against a proposal to charge drivers a toll for the new crossing. "
          "Councillors argued that the project had already been paid for from the regional budget. "
          "The mayor said the maintenance costs would be covered by the transport fund instead."),
}


def page_html(key: str) -> bytes:
    title, text = PAGES[key]
    paragraphs = "".join(f"<p>{s.strip()}.</p>" for s in text.split(". ") if s.strip())
    return (f"<html><head><title>{title}</title><meta property='og:title' content='{title}'></head><body>"
            f"<article><h1>{title}</h1>{paragraphs}</article></body></html>").encode()


def rss(title: str, items: str, ns: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"{ns}><channel><title>{title}</title>'
            f"<link>http://example.invalid/</link>{items}</channel></rss>").encode()


class Google:
    """The Google News side: a search feed, the article page with the two attributes, batchexecute."""

    def __init__(self, server: LoopbackServer, targets: dict[str, str]):
        self.server, self.targets = server, targets  # article id -> the outlet's URL
        self.answer = "ok"  # "ok", "garbage", "429", "redirect"
        self.bodies: list[dict] = []
        server.routes["/_/DotsSplashUi/data/batchexecute"] = self.batchexecute
        for art_id in targets:
            server.routes[f"/rss/articles/{art_id}"] = self.article_page

    def feed(self, keys: list[str], outlet_base: str) -> bytes:
        items = "".join(
            f"<item><title>{PAGES[k][0]} - {OUTLET}</title>"
            f"<link>{self.server.base}/rss/articles/{IDS[k]}?oc=5</link><guid isPermaLink='false'>{IDS[k]}</guid>"
            f"<pubDate>{DATE}</pubDate><description>&lt;a href=\"{self.server.base}/rss/articles/{IDS[k]}?oc=5\"&gt;"
            f"{PAGES[k][0]}&lt;/a&gt;&amp;nbsp;&amp;nbsp;&lt;font color=\"#6f6f6f\"&gt;{OUTLET}&lt;/font&gt;</description>"
            f'<source url="{outlet_base}">{OUTLET}</source></item>' for k in keys)
        return rss('"harbour tunnel" - Google News', items)

    def article_page(self, handler) -> None:
        art_id = handler.path.split("?", 1)[0].rsplit("/", 1)[-1]
        body = (f'<!doctype html><html><head><script>window.WIZ_global_data={{}}</script></head><body>'
                f'<c-wiz jsrenderer="x" jsdata="deferred-i1"><div jscontroller="aLI87" data-n-a-id="{art_id}" '
                f'data-n-a-sg="AZ5r3e-sig-{art_id[-4:]}" data-n-a-ts="1763600000"></div></c-wiz>'
                "<noscript>Opening the article needs JavaScript</noscript></body></html>").encode()
        _answer(handler, 200, body, "text/html; charset=utf-8")

    def batchexecute(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        form = parse_qs(handler.rfile.read(length).decode())
        envelope = json.loads(form["f.req"][0])[0][0]
        inner = json.loads(envelope[1])  # ["garturlreq", [context], id, timestamp, signature]
        self.bodies.append({"rpc": envelope[0], "id": inner[2], "ts": inner[3], "sig": inner[4]})
        if self.answer == "429":
            return _answer(handler, 429, b"Too Many Requests", "text/plain", {"Retry-After": "120"})
        if self.answer == "redirect":
            return _answer(handler, 302, b"", "text/plain", {"Location": "/sorry/index"})
        if self.answer == "garbage":
            return _answer(handler, 200, b"<html><body>Our systems have detected unusual traffic</body></html>", "text/html")
        url = self.targets.get(inner[2]) if inner[4] == f"AZ5r3e-sig-{inner[2][-4:]}" and inner[3] == 1763600000 else None
        payload = json.dumps(["garturlres", url, 1]) if url else json.dumps(["garturlres"])
        rows = [["wrb.fr", "Fbv4je", payload, None, None, None, envelope[3]], ["di", 41], ["af.httprm", 41, "-1", 12]]
        _answer(handler, 200, (")]}'\n\n" + json.dumps(rows)).encode(), "application/json; charset=utf-8")


def _answer(handler, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


def bing_feed(bing_base: str, target: str) -> bytes:
    link = (f"{bing_base}/news/apiclick.aspx?ref=FexRss&amp;aid=&amp;tid=6A1F0C&amp;url={quote(target, safe='')}"
            "&amp;c=1234567890&amp;mkt=en-us")
    item = (f"<item><title>{PAGES['b'][0]}</title><link>{link}</link><pubDate>{DATE}</pubDate>"
            f"<description>Two ferry operators announced a reduced winter timetable.</description>"
            f"<News:Source>{OUTLET}</News:Source></item>")
    return rss('"harbour tunnel" - Bing News', item, ' xmlns:News="https://www.bing.com/news/search?q=harbour&amp;format=rss"')


@pytest.fixture
def world(tmp_path, monkeypatch):
    """The outlet (own feed lists article a; pages a, b, c), two Google searches, one Bing search."""
    monkeypatch.setattr(links, "RESOLVE_DELAY", 0.05)
    with LoopbackServer() as outlet, LoopbackServer(host="127.0.0.2") as g, LoopbackServer(host="127.0.0.3") as b:
        urls = {k: outlet.url(f"/news/{k}") for k in PAGES}
        for k in PAGES:
            outlet.routes[f"/news/{k}"] = Route(page_html(k))
        outlet.routes["/feed.xml"] = Route(rss(OUTLET, f"<item><title>{PAGES['a'][0]}</title><link>{urls['a']}</link>"
                                                       f"<pubDate>{DATE}</pubDate></item>"))
        google = Google(g, {IDS[k]: urls[k] for k in ("a", "c")})
        g.routes["/rss/search"] = Route(google.feed(["a", "c"], outlet.base))
        g.routes["/rss/search2"] = Route(google.feed(["a"], outlet.base))
        b.routes["/news/search"] = Route(bing_feed(b.base, urls["b"]))
        config_path = tmp_path / "feeds.yaml"
        config_path.write_text(
            "database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\ntopics: []\nfeeds:\n"
            f"  - {{url: '{outlet.url('/feed.xml')}', name: {OUTLET}}}\n"
            f"  - {{url: '{g.url('/rss/search?q=harbour&hl=en-GB&gl=GB&ceid=GB:en')}', name: 'Google News: harbour', aggregator: true}}\n"
            f"  - {{url: '{g.url('/rss/search2?q=tunnel')}', name: 'Google News: tunnel', aggregator: true}}\n"
            f"  - {{url: '{b.url('/news/search?q=harbour&format=rss')}', name: 'Bing News: harbour', aggregator: true}}\n",
            encoding="utf-8")
        yield type("World", (), {"outlet": outlet, "g": g, "b": b, "google": google, "urls": urls,
                                 "config": load_config(config_path), "path": config_path})()


def feeds_table(path: Path) -> str:
    from click.testing import CliRunner

    from monitor.cli import main

    out = CliRunner().invoke(main, ["feeds", "--config", str(path)], catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    return out.stdout


def google_row(table: str, name: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(name))


# --- end to end -----------------------------------------------------------------------------------


def test_aggregated_items_become_the_outlets_articles(world):
    summary = run(world.config, now=lambda: T0, extract_workers=0)
    with Store.open(world.config.database) as store:
        articles = {a.url: a for a in store.articles()}
    # one article per real URL, none on an aggregator's host
    assert sorted(articles) == sorted(world.urls.values())
    for key, url in world.urls.items():
        a = articles[url]
        assert a.extracted and a.source == OUTLET and a.outlet == "127.0.0.1", (key, a)
        assert a.title == PAGES[key][0] and PAGES[key][1].split(". ")[1] in a.text
    # article a was reached through its own feed, two Google searches and is still one article
    assert any("/rss/articles/" + IDS["a"] in u for u in articles[world.urls["a"]].urls)
    # Google's two requests per id, the id resolved once although two searches list it; Bing's link needs none
    assert sorted(b["id"] for b in world.google.bodies) == sorted([IDS["a"], IDS["c"]])
    assert len(world.g.hits(f"/rss/articles/{IDS['a']}")) == 1
    assert all(b["rpc"] == "Fbv4je" and b["ts"] == 1763600000 for b in world.google.bodies)
    assert world.b.hits("/news/apiclick.aspx") == []
    assert not [r for r in world.g.requests if "oc=5" in r.path]  # the aggregator's page is never taken for the article
    assert "aggregator links: resolved 2 of 2" in summary.line()
    table = feeds_table(world.path)
    assert "resolved 2 of 2" in google_row(table, "Google News: harbour")
    assert "resolved 1 of 1" in google_row(table, "Google News: tunnel")
    assert "resolved 1 of 1" in google_row(table, "Bing News: harbour")
    published = json.loads((world.config.site_dir / "stories.json").read_text())
    site_urls = {a["url"] for s in published["stories"] for a in s["articles"]}
    assert site_urls == set(world.urls.values())


def test_the_outlets_own_feed_seen_after_the_aggregator_joins_the_same_article(world):
    own = world.outlet.routes.pop("/feed.xml")
    world.outlet.routes["/feed.xml"] = Route(b"busy", status=503)
    run(world.config, now=lambda: T0, extract_workers=0)
    world.outlet.routes["/feed.xml"] = own
    run(world.config, now=lambda: T0 + timedelta(hours=3), extract_workers=0)
    with Store.open(world.config.database) as store:
        same = [a for a in store.articles() if a.title == PAGES["a"][0]]
        fed = db_rows(store, "SELECT count(DISTINCT feed_url) FROM entries WHERE article_id = ?", (same[0].id,))[0][0]
    assert len(same) == 1 and same[0].url == world.urls["a"] and fed == 3


# --- the failure path -----------------------------------------------------------------------------


def test_a_failed_resolution_keeps_the_headline_and_is_retried_with_backoff(world):
    world.google.answer = "garbage"
    summary = run(world.config, now=lambda: T0, extract_workers=0)
    with Store.open(world.config.database) as store:
        waiting = [a for a in store.articles() if "/rss/articles/" + IDS["c"] in a.url]
        link = db_rows(store, "SELECT * FROM aggregator_links WHERE link LIKE ?", ("%" + IDS["c"] + "%",))[0]
    assert len(waiting) == 1
    a = waiting[0]
    assert a.title == PAGES["c"][0]  # " - Harbor Ledger" removed
    assert a.source == OUTLET and a.outlet == "127.0.0.1" and not a.extracted  # outlet from <source url>
    assert link["resolved_url"] is None and link["attempts"] == 1 and "parse_batchexecute() failed" in link["last_error"]
    assert datetime.fromisoformat(link["next_attempt"]) >= T0 + timedelta(minutes=30)
    assert "aggregator links: resolved 0 of 2" in summary.line()
    assert any("aggregator links not resolved" in p for p in summary.problems)
    assert "resolved 0 of 2" in google_row(feeds_table(world.path), "Google News: harbour")
    # the headline is on the site meanwhile
    stories = json.loads((world.config.site_dir / "stories.json").read_text())["stories"]
    assert PAGES["c"][0] in {a["title"] for s in stories for a in s["articles"]}

    asked = len(world.google.bodies)
    world.google.answer = "ok"
    run(world.config, now=lambda: T0 + timedelta(minutes=10), extract_workers=0)
    assert len(world.google.bodies) == asked  # not yet due again: backoff
    later = run(world.config, now=lambda: T0 + timedelta(days=1), extract_workers=0)
    assert "aggregator links: resolved 2 of 2" in later.line()
    with Store.open(world.config.database) as store:
        articles = {a.url: a for a in store.articles()}
    assert sorted(articles) == sorted(world.urls.values()) and articles[world.urls["c"]].extracted


@pytest.mark.parametrize("answer", ["429", "redirect"])
def test_a_rate_limit_or_captcha_redirect_never_fails_the_run(world, answer, cli):
    world.google.answer = answer
    result = cli("run", "--config", world.path)  # an exception would propagate here and fail the test
    assert result.exit_code == 0, result.stderr
    if answer == "429":  # asked to slow down: the second link waits for a later run
        assert len(world.google.bodies) == 1 and "aggregator links: resolved 0 of 1" in result.stderr
    else:
        assert len(world.google.bodies) == 2 and "aggregator links: resolved 0 of 2" in result.stderr
    with Store.open(world.config.database) as store:
        assert {a.url for a in store.articles() if a.extracted} == {world.urls["a"], world.urls["b"]}


def test_a_changed_googlenewsdecoder_api_fails_loudly_per_item(world, monkeypatch):
    from googlenewsdecoder import _parse

    monkeypatch.delattr(_parse, "parse_batchexecute")
    summary = run(world.config, now=lambda: T0, extract_workers=0)
    with Store.open(world.config.database) as store:
        errors = [r[0] for r in db_rows(store, "SELECT last_error FROM aggregator_links WHERE resolved_url IS NULL")]
        extracted = {a.url for a in store.articles() if a.extracted}
    assert len(errors) == 2 and all("no parse_batchexecute() any more" in e for e in errors)
    assert extracted == {world.urls["a"], world.urls["b"]}  # the rest of the run went on
    assert summary.site_built


# --- the pure parts -------------------------------------------------------------------------------


def test_bing_links_name_the_article_in_their_url_parameter():
    base = "https://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=1&url="
    assert bing_target(base + "https%3a%2f%2fnews.example.org%2f2026%2fa%3fid%3d3&c=9&mkt=en-us") == \
        "https://news.example.org/2026/a?id=3"
    assert bing_target(base + "javascript%3aalert(1)") is None
    assert bing_target("https://www.bing.com/news/apiclick.aspx?ref=FexRss") is None
    assert bing_target("https://news.example.org/apiclick.html?url=https%3a%2f%2fx.example") is None


def test_google_links_and_titles():
    assert google_article_id("https://news.google.com/rss/articles/CBMiWkFVX3lxTE5?oc=5") == "CBMiWkFVX3lxTE5"
    assert google_article_id("https://news.google.com/read/CBMiWkFVX3lxTE5") == "CBMiWkFVX3lxTE5"
    assert google_article_id("https://news.google.com/rss/search?q=x") is None
    assert aggregators.signature_page_url("https://news.google.com/rss/articles/CBMiWkFVX3lxTE5?oc=5",
                                          "https://news.google.com/rss/search?q=x&hl=de&gl=DE&ceid=DE:de") == \
        "https://news.google.com/rss/articles/CBMiWkFVX3lxTE5?hl=de&gl=DE&ceid=DE%3Ade"
    assert strip_outlet_suffix("Tunnel opens - Harbor Ledger", "Harbor Ledger") == "Tunnel opens"
    assert strip_outlet_suffix("Harbor Ledger", "Harbor Ledger") == "Harbor Ledger"
    assert strip_outlet_suffix("Tunnel - opens", None) == "Tunnel - opens"


def test_unexpected_pages_and_answers_are_resolve_errors():
    link = "https://news.google.com/rss/articles/CBMiWkFVX3lxTE5"
    with pytest.raises(ResolveError, match="no data-n-a-sg"):
        read_signature(link, "<html><body>Before you continue to Google</body></html>")
    for garbage in ("", "<html>", ")]}'\n\n[[\"wrb.fr\",\"Fbv4je\",\"[\\\"garturlres\\\",\\\"javascript:x\\\"]\"]]", "[1, 2"):
        with pytest.raises(ResolveError, match=link):
            read_answer(link, garbage)


def test_the_guarded_fetcher_refuses_an_aggregator_on_a_private_address():
    async def go():
        async with Fetcher() as fetcher:  # production policy: loopback refused
            await aggregators.resolve(fetcher, "http://127.0.0.1:9/rss/articles/CBMiWkFVX3lxTE5?oc=5",
                                      feed_url="http://127.0.0.1:9/rss/search")

    with pytest.raises(ResolveError, match="private/loopback") as info:
        asyncio.run(go())
    assert isinstance(info.value.__cause__, FetchError)


def test_a_database_of_the_previous_version_gets_outlets_from_its_urls(tmp_path):
    import sqlite3

    from monitor.store import SCHEMA, VERSION

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO articles(url, source, title, published, first_seen) VALUES "
               "('https://www.harbor-ledger.co.uk/news/a', 'Harbor Ledger', 'A', '2026-11-01T00:00:00+00:00', "
               "'2026-11-01T00:00:00+00:00')")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == VERSION
        (article,) = store.articles()
        assert article.outlet == "harbor-ledger.co.uk" and article.title == "A"
        assert store.link_counts() == {}


def test_the_aggregator_key_is_a_boolean_and_the_shipped_news_searches_are_marked(tmp_path):
    from monitor.config import check_config

    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://news.example/rss\n    aggregator: yes please\n", encoding="utf-8")
    config, problems = check_config(path)
    assert config is None and problems == [f"{path}:3: feeds[0].aggregator: must be true or false"]
    shipped = load_config(Path(__file__).parent.parent / "feeds.yaml")
    searches = {f.url: f.aggregator for f in shipped.feeds if "news.google.com" in f.url or "bing.com/news" in f.url}
    assert len(searches) == 5 and all(searches.values())
    assert not any(f.aggregator for f in shipped.feeds if f.url not in searches)
