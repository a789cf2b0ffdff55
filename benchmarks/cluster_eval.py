"""Score story clustering on labelled sets and time it (run on demand, not part of the test suite).

    .venv/bin/python benchmarks/data/make_synthetic.py     # once: writes benchmarks/data/synthetic.jsonl
    .venv/bin/python benchmarks/cluster_eval.py            # table of precision/recall/F1 + timings
    .venv/bin/python benchmarks/cluster_eval.py --scale    # also 10k headlines / 100k articles timings (new articles into an archive: bench_story_runs.py)
    .venv/bin/python benchmarks/cluster_eval.py --profile 20000   # where the time goes

    .venv/bin/python benchmarks/cluster_eval.py --tune     # candidate settings: tuning half vs held-out half

Every set is run through `cluster_lines`, the code path of `monitor cluster` (and of each `monitor run`'s window).
Sets: the hand-written realistic headlines (benchmarks/data/realistic.jsonl, built by
make_realistic.py; all headlines, and the ~280 with a lead "with text"), each split into the tuning
half and the held-out half of its events; the synthetic articles with their leads and the same
headlines only; and monitor/demo/corpus when it exists (each article with a `story` label).
"""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "data"))

from monitor import cluster, features  # noqa: E402
from monitor.evaluate import bcubed, pairwise  # noqa: E402


def run(rows: list[dict], window_days: float = 4) -> tuple[list, float]:
    t0 = time.perf_counter()
    out = [json.loads(x) for x in cluster.cluster_lines((json.dumps(r) for r in rows), window_days=window_days)]
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


def realistic_sets() -> dict[str, list[dict]]:
    """The hand-written realistic set: headlines only, and the articles with a lead, per half."""
    path = ROOT / "benchmarks" / "data" / "realistic.jsonl"
    rows = load(path) if path.exists() else []
    out = {}
    for split, label in (("tune", "tuning half"), ("held", "held-out half")):
        part = [r for r in rows if r["split"] == split]
        out[f"realistic headlines, {label}"] = [dict(r, text="") for r in part]
        out[f"realistic with text, {label}"] = [r for r in part if r["text"]]
    return out


# What --tune may change: name -> (module, constant); "window" is cluster_lines' window_days.
KNOBS = {"cut": (cluster, "CUT"), "cut_hl": (cluster, "CUT_HEADLINES"), "same_outlet": (cluster, "SAME_SOURCE_PENALTY"), "time": (cluster, "TIME_PENALTY"),
         "title_times": (features, "TITLE_TIMES"), "w_words": (features, "W_WORDS"), "w_chars": (features, "W_CHARS"),
         "w_names": (features, "W_NAMES"), "lead_words": (features, "LEAD_WORDS"), "w_embed": (cluster, "W_EMBED"),
         "bg_words": (features, "BG_WORDS"), "bg_names": (features, "BG_NAMES"), "embed_words": (features, "EMBED_WORDS"),
         "same_exempt": (cluster, "SAME_SOURCE_EXEMPT"), "evidence": (cluster, "EVIDENCE"), "evidence_max": (cluster, "EVIDENCE_MAX"), "evidence_free": (cluster, "EVIDENCE_FREE"), "centre": (cluster, "CENTRE_PRIOR")}


@contextmanager
def setting(**kw):
    """Module constants set to `kw` for the duration (window is passed, not set)."""
    kw = {k: v for k, v in kw.items() if k != "window"}
    saved = {k: getattr(*KNOBS[k]) for k in kw}
    try:
        for k, v in kw.items():
            setattr(*KNOBS[k], v)
        yield
    finally:
        for k, v in saved.items():
            setattr(*KNOBS[k], v)


def unit_cases(window: float) -> str:
    """The stated requirements of tests/test_cluster.py and tests/test_story_signals.py under the current
    constants: 'ok' or what broke."""
    from tests import coverage_cases as c, test_cluster as t

    broke = []
    docs = [t.HELIX_A, t.HELIX_B, t.HELIX_JOBS, t.LETTER, *t.NOISE]
    got = {d.id: int(lab) for d, lab in zip(docs, cluster.cluster_docs(docs, window_days=window))}
    if got["a1"] != got["a2"]:
        broke.append("reports split")
    if got["a4"] == got["a1"]:
        broke.append("job posting joins")
    if got["a3"] == got["a1"]:
        broke.append("letter joins")
    docs = [*c.FIVE, *c.RIVAL, *c.OFF_TOPIC]
    lab = dict(zip((d.id for d in docs), cluster.cluster_docs(docs, window_days=window).tolist()))
    if len({lab[d.id] for d in c.FIVE}) > 1:
        broke.append(f"five reports in {len({lab[d.id] for d in c.FIVE})}")
    if lab["r1"] != lab["r2"]:
        broke.append("rival split")
    if lab["r1"] in {lab[d.id] for d in c.FIVE}:
        broke.append("rival joins")
    if len({lab[d.id] for d in c.OFF_TOPIC} | {lab["f1"], lab["r1"]}) < 5:
        broke.append("off-topic joins")
    return ", ".join(broke) or "ok"


def coverage_sets() -> dict[str, list[dict]]:
    """The hand-written long-text coverage (benchmarks/data/coverage.jsonl, built by make_coverage.py):
    tuning file and held-out file, as written (texts and bare headlines) and as headlines only."""
    path = ROOT / "benchmarks" / "data" / "coverage.jsonl"
    rows = load(path) if path.exists() else []
    out = {}
    for split, label in (("tune", "tuning file"), ("held", "held-out file")):
        part = [r for r in rows if r["split"] == split]
        out[f"coverage, {label}"] = part
        out[f"coverage headlines, {label}"] = [dict(r, text="") for r in part]
    return out


