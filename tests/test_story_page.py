"""The story page and its open data, from Story values (pure rendering): independent counts, the primary
source rules, where the reports differ, quotes with their speaker, the summary's credit."""

from datetime import datetime, timedelta, timezone

import lxml.html

from monitor.facts import story_facts
from monitor.models import Article, Story
from monitor.primary import primary_sources
from monitor.story_page import story_data, story_md

T0 = datetime(2026, 3, 4, tzinfo=timezone.utc)
PAPER = "https://papers.example.org/abs/2603.01234"


def art(i, source, text, *, host=None, links=(), texts=None, dup=None, title="Lab reports agents"):
    host = host or f"{source.lower().replace(' ', '')}.example"
    return Article(url=f"https://www.{host}/story/{i}", title=title, source=source, published=T0 + timedelta(hours=i),
                   text=text, id=i, duplicate_of=dup, links=tuple(links),
                   link_texts=tuple(texts if texts is not None else ["link"] * len(links)))


def _body(md: str):
    return lxml.html.fromstring(md.split("---\n", 2)[2])


def test_a_link_of_two_independent_outlets_is_the_primary_source_social_and_own_pages_are_not():
    arts = [art(1, "Byte Post", "Text.", links=[PAPER, "https://twitter.com/lab/status/1", "https://www.metroherald.example/story/2"]),
            art(2, "Metro Herald", "Text.", links=[PAPER + "?utm_source=x", "https://x.com/lab"]),
            art(3, "Copy Daily", "Text.", links=["https://blog.lab.example/post"], dup=1)]
    (p,) = primary_sources(arts)
    assert p.url == PAPER and p.host == "papers.example.org" and p.outlets == ("Byte Post", "Metro Herald")


def test_one_article_naming_a_link_as_its_source_counts_a_bare_link_does_not():
    named = art(1, "Byte Post", "The figures come from the lab's filing with the court, published on Monday.",
                links=["https://court.example.gov/case/77"], texts=["filing with the court"])
    bare = art(2, "Metro Herald", "Unrelated words here.", links=["https://shop.example.com/item"], texts=["a gadget"])
    assert [p.url for p in primary_sources([named, bare])] == ["https://court.example.gov/case/77"]
    assert primary_sources([named, bare])[0].title == "filing with the court"


def test_syndicated_copies_are_not_counted_and_sit_under_their_original():
    text = "The lab said agents ran 1,200 experiments in October for its new model."
    arts = [art(1, "Byte Post", text), art(2, "Copy Daily", text, dup=1), art(3, "Metro Herald", text)]
    story = Story(id=1, slug="s", title="Lab reports agents", summary="", articles=tuple(arts), facts=story_facts(arts))
    body = _body(story_md(story, []))
    assert " ".join(body.xpath("string(.//p[@class='mn-story__stats'])").split()).startswith(
        "2 outlets · 2 articles (plus 1 syndicated copy)")
    assert body.xpath("string(.//p[@class='mn-fact__count'])") == "reported by 2 of 2 outlets"
    assert "Also carried by Copy Daily" in body.xpath("string(.//ul[@class='mn-tl__copies'])")
    data = story_data(story)
    assert data["outlets"] == 2 and data["facts"]["agreed"][0]["value"] == "1,200 experiment"
    assert [o["outlet"] for o in data["facts"]["agreed"][0]["outlets"]] == ["Byte Post", "Metro Herald"]


def test_disputes_render_in_their_own_section_with_escaped_text():
    arts = [art(1, "Byte <b>Post</b>", "Agents designed 80% of the experiments the lab ran this year."),
            art(2, "Metro Herald", "Agents designed 90% of the experiments the lab ran this year.")]
    story = Story(id=1, slug="s", title="t", summary="", articles=tuple(arts), facts=story_facts(arts))
    md = story_md(story, [])
    assert "<b>Post</b>" not in md
    body = _body(md)
    section = body.xpath(".//section[contains(@class, 'mn-facts--differ')]")[0]
    values = [" ".join(v.text_content().split()) for v in section.xpath(".//li[@class='mn-differ__value']")]
    assert values[0].startswith("80% of experiments according to Byte <b>Post</b>")
    assert values[1].startswith("90% of experiments according to Metro Herald")
    assert not body.xpath(".//section[@class='mn-facts']")  # nothing agreed


def test_the_summary_is_credited_to_the_article_it_comes_from():
    a = art(1, "Byte Post", "Text.")
    story = Story(id=1, slug="s", title="t", summary="The lab said agents ran most of its experiments this year.",
                  articles=(a,), summary_url=a.url)
    credit = _body(story_md(story, [])).xpath(".//span[@class='mn-story__credit']/a")[0]
    assert credit.text == "Byte Post" and credit.get("href") == a.url
    assert story_data(story)["summary_source"] == {"outlet": "Byte Post", "url": a.url}


def test_an_outlet_is_its_domain_or_on_a_bare_address_its_domain_and_name():
    from datetime import datetime, timezone

    from monitor.models import Article, outlet_of

    def art(outlet, source):
        return Article(url="https://x.example/a", title="t", source=source, published=datetime(2026, 1, 1, tzinfo=timezone.utc),
                       outlet=outlet)

    # one domain is one outlet whatever names its feeds give it
    assert outlet_of(art("bbc.co.uk", "BBC News")) == outlet_of(art("bbc.co.uk", "BBC World")) == "bbc.co.uk"
    # one machine can serve many outlets: an address alone does not tell them apart
    assert outlet_of(art("127.0.0.1", "The Circuit Ledger")) != outlet_of(art("127.0.0.1", "Northgate Tribune"))
    assert outlet_of(art("localhost", "A")) != outlet_of(art("localhost", "B"))
    assert outlet_of(art("", "Name Only")) == "Name Only"
