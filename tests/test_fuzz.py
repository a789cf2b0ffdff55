"""Fuzzing the pure path from feed bytes to pages: for any bytes (generated RSS/Atom/JSON feeds carrying hostile
strings, and raw bytes), parsing finishes with a ParsedFeed or a ParseError, and the pages rendered from what
was read contain no element or attribute the site's own templates do not write. One real mkdocs build over
everything generated closes the module.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
import html
from html import escape

import lxml.html
import markdown
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mkdocs.utils.meta import get_data

from monitor import facts, render, story_page
from monitor.errors import ParseError
from monitor.feeds import parse_feed
from monitor.models import Article, FeedStatus, Story
from monitor.site import build_site
from monitor.stories import _slug
from monitor.summary import headline, summarize

from .test_hostile import BAD_SCHEMES, CONTENT_ATTRS, CONTENT_TAGS, _scheme_of, assert_site_inert

NOW = datetime(2026, 11, 5, 12, 0, tzinfo=timezone.utc)
FEED_URL = "https://fuzz.example/feed.xml"
HOSTILE = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<svg onload=alert(3)>", "<iframe src=//evil.example>",
    "[x](javascript:alert(4))", "[y](JaVaScRiPt:alert(5))", "<a href='data:text/html,hi'>d</a>", "{: onclick=alert(6) }",
    '--8<-- "/etc/passwd"', "{{ config }}", "{% include 'x' %}", "| a | b |", "`tick`", "```", "**b**", "<!--", "-->",
    "<![CDATA[", "]]>", "&amp;lt;script&amp;gt;", "&#x202E;", "\u202e", "\x00", "\ufeff", "&", "<", ">", '"', "'",
    "\n---\n", "# heading", "    indented code", "<b onmouseover=alert(7)>", "<style>body{}</style>", "<form action=x>",
    "javascript:alert(8)", "data:text/html,<script>", "http://ok.example/a?b=<c>", "80% of 1,200", "“a quoted line,” she said", "\U0001F680", "\u2028", "\x85",
]
words = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30), st.sampled_from(["AI", "lab", "pause", "agents", "2026"]))
phrase = st.lists(words, max_size=6).map(" ".join)
link = st.one_of(
    st.integers(0, 50).map(lambda i: f"https://fuzz.example/a/{i}"),
    st.sampled_from(["javascript:alert(1)", "data:text/html,x", "/relative/path", "", "https://", "http://[::1", "ftp://x/y"]),
    phrase,
)
date = st.one_of(st.none(), st.sampled_from(["Tue, 03 Nov 2026 09:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "yesterday",
                                              "2026-11-03T09:00:00Z", "0001-01-01", "Sun, 01 Jan 2040 00:00:00 GMT"]))


def _x(text: str, raw: bool) -> str:
    return text if raw else escape(text, quote=False)


@st.composite
def rss_feed(draw) -> bytes:
    raw = draw(st.booleans())  # raw: hostile strings unescaped inside the XML (often not well-formed)
    items = []
    for _ in range(draw(st.integers(0, 6))):
        parts = [f"<title>{_x(draw(phrase), raw)}</title>", f"<link>{_x(draw(link), raw)}</link>"]
        if draw(st.booleans()):
            parts.append(f"<guid>{_x(draw(phrase), raw)}</guid>")
        if (d := draw(date)) is not None:
            parts.append(f"<pubDate>{d}</pubDate>")
        parts.append(f"<description>{escape(draw(phrase))}</description>")
        parts.append(f"<author>{_x(draw(phrase), raw)}</author>")
        items.append("<item>" + "".join(draw(st.permutations(parts))) + "</item>")
    doc = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{_x(draw(phrase), raw)}</title>{"".join(items)}</channel></rss>'
    data = doc.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):  # cut it short
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def atom_feed(draw) -> bytes:
    entries = "".join(
        f'<entry><title type="html">{escape(draw(phrase))}</title><link href="{escape(draw(link), quote=True)}"/>'
        f"<id>{escape(draw(phrase))}</id><updated>{draw(date) or ''}</updated>"
        f'<summary type="html">{escape(draw(phrase))}</summary><author><name>{escape(draw(phrase))}</name></author></entry>'
        for _ in range(draw(st.integers(0, 5))))
    return (f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(draw(phrase))}</title>{entries}</feed>').encode("utf-8", "surrogatepass")


@st.composite
def json_feed(draw) -> bytes:
    items = [{"id": draw(st.one_of(phrase, st.integers(), st.none())), "url": draw(link), "title": draw(phrase),
              "content_html": draw(phrase), "date_published": draw(date), "authors": [{"name": draw(phrase)}]}
             for _ in range(draw(st.integers(0, 5)))]
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": draw(phrase), "items": items}
    return json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


feed_bytes = st.one_of(rss_feed(), atom_feed(), json_feed(), st.binary(max_size=600),
                       st.tuples(rss_feed(), st.binary(min_size=1, max_size=20), st.integers(0, 400)).map(
                           lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:]))

GENERATED: list[Story] = []


def _stories(parsed) -> list[Story]:
    articles = [
        Article(url=e.link, title=e.title or e.link, source=parsed.title or "fuzz.example", published=e.published or NOW,
                urls=(e.link,), summary=e.summary, text=e.summary, author=e.author, id=1000 * len(GENERATED) + i,
                relevant=True, feed_url=FEED_URL)
        for i, e in enumerate(parsed.entries)
    ]
    if not articles:
        return []
    sid = len(GENERATED) + 1
    title = headline(articles)
    return [Story(id=sid, slug=_slug(sid, title), title=title, summary=summarize(articles), articles=tuple(articles),
                  facts=facts.story_facts(articles))]


def _check_html(md_text: str) -> None:
    body, meta = get_data(md_text)  # as mkdocs reads it: the front matter must parse, or it shows as text
    assert set(meta) == {"title", "hide"}, md_text[:300]
    html = markdown.markdown(body, extensions=["toc"])
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        assert el.tag.lower() in CONTENT_TAGS | {"article"}, (el.tag, html[:2000])
        for name, value in el.attrib.items():
            assert name.lower() in CONTENT_ATTRS and not name.lower().startswith("on"), (el.tag, name)
            if name.lower() in ("href", "src"):
                assert not _scheme_of(value).startswith(BAD_SCHEMES), value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(feed_bytes)
def test_any_feed_bytes_parse_or_fail_cleanly_and_render_inert(content):
    try:
        parsed = parse_feed(content, url=FEED_URL, now=NOW, max_entries=10)
    except ParseError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(FEED_URL)
        return
    for e in parsed.entries:
        assert e.link.startswith(("http://", "https://")) and "\x00" not in e.title + e.summary + (e.author or "")
        assert e.published is None or e.published <= NOW.replace(day=NOW.day + 1)
    for story in _stories(parsed):
        _check_html(story_page.story_md(story, []))
        _check_html(render.home_md([story], {story.id: "stories/x.html"}, title=story.title, latest=NOW, volume_svg="",
                                   months=[], total=1, top=[story]))
        GENERATED.append(story)


def test_one_real_build_over_everything_generated(tmp_path):
    if len(GENERATED) < 5:
        pytest.skip("run together with the fuzz test")
    stories = GENERATED[:120]
    feeds = [FeedStatus(url=FEED_URL, name=stories[0].articles[0].source, last_error="<script>alert(9)</script>",
                        last_error_at=NOW, failures=1)]
    build_site(stories, feeds, site_dir=tmp_path / "site", work_dir=tmp_path / "work", title="Fuzz <b>monitor</b>", now=NOW)
    texts = assert_site_inert(tmp_path / "site")
    assert any("Fuzz <b>monitor</b>" in t for t in texts)
    data = json.loads((tmp_path / "site" / "stories.json").read_text())
    assert len(data["stories"]) == len(stories)


@settings(max_examples=200, deadline=None)
@given(st.lists(words, max_size=8).map(" ".join))
def test_the_templates_escaping_is_inert_one_line_text_that_reads_back_as_the_input(text):
    out = render.esc(text)
    assert not set(out) & set("<>\"'`{}[]()|*_\\~\n\t\r") and "  " not in out
    assert html.unescape(out) == " ".join(text.split())  # the same words, whitespace flattened
    assert str(render.TEMPLATES.from_string("<p>{{ v }}</p>").render(v=text)) == f"<p>{out}</p>"  # the default
