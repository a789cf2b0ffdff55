"""Article extraction: the article text without boilerplate, precise dates, and a pool that stops runaway pages."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from monitor.errors import ExtractError
from monitor.extract import Extractor, extract_page
from monitor.models import Extracted

PAGES = Path(__file__).parent / "data" / "pages"
ARTICLE_URL = "https://www.harbourledger.example/tech/2025/05/lumen-works-pauses-training?utm_source=rss"


NO_METADATA_PAGE = (
    '<!DOCTYPE html>'
    '<html><head><meta charset="utf-8"><title>Tide gauges fail along the Mereford coast - Shoreline Post</title></head>'
    '<body><header class="site"><nav><a href="/">Home</a> <a href="/coast">Coast</a> <a href="/weather">Weather</a></nav></header>'
    '<article>'
    '<h1>Tide gauges fail along the Mereford coast</h1>'
    '<div class="byline">By <span class="author">Ines Kavanagh</span></div>'
    '<p>Four of the six tide gauges between Mereford and the Salt Point lighthouse stopped reporting on Monday night, leaving the harbour office without live readings during the highest tides of the spring.</p>'
    '<p>Engineers from the county said a single power fault at the relay hut on the sea wall was the likely cause, and that the gauges themselves appeared undamaged when a crew reached them at low water.</p>'
    '<p>Fishing crews were asked to rely on the printed tables until the readings return, which the harbour master expects before the weekend.</p>'
    '</article>'
    '<footer><p>Shoreline Post. All rights reserved.</p></footer>'
    '</body></html>'
).encode()


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def pathological_page() -> bytes:
    # 100,000 sibling elements: trafilatura needs about 10 s on this machine.
    return ("<html><body><article>" + "<span>a</span>" * 100_000 + "</article></body></html>").encode()


def check_article(result: Extracted) -> None:
    paragraphs = result.text.split("\n\n")
    assert len(paragraphs) == 6
    assert paragraphs[0].startswith("Lumen Works, the research company based in the old grain warehouses")
    assert paragraphs[5].endswith("before the end of the summer.")
    for boilerplate in ("ADVERTISEMENT", "Brightpan", "river cruise", "Subscribe", "Related stories",
                        "grainstore_fan", "mark my words", "All rights reserved", "Privacy policy", "Share on"):
        assert boilerplate not in result.text


def test_article_page_gives_text_and_metadata():
    result = extract_page(page("article.html"), url=ARTICLE_URL)
    check_article(result)
    assert result.title == "Lumen Works pauses training of its largest model"
    assert result.author == "Marta Oyelaran"
    assert result.published == datetime(2025, 5, 14, 7, 42, tzinfo=timezone.utc)
    assert result.published_has_time is True
    assert result.site_name == "The Harbour Ledger"
    assert result.image == "https://img.harbourledger.example/lumen-pause.jpg"
    assert result.language == "en"
    assert result.canonical_url == "https://www.harbourledger.example/tech/2025/05/lumen-works-pauses-training?ref=rss"


def test_json_ld_date_and_og_url_when_canonical_is_not_http():
    result = extract_page(page("jsonld_only.html"), url="https://coastalwire.example/x?id=4")
    assert result.published == datetime(2025, 6, 3, 18, 5, tzinfo=timezone.utc) and result.published_has_time
    assert result.canonical_url == "https://coastalwire.example/2025/06/audit-rules"  # the javascript: one is ignored
    assert result.site_name == "Coastal Wire"
    assert result.text.count("\n\n") == 1


def test_bare_date_has_no_time_of_day():
    result = extract_page(page("bare_date.html"), url="https://blatt.example/forschung/pause")
    assert result.published == datetime(2025, 6, 4, tzinfo=timezone.utc)
    assert result.published_has_time is False
    assert result.language == "de"
    assert result.canonical_url is None
    assert "größten Trainingslaufs" in result.text


@pytest.mark.parametrize("html", [page("index.html"), b"", b"   ", b"\x00\x01\x02binary", b"<html><body></body></html>"])
def test_pages_without_an_article_raise_extract_error(html):
    with pytest.raises(ExtractError, match=r"^https://www\.harbourledger\.example/tech: "):
        extract_page(html, url="https://www.harbourledger.example/tech")


def test_pool_kills_a_runaway_page_and_keeps_working():
    pages = [
        ("slow", pathological_page(), "https://slow.example/a"),
        ("article", page("article.html"), ARTICLE_URL),
        ("index", page("index.html"), "https://www.harbourledger.example/tech"),
    ]
    with Extractor(workers=2, timeout=2) as extractor:
        results = dict(extractor.extract_many(pages))
        assert set(results) == {"slow", "article", "index"}
        assert isinstance(results["slow"], ExtractError)
        assert str(results["slow"]) == "https://slow.example/a: extraction timed out after 2 s"
        check_article(results["article"])
        assert isinstance(results["index"], ExtractError)
        # the pool is still usable after a worker was killed
        again = list(extractor.extract_many([(7, page("jsonld_only.html"), "https://coastalwire.example/x")]))
        assert [k for k, _ in again] == [7]
        assert isinstance(again[0][1], Extracted)


def test_in_process_mode_gives_the_same_results():
    pages = [(1, page("article.html"), ARTICLE_URL), (2, page("index.html"), "https://www.harbourledger.example/tech")]
    with Extractor(workers=0) as extractor:
        results = dict(extractor.extract_many(pages))
    check_article(results[1])
    assert isinstance(results[2], ExtractError)


def test_every_key_comes_back_once_even_with_many_pages():
    pages = [(i, page("article.html" if i % 2 else "index.html"), f"https://news.example/{i}") for i in range(12)]
    with Extractor(workers=2, timeout=20) as extractor:
        keys = [k for k, _ in extractor.extract_many(pages)]
        assert sorted(keys) == list(range(12))
        assert list(extractor.extract_many([])) == []


def test_the_headline_and_kicker_above_it_are_not_part_of_the_text():
    from monitor.extract import _drop_heading

    paragraphs = ["POLICY", "Senators want licences for big AI runs", "Two senators introduced a bill on Friday."]
    assert _drop_heading(paragraphs, "Senators want licences for big AI runs!") == ["Two senators introduced a bill on Friday."]
    # a real first paragraph that happens to precede a repeated title is kept
    long_first = ["Two senators introduced a bill on Friday that would require licences.", "Senators want licences"]
    assert _drop_heading(long_first, "Senators want licences") == long_first
    assert _drop_heading(["Body text only."], "Other title") == ["Body text only."]


def test_page_without_metadata_gets_what_trafilatura_reads_in_the_page():
    # no meta tags at all: the headline, the byline, the day in the URL and the host stand in
    result = extract_page(NO_METADATA_PAGE, url="https://shorelinepost.example/coast/2025/03/18/tide-gauges")
    assert result.title == "Tide gauges fail along the Mereford coast"
    assert result.author == "Ines Kavanagh"
    assert result.published == datetime(2025, 3, 18, tzinfo=timezone.utc) and result.published_has_time is False
    assert result.site_name == "shorelinepost.example"
    assert result.text.startswith("Four of the six tide gauges") and "Ines Kavanagh" not in result.text
    assert result.canonical_url is None and result.language is None


def test_order_of_preference_among_the_page_metadata():
    lead = "The ferry service to Holm Island resumes on Thursday after the new landing stage passed its load tests. " * 3
    html = ('<html><head><title>Holm ferry back</title>'
            '<meta name="pubdate" content="2025-04-01T08:00:00Z">'  # first in the page, but a weaker source
            '<meta property="og:url" content="https://islandnews.example/og-version">'
            '<meta property="og:locale" content="fr_FR">'
            '<link rel="Canonical" href="/ferry/holm-resumes">'
            '<meta property="article:published_time" content="2025-04-01T09:30:00+01:00">'
            f'</head><body><article><h1>Holm ferry back</h1><p>{lead}</p></article></body></html>').encode()
    result = extract_page(html, url="https://islandnews.example/x?id=3")
    assert result.published == datetime(2025, 4, 1, 8, 30, tzinfo=timezone.utc)  # article:published_time wins
    assert result.canonical_url == "https://islandnews.example/ferry/holm-resumes"  # rel=canonical beats og:url
    assert result.language == "fr"
    # a bare day in the preferred tag gives way to a later one with a time of day
    bare_first = html.replace(b"2025-04-01T09:30:00+01:00", b"2025-04-01")
    result = extract_page(bare_first, url="https://islandnews.example/x?id=3")
    assert result.published == datetime(2025, 4, 1, 8, 0, tzinfo=timezone.utc) and result.published_has_time


def test_pool_and_in_process_give_identical_results():
    pages = [(p.name, p.read_bytes(), f"https://pages.example/2025/06/02/{p.stem}") for p in sorted(PAGES.glob("*.html"))]

    def run(workers):
        with Extractor(workers=workers) as extractor:
            return {k: r if isinstance(r, Extracted) else str(r) for k, r in extractor.extract_many(pages)}

    assert run(2) == run(0)


def test_a_caller_may_stop_reading_early_and_use_the_pool_again():
    pages = [(i, page("article.html"), f"https://news.example/{i}") for i in range(30)]
    with Extractor(workers=2, timeout=20) as extractor:
        results = extractor.extract_many(pages)
        first_key, first = next(results)
        results.close()
        assert isinstance(first, Extracted)
        again = dict(extractor.extract_many(pages[:3]))
        assert set(again) == {0, 1, 2} and all(isinstance(r, Extracted) for r in again.values())


@pytest.mark.parametrize("name", ["article.html", "jsonld_only.html", "bare_date.html", "no metadata"])
def test_metadata_steps_agree_with_trafilaturas_whole_metadata_pass(name):
    # extract_page runs trafilatura's metadata steps itself, leaving out the unused ones; a trafilatura
    # release that changes its metadata logic shows up here rather than as quietly different fields
    from trafilatura.metadata import extract_metadata
    from trafilatura.utils import load_html

    from monitor.extract import _metadata

    html = NO_METADATA_PAGE if name == "no metadata" else page(name)
    url = "https://pages.example/news/2025/03/18/story"
    ours, theirs = _metadata(load_html(html), url, with_date=True), extract_metadata(load_html(html), url)
    for field in ("title", "author", "sitename", "image", "date", "url"):
        assert getattr(ours, field) == getattr(theirs, field), field
