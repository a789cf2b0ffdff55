"""Features for story clustering: what each article says, as weighted sparse vectors.

`featurize(docs)` turns articles into two matrices: X, the weighted, L2-normalised join of three
TF-IDF blocks (word 1-2 grams of the title, counted TITLE_TIMES times, and of the lead; char_wb 3-5
grams of the title; numbers and names), whose row products are the cosine similarities clustering
uses; and R, the rarer word and name columns alone, used only to find candidate neighbours. IDF is
fitted on the docs given (the whole file, or the window of `cluster.assign()`). Also here: the
article record `Doc`, and the publication times and outlet ids that the distance rules need.
Weights and sizes are module constants so that benchmarks/cluster_eval.py can try others; the
measurements behind them are in docs/clustering.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

LEAD_WORDS = 150  # events are told in the lead
TITLE_TIMES = 2  # the title's word grams are counted this many times (the lead's once)
W_WORDS, W_CHARS, W_NAMES = 1.0, 0.8, 0.9  # block weights
TEXT_MIN_WORDS = 8  # a doc with fewer words of text is treated as a bare headline
CAND_MAX_DF, CAND_MIN_DF = 0.05, 60  # a word in more than this share of a window's docs (and > 60) makes no candidates


@dataclass(frozen=True)
class Doc:
    """What clustering needs to know about one article."""

    id: str
    title: str
    text: str = ""
    source: str = ""
    published: datetime | None = None


_TOKEN = re.compile(r"[^\W_]+(?:['’.,\-][^\W_]+)*")
_STOP = frozenset(ENGLISH_STOP_WORDS) | {"says", "said", "new", "just", "like", "report", "reports", "update"}


_STEMS: dict[str, str] = {}
_KINDS: dict[str, tuple[int, str, bool, bool]] = {}
_WORD = re.compile(r"\S+")
_NOT_NUM = re.compile(r"[^0-9a-z.\-]")
_DIGIT = re.compile(r"\d")


def _stem(w: str) -> str:
    out = _STEMS.get(w)
    if out is None:
        v = w.lower().replace("’", "'")
        if v.endswith("'s"):
            v = v[:-2]
        if len(v) > 4 and v.endswith("ies"):
            v = v[:-3] + "y"
        elif len(v) > 3 and v.endswith("s") and not v.endswith(("ss", "us", "is")):
            v = v[:-1]
        out = v
        if len(_STEMS) < 500_000:
            _STEMS[w] = v
    return out


def lead(text: str, words: int = LEAD_WORDS) -> str:
    """The first `words` words of `text`."""
    parts = text.split(maxsplit=words)
    return " ".join(parts[:words])


def _word_grams(title: str, body: str) -> list[str]:
    out = []
    get = _STEMS.get
    for part, reps in ((title, TITLE_TIMES), (body, 1)):
        kept = [t for t in (get(w) or _stem(w) for w in _TOKEN.findall(part)) if t not in _STOP]
        grams = kept + [a + " " + b for a, b in zip(kept, kept[1:])]
        out.extend(grams * reps)
    return out


def _kind(tok: str) -> tuple[int, str, bool, bool]:
    """(0 plain / 1 number / 2 acronym / 3 capitalised word, feature, ends a sentence, starts upper)."""
    got = _KINDS.get(tok)
    if got is None:
        core = tok.strip("\"'“”‘’()[]{}:;,.!?")
        up = core[:1].isupper()
        ends = tok.endswith((".", "!", "?", ":", '"', "”"))
        if not core:
            got = (0, "", ends, up)
        elif _DIGIT.search(core):
            got = (1, "#" + _NOT_NUM.sub("", core.lower()).strip(".-"), ends, up)
        elif len(core) > 1 and core.isupper():
            got = (2, "@" + _stem(core), ends, up)
        elif core[:1].isupper() and core.lower() not in _STOP:
            got = (3, "@" + _stem(core), ends, up)
        else:
            got = (0, "", ends, up)
        if len(_KINDS) < 500_000:
            _KINDS[tok] = got
    return got


def _names(title: str, body: str) -> list[str]:
    """Numbers and names: what coverage of one event shares."""
    out = []
    get = _KINDS.get
    for part, is_title in ((title, True), (body, False)):
        toks = [get(t) or _kind(t) for t in _WORD.findall(part)]
        # a headline in Title Case capitalises every word: its capitals say nothing
        titlecase = is_title and sum(1 for k in toks if k[3]) > 0.6 * max(len(toks), 1)
        prev_end = True
        for kind, feat, ends, _ in toks:
            if kind == 1 or kind == 2 or (kind == 3 and not prev_end and not titlecase):
                out.append(feat)
            prev_end = ends
    return out


def _char_counts(titles: Sequence[str]) -> csr_matrix:
    """char_wb 3-5 gram counts of the titles, computed once per distinct word (same as sklearn's char_wb)."""
    words = CountVectorizer(analyzer=str.split, lowercase=False)
    try:
        W = words.fit_transform([" ".join(t.lower().split()) for t in titles])
    except ValueError:  # no words at all
        return csr_matrix((len(titles), 0))
    grams = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False)
    return (W @ grams.fit_transform(words.get_feature_names_out())).tocsr()


