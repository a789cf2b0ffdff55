"""An invented archive for the site tests and screenshots: stories, facts, syndicated copies, hostile text.

Every outlet, person, event and sentence here is made up.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.models import Article, Evidence, Fact, FeedStatus, Story

NOW = datetime(2026, 10, 14, 12, 30, tzinfo=timezone.utc)
FULLTEXT_MARKER = "PRIVATE-FULL-TEXT-BEYOND-THE-EXCERPT"
HOSTILE_TITLE = "<script>alert('t')</script> Lab <img src=x onerror=alert(2)> says | pipes | `ticks` {{ config }}"
HOSTILE_EXCERPT = ('<svg onload=alert(3)> <iframe src="https://evil.example/"></iframe> [click](javascript:alert(4)) '
                   '{: onclick=alert(5) } --8<-- "/etc/passwd" {% include "base.html" %} **bold** <b>b</b>')
HOSTILE_AUTHOR = "<script>alert('a')</script>Eve [x](javascript:alert(6))"

OUTLETS = {
    "Meridian Ledger": "https://meridian-ledger.example",
    "Harbor Tech Daily": "https://harbortech.example",
    "Northwind Wire": "https://northwind-wire.example",
    "Civic Signal": "https://civicsignal.example",
    "Orbit Review": "https://orbit-review.example",
    "Lakeside Chronicle": "https://lakeside-chronicle.example",
    "Pacific Briefing": "https://pacificbriefing.example",
}

_BODY = ("The announcement came after weeks of speculation among researchers who follow the field closely. "
         "Several people familiar with the work described the results as a meaningful step, while others urged "
         "caution until independent groups can reproduce the findings and examine the methods in detail. "
         "Officials declined to say when a fuller account would be published. ") * 2 + FULLTEXT_MARKER


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in s.lower()).strip("-")[:60]


class _Ids:
    n = 100

    def __call__(self) -> int:
        self.n += 1
        return self.n


def _article(ids: _Ids, source: str, hours_ago: float, title: str, summary: str = "", *, author: str | None = None,
             duplicate_of: int | None = None, url: str | None = None) -> Article:
    aid = ids()
    return Article(url=url or f"{OUTLETS[source]}/news/{aid}-{_slug(title)}", title=title, source=source,
                   published=NOW - timedelta(hours=hours_ago), urls=(f"{OUTLETS[source]}/amp/{aid}",),
                   text=_BODY, summary=summary, author=author, id=aid, relevant=True, duplicate_of=duplicate_of,
                   feed_url=f"{OUTLETS[source]}/feed.xml")


def _fact(kind: str, text: str, evidence: list[tuple[str, str, str]]) -> Fact:
    return Fact(kind=kind, key=text.lower(), text=text, outlets=tuple(dict.fromkeys(e[0] for e in evidence)),
                evidence=tuple(Evidence(source=s, url=u, sentence=t) for s, u, t in evidence))


def fixture_archive() -> tuple[list[Story], list[FeedStatus]]:
    """Nine stories over five weeks (two in the archive), one hostile, with facts, copies and related links."""
    ids = _Ids()
    a = [
        _article(ids, "Harbor Tech Daily", 9.5, "Lab's model rewrote parts of its own training code, cutting compute by 40%",
                 "Engineers at Quillfeather Labs said an internal model proposed changes to its training pipeline "
                 "that cut the compute needed for a run by 40 percent.", author="Dana Okafor"),
        _article(ids, "Northwind Wire", 8.7, "AI system trims its own training bill by 40%, company says",
                 "A model at Quillfeather Labs suggested edits to its training code that the company says reduced "
                 "compute use by 40%; staff reviewed every change before it ran.", author="Luis Brandt"),
        _article(ids, "Meridian Ledger", 7.9, "Quillfeather's self-editing model: what we know",
                 "The lab says the model's changes were reviewed by 12 engineers and that the 40% saving held across "
                 "three runs. Critics ask for outside audits.", author="Priya Raman"),
        _article(ids, "Civic Signal", 6.0, "Regulators ask Quillfeather for details on self-modifying model",
                 "Two regulators wrote to the company asking how the changes were reviewed. The lab repeated that "
                 "12 engineers checked the code.", author=None),
        _article(ids, "Orbit Review", 3.2, "Why a 40% training saving worries safety researchers",
                 "", author="Mara Lindqvist"),
    ]
    copy = _article(ids, "Lakeside Chronicle", 8.2, "AI system trims its own training bill by 40%, company says",
                    a[1].summary, author="Luis Brandt", duplicate_of=a[1].id)
    s1 = Story(id=1, slug="lab-model-rewrote-its-own-training-code", title=a[0].title,
               summary="Quillfeather Labs says an internal model proposed changes to its own training code that "
                       "cut compute by 40%, with every change reviewed by engineers. Regulators have asked for "
                       "details and safety researchers call for independent audits.",
               articles=tuple(sorted(a + [copy], key=lambda x: x.published)),
               facts=(
                   _fact("figure", "40%", [(x.source, x.url, f"The change cut compute by 40% ({x.source}).")
                                           for x in (a[0], a[1], a[2], a[4])]),
                   _fact("figure", "12 engineers", [(a[2].source, a[2].url, "The changes were reviewed by 12 engineers."),
                                                    (a[3].source, a[3].url, "The lab said 12 engineers checked the code.")]),
                   _fact("quote", "we did not expect it to find that shortcut",
                         [(a[0].source, a[0].url, "“We did not expect it to find that shortcut,” the lead engineer said."),
                          (a[1].source, a[1].url, "The lead engineer said: “we did not expect it to find that shortcut.”"),
                          (a[2].source, a[2].url, "“We did not expect it to find that shortcut,” she told reporters.")]),
                   _fact("figure", "three runs", [(a[2].source, a[2].url, "The saving held across three runs.")]),
               ), related=(2, 3))
    b = [
        _article(ids, "Meridian Ledger", 30, "Open letter urging six-month pause on frontier training passes 12,000 signatures",
                 "An open letter asking the largest labs to pause training of frontier systems for six months has "
                 "gathered more than 12,000 signatures.", author="Tom Ashby"),
        _article(ids, "Civic Signal", 27, "Pause letter tops 12,000 names as lawmakers take note",
                 "Lawmakers in two countries cited the letter, which calls for a six-month pause.", author="Ines Moreau"),
        _article(ids, "Pacific Briefing", 22, "Scientists split over six-month pause call",
                 "Some signatories say a six-month pause is too short; others say it is unworkable.", author=None),
        _article(ids, "Orbit Review", 20, "The pause letter, explained", "What the letter asks for, who signed it and "
                 "what would happen next.", author="Mara Lindqvist"),
    ]
    s2 = Story(id=2, slug="pause-letter-passes-12000-signatures", title=b[0].title,
               summary="An open letter calling for a six-month pause on training the most capable AI systems passed "
                       "12,000 signatures; lawmakers cited it and scientists disagree on whether a pause could work.",
               articles=tuple(b),
               facts=(_fact("figure", "six months", [(x.source, x.url, "The letter asks for a six-month pause.") for x in b]),
                      _fact("figure", "12,000 signatures", [(x.source, x.url, "It has more than 12,000 signatures.")
                                                            for x in b[:2]])),
               related=(1,))
    c = [_article(ids, "Civic Signal", 52, "Senate panel schedules hearing on self-improving AI",
                  "A committee will hear from four researchers on the risks of systems that improve themselves.",
                  author="Ines Moreau"),
         _article(ids, "Northwind Wire", 50, "Lawmakers to question researchers on recursive self-improvement",
                  "The hearing, set for next month, will include four invited researchers.", author="Luis Brandt"),
         _article(ids, "Pacific Briefing", 47, "Hearing on self-improving AI set for November", "", author=None)]
    s3 = Story(id=3, slug="senate-hearing-self-improving-ai", title=c[0].title,
               summary="A Senate committee will hold a hearing next month with four researchers on self-improving AI.",
               articles=tuple(c), facts=(_fact("figure", "four researchers", [(x.source, x.url, "Four researchers will testify.")
                                                                               for x in c[:2]]),), related=(1,))
    d = [_article(ids, "Orbit Review", 4.5, HOSTILE_TITLE, HOSTILE_EXCERPT, author=HOSTILE_AUTHOR,
                  url="https://orbit-review.example/news/hostile?a=1&b=<2>"),
         _article(ids, "Harbor Tech Daily", 4.0, "A second report [link](javascript:alert(7))", "JaVaScRiPt and data links",
                  url="JaVaScRiPt:alert(8)"),
         _article(ids, "Meridian Ledger", 3.9, "A third report", "", url="data:text/html,<script>alert(9)</script>")]
    s4 = Story(id=4, slug="hostile-<script>-story", title=HOSTILE_TITLE, summary=HOSTILE_EXCERPT, articles=tuple(d),
               facts=(_fact("quote", "<script>alert(10)</script>", [(x.source, x.url, HOSTILE_EXCERPT) for x in d[:2]]),))
    more = []
    for i, (hours, src, title, summ) in enumerate([
        (70, ["Harbor Tech Daily", "Orbit Review"], "Startup releases benchmark for models that improve their own code",
         "The benchmark scores how well a model can make measured improvements to its own tooling."),
        (96, ["Pacific Briefing", "Meridian Ledger", "Civic Signal"], "Three labs agree to share evaluations before release",
         "The labs will give an independent institute access to test results 30 days before launch."),
        (120, ["Northwind Wire"], "Researchers publish guide to pausing a training run safely",
         "A short guide lists the checks a team should make before and after stopping a large run."),
        (24 * 16, ["Civic Signal", "Meridian Ledger"], "Parliament debates moratorium on frontier models",
         "Members argued for two hours over a proposed moratorium; no vote was held."),
        (24 * 40, ["Orbit Review", "Harbor Tech Daily"], "Lab publishes its first self-improvement safety policy",
         "The policy sets limits on automated changes to training code."),
    ]):
        arts = tuple(_article(ids, s, hours - j * 1.5, title if j == 0 else f"{title} ({s})", summ) for j, s in enumerate(src))
        more.append(Story(id=10 + i, slug=_slug(title), title=title, summary=summ, articles=arts))
    stories = [s1, s2, s3, s4, *more]
    feeds = [FeedStatus(url=f"{u}/feed.xml", name=n, last_success=NOW - timedelta(minutes=20), next_due=NOW + timedelta(minutes=40),
                        articles=sum(1 for s in stories for x in s.articles if x.source == n)) for n, u in OUTLETS.items()]
    feeds[4] = FeedStatus(url=feeds[4].url, name=feeds[4].name, last_success=NOW - timedelta(days=2),
                          last_error="HTTP 503 <b>Service Unavailable</b>", last_error_at=NOW - timedelta(hours=1),
                          failures=3, next_due=NOW + timedelta(hours=4), articles=feeds[4].articles)
    feeds.append(FeedStatus(url="javascript:alert(11)", name="<img src=x onerror=alert(12)> Bad Feed"))
    # a second feed of one outlet (same host, name spelled differently) and a feed read only in part
    feeds.append(FeedStatus(url="https://harbortech.example/policy/rss", name="harbor  tech daily",
                            last_success=NOW - timedelta(minutes=20), articles=0))
    feeds.append(FeedStatus(url="https://pacificbriefing.example/partial.xml", name="Pacific Briefing",
                            last_success=NOW - timedelta(minutes=20), last_error_at=NOW - timedelta(minutes=20),
                            last_error="partly read: mismatched tag at line 40"))
    return stories, feeds


# ---------------------------------------------------------------- tests

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import dataclasses  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402
from xml.etree import ElementTree as ET  # noqa: E402

import lxml.html  # noqa: E402
import pytest  # noqa: E402

import monitor.site as site_mod  # noqa: E402
from monitor.errors import BuildError  # noqa: E402
from monitor.site import build_site, stories_json, story_path  # noqa: E402

BASE = "https://news.example.org/ai/"
REL = {"nofollow", "noopener", "noreferrer"}


HOME = 7  # the fixture's latest 7 stories on the home page, the 2 oldest in the archive


def _build(tmp: Path, stories, feeds, **kw) -> Path:
    site = tmp / "public"
    build_site(stories, feeds, site_dir=site, work_dir=tmp / "work", title="AI Pause Watch", now=NOW,
               base_url=kw.pop("base_url", BASE), home_stories=kw.pop("home_stories", HOME), **kw)
    return site


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    stories, feeds = fixture_archive()
    tmp = tmp_path_factory.mktemp("site")
    return _build(tmp, stories, feeds), stories, feeds


def _content(path: Path):
    """The page's article (what the Markdown produced), parsed."""
    doc = lxml.html.fromstring(path.read_bytes())
    return doc, doc.xpath("//article[contains(@class, 'md-content__inner')]")[0]


