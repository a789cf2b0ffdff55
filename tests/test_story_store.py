"""What stories need from the store: the v1 -> v2 migration keeps data, the statements a run repeats per article
are served by indexes (no scan of the archive), merge chains resolve, and slugs."""

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


def test_merge_chains_resolve_to_the_last_survivor(tmp_path):
    with Store.open(tmp_path / "m.sqlite3") as store, db_write(store) as db:
        for i in (1, 2, 3):
            db.execute("INSERT INTO stories(id, slug, title, updated) VALUES (?, ?, 't', 'x')", (i, f"{i}-t"))
        db.execute("UPDATE stories SET merged_into = 2 WHERE id = 3")
        db.execute("UPDATE stories SET merged_into = 1 WHERE id = 2")
    with Store.open(tmp_path / "m.sqlite3") as store:
        assert [(m.id, m.slug, m.into) for m in store.merged_stories()] == [(2, "2-t", 1), (3, "3-t", 1)]


def test_slugs_end_at_a_word_boundary():
    title = "Halcyon Labs says its models now run 80% of its own AI research experiments"
    slug = _slug(7, title)
    # 60 characters would end inside "research": the slug stops after the last whole word
    assert slug == "7-halcyon-labs-says-its-models-now-run-80-of-its-own-ai"
    assert _slug(8, "x" * 80) == "8-" + "x" * 60  # one word longer than the limit is cut
    assert _slug(9, "Ünïcode — only") == "9-ncode-only" and _slug(10, "—") == "10"
