"""Where the site's story pages live, and the redirect pages left at every address a story was published under.

Pure: stories in, addresses and redirect pages (templates/redirect.html) out; monitor/site.py writes them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from monitor import render
from monitor.models import MergedStory, Story

_SLUG_BAD = re.compile(r"[^a-z0-9]+")


def story_path(story: Story | MergedStory) -> str:
    """The story page's address, "stories/<slug>.html": the slug reduced to [a-z0-9-], stable for the story's
    life. A file, not a folder, so that the site opened from disk (file://) opens pages, not folder listings."""
    slug = _SLUG_BAD.sub("-", (story.slug or "").lower()).strip("-")[:100].strip("-")
    return f"stories/{slug or f'story-{story.id}'}.html"


def redirect_html(target: str, title: str, *, note: str = "This story was merged into another:") -> str:
    """A page left at an address a story was published under: a refresh and a link to `target` (relative, so
    that it also works opened from file:// and under any subpath)."""
    return render.template("redirect.html", target=target, title=title, note=note)


def folder_path(page: str) -> str:
    """The address a page had before pages became files: "stories/<slug>.html" -> "stories/<slug>/index.html"."""
    return page[:-len(".html")] + "/index.html"


def redirects(merged: Sequence[MergedStory], by_id: dict[int, Story], paths: dict[int, str]) -> dict[str, str]:
    """Every address a story was ever published under that is not its page now -> the redirect page to write there.

    Slugs never change once a story opens (stories.py), so these are: the folder form of every page
    (stories/<slug>/index.html, the addresses before pages became files), and the page of every story merged
    into another, in both forms, pointing at the survivor."""
    out: dict[str, tuple[str, str, str]] = {}  # address -> (the page it sends to, that story's title, the note)
    live = set(paths.values())
    for sid, page in paths.items():
        out[folder_path(page)] = (page, by_id[sid].title, "This story's page moved:")
    for m in merged:
        survivor = by_id.get(m.into)
        old = story_path(m)
        if survivor is None or old in live:
            continue
        for address in (old, folder_path(old)):
            out[address] = (paths[m.into], survivor.title, "This story was merged into another:")
    return {address: redirect_html(posixpath.relpath(target, posixpath.dirname(address)), title, note=note)
            for address, (target, title, note) in out.items()}
