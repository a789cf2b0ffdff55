"""Publish the relevant stories as a static site: Markdown sources, an incremental mkdocs build, an atomic swap.

    build_site(stories, feeds, site_dir=..., work_dir=..., title=..., now=...)
      1. render every small page (home, archive, outlets, search, about) and the story pages that may have
         changed (monitor/render.py, outlet_pages.py, search.py, story_page.py: pure, through the autoescaping
         templates of monitor/templates/)
      2. compare each page's Markdown with the hash kept in work_dir/state.json; nothing differs -> return
      3. mkdocs builds only the differing pages (plus the pages of the navigation) straight into a fresh
         folder next to site_dir; the unchanged pages are hard-linked into it from the published site
      4. the changed stories' search records are rewritten and Pagefind indexes them all (monitor/search.py);
         stories.json, feed.xml and sitemap.xml are written for ALL pages
      5. the new folder is swapped with site_dir in one rename (monitor/site_swap.py); the previous site stays
         whole until then

A full build (changed=None, a new template or code, or a site_dir that is not the one state.json describes)
takes the same path with every page. docs/site.md explains the design.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree as ET

import yaml

import monitor
from monitor import charts, outlet_pages, render, search, site_swap, story_page
from monitor.addresses import redirects, story_path
from monitor.errors import BuildError
from monitor.files import atomic_write as _write_atomic
from monitor.models import FeedStatus, MergedStory, Story
from monitor.urls import public_url, redact_urls

log = logging.getLogger(__name__)

# site/ at the top of a checkout (editable install); a wheel carries the same files as monitor/site_template
_CHECKOUT_SITE = Path(monitor.__file__).resolve().parent.parent / "site"
SITE_SRC = _CHECKOUT_SITE if (_CHECKOUT_SITE / "mkdocs.yml").is_file() else Path(monitor.__file__).resolve().parent / "site_template"
HOME_STORIES = 50  # the latest stories on the home page (feeds.yaml home_stories); older ones in archive/<yyyy-mm>.html
FEED_MAX = 100  # Atom entries: the most recently updated stories
NAV_PAGES = ("index.md", "archive/index.md", "outlets/index.md", "search.md", "about.md")  # built every time (the nav needs them)
STATE_VERSION = 2  # 2: page files instead of folders (use_directory_urls: false), Pagefind search


def _write_redirects(new_dir: Path, pages: dict[str, str], old: dict[str, str], *, full: bool) -> dict[str, str]:
    """Write the redirect pages that are new or differ from the last build's (`old`: address -> hash), remove
    those no longer wanted; returns the hashes for state.json. `full`: new_dir holds none yet."""
    hashes = {address: _sha(html) for address, html in pages.items()}
    for address, html in pages.items():
        if full or old.get(address) != hashes[address] or not (new_dir / address).is_file():
            _write_atomic(new_dir / address, html)
    for address in set(old) - set(pages):
        (new_dir / address).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (new_dir / address).parent.rmdir()  # a folder-form address leaves its folder behind
    return hashes


def _url(path: str, base_url: str | None) -> str:
    return base_url.rstrip("/") + "/" + path if base_url else path


def _newest_first(stories: Sequence[Story]) -> list[Story]:
    return sorted(stories, key=lambda s: (s.last_published, s.id), reverse=True)


def stories_json(stories: Sequence[Story], *, now: datetime, base_url: str | None = None,
                 merged: Sequence[MergedStory] = (), reuse: Mapping[int, dict] | None = None) -> dict:
    """Every story with its articles (excerpts, never full texts), newest first. Also written to stories.json.
    `merged` lists, under each survivor, the ids of the stories that merged into it (their pages redirect).
    `reuse`: entries of the last build for stories that did not change (by id), taken as they are."""
    absorbed: dict[int, list[int]] = {}
    for m in merged:
        absorbed.setdefault(m.into, []).append(m.id)
    reuse = reuse or {}

    def entry(s: Story) -> dict:
        old = reuse.get(s.id)
        if old is not None and old.get("merged") == sorted(absorbed.get(s.id, [])):
            return old
        return {
            "id": s.id, "title": s.title,
            "first_published": render.iso(s.first_published), "last_published": render.iso(s.last_published),
            "page": _url(story_path(s), base_url), "sources": list(s.sources), "merged": sorted(absorbed.get(s.id, [])),
            "articles": [{"url": a.url, "urls": list(a.urls), "title": a.title, "source": a.source,
                          "published": render.iso(a.published), "excerpt": render.excerpt(a),
                          "original": story_page.is_original(a, s)}
                         for a in sorted(s.articles, key=lambda a: (a.published, a.id or 0))],
            **story_page.story_data(s),
        }

    return {"generated": render.iso(now), "stories": [entry(s) for s in _newest_first(stories) if s.articles]}


def _previous_entries(site_dir: Path, keep: set[int]) -> dict[int, dict]:
    """The published stories.json's entries of the stories in `keep` (unchanged since): parsing it is cheaper
    than making them again (primary sources, excerpts). Empty when it cannot be read."""
    try:
        data = json.loads((site_dir / "stories.json").read_bytes())
        return {e["id"]: e for e in data["stories"] if e.get("id") in keep}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def tag_uri(installation: str, name: str) -> str:
    """A `tag:` URI (RFC 4151) that names `name` for the life of the installation, wherever the site is published.
    `installation` is "<yyyy-mm-dd>:<hex>" as Store.installation_id makes it once."""
    day, _, key = installation.partition(":")
    return f"tag:monitor.invalid,{day}:{key}/{name}"


def atom_feed(stories: Sequence[Story], *, title: str, now: datetime, base_url: str | None = None,
              installation: str | None = None) -> bytes:
    """An Atom feed with one entry per story (the FEED_MAX most recently updated); links absolute with base_url.

    Entry ids are tag: URIs from `installation`, so they stay the same when site_url is set or changed; a
    reader that already has an entry does not show it again."""
    ns = "http://www.w3.org/2005/Atom"
    ET.register_namespace("", ns)
    feed = ET.Element(f"{{{ns}}}feed")

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    sub(feed, "title", title)
    sub(feed, "id", tag_uri(installation, "site") if installation else _url("", base_url) if base_url else "urn:monitor:site")
    sub(feed, "updated", render.iso(max((s.last_published for s in stories), default=now)))
    sub(feed, "link", rel="alternate", href=_url("", base_url) or "./")
    if base_url:
        sub(feed, "link", rel="self", href=_url("feed.xml", base_url))
    sub(sub(feed, "author"), "name", title)
    for s in _newest_first(stories)[:FEED_MAX]:
        e = sub(feed, "entry")
        sub(e, "title", s.title)
        sub(e, "id", tag_uri(installation, f"story/{s.id}") if installation
            else _url(story_path(s), base_url) if base_url else f"urn:monitor:story:{s.id}")
        sub(e, "link", rel="alternate", href=_url(story_path(s), base_url))
        sub(e, "published", render.iso(s.first_published))
        sub(e, "updated", render.iso(s.last_published))
        outlets = s.sources
        sub(e, "summary", f"{s.summary}\n\nReported by {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}: "
                          f"{', '.join(outlets)}.".strip())
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _page_url(md: str) -> str:
    """Markdown path -> the page's file in the site (use_directory_urls: false): a/b.md -> a/b.html."""
    return md[:-3] + ".html"


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()[:32]