def _text(el) -> str:
    return " ".join(el.text_content().split())


def test_pages_exist_where_story_path_says(built):
    site, stories, _ = built
    for s in stories:
        page = site / story_path(s)
        assert page.is_file(), page
    assert story_path(stories[3]) == "stories/hostile-script-story.html"
    for p in ("index.html", "outlets/index.html", "about.html", "archive/index.html", "archive/2026-09.html",
              "search.html", "pagefind/pagefind.js", "sitemap.xml", "404.html"):
        assert (site / p).is_file(), p
    assert not (site / "search/search_index.json").exists()  # no whole-site index on every first visit
    assert not (site / "archive/2026-10.html").exists()  # this month's stories are all on the home page
    # served for any missing address under the site's subpath: its assets and links carry the subpath
    doc = lxml.html.fromstring((site / "404.html").read_bytes())
    refs = doc.xpath("//link[@rel='stylesheet']/@href | //script/@src | //a[@href]/@href")
    local = [r for r in refs if "://" not in r or r.startswith(BASE)]
    assert local and all(r.startswith(("/ai/", BASE)) for r in local), local


def test_installation_id_is_made_once_and_kept(tmp_path):
    from monitor.store import Store

    with Store.open(tmp_path / "m.sqlite3") as store:
        first = store.installation_id("2026-10-01")
        assert first == store.installation_id("2027-01-01") and first.startswith("2026-10-01:")
    with Store.open(tmp_path / "m.sqlite3") as store:
        assert store.installation_id("2030-01-01") == first
    with Store.open(tmp_path / "other.sqlite3") as store:
        assert store.installation_id("2026-10-01") != first


