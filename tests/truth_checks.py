"""Checkers for what a story page may say, used by the unit tests and the end-to-end tests: every figure
shown can be read again from each sentence it cites; every summary follows the summary rules."""

import re

from monitor.facts import sentences
from monitor.figures import figures
from monitor.summary import first_person

_OPENERS = {"he", "she", "it", "they", "this", "that", "these", "those", "his", "her", "its", "their", "but",
            "and", "however", "also", "such"}
_DATELINE = re.compile(r"^[A-Z][A-Z .]{2,}(?:,|\s*\(|\s+[-–—])")


def figures_not_in_their_sentences(facts) -> list[tuple[str, str, str]]:
    """(fact key, outlet, sentence) for each cited sentence in which the figure cannot be found."""
    bad = []
    for f in facts:
        if f.kind != "figure":
            continue
        for e in f.evidence:
            found = figures(e.sentence)
            full = {g.key.split(":", 1)[1] for g in found}
            bare = {g.key.split(":", 1)[1] for g in found if not g.unit}
            if f.key not in full and not any(f.key.startswith(b + " ") for b in bare):
                bad.append((f.key, e.source, e.sentence))
    return bad


def summary_problems(summary: str) -> list[str]:
    """What breaks the summary rules: 1-3 sentences, no dateline, byline, first/second person, question,
    opening pronoun or connective."""
    problems = []
    sents = sentences(summary)
    if not 1 <= len(sents) <= 3:
        problems.append(f"{len(sents)} sentences")
    if _DATELINE.match(summary):
        problems.append("dateline")
    if re.match(r"(By|BY)\s+[A-Z]", summary):
        problems.append("byline")
    if first_person(summary):
        problems.append("first or second person")
    if "?" in summary:
        problems.append("question")
    if summary.split() and summary.split()[0].lower().strip(",") in _OPENERS:
        problems.append("opens with a pronoun or connective")
    return problems
