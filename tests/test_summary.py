"""Headline and summary: representative, never empty, with fallbacks for headline-only stories."""

from datetime import datetime, timedelta, timezone

from monitor.models import Article
from monitor.summary import headline, lead, strip_dateline, summarize, usable
from tests.truth_checks import summary_problems

T0 = datetime(2025, 3, 4, tzinfo=timezone.utc)


def art(i, title, text="", summary="", source=None, dup=None):
    return Article(url=f"https://{i}.example/", title=title, source=source or f"S{i}", published=T0 + timedelta(hours=i),
                   text=text, summary=summary, id=i, duplicate_of=dup)


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
    feed = "A feed summary of the item that says what happened."
    assert summarize([art(0, "Title only", summary=feed)]) == feed
    assert summarize([art(0, "Title only")]) == "Title only"


WIRE = ("SAN FRANCISCO, Oct 6 (CWS) - Meridian AI said on Tuesday that its research agents ran more than 80 percent "
        "of the experiments behind its newest model. The company published the figures in a report on its blog. "
        "It said the agents handled about 14,000 experiments over six weeks. Shares of its partners rose.")
NEWSLETTER = ("I think this is the week the loop closed. Meridian AI said its research agents ran 80% of the "
              "experiments behind its newest model. You should read the report. What does it mean?")
HERALD = ("Meridian AI's research agents ran most of the experiments behind its new model, the company said on "
          "Tuesday. They also wrote much of the code. Critics said the lab should publish more detail.")


def test_datelines_are_cut_in_every_spelling():
    for dateline in ("SAN FRANCISCO, Oct 6 (CWS) - ", "LONDON (Reuters) - ", "WASHINGTON — ", "Oct 6 (CWS) - ",
                     "NEW YORK, Oct. 6 (CWS) – ", "BERLIN: "):
        assert strip_dateline(dateline + "Meridian AI said its agents ran the experiments.") == \
            "Meridian AI said its agents ran the experiments."


def test_usable_sentences_follow_the_rules():
    ok = "Meridian AI said on Tuesday that its agents ran most of the experiments."
    assert usable(ok, first=True)
    assert not usable("I think Meridian AI said its agents ran most of the experiments.", first=True)
    assert not usable("You should read what Meridian AI said about its research agents.", first=True)
    assert not usable("Did Meridian AI really say its agents ran most of the experiments?", first=True)
    assert not usable("It said the agents handled about 14,000 experiments over six weeks.", first=True)
    assert usable("It said the agents handled about 14,000 experiments over six weeks.", first=False)
    assert not usable("By Jane Doe, Technology Correspondent at the Byte Post newsroom.", first=True)
    assert not usable("But the company would not say how many experiments failed in total.", first=True)
    assert usable('"We are no longer the bottleneck in our own research," Meridian AI said in its report.', first=False)


def test_summary_is_from_one_independent_report_with_its_source_and_passes_the_checker():
    arts = [art(1, "Agents ran 80% of experiments", WIRE, source="Continental Wire Service"),
            art(2, "The loop closed", NEWSLETTER, source="Overfit Weekly"),
            art(3, "Meridian agents ran most experiments", HERALD, source="Metro Herald"),
            art(4, "Agents ran 80% of experiments", WIRE, source="Copy Daily", dup=1)]
    text, source = lead(arts)
    assert source is not None and source.source in ("Continental Wire Service", "Metro Herald")
    assert summary_problems(text) == []
    assert all(s in source.text for s in text.split(". ")[:1] if s)
    assert "SAN FRANCISCO" not in text and "I think" not in text


def test_a_pronoun_sentence_follows_only_its_own_referent():
    text, source = lead([art(1, "t", WIRE, source="Wire")], max_words=60)
    assert text.startswith("Meridian AI said") and "It said the agents" in text  # consecutive, referent kept
    assert source.source == "Wire"


def test_checker_catches_each_broken_rule():
    assert "dateline" in summary_problems("SAN FRANCISCO, Oct 6 (CWS) - Meridian said things.")
    assert "first or second person" in summary_problems("I think Meridian said things today.")
    assert "question" in summary_problems("Did Meridian say things today?")
    assert "opens with a pronoun or connective" in summary_problems("It said things today.")
    assert "4 sentences" in summary_problems("One is here. Two is here. Three is here. Four is here.")
