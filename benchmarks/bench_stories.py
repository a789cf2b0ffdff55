"""Duplicates and stories: monitor.dedup (signature + DuplicateIndex) and monitor.cluster.cluster_docs on
10,000 and 100,000 generated articles, each size in a fresh process (so peak RSS is its own). Baseline:
all-pairs cosine on a sample. What a later run costs (new articles into a stored archive) is measured by
bench_story_runs.py.

    .venv/bin/python benchmarks/bench_stories.py            # 10,000 and 100,000
    .venv/bin/python benchmarks/bench_stories.py --quick    # 1,000 and 10,000
    .venv/bin/python benchmarks/bench_stories.py --profile  # also cProfile the larger size

The articles arrive at 1,000 a day (so 100,000 span 100 days): each event is reported by 1-6 outlets in
their own words, and about 8% of articles are syndicated copies of an earlier one (another outlet, a
different header and footer). Duplicates: signatures and look-ups in time order over the whole stream. Stories: one
cluster.cluster_docs(originals) call (a first import).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401
import numpy as np
from common import FUNCTION, machine_line, table, verdict, vocabulary

from monitor import cluster, dedup

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
PER_DAY = 1000
WINDOW = 4.0  # days, as monitor/pipeline.py's CLUSTER_WINDOW_DAYS


BIG_VOCAB = vocabulary(40_000, seed=11)  # word frequencies follow Zipf's law, as in real text


def _sentences(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    ranks = (rng.zipf(1.25, size=n * 24) - 1) % len(BIG_VOCAB)
    lengths = rng.integers(10, 25, size=n)
    out, at = [], 0
    for k in lengths:
        out.append(" ".join(FUNCTION[i % len(FUNCTION)] if i < 40 else BIG_VOCAB[i] for i in ranks[at: at + k]).capitalize() + ".")
        at += k
    return out


def _name(r: random.Random) -> str:
    return r.choice(BIG_VOCAB[5000:]).capitalize()


def make_articles(n: int, *, seed: int = 1, first_id: int = 0, start: datetime = START) -> list[dict]:
    """n articles in time order: dicts with id, title, text, source, published, event, copy_of."""
    r = random.Random(seed)
    pool = _sentences(40_000, seed)
    out: list[dict] = []
    event = 0
    while len(out) < n:
        event += 1
        er = random.Random(f"{seed}-{event}")
        org = _name(er) + " " + er.choice(["Labs", "Systems", "Group", "Institute"])
        person = f"{_name(er)} {_name(er)}"
        figure = f"{er.randint(2, 990)}{er.choice(['%', ' million', ''])}"
        keys = [BIG_VOCAB[min(int(er.paretovariate(0.9)) + 100, len(BIG_VOCAB) - 1)] for _ in range(4)]
        when = start + timedelta(days=(len(out) / PER_DAY))
        for outlet in range(min(n - len(out), 1 + int(er.expovariate(1 / 1.6)) % 6)):
            i = first_id + len(out)
            t = when + timedelta(minutes=r.randint(0, 600))
            title = r.choice([f"{org} {keys[0]} {keys[1]} reaches {figure}", f"{person} on {org}'s {keys[0]} {keys[2]}",
                              f"{figure} {keys[1]}: what {org} {keys[3]} means", f"{org} {keys[2]} {keys[0]} after {person} move"])
            lead = (f"{org} said its {keys[0]} {keys[1]} work reached {figure}, according to {person}. "
                    f"The {keys[2]} {keys[3]} plan {r.choice(FUNCTION)} {keys[1]}.")
            body = " ".join(r.choice(pool) for _ in range(r.randint(15, 30)))
            out.append({"id": i, "title": title, "text": lead + " " + body, "source": f"outlet-{r.randint(0, 199)}",
                        "published": t, "event": event, "copy_of": None})
            if r.random() < 0.08 and len(out) < n:  # a syndicated copy somewhere else, a little later
                orig = out[-1]
                out.append({"id": first_id + len(out), "title": orig["title"],
                            "text": f"Published by arrangement. {orig['text']} Read more stories on our site.",
                            "source": f"outlet-{r.randint(0, 199)}", "published": t + timedelta(minutes=r.randint(5, 300)),
                            "event": event, "copy_of": orig["id"]})
    out.sort(key=lambda a: (a["published"], a["id"]))
    return out


def _doc(a: dict) -> cluster.Doc:
    return cluster.Doc(id=str(a["id"]), title=a["title"], text=a["text"], source=a["source"], published=a["published"])


def dedup_all(articles: list[dict]) -> tuple[list[dict], int, int]:
    """Signatures and duplicate look-ups in time order; returns (originals, duplicates, copies caught)."""
    index = dedup.DuplicateIndex()
    originals, dups, caught = [], 0, 0
    for a in articles:
        sig = dedup.signature(a["text"])
        found = index.find(sig) if sig else None
        if found is not None:
            dups += 1
            caught += a["copy_of"] == found
        else:
            originals.append(a)
            if sig:
                index.add(a["id"], sig)
    return originals, dups, caught


def stories_bulk(originals: list[dict]) -> list[tuple[cluster.Doc, int]]:
    """Every original in one cluster_docs() call (a first import)."""
    docs = [_doc(a) for a in originals]
    labels = cluster.cluster_docs(docs, window_days=WINDOW)
    return [(d, int(label)) for d, label in zip(docs, labels)]


def one_size(n: int, profile: bool) -> dict:
    t0 = time.perf_counter()
    articles = make_articles(n)
    gen_s = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    originals, dups, caught = dedup_all(articles)
    t1 = time.perf_counter()
    done = stories_bulk(originals)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"n": n, "gen": gen_s, "rss_data_mb": rss_data, "peak_mb": peak, "dedup": t1 - t0, "cluster": t2 - t1,
           "total": t2 - t0, "duplicates": dups, "copies_caught": caught,
           "copies": sum(a["copy_of"] is not None for a in articles), "stories": len({s for _, s in done}),
           "events": len({a["event"] for a in articles})}
    if profile:  # extra, untimed runs: the profiler slows what it watches
        prof = cProfile.Profile()
        prof.enable()
        dedup_all(articles[:20000])
        stories_bulk(originals[:20000])
        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(15)
        out["profile"] = s.getvalue()
    return out


def baseline(sample: int) -> dict:
    """All-pairs cosine of TF-IDF vectors (title + text) on a sample: the quadratic way."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    arts = make_articles(sample, seed=5)
    t0 = time.perf_counter()
    X = TfidfVectorizer(sublinear_tf=True).fit_transform([a["title"] + " " + a["text"] for a in arts])
    sims = (X @ X.T).toarray()
    took = time.perf_counter() - t0
    return {"n": sample, "s": took, "bytes": sims.nbytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode: one size, JSON out
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one_size(args.one, args.profile)))
        return
    small, big = (1000, 10000) if args.quick else (10000, 100000)
    print(machine_line())
    results = []
    for n in (small, big):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(n)] + (["--profile"] if args.profile and n == big else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if proc.returncode:
            sys.exit(f"size {n} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    base = baseline(3000)
    scale = results[1]["total"] / results[0]["total"]
    print(f"\nArticles at {PER_DAY}/day; dedup = signature + DuplicateIndex over all of them in time order, stories = "
          f"one cluster.cluster_docs(originals) call ({WINDOW:g}-day window).\n")
    rows = []
    for r in results:
        ext = base["s"] * (r["n"] / base["n"]) ** 2
        ok = r["total"] < 60 and r["peak_mb"] < 2048 if r["n"] == big else True
        rows.append([f"{r['n']:,}", f"{r['dedup']:.1f} s", f"{r['cluster']:.1f} s", f"{r['total']:.1f} s",
                     f"{r['peak_mb']:.0f} MB ({r['rss_data_mb']:.0f} MB after generating the data)",
                     f"{r['duplicates']} ({r['copies_caught']}/{r['copies']} copies)", f"{r['stories']:,} / {r['events']:,} events",
                     f"{ext:.0f} s, {8 * r['n'] ** 2 / 2**30:.1f} GB matrix", f"{ext / r['total']:.1f}x",
                     (f"<60 s and <2 GB: {verdict(ok)}" if r["n"] == big else "-")])
    print(table(["articles", "dedup", "stories", "total", "peak RSS", "duplicates found", "stories made",
                 f"all-pairs cosine (measured on {base['n']:,}: {base['s']:.1f} s, extrapolated n^2)", "speed-up", "target"], rows))
    r = results[1]
    if args.quick:
        print("\n(--quick: the sizes are 1,000 and 10,000; the targets are set for 10,000 and 100,000)")
    print()
    print(table(["check", "measured", "target", "met"], [
        [f"time for {big:,} / time for {small:,}", f"{scale:.1f}x", "<= 12x", verdict(scale <= 12)],
    ]))
    if "profile" in r:
        print("\ncProfile of an extra, untimed run of dedup + one cluster_docs() on the first 20,000 articles (top 15 by own time):\n" + r["profile"])


if __name__ == "__main__":
    main()
