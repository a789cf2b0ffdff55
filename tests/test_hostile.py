"""Hostile input end to end: feeds and pages written by strangers go through a whole run (fetch -> store ->
site) and what a user sees is checked: the database, the feed health, the built HTML.

One module-scoped pair of runs serves most tests (a run costs a site build): run 1 reads every hostile feed,
run 2 (two hours later) serves a truncated feed and an anti-bot page where good feeds were.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
import threading
import time
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import lxml.html
import monitor.fetch
import pytest
from monitor import batch_fetch, charts, fact_finder, facts, outlet_pages, page_stage, render, scheduling, search, story_page
from monitor.config import load_config
from monitor.loopback import LoopbackServer, Route
from monitor.models import PendingPage
from monitor.pipeline import run
from monitor.store import Store

from .fetch_servers import RawServer, dripping, short_body_then_close, silent

DATA = Path(__file__).parent / "data" / "hostile"
RUN1 = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)
RUN2 = RUN1 + timedelta(hours=2)
SECRET = "TOP-SECRET-XXE-MARKER-4711"


def fixture(name: str, **values: str) -> bytes:
    text = (DATA / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text.encode("utf-8")


def rss(base: str, items: list[str], title: str = "Plain Feed") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>{base}/</link>{''.join(items)}</channel></rss>").encode()


def item(base: str, key: str, title: str, *, date: str | None = "Wed, 04 Nov 2026 08:00:00 GMT",
         guid: str | None = None, summary: str = "") -> str:
    guid_xml = f"<guid>{guid}</guid>" if guid is not None else ""
    date_xml = f"<pubDate>{date}</pubDate>" if date else ""
    return (f"<item><title>{title}</title><link>{base}/p/{key}</link>{guid_xml}{date_xml}"
            f"<description>{summary}</description></item>")


def write_config(tmp: Path, urls: list[str], *, extra: str = "") -> Path:
    path = tmp / "feeds.yaml"
    feeds = "".join(f"  - url: '{u}'\n" for u in urls)
    path.write_text("database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\n"
                    f"max_entries_per_feed: 30\ntopics: []\n{extra}feeds:\n{feeds}", encoding="utf-8")
    return path


# --- what the site may contain ------------------------------------------------------------------------

_SOURCES = "\n".join([Path(m.__file__).read_text() for m in (render, story_page, charts, outlet_pages, search)]
                     + [p.read_text() for p in sorted((Path(render.__file__).parent / "templates").iterdir())
                        if p.suffix == ".md" or p.name.startswith("_")])  # the pages, not the redirects and search records
# Every element and attribute the site's own templates (monitor/templates/, charts.py) write into a page's content (plus the heading
# anchors mkdocs' toc extension adds). Hostile text must never add one.
CONTENT_TAGS = {t.lower() for t in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)[\s>/]", _SOURCES)} | {"a", "p", "div"}
CONTENT_ATTRS = {a.lower() for a in re.findall(r"[\s'\"]([a-zA-Z][a-zA-Z0-9:-]*)=[\"'{]", _SOURCES)} | {"href", "class", "id", "title", "data-search-exclude"}
BAD_SCHEMES = ("javascript:", "data:", "vbscript:")


def _scheme_of(value: str) -> str:
    return re.sub(r"[\x00-\x20]", "", value).lower()


def assert_site_inert(site: Path) -> list[str]:
    """Check every built page: theme scripts only, no on* attribute, no script URL, and nothing in the content
    area the templates do not write. Returns the text of every page's content area."""
    texts = []
    pages = sorted(site.rglob("*.html"))
    assert pages, f"no pages in {site}"
    for page in pages:
        doc = lxml.html.fromstring(page.read_bytes())
        for script in doc.iter("script"):
            src = script.get("src")
            if src is not None:
                assert re.match(r"^/?(\.\./)*assets/javascripts/[\w./-]+\.js$", src), (page, src)
            else:
                assert "alert(" not in (script.text or ""), page
        for el in doc.iter():
            if not isinstance(el.tag, str):
                continue
            assert el.tag not in ("iframe", "object", "embed", "frame", "frameset", "base", "applet"), (page, el.tag)
            for name, value in el.attrib.items():
                assert not name.lower().startswith("on"), (page, el.tag, name, value)
                if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "srcset", "poster"):
                    assert not _scheme_of(value).startswith(BAD_SCHEMES), (page, el.tag, name, value)
        for content in doc.xpath("//article[contains(@class, 'md-content__inner')]"):
            for el in content.iter():
                if not isinstance(el.tag, str):
                    continue
                tag = el.tag.split("}")[-1].lower()
                assert tag in CONTENT_TAGS or tag == "article", (page, tag)
                for name in el.attrib:
                    assert name.split("}")[-1].lower() in CONTENT_ATTRS, (page, tag, name)
            texts.append(" ".join(content.text_content().split()))
    for meta in site.rglob("*.html"):
        for refresh in lxml.html.fromstring(meta.read_bytes()).xpath("//meta[@http-equiv]"):
            if refresh.get("http-equiv").lower() == "refresh":  # only the site's own redirects: to a page of the site
                target = refresh.get("content", "").partition("url=")[2]
                assert target and ":" not in target and not target.startswith("/"), (meta, target)
                assert (meta.parent / target).resolve().is_relative_to(site.resolve()), (meta, target)
                assert (meta.parent / target).is_file(), (meta, target)
    return texts


# --- the module's two runs ----------------------------------------------------------------------------


def _huge_feed(base: str, n: int) -> bytes:
    return rss(base, [item(base, f"huge-{i}", f"Bulk entry number {i}", guid=f"huge-{i}") for i in range(n)], "Bulk")


def _nasty_text_feed(base: str) -> bytes:
    long_title = "Long " + "word " * 20_000 + "end"  # 100 KB
    items = [
        item(base, "bidi", "Bidi \u202eevil\u202c override &#x202E;and&#x2066; isolate", guid="bidi"),
        item(base, "long", long_title, guid="long"),
        item(base, "noguid", "An entry without a guid"),
        item(base, "dup-a", "First entry with a shared guid", guid="shared"),
        item(base, "dup-b", "Second entry with the same guid", guid="shared"),
        item(base, "nodate", "An entry without a date", guid="nodate", date=None),
        item(base, "y9999", "An entry dated in the year 9999", guid="y9999", date="Fri, 31 Dec 9999 23:59:59 GMT"),
        item(base, "future", "An entry dated in 2040", guid="future", date="Sun, 01 Jan 2040 00:00:00 GMT"),
        "<item><title>An entry with neither link nor guid</title></item>",
    ]
    return rss(base, items, "Nasty \u202etext\u202c")


def _charset_feeds(base: str) -> dict[str, bytes]:
    body = (f'<rss version="2.0"><channel><title>Z\u00fcrich Courier</title>'
            f"<item><title>Caf\u00e9 in Z\u00fcrich opens an AI desk</title><link>{base}/p/cs-{{k}}</link>"
            f"<guid>cs-{{k}}</guid></item></channel></rss>")
    return {
        "/charset-latin1-said-utf8.xml": ('<?xml version="1.0" encoding="utf-8"?>' + body.replace("{k}", "l1")).encode("latin-1"),
        "/charset-bogus.xml": ('<?xml version="1.0" encoding="x-no-such-charset-99"?>' + body.replace("{k}", "bg")).encode("utf-8"),
        "/charset-utf16.xml": ('<?xml version="1.0" encoding="utf-16"?>' + body.replace("{k}", "u16")).encode("utf-16"),
    }