def _filled_marks(row) -> int:
    """The filled marks of a row's outlet meter: one closed shape each in the filled path."""
    return sum(d.count("z") for d in row.xpath(".//*[@class='mn-mark']/@d"))


def test_home_shows_the_latest_stories_by_day_biggest_first(built):
    site, stories, _ = built
    _, body = _content(site / "index.html")
    river = body.xpath(".//section[@class='mn-day']")
    titles = [_text(a) for d in river for a in d.xpath(".//h3[@class='mn-row__title']/a")]
    latest = sorted(stories, key=lambda s: s.last_published, reverse=True)[:HOME]
    assert sorted(titles) == sorted(" ".join(s.title.split()) for s in latest)
    assert "Parliament debates moratorium" not in _text(body)  # older than the latest 7: in the archive
    days = [_text(h) for h in body.xpath(".//h2[@class='mn-day__title']")]
    assert days[0] == "Wednesday 14 October 2026" and len(days) == len(set(days))
    today = [_text(a) for a in river[0].xpath(".//h3/a")]
    # the 5-outlet story comes before the later 3-outlet hostile story of the same day
    assert today[0] == " ".join(stories[0].title.split()) and HOSTILE_TITLE in today[1]
    first = river[0].xpath(".//article[@class='mn-row']")[0]
    assert "5 outlets" in _text(first)  # Lakeside Chronicle carries a copy: not an outlet of its own
    assert "First reported 14 Oct 2026, 03:00 UTC · 6 articles" in _text(first)
    assert first.xpath(".//svg[@class='mn-meter-svg']/@aria-label") == ["5 independent outlets on a scale of 10"]
    assert _filled_marks(first) == 5
    single = [r for d in river for r in d.xpath(".//article") if "Researchers publish guide" in _text(r)][0]
    assert "1 outlet ·" in _text(single) and _filled_marks(single) == 1
    top = body.xpath(".//section[@class='mn-top']")[0]
    assert _text(top.xpath("h2")[0]) == "Top stories this week"
    top_titles = [_text(a) for a in top.xpath(".//h3/a")]
    assert top_titles[0] == " ".join(stories[0].title.split())
    assert "Researchers publish guide to pausing a training run safely" not in top_titles  # one outlet
    assert body.xpath(".//svg[contains(@class, 'mn-volume')]")
    href = body.xpath(".//h3[@class='mn-row__title']/a/@href")[0]
    assert (site / href).is_file()
    _, arch = _content(site / "archive/2026-09.html")
    assert "Parliament debates moratorium" in _text(arch)
    assert (site / "archive" / arch.xpath(".//h3/a/@href")[0]).resolve().is_file()


