"""Render the demo corpus as loopback routes: outlet feeds in four formats and full article pages.

Pure: `routes(corpus, base)` returns path -> Route with every link absolute under `base`. Feeds marked
"broken" are cut off in the middle of an item after their first three entries; feeds marked "down"
answer HTTP 500. Pages are complete HTML documents with each outlet's own boilerplate (cookie note,
navigation, related links, footer) around one <article>.
"""

from __future__ import annotations

import json
from email.utils import format_datetime
from html import escape

from ..dates import iso_z
from ..loopback import Route
from . import Corpus, DemoArticle, Outlet, OutletFeed

FEED_TYPES = {
    "rss2": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rss1": "application/rdf+xml; charset=utf-8",
    "jsonfeed": "application/feed+json; charset=utf-8",
}
BROKEN_AFTER = 3  # a broken feed keeps this many whole entries before the cut


def routes(corpus: Corpus, base: str) -> dict[str, Route]:
    out: dict[str, Route] = {"/": Route(_index(corpus, base).encode())}
    for outlet in corpus.outlets:
        mine = sorted((a for a in corpus.articles if a.outlet == outlet.key), key=lambda a: a.published, reverse=True)
        out[outlet.prefix + "/"] = Route(_outlet_home(outlet, mine, base).encode())
        for article in mine:
            page = Route(_page(corpus, outlet, article, mine, base).encode())
            out[article.path] = page
            if article.feed_path:
                out[article.feed_path] = page
        for feed in outlet.feeds:
            out[feed.path] = _feed_route(corpus, outlet, feed, base)
    return out


def item_link(article: DemoArticle, feed: OutletFeed, base: str) -> str:
    """The link a feed gives for an article: maybe a non-canonical path, maybe tracking parameters."""
    url = base + (article.feed_path or article.path)
    return f"{url}?{feed.tracking}" if feed.tracking else url


def _summary(article: DemoArticle) -> str:
    if article.summary:
        return article.summary
    first = article.paragraphs[0]
    return first if len(first) <= 240 else first[:240].rsplit(" ", 1)[0] + "…"


def _feed_route(corpus: Corpus, outlet: Outlet, feed: OutletFeed, base: str) -> Route:
    if feed.behaviour == "down":
        return Route(b"Internal Server Error\n", status=500, content_type="text/plain; charset=utf-8", conditional=False)
    items = corpus.feed_articles(outlet, feed)
    render = {"rss2": _rss2, "atom": _atom, "rss1": _rss1, "jsonfeed": _jsonfeed}[feed.format]
    body = render(outlet, feed, items, base)
    if feed.behaviour == "broken":
        body = _truncate(body)
    return Route(body.encode(), content_type=FEED_TYPES[feed.format])


def _truncate(xml: str) -> str:
    """Cut the document inside the entry after the first BROKEN_AFTER ones, as a failed upload would."""
    cut = 0
    for _ in range(BROKEN_AFTER):
        end = xml.find("</item>", cut)
        if end == -1:
            break
        cut = end + len("</item>")
    nxt = xml.find("<title>", cut)
    return xml[: nxt + len("<title>") + 9] if nxt != -1 else xml[: cut + 5]


