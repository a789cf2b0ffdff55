"""Headline and summary: representative, never empty, with fallbacks for headline-only stories."""

from datetime import datetime, timedelta, timezone

from monitor.models import Article
from monitor.summary import headline, summarize

T0 = datetime(2025, 3, 4, tzinfo=timezone.utc)


def art(i, title, text="", summary=""):
    return Article(url=f"https://{i}.example/", title=title, source=f"S{i}", published=T0 + timedelta(hours=i),
                   text=text, summary=summary)


def test_headline_is_the_most_representative_title_not_the_first():
    arts = [
        art(0, "Exclusive: the story everyone will be talking about"),
        art(1, "Helix Labs releases Orion-4, a model that rewrites its own code"),
        art(2, "Orion-4 from Helix Labs rewrites its own code - Byte Post"),
        art(3, "Helix Labs Orion-4 model rewrites own training code"),
    ]
    h = headline(arts)
    assert h != arts[0].title and "Orion-4" in h and not h.endswith("Byte Post")


def test_headline_never_empty():
    assert headline([art(0, "   ")])


def test_summary_takes_lead_sentences_within_the_limit():
    lead = "Helix Labs on Tuesday released Orion-4, a model it says can rewrite its own training code."
    arts = [art(0, "a", lead + " The weather was fine."), art(1, "b", lead.replace("on Tuesday ", "") + " Shares rose.")]
    s = summarize(arts, max_words=40)
    assert "Orion-4" in s and len(s.split()) <= 40


def test_headline_only_story_falls_back_to_feed_summary_then_title():
    assert summarize([art(0, "Title only", summary="A feed summary of the item.")]) == "A feed summary of the item."
    assert summarize([art(0, "Title only")]) == "Title only"
