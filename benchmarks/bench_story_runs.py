"""What one run costs in the stories stages as the archive grows: 100 new articles into stored archives of
10,000 and of 100,000 articles (each size in a fresh process), then a run with nothing new.

    .venv/bin/python benchmarks/bench_story_runs.py            # 10,000 and 100,000
    .venv/bin/python benchmarks/bench_story_runs.py --quick    # 2,000 and 10,000
    .venv/bin/python benchmarks/bench_story_runs.py --runs 5   # five timed batches per size, 3 hours apart: the median

The archive is bench_stories.py's generated stream (1,000 articles a day, each event reported by 1-6
outlets, ~8% syndicated copies) stored in a real SQLite file through monitor.store, its copies marked and
its stories made by one cluster.cluster_docs call over all originals (the state a long series of runs
leaves). A first batch of 100 re-clusters the window that one-call clustering left (untimed in the checks,
shown in the table); the next batch, 3 hours later, is timed (with --runs N, N batches 3 hours apart: the
table shows the median, and each one's wall and CPU time and the load average are listed under it): the
stages `monitor run` calls after extraction, on the real store: merge_duplicates, score_relevance,
assign_stories (re-clusters the window around the new articles) and refresh_dirty_stories. A run's cost
should follow the new articles and the window, not the archive. Also timed: the statement that moves an
article and its copies to a story, with and without the index on duplicate_of (schema v2 adds it).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import common  # noqa: F401
from bench_stories import make_articles
from common import machine_line, table, verdict

from monitor import cluster, dedup, stories
from monitor.config import load_config
from monitor.run_summary import RunSummary
from monitor.store import Store, iso

NEW = 100


def _insert(db, articles: list[dict], *, stored: bool) -> list[int]:
    ids = []
    for a in articles:
        ids.append(db.execute(
            "INSERT INTO articles(url, source, title, text, published, published_has_time, extracted, relevant, scored, "
            "relevance, first_seen) VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, 1.0, ?)",
            (f"https://{a['source']}.example/{a['id']}", a["source"], a["title"], a["text"], iso(a["published"]),
             int(stored), int(stored), iso(a["published"]))).lastrowid)
    return ids


def _rows(store: Store, sql: str, params=()) -> list:
    """A read for the benchmark's own checks (Store has no query method: the stages never need one)."""
    return store.db.execute(sql, params).fetchall()


def build_archive(path: Path, n: int) -> tuple[list[dict], float]:
    """n stored articles with their copies marked and their stories made; returns them and the setup time."""
    t0 = time.perf_counter()
    articles = make_articles(n)
    with Store.open(path) as store, store.transaction() as db:
        ids = _insert(db, articles, stored=True)
        by_gen = dict(zip((a["id"] for a in articles), ids))
        originals = []
        recent = articles[-1]["published"] - stories.DUPLICATE_WINDOW
        for a, aid in zip(articles, ids):
            if a["copy_of"] is not None:
                db.execute("UPDATE articles SET duplicate_of = ? WHERE id = ?", (by_gen[a["copy_of"]], aid))
            else:
                originals.append((a, aid))
                if a["published"] >= recent:  # merge_duplicates looks back this far
                    db.execute("UPDATE articles SET signature = ? WHERE id = ?", (dedup.signature(a["text"]), aid))
        docs = [cluster.Doc(id=str(aid), title=a["title"], text=a["text"], source=a["source"], published=a["published"])
                for a, aid in originals]
        labels = cluster.cluster_docs(docs, window_days=stories.CLUSTER_WINDOW_DAYS)
        story_of = {}
        for (a, aid), label in zip(originals, labels):
            story_of.setdefault(int(label), []).append((a, aid))
        for label, members in story_of.items():
            first, last = members[0][0]["published"], members[-1][0]["published"]
            sid = db.execute("INSERT INTO stories(slug, title, updated, first_published, last_published, dirty) "
                             "VALUES (?, ?, ?, ?, ?, 0)", (f"s{label}", members[0][0]["title"], iso(last), iso(first), iso(last))).lastrowid
            for _, aid in members:
                db.execute("UPDATE articles SET story_id = ? WHERE id = ? OR duplicate_of = ?", (sid, aid, aid))
    return articles, time.perf_counter() - t0


def stages(store: Store, config, ids: list[int], now) -> dict[str, float]:
    summary = RunSummary()
    out = {}
    cpu0 = time.process_time()
    for name, step in (("duplicates", lambda: stories.merge_duplicates(store, ids, summary)),
                       ("relevance", lambda: stories.score_relevance(store, config)),
                       ("assign", lambda: stories.assign_stories(store, summary, now)),
                       ("refresh", lambda: stories.refresh_dirty_stories(store, now))):
        t0 = time.perf_counter()
        step()
        out[name] = time.perf_counter() - t0
    out["cpu"] = time.process_time() - cpu0  # this process only (the figures' worker processes not counted)
    out["new_stories"], out["updated"], out["merged"] = summary.new_stories, summary.updated_stories, summary.merged_stories
    return out


def update_cost(store: Store, sample: list[int]) -> tuple[float, float]:
    """Seconds for len(sample) story moves (article + copies), with the duplicate_of index and without it."""
    times = []
    for drop in (False, True):
        with store.transaction() as db:
            if drop:
                db.execute("DROP INDEX articles_duplicate")
            t0 = time.perf_counter()
            for aid in sample:
                db.execute("UPDATE articles SET story_id = story_id WHERE id = ? OR duplicate_of = ?", (aid, aid))
            times.append(time.perf_counter() - t0)
            db.execute("ROLLBACK")  # keep the index (and nothing else changed)
            db.execute("BEGIN")
    return times[0], times[1]


