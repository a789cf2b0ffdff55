"""Facts: figures read right in their many spellings, counted over independent outlets, disagreements apart,
quotes kept apart by speaker, and every figure shown found again in the sentence it cites."""

from datetime import datetime, timedelta, timezone

import pytest

from monitor.facts import quotes, sentences, story_facts
from monitor.figures import figures
from monitor.models import Article
from tests.truth_checks import figures_not_in_their_sentences

T0 = datetime(2025, 3, 4, tzinfo=timezone.utc)


def art(i, source, text, title="t", dup=None, outlet=""):
    return Article(url=f"https://{i}.example/a", title=title, source=source, published=T0 + timedelta(hours=i),
                   text=text, id=i, duplicate_of=dup, outlet=outlet)


def keys(sentence):
    return [f.key for f in figures(sentence)]


# (sentence, the keys of the figures it holds, in order) -- spellings as outlets write them
SPELLINGS = [
    # powers of ten
    ("Runs above 10^27 operations would stop.", ["power:10^27 operation"]),
    ("Runs above 10²⁷ operations would stop.", ["power:10^27 operation"]),
    ("Runs above 1e27 operations would stop.", ["power:10^27 operation"]),
    ("Runs above 1E27 operations would stop.", ["power:10^27 operation"]),
    ("Runs above 10**27 operations would stop.", ["power:10^27 operation"]),
    ("The bill covers 10^26 operations.", ["power:10^26 operation"]),
    ("It used 1.5 × 10^27 FLOPs in training.", ["power:1.5 × 10^27 flop"]),
    ("It used 1.5e27 FLOPs in training.", ["power:1.5 × 10^27 flop"]),
    ("An error rate of 10^-3 was allowed.", ["power:10^-3"]),
    # thousands and scale words
    ("They ran 14,000 experiments.", ["count:14,000 experiment"]),
    ("They ran 14000 experiments.", ["count:14,000 experiment"]),
    ("They ran 14\u202f000 experiments.", ["count:14,000 experiment"]),
    ("They ran 14k experiments.", ["count:14,000 experiment"]),
    ("They ran 14 thousand experiments.", ["count:14,000 experiment"]),
    ("They ran about 14,000 experiments over six weeks.", ["count:14,000 experiment", "duration:6 weeks"]),
    ("The app has 1.2 million users.", ["count:1.2 million user"]),
    ("The app has 1,200,000 users.", ["count:1.2 million user"]),
    ("The app has 1.2m users.", ["count:1.2 million user"]),
    ("Some 3 million people signed up.", ["count:3 million people"]),
    ("Some three million people signed up.", ["count:3 million people"]),
    # nouns are part of the figure
    ("The letter has 1,200 signatures.", ["count:1,200 signature"]),
    ("The letter was signed by 1,200 researchers.", ["count:1,200 researcher"]),
    ("It was signed by 1,200 AI researchers.", ["count:1,200 researcher"]),
    ("It was signed by 1,200 leading researchers.", ["count:1,200 researcher"]),
    ("The lab bought 5,000 GPUs.", ["count:5,000 gpu"]),
    ("The firm has 2,400 staff.", ["count:2,400 staff"]),
    ("The firm cut 300 jobs and 12 offices.", ["count:300 job", "count:12 office"]),
    # money
    ("The round values it at $18bn.", ["money:$18 billion"]),
    ("The round values it at $18 billion.", ["money:$18 billion"]),
    ("The round values it at $18B.", ["money:$18 billion"]),
    ("The round values it at US$18bn.", ["money:$18 billion"]),
    ("The round values it at 18 billion dollars.", ["money:$18 billion"]),
    ("The round values it at USD 18 billion.", ["money:$18 billion"]),
    ("The round values it at $18,000 million.", ["money:$18 billion"]),
    ("It raised $2.5bn.", ["money:$2.5 billion"]),
    ("It raised €2.5 billion.", ["money:€2.5 billion"]),
    ("It raised £300m.", ["money:£300 million"]),
    ("It raised £300 million.", ["money:£300 million"]),
    ("It raised $500,000.", ["money:$500,000"]),
    ("It raised $500k.", ["money:$500,000"]),
    ("Revenue hit a $47 billion run rate.", ["money:$47 billion"]),
    ("It is worth $1.2tn.", ["money:$1.2 trillion"]),
    ("It is worth $1.2 trillion.", ["money:$1.2 trillion"]),
    # multiples
    ("Output rose eightfold.", ["mult:8x"]),
    ("Output rose 8x.", ["mult:8x"]),
    ("Output rose eight times over.", ["mult:8x"]),
    ("Output rose 8-fold.", ["mult:8x"]),
    ("Output rose 8 times.", ["mult:8x"]),
    ("Output rose 8×.", ["mult:8x"]),
    ("The number of experiments tripled.", ["mult:3x"]),
    ("It is threefold faster.", ["mult:3x"]),
    ("Costs doubled.", ["mult:2x"]),
    ("It is 1.5x faster.", ["mult:1.5x"]),
    # percent three ways, and points
    ("Support reached 80%.", ["pct:80%"]),
    ("Support reached 80 percent.", ["pct:80%"]),
    ("Support reached 80 per cent.", ["pct:80%"]),
    ("Support reached eighty percent.", ["pct:80%"]),
    ("Agents ran 80% of the experiments.", ["pct:80% experiment"]),
    ("Agents ran more than 80 per cent of the roughly 14,000 experiments.",
     ["pct:80% experiment", "count:14,000 experiment"]),
    ("Support rose 5 percentage points.", ["pp:5 percentage points"]),
    ("Fines reach 10% of turnover.", ["pct:10% turnover"]),
    ("Its share fell to 0.5%.", ["pct:0.5%"]),
    ("Fines reach 10% of a company's global annual revenue.", ["pct:10% revenue"]),
    ("Models replicate 42% of machine learning papers.", ["pct:42% paper"]),
    ("It holds 30% of the market in Europe.", ["pct:30% market"]),
    ("Agents ran 80% of Atlas-4's experiments.", ["pct:80%"]),
    ("It will publish the share twice a year.", []),
    # ranges
    ("Between 10 and 20 percent of runs failed.", ["pct:10–20% run"]),
    ("About 10-20% of runs failed.", ["pct:10–20% run"]),
    ("About 10–20% of runs failed.", ["pct:10–20% run"]),
    ("About 10 to 20 percent of runs failed.", ["pct:10–20% run"]),
    ("The deal is worth $5-7 billion.", ["money:$5 billion–$7 billion"]),
    ("The deal is worth $5bn-$7bn.", ["money:$5 billion–$7 billion"]),
    ("Between 1,000 and 2,000 researchers signed.", ["count:1,000–2,000 researcher"]),
    # durations
    ("It asks for a six-month moratorium.", ["duration:6 months"]),
    ("It asks for a 6-month moratorium.", ["duration:6 months"]),
    ("It asks for a pause of six months.", ["duration:6 months"]),
    ("The pilot lasted 18 months.", ["duration:18 months"]),
    ("The licence runs for twenty-five years.", ["duration:25 years"]),
    # dates
    ("The rule takes effect on March 3.", ["date:March 3"]),
    ("The rule takes effect on March 3, 2025.", ["date:March 3"]),
    ("The rule takes effect on 3 March 2025.", ["date:March 3"]),
    ("The rule takes effect on March 3rd.", ["date:March 3"]),
    ("The rule takes effect on Mar. 3.", ["date:March 3"]),
    ("The rule takes effect on 2025-03-03.", ["date:March 3"]),
    ("SAN FRANCISCO, Oct 6 (CWS) - The lab spoke.", ["date:October 6"]),
    # not figures
    ("GPT-4 runs on A100 chips.", []),
    ("The meeting starts at 10:30 in the morning.", []),
    ("The act was passed in 2024 by the senate.", []),
    ("It may change in March next year.", []),
]


