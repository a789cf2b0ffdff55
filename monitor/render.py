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

import jinja2
from markupsafe import Markup

from monitor import charts
from monitor.dates import iso_z
from monitor.models import Article, Story
from monitor.urlcheck import is_http_url

REL = "nofollow noopener noreferrer"
EXCERPT_WORDS = 60
_MD_SPECIAL = {ord(c): f"&#{ord(c)};" for c in "`{}[]()|*_\\~"}
_SPACE = re.compile(r"\s+")
_BAD_URL_CHARS = re.compile(r"[<>\"'`\\]")  # spaces and controls: is_http_url(exact=True)


def esc(text: object) -> str:
    """Hostile text as inert HTML on one line: `<>&"'` escaped, Markdown/template characters as entities."""
    flat = _SPACE.sub(" ", str(text or "")).strip()
    return html.escape(flat, quote=True).translate(_MD_SPECIAL)


def _escape_by_default(value: object) -> object:
    """Every {{ value }} of a template goes through esc() unless it is Markup (a fragment already made safe)."""
    return value if isinstance(value, Markup) else Markup(esc(value))


TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("monitor", "templates"), autoescape=True,
                               finalize=_escape_by_default, undefined=jinja2.StrictUndefined,
                               keep_trailing_newline=True)


def template(name: str, **values: object) -> str:
    """Render monitor/templates/<name> (autoescaping: hostile values are escaped unless passed as Markup)."""
    return TEMPLATES.get_template(name).render(**values)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain absolute http(s) URL with a host, else None."""
    if not url:
        return None
    url = url.strip()
    if _BAD_URL_CHARS.search(url) or not is_http_url(url, exact=True):
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
    return iso_z(t)


def time_tag(t: datetime, text: str) -> str:
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


def importance(story: Story, *, latest: datetime) -> float:
    """How much a story matters on the front page: independent outlets first, then how long the coverage
    went on (up to three days), then how recent it is (halved every three days before `latest`)."""
    spread_days = min((story.last_published - story.first_published).total_seconds() / 86400, 3.0)
    age_days = max((latest - story.last_published).total_seconds() / 86400, 0.0)
    return (len(story.sources) + 0.5 * spread_days) * 0.5 ** (age_days / 3)


def story_row(story: Story, href: str, *, top: bool = False) -> str:
    """One story on the home page or in an archive month: when it was first reported, headline, summary line,
    independent outlets with a meter on a fixed scale (one mark per outlet, up to charts.METER_SCALE)."""
    outlets = story.sources
    n, arts = len(outlets), len(story.articles)
    t0, t1 = story.first_published, story.last_published
    cls = "mn-row mn-row--top" if top else "mn-row"
    return (
        f'<article class="{cls}">'
        f'<div class="mn-row__time">{time_tag(t1, fmt_time(t1))}</div>'
        '<div class="mn-row__body">'
        f'<h3 class="mn-row__title"><a href="{esc(href)}">{esc(story.title)}</a></h3>'
        f'<p class="mn-row__summary">{esc(one_line(story.summary))}</p>'
        f'<p class="mn-row__outlets"><strong>{plural(n, "outlet")}</strong> · {outlet_list(outlets)}</p>'
        f'<p class="mn-row__when">First reported {time_tag(t0, fmt_when(t0))}'
        f' · {plural(arts, "article")}</p>'
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
    pool = [s for s in stories if s.last_published >= cutoff and len(s.sources) >= 2]
    return sorted(pool, key=lambda s: (importance(s, latest=latest), s.last_published), reverse=True)[:limit]


def home_md(recent: Sequence[Story], paths: dict[int, str], *, title: str, latest: datetime, volume_svg: str,
            months: Sequence[str], total: int, top: Sequence[Story] = ()) -> str:
    """The home page: the subject's volume chart, "Top stories this week", then the latest stories by day.

    `latest` is the newest article's time (not the clock), so an unchanged archive renders the same page.
    """
    head = [front_matter(title, hide=("navigation", "toc")),
            '<div class="mn-home">',
            f'<header class="mn-masthead"><h1>{esc(title)}</h1>'
            f'<p class="mn-lede">{plural(total, "story", "stories")} tracked · latest coverage '
            f'{time_tag(latest, fmt_when(latest))}</p></header>']
    if top:
        head.append('<section class="mn-top" aria-labelledby="top-stories"><h2 id="top-stories">Top stories this week</h2>'
                    + "".join(story_row(s, paths[s.id], top=True) for s in top) + "</section>")
    head.append(f'<figure class="mn-figure" data-search-exclude>{volume_svg}'
                "<figcaption>Articles per day, last 30 days</figcaption></figure>")
    body = _day_groups(recent, "", paths, latest=latest)
    if not body:
        body = ['<p class="mn-empty">No stories yet.</p>']
    else:
        body.insert(0, f'<h2 class="mn-latest" id="latest">Latest {plural(len(recent), "story", "stories")}</h2>')
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
             f'<p class="mn-lede">{plural(len(stories), "story", "stories")} · <a href="index.html">all months</a></p></header>']
    parts += _day_groups(stories, "../", paths)
    parts += ["</div>", ""]
    return "\n".join(parts)


def archive_index_md(counts: dict[str, int]) -> str:
    """The list of archive months with their story counts."""
    items = "".join(f'<li><a href="{m}.html">{_month_name(m)}</a> <span class="mn-muted">{plural(n, "story", "stories")}</span></li>'
                    for m, n in sorted(counts.items(), reverse=True))
    return "\n".join([front_matter("Archive"), '<div class="mn-home"><h1>Archive</h1>',
                      '<p class="mn-lede">Stories older than the latest ones on the home page, by month of their latest article.</p>',
                      f'<ul class="mn-months">{items}</ul>' if items else "<p>No older stories yet.</p>",
                      "</div>", ""])


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def about_md(*, title: str, volume_svg: str, stories: int, articles: int, outlets: int) -> str:
    """The about page: what the site is, the whole archive's volume chart, the machine-readable files."""
    return "\n".join([
        front_matter("About"), '<div class="mn-home"><h1>About</h1>',
        f"<p>{esc(title)} follows news feeds about one subject, groups the articles of different outlets about the "
        "same event into stories, and shows for each story who reported it when and which figures and quotes "
        "the outlets agree on. Only headlines, short excerpts and links are published; read the articles at "
        "their outlets.</p>",
        f'<p class="mn-lede">{plural(stories, "story", "stories")} · {plural(articles, "article")} · '
        f'{plural(outlets, "outlet")}</p>',
        f'<figure class="mn-figure" data-search-exclude>{volume_svg}<figcaption>Coverage volume over the whole archive</figcaption></figure>',
        '<h2 id="data">Data</h2><ul><li><a href="feed.xml">feed.xml</a>: an Atom feed, one entry per story</li>'
        '<li><a href="stories.json">stories.json</a>: every story with its articles, excerpts and links</li></ul>',
        "</div>", ""])
