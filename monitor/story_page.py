"""The story page: primary source, summary, where the reports differ, what they agree on, the coverage in order
with its copies, related stories.

Pure: a Story in, Markdown out. Every hostile string goes through render.esc / render.link (see render.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor import charts
from monitor.models import Article, Fact, Story, originals
from monitor.primary import PrimarySource, primary_sources
from monitor.render import esc, excerpt, fmt_when, front_matter, link, plural, time_tag, words


def _evidence(fact: Fact) -> str:
    return "".join(
        f'<li>{link(e.url, esc(e.source), cls="mn-fact__outlet")}'
        f'<span class="mn-fact__sentence">{esc(e.sentence)}</span></li>' for e in fact.evidence)


def _fact_item(fact: Fact, total: int) -> str:
    n = len(fact.outlets)
    pct = round(100 * n / total) if total else 0
    quote = fact.kind == "quote"
    text = f"“{esc(fact.text)}”" if quote else esc(fact.text)
    who = f' <span class="mn-fact__speaker">— {esc(fact.speaker)}</span>' if quote and fact.speaker else ""
    return (f'<li class="mn-fact mn-fact--{"quote" if quote else "figure"}">'
            f'<div class="mn-fact__head"><span class="mn-fact__kind">{"Quote" if quote else "Figure"}</span>'
            f'<span class="mn-fact__text">{text}{who}</span></div>'
            f'<div class="mn-meter" aria-hidden="true"><span style="width:{pct}%"></span></div>'
            f'<p class="mn-fact__count">reported by {n} of {plural(total, "outlet")}</p>'
            f'<ul class="mn-fact__evidence">{_evidence(fact)}</ul></li>')


def _dispute_item(label: str, rivals: Sequence[Fact]) -> str:
    values = "".join(
        f'<li class="mn-differ__value"><p><strong class="mn-fact__text">{esc(f.text)}</strong> '
        f'<span class="mn-muted">according to {", ".join(esc(o) for o in f.outlets)}</span></p>'
        f'<ul class="mn-fact__evidence">{_evidence(f)}</ul></li>' for f in rivals)
    return (f'<li class="mn-differ"><p class="mn-differ__about">{esc(label)}</p>'
            f'<ul class="mn-differ__values">{values}</ul></li>')


def _article_item(a: Article, copies: Sequence[Article]) -> str:
    by = f' · by {esc(a.author)}' if a.author else ""
    ex = excerpt(a)
    cp = "".join(f'<li>Also carried by <strong>{esc(c.source)}</strong> at {time_tag(c.published, fmt_when(c.published))}: '
                 f'{link(c.url, esc(c.title or c.url))}</li>' for c in copies)
    return ('<li class="mn-tl__item">'
            f'<div class="mn-tl__when">{time_tag(a.published, fmt_when(a.published))}</div>'
            f'<div class="mn-tl__body"><p class="mn-tl__meta"><strong class="mn-tl__outlet">{esc(a.source)}</strong>{by}</p>'
            f'<h3 class="mn-tl__title">{link(a.url, esc(a.title or a.url))}</h3>'
            + (f'<p class="mn-tl__excerpt">{esc(ex)}</p>' if ex else "")
            + (f'<ul class="mn-tl__copies">{cp}</ul>' if cp else "")
            + "</div></li>")


def copies_by_original(articles: Sequence[Article]) -> tuple[list[Article], dict[int, list[Article]]]:
    """(originals, {original id: its syndicated copies}) in publication order."""
    firsts = originals(articles)
    kept = {id(a) for a in firsts}
    copies: dict[int, list[Article]] = {}
    for a in sorted(articles, key=lambda a: (a.published, a.id or 0)):
        if id(a) not in kept:
            copies.setdefault(a.duplicate_of, []).append(a)
    return firsts, copies


def _primary(sources: Sequence[PrimarySource]) -> str:
    if not sources:
        return ""
    items = "".join(
        f'<li>{link(p.url, esc(p.title or p.host))} <span class="mn-muted">{esc(p.host)}'
        f' · linked by {", ".join(esc(o) for o in p.outlets)}</span></li>' for p in sources)
    head = "Primary source" if len(sources) == 1 else "Primary sources"
    return f'<section class="mn-primary"><h2 id="primary-source">{head}</h2><ul>{items}</ul></section>'


def _summary(story: Story) -> str:
    if not story.summary:
        return ""
    source = next((a for a in story.articles if story.summary_url and a.url == story.summary_url), None)
    credit = f' <span class="mn-story__credit">— {link(source.url, esc(source.source))}</span>' if source else ""
    return f'<p class="mn-story__summary">{esc(words(story.summary, 120))}{credit}</p>'


def story_md(story: Story, related: Sequence[tuple[Story, str]]) -> str:
    """A story page: primary source, summary, where the reports differ, agreed facts, coverage chart, the
    coverage in order with copies, related stories. Outlet counts are independent reports.

    `related` holds (story, href relative to this page) for the related stories that are published.
    """
    arts = sorted(story.articles, key=lambda a: (a.published, a.id or 0))
    originals, copies = copies_by_original(arts)
    reports = story.reports
    total = len(reports)
    n_copies = len(arts) - len(originals)
    chips = "".join(f"<li>{link(a.url, esc(a.source))}</li>" for a in reports)
    disputes: dict[str, list[Fact]] = {}
    for f in story.facts:
        if f.dispute:
            disputes.setdefault(f.dispute, []).append(f)
    agreed = sorted((f for f in story.facts if len(f.outlets) >= 2 and not f.dispute),
                    key=lambda f: (-len(f.outlets), f.kind, f.key))
    single = [f for f in story.facts if len(f.outlets) < 2 and not f.dispute]
    t0, t1 = story.first_published, story.last_published
    copies_note = f" (plus {plural(n_copies, 'syndicated copy', 'syndicated copies')})" if n_copies else ""
    out = [front_matter(story.title), '<div class="mn-story">',
           '<header class="mn-story__head">',
           f'<p class="mn-kicker">Story · first reported {time_tag(t0, fmt_when(t0))}</p>',
           f'<h1>{esc(story.title)}</h1>',
           f'<p class="mn-story__stats"><strong>{plural(total, "outlet")}</strong> · {plural(len(originals), "article")}'
           f'{copies_note} · latest {time_tag(t1, fmt_when(t1))}</p>',
           f'<ol class="mn-chips" aria-label="Outlets in order of first coverage">{chips}</ol>',
           "</header>"]
    out.append(_primary(primary_sources(arts)))
    out.append(_summary(story))
    out.append(f'<figure class="mn-figure" data-search-exclude>{charts.coverage_chart([a.published for a in arts])}'
               "<figcaption>When the coverage appeared (UTC)</figcaption></figure>")
    if disputes:
        out.append('<section class="mn-facts mn-facts--differ"><h2 id="differ">Where the reports differ</h2>'
                   f'<ol class="mn-facts__list">{"".join(_dispute_item(k, v) for k, v in disputes.items())}</ol></section>')
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
                        f'{fmt_when(r.last_published)} · {plural(len(r.reports), "outlet")}</span></li>'
                        for r, href in related)
        out.append(f'<section class="mn-related"><h2 id="related">Related stories</h2><ul>{items}</ul></section>')
    out += ["</div>", ""]
    return "\n".join(o for o in out if o)


def _fact_data(f: Fact) -> dict:
    return {"kind": f.kind, "value": f.key, "text": f.text, "speaker": f.speaker,
            "outlets": [{"outlet": e.source, "url": e.url, "sentence": e.sentence} for e in f.evidence]}


def story_data(story: Story) -> dict:
    """The per-story keys stories.json adds for open data (docs/stories-json.md): summary, facts, primary
    sources, the independent outlet count."""
    source = next((a for a in story.articles if story.summary_url and a.url == story.summary_url), None)
    disputes: dict[str, list[Fact]] = {}
    for f in story.facts:
        if f.dispute:
            disputes.setdefault(f.dispute, []).append(f)
    return {
        "summary": story.summary,
        "summary_source": {"outlet": source.source, "url": source.url} if source else None,
        "outlets": len(story.reports),
        "facts": {
            "agreed": [_fact_data(f) for f in story.facts if len(f.outlets) >= 2 and not f.dispute],
            "disputed": [{"about": k, "values": [_fact_data(f) for f in v]} for k, v in disputes.items()],
            "single": [_fact_data(f) for f in story.facts if len(f.outlets) < 2 and not f.dispute],
        },
        "primary_sources": [{"url": p.url, "host": p.host, "title": p.title, "outlets": list(p.outlets)}
                            for p in primary_sources(story.articles)],
    }


def is_original(article: Article, story: Story) -> bool:
    """Is the article an original report, not a syndicated copy of another article of the story?"""
    d = article.duplicate_of  # the rule of models.originals, for one article
    return d is None or d == article.id or all(b.id != d for b in story.articles)