def _quadratic_feed(base: str) -> bytes:
    big = "A" * 50_000
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{big}">]><rss version="2.0"><channel>'
            f"<title>Quadratic</title><item><title>{'&big;' * 2000}</title><link>{base}/p/q</link></item>"
            "</channel></rss>").encode()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    secret_file = tmp / "secret.txt"
    secret_file.write_text(SECRET)
    patch = pytest.MonkeyPatch()
    patch.setattr(page_stage, "EXTRACT_TIMEOUT", 2.0)
    with LoopbackServer() as server:
        base = server.base
        r = server.routes
        r["/markup.rss"] = Route(fixture("markup.rss", base=base))
        r["/pages/hostile"] = Route(fixture("hostile_page.html"))
        r["/xxe.rss"] = Route(fixture("xxe.rss", base=base, secret=str(secret_file)))
        r["/xxe-param.rss"] = Route(fixture("xxe_parameter.rss", base=base, secret=str(secret_file)))
        r["/laughs.rss"] = Route(fixture("billion_laughs.rss", base=base))
        r["/quadratic.rss"] = Route(_quadratic_feed(base))
        r["/nasty.rss"] = Route(_nasty_text_feed(base))
        r["/huge.rss"] = Route(_huge_feed(base, 50_000))
        for path, body in _charset_feeds(base).items():
            r[path] = Route(body, content_type="application/xml")
        # a feed whose pages make extraction run away or nest deeply
        r["/pages-feed.rss"] = Route(rss(base, [
            "<item><title>Runaway page keeps its feed summary</title>"
            f"<link>{base}/pages/runaway</link><guid>runaway</guid><description>The feed's own summary of the runaway page.</description></item>",
            "<item><title>Deeply nested page</title>"
            f"<link>{base}/pages/nested</link><guid>nested</guid><description>The feed's summary of the nested page.</description></item>",
        ], "Pages"))
        r["/pages/runaway"] = Route(("<html><body><article>" + "<span>a</span>" * 100_000 + "</article></body></html>").encode())
        r["/pages/nested"] = Route(("<html><body><article>" + "<div><span>deep words here</span>" * 100_000
                                    + "</div>" * 100_000 + "</article></body></html>").encode())
        # two good feeds that turn bad in run 2
        good = [item(base, f"t{i}", f"Truncation test entry {i}", guid=f"t{i}", summary=f"Summary {i}") for i in range(1, 7)]
        r["/truncated.rss"] = Route(rss(base, good[:3], "Soon truncated"))
        r["/antibot.rss"] = Route(rss(base, [item(base, f"ab{i}", f"Anti-bot victim entry {i}", guid=f"ab{i}") for i in (1, 2)], "Soon blocked"))
        feeds = ["/markup.rss", "/xxe.rss", "/xxe-param.rss", "/laughs.rss", "/quadratic.rss", "/nasty.rss", "/huge.rss",
                 *_charset_feeds(base), "/pages-feed.rss", "/truncated.rss", "/antibot.rss"]
        config = load_config(write_config(tmp, [server.url(f) for f in feeds]))
        first = run(config, now=lambda: RUN1, extract_workers=2)
        with Store.open(config.database) as store:
            before = {a.url: a for a in store.articles()}
        # run 2: the truncated feed has three new entries and breaks off inside the sixth; the other is blocked
        full = rss(base, good[:5] + [good[5]], "Soon truncated").decode()
        r["/truncated.rss"] = Route(full[: full.index("<title>Truncation test entry 6") + 20].encode())
        r["/antibot.rss"] = Route((DATA / "antibot.html").read_bytes(), status=200)
        second = run(config, now=lambda: RUN2, extract_workers=2)
        yield {"config": config, "first": first, "second": second, "before": before, "server": server, "tmp": tmp}
    patch.undo()


def _articles(config) -> dict[str, object]:
    with Store.open(config.database) as store:
        return {a.url: a for a in store.articles()}


def _health(config) -> dict[str, object]:
    with Store.open(config.database) as store:
        return {f.url.rsplit("/", 1)[1]: f for f in store.feed_statuses()}


def test_the_runs_complete_and_publish_a_site(hostile):
    config = hostile["config"]
    assert hostile["first"].site_built and hostile["second"].site_built
    stories = json.loads((config.site_dir / "stories.json").read_text())
    assert len(stories["stories"]) >= 10
    with Store.open(config.database) as store:
        assert store.integrity_ok()


def test_markup_in_titles_summaries_and_authors_is_literal_and_inert(hostile):
    config = hostile["config"]
    texts = " ".join(assert_site_inert(config.site_dir))
    for literal in ("Tallow lab announces agent", "[click](javascript:alert(4))", "{: onclick=alert(5) }",
                    'Snippet --8<-- "/etc/passwd"', "{{ config.secret }}", '{% include "main.html" %}',
                    "Pipes | col | col | with `ticks` and **stars** and _under_", "Template {{ 7*7 }} and {%raw%}",
                    "<script>alert(6)</script> literal markup", "Eve [x](javascript:alert(10))",
                    "First paragraph js link and data link"):
        assert literal in texts, literal
    assert "hide: - navigation" not in texts  # every page's front matter was read as front matter
    rocket = [p for p in config.site_dir.glob("stories/*.html") if "\U0001F680" in p.read_text()]
    assert rocket  # an emoji in a headline survives to its page (it once broke the page's front matter)
    articles = _articles(config)
    # links that are not http(s) never become articles
    assert not [u for u in articles if not u.startswith("http://")]
    assert not any("Entry whose link" in a.title for a in articles.values())
    # the page with no feed title takes the page's (escaped) title; its text's markup is text too
    page = next(a for u, a in articles.items() if u.endswith("/pages/hostile"))
    assert page.extracted and page.title.startswith("<script>alert('page')</script> Page {{ config }}")
    assert "<script>alert('page')</script> Page {{ config }} [p](javascript:alert(20))" in texts
    assert "{% include \"main.html\" %} and --8<-- \"/etc/passwd\"" in texts


def test_xxe_never_reads_the_local_file(hostile):
    config = hostile["config"]
    health = _health(config)
    for name in ("xxe.rss", "xxe-param.rss"):
        assert "not a feed" in health[name].last_error and "entities" in health[name].last_error, health[name]
    files = [p for p in config.database.parent.iterdir() if p.is_file()] + [p for p in config.site_dir.rglob("*") if p.is_file()]
    files += [p for p in Path(str(config.database) + "-site-work").rglob("*") if p.is_file()]
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def test_entity_bombs_are_refused_and_the_run_goes_on(hostile):
    health = _health(hostile["config"])
    for name in ("laughs.rss", "quadratic.rss"):
        assert "declares XML entities" in health[name].last_error, health[name]
        assert health[name].failures >= 1
    assert hostile["first"].timings["feeds"] < 30  # refused before parsing, not after expanding


def test_truncated_feed_keeps_what_was_read_and_the_old_entries(hostile):
    config = hostile["config"]
    titles = {a.title for a in _articles(config).values() if a.feed_url.endswith("/truncated.rss")}
    assert titles == {f"Truncation test entry {i}" for i in range(1, 6)}
    assert any("feed partly read" in p and "truncated.rss" in p for p in hostile["second"].problems)
    status = _health(config)["truncated.rss"]
    assert status.failures == 0 and status.last_error.startswith("partly read: malformed XML")  # not "healthy"
    page = next((config.site_dir / "outlets").glob("*.html"), None)
    pages = " ".join(p.read_text() for p in (config.site_dir / "outlets").glob("*.html"))
    assert page is not None and "read partly" in pages


def test_anti_bot_page_is_not_a_feed_and_deletes_nothing(hostile):
    config = hostile["config"]
    health = _health(config)["antibot.rss"]
    assert "not a feed" in health.last_error and "Just a moment" in health.last_error
    kept = {a.title for a in _articles(config).values() if a.feed_url.endswith("/antibot.rss")}
    assert kept == {"Anti-bot victim entry 1", "Anti-bot victim entry 2"}
    stories = json.loads((config.site_dir / "stories.json").read_text())["stories"]
    assert any(a["title"] == "Anti-bot victim entry 1" for s in stories for a in s["articles"])


def test_wrong_and_invalid_charsets_give_readable_titles(hostile):
    articles = _articles(hostile["config"])
    for key in ("l1", "bg", "u16"):
        article = next(a for u, a in articles.items() if u.endswith(f"/p/cs-{key}"))
        assert article.title == "Caf\u00e9 in Z\u00fcrich opens an AI desk", (key, article.title)


