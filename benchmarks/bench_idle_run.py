"""The hourly run with nothing due: `monitor run` (the real command, a child process) on a stored archive whose
feeds are all not due yet, no page pending, no story dirty. Its cost should be small and not grow with the
archive.

    .venv/bin/python benchmarks/bench_idle_run.py                 # 10,000 stories, then 100,000
    .venv/bin/python benchmarks/bench_idle_run.py --sizes 10000   # one size
    .venv/bin/python benchmarks/bench_idle_run.py --cache /work/bench-idle   # keep the archives, reuse them

With --cache the archive of each size is kept in DIR/<stories> and reused by the next invocation (building
100,000 stories takes minutes and ~3.5 GB); on reuse every feed's next visit is set 40 minutes on again.

The archive is written in bulk straight into a migrated database file (generating 80,000 articles through
the pipeline would take hours): per 10,000 stories, 80,000 articles (~3.5 KB of text each, 90% relevant and
in a story, 5% whose page failed for good), 80,000 entries over 1,000 feeds, one or two addresses per article.
Then the state a finished run leaves is recorded through the monitor's own functions (relevance meta by
stories.score_relevance, the feed health and story inputs by the pipeline's fingerprints), and the site
folder is a placeholder (an idle run only checks that the site is there). Each size: one untimed warm-up
run; then RUNS timed runs of each size, the sizes taking turns (a change in the machine's load meets them
all). Each run is started by a small launcher process (a fresh python that only runs the child and reports
its getrusage): wall time from a timer around the child, CPU time (user + system) and peak RSS of the child
itself. Peak RSS must not be read from this process's RUSAGE_CHILDREN: a child started straight from a
process that built a large archive is charged that process's peak (Linux records the high-water mark of the
memory the child ran in before its exec, here the parent's, since subprocess forks by vfork).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401
from common import machine_line, table, verdict

from monitor import pipeline, stories
from monitor.config import load_config
from monitor.store import Store, iso

MONITOR = Path(sys.executable).with_name("monitor")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
FEEDS = 1000
RUNS = 5
# runs argv[1:] as its child and prints, last, the child's wall seconds, CPU seconds and peak RSS (KB)
LAUNCHER = ("import resource, subprocess, sys, time\n"
            "t = time.perf_counter(); p = subprocess.run(sys.argv[1:]); s = time.perf_counter() - t\n"
            "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "print('launcher:', s, r.ru_utime + r.ru_stime, r.ru_maxrss, flush=True); sys.exit(p.returncode)\n")
WORDS = ("harbour tunnel council budget ferry pilots night barrier vote board pumps drainage timetable quay "
         "repairs wall lock engineers shipping route audit report minister").split()


def write_config(folder: Path) -> Path:
    lines = [f"database: {folder / 'monitor.sqlite3'}", f"site_dir: {folder / 'site'}", "allow_private_networks: true",
             "topics:", "  - name: Harbour", "    phrases: [harbour tunnel]", "    terms: [ferry, quay]", "feeds:"]
    lines += [f"  - url: http://127.0.0.{2 + i % 50}:9/feed{i}.xml" for i in range(FEEDS)]
    path = folder / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(folder: Path, n_stories: int) -> float:
    """The archive in bulk; returns the seconds it took."""
    t0 = time.perf_counter()
    config = load_config(write_config(folder))
    Store.open(config.database).close()  # the schema, by the monitor's own migrations
    r = random.Random(n_stories)
    db = sqlite3.connect(config.database, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("BEGIN")
    feeds = [f.url for f in config.feeds]
    due = iso(NOW + timedelta(minutes=40))
    db.executemany("INSERT INTO feeds(url, name, last_fetch, last_success, next_due, articles) VALUES (?, ?, ?, ?, ?, ?)",
                   [(u, f"Outlet {i}", iso(NOW), iso(NOW), due, n_stories * 8 // FEEDS) for i, u in enumerate(feeds)])
    n_articles = n_stories * 8
    start = NOW - timedelta(days=n_stories // 300 + 30)
    step = (NOW - start) / n_articles
    db.executemany("INSERT INTO stories(id, slug, title, updated, first_published, last_published, dirty) "
                   "VALUES (?, ?, ?, ?, ?, ?, 0)",
                   [(s, f"{s}-story", f"Story {s}", iso(NOW), iso(start), iso(start)) for s in range(1, n_stories + 1)])
    text = " ".join(r.choice(WORDS) for _ in range(500))  # ~3.5 KB; one text keeps the build fast
    rows, urls, entries = [], [], []
    for a in range(1, n_articles + 1):
        published = iso(start + step * a)
        feed = feeds[a % FEEDS]
        url = f"http://127.0.0.{2 + a % 50}:9/news/{a}"
        failed = a % 20 == 0  # page failed for good: stays extracted = 0 with attempts at the cap
        relevant = not failed and a % 10 != 1
        story = (a - 1) // 8 + 1 if relevant else None
        rows.append((a, url, feed, f"Outlet {a % FEEDS}", f"Headline {a}", "", "" if failed else text, published,
                     0 if failed else 1, 6 if failed else 0, 1.0 if relevant else 0.0, int(relevant), story, published))
        urls.append((url, a))
        if a % 3 == 0:
            urls.append((url + "?utm_source=rss", a))
        entries.append((feed, f"g{a}", a, published))
    db.executemany("INSERT INTO articles(id, url, feed_url, source, title, summary, text, published, extracted, attempts, "
                   "relevance, relevant, scored, story_id, first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)", rows)
    db.executemany("INSERT INTO article_urls(url, article_id) VALUES (?, ?)", urls)
    db.executemany("INSERT INTO entries(feed_url, guid, article_id, first_seen) VALUES (?, ?, ?, ?)", entries)
    db.execute("COMMIT")
    db.close()
    with Store.open(config.database) as store:  # the state a finished run leaves, recorded by the monitor's own code
        stories.score_relevance(store, config)
        store.set_meta("story_inputs", pipeline.story_inputs(config))
        store.mark_published((), feed_health=pipeline.feed_health(store.feed_statuses(config.feeds)))
    (folder / "site").mkdir()
    (folder / "site" / "index.html").write_text("placeholder", encoding="utf-8")
    pipeline._site_work_dir(config).mkdir()
    return time.perf_counter() - t0


def timed_run(config_path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, str(MONITOR), "run", "--config", str(config_path), "--timings"],
                          capture_output=True, text=True)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    if proc.returncode != 0:
        raise SystemExit(f"monitor run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    wall, cpu, rss = next(line for line in lines if line.startswith("launcher:")).split()[1:]
    return {"wall": float(wall), "cpu": float(cpu), "rss": int(rss) / 1024, "lines": lines}


def reuse(folder: Path) -> bool:
    """A kept archive of an earlier invocation is there: its feeds are made not due again (40 minutes on)."""
    if not (folder / "built").exists():
        return False
    db = sqlite3.connect(folder / "monitor.sqlite3", isolation_level=None)
    db.execute("UPDATE feeds SET next_due = ?", (iso(NOW + timedelta(minutes=40)),))
    db.close()
    return True


def prepare(n_stories: int, folder: Path, cached: bool) -> dict:
    """The archive of this size in `folder` (built, or reused when `cached`), run once untimed (the warm-up,
    and the integrity check when the file was written to)."""
    setup = None
    if not (cached and reuse(folder)):
        if cached:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        setup = build(folder, n_stories)
        (folder / "built").write_text("ok")
    timed_run(folder / "feeds.yaml")
    return {"stories": n_stories, "articles": n_stories * 8, "setup": setup, "config": folder / "feeds.yaml",
            "size": (folder / "monitor.sqlite3").stat().st_size / 1e6, "runs": []}


def summarise(r: dict) -> dict:
    runs = r["runs"]
    lines = runs[-1]["lines"]
    if not any("site unchanged" in line for line in lines):
        raise SystemExit("the idle run rebuilt the site or did work: " + " | ".join(lines))
    walls = sorted(x["wall"] for x in runs)
    return r | {"median": walls[len(walls) // 2], "min": walls[0], "max": walls[-1],
                "cpu": sorted(x["cpu"] for x in runs)[len(runs) // 2], "rss": max(x["rss"] for x in runs),
                "timings": next((line for line in lines if line.startswith("timings")), "")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cache", type=Path, help="keep each size's archive in this folder and reuse it")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"timed runs per size (default {RUNS})")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [prepare(n, (args.cache or Path(tmp)) / str(n), args.cache is not None) for n in args.sizes]
        for _ in range(args.runs):  # the sizes take turns, so that a change in the machine's load meets them all
            for r in sizes:
                r["runs"].append(timed_run(r["config"]))
        results = [summarise(r) for r in sizes]
    print(table(["stories", "articles", "database", f"idle `monitor run`, median of {args.runs} (min-max)", "CPU (median)",
                 "peak RSS", "stages"],
                [[f"{r['stories']:,}", f"{r['articles']:,}", f"{r['size']:.0f} MB",
                  f"{r['median']:.2f} s ({r['min']:.2f}-{r['max']:.2f})", f"{r['cpu']:.2f} s", f"{r['rss']:.0f} MB",
                  r["timings"]] for r in results]))
    for r in results:
        if r["setup"] is not None:
            print(f"built {r['stories']:,} stories in {r['setup']:.0f} s")
    print(f"target < 1 s: wall {verdict(all(r['median'] < 1.0 for r in results))}, "
          f"CPU {verdict(all(r['cpu'] < 1.0 for r in results))}")
    if len(results) > 1:
        ratio = results[-1]["median"] / results[0]["median"]
        cpu_ratio = results[-1]["cpu"] / results[0]["cpu"]
        print(f"{results[-1]['stories']:,} against {results[0]['stories']:,} stories: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
              f"(target: flat, <= 1.3x): wall {verdict(ratio <= 1.3)}, CPU {verdict(cpu_ratio <= 1.3)}")
    print("load average after:", ", ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
