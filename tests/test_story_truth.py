"""End to end on loopback: a story of four outlets, one of them a syndicated copy, two disagreeing on a
figure, three linking the same primary document, one opening with a dateline and one in the first person.
Real feeds and pages, `pipeline.run`, a real mkdocs build; the assertions are on the built story page,
stories.json (against the key list of docs/stories-json.md) and `monitor export`."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from html import escape
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_config
from monitor.loopback import LoopbackServer, Route
from monitor.pipeline import run
from monitor.store import Store

from .truth_checks import figures_not_in_their_sentences, summary_problems

DOC = Path(__file__).resolve().parents[1] / "docs" / "stories-json.md"
REPORT_TITLE = "Automated experiments at Halcyon Labs: the October research report"

# outlet -> (feed path, article path, headline, RFC 822 date, paragraphs); {primary} is the report's URL
OUTLETS = {
    "Continental Wire": ("/wire/rss.xml", "/wire/halcyon-agents", "Halcyon Labs says AI agents now run 80% of its research experiments",
                         "Tue, 03 Nov 2026 09:00:00 GMT", [
        "SAN FRANCISCO, Nov 3 (CWS) - Halcyon Labs said on Tuesday that automated AI agents now design and run 80% "
        "of the research experiments behind its next frontier model, a step critics call recursive self-improvement.",
        "The lab said the agents completed 1,200 experiments in October and that its staff still approve every "
        "training run. \"We are still the ones who decide what ships,\" said Mara Quist, the research chief.",
        'Details are in the lab\'s <a href="{primary}">research report on automated experiments</a>, published '
        'the same day. Follow the lab on <a href="https://twitter.com/halcyonlabs">social media</a>.',
    ]),
    "Northgate Tribune": ("/tribune/rss.xml", "/tribune/halcyon-agents", "Halcyon Labs hands 90% of its research experiments to AI agents",
                          "Tue, 03 Nov 2026 12:00:00 GMT", [
        "Halcyon Labs said automated AI agents now design and run 90% of the research experiments behind its next "
        "frontier model, raising fresh questions about recursive self-improvement at the lab.",
        "The agents completed 1,200 experiments in October, the lab said. \"We are still the ones who decide what "
        "ships,\" Mara Quist told reporters.",
        'The figures come from the lab\'s <a href="{primary}">October research report</a>. Read our '
        '<a href="/tribune/ai-explainer">explainer on AI agents</a>.',
    ]),
    "Overfit Weekly": ("/overfit/rss.xml", "/overfit/issue-120", "Issue #120: Halcyon's agents run 80% of its AI research experiments",
                       "Tue, 03 Nov 2026 18:00:00 GMT", [
        "I think this is the week the loop closed for Halcyon Labs and its AI research agents, and you should read "
        "the report yourself.",
        "Halcyon Labs said automated AI agents now design and run 80 percent of the research experiments behind its "
        "next frontier model, and that they completed 1,200 experiments in October.",
        'The <a href="{primary}">report</a> is worth your time.',
    ]),
}
COPY = ("Lakeside Chronicle", "/lakeside/rss.xml", "/lakeside/halcyon-agents", "Tue, 03 Nov 2026 10:30:00 GMT")


def _page(outlet: str, title: str, paragraphs: list[str], primary: str) -> bytes:
    body = "".join(f"<p>{p.format(primary=primary)}</p>" for p in paragraphs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | {outlet}</title>'
            f'<meta property="og:site_name" content="{outlet}"></head><body><nav><a href="/">Home</a></nav>'
            f"<article><h1>{escape(title)}</h1>{body}</article><footer>Copyright {outlet}.</footer></body></html>").encode()


def _rss(name: str, base: str, items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<item><title>{escape(t)}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
                      f"<pubDate>{d}</pubDate></item>" for p, t, d in items)
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>{base}/</link>'
            f"{entries}</channel></rss>").encode()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("truth")
    # each outlet on its own loopback address, the lab on another: five hosts, however outlets are identified
    with ExitStack() as stack:
        lab = stack.enter_context(LoopbackServer(host="127.0.0.9"))
        primary = lab.url("/research/automated-experiments")
        lab.routes["/research/automated-experiments"] = Route(b"<html><body><p>report</p></body></html>")
        feeds = []
        for n, (name, (feed, path, title, date, paragraphs)) in enumerate(OUTLETS.items()):
            outlet = stack.enter_context(LoopbackServer(host=f"127.0.0.{n + 2}"))
            outlet.routes[path] = Route(_page(name, title, paragraphs, primary))
            outlet.routes[feed] = Route(_rss(name, outlet.base, [(path, title, date)]), content_type="application/rss+xml")
            feeds.append((outlet.url(feed), name))
        name, feed, path, date = COPY
        wire = OUTLETS["Continental Wire"]
        copier = stack.enter_context(LoopbackServer(host="127.0.0.8"))
        copier.routes[path] = Route(_page(name, wire[2], wire[4], primary))  # the wire story, syndicated
        copier.routes[feed] = Route(_rss(name, copier.base, [(path, wire[2], date)]), content_type="application/rss+xml")
        feeds.append((copier.url(feed), name))
        config = tmp / "feeds.yaml"
        config.write_text(
            "database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\n"
            "topics:\n  - name: self-improvement\n    phrases: [recursive self-improvement, AI research, AI agents]\n"
            "    terms: [frontier model, experiments]\nfeeds:\n"
            + "".join(f"  - url: {u}\n    name: {n}\n" for u, n in feeds), encoding="utf-8")
        cfg = load_config(config)
        run(cfg, extract_workers=0)
        export = CliRunner().invoke(main, ["export", "--config", str(config)], catch_exceptions=False)
        assert export.exit_code == 0, export.stderr
        data = json.loads((cfg.site_dir / "stories.json").read_text())
        (story,) = [s for s in data["stories"] if len(s["articles"]) == 4]
        doc = lxml.html.fromstring((cfg.site_dir / story["page"]).read_bytes())
        body = doc.xpath("//article[contains(@class, 'md-content__inner')]")[0]
        with Store.open(cfg.database) as store:
            facts = [f for s in store.stories() for f in s.facts]
        yield {"story": story, "body": body, "primary": primary, "data": data, "facts": facts,
               "export": [json.loads(line) for line in export.stdout.splitlines()]}


def _text(el) -> str:
    return " ".join(el.text_content().split())


def test_counts_are_independent_outlets_and_the_copy_sits_under_its_original(built):
    body, story = built["body"], built["story"]
    stats = _text(body.xpath(".//p[@class='mn-story__stats']")[0])
    assert stats.startswith("3 outlets · 3 articles (plus 1 syndicated copy)")
    assert story["outlets"] == 3
    counts = [_text(p) for p in body.xpath(".//p[@class='mn-fact__count']")]
    assert counts and all(c.endswith("of 3 outlets") for c in counts)
    items = body.xpath(".//ol[@class='mn-tl']/li")
    assert [_text(i.xpath(".//strong[@class='mn-tl__outlet']")[0]) for i in items] == [
        "Continental Wire", "Northgate Tribune", "Overfit Weekly"]
    assert "Also carried by Lakeside Chronicle" in _text(items[0])
    flags = {a["source"]: a["original"] for a in story["articles"]}
    assert flags == {"Continental Wire": True, "Lakeside Chronicle": False, "Northgate Tribune": True,
                     "Overfit Weekly": True}
    exported = {r["source"]: r for r in built["export"] if "halcyon" in r["url"] or "issue-120" in r["url"]}
    assert exported["Lakeside Chronicle"]["original"] is False
    assert exported["Lakeside Chronicle"]["copy_of"] == exported["Continental Wire"]["url"]
    assert exported["Continental Wire"]["original"] is True


def test_the_reports_that_differ_are_shown_with_who_said_what(built):
    body = built["body"]
    differ = body.xpath(".//section[contains(@class, 'mn-facts--differ')]")
    assert differ and _text(differ[0].xpath(".//h2")[0]) == "Where the reports differ"
    values = {_text(v.xpath(".//strong")[0]): _text(v) for v in differ[0].xpath(".//li[@class='mn-differ__value']")}
    assert set(values) == {"80% of experiments", "90% of experiments"}
    assert "according to Continental Wire, Overfit Weekly" in values["80% of experiments"]
    assert "according to Northgate Tribune" in values["90% of experiments"]
    assert "hands 90% of its research experiments" in values["90% of experiments"]  # its sentence (the headline)
    agreed = _text(body.xpath(".//section[@class='mn-facts']")[0])
    assert "1,200 experiments" in agreed and "80%" not in agreed  # a disputed figure is not "agreed"
    assert "We are still the ones who decide what ships" in agreed and "— Mara Quist" in agreed


def test_the_primary_source_is_at_the_top_with_host_and_title(built):
    body, primary = built["body"], built["primary"]
    section = body.xpath(".//section[@class='mn-primary']")[0]
    order = [el.get("class") for el in body.xpath("./div[@class='mn-story']/*")]
    assert order.index("mn-primary") < order.index("mn-story__summary")
    (a,) = section.xpath(".//a")
    assert a.get("href") == primary and _text(a) == "research report on automated experiments"
    assert "127.0.0.9 · linked by Continental Wire, Northgate Tribune, Overfit Weekly" in _text(section)
    assert "twitter" not in _text(section) and "explainer" not in _text(section)
    (ps,) = built["story"]["primary_sources"]
    assert ps["url"] == primary and ps["host"] == "127.0.0.9" and len(ps["outlets"]) == 3


def test_the_summary_reads_as_one_text_attributed_to_its_outlet(built):
    p = built["body"].xpath(".//p[@class='mn-story__summary']")[0]
    credit = _text(p.xpath(".//span[@class='mn-story__credit']")[0])
    summary = built["story"]["summary"]
    assert summary_problems(summary) == []
    assert "SAN FRANCISCO" not in summary and "I think" not in summary
    assert credit in ("— Continental Wire", "— Northgate Tribune")
    assert built["story"]["summary_source"]["outlet"] == credit[2:]


def test_every_figure_shown_is_in_each_sentence_it_cites(built):
    assert figures_not_in_their_sentences(built["facts"]) == []
    shown = [_text(s) for s in built["body"].xpath(".//span[@class='mn-fact__sentence']")]
    assert shown and all(s for s in shown)


def _doc_keys() -> dict[str, set[str]]:
    """The key list of each section of docs/stories-json.md: "| `key` | ..." rows under "## <section>"."""
    keys: dict[str, set[str]] = {}
    section = None
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section and (m := re.match(r"\|\s*`([a-z_]+)`\s*\|", line)):
            keys.setdefault(section, set()).add(m.group(1))
    return keys


def test_stories_json_has_exactly_the_documented_keys(built):
    doc = _doc_keys()
    data = built["data"]
    assert set(data) == doc["Top level"]
    for s in data["stories"]:
        assert set(s) == doc["Story"]
        assert set(s["facts"]) == doc["Facts"]
        for a in s["articles"]:
            assert set(a) == doc["Article"]
        facts = s["facts"]["agreed"] + s["facts"]["single"] + [v for d in s["facts"]["disputed"] for v in d["values"]]
        for f in facts:
            assert set(f) == doc["Fact"]
            for o in f["outlets"]:
                assert set(o) == doc["Fact outlet"]
        for d in s["facts"]["disputed"]:
            assert set(d) == doc["Disputed"]
        for p in s["primary_sources"]:
            assert set(p) == doc["Primary source"]
    story = built["story"]
    assert story["facts"]["disputed"] and story["facts"]["agreed"] and story["primary_sources"]


def test_the_demo_story_pages_read_figures_right_and_summaries_follow_the_rules(tmp_path, cli):
    """The bad cases the demo site showed: "27 operations" for 10^27, "14000", two facts for "$18bn" and
    "$18 billion", glued or first-person summaries, datelines."""
    site = tmp_path / "public"
    result = cli("demo", "--site-dir", site, "--workdir", tmp_path / "work", "-q")
    assert result.exit_code == 0, result.stderr
    stories = json.loads((site / "stories.json").read_text())["stories"]
    for s in stories:
        assert summary_problems(s["summary"]) == [], (s["title"], s["summary"])
        shown = [f["text"] for group in ("agreed", "single") for f in s["facts"][group]]
        assert not {"27 operations", "26 operations", "14000 experiments"} & set(shown), s["title"]
        money = [t for t in shown if t.startswith("$18")]
        assert len(money) <= 1, money
    with Store.open(tmp_path / "work" / "monitor.sqlite3") as store:
        facts = [f for s in store.stories() for f in s.facts]
    assert figures_not_in_their_sentences(facts) == []
    pause = next(s for s in stories if "10^27" in s["title"])
    assert "10^27 operations" in [f["text"] for f in pause["facts"]["agreed"]]