def test_home_story_count_is_configurable(tmp_path):
    stories, feeds = fixture_archive()
    site = _build(tmp_path, stories, feeds, home_stories=50)
    _, body = _content(site / "index.html")
    assert len(body.xpath(".//section[@class='mn-day']//article")) == len(stories)  # 40 days old or not
    assert "No older stories yet." in _text(body)


def test_story_page_shows_agreed_facts_timeline_copies_related(built):
    site, stories, _ = built
    s1 = stories[0]
    _, body = _content(site / story_path(s1))
    text = _text(body)
    assert "What the coverage agrees on" in text
    facts = body.xpath(".//li[contains(@class, 'mn-fact ')]")
    counts = [_text(f.xpath(".//p[@class='mn-fact__count']")[0]) for f in facts]
    # 40%: 4 outlets of the story's 5 independent ones (a sixth only carries a syndicated copy: it adds none)
    assert counts[0] == "reported by 4 of 5 outlets"
    assert "reported by 3 of 5 outlets" in counts and "reported by 2 of 5 outlets" in counts
    assert "5 outlets · 5 articles" in text  # six stored articles, one of them the copy
    assert len(facts) == 3  # "three runs" has one outlet: not agreed
    ev = facts[0].xpath(".//a[@class='mn-fact__outlet']")
    assert [_text(x) for x in ev] == ["Harbor Tech Daily", "Northwind Wire", "Meridian Ledger", "Orbit Review"]
    assert "The change cut compute by 40% (Harbor Tech Daily)." in _text(facts[0])
    items = body.xpath(".//ol[@class='mn-tl']/li")
    outlets = [_text(i.xpath(".//strong[@class='mn-tl__outlet']")[0]) for i in items]
    assert outlets == ["Harbor Tech Daily", "Northwind Wire", "Meridian Ledger", "Civic Signal", "Orbit Review"]
    copies = items[1].xpath(".//ul[@class='mn-tl__copies']/li")
    assert len(copies) == 1 and "Lakeside Chronicle" in _text(copies[0])
    assert "by Dana Okafor" in _text(items[0])
    assert body.xpath(".//svg[@class='mn-chart']")
    related = body.xpath(".//section[@class='mn-related']//a/@href")
    assert related == ["../" + story_path(stories[1]), "../" + story_path(stories[2])]
    for r in related:
        assert (site / story_path(s1)).parent.joinpath(r).resolve().is_file()