def _fingerprint(title: str, base_url: str | None, home_stories: int) -> str:
    """Changes whenever the template, this code or the theme changes: then every page is rebuilt."""
    import material
    import mkdocs

    h = hashlib.sha256(f"{STATE_VERSION}|{title}|{base_url}|{home_stories}".encode())
    h.update(f"{mkdocs.__version__}|{getattr(material, '__version__', '')}".encode())
    files = sorted(p for p in SITE_SRC.rglob("*") if p.is_file())
    files += [Path(str(m.__file__)) for m in (render, charts, story_page)] + [Path(__file__)]
    files += sorted(p for p in (Path(render.__file__).parent / "templates").iterdir() if p.is_file())  # the pages' HTML
    for p in files:
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:32]


def _split(stories: Sequence[Story], home_stories: int) -> tuple[list[Story], dict[str, list[Story]]]:
    """The home page's stories (the latest `home_stories`, whatever their dates) and the rest by the month of
    their latest article, newest first."""
    ordered = _newest_first(stories)
    recent = ordered[:home_stories]
    months: dict[str, list[Story]] = {}
    for s in ordered[home_stories:]:
        months.setdefault(render.utc(s.last_published).strftime("%Y-%m"), []).append(s)
    return recent, months


def _small_pages(stories: Sequence[Story], feeds: Sequence[FeedStatus], paths: dict[int, str],
                 recent: list[Story], months: dict[str, list[Story]], *, title: str) -> dict[str, str]:
    """Home, archive index, outlets, search and about pages, by Markdown path."""
    times = [a.published for s in stories for a in s.originals]  # syndicated copies are not coverage of their own
    latest = max((s.last_published for s in stories), default=datetime(1970, 1, 1, tzinfo=timezone.utc))
    return {
        "index.md": render.home_md(recent, paths, title=title, latest=latest,
                                   volume_svg=charts.volume_chart(times, now=latest, days=30),
                                   months=sorted(months, reverse=True), total=len(stories),
                                   top=render.top_stories(stories, latest=latest)),
        "archive/index.md": render.archive_index_md({m: len(v) for m, v in months.items()}),
        **outlet_pages.pages(feeds, stories, paths),
        "search.md": search.page_md(),
        "about.md": render.about_md(title=title, volume_svg=charts.volume_chart(times, now=latest, days=None),
                                    stories=len(stories), articles=len(times),
                                    outlets=len({src for s in stories for src in s.sources})),
    }


