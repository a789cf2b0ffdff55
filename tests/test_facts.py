"""Facts: figures and quotes in different wordings meet, counted per outlet."""

from datetime import datetime, timedelta, timezone

from monitor.facts import figures, story_facts
from monitor.models import Article

T0 = datetime(2025, 3, 4, tzinfo=timezone.utc)


def art(i, source, text, title="t", dup=None):
    return Article(url=f"https://{i}.example/a", title=title, source=source, published=T0 + timedelta(hours=i),
                   text=text, id=i, duplicate_of=dup)


def keys(sentence):
    return {k for k, _ in figures(sentence)}


def test_figure_wordings_normalise_to_one_key():
    assert keys("Support reached 80%.") == keys("Support reached 80 percent.") == keys("More than 80 per cent agreed.")
    assert keys("It raised $2.5 billion.") == keys("It raised 2.5bn dollars.") == keys("It raised US$2,500 million.")
    assert keys("It is three times faster.") == keys("It is 3x faster.") == keys("It is threefold faster.")
    assert keys("Over 1,200 researchers signed.") == {"count:1200 researcher"}


def test_facts_count_outlets_not_articles_and_syndicated_copies_add_none():
    quote = "We are not asking to stop progress, only to stop racing blind"
    arts = [
        art(1, "Byte Post", f'More than 3,000 scientists signed. "{quote}," said Ines Okafor.'),
        art(2, "Byte Post", f'Some 3,000 scientists backed it. "{quote}."'),  # same outlet again
        art(3, "Metro Herald", f'The letter drew 3,000 scientists. Okafor said: “{quote.upper()}!”'),
        art(4, "Daily Wire Tech", f'More than 3,000 scientists signed. "{quote}," said Ines Okafor.', dup=1),
        art(5, "The Circuit", "Organisers said 40% of signatories work in industry."),
    ]
    facts = {f.key: f for f in story_facts(arts)}
    count = facts["3000 scientist"]
    assert count.outlets == ("Byte Post", "Metro Herald")
    assert [e.source for e in count.evidence] == ["Byte Post", "Metro Herald"]
    assert "3,000" in count.evidence[1].sentence
    q = [f for f in facts.values() if f.kind == "quote"]
    assert len(q) == 1 and q[0].outlets == ("Byte Post", "Metro Herald")
    assert facts["40%"].outlets == ("The Circuit",)
    ordered = story_facts(arts)
    assert len(ordered[0].outlets) >= len(ordered[-1].outlets)


def test_short_quotes_and_years_are_not_facts():
    facts = story_facts([art(1, "A", 'He called it "a big step" in 2024.'), art(2, "B", 'It was "a big step" in 2024.')])
    assert facts == ()
