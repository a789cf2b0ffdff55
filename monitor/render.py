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
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from monitor import charts
from monitor.models import Article, Story

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
    """The published excerpt of an article: its summary, else the start of its text; never more than `limit` words."""
    return words(article.summary or article.text or "", limit) if (article.summary or article.text) else ""


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


def independent_outlets(story: Story) -> tuple[str, ...]:
    """The outlets that reported the story themselves, in order of first coverage: a syndicated copy
    (duplicate_of set to an article of the story) does not make its carrier an outlet of its own."""
    ids = {a.id for a in story.articles if a.id is not None}
    seen: dict[str, None] = {}
    for a in sorted(story.articles, key=lambda a: (a.published, a.id or 0)):
        if a.duplicate_of is None or a.duplicate_of not in ids or a.duplicate_of == a.id:
            seen.setdefault(a.source, None)
    return tuple(seen) or story.sources


def importance(story: Story, *, latest: datetime) -> float:
    """How much a story matters on the front page: independent outlets first, then how long the coverage
    went on (up to three days), then how recent it is (halved every three days before `latest`)."""
    spread_days = min((story.last_published - story.first_published).total_seconds() / 86400, 3.0)
    age_days = max((latest - story.last_published).total_seconds() / 86400, 0.0)
    return (len(independent_outlets(story)) + 0.5 * spread_days) * 0.5 ** (age_days / 3)


def story_row(story: Story, href: str, *, top: bool = False) -> str:
    """One story on the home page or in an archive month: when it was first reported, headline, summary line,
    independent outlets with a meter on a fixed scale (one mark per outlet, up to charts.METER_SCALE)."""
    outlets = independent_outlets(story)
    n, arts = len(outlets), len(story.articles)
    t0, t1 = story.first_published, story.last_published
    cls = "mn-row mn-row--top" if top else "mn-row"
    return (
        f'<article class="{cls}">'
        f'<div class="mn-row__time">{_time_tag(t1, fmt_time(t1))}</div>'
        '<div class="mn-row__body">'
        f'<h3 class="mn-row__title"><a href="{esc(href)}">{esc(story.title)}</a></h3>'
        f'<p class="mn-row__summary">{esc(one_line(story.summary))}</p>'
        f'<p class="mn-row__outlets"><strong>{_plural(n, "outlet")}</strong> · {outlet_list(outlets)}</p>'
        f'<p class="mn-row__when">First reported {_time_tag(t0, fmt_when(t0))}'
        f' · {_plural(arts, "article")}</p>'
        "</div>"
        f'<div class="mn-row__spark">{charts.outlet_meter(n)}</div>'
        "</article>"
    )


def _day_groups(stories: Sequence[Story], href_prefix: str, paths: dict[int, str], *,
                latest: datetime | None = None) -> list[str]:
    """Stories grouped by the day of their latest article, newest day first; within a day the most important
    first (by `importance`) when `latest` is given, else newest first."""
    def day(s: Story):
        return utc(s.last_published).date()

    ordered = sorted(stories, key=lambda s: (s.last_published, s.id), reverse=True)
    if latest is not None:
        ordered.sort(key=lambda s: (day(s), importance(s, latest=latest)), reverse=True)
    out: list[str] = []
    current = None
    for s in ordered:
        d = day(s)
        if d != current:
            if current is not None:
                out.append("</section>")
            current = d
            out.append(f'<section class="mn-day"><h2 class="mn-day__title" id="day-{d.isoformat()}">'
                       f"{fmt_day(s.last_published)}</h2>")
        out.append(story_row(s, href_prefix + paths[s.id]))
    if current is not None:
        out.append("</section>")
    return out


def top_stories(stories: Sequence[Story], *, latest: datetime, limit: int = 5, days: int = 7) -> list[Story]:
    """The most important stories of the `days` days up to `latest`, covered by at least two outlets."""
    cutoff = latest - timedelta(days=days)
    pool = [s for s in stories if s.last_published >= cutoff and len(independent_outlets(s)) >= 2]
    return sorted(pool, key=lambda s: (importance(s, latest=latest), s.last_published), reverse=True)[:limit]


