"""Builders for the trust-boundary tests in tests/test_hostile.py and tests/test_faults.py: invented outlets,
their feeds and article pages, a feeds.yaml, and readers of what a run published (stories.json) and stored."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from monitor.config import Config
from monitor.store import Store

from tests.db import db_rows

LOREM = ("The harbour council of Velmora voted on Tuesday to open its new tide barrier to ships at night, "
         "ending a ban that had lasted since the barrier was built. Captains had asked for the change for years. "
         "The council said sensors on the barrier now track every ship and close the gates when a storm warning "
         "is issued, and that night pilots would be paid from the harbour's own fees.")


def article_page(title: str, text: str = LOREM, *, canonical: str | None = None, published: str | None = None,
                 extra_head: str = "") -> bytes:
    head = f"<title>{escape(title)}</title>"
    if canonical:
        head += f'<link rel="canonical" href="{escape(canonical)}">'
    if published:
        head += f'<meta property="article:published_time" content="{escape(published)}">'
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n"))
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>{head}{extra_head}</head><body>"
            f"<article><h1>{escape(title)}</h1>{paragraphs}</article></body></html>").encode()


def rss_feed(title: str, items: list[tuple[str, str]], *, dates: list[str | None] | None = None) -> bytes:
    """items: (title, link); dates: RFC 822 per item (None: no date)."""
    dates = dates or ["Wed, 04 Nov 2026 08:00:00 GMT"] * len(items)
    body = "".join(f"<item><title>{escape(t)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
                   + (f"<pubDate>{d}</pubDate>" if d else "") + "<description>Feed summary.</description></item>"
                   for (t, link), d in zip(items, dates))
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>{body}</channel></rss>'.encode()


def write_config(tmp: Path, feeds: list[str], *, extra: str = "") -> Path:
    path = tmp / "feeds.yaml"
    path.write_text("database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\ntopics: []\n"
                    + extra + "feeds:\n" + "".join(f"  - url: '{u}'\n" for u in feeds), encoding="utf-8")
    return path


def published_articles(config: Config) -> dict[str, dict]:
    """url -> the article as stories.json shows it (with its story's title under "story")."""
    stories = json.loads((config.site_dir / "stories.json").read_text(encoding="utf-8"))["stories"]
    return {a["url"]: {**a, "story": s["title"], "story_published": s["last_published"]}
            for s in stories for a in s["articles"]}


def stored_articles(config: Config) -> dict[str, dict]:
    """url -> the stored article row."""
    with Store.open(config.database) as store:
        return {r["url"]: dict(r) for r in db_rows(store, "SELECT * FROM articles")}


def feed_health(config: Config) -> dict[str, object]:
    with Store.open(config.database) as store:
        return {f.url: f for f in store.feed_statuses()}
