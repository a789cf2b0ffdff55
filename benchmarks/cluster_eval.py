"""Score story clustering on labelled sets and time it (run on demand, not part of the test suite).

    .venv/bin/python benchmarks/data/make_synthetic.py     # once: writes benchmarks/data/synthetic.jsonl
    .venv/bin/python benchmarks/cluster_eval.py            # table of precision/recall/F1 + timings
    .venv/bin/python benchmarks/cluster_eval.py --scale    # also 10k headlines / 100k articles / assign() timings
    .venv/bin/python benchmarks/cluster_eval.py --profile 20000   # where the time goes

Every set is run through `cluster_lines`, the code path of `monitor cluster` (and of `assign()`).
Sets: the synthetic articles with their leads, the same headlines only, and monitor/demo/corpus when
it exists (each article with a `story` label).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "data"))

from monitor import cluster  # noqa: E402
from monitor.evaluate import bcubed, pairwise  # noqa: E402


def run(rows: list[dict]) -> tuple[list, float]:
    t0 = time.perf_counter()
    out = [json.loads(x) for x in cluster.cluster_lines(json.dumps(r) for r in rows)]
    return [o["story"] for o in out], time.perf_counter() - t0


def load(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def demo_rows() -> list[dict]:
    """Articles of monitor/demo/corpus/stories/*.yaml, labelled by their file's `story` (copies skipped)."""
    from ruamel.yaml import YAML

    base = ROOT / "monitor" / "demo" / "corpus" / "stories"
    rows = []
    for p in sorted(base.glob("*.yaml")) if base.exists() else []:
        data = YAML(typ="safe").load(p.read_text())
        for a in data.get("articles") or []:
            if a.get("copy_of") or not a.get("title"):
                continue
            pub = a.get("published")
            rows.append({"id": f"{a.get('outlet')}/{a.get('slug')}", "title": a["title"],
                         "text": a.get("body") or a.get("summary") or "", "source": a.get("outlet") or "",
                         "published": pub.isoformat() if hasattr(pub, "isoformat") else pub,
                         "story": data.get("story") or p.stem, "relevant": bool(data.get("relevant"))})
    return rows


def table(sets: dict[str, list[dict]]) -> None:
    print(f"| set | articles | stories | pairwise P | R | F1 | BCubed P | R | F1 | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, rows in sets.items():
        if not rows:
            continue
        pred, secs = run(rows)
        gold = [r["story"] for r in rows]
        pw, bc = pairwise(gold, pred), bcubed(gold, pred)
        print(f"| {name} | {len(rows)} | {len(set(gold))} | " + " | ".join(f"{x:.3f}" for x in pw + bc)
              + f" | {secs:.1f} |")


def synthetic(n: int, *, headlines: bool = False) -> list[dict]:
    import make_synthetic

    rows = make_synthetic.make(seed=11, events=int(n / 2.7))[:n]
    return [dict(r, text="") for r in rows] if headlines else rows


def _one_scale(label: str, n: int, headlines: bool) -> None:
    rows = synthetic(n, headlines=headlines)
    pred, secs = run(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {len(rows)} | {secs:.1f} | {peak:.0f} | {len(set(pred))} |", flush=True)


def _assign_in_archive(n: int = 100_000, new: int = 100) -> None:
    from datetime import datetime

    rows = synthetic(n + new)
    rows.sort(key=lambda r: r["published"])
    mid = len(rows) // 2
    fresh, archive = rows[mid : mid + new], rows[:mid] + rows[mid + new :]

    def doc(r):
        return cluster.Doc(r["id"], r["title"], r["text"], r["source"], datetime.fromisoformat(r["published"]))

    existing = [(doc(r), int(r["story"][1:])) for r in archive]
    t0 = time.perf_counter()
    got = cluster.assign([doc(r) for r in fresh], existing)
    secs = time.perf_counter() - t0
    joined = sum(isinstance(v, int) for v in got.values())
    print(f"assign(): {new} new docs into a {len(archive)}-doc archive: {secs:.2f} s ({joined} joined existing stories)")


def scale() -> None:
    """Each case in its own process, so that its peak memory (max RSS) is its own."""
    print("| case | articles | seconds | peak RSS MB | stories |\n|---|---|---|---|---|", flush=True)
    for label, n, headlines in (("10k headlines", 10_000, True), ("10k articles", 10_000, False),
                                ("100k articles", 100_000, False)):
        subprocess.run([sys.executable, __file__, "--case", label, str(n), str(int(headlines))], check=True)
    subprocess.run([sys.executable, __file__, "--assign"], check=True)


def profile(n: int) -> None:
    import cProfile
    import pstats

    rows = synthetic(n)
    cProfile.runctx("run(rows)", globals(), {"rows": rows}, "/tmp/cluster.prof")
    pstats.Stats("/tmp/cluster.prof").sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", action="store_true")
    ap.add_argument("--cut", type=float)
    ap.add_argument("--profile", type=int, metavar="N", help="cProfile cluster_lines on N synthetic articles")
    ap.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--assign", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        _one_scale(args.case[0], int(args.case[1]), args.case[2] == "1")
        sys.exit(0)
    if args.assign:
        _assign_in_archive()
        sys.exit(0)
    if args.profile:
        profile(args.profile)
        sys.exit(0)
    if args.cut:
        cluster.CUT = args.cut
    syn = load(ROOT / "benchmarks" / "data" / "synthetic.jsonl")
    demo = demo_rows()
    on = [r for r in demo if r["relevant"]]
    table({"synthetic, title + lead": syn, "synthetic, headlines only": [dict(r, text="") for r in syn],
           "demo corpus, all": demo, "demo corpus, all, headlines only": [dict(r, text="") for r in demo],
           "demo corpus, on-subject": on, "demo corpus, on-subject, headlines only": [dict(r, text="") for r in on]})
    if args.scale:
        scale()