def test_control_bidi_long_titles_guids_and_dates(hostile):
    config = hostile["config"]
    nasty = {a.url.rsplit("/", 1)[1]: a for a in _articles(config).values() if a.feed_url.endswith("/nasty.rss")}
    assert set(nasty) == {"bidi", "long", "noguid", "dup-a", "nodate", "y9999", "future"}  # dup-b: same guid
    assert nasty["bidi"].title == "Bidi evil override and isolate"
    assert len(nasty["long"].title) <= 500 and nasty["long"].title.endswith("…")
    for key in ("nodate", "y9999", "future"):
        assert nasty[key].published == RUN1, key  # clamped to the run's clock
    for a in _articles(config).values():
        assert a.published <= RUN2 and not re.search("[\x00-\x08\u202a-\u202e\u2066-\u2069]", a.title + a.summary)
    stories = json.loads((config.site_dir / "stories.json").read_text())["stories"]
    keys = [(s["last_published"], s["id"]) for s in stories]
    assert keys == sorted(keys, reverse=True)
    with Store.open(config.database) as store:
        assert db_rows(store, "SELECT count(*) FROM entries WHERE feed_url LIKE '%nasty.rss'")[0][0] == 7


def test_a_feed_of_50000_entries_stores_only_the_cap(hostile):
    config = hostile["config"]
    bulk = [a for a in _articles(config).values() if a.feed_url.endswith("/huge.rss")]
    assert len(bulk) == 30
    assert {a.title for a in bulk} == {f"Bulk entry number {i}" for i in range(30)}  # the first 30, in document order


def test_runaway_page_is_bounded_and_keeps_the_feed_summary(hostile):
    config = hostile["config"]
    articles = _articles(config)
    runaway = next(a for u, a in articles.items() if u.endswith("/pages/runaway"))
    assert not runaway.extracted and runaway.summary == "The feed's own summary of the runaway page."
    with Store.open(config.database) as store:
        row = db_rows(store, "SELECT attempts, last_error FROM articles WHERE id = ?", (runaway.id,))[0]
    assert row["attempts"] >= 1 and "extraction timed out after 2 s" in row["last_error"]
    nested = next(a for u, a in articles.items() if u.endswith("/pages/nested"))
    assert nested.title == "Deeply nested page" and (nested.extracted or nested.summary)
    stories = json.loads((config.site_dir / "stories.json").read_text())["stories"]
    shown = [a for s in stories for a in s["articles"] if a["url"].endswith("/pages/runaway")]
    assert shown and shown[0]["excerpt"] == "The feed's own summary of the runaway page."


# --- addresses ----------------------------------------------------------------------------------------


def test_private_addresses_are_refused_as_feeds_and_as_article_links(tmp_path, monkeypatch):
    """allow_private_networks: false. The test's own server on 127.0.0.1 is let through by a policy that
    treats exactly 127.0.0.1 as public; everything else private, in any spelling, is refused and recorded."""
    real = monitor.fetch.is_public_address
    monkeypatch.setattr(monitor.fetch, "is_public_address", lambda ip: str(ip) == "127.0.0.1" or real(ip))
    with LoopbackServer() as public, LoopbackServer(host="127.0.0.2") as internal:
        port = internal.base.rsplit(":", 1)[1]
        internal.routes["/feed.xml"] = Route(rss(internal.base, [item(internal.base, "x", "Internal")]))
        internal.routes["/p/secret"] = Route(b"<html><body><p>internal only</p></body></html>")
        odd_hosts = ["127.0.0.2", "2130706434", "0177.0.0.2", "127.2", "0x7f.0.0.2", "[::ffff:127.0.0.2]"]
        feed_urls = [f"http://{h}:{port}/feed.xml" for h in odd_hosts]
        feed_urls += ["http://10.0.0.1/feed.xml", "http://169.254.169.254/latest/meta-data/",
                      "http://100.64.0.1/feed.xml", "http://[fd00::1]/feed.xml", "http://[fe80::1]/feed.xml", "http://0.0.0.0/feed.xml"]
        links = [f"http://{h}:{port}/p/secret" for h in odd_hosts[:6]] + ["http://169.254.169.254/latest/meta-data/iam"]
        items = "".join(f"<item><title>Link {i} to an internal host</title><link>{u}</link><guid>l{i}</guid>"
                        f"<description>Feed summary {i}.</description></item>" for i, u in enumerate(links))
        public.routes["/feed.xml"] = Route(f'<rss version="2.0"><channel><title>Pub</title>{items}</channel></rss>'.encode())
        path = write_config(tmp_path, [public.url("/feed.xml"), *feed_urls])
        path.write_text(path.read_text().replace("allow_private_networks: true", "allow_private_networks: false"))
        config = load_config(path)
        summary = run(config, extract_workers=0)
        assert not internal.requests  # nothing reached the internal server, in any spelling
    assert summary.feeds_failed == len(feed_urls) and summary.feeds_fetched == 1
    health = {f.url: f for f in Store.open(config.database).feed_statuses()}
    for url in feed_urls:
        error = health[url].last_error
        assert "refused" in error or "invalid URL" in error, (url, error)
        assert health[url].next_due > datetime.now(timezone.utc)
    with Store.open(config.database) as store:
        rows = db_rows(store, "SELECT url, extracted, summary, last_error FROM articles")
    assert len(rows) == len(links)
    for row in rows:
        assert not row["extracted"] and row["summary"].startswith("Feed summary")
        assert "refused" in row["last_error"] or "invalid URL" in row["last_error"], dict(row)
    assert (config.site_dir / "index.html").exists()


# --- slow, endless and lying servers in one run ----------------------------------------------------------


def _endless(conn, stop):
    from .fetch_servers import read_request

    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000000000\r\n\r\n<rss>")
    block = b"<!-- padding -->" * 4096
    while not stop.is_set():
        conn.sendall(block)


def _gzip_bomb(gigabytes: int) -> bytes:
    """Concatenated gzip members of 16 MB of zeros each: a valid gzip body inflating to `gigabytes` GB."""
    member = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    one = member.compress(bytes(16 << 20)) + member.flush()
    return one * (gigabytes * 64)