def test_the_table_is_large_enough():
    assert len(SPELLINGS) >= 60


@pytest.mark.parametrize("sentence,expected", SPELLINGS, ids=[s for s, _ in SPELLINGS])
def test_figure_spellings(sentence, expected):
    assert keys(sentence) == expected


@pytest.mark.parametrize("sentence,expected", [s for s in SPELLINGS if s[1]], ids=[s for s, k in SPELLINGS if k])
def test_each_figure_span_is_its_spelling_in_the_sentence(sentence, expected):
    for f in figures(sentence):
        written = sentence[f.start:f.end]
        assert written and written == written.strip()
        assert figures(written) and figures(written)[0].key == f.key


def test_displayed_figures_keep_separators_and_powers():
    shown = {f.key: f.text for f in figures("They ran 14000 experiments above 10^27 operations for $18bn.")}
    assert shown == {"count:14,000 experiment": "14,000 experiments", "power:10^27 operation": "10^27 operations",
                     "money:$18 billion": "$18 billion"}


def test_facts_count_independent_outlets_and_syndicated_copies_add_none():
    quote = "We are not asking to stop progress, only to stop racing blind"
    arts = [
        art(1, "Byte Post", f'More than 3,000 scientists signed. "{quote}," said Ines Okafor.'),
        art(2, "Byte Post", f'Some 3,000 scientists backed it. "{quote}."'),  # same outlet again
        art(3, "Metro Herald", f'The letter drew 3,000 scientists. Okafor said: “{quote.upper()}!”'),
        art(4, "Daily Wire Tech", f'More than 3,000 scientists signed. "{quote}," said Ines Okafor.', dup=1),
        art(5, "The Circuit", "Organisers said 40% of signatories work in industry."),
    ]
    facts = {f.key: f for f in story_facts(arts)}
    count = facts["3,000 scientist"]
    assert count.outlets == ("Byte Post", "Metro Herald")
    assert "3,000" in count.evidence[1].sentence
    q = [f for f in facts.values() if f.kind == "quote"]
    assert len(q) == 1 and q[0].outlets == ("Byte Post", "Metro Herald") and q[0].speaker == "Ines Okafor"
    assert facts["40% signatory"].outlets == ("The Circuit",)
    assert figures_not_in_their_sentences(facts.values()) == []


