"""`monitor feeds`: each configured feed with its health, as rows for a terminal table or JSON."""

from __future__ import annotations

from datetime import datetime

from .config import Config
from .dates import iso_z
from .store import Store

COLUMNS = [("name", "outlet"), ("last_success", "last success"), ("last_error", "last error"),
           ("next_due", "next due"), ("links", "links"), ("articles", "articles"), ("url", "url")]


def feed_rows(config: Config, store: Store) -> list[dict]:
    """One dict per configured feed, in feeds.yaml order; never-fetched feeds included."""
    stored = {s.url: s for s in store.feed_statuses()}
    links = store.link_counts()
    rows = []
    for feed in config.feeds:
        status = stored.get(feed.url)
        rows.append({
            "url": feed.url,
            "name": feed.name or (status.name if status else feed.url),
            "tags": list(feed.tags),
            "interval": feed.interval,
            "last_success": iso_z(status.last_success) if status and status.last_success else None,
            "last_error": status.last_error if status else None,
            "failures": status.failures if status else 0,
            "next_due": iso_z(status.next_due) if status and status.next_due else None,
            "articles": status.articles if status else 0,
            "aggregator": feed.aggregator,
            # an aggregator's links resolved to the outlets' articles: (resolved, seen)
            "links_resolved": links.get(feed.url, (0, 0))[0] if feed.aggregator else None,
            "links_seen": links.get(feed.url, (0, 0))[1] if feed.aggregator else None,
        })
    return rows


def render_table(rows: list[dict], *, width: int = 160) -> str:
    """A plain-text table; long cells are cut so that each feed stays on one line."""
    def cell(row: dict, key: str) -> str:
        if key == "links":
            return f"resolved {row['links_resolved']} of {row['links_seen']}" if row["aggregator"] else "-"
        value = row[key]
        if value is None:
            return "-" if key != "next_due" else "now"
        if key in ("last_success", "next_due"):
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M")
        if key == "last_error":
            value = value.removeprefix(row["url"] + ": ")  # the url has its own column
            return f"({row['failures']}x) {value}" if row["failures"] else value
        return str(value)

    table = [[title for _, title in COLUMNS]] + [[cell(r, k) for k, _ in COLUMNS] for r in rows]
    limits = {"name": 28, "last_error": 40, "links": 22, "url": max(20, width - 28 - 40 - 16 * 2 - 8 - 10)}
    widths = []
    for i, (key, _) in enumerate(COLUMNS):
        widths.append(min(max(len(line[i]) for line in table), limits.get(key, 99)))
    lines = []
    for line in table:
        cells = [(c if len(c) <= w else c[: w - 1] + "…").ljust(w) for c, w in zip(line, widths)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
