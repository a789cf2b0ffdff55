"""Relevance: on-subject items pass, passing mentions in off-subject articles do not."""

import pytest

from monitor.models import Topic
from monitor.topics import RELEVANCE_THRESHOLD, is_relevant, relevance

AGENTS = Topic(
    name="AI self-improvement",
    phrases=("recursive self-improvement", "self-improving AI", "automated AI research", "AI pause"),
    terms=("AI agents", "superintelligence", "AGI", "moratorium", "pause", "frontier model"),
    exclude=("football", "stablecoin", "crypto payments"),
)
TOPICS = (AGENTS,)

FILLER = ("The club had gone four matches without a win and the manager rotated the squad again, "
          "bringing in two young midfielders and a new goalkeeper for the away fixture. ") * 8


def rel(title, text=""):
    s = relevance(title, text, TOPICS)
    return is_relevant(s, TOPICS)


def test_headline_only_item_with_a_phrase_passes():
    assert rel("Lab claims first step toward recursive self-improvement")
    assert rel("Researchers debate Self-Improving AIs at summit")  # case, plural


def test_on_subject_text_passes_without_phrase_in_title():
    text = ("The lab's new system runs automated AI research around the clock. Its authors argue that "
            "recursive self-improvement is no longer speculative, and critics renewed calls for a "
            "moratorium on frontier models. ") * 3
    assert rel("A lab says its system now does most of its own research", text)


@pytest.mark.parametrize("title,lead", [
    ("Late winner keeps United in the title race", "Fans cheered the football side. "),
    ("Payments firm launches stablecoin checkout", "The crypto payments company expands to Europe. "),
    ("Phone maker unveils thinner flagship with brighter screen", "The handset ships next month. "),
])
def test_one_passing_mention_in_a_long_off_subject_article_fails(title, lead):
    text = lead + FILLER + "Some analysts expect AI agents to book tickets one day. " + FILLER
    assert not rel(title, text)


def test_exclusion_pulls_the_score_down():
    plain = relevance("AGI talk at the summit", "", TOPICS)
    excluded = relevance("AGI talk at the football summit", "", TOPICS)
    assert excluded < plain


def test_word_boundaries_and_hyphen_space_tolerance():
    assert relevance("Recursive self improvement explained", "", TOPICS) >= RELEVANCE_THRESHOLD
    assert relevance("Pausedown festival returns", "", TOPICS) == 0  # no match inside a word


def test_empty_topics_make_everything_relevant():
    assert is_relevant(relevance("Anything at all", "", ()), ())
    assert is_relevant(0.0, [])


def test_recut_names_only_the_articles_that_cross_the_threshold():
    from monitor.topics import recut

    scores = [(1, 0.9, True), (2, 0.9, False), (3, 0.2, True), (4, 0.2, False)]
    assert recut(scores, TOPICS, 0.5) == [(2, True), (3, False)]
    assert recut(scores, (), 0.5) == [(2, True), (4, True)]  # no topics: everything is relevant