def _story_page(story: Story, by_id: dict[int, Story], paths: dict[int, str]) -> str:
    related = [(by_id[r], "../" + paths[r]) for r in story.related if r in by_id and r != story.id]
    return story_page.story_md(story, related)


def _load_state(work_dir: Path) -> dict:
    try:
        state = json.loads((work_dir / "state.json").read_text())
        return state if state.get("version") == STATE_VERSION else {}
    except (OSError, ValueError):
        return {}


def build_site(stories: Sequence[Story], feeds: Sequence[FeedStatus], *, site_dir: Path, work_dir: Path,
               title: str, now: datetime, base_url: str | None = None, changed: set[int] | None = None,
               merged: Sequence[MergedStory] = (), home_stories: int = HOME_STORIES,
               installation: str | None = None) -> None:
    """Build and publish the site for `stories` (the relevant ones, with articles and facts) and `feeds`.

    `changed`: ids of stories whose content changed since the last build (None: rebuild everything).
    `merged`: stories merged into others; each one's address gets a redirect page to its survivor.
    `home_stories`: how many of the latest stories the home page shows. `installation`: the store's
    installation id, for Atom entry ids that never change (see tag_uri).
    Raises BuildError; on any failure the previously published site_dir is left as it was.
    """
    site_dir, work_dir = Path(site_dir).absolute(), Path(work_dir).absolute()
    feeds = [_for_publication(f) for f in feeds]
    stories = [s for s in stories if s.articles]
    paths = {s.id: story_path(s) for s in stories}
    if len(set(paths.values())) != len(paths):
        seen: dict[str, int] = {}
        clash = next((sid, seen[p]) for sid, p in paths.items() if seen.setdefault(p, sid) != sid)
        raise BuildError(f"{site_dir}: stories {clash[1]} and {clash[0]} have the same page {paths[clash[0]]}")
    by_id = {s.id: s for s in stories}
    work_dir.mkdir(parents=True, exist_ok=True)
    state = _load_state(work_dir)
    fp = _fingerprint(title, base_url, home_stories)
    try:
        published = (site_dir / ".monitor-build").read_text().strip()
    except OSError:
        published = None
    full = changed is None or not state or state.get("fingerprint") != fp or published != state.get("build_id")

    # Which pages may differ: all on a full build; else the changed, new and removed stories, the stories
    # listing those as related, the archive months whose membership or members changed, the small pages.
    old_pages: dict[str, str] = {} if full else state.get("pages", {})
    old_story_md: dict[str, str] = {} if full else state.get("stories", {})
    old_months: dict[str, str] = {} if full else state.get("months", {})
    story_md = {sid: paths[sid][:-len(".html")] + ".md" for sid in by_id}
    removed_ids = {int(k) for k in old_story_md} - set(by_id)
    todo = set(by_id) if full else {
        sid for sid in by_id if sid in (changed or ()) or old_story_md.get(str(sid)) != story_md[sid]}
    touched = todo | removed_ids
    if touched and not full:
        todo |= {s.id for s in stories if touched.intersection(s.related)}
    recent, months = _split(stories, home_stories)
    month_keys = {m: _sha(",".join(str(s.id) for s in ss)) for m, ss in months.items()}
    small = _small_pages(stories, feeds, paths, recent, months, title=title)
    pages = dict(small)
    for m, ss in months.items():
        if full or old_months.get(m) != month_keys[m] or any(s.id in touched for s in ss):
            pages[f"archive/{m}.md"] = render.archive_month_md(m, ss, paths)
    for sid in todo:
        pages[story_md[sid]] = _story_page(by_id[sid], by_id, paths)
    hashes = {p: _sha(t) for p, t in pages.items()}
    all_pages = set(NAV_PAGES) | set(small) | {f"archive/{m}.md" for m in months} | set(story_md.values())
    build = {p for p, h in hashes.items() if full or old_pages.get(p) != h}
    removed = set(old_pages) - all_pages
    feeds_hash = _sha(json.dumps([f.__dict__ for f in feeds], default=str, sort_keys=True))
    ids_hash = _sha(",".join(map(str, sorted(by_id))))
    if (not full and not build and not removed and not changed
            and (ids_hash, feeds_hash) == (state.get("ids"), state.get("feeds"))):
        log.info("site: nothing changed, %s left as it is", site_dir)
        return

    token = secrets.token_hex(4)
    new_dir = site_dir.parent / f".{site_dir.name}.tmp-{token}"
    out = site_dir.parent / f".{site_dir.name}.tmp-{token}-out"  # same file system as new_dir: moves are renames
    stage = work_dir / f"stage-{token}"
    site_swap.clean_leftovers(site_dir, work_dir)
    built = build | set(NAV_PAGES)
    indexing = None
    try:
        indexing = search.Indexing.start(
            work_dir / "search", site_dir.parent / f".{site_dir.name}.tmp-{token}-search",
            {sid: by_id[sid] for sid in todo}, paths, gone={_page_url(old_story_md[str(i)]) for i in removed_ids},
            full=full, have_index=(site_dir / search.OUT / "pagefind.js").is_file())
        _mkdocs(pages, built, stage=stage, out=out, title=title, base_url=base_url)
        if full or not site_dir.is_dir():
            os.rename(out, new_dir)
        else:
            site_swap.assemble(site_dir, out, new_dir, drop={_page_url(p) for p in removed})
        indexing.finish(new_dir)
        redirect_hashes = _write_redirects(new_dir, redirects(merged, by_id, paths),
                                           {} if full else state.get("redirects", {}), full=full)
        reuse = {} if full else _previous_entries(site_dir, set(by_id) - todo)
        data = stories_json(stories, now=now, base_url=base_url, merged=merged, reuse=reuse)
        _write_atomic(new_dir / "stories.json", json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        _write_atomic(new_dir / "feed.xml", atom_feed(stories, title=title, now=now, base_url=base_url,
                                                      installation=installation))
        _write_sitemap(new_dir, sorted(_page_url(p) for p in all_pages), base_url)
        build_id = secrets.token_hex(8)
        _write_atomic(new_dir / ".monitor-build", build_id)
        site_swap.swap(new_dir, site_dir)
    except BuildError:
        raise
    except Exception as exc:  # mkdocs, theme and file-system failures all end here
        raise BuildError(f"{site_dir}: site build failed: {type(exc).__name__}: {exc}") from exc
    finally:
        if indexing is not None:
            indexing.cancel()  # a no-op once finished
        for d in (stage, out, new_dir):
            shutil.rmtree(d, ignore_errors=True)
    _update_sources(work_dir / "docs", {p: pages[p] for p in build}, removed)
    new_hashes = {p: h for p, h in {**old_pages, **hashes}.items() if p in all_pages}
    _write_atomic(work_dir / "state.json", json.dumps({
        "version": STATE_VERSION, "fingerprint": fp, "build_id": build_id, "ids": ids_hash, "feeds": feeds_hash,
        "pages": new_hashes, "redirects": redirect_hashes, "months": month_keys, "stories": {str(k): v for k, v in story_md.items()}}))
    log.info("site: built %d of %d pages (%s) into %s", len(built), len(all_pages), "full" if full else "incremental", site_dir)


def _for_publication(feed: FeedStatus) -> FeedStatus:
    """The feed as the site may show it: no credentials or query string in its URL or in its last error.
    Every page (and so the search index) gets feeds from here only."""
    return dataclasses.replace(feed, url=public_url(feed.url),
                               last_error=redact_urls(feed.last_error) if feed.last_error else feed.last_error)


def _mkdocs(pages: dict[str, str], built: set[str], *, stage: Path, out: Path, title: str,
            base_url: str | None) -> None:
    """Run mkdocs (Python API) on a docs folder holding only the pages in `built`, writing into `out`."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    docs = stage / "docs"
    for p in built:
        target = docs / p
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pages[p], encoding="utf-8")
    try:
        cfg = yaml.safe_load((SITE_SRC / "mkdocs.yml").read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BuildError(f"{SITE_SRC / 'mkdocs.yml'}: cannot read the site template: {exc}") from exc
    cfg["site_name"] = render.esc(title)  # the theme prints it unescaped
    cfg["docs_dir"] = str(docs)
    cfg["site_dir"] = str(out)
    cfg["theme"]["custom_dir"] = str(SITE_SRC / cfg["theme"].get("custom_dir", "overrides"))
    if base_url:
        cfg["site_url"] = base_url.rstrip("/") + "/"
    cfg_file = stage / "mkdocs.yml"
    cfg_file.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    out.mkdir(parents=True)
    config = load_config(config_file=str(cfg_file))
    config.plugins.on_startup(command="build", dirty=False)
    try:
        mkdocs_build(config)
    finally:
        config.plugins.on_shutdown()


def _write_sitemap(new: Path, urls: list[str], base_url: str | None) -> None:
    for name in ("sitemap.xml", "sitemap.xml.gz"):
        (new / name).unlink(missing_ok=True)
    if not base_url:
        return
    ns = "http://www.sitemaps.org/schemas/sitemap/0.9"
    root = ET.Element("urlset", xmlns=ns)
    for u in urls:
        ET.SubElement(ET.SubElement(root, "url"), "loc").text = _url(u, base_url)
    _write_atomic(new / "sitemap.xml", ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _update_sources(docs: Path, written: dict[str, str], removed: set[str]) -> None:
    """Keep work_dir/docs as the full Markdown source of the site (for inspection or another builder)."""
    for p, text in written.items():
        _write_atomic(docs / p, text, durable=False)  # rebuilt from the database on a full build
    for p in removed:
        (docs / p).unlink(missing_ok=True)
