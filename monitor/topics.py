"""Relevance of an article to the configured subject (the `topics:` of feeds.yaml).

`relevance()` scores title and text against each topic and returns the best topic's score:

* a phrase counts more than a term; a term that is one plain lowercase word ("pause", "halt") is
  ambiguous and counts half;
* the title counts on its own (a headline-only item whose title holds a phrase passes);
* the text counts by density: hits divided by a length factor, so one passing mention of a term in
  a long article about sports or payments stays under the cut, while an article that keeps returning
  to the subject passes;
* exclusions pull the score down, in the title most.

Matching is case-insensitive on word boundaries; hyphens and spaces inside a phrase are
interchangeable and each word tolerates simple inflections (plural -s/-es/-ies, -ed, -ing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from monitor.models import Topic

RELEVANCE_THRESHOLD = 0.5

TITLE_PHRASE = 1.0  # one phrase in the title passes on its own
TITLE_TERM = 0.35  # a title needs two terms (one may be ambiguous), or a term and support from the text
TEXT_PHRASE = 1.0
TEXT_TERM = 0.35
TEXT_WORDS_UNIT = 300  # text hits are divided by 1 + words / this
TEXT_CAP = 1.5
TITLE_EXCLUDE = 0.6
TEXT_EXCLUDE = 0.6
AMBIGUOUS = 0.5  # factor for a term that is one plain lowercase word

_SEP = r"[\s\-‐‑–—_/]+"


def _word_pattern(word: str) -> str:
    w = re.escape(word)
    if not word[-1:].isalpha() or len(word) < 3 or word.isupper():
        return w + r"(?:'?s)?"
    if word.endswith("y") and len(word) > 3:
        return re.escape(word[:-1]) + r"(?:y|ies|ied|ying)"
    if word.endswith("e"):
        return re.escape(word[:-1]) + r"(?:e|es|ed|ing|ement|ements)"
    return w + r"(?:s|es|ed|ing|'s)?"


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str] | None:
    words = [w for w in re.split(r"[\s\-‐‑–—_/]+", phrase.strip()) if w]
    if not words:
        return None
    body = _SEP.join(_word_pattern(w) for w in words)
    return re.compile(r"(?<![\w])" + body + r"(?![\w])", re.IGNORECASE)


def _count(phrase: str, text: str) -> int:
    pat = _pattern(phrase)
    return len(pat.findall(text)) if pat and text else 0


def _term_weight(term: str) -> float:
    plain = " " not in term.strip() and "-" not in term and term == term.lower()
    return AMBIGUOUS if plain else 1.0


def _topic_score(title: str, text: str, words: int, topic: Topic) -> float:
    norm = 1.0 + words / TEXT_WORDS_UNIT
    title_score = 0.0
    text_raw = 0.0
    for p in topic.phrases:
        if _count(p, title):
            title_score += TITLE_PHRASE
        text_raw += TEXT_PHRASE * _count(p, text)
    for t in topic.terms:
        w = _term_weight(t)
        if _count(t, title):
            title_score += TITLE_TERM * w
        text_raw += TEXT_TERM * w * _count(t, text)
    penalty = 0.0
    for x in topic.exclude:
        penalty += TITLE_EXCLUDE * min(_count(x, title), 1) + TEXT_EXCLUDE * _count(x, text) / norm
    return title_score + min(TEXT_CAP, text_raw / norm) - penalty


def relevance(title: str, text: str, topics: Sequence[Topic]) -> float:
    """Score of the best-matching topic (0 when nothing matches; may go below 0 with exclusions)."""
    title = title or ""
    text = text or ""
    if not topics:
        return 1.0
    words = len(text.split())
    return round(max(_topic_score(title, text, words, t) for t in topics), 4)


def is_relevant(score: float, topics: Sequence[Topic], threshold: float = RELEVANCE_THRESHOLD) -> bool:
    """True when `score` reaches `threshold`, or when no topics are configured (everything is relevant)."""
    return not topics or score >= threshold


def recut(scores: Iterable[tuple[int, float, bool]], topics: Sequence[Topic], threshold: float) -> list[tuple[int, bool]]:
    """The articles whose relevant flag changes under `threshold`: (id, relevant now) for each (id, score,
    relevant before) that crosses it. Pure: the store writes the flips (and detaches the ones leaving)."""
    out = []
    for article, score, before in scores:
        now = is_relevant(score, topics, threshold)
        if now != bool(before):
            out.append((article, now))
    return out