def one_size(n: int, timed: int = 1) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "monitor.sqlite3"
        articles, setup = build_archive(path, n)
        (tmp / "feeds.yaml").write_text(f"database: {path}\nsite_dir: {tmp / 'site'}\nallow_private_networks: true\n"
                                        "topics: []\nfeeds:\n  - url: http://127.0.0.1:9/feed.xml\n")
        config = load_config(tmp / "feeds.yaml")
        last = articles[-1]["published"]
        del articles  # a run's process never holds the generated archive (its 100,000 dicts made each collection slow)
        gc.collect()
        with Store.open(path) as store:
            stories.score_relevance(store, config)  # the first call records the cut (a full pass, as after any change)
            runs = []
            for k in range(1 + timed):  # a first run re-clusters the window the archive left; time the next ones
                load = os.getloadavg()[0]
                fresh = make_articles(NEW, seed=98 + k, first_id=10**9 * (k + 1), start=last + timedelta(hours=1 + 3 * k))
                with store.transaction() as db:
                    ids = _insert(db, fresh, stored=False)
                now = fresh[-1]["published"] + timedelta(minutes=30)
                t0 = time.perf_counter()
                new = stages(store, config, ids, now)
                new["total"] = time.perf_counter() - t0
                new["load"] = (load, os.getloadavg()[0])
                marks = ",".join("?" * len(ids))
                new["untouched"] = _rows(store,   # stories that changed though none of the new articles is in them
                    f"SELECT count(*) FROM stories WHERE dirty = 1 AND merged_into IS NULL AND id NOT IN (SELECT story_id FROM articles "
                    f"WHERE id IN ({marks}) AND story_id IS NOT NULL)", ids)[0][0]
                runs.append(new)
                with store.transaction() as db:  # what the site stage does once the changed pages are built
                    db.execute("UPDATE stories SET dirty = 0 WHERE dirty = 1")
            first, timed_runs = runs[0], runs[1:]
            new = sorted(timed_runs, key=lambda r: r["total"])[len(timed_runs) // 2]  # the median run
            t0 = time.perf_counter()
            idle = stages(store, config, [], now + timedelta(hours=1))
            idle["total"] = time.perf_counter() - t0
            lo, hi = stories.story_window([a["published"] for a in fresh])
            window = _rows(store, "SELECT count(*) FROM articles WHERE published BETWEEN ? AND ? AND relevant = 1 "
                                "AND duplicate_of IS NULL", (iso(lo), iso(hi)))[0][0]
            sample = [r[0] for r in _rows(store, "SELECT id FROM articles WHERE duplicate_of IS NULL ORDER BY random() LIMIT 100")]
            with_index, without = update_cost(store, sample)
    return {"n": n, "setup": setup, "first": first, "new": new, "timed": timed_runs, "idle": idle, "window": window,
            "update_with": with_index, "update_without": without}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=1, help="timed batches per size, each 3 hours after the last (the median is shown)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.runs)))
        return
    sizes = (2000, 10000) if args.quick else (10000, 100000)
    print(machine_line())
    results = []
    for n in sizes:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--one", str(n), "--runs", str(args.runs)],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode:
            sys.exit(f"size {n} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"\n{NEW} new articles into a stored archive, then a run with nothing new (stories stages on the real store)\n")
    rows = []
    for r in results:
        for label, s in ((f"first {NEW} new", r["first"]), (f"next {NEW} new (timed)", r["new"]), ("nothing new", r["idle"])):
            rows.append([f"{r['n']:,}", label, f"{r['window']:,}" if s is r["new"] else "-", f"{s['duplicates']:.2f} s",
                         f"{s['relevance']:.2f} s", f"{s['assign']:.2f} s", f"{s['refresh']:.2f} s", f"{s['total']:.2f} s",
                         f"{s['new_stories']} new, {s['updated']} updated, {s['merged']} merged"
                         + (f" ({s['untouched']} changed with no new article, merged ones aside)" if "untouched" in s else "")])
    print(table(["archive", "run", "window (re-clustered)", "duplicates", "relevance", "assign stories", "refresh stories",
                 "total", "stories"], rows))
    print("\ntimed runs (each: total wall / CPU of this process; load average before / after):")
    for r in results:
        print(f"  {r['n']:,}: " + "; ".join(f"{t['total']:.2f} s / {t['cpu']:.2f} s (load {t['load'][0]:.1f} / {t['load'][1]:.1f})"
                                            for t in r["timed"]))
    small, big = results
    ratio = big["new"]["total"] / small["new"]["total"]
    cpu_ratio = big["new"]["cpu"] / small["new"]["cpu"]
    print()
    print(table(["check", "measured", "target", "met"], [
        [f"{NEW} new into {big['n']:,}", f"{big['new']['total']:.2f} s", "< 2 s", verdict(big["new"]["total"] < 2)],
        [f"{NEW} new: {big['n']:,} archive / {small['n']:,} archive", f"{ratio:.2f}x (CPU {cpu_ratio:.2f}x)", "about 1x (<= 1.5x)",
         verdict(ratio <= 1.5)],
        [f"nothing new, {big['n']:,}: assign stories (clustering)", f"{big['idle']['assign'] * 1000:.1f} ms", "well under 1 s",
         verdict(big["idle"]["assign"] < 0.1)],
        [f"100 story moves (article + copies), {big['n']:,}, with / without the duplicate_of index",
         f"{big['update_with'] * 1000:.1f} ms / {big['update_without'] * 1000:.0f} ms", "-", "-"],
    ]))
    print(f"\nsetup (generate, store, cluster the archive; untimed above): {small['setup']:.0f} s and {big['setup']:.0f} s")


if __name__ == "__main__":
    main()
