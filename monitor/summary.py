"""Headline and summary of a story, chosen from its own articles (extractive, no generation).

`headline()` picks the title closest to the centroid of all titles (ties: the earliest), so the
story is named by what most outlets say rather than by whoever published first. `summarize()` picks
one or two lead sentences closest to the centroid of the articles' leads; a headline-only story
falls back to a feed summary, then to the headline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from monitor.facts import sentences
from monitor.models import Article

LEAD_SENTENCES = 3  # sentences of each article considered for the summary
_TAIL = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")  # " - Outlet" suffix of aggregator titles


def _clean_title(t: str) -> str:
    return _TAIL.sub("", " ".join(t.split())).strip()


def _central(texts: list[str]) -> np.ndarray:
    """Cosine of each text to the centroid of all (zeros when nothing can be vectorised)."""
    try:
        X = TfidfVectorizer(sublinear_tf=True, stop_words="english", ngram_range=(1, 2)).fit_transform(texts)
    except ValueError:  # only stop words
        return np.zeros(len(texts))
    c = np.asarray(X.mean(axis=0)).ravel()
    norm = np.linalg.norm(c)
    return X @ (c / norm) if norm else np.zeros(len(texts))


def _originals(articles: Sequence[Article]) -> list[Article]:
    arts = sorted(articles, key=lambda a: a.published)
    return [a for a in arts if a.duplicate_of is None] or arts


def headline(articles: Sequence[Article]) -> str:
    """The most representative title of the story; never empty."""
    arts = [a for a in _originals(articles) if _clean_title(a.title)]
    if not arts:
        return next((a.url for a in articles if a.url), "Untitled story")
    titles = [_clean_title(a.title) for a in arts]
    if len(titles) <= 2:
        return titles[0]
    scores = _central(titles)
    best = max(range(len(titles)), key=lambda i: (round(float(scores[i]), 6), -i))
    return titles[best]


def summarize(articles: Sequence[Article], *, max_words: int = 60) -> str:
    """One or two lead sentences that best represent the story, within about `max_words` words."""
    arts = _originals(articles)
    cands: list[tuple[str, int]] = []  # (sentence, position in its article)
    for a in arts:
        for pos, s in enumerate(sentences(a.text)[:LEAD_SENTENCES]):
            if 6 <= len(s.split()) <= max_words and not s.endswith("?"):
                cands.append((s, pos))
    if not cands:
        for a in arts:
            if a.summary.strip():
                return _clip(" ".join(a.summary.split()), max_words)
        return _clip(headline(articles), max_words)
    scores = _central([s for s, _ in cands])
    ranked = sorted(range(len(cands)), key=lambda i: (-(float(scores[i]) - 0.05 * cands[i][1]), i))
    first = cands[ranked[0]][0]
    out = [first]
    used = len(first.split())
    for i in ranked[1:]:
        s = cands[i][0]
        n = len(s.split())
        if used + n <= max_words and _overlap(first, s) < 0.5:
            out.append(s)
            break
    return " ".join(out)


def _overlap(a: str, b: str) -> float:
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(wa & wb) / max(1, min(len(wa), len(wb)))


def _clip(text: str, max_words: int) -> str:
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words]).rstrip(",;:") + "…"
