"""The site's search: one small record per story, indexed by Pagefind into site/pagefind/.

Pagefind splits its index into fragments and a browser loads only those a query needs, so the first visit
to any page loads no index at all and a query loads tens of kilobytes however large the archive. It runs
as the binary shipped in the `pagefind_bin` wheel (PyPI `pagefind[bin]`), offline.

The records are not the story pages: each is a short HTML file with the story's headline, when it was first
reported, its outlets (shown with each result and offered as a filter), its month (a filter), its summary
and its articles' headlines. They live in work_dir/search/ with the same paths as the story pages, are
rewritten only for the stories that changed, and the whole folder is indexed on each build that changed
one (Pagefind has no incremental mode), in a separate process while mkdocs builds the pages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from monitor import render
from monitor.errors import BuildError
from monitor.files import atomic_write
from monitor.models import Story

OUT = "pagefind"  # the index's folder in the site
PAGEFIND_TIMEOUT = 600


def record_html(story: Story) -> str:
    """The text Pagefind indexes for one story, with the meta data a result shows and the filters it offers."""
    t0 = story.first_published
    return render.template(
        "search_record.html", story=story, first_reported=render.fmt_when(t0),
        outlet_count=render.plural(len(story.sources), "outlet"),
        month=render.utc(t0).strftime("%Y-%m"), summary=render.words(story.summary, 120),
        articles=sorted(story.articles, key=lambda a: (a.published, a.id or 0)))


def page_md() -> str:
    """The search page: a form that site/overrides/assets/javascripts/search.js drives. Opened from disk
    (file://) the browser refuses to load the index, and the box says so and points to `monitor serve`."""
    return render.template("search.md")


class Indexing:
    """A Pagefind run in the background (it is a separate process: it indexes while mkdocs builds the pages).

        job = Indexing.start(src, out, changed, paths, gone=..., full=..., have_index=...)
        ...                               # build the pages
        job.finish(site)                  # wait, then put the index in site/pagefind/
    """

    def __init__(self, proc: subprocess.Popen | None, src: Path, out: Path):
        self.proc, self.src, self.out = proc, src, out

    @classmethod
    def start(cls, src: Path, out: Path, changed: Mapping[int, Story], paths: Mapping[int, str], *,
              gone: set[str], full: bool, have_index: bool) -> "Indexing":
        """Write the records of `changed` stories into `src` (all of them on a `full` build), drop those in
        `gone`, and start indexing `src` into `out` unless nothing changed and the site has its index."""
        if full:
            shutil.rmtree(src, ignore_errors=True)
        for sid, story in changed.items():
            target = src / paths[sid]
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(target, record_html(story), durable=False)  # the index's input, rebuilt from the database
        for page in gone:
            (src / page).unlink(missing_ok=True)
        src.mkdir(parents=True, exist_ok=True)
        if (not full and not changed and not gone and have_index) or not any(src.rglob("*.html")):
            return cls(None, src, out)  # nothing new to index, or no story at all (Pagefind refuses an empty folder)
        shutil.rmtree(out, ignore_errors=True)
        return cls(_pagefind(src, out), src, out)

    def finish(self, site: Path) -> None:
        """Wait for the index and put it in site/pagefind/ (BuildError if Pagefind failed)."""
        if self.proc is None:
            if not any(self.src.rglob("*.html")):
                shutil.rmtree(site / OUT, ignore_errors=True)
            return
        try:
            _, err = self.proc.communicate(timeout=PAGEFIND_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            self.cancel()
            raise BuildError(f"{self.src}: Pagefind took more than {PAGEFIND_TIMEOUT} s") from exc
        if self.proc.returncode != 0:
            tail = (err or "").strip().splitlines()[-1:] or ["no output"]
            raise BuildError(f"{self.src}: Pagefind failed (exit {self.proc.returncode}): {tail[0]}")
        shutil.rmtree(site / OUT, ignore_errors=True)  # in an incremental build these are hard links: the live site keeps its files
        os.rename(self.out, site / OUT)

    def cancel(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.out, ignore_errors=True)


def _pagefind(src: Path, out: Path) -> subprocess.Popen:
    """Start Pagefind over `src`, writing into `out`."""
    try:
        from pagefind_bin import get_executable
    except ImportError as exc:
        raise BuildError("the search index needs Pagefind: pip install 'pagefind[bin]'") from exc
    cmd = [str(get_executable()), "--site", str(src), "--output-path", str(out), "--force-language", "en", "--silent"]
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    except OSError as exc:
        raise BuildError(f"{src}: Pagefind did not run: {exc}") from exc