def home_md(recent: Sequence[Story], paths: dict[int, str], *, title: str, latest: datetime, volume_svg: str,
            months: Sequence[str], total: int, top: Sequence[Story] = ()) -> str:
    """The home page: the subject's volume chart, "Top stories this week", then the latest stories by day.

    `latest` is the newest article's time (not the clock), so an unchanged archive renders the same page.
    """
    head = [front_matter(title, hide=("navigation", "toc")),
            '<div class="mn-home">',
            f'<header class="mn-masthead"><h1>{esc(title)}</h1>'
            f'<p class="mn-lede">{_plural(total, "story", "stories")} tracked · latest coverage '
            f'{_time_tag(latest, fmt_when(latest))}</p></header>']
    if top:
        head.append('<section class="mn-top" aria-labelledby="top-stories"><h2 id="top-stories">Top stories this week</h2>'
                    + "".join(story_row(s, paths[s.id], top=True) for s in top) + "</section>")
    head.append(f'<figure class="mn-figure" data-search-exclude>{volume_svg}'
                "<figcaption>Articles per day, last 30 days</figcaption></figure>")
    body = _day_groups(recent, "", paths, latest=latest)
    if not body:
        body = ['<p class="mn-empty">No stories yet.</p>']
    else:
        body.insert(0, f'<h2 class="mn-latest" id="latest">Latest {_plural(len(recent), "story", "stories")}</h2>')
    tail = ['<nav class="mn-older" aria-labelledby="older"><h2 id="older">Older stories</h2><p>'
            + " · ".join(f'<a href="archive/{m}.html">{_month_name(m)}</a>' for m in months[:6])
            + (' · <a href="archive/index.html">all months</a>' if months else "No older stories yet.")
            + "</p></nav>", "</div>", ""]
    return "\n".join(head + body + tail)


