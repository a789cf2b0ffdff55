"""Stories: reports of one event join, different events stay apart, `monitor cluster` round trip."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from monitor.cluster import Doc, cluster_docs, cluster_lines, related
from monitor.errors import ClusterError
from monitor.evaluate import bcubed, pairwise

T0 = datetime(2025, 3, 4, 9, tzinfo=timezone.utc)

HELIX_A = Doc("a1", "Helix Labs unveils Orion-4, a model that rewrites its own training code",
              "Helix Labs on Tuesday released Orion-4, which it says can rewrite parts of its own training "
              "pipeline. Chief scientist Mara Venn said the model ran 40% of internal experiments.",
              "Daily Wire Tech", T0)
HELIX_B = Doc("a2", "Orion-4: startup says its AI now does 40 percent of its own research",
              "The San Francisco company Helix Labs claims its new Orion-4 system carried out 40% of its "
              "experiments without human help, according to Mara Venn.", "Byte Post", T0 + timedelta(hours=5))
LETTER = Doc("a3", "Thousands of researchers sign open letter urging a pause on frontier AI",
             "More than 3,000 scientists signed a letter published by the Safe Horizons Coalition asking "
             "labs to stop training systems beyond today's frontier for six months.", "Capitol Ledger",
             T0 + timedelta(hours=2))
HELIX_JOBS = Doc("a4", "Helix Labs is hiring a team to study AI that improves itself",
                 "A job posting from Helix Labs seeks a lead for a new team that will study systems that help "
                 "train their successors. The role is based in San Francisco.", "The Circuit", T0 + timedelta(hours=3))
NOISE = [
    Doc(f"n{i}", title, "", "Metro Herald", T0 + timedelta(hours=i))
    for i, title in enumerate([
        "City council approves budget for new tram line",
        "Storm closes mountain passes for a second day",
        "Chip maker reports record quarterly revenue",
        "Museum reopens after two-year renovation",
    ])
]


def labels(docs):
    """doc id -> story label, as `monitor run` and `monitor cluster` group them."""
    return {d.id: int(lab) for d, lab in zip(docs, cluster_docs(docs))}


def test_two_reports_of_one_event_in_different_words_join():
    got = labels([HELIX_A, HELIX_B, LETTER, *NOISE])
    assert got["a1"] == got["a2"]
    assert got["a3"] != got["a1"]


def test_same_lab_report_and_job_posting_same_week_stay_apart():
    got = labels([HELIX_A, HELIX_B, HELIX_JOBS, LETTER, *NOISE])
    assert got["a4"] != got["a1"]


def bare(doc):
    return Doc(doc.id, doc.title, "", doc.source, doc.published)


def test_headlines_alone_join_at_the_looser_headline_cut():
    # Known limit: with bare headlines in a set this small (weak IDF), other AI headlines of the same
    # days (the letter, the job posting) join the report too; with their texts they stay apart (above).
    got = labels([bare(d) for d in (HELIX_A, HELIX_B, LETTER, *NOISE)])
    assert got["a1"] == got["a2"]
    assert len({got[d.id] for d in NOISE} | {got["a1"]}) == len(NOISE) + 1  # unrelated news stays apart


def test_same_event_kind_weeks_apart_stays_apart():
    later = Doc("a9", "Thousands of researchers sign open letter urging a pause on frontier AI",
                LETTER.text, "Byte Post", T0 + timedelta(days=30))
    got = labels([LETTER, later, *NOISE])
    assert got["a3"] != got["a9"]


def line(doc, **extra):
    return json.dumps({"id": doc.id, "title": doc.title, "text": doc.text, "url": "https://x.example/" + doc.id,
                       "source": doc.source, "published": doc.published.isoformat(), **extra})


def test_cluster_lines_round_trip():
    docs = [HELIX_A, HELIX_B, LETTER, *NOISE]
    rows = [line(d) for d in docs] + [json.dumps({"id": 99, "title": "Helix Labs Orion-4 rewrites its own code"})]
    out = [json.loads(x) for x in cluster_lines(rows)]
    assert [o["id"] for o in out] == [d.id for d in docs] + [99]  # input order, ids as given
    story = {o["id"]: o["story"] for o in out}
    assert story["a1"] == story["a2"] != story["a3"]


@pytest.mark.parametrize("bad,msg", [
    ("{not json", "line 2: not valid JSON"),
    (json.dumps({"title": "no id"}), "line 2: missing or invalid 'id'"),
    (json.dumps([1, 2]), "line 2: expected a JSON object"),
])
def test_cluster_lines_bad_line_names_its_number(bad, msg):
    with pytest.raises(ClusterError, match=msg):
        list(cluster_lines([line(HELIX_A), bad]))


def test_cluster_lines_keeps_going_on_odd_but_readable_items():
    rows = [
        json.dumps({"id": 1, "title": "Central bank raises rates by half a point to fight inflation",
                    "published": "Mon, 02 Nov 2026 10:00:00 GMT"}),
        json.dumps({"id": "b2", "title": "Rates go up 0.5 points as central bank battles prices", "published": 1793613600}),
        json.dumps({"id": 3, "title": "Storm Elin batters northern coast, thousands without power", "published": "yesterday"}),
        json.dumps({"id": 3, "title": "Thousands lose power as Storm Elin hits the north coast", "text": None}),
        json.dumps({"id": 5}),
    ]
    out = [json.loads(x) for x in cluster_lines(rows)]
    assert [o["id"] for o in out] == [1, "b2", 3, 3, 5]  # one line per input, ids as given, even repeated
    stories = [o["story"] for o in out]
    assert stories[0] == stories[1] and stories[2] == stories[3] and len(set(stories)) == 3


def test_related_links_similar_other_stories():
    stories = [
        (1, "Helix Labs unveils Orion-4, a model that rewrites its own training code"),
        (2, "Helix Labs hires team to study Orion-4 successors that rewrite their own code"),
        (3, "City council approves budget for new tram line"),
    ]
    rel = related(stories)
    assert rel[1] == (2,) and rel[2] == (1,)
    assert rel[3] == ()


def test_pairwise_and_bcubed_scores():
    gold = ["a", "a", "a", "b", "b"]
    assert pairwise(gold, gold) == (1.0, 1.0, 1.0)
    assert bcubed(gold, [1, 2, 3, 4, 5]) == pytest.approx((1.0, (1 / 3 * 3 + 1 / 2 * 2) / 5, 2 * 0.4 / 1.4))
    p, r, _ = pairwise(gold, [1, 1, 1, 1, 1])
    assert (p, r) == (pytest.approx(4 / 10), 1.0)


def demo_docs():
    from monitor.demo import load_corpus

    arts = [a for a in load_corpus().articles if a.relevant and not a.copy_of]
    return arts, [Doc(a.id, a.title, "\n\n".join(a.paragraphs), a.outlet, a.published) for a in arts]


# Measured BCubed F1 0.956 (full text; 0.822 before the background, names/figures and embedding signals) and
# 0.743 (headlines only; 0.725 before); a drop below these floors is a regression. Different events stay apart:
# pairwise precision 1.0 with text and BCubed precision 1.0 with headlines alone.
@pytest.mark.parametrize("headlines_only,floor", [(False, 0.9), (True, 0.70)])
def test_demo_corpus_on_subject_stories(headlines_only, floor):
    arts, docs = demo_docs()
    if headlines_only:
        docs = [Doc(d.id, d.title, "", d.source, d.published) for d in docs]
    got = labels(docs)
    gold = [a.story for a in arts]
    pred = [got[d.id] for d in docs]
    assert bcubed(gold, pred)[2] >= floor
    if headlines_only:
        assert bcubed(gold, pred)[0] >= 0.9  # stories of different events stay apart
    else:
        assert pairwise(gold, pred)[0] >= 0.9


# ---------------------------------------------------------------- the fast paths give the plain results

def _plain_word_grams(title, body):
    """Word 1-2 grams as a per-doc list of strings, the straightforward way."""
    import re

    from monitor import features

    out = []
    for part, reps in ((title, features.TITLE_TIMES), (body, 1)):
        kept = [s for s in (features._stem(w) for w in re.findall(features._TOKEN, part)) if s not in features._STOP]
        out += (kept + [a + " " + b for a, b in zip(kept, kept[1:])]) * reps
    return out


def _plain_names(title, body):
    """Numbers, acronyms and capitalised words inside sentences (not in Title Case titles), token by token;
    then two-word names (two capitalised words in a row, the first not ending a sentence)."""
    from monitor import features

    out = []
    for part, is_title in ((title, True), (body, False)):
        kinds = [features._kind(t) for t in part.split()]
        titlecase = is_title and sum(k[3] for k in kinds) > 0.6 * max(len(kinds), 1)
        prev_end = True
        for kind, feat, ends, _ in kinds:
            if kind in (1, 2) or (kind == 3 and not prev_end and not titlecase):
                out.append(feat)
            prev_end = ends
        if not titlecase:
            out += [a[1] + " " + b[1] for a, b in zip(kinds, kinds[1:]) if a[0] in (2, 3) and b[0] in (2, 3) and not a[2]]
    return out


ODD_TEXTS = [
    ("Helix Labs Unveils Orion-4 Model", "Helix Labs said on Tuesday its Orion-4 model ran 40% of tests. Mara Venn agreed."),
    ("The the THE", "And the of. U.S. officials’ report: 3,000 jobs, €2.5bn - Kestrel’s CEO Lena Castell."),
    ("", ""),
    ("Übersee-Bank öffnet in Zürich", "Die Übersee-Bank sagt, 12 Filialen öffnen. ΣΟΦΙΑ and İstanbul desks too."),
    ("storm storms stormy", "Storms hit the coast; the storm's path... ‘Quoted’ words “here” (and there)."),
]


def test_vectorised_counts_equal_plain_count_vectorizer():
    from sklearn.feature_extraction.text import CountVectorizer

    from monitor import features

    titles = [t for t, _ in ODD_TEXTS] + [d.title for d in (HELIX_A, HELIX_B, LETTER, HELIX_JOBS, *NOISE)]
    bodies = [b for _, b in ODD_TEXTS] + [d.text for d in (HELIX_A, HELIX_B, LETTER, HELIX_JOBS, *NOISE)]
    for fast, plain in ((features._word_counts, _plain_word_grams), (features._name_counts, _plain_names)):  # noqa
        vec = CountVectorizer(analyzer=lambda x: x, lowercase=False)
        want = vec.fit_transform([plain(t, b) for t, b in zip(titles, bodies)])
        got = fast(titles, bodies)[0]
        assert got.shape == want.shape
        assert (got != want).nnz == 0


def test_flat_cut_equals_fcluster():
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    from monitor.cluster import _linkage_labels

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(2, 30))
        cond = rng.random(n * (n - 1) // 2) * 1.4
        if trial % 2:
            cond = np.round(cond, 1)  # ties
        want = fcluster(linkage(cond, method="average"), t=0.75, criterion="distance")
        got = _linkage_labels(cond, n, 0.75)
        assert len(set(zip(want, got))) == len(set(want)) == len(set(got))  # the same partition


def test_char_gram_weights_are_those_of_sklearns_tfidf_transformer():
    """features._tfidf weighs by hand as TfidfTransformer(sublinear_tf=True) does, to the last bit."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfTransformer

    from monitor.features import _char_counts, _tfidf

    titles = ["Helix Labs releases Orion-4", "Orion-4 from Helix Labs rewrites its own code", "", "Zürich straße Zürich",
              "helix helix HELIX labs", "Central bank raises key rate by a quarter point to 4.5%"]
    for counts in (_char_counts(titles), csr_matrix(np.array([[0, 3, 1], [2, 0, 0], [0, 0, 0]])), _char_counts(["", " "])):
        mine, theirs = _tfidf(counts), TfidfTransformer(sublinear_tf=True).fit_transform(counts) if counts.shape[1] else None
        if theirs is None:
            assert mine.shape == counts.shape and mine.nnz == 0
            continue
        for a, b in ((mine.data, theirs.data), (mine.indices, theirs.indices), (mine.indptr, theirs.indptr)):
            assert np.array_equal(a, b)
