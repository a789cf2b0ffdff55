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