def test_slow_endless_lying_and_looping_servers_end_in_stored_errors(tmp_path, monkeypatch, server):
    monkeypatch.setattr(batch_fetch, "FETCH_DEADLINE", 2.0)
    base = server.base
    server.routes["/good.rss"] = Route(rss(base, [item(base, "g1", "A good entry", guid="g1")]))
    server.routes["/loop-a"] = Route(b"", status=302, headers={"Location": "/loop-b"})
    server.routes["/loop-b"] = Route(b"", status=302, headers={"Location": "/loop-a"})
    server.routes["/bomb.rss"] = Route(_gzip_bomb(2), headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml")
    with RawServer(silent) as mute, RawServer(dripping) as drip, RawServer(_endless) as endless, \
            RawServer(short_body_then_close) as liar:
        urls = {"good": server.url("/good.rss"), "loop": server.url("/loop-a"), "bomb": server.url("/bomb.rss"),
                "silent": mute.url("/f"), "drip": drip.url("/f"), "endless": endless.url("/f"), "liar": liar.url("/f")}
        config = load_config(write_config(tmp_path, list(urls.values())))
        summary = run(config, extract_workers=0)
    assert summary.feeds_fetched == 1 and summary.feeds_failed == 6
    assert summary.timings["feeds"] < 15  # every request ended at its own 2 s deadline or size cap
    health = {f.url: f for f in Store.open(config.database).feed_statuses()}
    expected = {"loop": "redirect loop", "bomb": "body larger than 10000000 bytes", "silent": "timed out after 2 s",
                "drip": "timed out after 2 s", "endless": "body larger than 10000000 bytes", "liar": "broken HTTP response"}
    for key, needle in expected.items():
        assert needle in health[urls[key]].last_error, (key, health[urls[key]].last_error)
        assert health[urls[key]].failures == 1
    assert health[urls["good"]].last_error is None
    with Store.open(config.database) as store:
        assert [a.title for a in store.articles()] == ["A good entry"]


# --- trust between sources: one feed or page cannot crash, hijack, pin or starve the others ------------------

from .db import db_rows  # noqa: E402
from .hostile_sources import LOREM, article_page, feed_health, published_articles, rss_feed, stored_articles  # noqa: E402
from .hostile_sources import write_config as write_trust_config  # noqa: E402

T0 = datetime(2026, 11, 5, 9, 0, tzinfo=timezone.utc)
VICTIM_TEXT = ("Velmora's harbour council opened the tide barrier to night shipping on Tuesday after a vote of "
               "seven to two. The harbour master said night pilots start work next month and that sensors on the "
               "gates will close them whenever a storm warning is issued for the coast.")
ATTACKER_TEXT = ("Velmora's harbour council secretly sold the tide barrier to a foreign shipping firm, insiders "
                 "claim, and the gates will be left open every night from now on whatever the weather brings. "
                 "Nobody at the council would deny the sale when asked about it on Tuesday.")


def test_lone_surrogates_are_dropped_at_every_parser_and_the_run_publishes(tmp_path, server):
    """A JSON Feed may carry "\\ud800" (legal JSON, not encodable as UTF-8) in any field, an RSS feed a
    character reference to a surrogate, a page its JSON-LD headline: each is stored and shown without it."""
    base = server.base
    items = [{"id": "one\ud800", "url": f"{base}/j/one", "title": "Tide barrier \ud800opens at night",
              "summary": "Ships may \udfffpass after dark.", "authors": [{"name": "Ana \ud800Reyes"}],
              "date_published": "2026-11-04T08:00:00Z"},
             {"id": "two", "url": f"{base}/j/two\ud800", "title": "A link that is not text"}]
    server.routes["/feed.json"] = Route(json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Jay \ud800Post",
                                                    "items": items}).encode(), content_type="application/feed+json")
    server.routes["/feed.rss"] = Route(rss_feed("Are Ess", [("Pilots &#xd800;return to the harbour", f"{base}/r/one"),
                                                            ("", f"{base}/r/untitled")]).replace(b"&amp;#xd800;", b"&#xd800;"))
    server.routes["/j/one"] = Route(article_page("Tide barrier opens at night"))
    server.routes["/r/one"] = Route(article_page("Pilots return to the harbour"))
    jsonld = ('<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", '
              '"headline": "Night gates \\ud800close in storms"}</script>')
    server.routes["/r/untitled"] = Route(article_page("", extra_head=jsonld).replace(b"<title></title>", b""))
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.json"), server.url("/feed.rss")]))
    summary = run(config, now=lambda: T0, extract_workers=0)
    assert summary.site_built and summary.feeds_failed == 0
    shown = {a["title"]: a for a in published_articles(config).values()}
    # the RSS title's surrogate became U+FFFD; the page's own headline then outranks the feed's (item 3)
    assert {"Tide barrier opens at night", "Pilots return to the harbour", "Night gates close in storms"} <= set(shown)
    stored = stored_articles(config)
    one = stored[f"{base}/j/one"]
    assert one["summary"] == "Ships may pass after dark." and one["author"] == "Ana Reyes" and one["extracted"]
    assert not any(u.startswith(f"{base}/j/two") for u in stored)  # a link that is not text is not a link
    with Store.open(config.database) as store:
        assert db_rows(store, "SELECT guid FROM entries WHERE feed_url LIKE '%feed.json'")[0][0] == "one"
        assert store.integrity_ok()


def test_a_page_cannot_claim_another_outlets_url(tmp_path, server):
    """An attacker's pages name the victim's article URLs as their canonical URL. (A) one the victim's feed
    lists only later, (B) one whose page is down while the attacker's copy is read. Neither the victim's
    headline, outlet nor text may come from the attacker."""
    with LoopbackServer(host="127.0.0.2") as attacker:
        victim, evil = server.base, attacker.base
        server.routes["/victim.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{victim}/b")]))
        server.routes["/b"] = Route(b"down for maintenance", status=503)
        server.routes["/a"] = Route(article_page("Council votes to open the barrier at night", VICTIM_TEXT))
        attacker.routes["/evil.rss"] = Route(rss_feed("Harbour Leaks", [("Barrier sold in secret deal", f"{evil}/copy-a"),
                                                                        ("Barrier gates to stay open", f"{evil}/copy-b")]))
        attacker.routes["/copy-a"] = Route(article_page("Barrier sold in secret deal", ATTACKER_TEXT, canonical=f"{victim}/a"))
        attacker.routes["/copy-b"] = Route(article_page("Barrier gates to stay open", ATTACKER_TEXT, canonical=f"{victim}/b"))
        config = load_config(write_trust_config(tmp_path, [server.url("/victim.rss"), attacker.url("/evil.rss")]))
        run(config, now=lambda: T0, extract_workers=0)
        # the victim's page is back, and its feed now lists the article the attacker claimed first
        server.routes["/b"] = Route(article_page("Barrier opens to night ships", VICTIM_TEXT))
        server.routes["/victim.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{victim}/b"),
                                                                          ("Council votes to open the barrier at night", f"{victim}/a")]))
        run(config, now=lambda: T0 + timedelta(hours=2), extract_workers=0)
    stored, shown = stored_articles(config), published_articles(config)
    for path, title in (("/a", "Council votes to open the barrier at night"), ("/b", "Barrier opens to night ships")):
        assert shown[victim + path]["source"] == "Velmora Gazette" and shown[victim + path]["title"] == title, path
        assert stored[victim + path]["text"].startswith("Velmora's harbour council opened"), path
    for path in ("/copy-a", "/copy-b"):  # the copies stay what they are: the attacker's, under their own URLs
        assert stored[evil + path]["source"] == "Harbour Leaks" and "secretly sold" in stored[evil + path]["text"]
    with Store.open(config.database) as store:
        owners = dict(db_rows(store, "SELECT url, article_id FROM article_urls"))
    assert owners[f"{victim}/a"] == stored[f"{victim}/a"]["id"] and owners[f"{victim}/b"] == stored[f"{victim}/b"]["id"]


def test_a_page_dated_in_2099_does_not_pin_the_site(tmp_path, server):
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/late"),
                                                                    ("Pilots hired for night shifts", f"{base}/real")],
                                                dates=[None, "Wed, 04 Nov 2026 08:00:00 GMT"]))
    server.routes["/late"] = Route(article_page("Barrier opens to night ships", published="2099-12-31T23:00:00Z"))
    server.routes["/real"] = Route(article_page("Pilots hired for night shifts", VICTIM_TEXT, published="2026-11-04T08:00:00Z"))
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.rss")]))
    run(config, now=lambda: T0, extract_workers=0)
    late = published_articles(config)[f"{base}/late"]
    assert late["published"].startswith("2026-11-05") and late["story_published"].startswith("2026-11-05")
    assert stored_articles(config)[f"{base}/late"]["published"] == "2026-11-05T09:00:00+00:00"
    for name in ("feed.xml", "stories.json", "index.html"):
        assert "2099" not in (config.site_dir / name).read_text(encoding="utf-8"), name


def test_a_clock_that_jumped_ahead_does_not_freeze_polling(tmp_path, server):
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
    server.routes["/one"] = Route(b"busy", status=503)  # its retry is set for an hour after the wrong time
    server.routes["/two"] = Route(article_page("Pilots hired for night shifts", VICTIM_TEXT))
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.rss")]))
    run(config, now=lambda: datetime(2030, 1, 1, tzinfo=timezone.utc), extract_workers=0)  # the clock was wrong
    server.routes["/one"] = Route(article_page("Barrier opens to night ships"))
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one"),
                                                                    ("Pilots hired for night shifts", f"{base}/two")]))
    run(config, now=lambda: T0, extract_workers=0)  # and is right again
    assert len(server.hits("/feed.rss")) == 2 and len(server.hits("/one")) == 2
    assert f"{base}/two" in published_articles(config) and stored_articles(config)[f"{base}/one"]["extracted"]
    assert feed_health(config)[server.url("/feed.rss")].next_due < datetime(2027, 1, 1, tzinfo=timezone.utc)


def _drip_every_3_s(conn, stop):
    from .fetch_servers import read_request

    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html>")
    while not stop.wait(3.0):
        conn.sendall(b" ")


