"""Markdown sources of the site's pages, with every hostile string escaped.

Pure functions: stories and feed states in, Markdown text out. Every title, excerpt, name, quote and
URL comes from feeds or pages and is hostile, so it never reaches Markdown as Markdown: pages are
mostly raw HTML blocks in which each hostile value went through `esc()` (HTML escaping plus numeric
entities for the characters Markdown, attr_list, tables and Jinja-like templates react to) and each
link through `link()` (http(s) only, rel="nofollow noopener noreferrer"; anything else is plain text).
Hostile text is also flattened to one line, so no fence or block syntax can start inside it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from urllib.parse import urlsplit

from monitor import charts
from monitor.models import Article, FeedStatus, Story
from monitor.urls import public_url

REL = "nofollow noopener noreferrer"
EXCERPT_WORDS = 60
_MD_SPECIAL = {ord(c): f"&#{ord(c)};" for c in "`{}[]()|*_\\~"}
_SPACE = re.compile(r"\s+")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f<>\"'`\\]")


def esc(text: object) -> str:
    """Hostile text as inert HTML on one line: `<>&"'` escaped, Markdown/template characters as entities."""
    flat = _SPACE.sub(" ", str(text or "")).strip()
    return html.escape(flat, quote=True).translate(_MD_SPECIAL)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain absolute http(s) URL with a host, else None."""
    if not url:
        return None
    url = url.strip()
    if _BAD_URL_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def link(url: str | None, text_html: str, *, cls: str = "") -> str:
    """An outbound link to `url` showing `text_html` (already escaped); plain text when the URL is not http(s)."""
    u = safe_url(url)
    c = f' class="{cls}"' if cls else ""
    if u is None:
        return f"<span{c}>{text_html}</span>"
    return f'<a href="{esc(u)}" rel="{REL}"{c}>{text_html}</a>'


def words(text: str, limit: int) -> str:
    """At most `limit` words of `text`, with an ellipsis when cut."""
    ws = _SPACE.sub(" ", text[: limit * 30]).strip().split(" ")
    return " ".join(ws[:limit]) + ("…" if len(ws) > limit else "")


def excerpt(article: Article, limit: int = EXCERPT_WORDS) -> str:
    """The published excerpt of an article: the start of its text, else its feed summary; at most `limit` words."""
    return words(article.text or article.summary or "", limit) if (article.text or article.summary) else ""


def one_line(summary: str, limit: int = 32) -> str:
    """The first sentence of a summary, at most `limit` words."""
    flat = _SPACE.sub(" ", summary or "").strip()
    m = re.match(r"(.+?[.!?])(\s|$)", flat)
    return words(m.group(1) if m else flat, limit)


def utc(t: datetime) -> datetime:
    return t.astimezone(timezone.utc)


def fmt_time(t: datetime) -> str:
    return utc(t).strftime("%H:%M")


def fmt_day(t: datetime) -> str:
    return utc(t).strftime("%A %-d %B %Y")


def fmt_when(t: datetime | None) -> str:
    return utc(t).strftime("%-d %b %Y, %H:%M UTC") if t else "never"


def iso(t: datetime) -> str:
    return utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_tag(t: datetime, text: str) -> str:
    return f'<time datetime="{iso(t)}">{text}</time>'


def front_matter(title: str, *, hide: Sequence[str] = ("navigation", "toc")) -> str:
    """YAML front matter. The title is escaped HTML because the theme prints page.meta.title unescaped, and
    ASCII (other characters as numeric entities): json.dumps writes an emoji as a surrogate-pair escape, which
    mkdocs' YAML reader refuses, and the page then showed its front matter as text."""
    ascii_title = esc(title).encode("ascii", "xmlcharrefreplace").decode("ascii")
    lines = ["---", f"title: {json.dumps(ascii_title)}", "hide:"] + [f"  - {h}" for h in hide] + ["---", ""]
    return "\n".join(lines)