def test_outlets_index_lists_outlets_not_feeds(built):
    site, _, feeds = built
    _, body = _content(site / "outlets/index.html")
    rows = {_text(r.xpath("th")[0]): [_text(c) for c in r.xpath("td")] for r in body.xpath(".//tbody/tr")}
    names = [n.split(" ")[0:2] for n in rows]
    assert len(rows) == len({tuple(n) for n in names})  # each outlet once
    harbor = [v for k, v in rows.items() if k.startswith("Harbor Tech Daily")]
    assert len(harbor) == 1 and harbor[0][0] == "2"  # its two feeds, one outlet
    assert "Orbit Review failing (3 failures)" in rows
    assert "Pacific Briefing 1 of 2 feeds: read partly" in rows
    assert "Meridian Ledger healthy" in rows
    assert rows["Meridian Ledger healthy"][1:3] == ["5", "5"]  # articles, stories
    assert "<img src=x onerror=alert(12)> Bad Feed not fetched yet" in rows


def test_outlet_page_has_its_feeds_stories_and_articles_over_time(built):
    site, stories, _ = built
    _, body = _content(site / "outlets/harbor-tech-daily.html")
    cards = {_text(c.xpath(".//h3")[0]): c for c in body.xpath(".//article[@class='mn-outlet']")}
    assert set(cards) == {"Harbor Tech Daily healthy", "harbor tech daily healthy"}
    assert body.xpath(".//svg[contains(@class, 'mn-volume')]")
    listed = [_text(a) for a in body.xpath(".//ul[@class='mn-outlet__latest']/li/a")]
    assert listed[0] == " ".join(stories[0].title.split()) and len(listed) == 4
    for href in body.xpath(".//ul[@class='mn-outlet__latest']/li/a/@href"):
        assert (site / "outlets" / href).resolve().is_file()
    _, pacific = _content(site / "outlets/pacific-briefing.html")
    partial = [c for c in pacific.xpath(".//article[@class='mn-outlet']") if "partial.xml" in _text(c)][0]
    assert "read partly" in _text(partial) and "mismatched tag at line 40" in _text(partial)
    assert "healthy" not in _text(partial.xpath(".//h3")[0])
    _, orbit = _content(site / "outlets/orbit-review.html")
    card = orbit.xpath(".//article[@class='mn-outlet']")[0]
    fields = dict(zip((_text(x) for x in card.xpath(".//dt")), (_text(x) for x in card.xpath(".//dd"))))
    assert fields["Last error"].startswith("HTTP 503 <b>Service Unavailable</b>")
    assert fields["Next fetch"] == "14 Oct 2026, 16:30 UTC (backing off after 3 failures)"


def test_stories_json_schema(built):
    site, stories, _ = built
    data = json.loads((site / "stories.json").read_text())
    assert set(data) == {"generated", "stories"}
    assert data["generated"].endswith("Z")
    assert data == {**stories_json(stories, now=NOW, base_url=BASE), "generated": data["generated"]}
    assert len(data["stories"]) == len(stories)
    for s in data["stories"]:
        # the original keys stay (docs/stories-json.md lists all keys; tests/test_story_page.py checks it)
        assert {"id", "title", "first_published", "last_published", "page", "sources", "articles"} <= set(s)
        assert "merged" in s
        assert s["page"].startswith(BASE + "stories/")
        for a in s["articles"]:
            assert {"url", "urls", "title", "source", "published", "excerpt"} <= set(a)
            assert len(a["excerpt"].split()) <= 60
    last = [s["last_published"] for s in data["stories"]]
    assert last == sorted(last, reverse=True)


