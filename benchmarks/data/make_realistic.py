"""Build benchmarks/data/realistic.jsonl from the hand-written realistic_*.txt files.

    .venv/bin/python benchmarks/data/make_realistic.py

The .txt files hold invented news events written by hand to look like a news aggregator's story
groupings of real headlines: each event covered by 1-10 outlets in their own words, with follow-ups
on later days, singletons, and near misses that must stay apart (same company, other news; same kind
of event, other country or week). Format, one event after another:

    # e012 3 ~e011        event id, day after 2025-06-02, optionally "~<event>" = a near miss of it
    0 21:05 | Outlet | Headline          days after the event day, time (UTC), outlet, headline
    > Lead sentence(s) of that article (optional; makes the "with text" variant)

Each output line: {"id", "title", "text", "source", "published", "story", "split"}. `split` is
"tune" or "held": events are split by group (an event and its near misses form one group, so both
sides of a near miss land in the same half), alternating in the order the groups first appear.
Tune only on "tune"; report "held" as held-out.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = datetime(2025, 6, 2, tzinfo=timezone.utc)
_EVENT = re.compile(r"^# ([a-z]\d+) (\d+)(?: ~([a-z]\d+))?\s*$")
_DOC = re.compile(r"^(\d+) (\d\d):(\d\d) \| ([^|]+?) \| (.+)$")


def parse(paths: list[Path]) -> list[dict]:
    rows: list[dict] = []
    group: dict[str, str] = {}
    order: list[str] = []
    event = day = None
    for path in paths:
        for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            m = _EVENT.match(line)
            if m:
                event, day = m.group(1), int(m.group(2))
                if event in group:
                    raise SystemExit(f"{path.name}:{n}: event {event} defined twice")
                g = group[m.group(3)] if m.group(3) else event
                group[event] = g
                if g not in order:
                    order.append(g)
                continue
            if line.startswith("#"):
                continue
            if line.startswith(">"):  # several in a row make one text (coverage_*.txt)
                if not rows:
                    raise SystemExit(f"{path.name}:{n}: a lead must follow a headline")
                rows[-1]["text"] = (rows[-1]["text"] + " " + line[1:].strip()).strip()
                continue
            m = _DOC.match(line)
            if not m or event is None:
                raise SystemExit(f"{path.name}:{n}: cannot read {line!r}")
            off, hh, mm, outlet, title = m.groups()
            when = START + timedelta(days=day + int(off), hours=int(hh), minutes=int(mm))
            rows.append({"id": f"r{len(rows) + 1:04d}", "title": title.strip(), "text": "", "source": outlet.strip(),
                         "published": when.isoformat(), "story": event, "group": group[event]})
    half = {g: ("tune" if k % 2 == 0 else "held") for k, g in enumerate(order)}
    for r in rows:
        r["split"] = half[r.pop("group")]
    return rows


def main() -> None:
    rows = parse(sorted(HERE.glob("realistic_*.txt")))
    out = HERE / "realistic.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    events = {r["story"] for r in rows}
    sizes = {}
    for r in rows:
        sizes[r["story"]] = sizes.get(r["story"], 0) + 1
    print(f"{out}: {len(rows)} headlines, {sum(1 for r in rows if r['text'])} with a lead, {len(events)} events "
          f"({sum(1 for v in sizes.values() if v == 1)} singletons); tune {sum(r['split'] == 'tune' for r in rows)}, "
          f"held {sum(r['split'] == 'held' for r in rows)}", file=sys.stderr)


if __name__ == "__main__":
    main()
