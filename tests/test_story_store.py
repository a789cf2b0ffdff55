"""What stories need from the store: the v1 -> v2 migration keeps data, the statements a run repeats per article
are served by indexes (no scan of the archive), merge chains resolve, new stories get their ids and slugs,
the clustering's parts are kept and forgotten, and slugs (both backends where the store is the same)."""

from __future__ import annotations

import sqlite3

from monitor.store import MIGRATIONS, Store
from monitor.stories import _slug

from tests.db import db_rows, db_write


def _v1(path):
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO stories(id, slug, title, updated) VALUES (1, '1-a', 'A', '2026-11-01T00:00:00+00:00')")
    db.execute("INSERT INTO articles(id, url, source, title, published, first_seen, story_id) "
               "VALUES (1, 'https://a.example/1', 'A', 'A', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', 1)")
    db.commit()
    db.close()


def test_a_v1_database_is_migrated_and_keeps_its_stories(tmp_path):
    _v1(tmp_path / "m.sqlite3")
    with Store.open(tmp_path / "m.sqlite3") as store:
        (story,) = store.stories()
        assert story.slug == "1-a" and [a.id for a in story.articles] == [1]
        assert db_rows(store, "SELECT merged_into FROM stories")[0][0] is None
        assert store.merged_stories() == []


def plan(store: Store, sql: str, params=()) -> str:
    return " | ".join(r[3] for r in db_rows(store, "EXPLAIN QUERY PLAN " + sql, params))


def test_per_article_statements_use_indexes_not_a_scan(tmp_path):
    with Store.open(tmp_path / "m.sqlite3") as store:
        moving = plan(store, "UPDATE articles SET story_id = ? WHERE id = ? OR duplicate_of = ?", (1, 2, 2))
        assert "articles_duplicate" in moving and "SCAN articles" not in moving
        # the others read partial indexes that hold only the rows they want (a full scan reads every text)
        for sql, index in (
                ("SELECT published FROM articles INDEXED BY articles_unassigned "
                 "WHERE relevant = 1 AND story_id IS NULL AND duplicate_of IS NULL",
                 "articles_unassigned"),
                ("SELECT id, title, text, summary FROM articles WHERE scored = 0", "articles_unscored"),
                ("SELECT id FROM stories WHERE dirty = 1", "stories_dirty")):
            assert f"INDEX {index}" in plan(store, sql), (sql, plan(store, sql))


def test_merge_chains_resolve_to_the_last_survivor(database):
    with Store.open(database) as store, db_write(store) as db:
        for i in (1, 2, 3):
            db.execute("INSERT INTO stories(id, slug, title, updated) VALUES (?, ?, 't', 'x')", (i, f"{i}-t"))
        db.execute("UPDATE stories SET merged_into = 2 WHERE id = 3")
        db.execute("UPDATE stories SET merged_into = 1 WHERE id = 2")
    with Store.open(database) as store:
        assert [(m.id, m.slug, m.into) for m in store.merged_stories()] == [(2, "2-t", 1), (3, "3-t", 1)]


def test_opened_stories_get_ids_and_slugs_and_their_articles_follow(database):
    with Store.open(database) as store:
        with db_write(store) as db:
            for i in (1, 2):
                db.execute("INSERT INTO articles(id, url, source, title, published, first_seen, relevant) "
                           "VALUES (?, ?, 'A', 'T', '2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', 1)",
                           (i, f"https://a.example/{i}"))
            db.execute("UPDATE articles SET duplicate_of = 1 WHERE id = 2")
        assert store.unassigned_published() == ["2026-11-01T00:00:00+00:00"]
        ids = store.save_assignment(opened=["Tunnel opens", "Bridge shuts"], moves={1: "new:1"}, merged={}, changed=[],
                                    now="2026-11-02T00:00:00+00:00", slug=_slug)
        assert ids == [1, 2]
        assert [(s.id, s.slug, [a.id for a in s.articles]) for s in store.stories()] == [(2, "2-bridge-shuts", [1, 2])]
        assert store.dirty_story_ids() == [1, 2] and store.unassigned_published() == []
        assert store.first_published([2]) == [(2, "2026-11-01T00:00:00+00:00")]


def test_clustering_parts_are_kept_while_their_digest_holds(database):
    with Store.open(database) as store:
        store.save_doc_parts("article", [(1, b"d1", b"\x00parts-1"), (2, b"d2", b"parts-2"), (3, b"d3", b"parts-3")])
        store.save_doc_parts("article", [(2, b"d2-new", b"parts-2-new")], keep=[1, 2])  # 3 leaves the window
        assert store.doc_parts("article", {1: b"d1", 2: b"d2-new", 3: b"d3"}) == {1: b"\x00parts-1", 2: b"parts-2-new"}
        assert store.doc_parts("article", {1: b"changed"}) == {}
        assert store.doc_parts("story", {1: b"d1"}) == {}


def test_slugs_end_at_a_word_boundary():
    title = "Halcyon Labs says its models now run 80% of its own AI research experiments"
    slug = _slug(7, title)
    # 60 characters would end inside "research": the slug stops after the last whole word
    assert slug == "7-halcyon-labs-says-its-models-now-run-80-of-its-own-ai"
    assert _slug(8, "x" * 80) == "8-" + "x" * 60  # one word longer than the limit is cut
    assert _slug(9, "Ünïcode — only") == "9-ncode-only" and _slug(10, "—") == "10"