def test_feed_xml_is_atom_with_absolute_links(built):
    site, stories, _ = built
    root = ET.parse(site / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = root.findall("a:entry", ns)
    assert len(entries) == len(stories)
    links = [e.find("a:link", ns).get("href") for e in entries]
    assert all(h.startswith(BASE + "stories/") for h in links)
    assert HOSTILE_TITLE in [e.find("a:title", ns).text for e in entries]
    assert [x.get("href") for x in root.findall("a:link[@rel='self']", ns)] == [BASE + "feed.xml"]
    summary = entries[0].find("a:summary", ns).text
    assert "Reported by 5 outlets:" in summary and "Lakeside Chronicle" not in summary


def test_atom_ids_stay_when_site_url_changes(tmp_path):
    stories, feeds = fixture_archive()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    ids = []
    for i, base in enumerate((None, BASE, "https://elsewhere.example/watch/")):
        site = _build(tmp_path / str(i), stories, feeds, base_url=base, installation="2026-10-01:5f3a9c")
        root = ET.parse(site / "feed.xml").getroot()
        ids.append([e.find("a:id", ns).text for e in root.findall("a:entry", ns)])
        assert bool(root.findall("a:link[@rel='self']", ns)) == (base is not None)
    assert ids[0] == ids[1] == ids[2]
    assert ids[0][0] == "tag:monitor.invalid,2026-10-01:5f3a9c/story/1"
    assert len(set(ids[0])) == len(stories)


def test_hostile_text_is_visible_and_inert(built):
    site, stories, _ = built
    hostile = stories[3]
    doc, body = _content(site / story_path(hostile))
    text = body.text_content()
    for s in (HOSTILE_TITLE, "[click](javascript:alert(4))", "{: onclick=alert(5) }", '--8<-- "/etc/passwd"',
              '{% include "base.html" %}', "**bold** <b>b</b>", "<svg onload=alert(3)>", "Eve [x](javascript:alert(6))"):
        assert s in " ".join(text.split()), s
    assert HOSTILE_TITLE in doc.xpath("//title")[0].text_content()
    for page in site.rglob("*.html"):
        doc = lxml.html.fromstring(page.read_bytes())
        for art in doc.xpath("//article[contains(@class, 'md-content__inner')]"):
            assert not art.xpath(".//script | .//iframe | .//img | .//b | .//strong[contains(., 'bold')]"), page
            assert not art.xpath(".//svg[not(contains(@class, 'mn-'))]"), page
            for el in art.iter():
                assert not [k for k in el.attrib if k.lower().startswith("on")], (page, el.tag, el.attrib)
        scripts = doc.xpath("//script")
        assert all("alert" not in (s.text or "") and "alert" not in (s.get("src") or "") for s in scripts), page
    assert "root:x:0" not in "".join(p.read_text(errors="replace") for p in site.rglob("*.html"))


def test_links_are_http_with_rel(built):
    site, _, _ = built
    seen = 0
    for page in site.rglob("*.html"):
        if page.name == "404.html":
            continue  # served at any depth: its links start from the site's root (test_pages_exist_where_story_path_says)
        doc, body = _content(page) if "md-content__inner" in page.read_text() else (None, None)
        if body is None:
            continue
        for a in body.xpath(".//a[@href]"):
            href = a.get("href")
            low = href.strip().lower()
            assert not low.startswith(("javascript:", "data:", "vbscript:")), (page, href)
            if "://" in href:
                assert low.startswith(("http://", "https://")), href
                assert set(a.get("rel", "").split()) == REL, (page, href)
                seen += 1
            else:
                target = (page.parent / href.split("#")[0]).resolve()
                assert target.is_file(), (page, href)  # a page, never a folder: the site opens from disk
    assert seen > 20
    _, body = _content(site / "stories/hostile-script-story.html")
    assert "A second report" in _text(body) and not body.xpath(".//a[contains(., 'A second report')]")


def test_only_excerpts_are_published(built):
    site, _, _ = built
    for f in site.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".json", ".xml"):
            assert FULLTEXT_MARKER not in f.read_text(errors="replace"), f


def test_search_records_cover_every_story_with_its_filters(built):
    site, stories, _ = built
    records = site.parent / "work" / "search"
    for s in stories:
        doc = lxml.html.fromstring((records / story_path(s)).read_bytes())
        assert doc.xpath("//h1[@data-pagefind-meta='title']")[0].text_content() == " ".join(s.title.split())
        assert doc.xpath("//*[@data-pagefind-meta='date']")[0].text_content().startswith("First reported ")
        assert set(doc.xpath("//*[@data-pagefind-filter='outlet']/text()")) == set(s.sources)
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] == len(stories)
    assert (site / "pagefind" / "filter").is_dir()