def _rss2(outlet: Outlet, feed: OutletFeed, items: list[DemoArticle], base: str) -> str:
    def date(a: DemoArticle) -> str:
        return a.published.strftime("%a, %d %b %Y") if feed.bare_dates else format_datetime(a.published, usegmt=True)

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{escape(feed.title)}</title>",
        f"<link>{escape(base + outlet.prefix + '/')}</link>",
        f'<atom:link href="{escape(base + feed.path)}" rel="self" type="application/rss+xml"/>',
        f"<description>{escape(outlet.tagline)}</description>",
        "<language>en</language>",
        "<ttl>60</ttl>",
    ]
    for a in items:
        parts += [
            "<item>",
            f"<title>{escape(a.title)}</title>",
            f"<link>{escape(item_link(a, feed, base))}</link>",
            f'<guid isPermaLink="false">{escape(outlet.key)}:{escape(a.slug)}</guid>',
            f"<pubDate>{date(a)}</pubDate>",
            f"<dc:creator>{escape(a.author or outlet.name)}</dc:creator>",
            f"<description>{escape(_summary(a))}</description>",
        ]
        if feed.full_text:
            html = "".join(f"<p>{escape(p, quote=False)}</p>" for p in a.paragraphs)
            parts.append(f"<content:encoded><![CDATA[{html}]]></content:encoded>")
        parts.append("</item>")
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def _atom(outlet: Outlet, feed: OutletFeed, items: list[DemoArticle], base: str) -> str:
    updated = iso_z(max(a.published for a in items)) if items else "2026-10-01T00:00:00Z"
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">',
        f"<title>{escape(feed.title)}</title>",
        f"<subtitle>{escape(outlet.tagline)}</subtitle>",
        f'<link rel="alternate" type="text/html" href="{escape(base + outlet.prefix + "/")}"/>',
        f'<link rel="self" type="application/atom+xml" href="{escape(base + feed.path)}"/>',
        f"<id>tag:{outlet.key}.example,2026:feed</id>",
        f"<updated>{updated}</updated>",
    ]
    for a in items:
        parts += [
            "<entry>",
            f'<title type="text">{escape(a.title)}</title>',
            f'<link rel="alternate" type="text/html" href="{escape(item_link(a, feed, base))}"/>',
            f"<id>tag:{outlet.key}.example,2026:{escape(a.slug)}</id>",
            f"<published>{iso_z(a.published)}</published>",
            f"<updated>{iso_z(a.published)}</updated>",
            f"<author><name>{escape(a.author or outlet.name)}</name></author>",
            f'<summary type="text">{escape(_summary(a))}</summary>',
            "</entry>",
        ]
    parts += ["</feed>", ""]
    return "\n".join(parts)


def _rss1(outlet: Outlet, feed: OutletFeed, items: list[DemoArticle], base: str) -> str:
    def date(a: DemoArticle) -> str:
        return a.published.strftime("%Y-%m-%d") if feed.bare_dates else iso_z(a.published)

    links = [escape(item_link(a, feed, base)) for a in items]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'<channel rdf:about="{escape(base + feed.path)}">',
        f"<title>{escape(feed.title)}</title>",
        f"<link>{escape(base + outlet.prefix + '/')}</link>",
        f"<description>{escape(outlet.tagline)}</description>",
        "<items><rdf:Seq>",
        *(f'<rdf:li rdf:resource="{link}"/>' for link in links),
        "</rdf:Seq></items>",
        "</channel>",
    ]
    for a, link in zip(items, links):
        parts += [
            f'<item rdf:about="{link}">',
            f"<title>{escape(a.title)}</title>",
            f"<link>{link}</link>",
            f"<description>{escape(_summary(a))}</description>",
            f"<dc:date>{date(a)}</dc:date>",
            f"<dc:creator>{escape(a.author or outlet.name)}</dc:creator>",
            "</item>",
        ]
    parts += ["</rdf:RDF>", ""]
    return "\n".join(parts)


def _jsonfeed(outlet: Outlet, feed: OutletFeed, items: list[DemoArticle], base: str) -> str:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": base + outlet.prefix + "/",
        "feed_url": base + feed.path,
        "description": outlet.tagline,
        "language": "en",
        "items": [
            {
                "id": f"{outlet.key}:{a.slug}",
                "url": item_link(a, feed, base),
                "title": a.title,
                "summary": _summary(a),
                **({"content_text": a.text} if feed.full_text else {}),
                "date_published": a.published.strftime("%Y-%m-%d") if feed.bare_dates else iso_z(a.published),
                "authors": [{"name": a.author or outlet.name}],
                **({"tags": [a.section]} if a.section else {}),
            }
            for a in items
        ],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


_STYLE = (
    "body{font-family:Georgia,serif;margin:0;color:#222}header,footer{background:#f4f4f4;padding:1em}"
    "nav a{margin-right:1em}main{max-width:44em;margin:auto;padding:1em}.cookie{background:#333;color:#eee;padding:.5em}"
)