def tune_sets() -> dict[str, list[dict]]:
    syn = load(ROOT / "benchmarks" / "data" / "synthetic.jsonl")
    on = [r for r in demo_rows() if r["relevant"]]
    return {**realistic_sets(), **coverage_sets(), "synthetic, title + lead": syn,
            "synthetic, headlines only": [dict(r, text="") for r in syn],
            "demo on-subject": on, "demo on-subject, headlines only": [dict(r, text="") for r in on]}


SHORT = {"realistic headlines, tuning half": "real hl tune", "realistic headlines, held-out half": "real hl held",
         "realistic with text, tuning half": "real txt tune", "realistic with text, held-out half": "real txt held",
         "coverage, tuning file": "cov tune", "coverage, held-out file": "cov held",
         "coverage headlines, tuning file": "cov hl tune", "coverage headlines, held-out file": "cov hl held",
         "synthetic, title + lead": "syn txt", "synthetic, headlines only": "syn hl", "demo on-subject": "demo txt",
         "demo on-subject, headlines only": "demo hl"}


def evaluate(sets: dict[str, list[dict]], **kw) -> dict[str, float]:
    """BCubed F1 of every set under setting `kw`, and the unit cases."""
    window = kw.get("window", 4)
    out: dict = {}
    with setting(**kw):
        for name, rows in sets.items():
            pred, _ = run(rows, window)
            out[name] = bcubed([r["story"] for r in rows], pred)[2]
        out["unit"] = unit_cases(window)
    return out


def print_rows(results: list[tuple[dict, dict]], sets) -> None:
    print("| setting | " + " | ".join(SHORT.get(n, n) for n in sets) + " | unit tests |")
    print("|---" * (len(sets) + 2) + "|")
    for kw, res in results:
        label = ", ".join(f"{k}={v:g}" for k, v in kw.items()) or "current"
        print(f"| {label} | " + " | ".join(f"{res[n]:.3f}" for n in sets) + f" | {res['unit']} |", flush=True)


def tune(grid: dict[str, list]) -> None:
    """One row per candidate setting (BCubed F1): each knob swept alone, then the given joint grid."""
    import itertools

    sets = tune_sets()
    rows = [({}, evaluate(sets))]
    for k, values in SWEEP.items():
        rows += [({k: v}, evaluate(sets, **{k: v})) for v in values]
    print_rows(rows, sets)
    if grid:
        keys = list(grid)
        joint = [dict(zip(keys, vals)) for vals in itertools.product(*grid.values())]
        res = [(kw, evaluate(sets, **kw)) for kw in joint]
        res.sort(key=lambda x: -x[1]["realistic headlines, tuning half"] - x[1]["realistic with text, tuning half"])
        print("\nJoint grid, best on the tuning half first:\n")
        print_rows(res[:25], sets)


SWEEP = {"cut": [0.7, 0.8, 0.85, 0.9], "cut_hl": [0.85, 0.9, 0.95], "title_times": [1, 3], "w_words": [0.7, 1.3], "w_chars": [0.4, 1.2, 1.6],
         "w_names": [0.5, 1.3, 1.8], "same_outlet": [0.0, 0.25], "time": [0.0, 0.2], "window": [2, 7],
         "lead_words": [60, 300]}


def synthetic(n: int, *, headlines: bool = False) -> list[dict]:
    import make_synthetic

    rows = make_synthetic.make(seed=11, events=int(n / 2.7))[:n]
    return [dict(r, text="") for r in rows] if headlines else rows


def _one_scale(label: str, n: int, headlines: bool) -> None:
    rows = synthetic(n, headlines=headlines)
    pred, secs = run(rows)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| {label} | {len(rows)} | {secs:.1f} | {peak:.0f} | {len(set(pred))} |", flush=True)


def scale() -> None:
    """Each case in its own process, so that its peak memory (max RSS) is its own."""
    print("| case | articles | seconds | peak RSS MB | stories |\n|---|---|---|---|---|", flush=True)
    for label, n, headlines in (("10k headlines", 10_000, True), ("10k articles", 10_000, False),
                                ("100k articles", 100_000, False)):
        subprocess.run([sys.executable, __file__, "--case", label, str(n), str(int(headlines))], check=True)


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
    ap.add_argument("--tune", action="store_true", help="candidate settings: tuning half vs held-out half")
    ap.add_argument("--grid", default="", help='joint grid for --tune, e.g. "cut=0.8,0.85;w_chars=0.8,1.2"')
    ap.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        _one_scale(args.case[0], int(args.case[1]), args.case[2] == "1")
        sys.exit(0)
    if args.profile:
        profile(args.profile)
        sys.exit(0)
    if args.tune:
        grid = {k: [float(v) for v in vals.split(",")]
                for k, vals in (part.split("=") for part in args.grid.split(";") if part.strip())}
        tune(grid)
        sys.exit(0)
    if args.cut:
        cluster.CUT = args.cut
    syn = load(ROOT / "benchmarks" / "data" / "synthetic.jsonl")
    demo = demo_rows()
    on = [r for r in demo if r["relevant"]]
    table({**realistic_sets(), **coverage_sets(), "synthetic, title + lead": syn, "synthetic, headlines only": [dict(r, text="") for r in syn],
           "demo corpus, all": demo, "demo corpus, all, headlines only": [dict(r, text="") for r in demo],
           "demo corpus, on-subject": on, "demo corpus, on-subject, headlines only": [dict(r, text="") for r in on]})
    if args.scale:
        scale()