def outlet_list(sources: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(esc(s) for s in sources[:limit])
    more = len(sources) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def story_row(story: Story, href: str) -> str:
    """One story on the home page or in an archive month: time, headline, summary line, outlets, coverage bar."""
    n = len(story.sources)
    t = story.last_published
    return (
        '<article class="mn-row">'
        f'<div class="mn-row__time">{_time_tag(t, fmt_time(t))}</div>'
        '<div class="mn-row__body">'
        f'<h3 class="mn-row__title"><a href="{esc(href)}">{esc(story.title)}</a></h3>'
        f'<p class="mn-row__summary">{esc(one_line(story.summary))}</p>'
        f'<p class="mn-row__outlets"><strong>{n} outlet{"s" if n != 1 else ""}</strong>'
        f' · {outlet_list(story.sources)}</p>'
        "</div>"
        f'<div class="mn-row__spark">{charts.sparkline([a.published for a in story.originals])}</div>'
        "</article>"
    )


def _day_groups(stories: Sequence[Story], href_prefix: str, paths: dict[int, str]) -> list[str]:
    out: list[str] = []
    day = None
    for s in sorted(stories, key=lambda s: (s.last_published, s.id), reverse=True):
        d = utc(s.last_published).date()
        if d != day:
            if day is not None:
                out.append("</section>")
            day = d
            out.append(f'<section class="mn-day"><h2 class="mn-day__title" id="day-{d.isoformat()}">'
                       f"{fmt_day(s.last_published)}</h2>")
        out.append(story_row(s, href_prefix + paths[s.id]))
    if day is not None:
        out.append("</section>")
    return out


def home_md(recent: Sequence[Story], paths: dict[int, str], *, title: str, latest: datetime, volume_svg: str,
            days: int, months: Sequence[str], total: int) -> str:
    """The home page: the subject's volume chart, then the last `days` days of stories, newest first.

    `latest` is the newest article's time (not the clock), so an unchanged archive renders the same page.
    """
    head = [front_matter(title, hide=("navigation", "toc")),
            '<div class="mn-home">',
            f'<header class="mn-masthead"><h1>{esc(title)}</h1>'
            f'<p class="mn-lede">{_plural(total, "story", "stories")} tracked · latest coverage '
            f'{_time_tag(latest, fmt_when(latest))}</p></header>',
            f'<figure class="mn-figure" data-search-exclude>{volume_svg}<figcaption>Articles per day, last 30 days</figcaption></figure>']
    body = _day_groups(recent, "", paths)
    if not body:
        body = [f'<p class="mn-empty">No stories in the last {days} days.</p>']
    tail = ['<nav class="mn-older"><h2>Older stories</h2><p>'
            + " · ".join(f'<a href="archive/{m}/">{_month_name(m)}</a>' for m in months[:6])
            + (' · <a href="archive/">all months</a>' if months else "No older stories yet.")
            + "</p></nav>", "</div>", ""]
    return "\n".join(head + body + tail)


def _month_name(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def archive_month_md(month: str, stories: Sequence[Story], paths: dict[int, str]) -> str:
    """One month of older stories, grouped by day, newest first."""
    name = _month_name(month)
    parts = [front_matter(f"Stories of {name}"), '<div class="mn-home">',
             f'<header class="mn-masthead"><h1>Stories of {name}</h1>'
             f'<p class="mn-lede">{len(stories)} stories · <a href="../">all months</a></p></header>']
    parts += _day_groups(stories, "../../", paths)
    parts += ["</div>", ""]
    return "\n".join(parts)


def archive_index_md(counts: dict[str, int]) -> str:
    """The list of archive months with their story counts."""
    items = "".join(f'<li><a href="{m}/">{_month_name(m)}</a> <span class="mn-muted">{n} stories</span></li>'
                    for m, n in sorted(counts.items(), reverse=True))
    return "\n".join([front_matter("Archive"), '<div class="mn-home"><h1>Archive</h1>',
                      f'<ul class="mn-months">{items}</ul>' if items else "<p>No older stories yet.</p>",
                      "</div>", ""])


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _health(f: FeedStatus) -> tuple[str, str]:
    if f.failures and f.last_error:
        return "mn-bad", f"failing ({_plural(f.failures, 'failure')})"
    if f.last_success is None:
        return "mn-warn", "not fetched yet"
    if f.last_error_at and f.last_success and f.last_error_at > f.last_success:
        return "mn-warn", "last fetch failed"
    return "mn-ok", "healthy"


def outlets_md(feeds: Sequence[FeedStatus], stories: Sequence[Story], paths: dict[int, str]) -> str:
    """The outlets page: each feed's health and what it contributed, then outlets seen only through aggregators."""
    by_source: dict[str, list[Story]] = {}
    arts_by_source: dict[str, int] = {}
    by_feed: dict[str, list[Story]] = {}
    for s in sorted(stories, key=lambda s: s.last_published, reverse=True):
        for src in s.sources:
            by_source.setdefault(src, []).append(s)
        for fu in {public_url(a.feed_url) for a in s.articles if a.feed_url}:  # as the feeds are shown (site.py)
            by_feed.setdefault(fu, []).append(s)
        for a in s.articles:
            arts_by_source[a.source] = arts_by_source.get(a.source, 0) + 1
    cards = []
    named = set()
    for f in sorted(feeds, key=lambda f: (f.name or f.url).lower()):
        named.add(f.name)
        took = by_feed.get(f.url) or by_source.get(f.name, [])
        cls, word = _health(f)
        latest = "".join(f'<li><a href="../{esc(paths[s.id])}">{esc(s.title)}</a></li>' for s in took[:3])
        err = (f'<dt>Last error</dt><dd>{esc(f.last_error)} <span class="mn-muted">'
               f'({fmt_when(f.last_error_at)})</span></dd>' if f.last_error else "")
        cards.append(
            f'<article class="mn-outlet"><h3>{esc(f.name or f.url)} <span class="mn-badge {cls}">{word}</span></h3>'
            f'<p class="mn-outlet__url">{link(f.url, esc(f.url))}</p>'
            f'<dl><dt>Articles</dt><dd>{f.articles}</dd><dt>Stories</dt><dd>{len(took)}</dd>'
            f'<dt>Last success</dt><dd>{fmt_when(f.last_success)}</dd>{err}'
            f'<dt>Next fetch</dt><dd>{fmt_when(f.next_due) if f.next_due else "at the next run"}'
            + (f' <span class="mn-muted">(backing off after {_plural(f.failures, "failure")})</span>' if f.failures else "")
            + "</dd></dl>"
            + (f'<ul class="mn-outlet__latest">{latest}</ul>' if latest else "")
            + "</article>")
    others = sorted((src for src in by_source if src not in named), key=lambda s: (-len(by_source[s]), s.lower()))
    rows = "".join(f'<tr><td>{esc(src)}</td><td>{arts_by_source.get(src, 0)}</td><td>{len(by_source[src])}</td>'
                   f'<td><a href="../{esc(paths[by_source[src][0].id])}">{esc(by_source[src][0].title)}</a></td></tr>'
                   for src in others)
    ok = sum(1 for f in feeds if _health(f)[0] == "mn-ok")
    out = [front_matter("Outlets"), '<div class="mn-home"><h1>Outlets</h1>',
           f'<p class="mn-lede">{_plural(len(feeds), "feed")} watched, {ok} healthy</p>',
           f'<div class="mn-outlets">{"".join(cards)}</div>']
    if rows:
        out.append('<h2 id="other-outlets">Outlets seen through aggregator feeds</h2>'
                   '<div class="mn-table"><table><thead><tr><th>Outlet</th><th>Articles</th><th>Stories</th>'
                   f"<th>Latest story</th></tr></thead><tbody>{rows}</tbody></table></div>")
    out += ["</div>", ""]
    return "\n".join(out)


def about_md(*, title: str, volume_svg: str, stories: int, articles: int, outlets: int) -> str:
    """The about page: what the site is, the whole archive's volume chart, the machine-readable files."""
    return "\n".join([
        front_matter("About"), '<div class="mn-home"><h1>About</h1>',
        f"<p>{esc(title)} follows news feeds about one subject, groups the articles of different outlets about the "
        "same event into stories, and shows for each story who reported it when and which figures and quotes "
        "the outlets agree on. Only headlines, short excerpts and links are published; read the articles at "
        "their outlets.</p>",
        f'<p class="mn-lede">{_plural(stories, "story", "stories")} · {_plural(articles, "article")} · '
        f'{_plural(outlets, "outlet")}</p>',
        f'<figure class="mn-figure" data-search-exclude>{volume_svg}<figcaption>Coverage volume over the whole archive</figcaption></figure>',
        '<h2 id="data">Data</h2><ul><li><a href="../feed.xml">feed.xml</a>: an Atom feed, one entry per story</li>'
        '<li><a href="../stories.json">stories.json</a>: every story with its articles, excerpts and links</li></ul>',
        "</div>", ""])