def _chrome(outlet: Outlet, base: str, title: str, head: str, main: str) -> str:
    home = base + outlet.prefix + "/"
    nav = "".join(f'<li><a href="{escape(home)}section/{escape(n.lower().replace(" ", "-"))}/">{escape(n)}</a></li>' for n in outlet.nav)
    feeds = "".join(
        f'<link rel="alternate" type="{FEED_TYPES[f.format].split(";")[0]}" title="{escape(f.title)}" href="{escape(base + f.path)}">\n'
        for f in outlet.feeds
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
{head}{feeds}<style>{_STYLE}</style>
</head>
<body>
<div class="cookie" id="cookie-consent"><p>{escape(outlet.cookie)}</p><button type="button">Accept</button> <button type="button">Manage preferences</button></div>
<header class="site-header">
<a class="logo" href="{escape(home)}">{escape(outlet.name)}</a> <span class="tagline">{escape(outlet.tagline)}</span>
<nav aria-label="Sections"><ul>{nav}</ul></nav>
<form class="search" action="{escape(home)}search/" method="get"><input name="q" placeholder="Search"><button>Go</button></form>
</header>
{main}
<footer class="site-footer">
<p>{escape(outlet.footer)}</p>
<ul class="footer-links"><li><a href="{escape(home)}about/">About us</a></li><li><a href="{escape(home)}contact/">Contact</a></li><li><a href="{escape(home)}privacy/">Privacy policy</a></li><li><a href="{escape(home)}terms/">Terms of use</a></li></ul>
<p class="copyright">&copy; 2026 {escape(outlet.name)}. All rights reserved.</p>
</footer>
</body>
</html>
"""


def _human(article: DemoArticle, outlet: Outlet) -> str:
    day = f"{article.published:%B} {article.published.day}, {article.published:%Y}"
    return day if not outlet.page_time_meta else f"{day}, {article.published:%H:%M} UTC"


def _page(corpus: Corpus, outlet: Outlet, a: DemoArticle, mine: list[DemoArticle], base: str) -> str:
    canonical = base + a.path
    meta = [
        f'<meta name="description" content="{escape(_summary(a))}">',
        f'<link rel="canonical" href="{escape(canonical)}">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:title" content="{escape(a.title)}">',
        f'<meta property="og:site_name" content="{escape(outlet.name)}">',
        f'<meta property="og:url" content="{escape(canonical)}">',
    ]
    if a.author:
        meta.append(f'<meta name="author" content="{escape(a.author)}">')
    if outlet.page_time_meta:
        meta.append(f'<meta property="article:published_time" content="{iso_z(a.published)}">')
    if a.section:
        meta.append(f'<meta property="article:section" content="{escape(a.section)}">')
    others = sorted((o for o in mine if o.id != a.id), key=lambda o: abs((o.published - a.published).total_seconds()))[:4]
    related = "".join(f'<li><a href="{escape(base + o.path)}">{escape(o.title)}</a></li>' for o in others)
    byline = f'By <span class="author">{escape(a.author)}</span> · ' if a.author else ""
    body = "\n".join(f"<p>{escape(p, quote=False)}</p>" for p in a.paragraphs)
    note = f'\n<p class="syndication-note"><em>{escape(a.note)}</em></p>' if a.note else ""
    kicker = f'<p class="kicker">{escape(a.section.upper())}</p>\n' if a.section else ""
    main = f"""<main>
<article>
{kicker}<h1>{escape(a.title)}</h1>
<p class="byline">{byline}<time datetime="{iso_z(a.published)}">{_human(a, outlet)}</time></p>
{body}{note}
</article>
<aside class="share"><a href="#">Share</a> <a href="#">Email</a> <a href="#">Print</a></aside>
<aside class="related"><h2>{escape(outlet.related_heading)}</h2><ul>{related}</ul></aside>
<div class="signup"><p>Get the best of {escape(outlet.name)} in your inbox.</p><form><input type="email" placeholder="Email address"><button>Sign up</button></form></div>
</main>"""
    return _chrome(outlet, base, f"{a.title} | {outlet.name}", "\n".join(meta) + "\n", main)


def _outlet_home(outlet: Outlet, mine: list[DemoArticle], base: str) -> str:
    items = "".join(f'<li><a href="{escape(base + a.path)}">{escape(a.title)}</a> <time>{a.published:%Y-%m-%d}</time></li>' for a in mine)
    main = f"<main><h1>{escape(outlet.name)}</h1><ul class=\"latest\">{items}</ul></main>"
    return _chrome(outlet, base, outlet.name, "", main)


def _index(corpus: Corpus, base: str) -> str:
    rows = "".join(
        f'<li><a href="{escape(base + o.prefix + "/")}">{escape(o.name)}</a>: '
        + ", ".join(f'<a href="{escape(base + f.path)}">{escape(f.format)}</a>' for f in o.feeds)
        + "</li>"
        for o in corpus.outlets
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>monitor demo corpus</title></head>'
        f"<body><h1>monitor demo corpus</h1><p>Invented outlets served on loopback.</p><ul>{rows}</ul></body></html>\n"
    )