def _month_name(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def archive_month_md(month: str, stories: Sequence[Story], paths: dict[int, str]) -> str:
    """One month of older stories, grouped by day, newest first."""
    name = _month_name(month)
    parts = [front_matter(f"Stories of {name}"), '<div class="mn-home">',
             f'<header class="mn-masthead"><h1>Stories of {name}</h1>'
             f'<p class="mn-lede">{_plural(len(stories), "story", "stories")} · <a href="index.html">all months</a></p></header>']
    parts += _day_groups(stories, "../", paths)
    parts += ["</div>", ""]
    return "\n".join(parts)


def archive_index_md(counts: dict[str, int]) -> str:
    """The list of archive months with their story counts."""
    items = "".join(f'<li><a href="{m}.html">{_month_name(m)}</a> <span class="mn-muted">{_plural(n, "story", "stories")}</span></li>'
                    for m, n in sorted(counts.items(), reverse=True))
    return "\n".join([front_matter("Archive"), '<div class="mn-home"><h1>Archive</h1>',
                      '<p class="mn-lede">Stories older than the latest ones on the home page, by month of their latest article.</p>',
                      f'<ul class="mn-months">{items}</ul>' if items else "<p>No older stories yet.</p>",
                      "</div>", ""])


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


plural = _plural  # for the other page modules (outlet_pages, search)


def _fact_item(fact, total: int) -> str:
    n = len(fact.outlets)
    pct = round(100 * n / total) if total else 0
    ev = "".join(
        f'<li>{link(e.url, esc(e.source), cls="mn-fact__outlet")}'
        f'<span class="mn-fact__sentence">{esc(e.sentence)}</span></li>' for e in fact.evidence)
    cited = {e.source for e in fact.evidence}
    rest = [o for o in fact.outlets if o not in cited]
    if rest:
        ev += f'<li class="mn-muted">Also: {", ".join(esc(o) for o in rest)}</li>'
    kind = "Quote" if fact.kind == "quote" else "Figure"
    text = f"“{esc(fact.text)}”" if fact.kind == "quote" else esc(fact.text)
    return (f'<li class="mn-fact mn-fact--{"quote" if fact.kind == "quote" else "figure"}">'
            f'<div class="mn-fact__head"><span class="mn-fact__kind">{kind}</span>'
            f'<span class="mn-fact__text">{text}</span></div>'
            f'<div class="mn-meter" aria-hidden="true"><span style="width:{pct}%"></span></div>'
            f'<p class="mn-fact__count">reported by {n} of {_plural(total, "outlet")}</p>'
            f'<ul class="mn-fact__evidence">{ev}</ul></li>')


def _article_item(a: Article, copies: Sequence[Article]) -> str:
    by = f' · by {esc(a.author)}' if a.author else ""
    ex = excerpt(a)
    cp = "".join(f'<li>Also carried by <strong>{esc(c.source)}</strong> at {_time_tag(c.published, fmt_when(c.published))}: '
                 f'{link(c.url, esc(c.title or c.url))}</li>' for c in copies)
    return ('<li class="mn-tl__item">'
            f'<div class="mn-tl__when">{_time_tag(a.published, fmt_when(a.published))}</div>'
            f'<div class="mn-tl__body"><p class="mn-tl__meta"><strong class="mn-tl__outlet">{esc(a.source)}</strong>{by}</p>'
            f'<h3 class="mn-tl__title">{link(a.url, esc(a.title or a.url))}</h3>'
            + (f'<p class="mn-tl__excerpt">{esc(ex)}</p>' if ex else "")
            + (f'<ul class="mn-tl__copies">{cp}</ul>' if cp else "")
            + "</div></li>")


def story_md(story: Story, related: Sequence[tuple[Story, str]]) -> str:
    """A story page: summary, agreed facts, coverage chart, the coverage in order with copies, related stories.

    `related` holds (story, href relative to this page) for the related stories that are published.
    """
    arts = sorted(story.articles, key=lambda a: (a.published, a.id or 0))
    sources = story.sources
    total = len(sources)
    ids = {a.id for a in arts if a.id is not None}
    copies: dict[int, list[Article]] = {}
    originals = []
    for a in arts:
        if a.duplicate_of is not None and a.duplicate_of in ids and a.duplicate_of != a.id:
            copies.setdefault(a.duplicate_of, []).append(a)
        else:
            originals.append(a)
    first_link = {}
    for a in arts:
        first_link.setdefault(a.source, a.url)
    chips = "".join(f"<li>{link(first_link[s], esc(s))}</li>" for s in sources)
    agreed = sorted((f for f in story.facts if len(f.outlets) >= 2), key=lambda f: (-len(f.outlets), f.kind, f.key))
    single = [f for f in story.facts if len(f.outlets) < 2]
    t0, t1 = story.first_published, story.last_published
    out = [front_matter(story.title), '<div class="mn-story">',
           '<header class="mn-story__head">',
           f'<p class="mn-kicker">Story · first reported {_time_tag(t0, fmt_when(t0))}</p>',
           f'<h1>{esc(story.title)}</h1>',
           f'<p class="mn-story__stats"><strong>{_plural(total, "outlet")}</strong> · {_plural(len(arts), "article")}'
           f' · latest {_time_tag(t1, fmt_when(t1))}</p>',
           f'<ol class="mn-chips" aria-label="Outlets in order of first coverage">{chips}</ol>',
           "</header>"]
    if story.summary:
        out.append(f'<p class="mn-story__summary">{esc(words(story.summary, 120))}</p>')
    out.append(f'<figure class="mn-figure" data-search-exclude>{charts.coverage_chart([a.published for a in arts])}'
               "<figcaption>When the coverage appeared (UTC)</figcaption></figure>")
    if agreed:
        out.append('<section class="mn-facts"><h2 id="agreed">What the coverage agrees on</h2>'
                   f'<ol class="mn-facts__list">{"".join(_fact_item(f, total) for f in agreed)}</ol></section>')
    if single:
        out.append('<details class="mn-single"><summary>Reported by one outlet only '
                   f'({len(single)})</summary><ul>'
                   + "".join(f"<li>{esc(f.text)} · {link(f.evidence[0].url if f.evidence else None, esc(f.outlets[0] if f.outlets else ''))}</li>"
                             for f in single) + "</ul></details>")
    out.append('<section class="mn-timeline"><h2 id="coverage">The coverage, in order</h2><ol class="mn-tl">'
               + "".join(_article_item(a, copies.get(a.id, ())) for a in originals) + "</ol></section>")
    if related:
        items = "".join(f'<li><a href="{esc(href)}">{esc(r.title)}</a> <span class="mn-muted">'
                        f'{fmt_when(r.last_published)} · {_plural(len(r.sources), "outlet")}</span></li>'
                        for r, href in related)
        out.append(f'<section class="mn-related"><h2 id="related">Related stories</h2><ul>{items}</ul></section>')
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
        '<h2 id="data">Data</h2><ul><li><a href="feed.xml">feed.xml</a>: an Atom feed, one entry per story</li>'
        '<li><a href="stories.json">stories.json</a>: every story with its articles, excerpts and links</li></ul>',
        "</div>", ""])
