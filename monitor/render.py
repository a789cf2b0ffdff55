"""Markdown sources of the site's pages, rendered by autoescaping Jinja2 templates (monitor/templates/).

Pure functions: stories and feed states in, Markdown text out. Every title, excerpt, name, quote and
URL comes from feeds or pages and is hostile, so it never reaches Markdown as Markdown: pages are raw
HTML blocks written by templates, and every `{{ value }}` of a template is escaped by default: HTML
escaping plus numeric entities for the characters Markdown, attr_list, tables and Jinja-like templates
react to (`esc`), hostile text flattened to one line so no fence or block syntax can start inside it.
Only fragments this code makes itself (the charts' SVG, the front matter's title) are marked as
markupsafe.Markup, where they are made. Links go through the `link` macro (templates/_macros.html):
http(s) only (`safe_url`, i.e. urlcheck.is_http_url), rel="nofollow noopener noreferrer"; anything else
is plain text.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone

import jinja2
from markupsafe import Markup

from monitor import charts
from monitor.dates import iso_z
from monitor.models import Article, Story
from monitor.urlcheck import is_http_url

REL = "nofollow noopener noreferrer"
EXCERPT_WORDS = 60
_MD_SPECIAL = [(c, f"&#{ord(c)};") for c in "`{}[]()|*_\\~"]
_SPACE = re.compile(r"\s+")
_BAD_URL_CHARS = re.compile(r"[<>\"'`\\]")  # spaces and controls: is_http_url(exact=True)


def esc(text: object) -> str:
    """Hostile text as inert HTML on one line: `<>&"'` escaped, Markdown/template characters as entities.
    The templates' escaping; also for the values the theme prints unescaped (page and site titles)."""
    out = html.escape(" ".join(("" if text is None else str(text)).split()), quote=True)  # split(): what \s matches
    for char, entity in _MD_SPECIAL:  # str.replace: about 4x faster than str.translate with a dict
        if char in out:
            out = out.replace(char, entity)
    return out


def _escape_by_default(value: object) -> object:
    """Every {{ value }} of a template goes through esc() unless it is Markup (a fragment already made safe)."""
    return value if isinstance(value, Markup) else Markup(esc(value))


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain absolute http(s) URL with a host, else None."""
    if not url:
        return None
    url = url.strip()
    if _BAD_URL_CHARS.search(url) or not is_http_url(url, exact=True):
        return None
    return url


def page_title(title: str) -> Markup:
    """The front matter's title: escaped HTML because the theme prints page.meta.title unescaped, and ASCII
    (other characters as numeric entities): json.dumps writes an emoji as a surrogate-pair escape, which
    mkdocs' YAML reader refuses, and the page then showed its front matter as text. Markup: a YAML string
    made here from escaped text, to be written as it is."""
    return Markup(json.dumps(esc(title).encode("ascii", "xmlcharrefreplace").decode("ascii")))


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


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def month_name(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


TEMPLATES = jinja2.Environment(loader=jinja2.PackageLoader("monitor", "templates"), autoescape=True,
                               finalize=_escape_by_default, undefined=jinja2.StrictUndefined,
                               keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
TEMPLATES.globals.update(REL=REL, plural=plural, fmt_time=fmt_time, fmt_day=fmt_day, fmt_when=fmt_when, iso=iso,
                         month_name=month_name, one_line=one_line, words=words, excerpt=excerpt,
                         outlet_meter=charts.outlet_meter)
TEMPLATES.filters.update(http_url=safe_url, yaml_title=page_title)


def template(name: str, **values: object) -> str:
    """Render monitor/templates/<name> (autoescaping: hostile values are escaped unless passed as Markup)."""
    return TEMPLATES.get_template(name).render(**values)


def importance(story: Story, *, latest: datetime) -> float:
    """How much a story matters on the front page: independent outlets first, then how long the coverage
    went on (up to three days), then how recent it is (halved every three days before `latest`)."""
    spread_days = min((story.last_published - story.first_published).total_seconds() / 86400, 3.0)
    age_days = max((latest - story.last_published).total_seconds() / 86400, 0.0)
    return (len(story.sources) + 0.5 * spread_days) * 0.5 ** (age_days / 3)


def day_groups(stories: Sequence[Story], *, latest: datetime | None = None) -> list[tuple[date, list[Story]]]:
    """Stories grouped by the (UTC) day of their latest article, newest day first; within a day the most
    important first (by `importance`) when `latest` is given, else newest first."""
    def day(s: Story) -> date:
        return utc(s.last_published).date()

    ordered = sorted(stories, key=lambda s: (s.last_published, s.id), reverse=True)
    if latest is not None:
        ordered.sort(key=lambda s: (day(s), importance(s, latest=latest)), reverse=True)
    groups: list[tuple[date, list[Story]]] = []
    for s in ordered:
        if not groups or groups[-1][0] != day(s):
            groups.append((day(s), []))
        groups[-1][1].append(s)
    return groups


def top_stories(stories: Sequence[Story], *, latest: datetime, limit: int = 5, days: int = 7) -> list[Story]:
    """The most important stories of the `days` days up to `latest`, covered by at least two outlets."""
    cutoff = latest - timedelta(days=days)
    pool = [s for s in stories if s.last_published >= cutoff and len(s.sources) >= 2]
    return sorted(pool, key=lambda s: (importance(s, latest=latest), s.last_published), reverse=True)[:limit]


def home_md(recent: Sequence[Story], paths: dict[int, str], *, title: str, latest: datetime, volume_svg: str,
            months: Sequence[str], total: int, top: Sequence[Story] = ()) -> str:
    """The home page: the subject's volume chart, "Top stories this week", then the latest stories by day.

    `latest` is the newest article's time (not the clock), so an unchanged archive renders the same page.
    `volume_svg` is inserted as it is only when it is Markup (charts.volume_chart's).
    """
    return template("home.md", title=title, latest=latest, total=total, top=top, volume_svg=volume_svg,
                    recent=recent, groups=day_groups(recent, latest=latest), paths=paths, months=months)


def archive_month_md(month: str, stories: Sequence[Story], paths: dict[int, str]) -> str:
    """One month of older stories, grouped by day, newest first."""
    return template("archive_month.md", month=month, stories=stories, groups=day_groups(stories), paths=paths)


def archive_index_md(counts: dict[str, int]) -> str:
    """The list of archive months with their story counts."""
    return template("archive_index.md", months=sorted(counts.items(), reverse=True))


def about_md(*, title: str, volume_svg: str, stories: int, articles: int, outlets: int) -> str:
    """The about page: what the site is, the whole archive's volume chart, the machine-readable files."""
    return template("about.md", title=title, volume_svg=volume_svg, stories=stories, articles=articles, outlets=outlets)