def test_outlets_are_counted_by_serving_domain_not_by_claimed_name():
    arts = [art(1, "Reuters", "The fund holds $2 billion in assets.", outlet="spam.example"),
            art(2, "AP", "The fund holds $2 billion in assets.", outlet="spam.example"),
            art(3, "BBC", "The fund holds $2 billion in assets.", outlet="spam.example")]
    (fact,) = story_facts(arts)
    assert len(fact.outlets) == 1


def test_signatures_and_researchers_are_two_facts():
    arts = [art(1, "A", "The letter has 1,200 signatures."), art(2, "B", "It was signed by 1,200 researchers.")]
    assert sorted(f.key for f in story_facts(arts)) == ["1,200 researcher", "1,200 signature"]


def test_rival_values_of_one_quantity_are_a_dispute_with_who_said_what():
    arts = [
        art(1, "Byte Post", "Agents designed 80% of the experiments the lab ran this year."),
        art(2, "Metro Herald", "Agents designed 90% of the experiments the lab ran this year."),
        art(3, "The Circuit", "Agents designed 80 percent of the experiments, the lab said."),
        art(4, "Ledger", "The company is at a $47 billion annual run rate."),
        art(5, "Signal", "The company has reached a $50 billion annual run rate."),
    ]
    facts = story_facts(arts)
    by_key = {f.key: f for f in facts}
    assert by_key["80% experiment"].dispute == by_key["90% experiment"].dispute != ""
    assert by_key["80% experiment"].outlets == ("Byte Post", "The Circuit")
    assert by_key["90% experiment"].outlets == ("Metro Herald",)
    assert by_key["$47 billion"].dispute == by_key["$50 billion"].dispute != ""
    assert "run rate" in by_key["$47 billion"].dispute
    assert by_key["$47 billion"].dispute != by_key["80% experiment"].dispute


def test_different_dates_for_one_event_are_a_dispute_but_one_outlet_giving_two_is_not():
    arts = [art(1, "A", "The licensing rule takes effect on March 3, officials said."),
            art(2, "B", "The licensing rule takes effect on March 5, officials said."),
            art(3, "C", "The round of $2.5bn values the company at $18bn.")]
    by_key = {f.key: f for f in story_facts(arts)}
    assert by_key["March 3"].dispute and by_key["March 3"].dispute == by_key["March 5"].dispute
    assert by_key["$2.5 billion"].dispute == "" and by_key["$18 billion"].dispute == ""


def test_different_quantities_with_some_words_in_common_are_not_a_dispute():
    arts = [art(1, "A", "Support for the licensing bill rose to 60% among likely voters, the poll found."),
            art(2, "B", "Opposition to the licensing bill fell to 30% among voters in the state, pollsters said.")]
    assert all(f.dispute == "" for f in story_facts(arts))


def test_quotes_of_different_speakers_are_not_merged():
    words = "This is the most important safety decision of the decade"
    arts = [art(1, "A", f'"{words}," said Ines Okafor.'), art(2, "B", f'"{words}," Tomas Reyes said.'),
            art(3, "C", f'“{words},” said Okafor.')]
    qs = sorted((f.speaker, f.outlets) for f in story_facts(arts) if f.kind == "quote")
    assert qs == [("Ines Okafor", ("A", "C")), ("Tomas Reyes", ("B",))]


def test_speaker_spellings():
    w = "we will publish every evaluation before any launch"
    assert quotes(f'"{w}," said Dr. Ines Okafor.') == [(w, "Ines Okafor")]
    assert quotes(f'“{w},” Okafor told reporters.') == [(w, "Okafor")]
    assert quotes(f'Ines Okafor said: "{w}."') == [(w, "Ines Okafor")]
    assert quotes(f'"{w}," he said.') == [(w, "")]


def test_short_quotes_and_years_are_not_facts():
    facts = story_facts([art(1, "A", 'He called it "a big step" in 2024.'), art(2, "B", 'It was "a big step" in 2024.')])
    assert facts == ()


def test_sentences_keep_abbreviations_and_initials():
    assert sentences("Dr. Okafor met U.S. officials. They agreed.") == ["Dr. Okafor met U.S. officials.", "They agreed."]


def test_work_is_bounded_per_article_and_per_sentence():
    from monitor.facts import MAX_TEXT
    from monitor.figures import MAX_SENTENCE

    filler = "The lab met. " * (MAX_TEXT // 13 + 10)
    late = art(1, "A", filler + "It ran 1,200 experiments.")
    assert story_facts([late]) == ()  # beyond the characters read per article
    long = "It ran 1,200 experiments " + "and more " * (MAX_SENTENCE // 9) + "."
    assert figures(long) == [] and story_facts([art(2, "B", long)]) == ()
    # hostile runs are one over-long "sentence" or many short ones: read, bounded, never quadratic
    assert story_facts([art(3, "C", "1," + ",".join(["000"] * 8000))]) == ()
    assert {f.key for f in story_facts([art(4, "D", "January 1. " * 20_000)])} == {"January 1"}
