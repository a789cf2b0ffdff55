"""The bundled offline demo corpus: invented outlets and articles, served on loopback by `monitor demo`.

The corpus lives in data files under `corpus/`: `outlets.yaml` (each outlet, its page layout and
feeds) and one YAML file per story (an event) listing the articles that cover it. Every article
carries its `story` label and whether it is `relevant` to the shipped subject, so tests and the
clustering benchmark can score the pipeline against it.

    corpus = load_corpus()
    with LoopbackServer() as server:            # the server picks a free port
        server.routes.update(build_routes(corpus, server.base))
        Path("feeds.yaml").write_text(demo_config(server.base, workdir))

`build_routes` is pure: it renders feeds (RSS 2.0, Atom, RSS 1.0, JSON Feed 1.1) and article pages
from the corpus, with absolute links under `base_url` (see `render.py`). `corpus/topics.yaml` is a
copy of the shipped feeds.yaml's `topics:` section (a test keeps the two equal).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML

from ..loopback import Route

__all__ = ["Corpus", "Outlet", "OutletFeed", "DemoArticle", "load_corpus", "build_routes", "demo_config"]


@dataclass(frozen=True)
class OutletFeed:
    """One feed of an outlet. `behaviour` is "ok", "broken" (truncated XML) or "down" (HTTP 500)."""

    path: str
    format: str  # rss2 | atom | rss1 | jsonfeed
    title: str
    section: str | None = None  # only articles of this section; None: all
    tracking: str | None = None  # query string appended to item links, e.g. utm_source=rss&utm_medium=rss
    bare_dates: bool = False  # dates without a time of day
    full_text: bool = False  # items carry the whole text (content:encoded / content_text)
    behaviour: str = "ok"


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    tags: tuple[str, ...]
    prefix: str  # path prefix of the outlet's pages, e.g. /circuit-ledger
    tagline: str = ""
    nav: tuple[str, ...] = ()
    footer: str = ""
    cookie: str = ""
    related_heading: str = "Related"
    page_time_meta: bool = True  # pages carry article:published_time
    feeds: tuple[OutletFeed, ...] = ()


@dataclass(frozen=True)
class DemoArticle:
    """One article page. `copy_of` names the article whose text a syndicated copy repeats."""

    id: str  # "outlet/slug"
    outlet: str
    slug: str
    story: str
    relevant: bool
    title: str
    author: str | None
    published: datetime
    paragraphs: tuple[str, ...]
    section: str | None = None
    summary: str = ""
    copy_of: str | None = None
    note: str | None = None  # one-line syndication note shown under the text
    feed_path: str | None = None  # the path the feed links to, when it differs from the canonical path

    @property
    def path(self) -> str:
        """The canonical path of the page."""
        return f"{self.outlet_prefix}/{self.published:%Y/%m/%d}/{self.slug}/"

    @property
    def outlet_prefix(self) -> str:
        return "/" + self.outlet

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class Corpus:
    outlets: tuple[Outlet, ...]
    articles: tuple[DemoArticle, ...]

    @property
    def stories(self) -> dict[str, tuple[DemoArticle, ...]]:
        """Story label -> its articles in publication order."""
        out: dict[str, list[DemoArticle]] = {}
        for a in sorted(self.articles, key=lambda a: a.published):
            out.setdefault(a.story, []).append(a)
        return {k: tuple(v) for k, v in out.items()}

    def outlet(self, key: str) -> Outlet:
        return next(o for o in self.outlets if o.key == key)

    def article(self, article_id: str) -> DemoArticle:
        return next(a for a in self.articles if a.id == article_id)

    def feed_articles(self, outlet: Outlet, feed: OutletFeed) -> list[DemoArticle]:
        """The articles a feed lists, newest first."""
        items = [a for a in self.articles if a.outlet == outlet.key and (feed.section is None or a.section == feed.section)]
        return sorted(items, key=lambda a: a.published, reverse=True)


def _corpus_dir():
    return resources.files(__package__).joinpath("corpus")


def _when(value) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _paragraphs(body: str) -> tuple[str, ...]:
    return tuple(" ".join(p.split()) for p in body.strip().split("\n\n") if p.strip())


def load_corpus() -> Corpus:
    """Read outlets.yaml and every story file; syndicated copies take their original's text."""
    yaml = YAML(typ="safe")
    root = _corpus_dir()
    raw_outlets = yaml.load(root.joinpath("outlets.yaml").read_text(encoding="utf-8"))["outlets"]
    outlets = tuple(
        Outlet(
            key=o["key"], name=o["name"], tags=tuple(o.get("tags", ())), prefix="/" + o["key"],
            tagline=o.get("tagline", ""), nav=tuple(o.get("nav", ())), footer=o.get("footer", ""),
            cookie=o.get("cookie", ""), related_heading=o.get("related_heading", "Related"),
            page_time_meta=o.get("page_time_meta", True),
            feeds=tuple(OutletFeed(**f) for f in o.get("feeds", ())),
        )
        for o in raw_outlets
    )
    raw: list[tuple[dict, dict]] = []
    for entry in sorted(root.joinpath("stories").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            story = yaml.load(entry.read_text(encoding="utf-8"))
            raw.extend((story, a) for a in story["articles"])
    originals = {f"{a['outlet']}/{a['slug']}": a for _, a in raw if "copy_of" not in a}
    articles = []
    for story, a in raw:
        source = originals[a["copy_of"]] if "copy_of" in a else a
        articles.append(DemoArticle(
            id=f"{a['outlet']}/{a['slug']}", outlet=a["outlet"], slug=a["slug"], story=story["story"],
            relevant=bool(story["relevant"]), title=a.get("title", source["title"]),
            author=a.get("author", source.get("author")), published=_when(a["published"]),
            paragraphs=_paragraphs(source["body"]), section=a.get("section"),
            summary=" ".join(a.get("summary", source.get("summary", "")).split()),
            copy_of=a.get("copy_of"), note=a.get("note"), feed_path=a.get("feed_path"),
        ))
    return Corpus(outlets=outlets, articles=tuple(articles))


def build_routes(corpus: Corpus, base_url: str) -> dict[str, Route]:
    """Every feed and page of the corpus as loopback routes, links absolute under `base_url`."""
    from .render import routes

    return routes(corpus, base_url.rstrip("/"))


def demo_config(base_url: str, workdir: Path) -> str:
    """The text of a feeds.yaml watching every demo feed, with the shipped topics."""
    base_url = base_url.rstrip("/")
    workdir = Path(workdir).resolve()
    corpus = load_corpus()
    lines = [
        "# monitor demo: feeds served on loopback from the bundled corpus (written by `monitor demo`).",
        f"database: {json.dumps(str(workdir / 'monitor.sqlite3'))}",
        f"site_dir: {json.dumps(str(workdir / 'site'))}",
        'site_title: "AI self-improvement & the pause debate (demo)"',
        "allow_private_networks: true",
        "",
        "feeds:",
    ]
    for outlet in corpus.outlets:
        for feed in outlet.feeds:
            lines.append(
                f"  - {{url: {json.dumps(base_url + feed.path)}, name: {json.dumps(outlet.name)}, "
                f"tags: {json.dumps(list(outlet.tags))}}}"
            )
    topics = _corpus_dir().joinpath("topics.yaml").read_text(encoding="utf-8")
    return "\n".join(lines) + "\n\n" + topics
