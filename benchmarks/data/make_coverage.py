"""Build benchmarks/data/coverage.jsonl from the hand-written coverage_tune.txt and coverage_held.txt.

    .venv/bin/python benchmarks/data/make_coverage.py

Invented events told by several invented outlets in their own words and angles (wire, blog, trade
press, explainer, markets and crypto outlets), long texts for most articles and bare headlines for
some, with near misses in the same file: the same organisation's other news in the same week, and
the same kind of event a week apart. Same line format as realistic_*.txt (make_realistic.parse).
Unlike realistic.jsonl, the split is by file: `split` is "tune" for coverage_tune.txt (thresholds
and weights may be chosen on it) and "held" for coverage_held.txt (reported only, never tuned on).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_realistic import parse  # noqa: E402


def main() -> None:
    rows = []
    for split in ("tune", "held"):
        for r in parse([HERE / f"coverage_{split}.txt"]):
            rows.append(dict(r, id=f"{split}-{r['id']}", split=split))
    out = HERE / "coverage.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for split in ("tune", "held"):
        part = [r for r in rows if r["split"] == split]
        print(f"{split}: {len(part)} articles ({sum(bool(r['text']) for r in part)} with text), "
              f"{len({r['story'] for r in part})} events", file=sys.stderr)


if __name__ == "__main__":
    main()