def _change_story(story: Story, title: str) -> Story:
    extra = _article(_Ids(), "Pacific Briefing", 0.5, "Late report on the lab's model", "A late summary.")
    return Story(id=story.id, slug=story.slug, title=title, summary=story.summary,
                 articles=story.articles + (extra,), facts=story.facts, related=story.related)


def test_incremental_build_updates_one_page_and_keeps_the_others(tmp_path):
    stories, feeds = fixture_archive()
    site = _build(tmp_path, stories, feeds)
    other = site / story_path(stories[4])  # unrelated to story 1
    before = other.read_bytes(), os.stat(other).st_ino
    stories[0] = _change_story(stories[0], "Quillfeather model story, updated")
    _build(tmp_path, stories, feeds, changed={stories[0].id})
    _, body = _content(site / story_path(stories[0]))
    assert "Quillfeather model story, updated" in _text(body)
    assert "Late report on the lab's model" in _text(body)
    assert other.read_bytes() == before[0]
    assert os.stat(other).st_ino == before[1]  # hard-linked from the previous site, not rebuilt
    related = _content(site / story_path(stories[1]))[1]  # lists story 1: rebuilt too
    assert "Quillfeather model story, updated" in _text(related.xpath(".//section[@class='mn-related']")[0])
    _, home = _content(site / "index.html")
    assert _text(home.xpath(".//h3[@class='mn-row__title']")[0]) == "Quillfeather model story, updated"
    data = json.loads((site / "stories.json").read_text())
    assert data["stories"][0]["title"] == "Quillfeather model story, updated"
    # the unchanged stories' entries, taken from the last stories.json, are what a full build writes
    assert data["stories"] == stories_json(stories, now=NOW, base_url=BASE)["stories"]
    records = tmp_path / "work" / "search"
    assert "Quillfeather model story, updated" in (records / story_path(stories[0])).read_text()
    assert (records / story_path(stories[4])).is_file()
    # a story that is gone loses its page and its search record
    gone = stories.pop(2)
    _build(tmp_path, stories, feeds, changed=set())
    assert not (site / story_path(gone)).exists() and not (records / story_path(gone)).exists()
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text())
    assert entry["languages"]["en"]["page_count"] == len(stories)
    assert not list(tmp_path.glob(".public.tmp-*")) and not list((tmp_path / "work").glob("stage-*"))


def _refresh_target(page: Path) -> Path:
    html = page.read_text()
    href = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html).group(1)
    assert f'<a href="{href}">' in html and not href.startswith(("/", "http"))  # relative: file:// and any subpath
    return (page.parent / href).resolve()


def test_old_folder_addresses_and_merged_stories_redirect_to_the_page(tmp_path):
    from monitor.models import MergedStory

    stories, feeds = fixture_archive()
    merged = [MergedStory(id=900, slug="900-an-absorbed-story", into=stories[0].id)]
    site = _build(tmp_path, stories, feeds, merged=merged)
    for s in stories:  # the address every story had before pages became files: stories/<slug>/index.html
        old = site / story_path(s)[:-len(".html")] / "index.html"
        assert _refresh_target(old) == (site / story_path(s)).resolve(), old
    for address in ("stories/900-an-absorbed-story.html", "stories/900-an-absorbed-story/index.html"):
        assert _refresh_target(site / address) == (site / story_path(stories[0])).resolve()
    sitemap = (site / "sitemap.xml").read_text()
    assert "/stories/" in sitemap and not re.search(r"stories/[^<]*/index\.html|900-an-absorbed", sitemap)  # not pages
    # a story that is gone takes its old address with it; the others keep theirs (incremental build)
    gone = stories.pop(2)
    _build(tmp_path, stories, feeds, merged=merged, changed=set())
    assert not (site / story_path(gone)[:-len(".html")]).exists()
    assert (site / story_path(stories[2])[:-len(".html")] / "index.html").is_file()


