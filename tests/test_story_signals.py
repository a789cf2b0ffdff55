"""The signals that hold stories together on real coverage: background weights, names and figures,
embeddings; and the cases they exist for (five angles on one report, a rival's hiring, a week apart)."""

import random
from datetime import timedelta

import numpy as np
import pytest

from monitor import background, embeddings, features
from monitor.cluster import Doc, cluster_docs, signals
from monitor.errors import ModelError
from tests.coverage_cases import FIVE, OFF_TOPIC, RIVAL, T0


def partition(labels, docs):
    groups = {}
    for d, lab in zip(docs, labels):
        groups.setdefault(int(lab), set()).add(d.id)
    return {frozenset(g) for g in groups.values()}


def test_five_angles_on_one_report_make_one_story_apart_from_the_rival_and_off_topic():
    docs = [*FIVE, *RIVAL, *OFF_TOPIC]
    got = partition(cluster_docs(docs), docs)
    assert frozenset(d.id for d in FIVE) in got
    assert frozenset(d.id for d in RIVAL) in got
    for d in OFF_TOPIC:
        assert frozenset([d.id]) in got


def test_five_reports_join_even_when_they_are_the_whole_window():
    got = cluster_docs(FIVE)
    assert len(set(got.tolist())) == 1


def test_five_reports_stay_one_story_as_they_arrive_one_by_one():
    # what re-clustering the window each hourly run sees: the reports so far, alone in the window
    for k in range(2, len(FIVE) + 1):
        assert len(set(cluster_docs(FIVE[:k]).tolist())) == 1, f"split after {k} reports"
    with_others = [*FIVE[:3], RIVAL[0], OFF_TOPIC[0]]
    got = partition(cluster_docs(with_others), with_others)
    assert frozenset(["f1", "f2", "f3"]) in got and frozenset(["r1"]) in got


def test_partition_does_not_depend_on_input_order():
    docs = [*FIVE, *RIVAL, *OFF_TOPIC]
    want = partition(cluster_docs(docs), docs)
    rng = random.Random(5)
    for _ in range(5):
        shuffled = docs[:]
        rng.shuffle(shuffled)
        assert partition(cluster_docs(shuffled), shuffled) == want


def test_labels_number_clusters_in_input_order():
    docs = [OFF_TOPIC[0], *FIVE]
    assert cluster_docs(docs).tolist() == [0, 1, 1, 1, 1, 1]


def test_similar_events_a_week_apart_stay_apart():
    first = Doc("w1", "Nimbus Cloud outage takes down banking apps and airline check-in",
                "A four-hour failure in Nimbus Cloud's eastern region knocked out services for banks and airlines on "
                "Friday. Nimbus blamed a faulty network update and promised service credits to customers.",
                "Tech Ledger", T0)
    second = Doc("w2", "Nimbus Cloud outage hits banking apps and check-in again",
                 "A failure in Nimbus Cloud's eastern region knocked out services for banks and an airline on Friday, "
                 "a week after the last one. Nimbus blamed a power fault and promised service credits.",
                 "Gadget Orbit", T0 + timedelta(days=7))
    assert len(set(cluster_docs([first, second]).tolist())) == 2
    same_day = Doc("w3", second.title, second.text, second.source, T0 + timedelta(hours=3))
    assert len(set(cluster_docs([first, same_day]).tolist())) == 1  # the texts alone would join


# ---------------------------------------------------------------- background weights

def test_background_weights_rare_names_over_common_words():
    assert background.word_weight("the") == 1.0
    assert background.word_weight("company") < background.word_weight("helix") < background.CAP
    assert background.word_weight("zzqxv") == background.CAP  # unknown to English: a name or a code
    assert background.number_weight("#2025") < background.number_weight("#80")
    assert background.number_weight("#3") < background.number_weight("#612")
    assert background.name_weight("@mara @venn") > background.name_weight("@mara")


def test_a_name_every_doc_shares_weighs_more_than_a_common_word_one_doc_has():
    # in a window of five docs the docs' own IDF gives the lab's name (in all five) the lowest weight
    titles = ["Helix Labs study", "Helix Labs report", "Helix Labs figures", "Helix Labs agents", "Helix Labs company"]
    counts, bg = features._word_counts(titles, [""] * 5)
    row = features._blended_tfidf(counts, bg, features.BG_WORDS)[4].toarray().ravel()
    assert row[_column(titles, "helix")] > row[_column(titles, "company")]
    plain = features._tfidf(counts)[4].toarray().ravel()  # the docs' IDF alone: the other way round
    assert plain[_column(titles, "helix")] < plain[_column(titles, "company")]


def _column(titles, stem):
    """Column of a unigram in _word_counts' output: the same order CountVectorizer would give."""
    from sklearn.feature_extraction.text import CountVectorizer

    grams = []
    for t in titles:
        kept = [features._stem(w) for w in t.split() if features._stem(w) not in features._STOP]
        grams.append((kept + [a + " " + b for a, b in zip(kept, kept[1:])]) * features.TITLE_TIMES)
    vec = CountVectorizer(analyzer=lambda x: x, lowercase=False).fit(grams)
    return vec.vocabulary_[stem]


