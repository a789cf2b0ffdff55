"""What a run keeps of each article between runs (features.Parts, stored per article and per story) gives
the same signals, labels and related stories as computing everything afresh, and a changed text is read
again rather than served from what was kept."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from monitor import cluster, embeddings, features, stories
from monitor.run_summary import RunSummary
from monitor.store import Store

from tests.coverage_cases import FIVE, OFF_TOPIC, RIVAL
from tests.db import db_rows, db_write
from tests.test_cluster import HELIX_A, HELIX_B, HELIX_JOBS, LETTER, NOISE

DOCS = [*FIVE, *RIVAL, *OFF_TOPIC, HELIX_A, HELIX_B, HELIX_JOBS, LETTER, *NOISE]


def _same(a, b) -> bool:
    a, b = a.tocsr(), b.tocsr()
    return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data))


def _kept(docs, batch):
    """Parts made a few docs at a time (as runs make them) and read back from their stored form."""
    parts = []
    for s in range(0, len(docs), batch):
        parts += cluster.doc_parts(docs[s : s + batch])
    return [features.Parts.loads(p.dumps()) for p in parts]


def test_kept_parts_give_the_same_matrices_to_the_last_bit():
    X, R, K = features.featurize(DOCS)
    for batch in (1, 3, len(DOCS)):
        X2, R2, K2 = features.assemble(_kept(DOCS, batch), features.times(DOCS))
        assert _same(X, X2) and _same(R, R2) and _same(K, K2)


def test_an_embedding_row_depends_on_its_text_alone():
    texts = features.embedding_texts(DOCS)
    together = embeddings.embed(texts)
    for i in (0, 5, len(texts) - 1):
        assert np.array_equal(together[i], embeddings.embed([texts[i]])[0])


def test_labels_from_kept_parts_equal_labels_from_the_texts():
    want = cluster.cluster_docs(DOCS)
    assert np.array_equal(cluster.cluster_docs(DOCS, parts=_kept(DOCS, 4)), want)
    assert len(set(want[: len(FIVE)].tolist())) == 1  # the five reports are one story either way


def test_parts_of_another_format_are_not_used():
    blob = bytearray(cluster.doc_parts(DOCS[:1])[0].dumps())
    blob[0] ^= 0xFF  # the format number
    assert features.Parts.loads(bytes(blob)) is None
    assert features.Parts.loads(b"\x01") is None


def test_related_of_the_changed_stories_equals_related_over_all():
    texts = [(100 + i, f"{d.title}. {features.lead(d.text, 40)}") for i, d in enumerate(DOCS)]
    full = cluster.related(texts)
    assert any(full.values())  # the five reports name each other
    changed = [100, 103, 100 + len(DOCS) - 1]
    parts = _kept([cluster.Doc(id=str(i), title=t) for i, t in texts], 5)
    assert cluster.related(texts, changed=changed, parts=parts) == {i: full[i] for i in changed}


def _store(store: Store, doc, ident: int) -> None:
    with db_write(store) as db:
        db.execute("INSERT INTO articles(id, url, source, title, text, published, published_has_time, extracted, relevant, "
                   "scored, first_seen) VALUES (?, ?, ?, ?, ?, ?, 1, 1, 1, 1, ?)",
                   (ident, f"https://{doc.source.split()[0].lower()}.example/{doc.id}", doc.source, doc.title, doc.text,
                    doc.published.isoformat(), doc.published.isoformat()))


def test_a_run_reuses_what_it_kept_and_reads_a_changed_text_again(tmp_path):
    a, b, off, late = FIVE[0], FIVE[1], OFF_TOPIC[0], OFF_TOPIC[1]
    with Store.open(tmp_path / "m.sqlite3") as store:
        _store(store, a, 1)
        _store(store, off, 2)
        stories.assign_stories(store, RunSummary(), a.published + timedelta(hours=1))
        story = dict(db_rows(store, "SELECT id, story_id FROM articles"))
        assert story[1] != story[2]
        kept = dict(db_rows(store, "SELECT id, parts FROM doc_parts WHERE kind = 'article'"))
        assert set(kept) == {1, 2}
        # the off-topic page is extracted again and now carries the lab's report in another outlet's words
        with db_write(store) as db:
            db.execute("UPDATE articles SET title = ?, text = ? WHERE id = 2", (b.title, b.text))
        _store(store, late, 3)  # a new article: the window is clustered again
        stories.assign_stories(store, RunSummary(), late.published + timedelta(hours=1))
        story = dict(db_rows(store, "SELECT id, story_id FROM articles"))
        now = dict(db_rows(store, "SELECT id, parts FROM doc_parts WHERE kind = 'article'"))
    assert story[2] == story[1] != story[3]
    assert now[1] == kept[1] and now[2] != kept[2]  # the unchanged article's parts reused, the changed one's made again
    assert sorted(now) == [1, 2, 3]
