"""The story page: summary, what the coverage agrees on, the coverage in order with its copies, related stories.

Pure: a Story in, Markdown out. Every hostile string goes through render.esc / render.link (see render.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor import charts
from monitor.models import Article, Story
from monitor.render import _plural, _time_tag, esc, excerpt, fmt_when, front_matter, link, words


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
