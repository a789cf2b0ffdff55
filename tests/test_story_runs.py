"""Stories across runs, end to end on loopback: the same stories whatever the arrival order, a bridging report
merging two stories (the old page redirects), syndicated copies as one report with the original's date."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import load_config
from monitor.loopback import LoopbackServer
from monitor.pipeline import export_articles, run
from monitor.store import Store

from tests.db import db_rows, db_write

from .story_sample import COPY, REPORTS, published, serve, write_config

VANTOR = ["/harbour/vantor-audit", "/meadow/vantor-people", "/coastline/vantor-wire"]
SOLACE = ["/harbour/solace-benchmark", "/meadow/solace-lunde", "/coastline/solace-explainer"]
PAUSE = ["/harbour/pause-pledge", "/meadow/pause-council"]
IN_ORDER = sorted([*REPORTS, COPY[0]], key=published)


def at(iso: str, minutes: int = 30):
    t = datetime.fromisoformat(iso) + timedelta(minutes=minutes)
    return lambda: t


def site(config) -> list[dict]:
    return json.loads((config.site_dir / "stories.json").read_text())["stories"]


def partition(stories: list[dict]) -> set[frozenset[str]]:
    return {frozenset("/" + a["url"].split("/", 3)[3] for a in s["articles"])
            for s in stories}


def by_first(stories: list[dict]) -> list[dict]:
    return sorted(stories, key=lambda s: s["first_published"])


def test_one_run_and_one_report_per_hourly_run_give_the_same_stories(tmp_path):
    with LoopbackServer() as server:
        serve(server, IN_ORDER)
        (tmp_path / "once").mkdir()
        once = load_config(write_config(tmp_path / "once", server))
        run(once, now=at("2026-11-04T11:00:00+00:00"), extract_workers=0)
        (tmp_path / "hourly").mkdir()
        hourly = load_config(write_config(tmp_path / "hourly", server))
        seen_ids: set[int] = set()
        pages: dict[int, str] = {}
        for k, path in enumerate(IN_ORDER):
            serve(server, IN_ORDER[: k + 1])
            run(hourly, now=at(published(path)), extract_workers=0)
            for s in site(hourly):
                assert pages.setdefault(s["id"], s["page"]) == s["page"]  # an address never changes once published
            seen_ids |= {s["id"] for s in site(hourly)}
    a, b = site(once), site(hourly)
    # the same partition of the reports, and it is the three events (the copy folded into its original)
    expected = {frozenset(VANTOR), frozenset(SOLACE), frozenset(PAUSE)}
    assert partition(a) == partition(b) == expected, (partition(a), partition(b))
    # ids: in both, a story's id is that of the first story its reports opened, so ids follow first reports;
    # every id the hourly site ever showed is still a story or is listed under the one it merged into
    for stories in (a, b):
        assert [s["id"] for s in by_first(stories)] == sorted(s["id"] for s in stories)
    merged_into = {old: s["id"] for s in b for old in s["merged"]}
    assert seen_ids == {s["id"] for s in b} | set(merged_into)
    assert all(not s["merged"] for s in a) and len(merged_into) >= 1  # hourly, the bridged Vantor story merged


def test_a_bridging_report_merges_two_earlier_stories_and_the_old_page_redirects(server, tmp_path):
    config = load_config(write_config(tmp_path, server))
    serve(server, VANTOR[:1])
    run(config, now=at(published(VANTOR[0])), extract_workers=0)
    serve(server, VANTOR[:2])
    run(config, now=at(published(VANTOR[1])), extract_workers=0)
    before = by_first(site(config))
    assert len(before) == 2, "precondition: the figures report and the people report are two stories on their own"
    older, younger = before
    old_page = config.site_dir / younger["page"]
    assert "Ilse Marrow" in old_page.read_text()  # a real story page, built by mkdocs

    serve(server, VANTOR)
    summary = run(config, now=at(published(VANTOR[2])), extract_workers=0)
    assert summary.merged_stories == 1
    (story,) = site(config)
    assert story["id"] == older["id"] and story["page"] == older["page"]  # the older story survives, same address
    assert story["merged"] == [younger["id"]]
    assert {"/" + a["url"].split("/", 3)[3] for a in story["articles"]} == set(VANTOR)
    html = old_page.read_text()
    refresh = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]+)">', html).group(1)
    assert f'<a href="{refresh}">' in html and not refresh.startswith(("/", "http"))  # relative: works from file://
    target = (old_page.parent / refresh).resolve()
    assert target == (config.site_dir / older["page"]).resolve()
    assert "Odo Brask" in target.read_text()  # the survivor now holds the people report
    # a later run with nothing new clusters nothing and leaves the redirect in place
    summary = run(config, now=at(published(VANTOR[2]), minutes=120), extract_workers=0)
    assert summary.new_stories == summary.updated_stories == summary.merged_stories == 0
    assert old_page.read_text() == html


def test_a_copy_folded_by_rel_canonical_keeps_the_original_date(server, tmp_path):
    config = load_config(write_config(tmp_path, server))
    original = SOLACE[0]
    # the original's page is down this run: the copy (which names it as canonical) is extracted first
    serve(server, [original, COPY[0]], failing=(original,))
    run(config, now=at(COPY[2]), extract_workers=0)
    with Store.open(config.database) as store:
        (article,) = store.articles()
    assert article.url.endswith(original) and article.source == "Harbour Post"
    assert article.published == datetime.fromisoformat(published(original))  # 15:00, not the copy's 20:00
    assert not article.extracted  # a copy's text never stands in for the original's: it waits for its own page
    serve(server, [original, COPY[0]])
    run(config, now=at(COPY[2], minutes=24 * 60), extract_workers=0)
    (story,) = site(config)
    assert story["first_published"].startswith("2026-11-03T15:00") and story["sources"] == ["Harbour Post"]


def test_an_earlier_near_duplicate_takes_the_place_of_a_later_copy(server, tmp_path):
    config = load_config(write_config(tmp_path, server))
    # the copy (no rel=canonical back: only its text tells) is seen first, the original a run later
    serve(server, [COPY[0]], copy_points_back=False)
    run(config, now=at(COPY[2]), extract_workers=0)
    (first,) = site(config)
    assert first["sources"] == ["Relay Daily"]
    serve(server, [COPY[0], SOLACE[0], SOLACE[1]], copy_points_back=False)
    summary = run(config, now=at(published(SOLACE[1]), minutes=300), extract_workers=0)
    assert summary.duplicates == 1
    (story,) = site(config)
    assert story["id"] == first["id"]  # the story keeps its id and page
    assert story["first_published"].startswith("2026-11-03T15:00")  # the original's date
    # the copy is listed, but it is no outlet of its own and no report of its own
    assert story["sources"] == ["Harbour Post", "Meadow Gazette"] and len(story["articles"]) == 3
    page = (config.site_dir / story["page"]).read_text()
    assert "2 outlets · 2 articles" in re.sub(r"<[^>]+>", "", page)
    with Store.open(config.database) as store:
        rows = {r["url"]: r for r in export_articles(store)}
    orig = next(r for u, r in rows.items() if u.endswith(SOLACE[0]))
    assert orig["sources"] == ["Harbour Post", "Relay Daily"] and orig["original"] is True
    (copy,) = [r for u, r in rows.items() if u.endswith(COPY[0])]
    assert copy["original"] is False and copy["copy_of"] == orig["url"]  # exported as a copy of the original


def _store_report(store: Store, path: str, when: datetime) -> int:
    outlet, title, _, paragraphs = REPORTS[path]
    with db_write(store) as db:
        return db.execute(
            "INSERT INTO articles(url, source, title, text, published, published_has_time, extracted, relevant, scored, "
            "first_seen) VALUES (?, ?, ?, ?, ?, 1, 1, 1, 1, ?)",
            (f"https://{outlet.split()[0].lower()}.example{path}", outlet, title, " ".join(paragraphs), when.isoformat(),
             when.isoformat())).lastrowid


def test_articles_older_than_the_window_stay_as_anchors_of_their_story(tmp_path):
    from monitor import stories
    from monitor.run_summary import RunSummary

    day0 = datetime.fromisoformat("2026-11-01T08:00:00+00:00")
    with Store.open(tmp_path / "m.sqlite3") as store:
        a = _store_report(store, VANTOR[0], day0)
        b = _store_report(store, VANTOR[2], day0 + timedelta(days=3))
        stories.assign_stories(store, RunSummary(), day0 + timedelta(days=3, hours=1))
        (sid,) = {r[0] for r in db_rows(store, "SELECT story_id FROM articles")}
        # five days on, the first report is outside the window (earlier than the new one minus 4 days)
        c = _store_report(store, VANTOR[1], day0 + timedelta(days=5))
        lo, _ = stories.story_window([day0 + timedelta(days=5)])
        assert lo > day0
        summary = RunSummary()
        stories.assign_stories(store, summary, day0 + timedelta(days=5, hours=1))
        story_of = dict(db_rows(store, "SELECT id, story_id FROM articles"))
    assert story_of == {a: sid, b: sid, c: sid} and summary.new_stories == 0 and summary.updated_stories == 1
