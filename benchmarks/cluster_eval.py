"""Score story clustering on labelled sets and time it (run on demand, not part of the test suite).

    .venv/bin/python benchmarks/data/make_synthetic.py     # once: writes benchmarks/data/synthetic.jsonl
    .venv/bin/python benchmarks/cluster_eval.py            # table of precision/recall/F1 + timings
    .venv/bin/python benchmarks/cluster_eval.py --scale    # also 10k headlines / 100k articles timings

Every set is run through `cluster_lines`, the code path of `monitor cluster` (and of `assign()`).
Sets: the synthetic articles with their leads, the same headlines only, and monitor/demo/corpus when
it exists (each article with a `story` label).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "data"))

from monitor import cluster  # noqa: E402


def pairwise(gold: list, pred: list) -> tuple[float, float, float]:
    def pairs(labels):
        groups = defaultdict(list)
        for i, x in enumerate(labels):
            groups[x].append(i)
        return sum(len(g) * (len(g) - 1) // 2 for g in groups.values())

    tp = pairs(list(zip(gold, pred)))
    p_all, g_all = pairs(pred), pairs(gold)
    p = tp / p_all if p_all else 1.0
    r = tp / g_all if g_all else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bcubed(gold: list, pred: list) -> tuple[float, float, float]:
    both = Counter(zip(gold, pred))
    g, q = Counter(gold), Counter(pred)
    n = len(gold)
    p = sum(c * c / q[pl] for (gl, pl), c in both.items()) / n
    r = sum(c * c / g[gl] for (gl, pl), c in both.items()) / n
    return p, r, 2 * p * r / (p + r)


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
                         "story": data.get("story") or p.stem})
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


def scale() -> None:
    import make_synthetic

    for label, events, headlines in (("10k headlines", 3600, True), ("20k headlines", 7200, True),
                                     ("10k articles", 3600, False), ("100k articles", 36000, False)):
        rows = make_synthetic.make(seed=11, events=events)
        while len(rows) < (10000 if events == 3600 else 20000 if events == 7200 else 100000):
            rows += [dict(r, id=r["id"] + f"x{len(rows)}") for r in rows[: 100000 - len(rows)]]
        rows = rows[: 10000 if events == 3600 else 20000 if events == 7200 else 100000]
        if headlines:
            rows = [dict(r, text="") for r in rows]
        tracemalloc.start()
        pred, secs = run(rows)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{label}: {secs:.1f} s, python peak {peak:.0f} MB, {len(set(pred))} stories")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", action="store_true")
    ap.add_argument("--cut", type=float)
    args = ap.parse_args()
    if args.cut:
        cluster.CUT = args.cut
    syn = load(ROOT / "benchmarks" / "data" / "synthetic.jsonl")
    table({"synthetic, title + lead": syn, "synthetic, headlines only": [dict(r, text="") for r in syn],
           "demo corpus": demo_rows(), "demo corpus, headlines only": [dict(r, text="") for r in demo_rows()]})
    if args.scale:
        scale()