def _tfidf(counts: csr_matrix) -> csr_matrix:
    if counts.shape[1] == 0:
        return counts.astype(np.float64)
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts)


def _window_share(times: np.ndarray, window_days: float) -> float:
    """Median share of the docs that fall within +- the window of a doc (1.0 when undated)."""
    t = np.sort(times[~np.isnan(times)])
    if len(t) < len(times) or len(t) == 0:
        return 1.0
    sample = t[:: max(1, len(t) // 1000)]
    inside = np.searchsorted(t, sample + window_days, "right") - np.searchsorted(t, sample - window_days, "left")
    return float(np.median(inside)) / len(t)


def featurize(docs: Sequence[Doc], window_days: float = 4) -> tuple[csr_matrix, csr_matrix]:
    """(X, R): weighted, L2-normalised TF-IDF rows; the rarer word/name columns, for finding candidates.

    IDF is fitted on all `docs` at once (the whole file, or the window of `assign()`).
    """
    n = len(docs)
    bodies = [lead(d.text, LEAD_WORDS) for d in docs]
    grams = [_word_grams(d.title, b) for d, b in zip(docs, bodies)]
    names = [_names(d.title, b) for d, b in zip(docs, bodies)]
    identity = dict(analyzer=lambda x: x, lowercase=False)
    Xw = _tfidf(_counts(grams, identity))
    Xc = _tfidf(_char_counts([d.title for d in docs]))
    Xn = _tfidf(_counts(names, identity))
    X = normalize(hstack([W_WORDS * Xw, W_CHARS * Xc, W_NAMES * Xn], format="csr"))
    B = hstack([Xw, Xn], format="csc")
    df = np.diff(B.indptr)
    cap = max(CAND_MIN_DF, CAND_MAX_DF * n * _window_share(times(docs), window_days))
    R = normalize(B[:, np.flatnonzero(df <= cap)].tocsr())
    return X, R


def _counts(items: list[list[str]], options: dict) -> csr_matrix:
    if not any(items):
        return csr_matrix((len(items), 0))
    return CountVectorizer(**options).fit_transform(items).tocsr()


def has_text(docs: Sequence[Doc]) -> np.ndarray:
    """True for each doc with at least TEXT_MIN_WORDS words of text besides its title."""
    return np.array([len(d.text.split(None, TEXT_MIN_WORDS)) >= TEXT_MIN_WORDS for d in docs], dtype=bool)


def times(docs: Sequence[Doc]) -> np.ndarray:
    """Publication times in days (NaN when unknown)."""
    out = np.full(len(docs), np.nan)
    for i, d in enumerate(docs):
        if d.published is not None:
            p = d.published if d.published.tzinfo else d.published.replace(tzinfo=timezone.utc)
            out[i] = p.timestamp() / 86400.0
    return out


def sources(docs: Sequence[Doc]) -> np.ndarray:
    names: dict[str, int] = {}
    return np.array([names.setdefault(d.source.strip().lower(), len(names)) if d.source.strip() else -1 for d in docs],
                    dtype=np.int64)
