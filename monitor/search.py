"""The site's search: one small record per story, indexed by Pagefind into site/pagefind/.

Pagefind splits its index into fragments and a browser loads only those a query needs, so the first visit
to any page loads no index at all and a query loads tens of kilobytes however large the archive. It runs
as the binary shipped in the `pagefind_bin` wheel (PyPI `pagefind[bin]`), offline.

The records are not the story pages: each is a short HTML file with the story's headline, when it was first
reported, its outlets (shown with each result and offered as a filter), its month (a filter), its summary
and its articles' headlines. They live in work_dir/search/ with the same paths as the story pages, are
rewritten only for the stories that changed, and the whole folder is indexed on each build that changed
one (Pagefind has no incremental mode; indexing these records is fast, see docs/benchmarks.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from monitor import render
from monitor.errors import BuildError
from monitor.models import Story

OUT = "pagefind"  # the index's folder in the site
PAGEFIND_TIMEOUT = 600


def record_html(story: Story) -> str:
    """The text Pagefind indexes for one story, with the meta data a result shows and the filters it offers."""
    outlets = render.independent_outlets(story)
    t0 = story.first_published
    filters = "".join(f'<span data-pagefind-filter="outlet">{render.esc(s)}</span>' for s in story.sources)
    arts = "".join(f"<li>{render.esc(a.title)} ({render.esc(a.source)})</li>"
                   for a in sorted(story.articles, key=lambda a: (a.published, a.id or 0)))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{render.esc(story.title)}</title></head><body>"
        f'<h1 data-pagefind-meta="title">{render.esc(story.title)}</h1>'
        f'<p data-pagefind-meta="date">First reported {render.fmt_when(t0)}</p>'
        f'<p data-pagefind-meta="outlets">{render._plural(len(outlets), "outlet")}: {render.outlet_list(outlets, 6)}</p>'
        f'<div data-pagefind-ignore>{filters}'
        f'<span data-pagefind-filter="month">{render.utc(t0).strftime("%Y-%m")}</span></div>'
        f"<p>{render.esc(render.words(story.summary, 120))}</p><ul>{arts}</ul></body></html>"
    )


def page_md() -> str:
    """The search page: a form that site/overrides/assets/javascripts/search.js drives. Opened from disk
    (file://) the browser refuses to load the index, and the box says so and points to `monitor serve`."""
    return "\n".join([
        render.front_matter("Search"),
        '<div class="mn-home mn-search" id="mn-search">'
        "<h1>Search</h1>"
        '<form class="mn-search__form" role="search" action="#">'
        '<label for="mn-q">Search the stories</label>'
        '<input id="mn-q" name="q" type="search" autocomplete="off" placeholder="Words in a headline, summary or outlet">'
        '<label for="mn-outlet">Outlet</label><select id="mn-outlet"><option value="">All outlets</option></select>'
        '<label for="mn-month">Month first reported</label><select id="mn-month"><option value="">All months</option></select>'
        "</form>"
        '<p id="mn-search-status" class="mn-search__status" role="status" aria-live="polite">'
        "Search needs JavaScript; every story is also listed by month in the archive.</p>"
        '<ol id="mn-results" class="mn-results"></ol>'
        "</div>",
        "",
    ])


def update_index(src: Path, site: Path, changed: Mapping[int, Story], paths: Mapping[int, str], *,
                 gone: set[str], full: bool) -> None:
    """Write the records of `changed` stories into `src` (all of them on a `full` build), drop those in `gone`,
    and index `src` into site/pagefind/ unless nothing changed and the index is there."""
    if full:
        shutil.rmtree(src, ignore_errors=True)
    for sid, story in changed.items():
        target = src / paths[sid]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(record_html(story), encoding="utf-8")
        os.replace(tmp, target)
    for page in gone:
        (src / page).unlink(missing_ok=True)
    if not full and not changed and not gone and (site / OUT / "pagefind.js").is_file():
        return
    src.mkdir(parents=True, exist_ok=True)
    if not any(src.rglob("*.html")):  # no story yet: Pagefind refuses an empty folder, and there is nothing to find
        shutil.rmtree(site / OUT, ignore_errors=True)
        return
    out = site / f".{OUT}-new"
    shutil.rmtree(out, ignore_errors=True)
    _pagefind(src, out)
    shutil.rmtree(site / OUT, ignore_errors=True)  # in an incremental build these are hard links: the live site keeps its files
    os.rename(out, site / OUT)


def _pagefind(src: Path, out: Path) -> None:
    try:
        from pagefind_bin import get_executable
    except ImportError as exc:
        raise BuildError("the search index needs Pagefind: pip install 'pagefind[bin]'") from exc
    cmd = [str(get_executable()), "--site", str(src), "--output-path", str(out), "--force-language", "en", "--silent"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=PAGEFIND_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        raise BuildError(f"{src}: Pagefind failed (exit {exc.returncode}): {tail[0]}") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BuildError(f"{src}: Pagefind did not run: {exc}") from exc