def test_a_feed_of_links_to_a_dripping_host_does_not_starve_the_others(tmp_path, monkeypatch, server):
    """120 entries, newer than the good outlet's 10, point at a host sending a byte every 3 s. With a 1.5 s
    request deadline and a 12 s budget, the old order spent the whole budget on the first 100 of them."""
    monkeypatch.setattr(batch_fetch, "FETCH_DEADLINE", 1.5)
    with RawServer(_drip_every_3_s, host="127.0.0.2") as drip:
        base = server.base
        good = [(f"Night pilots report {i}", f"{base}/good/{i}") for i in range(10)]
        server.routes["/good.rss"] = Route(rss_feed("Velmora Gazette", good, dates=["Mon, 02 Nov 2026 08:00:00 GMT"] * 10))
        for title, link in good:
            server.routes[link.removeprefix(base)] = Route(article_page(title))
        server.routes["/flood.rss"] = Route(rss_feed("Flood", [(f"Flood item {i}", drip.url(f"/p/{i}")) for i in range(120)],
                                                     dates=["Wed, 04 Nov 2026 08:00:00 GMT"] * 120))
        config = load_config(write_trust_config(tmp_path, [server.url("/good.rss"), server.url("/flood.rss")],
                                                extra="time_budget: 12s\nmax_entries_per_feed: 200\n"))
        summary = run(config, now=lambda: T0, extract_workers=0)
        connections = drip.connections
    assert all(len(server.hits(f"/good/{i}")) == 1 for i in range(10))
    shown = published_articles(config)
    assert all(stored_articles(config)[link]["extracted"] and link in shown for _, link in good)
    assert connections <= 8  # backed off after a few timeouts, not one deadline per link
    with Store.open(config.database) as store:
        waiting = db_rows(store, "SELECT count(*) FROM articles WHERE url LIKE 'http://127.0.0.2%' AND attempts = 0")[0][0]
    assert waiting >= 100  # left for the next run, not counted as failed attempts
    assert any("host left for the next run" in p for p in summary.problems)


def _brotli_bomb(size: int) -> bytes:
    """`size` zero bytes as one brotli stream (about 1.6 KB per GB), built without holding them."""
    import brotli

    compressor, block = brotli.Compressor(quality=5), bytes(16 << 20)
    parts = [compressor.process(block) for _ in range(size // len(block))]
    return b"".join(parts) + compressor.finish()


def test_a_brotli_bomb_stops_at_the_size_cap_without_inflating(tmp_path, server):
    """1 GB of zeros in about 1.6 KB of brotli. The run (a process of its own, so that its peak memory can be
    read) records the feed's error and publishes the good feed; it never holds the inflated body."""
    import os
    import subprocess
    import sys

    assert "br" in monitor.fetch.ACCEPT_ENCODING  # the test extra installs a brotli that can be bounded
    base = server.base
    server.routes["/bomb.rss"] = Route(_brotli_bomb(1 << 30), headers={"Content-Encoding": "br"},
                                       content_type="application/rss+xml")
    server.routes["/good.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
    server.routes["/one"] = Route(article_page("Barrier opens to night ships"))
    path = write_trust_config(tmp_path, [server.url("/bomb.rss"), server.url("/good.rss")])
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", "run", "--config", str(path), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read().decode()
    # KB: the run's own peak stays below the 1 GB inside (the old code peaked at 2.2 GB). A small run now peaks
    # near 600 MB by itself: the story stage's embedding model and word-frequency table are loaded
    assert usage.ru_maxrss < 900_000, usage.ru_maxrss
    config = load_config(path)
    assert "body larger than 10000000 bytes" in feed_health(config)[server.url("/bomb.rss")].last_error
    assert f"{base}/one" in published_articles(config)


def _noise_png(width: int = 200, height: int = 200) -> bytes:
    """A real PNG of random pixels (incompressible, so most of its bytes are not text), with a text chunk
    whose keyword is "html" near the start, as a screenshot tool might write it."""
    import random
    import struct

    rng = random.Random(15)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rng.getrandbits(8) for _ in range(width * 3)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"tEXt", b"html\x00<html><body><p>Saved from the harbour page</p></body></html>")
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_binary_served_as_html_is_refused_and_the_feed_summary_stays(tmp_path, server):
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/picture"),
                                                                    ("Pilots hired for night shifts", f"{base}/noise")]))
    server.routes["/picture"] = Route(_noise_png(), content_type="text/html; charset=utf-8")
    server.routes["/noise"] = Route(_noise_png()[64:], content_type="text/html")  # no signature left
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.rss")]))
    run(config, now=lambda: T0, extract_workers=0)
    stored, shown = stored_articles(config), published_articles(config)
    assert "not HTML (a PNG image)" in stored[f"{base}/picture"]["last_error"]
    assert "not HTML (binary data)" in stored[f"{base}/noise"]["last_error"]
    for path in ("/picture", "/noise"):
        assert not stored[base + path]["extracted"] and stored[base + path]["text"] == ""
        assert shown[base + path]["excerpt"] == "Feed summary."
    for page in config.site_dir.rglob("*.html"):
        assert "\ufffd" not in page.read_text(encoding="utf-8"), page


def test_feed_credentials_and_tokens_never_reach_the_site_and_the_database_is_private(tmp_path, server):
    import stat

    base = server.base
    host = base.removeprefix("http://")
    server.routes["/private.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
    server.routes["/one"] = Route(article_page("Barrier opens to night ships"))
    good = f"http://reader:Hunter2pw@{host}/private.rss?token=TOKEN77abc&user=reader"
    broken = f"http://reader:Hunter2pw@{host}/gone.rss?api_key=KEY88xyz"  # a 404: its error names the URL
    config = load_config(write_trust_config(tmp_path, [good, broken]))
    run(config, now=lambda: T0, extract_workers=0)
    assert f"{base}/one" in published_articles(config)
    assert "HTTP 404" in feed_health(config)[broken].last_error  # the operator's own view keeps the URL
    files = [p for p in config.site_dir.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":  # the search index's fragments are gzip: read what they hold
            data = gzip.decompress(data)
        for secret in (b"Hunter2pw", b"TOKEN77abc", b"KEY88xyz", b"reader:"):
            assert secret not in data, (path, secret)
    outlets = "".join(p.read_text(encoding="utf-8") for p in (config.site_dir / "outlets").glob("*.html"))
    assert f"{base}/private.rss" in outlets and f"{base}/gone.rss" in outlets  # the outlet pages, without secrets
    for path in (config.database, Path(str(config.database) + ".lock"), Path(str(config.database) + "-wal")):
        if path.exists() or not path.name.endswith("-wal"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_extraction_worker_cannot_grow_past_its_memory_limit(tmp_path, monkeypatch, server):
    """A worker may add WORKER_MEMORY to what it inherited (1 GB by default; 32 MB here). A 4 MB page of a
    million <br> needs about 120 MB as a tree, then runs trafilatura into its time limit (8 s here). Under
    the limit its parse fails at once, in a stored error, and the next page of the run is extracted."""
    from monitor import workers

    monkeypatch.setattr(workers, "WORKER_MEMORY", 32 << 20, raising=False)
    monkeypatch.setattr(page_stage, "EXTRACT_TIMEOUT", 8.0)
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/huge"),
                                                                    ("Pilots hired for night shifts", f"{base}/small")]))
    server.routes["/huge"] = Route(f"<html><body><article><p>{'<br>' * 1_000_000}</p><p>{LOREM}</p></article></body></html>".encode())
    server.routes["/small"] = Route(article_page("Pilots hired for night shifts", VICTIM_TEXT))
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.rss")]))
    summary = run(config, now=lambda: T0, extract_workers=1)
    stored, shown = stored_articles(config), published_articles(config)
    huge = stored[f"{base}/huge"]
    assert not huge["extracted"] and "timed out" not in huge["last_error"], huge["last_error"]
    assert stored[f"{base}/small"]["extracted"] and shown[f"{base}/huge"]["excerpt"] == "Feed summary."
    assert summary.site_built


