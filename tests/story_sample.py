"""Hand-written reports for the story-identity tests (invented outlets and events), served as feeds and pages.

Three events over two days, each reported by several outlets in their own words:
- the Vantor audit: two early reports that share little (one gives the figures, one the people) and a later
  wire report that gives both, which bridges them;
- the Solace lab's agent benchmark: three reports;
- a pause pledge by research groups: two reports.
One further page is a syndicated copy (rel=canonical back to the original) posted hours later.
"""

from __future__ import annotations

from email.utils import format_datetime
from html import escape
from pathlib import Path

from monitor.loopback import LoopbackServer, Route

# path: (outlet, title, published (ISO, UTC), paragraphs)
REPORTS = {
    "/harbour/vantor-audit": (
        "Harbour Post", "Automated agents find 212 flaws in 14 frontier AI models",
        "2026-11-03T08:00:00+00:00", [
            "An audit run almost entirely by automated agents found 212 serious flaws in 14 frontier AI models, "
            "the Vantor Institute said on Tuesday.",
            "The agents wrote 9,400 test cases in six days, a task the institute said would have taken its staff "
            "most of a year. Of the flaws, 37 let a model rewrite parts of its own training setup.",
            "Vantor said it would share the 212 findings with the developers before publishing them.",
        ]),
    "/meadow/vantor-people": (
        "Meadow Gazette", "Ilse Marrow and Odo Brask on letting AI audit AI",
        "2026-11-03T09:30:00+00:00", [
            "Ilse Marrow did not expect the machines to be better auditors than her colleagues. Marrow, who leads "
            "evaluations at the Vantor Institute, and her deputy Odo Brask spent the autumn handing the work over.",
            "\"We watched the agents do in days what took us months,\" Brask said. Marrow said the team still "
            "reads every finding before a developer hears about it.",
            "Both say the hardest part was deciding which results to trust. The institute has not yet said what "
            "the agents found.",
        ]),
    "/coastline/vantor-wire": (
        "Coastline Review", "Vantor agents flag 212 flaws across 14 frontier models, Marrow says",
        "2026-11-03T13:00:00+00:00", [
            "Ilse Marrow and Odo Brask spent the autumn letting AI audit AI. Automated agents at the Vantor Institute found 212 serious flaws in 14 frontier AI models, evaluations "
            "lead Ilse Marrow said on Tuesday, 37 of them letting a model rewrite its own training setup.",
            "The agents wrote 9,400 test cases in six days. \"We watched the agents do in days what took us "
            "months,\" said Marrow's deputy, Odo Brask.",
            "Marrow said her team still reads every finding before a developer hears about it, and that the "
            "hardest part of handing the audit to agents was deciding which results to trust.",
        ]),
    "/harbour/solace-benchmark": (
        "Harbour Post", "Solace Labs says its agents now pass 71% of its own research benchmark",
        "2026-11-03T15:00:00+00:00", [
            "Solace Labs said its research agents now solve 71% of the tasks in ResearchBench, a suite of 480 "
            "problems its scientists wrote to track AI systems doing AI research.",
            "A year ago the agents solved 18%. Chief scientist Petra Lunde said the jump came from agents that "
            "critique and retrain their own components.",
        ]),
    "/meadow/solace-lunde": (
        "Meadow Gazette", "Solace agents solve 71% of ResearchBench, up from 18%",
        "2026-11-03T17:00:00+00:00", [
            "Research agents built by Solace Labs now solve 71% of ResearchBench's 480 tasks, up from 18% a year "
            "ago, chief scientist Petra Lunde said.",
            "Lunde credited agents that critique and retrain their own components, a form of self-improvement "
            "the lab says it watches closely.",
        ]),
    "/coastline/solace-explainer": (
        "Coastline Review", "What Solace Labs' 71% ResearchBench score does and does not mean",
        "2026-11-04T07:00:00+00:00", [
            "Solace Labs' claim that its agents solve 71% of ResearchBench deserves a close reading. The 480 "
            "tasks were written by Solace's own scientists, Petra Lunde among them.",
            "The score rose from 18% a year ago, and the benchmark was built to track agents doing AI research. "
            "Outside researchers have asked for the tasks to be published.",
        ]),
    "/harbour/pause-pledge": (
        "Harbour Post", "Forty research groups pledge to pause self-improving AI experiments",
        "2026-11-04T09:00:00+00:00", [
            "Forty university research groups pledged on Wednesday to pause experiments in which AI systems "
            "modify their own training, until shared safety evaluations exist.",
            "The pledge, coordinated by the Open Methods Council, asks labs to report such experiments within "
            "30 days.",
        ]),
    "/meadow/pause-council": (
        "Meadow Gazette", "Open Methods Council gathers 40 groups behind a pause on self-modifying AI",
        "2026-11-04T11:00:00+00:00", [
            "The Open Methods Council said 40 research groups have agreed to pause experiments with AI systems "
            "that modify their own training until shared safety evaluations exist.",
            "Members will report such experiments within 30 days, the council said.",
        ]),
}
# a syndicated copy of the Harbour Post's benchmark report, posted later by another outlet
COPY = ("/relay/solace-copy", "Relay Daily", "2026-11-03T20:00:00+00:00", "/harbour/solace-benchmark")
OUTLETS = {"/harbour/feed.xml": "Harbour Post", "/meadow/feed.xml": "Meadow Gazette",
           "/coastline/feed.xml": "Coastline Review", "/relay/feed.xml": "Relay Daily"}
