"""Hostile input end to end: feeds and pages written by strangers go through a whole run (fetch -> store ->
site) and what a user sees is checked: the database, the feed health, the built HTML.

One module-scoped pair of runs serves most tests (a run costs a site build): run 1 reads every hostile feed,
run 2 (two hours later) serves a truncated feed and an anti-bot page where good feeds were.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import zlib
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import lxml.html
import pytest

import monitor.fetch
from monitor import charts, ingest, outlet_pages, render, search
from monitor.config import load_config
from monitor.loopback import LoopbackServer, Route
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

_SOURCES = "\n".join(Path(m.__file__).read_text() for m in (render, charts, outlet_pages, search))
# Every element and attribute the site's own templates write into a page's content (plus the heading
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
            assert refresh.get("http-equiv").lower() != "refresh", meta
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
    patch.setattr(ingest, "EXTRACT_TIMEOUT", 2.0)
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
        assert store.rows("SELECT count(*) FROM entries WHERE feed_url LIKE '%nasty.rss'")[0][0] == 7


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
        row = store.rows("SELECT attempts, last_error FROM articles WHERE id = ?", (runaway.id,))[0]
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
        rows = store.rows("SELECT url, extracted, summary, last_error FROM articles")
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
    monkeypatch.setattr(ingest, "FETCH_DEADLINE", 2.0)
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
