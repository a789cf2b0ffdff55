"""Headline and summary of a story, chosen from its own articles (extractive, no generation).

`headline()` picks the title closest to the centroid of all titles (ties: the earliest), so the
story is named by what most outlets say rather than by whoever published first.

`lead()` takes the summary from ONE article, the most central independent report (its lead closest to
the centroid of all leads; reports written in the first or second person come last): one to three
consecutive sentences of it, so the summary reads as one text and a pronoun keeps its referent. A
sentence is usable when `usable()` says so: no dateline (it is cut off), no byline, no first- or
second-person voice outside quotes, no question, six to 45 words; the first sentence also at least eight
words and not opening with a pronoun, a connective or a quote. A headline-only story falls back to a
feed summary, then the headline.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from monitor.facts import sentences
from monitor.models import Article, independent_reports

LEAD_SENTENCES = 5  # sentences at the top of each article considered for the summary
MAX_SENTENCES = 3
_TAIL = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,60}$")  # " - Outlet" suffix of aggregator titles
# "SAN FRANCISCO, Oct 6 (CWS) - ", "LONDON (Reuters) -", "WASHINGTON — ", "Oct 6 (CWS) -"
_DATELINE = re.compile(r"[A-Z][A-Z.'’ -]{1,40}(?:,[ A-Za-z.]{2,30}\d{0,2})?(?: ?\([^()]{1,40}\))? ?[-–—:]+ +"
                       r"|[A-Z][a-z]{2,8}\.? \d{1,2} ?\([^()]{1,40}\) ?[-–—]+ +")
_BYLINE = re.compile(r"(?:By|BY|Written by|Reporting by)\s+[A-Z]")
_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|me|my|mine|myself|we|we're|we’re|we've|we’ve|us|our|ours|"
                     r"ourselves|you|you're|you’re|your|yours|yourself|let's|let’s)\b", re.I)
_QUOTED = re.compile(r"[\"“][^\"“”]{0,600}[\"”]")
_OPENERS = {"he", "she", "it", "they", "this", "that", "these", "those", "his", "her", "its", "their", "there",
            "such", "both", "another", "also", "but", "and", "or", "so", "however", "meanwhile", "still", "yet",
            "instead", "then", "here", "which", "who", "them", "him", "one", "the other", "others", "besides",
            "moreover", "furthermore", "likewise", "similarly", "otherwise", "thus", "hence", "later", "now"}
_JUNK = re.compile(r"(?:subscribe|sign up|newsletter|read more|click|photo:|image:|credit:|getty|updated \d|"
                   r"min read|all rights reserved|cookie|advertisement|follow us|share this|https?://)", re.I)


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


def strip_dateline(sentence: str) -> str:
    """The sentence without a leading dateline ("SAN FRANCISCO, Oct 6 (CWS) - ")."""
    m = _DATELINE.match(sentence[:90])
    return sentence[m.end():].lstrip() if m and len(sentence) > m.end() + 20 else sentence


def first_person(sentence: str) -> bool:
    """First- or second-person voice outside quotes."""
    return bool(_PERSON.search(_QUOTED.sub(" ", sentence)))


def usable(sentence: str, *, first: bool, title: str = "") -> bool:
    """May this sentence be part of a summary (see the module docstring)? `first`: it opens the summary."""
    s = sentence.strip()
    words = s.split()
    if not 6 <= len(words) <= 45 or s[-1:] not in ".\"”’" or "?" in s:
        return False
    if _BYLINE.match(s) or _JUNK.search(s) or first_person(s) or _DATELINE.match(s[:90]):
        return False
    if sum(w.isupper() and len(w) > 1 for w in words) > len(words) / 2:
        return False
    if title and " ".join(s.lower().split()).rstrip(".") == " ".join(title.lower().split()).rstrip("."):
        return False
    if first:
        if len(words) < 8:
            return False  # a subheading or a teaser, not a lead
        opener = re.sub(r"[^\w’' -]", "", " ".join(words[:2])).lower()
        if words[0].lower().strip(",") in _OPENERS or opener in _OPENERS or s[0] in "\"“‘'(":
            return False
    return True


def _lead_sentences(a: Article) -> list[str]:
    out = sentences((a.text or "")[:6000])[:LEAD_SENTENCES]
    return [strip_dateline(out[0])] + out[1:] if out else []


def _take(sents: list[str], title: str, max_words: int) -> list[str]:
    """One to MAX_SENTENCES consecutive usable sentences, the first a fit opener; [] when none."""
    for start, s in enumerate(sents):
        if not usable(s, first=True, title=title):
            continue
        out, used = [s], len(s.split())
        for nxt in sents[start + 1:]:
            if len(out) == MAX_SENTENCES or used + len(nxt.split()) > max_words or not usable(nxt, first=False, title=title):
                break
            out.append(nxt)
            used += len(nxt.split())
        if used <= max_words:
            return out
    return []


def lead(articles: Sequence[Article], *, max_words: int = 60) -> tuple[str, Article | None]:
    """(summary, the article it is taken from); the article is None when the summary is the headline."""
    reports = independent_reports(articles) or list(articles)
    with_text = [(a, sents) for a in reports if (sents := _lead_sentences(a))]  # each text split once
    if with_text:
        leads = [" ".join(sents[:3]) for _, sents in with_text]
        scores = _central(leads)
        voice = [first_person(text) for text in leads]
        order = sorted(range(len(with_text)), key=lambda i: (voice[i], -round(float(scores[i]), 6), i))
        for i in order:
            a, sents = with_text[i]
            taken = _take(sents, _clean_title(a.title), max_words)
            if taken:
                return " ".join(taken), a
    for a in reports:
        feed = [strip_dateline(s) for s in sentences(" ".join(a.summary.split()))[:LEAD_SENTENCES]]
        taken = _take(feed, _clean_title(a.title), max_words)
        if taken:
            return " ".join(taken), a
    return _clip(headline(articles), max_words), None


def summarize(articles: Sequence[Article], *, max_words: int = 60) -> str:
    """The summary text of `lead()`."""
    return lead(articles, max_words=max_words)[0]


def _clip(text: str, max_words: int) -> str:
    words = text.split()
    return text if len(words) <= max_words else " ".join(words[:max_words]).rstrip(",;:") + "…"
