"""Site: monitor.site.build_site for archives of 100, 1,000 and 10,000 generated stories (full builds), then a
run that changes 10 stories of the 10,000-story archive (changed={ids}), against a plain `mkdocs build` of
the same number of bare pages (Material theme, the default search plugin, a small navigation).

    .venv/bin/python benchmarks/bench_site.py            # 100, 1,000 and 10,000 stories
    .venv/bin/python benchmarks/bench_site.py --quick    # 100 and 1,000 (incremental run on 1,000)
    .venv/bin/python benchmarks/bench_site.py --profile  # also cProfile the incremental run

Target: the 10-story incremental run of the largest archive in under 10 s. Every build writes into a
temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common  # noqa: F401
from common import Event, article_text, machine_line, table, verdict

from monitor.models import Article, Evidence, Fact, FeedStatus, Story
from monitor.site import build_site

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)
OUTLETS = [f"Outlet {i}" for i in range(40)]
MKDOCS = Path(sys.executable).with_name("mkdocs")


def make_stories(n: int) -> list[Story]:
    """n stories of 1-6 articles each, 25 a day back from NOW, with facts and related links."""
    r = random.Random(n)
    stories = []
    aid = 0
    for sid in range(1, n + 1):
        when = NOW - timedelta(hours=24 * (n - sid) / 25)
        ev = Event(sid, when)
        arts = []
        for k in range(1 + int(r.expovariate(1 / 1.5)) % 6):
            aid += 1
            title, paras = article_text(ev, k, paragraphs=3)
            src = OUTLETS[(sid + 7 * k) % len(OUTLETS)]
            arts.append(Article(url=f"https://o{k}.example/news/{aid}", title=title, source=src,
                                published=when + timedelta(minutes=40 * k), text="\n\n".join(paras),
                                summary=paras[0][:300], id=aid, relevant=True, story=sid))
        fact = Fact(kind="figure", key=ev.figure, text=ev.figure, outlets=tuple(dict.fromkeys(a.source for a in arts)),
                    evidence=tuple(Evidence(source=a.source, url=a.url, sentence=a.text[:160]) for a in arts[:3]))
        related = tuple(x for x in (sid - 1, sid - 3, sid - 9) if x >= 1)
        stories.append(Story(id=sid, slug=f"{sid}-{ev.org.lower().replace(' ', '-')}", title=arts[0].title,
                             summary=arts[0].summary, articles=tuple(arts), facts=(fact,), related=related,
                             updated=when))
    return stories


def change_ten(stories: list[Story], *, seed: int) -> tuple[set[int], list[Story]]:
    """A later run: 10 stories each get one more article (another outlet) and a longer summary."""
    ids = set(random.Random(seed).sample([s.id for s in stories], 10))
    out = []
    for s in stories:
        if s.id in ids:
            extra = dataclasses.replace(s.articles[0], id=10**9 + 1000 * seed + s.id, source=f"Outlet late {seed}",
                                        url=f"https://late.example/{seed}/{s.id}", published=s.last_published + timedelta(hours=2))
            s = dataclasses.replace(s, articles=s.articles + (extra,), summary=s.summary + " An update.")
        out.append(s)
    return ids, out


def feeds() -> list[FeedStatus]:
    return [FeedStatus(url=f"https://o{i}.example/feed.xml", name=o, last_success=NOW, articles=10 + i)
            for i, o in enumerate(OUTLETS)]


def build(stories, site: Path, work: Path, changed=None) -> float:
    t0 = time.perf_counter()
    build_site(stories, feeds(), site_dir=site, work_dir=work, title="Benchmark monitor", now=NOW, changed=changed)
    return time.perf_counter() - t0


def plain_mkdocs(n: int, root: Path) -> float:
    docs = root / "docs"
    docs.mkdir(parents=True)
    r = random.Random(n)
    (docs / "index.md").write_text("# Home\n\nBare pages.\n")
    for i in range(n):
        ev = Event(i, NOW)
        title, paras = article_text(ev, 0, paragraphs=3)
        (docs / f"p{i}.md").write_text(f"# {title}\n\n" + "\n\n".join(paras) + "\n")
    (root / "mkdocs.yml").write_text("site_name: Bare\ntheme:\n  name: material\n  font: false\nplugins:\n  - search\n"
                                     "nav:\n  - Home: index.md\n")
    t0 = time.perf_counter()
    subprocess.run([str(MKDOCS), "build", "-q", "-f", str(root / "mkdocs.yml"), "-d", str(root / "site")], check=True,
                   capture_output=True, timeout=3600)
    took = time.perf_counter() - t0
    del r
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-plain", action="store_true", help="skip the plain mkdocs build of the same page count")
    args = ap.parse_args()
    sizes = (100, 1000) if args.quick else (100, 1000, 10000)
    print(machine_line())
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-site-"))
    try:
        for n in sizes:
            stories = make_stories(n)
            site, work = tmp / f"site{n}", tmp / f"work{n}"
            full = build(stories, site, work)
            pages = sum(1 for p in site.rglob("*.html") if "pagefind" not in p.parts)
            size_mb = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20
            base = None if args.no_plain else plain_mkdocs(n, tmp / f"plain{n}")
            rows.append([f"{n:,}", "full", f"{pages:,} pages, {size_mb:.0f} MB", f"{full:.1f} s",
                         f"{full / n * 1000:.1f} ms", f"{base:.1f} s" if base else "-",
                         f"{full / base:.2f}x" if base else "-", "-", "-"])
            shutil.rmtree(tmp / f"plain{n}", ignore_errors=True)
            if n == sizes[-1]:
                ids, changed = change_ten(stories, seed=3)
                inc = build(changed, site, work, changed=ids)
                rows.append([f"{n:,}", "10 stories changed", "-", f"{inc:.1f} s", "-", "-", "-", "< 10 s", verdict(inc < 10)])
                if args.profile:  # another 10 stories, profiled: the profiler slows what it watches
                    ids, changed = change_ten(changed, seed=4)
                    prof = cProfile.Profile()
                    prof.enable()
                    build(changed, site, work, changed=ids)
                    prof.disable()
            shutil.rmtree(site, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(table(["stories", "build", "output", "time", "per story", "plain mkdocs, same page count", "vs plain",
                 "target", "met"], rows))
    if args.profile:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(25)
        print("\ncProfile of a second 10-story incremental run, not the timed one (top 25 cumulative):\n" + s.getvalue())


if __name__ == "__main__":
    main()
