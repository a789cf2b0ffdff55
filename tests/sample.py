"""Small hand-written feeds and article pages for the end-to-end tests (invented outlets and events)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from monitor.loopback import LoopbackServer, Route

ARTICLES = {
    # path: (outlet, title, published RFC 822, paragraphs)
    "/ledger/lab-automates-research": (
        "The Circuit Ledger",
        "Halcyon Labs says its models now run 80% of its own AI research experiments",
        "Tue, 03 Nov 2026 09:15:00 GMT",
        [
            "Halcyon Labs said on Tuesday that automated agents now design and run 80% of the machine learning "
            "experiments behind its next frontier model, a step its critics call a move toward recursive self-improvement.",
            "The company's research chief, Mara Quist, said the system proposes hypotheses, writes training code and "
            "reads its own results before a human signs off. \"We are still the ones who decide what ships,\" she said.",
            "Halcyon said the automated pipeline completed 1,200 experiments in October, three times the number its "
            "human staff managed in the same month last year.",
            "Outside researchers asked the lab to publish the evaluations it used before letting the agents touch "
            "training runs, and to say what would make it pause the programme.",
        ],
    ),
    "/tribune/halcyon-agents": (
        "Northgate Tribune",
        "AI lab hands most experiments to its own agents, raising self-improvement fears",
        "Tue, 03 Nov 2026 13:40:00 GMT",
        [
            "Most of the experiments that shape Halcyon Labs' newest model are no longer run by people. The lab said "
            "80 percent of them are now planned and executed by AI agents that improve the training code themselves.",
            "\"We are still the ones who decide what ships,\" research chief Mara Quist told reporters, adding that "
            "every change to a training run needs a human signature.",
            "The lab put the October tally at 1,200 automated experiments, roughly triple its human output a year ago. "
            "Safety groups said the announcement was the clearest sign yet of AI systems doing AI research.",
        ],
    ),
    "/ledger/pause-letter": (
        "The Circuit Ledger",
        "Over 3,000 researchers sign letter urging a pause on frontier AI training",
        "Thu, 05 Nov 2026 08:00:00 GMT",
        [
            "More than 3,000 researchers and engineers have signed an open letter asking frontier AI developers to "
            "pause training of systems more capable than today's for at least six months.",
            "The letter, organised by the Commons Safety Trust, says labs should use the pause to agree on shared "
            "evaluations for self-improving systems and on independent audits.",
            "\"A pause is not a ban; it is time to build the brakes,\" the letter says.",
        ],
    ),
    "/tribune/football-scouting": (
        "Northgate Tribune",
        "Riverside United signs striker after record-breaking transfer window",
        "Wed, 04 Nov 2026 18:00:00 GMT",
        [
            "Riverside United completed the signing of striker Tomas Velde on Wednesday for a club-record fee, "
            "ending a transfer saga that ran for most of the autumn.",
            "The club's scouting team watched Velde in 40 matches this season. Manager Ilse Dorn praised his "
            "movement and finishing and said he would start on Saturday.",
            "The club also uses AI agents to rank video clips for its scouts, a spokesperson said.",
            "Supporters queued outside the stadium shop for the new shirt within an hour of the announcement.",
        ],
    ),
}
FEEDS = {
    "/ledger/rss.xml": ("The Circuit Ledger", ["/ledger/lab-automates-research", "/ledger/pause-letter"]),
    "/tribune/atom.xml": ("Northgate Tribune", ["/tribune/halcyon-agents", "/tribune/football-scouting"]),
}


def page(path: str, base: str) -> bytes:
    outlet, title, published, paragraphs = ARTICLES[path]
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | {outlet}</title>
<meta property="og:site_name" content="{outlet}"><meta name="author" content="Staff Reporter">
<link rel="canonical" href="{base}{path}"></head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a></nav>
<article><h1>{escape(title)}</h1>{body}</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Ten gadgets for winter</a></li></ul></aside>
<footer>Copyright {outlet}. Cookie settings. Contact us.</footer></body></html>""".encode()


def rss(name: str, paths: list[str], base: str) -> bytes:
    items = "".join(
        f"<item><title>{escape(ARTICLES[p][1])}</title><link>{base}{p}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<guid>{base}{p}</guid><pubDate>{ARTICLES[p][2]}</pubDate><description>{escape(ARTICLES[p][3][0])}</description></item>"
        for p in paths
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>{base}/</link>{items}</channel></rss>'.encode()


def atom(name: str, paths: list[str], base: str) -> bytes:
    from email.utils import parsedate_to_datetime

    entries = "".join(
        f"<entry><title>{escape(ARTICLES[p][1])}</title><link href=\"{base}{p}\"/><id>{base}{p}</id>"
        f"<updated>{parsedate_to_datetime(ARTICLES[p][2]).isoformat()}</updated><summary>{escape(ARTICLES[p][3][0])}</summary></entry>"
        for p in paths
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{name}</title>'
            f"<id>{base}/tribune</id><updated>2026-11-05T00:00:00Z</updated>{entries}</feed>").encode()


def serve_sample(server: LoopbackServer) -> None:
    base = server.base
    for path in ARTICLES:
        server.routes[path] = Route(page(path, base))
    server.routes["/ledger/rss.xml"] = Route(rss(*FEEDS["/ledger/rss.xml"], base), content_type="application/rss+xml")
    # a wrong content type must not matter
    server.routes["/tribune/atom.xml"] = Route(atom(*FEEDS["/tribune/atom.xml"], base), content_type="text/plain")


def write_config(tmp_path: Path, server: LoopbackServer, *, extra_feeds: list[str] = (), topics: str | None = None) -> Path:
    feeds = [f"  - url: {server.url(p)}\n    name: {name}\n" for p, (name, _) in FEEDS.items()]
    feeds += [f"  - url: {server.url(p)}\n" for p in extra_feeds]
    topics = topics if topics is not None else (
        "topics:\n  - name: self-improvement\n    phrases: [recursive self-improvement, self-improving, AI research, pause]\n"
        "    terms: [frontier AI, agents, AI safety]\n    exclude: [football, striker]\n"
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\n" + topics + "feeds:\n" + "".join(feeds),
        encoding="utf-8",
    )
    return path