TOPICS = ("topics:\n  - name: self-improvement\n    phrases: [self-improvement, AI research, own training, audit]\n"
          "    terms: [agents, frontier AI, AI models, research agents, pause, benchmark]\n")


def page(path: str, base: str, *, copy_points_back: bool = True) -> bytes:
    """An article page; the copy's rel=canonical names the original unless `copy_points_back` is False (then
    only its text tells it is a copy)."""
    if path == COPY[0]:
        _, outlet, _, original = COPY
        _, title, _, paragraphs = REPORTS[original]
        canonical = original if copy_points_back else path
        paragraphs = paragraphs + [f"This report first appeared in the {REPORTS[original][0]}."]
    else:
        outlet, title, _, paragraphs = REPORTS[path]
        canonical = path
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta property="og:site_name" content="{outlet}"><link rel="canonical" href="{base}{canonical}"></head>'
            f"<body><article><h1>{escape(title)}</h1>{body}</article><footer>{outlet}</footer></body></html>").encode()


def published(path: str) -> str:
    return COPY[2] if path == COPY[0] else REPORTS[path][2]


def feed(name: str, paths: list[str], base: str) -> bytes:
    from datetime import datetime

    items = "".join(
        f"<item><title>{escape(REPORTS[COPY[3]][1] if p == COPY[0] else REPORTS[p][1])}</title><link>{base}{p}</link>"
        f"<guid>{base}{p}</guid><pubDate>{format_datetime(datetime.fromisoformat(published(p)))}</pubDate></item>"
        for p in paths)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>'.encode()


def serve(server: LoopbackServer, paths: list[str], *, copy_points_back: bool = True, failing: tuple[str, ...] = ()) -> None:
    """Serve `paths` (their pages, and each outlet's feed listing those of them it published); the pages in
    `failing` answer 503."""
    base = server.base
    for path in paths:
        server.routes[path] = Route(b"busy", status=503) if path in failing else Route(page(path, base, copy_points_back=copy_points_back))
    for feed_path, outlet in OUTLETS.items():
        prefix = feed_path.rsplit("/", 1)[0] + "/"
        mine = [p for p in paths if p.startswith(prefix)]
        server.routes[feed_path] = Route(feed(outlet, mine, base), content_type="application/rss+xml")


def write_config(tmp_path: Path, server: LoopbackServer) -> Path:
    feeds = "".join(f"  - url: {server.url(p)}\n    name: {name}\n" for p, name in OUTLETS.items())
    path = tmp_path / "feeds.yaml"
    path.write_text("database: db/monitor.sqlite3\nsite_dir: public\nallow_private_networks: true\n" + TOPICS
                    + "feeds:\n" + feeds, encoding="utf-8")
    return path
