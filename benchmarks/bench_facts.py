"""Fact extraction and summaries on hostile article texts: the inputs that took 29-120 s before the figure
reader was rewritten (digit groups, "January 1 " repeated), and others built to defeat a regex scanner.

    .venv/bin/python benchmarks/bench_facts.py

For each input: the seconds of `facts.story_facts` and `summary.lead` over a story of four articles of
that text (best of three, one process, one core), and the same for a real-looking 6,000-word article, so a
figure reads as a ratio to normal work.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import datetime, timedelta, timezone

from monitor.facts import story_facts
from monitor.figures import _Reader
from monitor.models import Article
from monitor.summary import lead

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NORMAL = ("Meridian AI said on Tuesday that its agents ran more than 80 percent of about 14,000 experiments, "
          "at a cost of $2.5bn, over six weeks ending March 3, 2026. \"We are no longer the bottleneck in our own "
          "research,\" said Ines Okafor. ") * 200
CASES = {
    "digit groups 1,000,000,... (32 KB)": "1," + ",".join(["000"] * 8000),
    "'January 1 ' x 20,000 (200 KB)": "January 1 " * 20_000,
    "'10^' x 20,000": "10^" * 20_000,
    "'$1-' x 20,000": "$1-" * 20_000,
    "'Dr. ' x 20,000": "Dr. " * 20_000,
    "'\"' x 50,000": '"' * 50_000,
    "'“a b c d e f g ' x 10,000": "“a b c d e f g " * 10_000,
    "'1 percent of the ' x 10,000": "1 percent of the " * 10_000,
    "'8 times 10 ' x 20,000": "8 times 10 " * 20_000,
    "'January 1, 2026. ' x 20,000 (short sentences)": "January 1, 2026. " * 20_000,
    "digit groups cut into 590-character sentences": ("1," + ",".join(["000"] * 146) + ". ") * 400,
    "'$1-2 billion, 10^27 FLOPs, 80% of x. ' x 10,000": "$1-2 billion, 10^27 FLOPs, 80% of cats. " * 10_000,
    "normal article (about 6,000 words)": NORMAL,
}


def story(text: str) -> list[Article]:
    return [Article(url=f"https://o{i}.example/a", title="Title", source=f"O{i}", published=T0 + timedelta(hours=i),
                    text=text, id=i) for i in range(4)]


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(f"nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.2f}")
    print("| input (each of 4 articles) | story_facts s | summary.lead s |\n|---|---:|---:|")
    for name, text in CASES.items():
        arts = story(text)
        print(f"| {name} | {best(lambda: story_facts(arts)):.3f} | {best(lambda: lead(arts)):.3f} |")
    # the scanner alone, without the per-sentence and per-article bounds: linear in its input
    print("\n| scanner alone on one unbounded 'sentence' | 32 KB s | 64 KB s | 128 KB s |\n|---|---:|---:|---:|")
    for name, unit in (("digit groups", "1,000"), ("'January 1 '", "January 1 "), ("'$1-2 billion, 10^27 FLOPs, '",
                       "$1-2 billion, 10^27 FLOPs, "), ("'80 per cent of the '", "80 per cent of the ")):
        cells = [best(lambda: _Reader((unit * (size // len(unit)))[:size]).figures(), 1) for size in (32_000, 64_000, 128_000)]
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