# --- hostile configuration and subscription files --------------------------------------------------------


def _cli(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], capture_output=True, text=True, timeout=120)


def _alias_bomb(levels: int) -> str:
    """One flow list of anchors, each naming the one before nine times: a few hundred bytes, 9**levels values."""
    anchors = ['&x0 ["ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha", "ha"]']
    anchors += [f"&x{i} [{', '.join([f'*x{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "[" + ", ".join(anchors) + "]"


def test_alias_bombs_and_deep_nesting_in_feeds_yaml_are_one_line_errors(tmp_path, server):
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
    server.routes["/one"] = Route(article_page("Barrier opens to night ships"))
    path = write_trust_config(tmp_path, [server.url("/feed.rss")])
    good = path.read_text()
    config = load_config(path)
    run(config, now=lambda: T0, extract_workers=0)
    before = (config.site_dir / "stories.json").read_bytes()
    hostile = {
        "aliases": (good.replace("topics: []", f"topics: []\ntime_budget: {_alias_bomb(7)}"), "aliases expand to more than"),
        "nesting": (good + "site_title: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than 50 levels deep"),
    }
    for name, (text, needle) in hostile.items():
        path.write_text(text)
        for command in ("run", "check"):
            result = _cli(command, "--config", str(path))
            assert result.returncode == 2, (name, command, result.stderr[-500:])
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and len(lines[0]) < 300 and str(path) in lines[0] and needle in lines[0], (name, lines[:3])
    assert (config.site_dir / "stories.json").read_bytes() == before  # nothing ran
    assert f"{base}/one" in stored_articles(config)


def _nested_opml(depth: int, feeds_per_folder: int, base: str) -> bytes:
    opened = "".join(f'<outline text="Folder {d}">' for d in range(depth))
    feeds = "".join(f'<outline text="Feed {i}" xmlUrl="{base}/f/{i}.rss"/>' for i in range(feeds_per_folder))
    return (f'<?xml version="1.0"?><opml version="2.0"><head><title>Nest</title></head><body>{opened}{feeds}'
            f'{"</outline>" * depth}</body></opml>').encode()


def test_deeply_nested_opml_is_refused_in_one_line_and_feeds_yaml_stays(tmp_path, server):
    """100 folders inside each other around 100 feeds: every feed would carry 100 folder titles as tags."""
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
    server.routes["/one"] = Route(article_page("Barrier opens to night ships"))
    path = write_trust_config(tmp_path, [server.url("/feed.rss")])
    original = path.read_bytes()
    opml = tmp_path / "nest.opml"
    opml.write_bytes(_nested_opml(100, 100, base))
    result = _cli("feeds", "import", str(opml), "--config", str(path))
    assert result.returncode == 2, result.stderr[-500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(opml) in lines[0] and "nested more than 20 deep" in lines[0], lines[:3]
    assert path.read_bytes() == original
    config = load_config(path)
    run(config, now=lambda: T0, extract_workers=0)
    assert [f.url for f in feed_health(config).values()] == [server.url("/feed.rss")]
    assert f"{base}/one" in published_articles(config)


def test_entity_declarations_hidden_behind_markup_in_the_prolog_are_refused(tmp_path, server):
    """A processing instruction or a quoted system id holding "<a" once ended the checked prolog early."""
    base = server.base
    body = (f'<rss version="2.0"><channel><title>Hidden</title><item><title>{"&big;" * 100}</title>'
            f"<link>{base}/p/{{key}}</link></item></channel></rss>")
    decl = f'[<!ENTITY big "{"A" * 1000}">]>'
    server.routes["/pi.rss"] = Route(f'<?xml version="1.0"?><?x <a?><!DOCTYPE rss {decl}{body.format(key="pi")}'.encode())
    server.routes["/system.rss"] = Route(f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "<a" {decl}{body.format(key="sys")}'.encode())
    server.routes["/good.rss"] = Route(rss_feed("Velmora Gazette", [("Entities like <!ENTITY> explained", f"{base}/one")])
                                       .replace(b"&lt;!ENTITY&gt;", b"<![CDATA[<!ENTITY>]]>"))
    server.routes["/one"] = Route(article_page("Entities explained"))
    config = load_config(write_trust_config(tmp_path, [server.url(p) for p in ("/pi.rss", "/system.rss", "/good.rss")]))
    run(config, now=lambda: T0, extract_workers=0)
    health = feed_health(config)
    for path in ("/pi.rss", "/system.rss"):
        assert "declares XML entities" in (health[server.url(path)].last_error or ""), path
    assert health[server.url("/good.rss")].last_error is None  # the words "<!ENTITY" in a CDATA section are text
    assert [a["url"] for a in published_articles(config).values()] == [f"{base}/one"]
    assert not any("AAAA" in a["title"] for a in stored_articles(config).values())


@pytest.mark.parametrize("name, data, needle", [
    ("not-utf8", b'{"id": 1, "title": "Barrier"}\n{"id": 2, "title": "Caf\xe9 opens"}\n', "not valid UTF-8"),
    ("surrogate-id", b'{"id": 1, "title": "Barrier"}\n{"id": "\\ud800", "title": "Pilots"}\n', "line 2: 'id' is not valid Unicode"),
    ("deep-json", b'{"id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n", "line 1: not usable JSON (nested too deeply)"),
    ("long-number", b'{"id": ' + b"9" * 5000 + b', "title": "Barrier"}\n', "line 1: not usable JSON (Exceeds the limit"),
], ids=["not-utf8", "surrogate-id", "deep-json", "long-number"])
def test_monitor_cluster_refuses_hostile_lines_in_one_line(tmp_path, name, data, needle):
    from click.testing import CliRunner
    from monitor.cli import main

    path = tmp_path / f"{name}.jsonl"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["cluster", str(path)])
    assert result.exit_code == 2, (result.exit_code, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and len(lines[0]) < 300, lines[:3]
    assert result.stdout == ""


@pytest.mark.skipif(not __import__("shutil").which("openssl"), reason="needs the openssl command to make a certificate")
def test_an_https_feed_redirecting_to_plain_http_is_refused(tmp_path, monkeypatch, server):
    """The https outlet is a loopback server with a certificate of its own, which the run is made to trust."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    trusted = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(monitor.fetch.httpx, "create_ssl_context", lambda **kw: trusted)
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    secure = LoopbackServer()
    secure._httpd.socket = serving.wrap_socket(secure._httpd.socket, server_side=True)
    with secure:
        port = secure.base.rsplit(":", 1)[1]
        base = f"https://localhost:{port}"
        secure.routes["/good.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier opens to night ships", f"{base}/one")]))
        secure.routes["/one"] = Route(article_page("Barrier opens to night ships"))
        secure.routes["/moved.rss"] = Route(b"", status=301, headers={"Location": server.url("/clear.rss")})
        server.routes["/clear.rss"] = Route(rss_feed("In Clear", [("Pilots hired for night shifts", server.url("/two"))]))
        config = load_config(write_trust_config(tmp_path, [f"{base}/good.rss", f"{base}/moved.rss"]))
        run(config, now=lambda: T0, extract_workers=0)
    assert not server.hits("/clear.rss")
    health = feed_health(config)
    assert "refused: redirect from https to plain http" in health[f"{base}/moved.rss"].last_error
    assert list(published_articles(config)) == [f"{base}/one"]


def test_fair_order_takes_hosts_then_feeds_in_turn_and_the_guard_stops_a_slow_host():
    rows = ([PendingPage(i, f"http://flood.example/{i}", "f1") for i in range(4)]
            + [PendingPage(10 + i, f"http://flood.example/b{i}", "f2") for i in range(2)]
            + [PendingPage(20 + i, f"http://good.example/{i}", "g") for i in range(2)])
    order = [r.url for r in scheduling.fair_order(rows)]
    assert order == ["http://flood.example/0", "http://good.example/0", "http://flood.example/b0", "http://good.example/1",
                     "http://flood.example/1", "http://flood.example/b1", "http://flood.example/2", "http://flood.example/3"]
    guard = scheduling.HostGuard(per_host=4)
    guard.rebalance(hosts=2, budget=1000.0)  # 500 s each, as 2,000 connection-seconds
    timeout = monitor.fetch.FetchError("http://slow.example/x", "timed out after 60 s")
    for _ in range(scheduling.HOST_TIMEOUTS):
        assert guard.allows("slow.example")
        guard.record("slow.example", 60.0, timeout)
    assert not guard.allows("slow.example")
    guard.record("busy.example", 2001.0, None)
    assert not guard.allows("busy.example") and guard.allows("good.example")
    guard.rebalance(hosts=1, budget=5000.0)  # alone with time left: it may go on; timeouts are not forgiven
    assert guard.allows("busy.example") and not guard.allows("slow.example")


# --- issue 15, items 3 and 4: who may name the headline and the outlet (aggregators branch) --------------------
# The victim outlet serves on 127.0.0.1, the hostile feed on 127.0.0.2: two hosts, two outlet identities.

VICTIM_TITLE = "Harbour council approves tunnel budget"
PAGE_TITLE = "Harbour council approves tunnel budget after a late vote"
FAKE_TITLE = "Council admits the tunnel budget was a fraud"


def _victim_page() -> bytes:
    return (f"<html><head><title>{PAGE_TITLE}</title></head><body><article><h1>{PAGE_TITLE}</h1>"
            "<p>The harbour council approved the tunnel budget on Tuesday night after a debate of four hours.</p>"
            "<p>Nine councillors voted in favour and four against, with two abstentions from the harbour ward.</p>"
            "<p>Construction of the second bore is expected to begin in the spring, the council said.</p>"
            "</article></body></html>").encode()


def _site_text(site: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*") if p.suffix in (".html", ".json", ".xml"))


def test_first_writer_does_not_set_the_headline_or_the_outlet(tmp_path):
    with LoopbackServer() as victim, LoopbackServer(host="127.0.0.2") as hostile:
        story = victim.url("/p/budget")
        hostile.routes["/evil.rss"] = Route(rss(hostile.base, [
            f"<item><title>{FAKE_TITLE}</title><link>{story}</link><guid>evil-1</guid>"
            f"<source url='{victim.base}/'>Victim Times</source><pubDate>Wed, 04 Nov 2026 08:00:00 GMT</pubDate></item>"],
            "Wire Roundup"))
        victim.routes["/victim.rss"] = Route(b"maintenance", status=503)
        victim.routes["/p/budget"] = Route(b"maintenance", status=503)
        config = load_config(write_config(tmp_path, [hostile.url("/evil.rss"), victim.url("/victim.rss")]))
        run(config, now=lambda: RUN1, extract_workers=0)
        with Store.open(config.database) as store:
            (first,) = store.articles()
        assert first.title == FAKE_TITLE  # the only words known yet
        assert first.source == "Wire Roundup" and first.outlet == "127.0.0.1"  # its <source> claim is not taken

        victim.routes["/victim.rss"] = Route(rss(victim.base, [
            f"<item><title>{VICTIM_TITLE}</title><link>{story}</link><guid>v-1</guid>"
            "<pubDate>Wed, 04 Nov 2026 08:00:00 GMT</pubDate></item>"], "Victim Times"))
        run(config, now=lambda: RUN2, extract_workers=0)  # the victim's own feed is seen; its page still down
        with Store.open(config.database) as store:
            (second,) = store.articles()
        assert (second.title, second.source) == (VICTIM_TITLE, "Victim Times")
        site = _site_text(config.site_dir)
        assert VICTIM_TITLE in site and FAKE_TITLE not in site

        victim.routes["/p/budget"] = Route(_victim_page())
        run(config, now=lambda: RUN1 + timedelta(days=1), extract_workers=0)  # the page itself has the last word
        with Store.open(config.database) as store:
            (third,) = store.articles()
        assert third.extracted and third.title == PAGE_TITLE
        published = json.loads((config.site_dir / "stories.json").read_text())
        assert [a["title"] for s in published["stories"] for a in s["articles"]] == [PAGE_TITLE]
        assert FAKE_TITLE not in _site_text(config.site_dir)


QUOTE = "we will not stop the tunnel works for anyone this winter"
WIRE_TITLE = "Port authority refuses to pause harbour tunnel works"
_WIRE_TEXTS = {
    "reuters": "The port authority rejected calls to halt the tunnel works on Monday. Its chair said \"{q}\" at a "
               "press briefing in the harbour offices. Residents had asked for a pause during the storm season.",
    "ap": "Harbour residents asked the port authority for a pause in tunnel works during winter storms. The authority "
          "refused. \"{q},\" its chair told reporters on Monday afternoon. Campaigners plan a petition next week.",
    "bbc": "A request to pause the harbour tunnel works over the storm season has been turned down. Speaking on Monday "
           "the chair of the port authority said \"{q}\". The campaign group said it would keep up the pressure.",
}


def _wire_page(key: str) -> bytes:
    paragraphs = "".join(f"<p>{s}.</p>" for s in _WIRE_TEXTS[key].format(q=QUOTE).rstrip(".").split(". "))
    return (f"<html><head><title>{WIRE_TITLE}</title></head><body><article><h1>{WIRE_TITLE}</h1>{paragraphs}"
            "</article></body></html>").encode()


def test_one_feed_naming_three_outlets_is_one_outlet_on_the_story_page(tmp_path):
    with LoopbackServer(host="127.0.0.2") as wire:
        items = []
        for name, key in (("Reuters", "reuters"), ("AP", "ap"), ("BBC", "bbc")):
            wire.routes[f"/p/{key}"] = Route(_wire_page(key))
            items.append(f"<item><title>Port authority refuses to pause harbour tunnel works</title>"
                         f"<link>{wire.url('/p/' + key)}</link><guid>{key}</guid><source>{name}</source>"
                         "<pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>")
        wire.routes["/wire.rss"] = Route(rss(wire.base, items, "Wire Digest"))
        config = load_config(write_config(tmp_path, [wire.url("/wire.rss")]))
        run(config, now=lambda: RUN1, extract_workers=0)
    with Store.open(config.database) as store:
        articles = store.articles()
        (story,) = store.stories()
    assert len(articles) == 3 and len({a.story for a in articles}) == 1  # one story: the claim had its chance
    assert {a.outlet for a in articles} == {"127.0.0.2"} and {a.source for a in articles} == {"Wire Digest"}
    quote = next(f for f in story.facts if f.kind == "quote")
    assert QUOTE in quote.text and len(quote.outlets) == 1
    published = json.loads((config.site_dir / "stories.json").read_text())
    (entry,) = published["stories"]
    assert entry["sources"] == ["Wire Digest"]
    page = next((config.site_dir / "stories").glob("*.html")).read_text(encoding="utf-8")
    assert QUOTE in page
    assert not re.search(r"reported by [23] of", page)
    for name in ("Reuters", "BBC"):
        assert name not in page


def test_an_aggregator_names_its_outlets_by_the_source_url_host(tmp_path):
    """The exception: a feed marked `aggregator: true` names each item's outlet by its <source url> host
    (here its links lead straight to three outlets on three hosts, so each served its own article)."""
    servers = [LoopbackServer(host=f"127.0.0.{i}") for i in (3, 4, 5)]
    with servers[0] as one, servers[1] as two, servers[2] as three:
        items = []
        for server, (name, key) in zip((one, two, three), (("Reuters", "reuters"), ("AP", "ap"), ("BBC", "bbc"))):
            server.routes[f"/p/{key}"] = Route(_wire_page(key))
            items.append(f"<item><title>Port authority refuses to pause harbour tunnel works - {name}</title>"
                         f"<link>{server.url('/p/' + key)}</link><guid>{key}</guid>"
                         f"<source url='{server.base}'>{name}</source><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>")
        one.routes["/search.rss"] = Route(rss(one.base, items, "News search"))
        path = write_config(tmp_path, [])
        path.write_text(path.read_text().replace("feeds:\n", f"feeds:\n  - {{url: '{one.url('/search.rss')}', aggregator: true}}\n"))
        config = load_config(path)
        run(config, now=lambda: RUN1, extract_workers=0)
    with Store.open(config.database) as store:
        articles = store.articles()
        (story,) = store.stories()
    assert {a.source for a in articles} == {"Reuters", "AP", "BBC"}
    assert {a.outlet for a in articles} == {"127.0.0.3", "127.0.0.4", "127.0.0.5"}
    assert {a.title for a in articles} == {"Port authority refuses to pause harbour tunnel works"}
    assert len(next(f for f in story.facts if f.kind == "quote").outlets) == 3
    page = next((config.site_dir / "stories").glob("*.html")).read_text(encoding="utf-8")
    assert "reported by 3 of 3 outlets" in page
    assert "Also:" not in page  # each outlet cited once, by name, with its sentence


_REAL_STORY_FACTS = facts.story_facts


def _stalling_story_facts(articles):
    """A stand-in for an article whose figures take far longer than the limit (the work is in a worker)."""
    if any("stalls" in a.title for a in articles):
        time.sleep(60)
    return _REAL_STORY_FACTS(articles)


def test_a_story_whose_figures_stall_loses_its_facts_not_the_run(tmp_path, monkeypatch, server, caplog):
    monkeypatch.setattr(facts, "story_facts", _stalling_story_facts)  # forked workers inherit it
    monkeypatch.setattr(fact_finder, "FACTS_TIMEOUT", 2.0)
    base = server.base
    server.routes["/feed.rss"] = Route(rss_feed("Velmora Gazette", [("Barrier stalls the night ships", f"{base}/slow"),
                                                                    ("Pilots hired for night shifts", f"{base}/fine")]))
    server.routes["/slow"] = Route(article_page("Barrier stalls the night ships", ATTACKER_TEXT))
    server.routes["/fine"] = Route(article_page("Pilots hired for night shifts",
                                                VICTIM_TEXT + " The port hired 40 pilots, 25% more than last winter."))
    config = load_config(write_trust_config(tmp_path, [server.url("/feed.rss")]))
    started = time.monotonic()
    run(config, now=lambda: T0, extract_workers=1)
    assert time.monotonic() - started < 45  # the stalled story did not hold the run for its 60 s
    stories = {a["url"]: s for s in json.loads((config.site_dir / "stories.json").read_text(encoding="utf-8"))["stories"]
               for a in s["articles"]}
    stalled, fine = stories[f"{base}/slow"], stories[f"{base}/fine"]
    assert stalled is not fine
    assert "40 pilots" in json.dumps(fine["facts"])
    assert not any(stalled["facts"].values()), stalled["facts"]
    assert any("story facts timed out" in r.getMessage() and f"story={stalled['id']}" in r.getMessage() for r in caplog.records)


# --- hostile values on every page type, from stories straight to build_site ----------------------------

from monitor.models import Article, Evidence, Fact, FeedStatus, MergedStory, Story  # noqa: E402
from monitor.site import build_site, story_path  # noqa: E402

H_TITLE = '<script>alert("title")</script> Tunnel "vote" \' javascript:alert(1)'
H_OUTLET = '<script>alert("outlet")</script> "Harbour" Gazette'
H_QUOTE = '<script>alert("quote")</script> we said "no" javascript:alert(2)'
H_SPEAKER = 'Dr "<b>Quill</b>"'
H_SITE = 'Watch <script>alert("site")</script> "x"'
H_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
_HOSTILE_WORDS = {"tunnel", "vote", "harbour", "gazette", "we", "said", "no", "quill", "javascript:alert"}  # after a quote


def _hostile_stories() -> tuple[list[Story], list[FeedStatus], list[MergedStory]]:
    def art(i: int, source: str, url: str, days_ago: float) -> Article:
        return Article(url=url, title=H_TITLE, source=source, published=H_NOW - timedelta(days=days_ago), id=i,
                       text=f"{H_QUOTE}, the spokesperson said.", relevant=True)

    new = (art(1, H_OUTLET, "javascript:alert(3)", 1), art(2, "Plain Post", "https://plainpost.example/a", 0.9))
    quote = Fact(kind="quote", key="q", text=H_QUOTE, outlets=(H_OUTLET, "Plain Post"), speaker=H_SPEAKER,
                 evidence=(Evidence(H_OUTLET, "javascript:alert(4)", f"{H_QUOTE}, he said."),
                           Evidence("Plain Post", "https://plainpost.example/a", f"{H_QUOTE}, she said.")))
    stories = [Story(id=1, slug="tunnel-vote", title=H_TITLE, summary=f"{H_TITLE}.", articles=new, facts=(quote,),
                     related=(2,)),
               Story(id=2, slug="tunnel-vote-earlier", title=H_TITLE, summary="An earlier vote.",
                     articles=(art(3, H_OUTLET, "data:text/html,<script>alert(5)</script>", 60),), related=(1,))]
    feeds = [FeedStatus(url="javascript:alert(6)", name=H_OUTLET, last_error=H_TITLE, last_error_at=H_NOW, failures=1)]
    return stories, feeds, [MergedStory(id=9, slug="old-tunnel-vote", into=1)]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-site")
    stories, feeds, merged = _hostile_stories()
    build_site(stories, feeds, site_dir=tmp / "public", work_dir=tmp / "work", title=H_SITE, now=H_NOW,
               merged=merged, home_stories=1)
    slug = outlet_pages.group(feeds, stories)[0].slug
    return tmp, stories, slug


def _hostile_pages(stories, outlet_slug):
    month = render.utc(stories[1].last_published).strftime("%Y-%m")
    return {  # page -> what it must show as text
        "index.html": [H_SITE, H_TITLE, H_OUTLET],
        f"archive/{month}.html": [H_SITE, H_TITLE, H_OUTLET],
        "archive/index.html": [H_SITE],
        "outlets/index.html": [H_SITE, H_OUTLET, H_TITLE],
        f"outlets/{outlet_slug}.html": [H_SITE, H_OUTLET, H_TITLE, "javascript:alert(6)"],
        story_path(stories[0]): [H_SITE, H_TITLE, H_OUTLET, f"“{H_QUOTE}”", H_SPEAKER],
        "about.html": [H_SITE],
        "search.html": [H_SITE],
        "stories/old-tunnel-vote.html": [H_TITLE],  # a merged story's redirect page
    }


@pytest.mark.parametrize("kind", ["home", "archive month", "archive index", "outlets", "outlet", "story", "about", "search",
                                  "redirect", "search record"])
def test_hostile_title_outlet_and_quote_reach_every_page_type_as_text(hostile_site, kind):
    tmp, stories, slug = hostile_site
    pages = list(_hostile_pages(stories, slug).items())
    if kind == "search record":  # what Pagefind indexes: the same escaping
        path, literals = tmp / "work" / "search" / story_path(stories[0]), [H_TITLE, H_OUTLET]
    else:
        page, literals = pages[["home", "archive month", "archive index", "outlets", "outlet", "story", "about", "search",
                                "redirect"].index(kind)]
        path = tmp / "public" / page
    doc = lxml.html.fromstring(path.read_bytes())
    text = " ".join(doc.text_content().split())
    for literal in literals:
        assert literal in text, (kind, literal)
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag != "script" or "alert(" not in (el.text or "") + (el.get("src") or ""), (kind, el.text)
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on") and name not in _HOSTILE_WORDS, (kind, el.tag, name)  # no quote broke out
            assert not _scheme_of(value).startswith(BAD_SCHEMES), (kind, el.tag, name, value)
    if kind in ("story", "outlet"):  # the javascript: and data: links are shown as text, never linked
        assert not [a for a in doc.iter("a") if "alert" in (a.get("href") or "")]
    if kind == "story":
        assert doc.xpath("string(//h1)") == H_TITLE and H_TITLE in doc.findtext(".//title")


def test_the_hostile_site_is_inert_as_a_whole(hostile_site):
    tmp, stories, slug = hostile_site
    assert_site_inert(tmp / "public")
    assert set(_hostile_pages(stories, slug)) <= {str(p.relative_to(tmp / "public")) for p in (tmp / "public").rglob("*.html")}