def test_a_hostile_headline_and_outlet_reach_the_templated_pages_escaped(tmp_path):
    """Redirect pages and search records come from autoescaping templates: markup in a headline or an outlet
    name arrives as text, whatever the template forgot to say."""
    from monitor.models import MergedStory

    stories, feeds = fixture_archive()
    bad_outlet = "Orbit <b onmouseover=alert(3)>Review</b> & {{ co }}"
    first, *rest = stories[3].articles
    hostile = stories[3] = dataclasses.replace(stories[3], articles=(dataclasses.replace(first, source=bad_outlet), *rest))
    assert bad_outlet in hostile.sources
    merged = [MergedStory(id=901, slug="901-gone", into=hostile.id)]
    site = _build(tmp_path, stories, feeds, merged=merged)
    pages = [site / "stories/901-gone.html", site / story_path(hostile)[:-len(".html")] / "index.html",
             tmp_path / "work" / "search" / story_path(hostile)]
    for page in pages:
        html = page.read_text()
        doc = lxml.html.fromstring(html)
        assert not doc.xpath("//script | //img | //b | //iframe | //*[@onerror] | //*[@onmouseover]"), page
        assert HOSTILE_TITLE in " ".join(doc.text_content().split()), page
    record = lxml.html.fromstring(pages[-1].read_text())
    assert [e.text for e in record.xpath("//*[@data-pagefind-filter='outlet']")] == list(hostile.sources)
    assert bad_outlet in record.xpath("//*[@data-pagefind-meta='outlets']")[0].text_content()


def test_nothing_changed_means_no_build(tmp_path):
    stories, feeds = fixture_archive()
    site = _build(tmp_path, stories, feeds)
    stamp = (site / ".monitor-build").read_text()
    ino = os.stat(site).st_ino
    _build(tmp_path, stories, feeds, changed=set())
    assert (site / ".monitor-build").read_text() == stamp and os.stat(site).st_ino == ino
    feeds[0] = FeedStatus(url=feeds[0].url, name=feeds[0].name, last_error="timeout", failures=1)
    _build(tmp_path, stories, feeds, changed=set())
    assert (site / ".monitor-build").read_text() != stamp
    assert "failing (1 failure)" in _text(_content(site / "outlets/index.html")[1])
    assert "timeout" in _text(_content(site / "outlets/meridian-ledger.html")[1])


def test_failed_build_leaves_the_previous_site_whole(tmp_path, monkeypatch):
    stories, feeds = fixture_archive()
    site = _build(tmp_path, stories, feeds)
    snapshot = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    broken = tmp_path / "broken-site-src"
    shutil.copytree(site_mod.SITE_SRC, broken)
    (broken / "mkdocs.yml").write_text((broken / "mkdocs.yml").read_text().replace("name: material", "name: no-such-theme"))
    monkeypatch.setattr(site_mod, "SITE_SRC", broken)
    stories[0] = _change_story(stories[0], "This title must not be published")
    with pytest.raises(BuildError, match=str(site)):
        _build(tmp_path, stories, feeds, changed={stories[0].id})
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == snapshot
    assert not list(tmp_path.glob(".public.tmp-*")) and not list((tmp_path / "work").glob("stage-*"))
    monkeypatch.undo()
    _build(tmp_path, stories, feeds, changed={stories[0].id})  # the next good run publishes it
    assert "This title must not be published" in (site / story_path(stories[0])).read_text()


def test_full_build_without_base_url_uses_relative_links(tmp_path):
    stories, feeds = fixture_archive()
    site = _build(tmp_path, stories[:2], feeds, base_url=None)
    data = json.loads((site / "stories.json").read_text())
    assert data["stories"][0]["page"] == story_path(stories[0])
    root = ET.parse(site / "feed.xml").getroot()
    assert root.find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}link").get("href").startswith("stories/")


def test_serve_takes_a_site_dir_and_says_when_the_port_is_taken(built, tmp_path):
    import socket
    import subprocess
    import sys
    import urllib.request

    site, stories, _ = built
    cmd = [sys.executable, "-m", "monitor.cli", "serve", "--site-dir", str(site), "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith(f"Serving {site} on http://127.0.0.1:"), first
        url = first.split(" on ")[1].split(" ")[0]
        with urllib.request.urlopen(url + story_path(stories[0]), timeout=10) as r:
            assert "rewrote parts of its own training code" in r.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*cmd[:-1], str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == f"monitor: error: port {port} on 127.0.0.1 is taken: stop what uses it or pass --port {port + 1}"


def test_a_killed_builds_half_written_files_are_swept_and_the_records_kept(tmp_path):
    from monitor import site_swap

    site_dir, work = tmp_path / "public", tmp_path / "work"
    records = work / "search" / "stories"
    records.mkdir(parents=True)
    (records / "1-a.html").write_text("<p>kept</p>")
    (records / ".1-a.html.5f3c9e21.tmp").write_text("<p>half")  # atomic_write's temporary name, left by a kill
    (tmp_path / f".{site_dir.name}.tmp-ab12").mkdir()
    site_swap.clean_leftovers(site_dir, work)
    assert sorted(p.name for p in records.iterdir()) == ["1-a.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
