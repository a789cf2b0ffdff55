"""Generate a labelled set of invented news: many events, several outlets each, varied wording.

    .venv/bin/python benchmarks/data/make_synthetic.py   # writes benchmarks/data/synthetic.jsonl

Every name, outlet and event is invented. Events are drawn so that the hard cases are common: one
organisation has several different events in one week (a report and a job posting, a funding round
and a lawsuit), and the same kind of event recurs weeks apart.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

ORGS = ["Helix Labs", "Northwind AI", "Quasar Systems", "Meridian Research", "Oakline", "Vantor",
        "Brightpath AI", "Cobalt Mind", "Lumen Dynamics", "Stratos Intelligence", "Kestrel AI",
        "Polaris Compute", "Aster Robotics", "Juniper Neural", "Redwood Cognition", "Tidewater AI",
        "Solace Labs", "Ironbark", "Zephyr Models", "Halcyon AI", "Nimbus Reasoning", "Orchid Labs"]
PEOPLE = ["Mara Venn", "Tobias Greer", "Ines Okafor", "Ravi Sethuram", "Lena Castell", "Owen Pike",
          "Yuki Harrow", "Dario Flint", "Selma Quist", "Hugo Baird", "Nadia Rooke", "Felix Amari",
          "Priya Dunmore", "Carl Weston", "Amara Lind", "Jonas Vey", "Elif Sorensen", "Marek Tull"]
GROUPS = ["the Safe Horizons Coalition", "the Institute for Machine Futures", "PauseNow",
          "the Civic Tech Forum", "the Alliance for Careful AI", "the Open Compute Council"]
BODIES = ["the Senate commerce committee", "the European Parliament", "the UK science ministry",
          "the federal trade regulator", "the state assembly", "the G7 digital ministers"]
CITIES = ["San Francisco", "London", "Toronto", "Paris", "Berlin", "Singapore", "Seoul", "Austin"]
MODELS = ["Orion", "Atlas", "Vega", "Cirrus", "Tern", "Sable", "Pike", "Ember", "Nova", "Drift"]
OUTLETS = ["Daily Wire Tech", "Byte Post", "The Circuit", "Capitol Ledger", "Signal & Noise",
           "Frontier Weekly", "The Compute", "Metro Herald", "Global Dispatch", "Silicon Courier",
           "The Analyst", "Morning Brief", "Data Desk", "Tech Tribune", "The Observer Online"]


def pick(r, xs):
    return r.choice(xs)


def ev_release(r, e):
    m = f"{pick(r, MODELS)}-{r.randint(2, 9)}"
    pct = r.choice([20, 30, 35, 40, 45, 60, 70, 80])
    e.update(model=m, pct=pct)
    heads = [
        "{org} unveils {model}, a model that {rewrites} its own training code",
        "{org}'s {model} {automates} {pct}% of its own AI research, company says",
        "{model}: {org} claims new system can improve itself",
        "{org} launches {model} with self-improvement features",
        "New {org} model {model} {automates} much of its own development",
        "{org} says {model} ran {pct} percent of experiments without humans",
        "Inside {model}, {org}'s bid for self-improving AI",
    ]
    leads = [
        "{org} on {day} released {model}, a system it says can {rewrite} parts of its own training pipeline.",
        "The {city}-based company said {model} carried out {pct}% of its internal experiments without human help.",
        "\"We are seeing the first real signs of a model that improves the way it is built,\" said {person}, {role} at {org}.",
        "{person} told reporters that {model} proposed changes that engineers then accepted.",
        "Critics warned that tools able to speed up their own development deserve outside scrutiny.",
    ]
    return heads, leads


def ev_funding(r, e):
    amt = r.choice(["1.2 billion", "500 million", "2.5 billion", "300 million", "4 billion", "750 million"])
    e.update(amount=amt, investor=pick(r, ORGS[::-1]))
    heads = [
        "{org} raises ${amount} to build automated AI researchers",
        "{org} {secures} ${amount} in new funding round",
        "Investors pour ${amount} into {org}",
        "{org} valuation soars after ${amount} raise",
        "${amount} round for {org} led by {investor}",
        "{org} lands ${amount} as race for AI research agents heats up",
    ]
    leads = [
        "{org} has raised ${amount} in a round led by {investor}, the company said on {day}.",
        "The {city} startup plans to spend the money on compute and on hiring researchers.",
        "\"This lets us build systems that do the work of an entire research lab,\" said {person}, {role}.",
        "{org} was founded three years ago by {person} and has about {staff} employees.",
    ]
    return heads, leads


def ev_letter(r, e):
    n = r.choice([800, 1200, 2500, 3000, 5000, 12000])
    e.update(n=n, group=pick(r, GROUPS))
    heads = [
        "{n} researchers sign open letter calling for pause on frontier AI",
        "{group} letter urges moratorium on training of advanced AI",
        "Open letter from {group} demands halt to superintelligence race",
        "Thousands back call to pause giant AI experiments",
        "{person} among {n} signatories of new AI pause letter",
        "Scientists call for six-month moratorium on frontier models",
    ]
    leads = [
        "More than {n} researchers and executives have signed an open letter published by {group} on {day}.",
        "The letter asks labs to stop training systems more capable than today's frontier models for at least six months.",
        "\"We are not asking to stop progress, only to stop racing blind,\" said {person}, one of the organisers.",
        "Signatories include professors from universities in {city} and several former lab employees.",
    ]
    return heads, leads


def ev_hearing(r, e):
    e.update(body=pick(r, BODIES))
    heads = [
        "{person} tells {body} that self-improving AI needs licensing",
        "Lawmakers grill {org} chief over automated AI research",
        "{body} hearing weighs ban on superintelligence",
        "At hearing, {org}'s {person} warns of intelligence explosion",
        "{org} executive testifies before {body} on frontier AI risk",
    ]
    leads = [
        "{person}, {role} of {org}, appeared before {body} on {day}.",
        "Members pressed {person} on whether systems that improve themselves could slip out of control.",
        "\"We need a licensing regime before these systems can train their successors,\" {person} said.",
        "The hearing is part of a review that could lead to new rules by the end of the year.",
    ]
    return heads, leads


def ev_report(r, e):
    pct = r.choice([10, 15, 25, 33, 50, 65])
    e.update(pct=pct, pages=r.choice([48, 80, 120, 200]))
    heads = [
        "{org} report finds AI now writes {pct}% of its own research code",
        "{org} study: automated AI research is arriving faster than expected",
        "New {org} paper measures how much AI speeds up AI development",
        "{org} researchers warn of recursive self-improvement within years",
        "{pages}-page {org} report maps path to automated AI R&D",
    ]
    leads = [
        "A {pages}-page report from {org} published on {day} estimates that AI systems now write {pct}% of the code used in its research.",
        "The authors, led by {person}, say the share has doubled in a year.",
        "\"The feedback loop is no longer hypothetical,\" the report says.",
        "The study calls for labs to publish measurements of automation in their own research.",
    ]
    return heads, leads


def ev_jobs(r, e):
    heads = [
        "{org} is hiring researchers to study AI that improves itself",
        "{org} posts job for head of automated alignment research",
        "Job listing reveals {org} plan for self-improvement team",
        "{org} seeks engineers for new recursive improvement unit",
    ]
    leads = [
        "A job posting published by {org} on {day} seeks a lead for a new team.",
        "The listing says the team will study systems that help train their successors.",
        "The role is based in {city} and reports to {person}.",
    ]
    return heads, leads


def ev_lawsuit(r, e):
    e.update(plaintiff=pick(r, ORGS[::-1]))
    heads = [
        "{plaintiff} sues {org} over stolen training methods",
        "{org} hit with lawsuit from {plaintiff}",
        "Court fight: {plaintiff} accuses {org} of copying its research agent",
        "{plaintiff} files suit against {org} in {city}",
    ]
    leads = [
        "{plaintiff} filed a lawsuit against {org} in a court in {city} on {day}.",
        "The complaint says former employees took code for an automated research agent.",
        "{org} said the claims were without merit and that it would fight them.",
    ]
    return heads, leads


KINDS = [ev_release, ev_funding, ev_letter, ev_hearing, ev_report, ev_jobs, ev_lawsuit]
SYN = {"rewrites": ["rewrites", "modifies", "improves"], "rewrite": ["rewrite", "modify", "improve"],
       "automates": ["automates", "handles", "runs"], "secures": ["secures", "closes", "announces"]}
ROLES = ["chief scientist", "chief executive", "head of research", "co-founder", "policy director"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def style(r, head):
    s = r.random()
    if s < 0.25:  # title case outlet
        return " ".join(w[:1].upper() + w[1:] for w in head.split())
    if s < 0.35:
        return head + " - " + pick(r, OUTLETS)
    if s < 0.45:
        return "Exclusive: " + head
    return head


def make(seed=7, events=700, start=datetime(2025, 1, 6, tzinfo=timezone.utc)):
    r = random.Random(seed)
    rows = []
    for k in range(events):
        e = {"org": pick(r, ORGS), "person": pick(r, PEOPLE), "city": pick(r, CITIES), "role": pick(r, ROLES),
             "day": pick(r, DAYS), "staff": r.randint(40, 900)}
        heads, leads = pick(r, KINDS)(r, e)
        when = start + timedelta(days=r.uniform(0, 120))
        n = min(len(OUTLETS), max(1, int(r.paretovariate(1.2))))
        for outlet in r.sample(OUTLETS, n):
            fill = dict(e, **{k2: pick(r, v) for k2, v in SYN.items()})
            head = style(r, pick(r, heads).format(**fill))
            head = head[:1].upper() + head[1:]
            body = [s.format(**fill) for s in leads]
            first, rest = body[0], body[1:]
            r.shuffle(rest)
            text = " ".join([first] + rest[: r.randint(1, len(rest))])
            rows.append({"id": f"a{len(rows)}", "title": head, "text": text, "source": outlet,
                         "url": f"https://{outlet.lower().replace(' ', '').replace('&', '')}.example/{len(rows)}",
                         "published": (when + timedelta(hours=r.uniform(0, 30))).isoformat(), "story": f"e{k}"})
    r.shuffle(rows)
    return rows


if __name__ == "__main__":
    out = Path(__file__).with_name("synthetic.jsonl")
    rows = make()
    out.write_text("".join(json.dumps(x) + "\n" for x in rows))
    print(f"{len(rows)} articles, {len({x['story'] for x in rows})} events -> {out}")
