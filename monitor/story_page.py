"""The story page: primary source, summary, where the reports differ, what they agree on, the coverage in order
with its copies, related stories.

Pure: a Story in, Markdown out, through the autoescaping template monitor/templates/story.md (see render.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor import charts
from monitor.models import Article, Fact, Story, originals
from monitor.primary import primary_sources
from monitor.render import template


def copies_by_original(articles: Sequence[Article]) -> tuple[list[Article], dict[int, list[Article]]]:
    """(originals, {original id: its syndicated copies}) in publication order."""
    firsts = originals(articles)
    kept = {id(a) for a in firsts}
    copies: dict[int, list[Article]] = {}
    for a in sorted(articles, key=lambda a: (a.published, a.id or 0)):
        if id(a) not in kept and a.duplicate_of is not None:
            copies.setdefault(a.duplicate_of, []).append(a)
    return firsts, copies


def percent(n: int, total: int) -> int:
    """n of total as a whole percentage (0 when total is 0)."""
    return round(100 * n / total) if total else 0


def story_md(story: Story, related: Sequence[tuple[Story, str]]) -> str:
    """A story page (templates/story.md): primary source, summary, where the reports differ, agreed facts,
    coverage chart, the coverage in order with copies, related stories. Outlet counts are independent reports.

    `related` holds (story, href relative to this page) for the related stories that are published.
    """
    arts = sorted(story.articles, key=lambda a: (a.published, a.id or 0))
    firsts, copies = copies_by_original(arts)
    disputes: dict[str, list[Fact]] = {}
    for f in story.facts:
        if f.dispute:
            disputes.setdefault(f.dispute, []).append(f)
    agreed = sorted((f for f in story.facts if len(f.outlets) >= 2 and not f.dispute),
                    key=lambda f: (-len(f.outlets), f.kind, f.key))
    return template(
        "story.md", story=story, related=related, originals=firsts, copies=copies, reports=story.reports,
        total=len(story.reports), n_copies=len(arts) - len(firsts), primary=primary_sources(arts),
        summary_source=_summary_source(story), chart=charts.coverage_chart([a.published for a in arts]),
        disputes=list(disputes.items()), agreed=agreed, percent=percent,
        single=[f for f in story.facts if len(f.outlets) < 2 and not f.dispute])


def _summary_source(story: Story) -> Article | None:
    """The article the summary comes from, when it is one of the story's."""
    return next((a for a in story.articles if story.summary_url and a.url == story.summary_url), None)


def _fact_data(f: Fact) -> dict:
    return {"kind": f.kind, "value": f.key, "text": f.text, "speaker": f.speaker,
            "outlets": [{"outlet": e.source, "url": e.url, "sentence": e.sentence} for e in f.evidence]}


def story_data(story: Story) -> dict:
    """The per-story keys stories.json adds for open data (docs/stories-json.md): summary, facts, primary
    sources, the independent outlet count."""
    source = _summary_source(story)
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