# ---------------------------------------------------------------- names and figures

def _shared(a_text, b_text):
    docs = [Doc("a", "", a_text), Doc("b", "", b_text)]
    _, _, K = features.featurize(docs)
    return int((K @ K.T).toarray()[0, 1])


def test_two_word_names_are_specific_evidence_a_surname_alone_is_not():
    assert _shared("The study was led by Jack Okafor on Monday.", "Researcher Jack Okafor said so.") == 1
    assert _shared("The study was led by Jack Okafor on Monday.", "Researcher Lena Okafor said so.") == 0


def test_specific_figures_meet_across_wordings_years_and_small_counts_do_not():
    assert _shared("They shipped eight times more code.", "Output rose 8x in a year.") == 1
    assert _shared("More than 80% of merged code.", "Over 80 percent of the code it merged.") == 1
    assert _shared("In 2025 the firm hired 3 people.", "In 2025 it opened 3 offices.") == 0


def test_shared_specific_evidence_raises_similarity_beyond_the_first_item():
    a = "Mara Venn and Tomas Reyes report that 612 engineers wrote 83% of the code."
    b = "A study by Mara Venn and Tomas Reyes of 612 engineers found agents wrote 83% of the code."
    c = "A study by Ines Moravec and Piet Garber of 540 engineers found agents wrote 71% of the code."
    docs = [Doc("a", "Agents write code", a), Doc("b", "Agents write code", b), Doc("c", "Agents write code", c)]
    sig, _ = signals(docs)
    no_evidence = type(sig)(sig.X, sig.E, sig.w, None)
    i, j = np.array([0, 0]), np.array([1, 2])
    with_k, without = sig.pairs(i, j), no_evidence.pairs(i, j)
    assert with_k[0] - without[0] > 0.1  # four specific items shared (two names, two figures)
    assert with_k[1] == pytest.approx(without[1])  # none shared


# ---------------------------------------------------------------- embeddings

def test_embeddings_are_unit_rows_and_paraphrases_are_closer_than_other_news():
    E = embeddings.embed(["Storm floods the coastal road for a third day",
                          "Coastal road still under water after the storm",
                          "Bank raises its dividend after a strong quarter", ""])
    assert E.shape == (4, embeddings.DIM) and E.dtype == np.float32
    assert np.allclose(np.linalg.norm(E[:3], axis=1), 1.0, atol=1e-5)
    assert E[0] @ E[1] > E[0] @ E[2] + 0.2


def test_embedding_model_that_cannot_load_fails_with_one_clear_error(monkeypatch):
    import wordllama

    def broken(*args, **kwargs):
        raise FileNotFoundError("weights/l2_supercat_256.safetensors")

    monkeypatch.setattr(embeddings, "_MODEL", None)
    monkeypatch.setattr(wordllama.WordLlama, "load", broken)
    with pytest.raises(ModelError, match="cannot load the embedding model shipped in the 'wordllama' package"):
        embeddings.embed(["a title"])


def test_fast_embedding_equals_the_packages_own():
    texts = ["Helix Labs unveils Orion-4, a model that rewrites its own training code.",
             "“Quoted” words — and Übersee-Bank's $65 billion; 3x faster!", "The the THE", "one"]
    mine = embeddings.embed(texts)
    theirs = embeddings.model().embed(texts, norm=True)
    assert np.allclose(mine, theirs, atol=1e-5)


def test_demo_corpus_on_subject_events_in_at_most_12_stories_and_no_wrong_merge():
    from monitor.demo import load_corpus
    from monitor.evaluate import pairwise

    arts = [a for a in load_corpus().articles if a.relevant and not a.copy_of]
    docs = [Doc(a.id, a.title, "\n\n".join(a.paragraphs), a.outlet, a.published) for a in arts]
    got = cluster_docs(docs)
    assert len({a.story for a in arts}) == 10
    assert len(set(got.tolist())) <= 12  # measured 12
    assert pairwise([a.story for a in arts], got.tolist())[0] == 1.0  # no two events share a story


def test_centring_removes_the_shared_direction_of_a_large_set_but_not_of_a_small_one():
    rng = np.random.default_rng(3)
    common = rng.normal(size=embeddings.DIM)
    E = common + 0.5 * rng.normal(size=(27000, embeddings.DIM))  # 27,000 docs: 90% of the mean removed
    E = (E / np.linalg.norm(E, axis=1, keepdims=True)).astype(np.float32)
    before = float((E[:200] @ E[200:400].T).mean())
    after = embeddings.centre(E, 3000.0)
    assert before > 0.5 and abs(float((after[:200] @ after[200:400].T).mean())) < 0.2
    small = embeddings.centre(E[:5], 3000.0)  # five reports of one story keep what they share
    assert float((small @ small.T)[np.triu_indices(5, 1)].mean()) > before - 0.01
