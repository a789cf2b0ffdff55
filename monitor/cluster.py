"""Group articles from different outlets about the same event into stories.

Features (see docs/clustering.md for the measurements behind them): TF-IDF of word 1-2 grams over
the title (counted twice) and the lead (first ~150 words), TF-IDF of char_wb 3-5 grams of the title,
and a block of "what coverage of one event shares": numbers and names. Blocks are weighted, joined
and L2-normalised; similarity is cosine. Pairs further apart in time than the window cannot link,
and two articles of one outlet pay a distance penalty unless nearly identical.

Clustering is scipy average linkage cut at a distance, made to scale by blocking: candidate pairs
share a rare word or name; pairs whose (penalised) similarity passes the cut form a graph whose
connected components are clustered separately. Average linkage never merges two groups without one
pair closer than the cut, so this gives the same clusters as one big linkage while memory and time
stay about linear (only components are squared).

`assign()` is incremental: new docs are clustered with the existing docs of the time window; a new
doc joins the existing story its cluster mostly holds, else opens a new story. Existing docs never
move. `cluster_lines()` (the `monitor cluster` command) feeds a JSON-lines file through `assign()`
in time order; `related()` finds similar other stories for "related stories" links.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import csr_matrix, hstack, triu
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

from monitor.errors import ClusterError

CUT = 0.75  # average-linkage distance cut (1 - cosine); tuned on benchmarks, see docs/clustering.md
SAME_SOURCE_PENALTY = 0.12  # added to the distance between two articles of one outlet ...
SAME_SOURCE_EXEMPT = 0.6  # ... unless they are at least this similar
TIME_PENALTY = 0.08  # added distance at a gap of one full window (linear in the gap)
MAX_COMPONENT = 3000  # a larger component is clustered in time-ordered slices of this size
CHUNK = 2000  # new docs per assign() call in cluster_lines
MAX_EXISTING = 6000  # existing docs considered per assign() call in cluster_lines
LEAD_WORDS = 150  # events are told in the lead
W_WORDS, W_CHARS, W_NAMES = 1.0, 0.8, 0.9  # block weights
BLOCK_MAX_DF = 0.05  # a word in more than this share of docs (and > 30 docs) does not make candidates


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


def _stem(w: str) -> str:
    w = w.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def lead(text: str, words: int = LEAD_WORDS) -> str:
    """The first `words` words of `text`."""
    parts = text.split(maxsplit=words)
    return " ".join(parts[:words])


def _word_grams(doc: Doc) -> list[str]:
    out = []
    for part in (doc.title, doc.title, lead(doc.text)):
        toks = [_stem(t) for t in _TOKEN.findall(part)]
        kept = [t for t in toks if t not in _STOP]
        out.extend(kept)
        out.extend(a + " " + b for a, b in zip(kept, kept[1:]))
    return out


def _names(doc: Doc) -> list[str]:
    """Numbers and names: what coverage of one event shares."""
    out = []
    for part, is_title in ((doc.title, True), (lead(doc.text), False)):
        raw = _TOKEN.findall(part)
        caps = sum(1 for t in raw if t[:1].isupper())
        titlecase = is_title and caps > 0.6 * max(len(raw), 1)
        prev_end = True
        for m in re.finditer(r"\S+", part):
            tok = m.group(0)
            core = tok.strip("\"'“”‘’()[]{}:;,.!?")
            if core:
                if any(c.isdigit() for c in core):
                    out.append("#" + re.sub(r"[^0-9a-z.\-]", "", core.lower()).strip(".-"))
                elif len(core) > 1 and core.isupper():
                    out.append("@" + _stem(core))
                elif core[:1].isupper() and not prev_end and not titlecase and core.lower() not in _STOP:
                    out.append("@" + _stem(core))
            prev_end = tok.endswith((".", "!", "?", ":", '"', "”"))
    return out


def _featurize(docs: Sequence[Doc]) -> tuple[csr_matrix, csr_matrix]:
    """(X, B): weighted, L2-normalised TF-IDF rows; binary rare word/name indicators for blocking."""
    grams = [_word_grams(d) for d in docs]
    names = [_names(d) for d in docs]
    blocks = []
    wv = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True)
    Xw = wv.fit_transform(grams)
    blocks.append(W_WORDS * Xw)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
    blocks.append(W_CHARS * cv.fit_transform([d.title for d in docs]))
    if any(names):
        nv = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True)
        blocks.append(W_NAMES * nv.fit_transform(names))
        Xn = nv.transform(names)
    else:
        Xn = None
    X = normalize(hstack(blocks, format="csr"))
    # blocking: unigram words (no bigrams) and names, frequent ones dropped
    uni = np.array([" " not in t for t in wv.get_feature_names_out()])
    Bw = (Xw[:, np.flatnonzero(uni)] > 0).astype(np.float32)
    B = hstack([Bw, (Xn > 0).astype(np.float32)], format="csc") if Xn is not None else Bw.tocsc()
    df = np.diff(B.indptr)
    cap = max(30, BLOCK_MAX_DF * len(docs))
    B = B[:, np.flatnonzero(df <= cap)].tocsr()
    return X, B


def _times(docs: Sequence[Doc]) -> np.ndarray:
    """Publication times in days (NaN when unknown)."""
    out = np.full(len(docs), np.nan)
    for i, d in enumerate(docs):
        if d.published is not None:
            p = d.published if d.published.tzinfo else d.published.replace(tzinfo=timezone.utc)
            out[i] = p.timestamp() / 86400.0
    return out


def _penalise(sim: np.ndarray, ti, tj, si, sj, window_days: float) -> np.ndarray:
    """Distances from similarities, with the time and same-outlet rules applied."""
    dist = 1.0 - sim
    gap = np.abs(ti - tj)
    known = ~np.isnan(gap)
    g = np.where(known, gap, 0.0)
    dist = dist + TIME_PENALTY * np.minimum(g / window_days, 1.0)
    dist = np.where(known & (g > window_days), 1.0 + TIME_PENALTY, dist)
    same = (si == sj) & (si >= 0) & (sim < SAME_SOURCE_EXEMPT)
    dist = np.where(same, dist + SAME_SOURCE_PENALTY, dist)
    return np.clip(dist, 0.0, None)


def _pair_sims(X: csr_matrix, I: np.ndarray, J: np.ndarray, batch: int = 50000) -> np.ndarray:
    out = np.empty(len(I))
    for s in range(0, len(I), batch):
        a, b = X[I[s : s + batch]], X[J[s : s + batch]]
        out[s : s + batch] = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return out


def _link(X: csr_matrix, idx: np.ndarray, times, src, window_days: float, cut: float) -> np.ndarray:
    """Average-linkage labels (1..k) for the docs `idx` of one component."""
    if len(idx) == 1:
        return np.ones(1, dtype=int)
    Xc = X[idx]
    sim = (Xc @ Xc.T).toarray()
    t, s = times[idx], src[idx]
    dist = _penalise(sim, t[:, None], t[None, :], s[:, None], s[None, :], window_days)
    np.fill_diagonal(dist, 0.0)
    dist = np.minimum(dist, dist.T)
    z = linkage(squareform(dist, checks=False), method="average")
    return fcluster(z, t=cut, criterion="distance")


def cluster_docs(docs: Sequence[Doc], *, window_days: float = 4, cut: float | None = None) -> np.ndarray:
    """Cluster labels (0..k-1) of `docs`: the same label means the same event."""
    cut = CUT if cut is None else cut
    n = len(docs)
    if n == 0:
        return np.zeros(0, dtype=int)
    X, B = _featurize(docs)
    times = _times(docs)
    names: dict[str, int] = {}
    src = np.array([names.setdefault(d.source.strip().lower(), len(names)) if d.source.strip() else -1 for d in docs])
    # candidate pairs: sharing a rare word or name
    C = triu(B @ B.T, k=1).tocoo()
    I, J = C.row.astype(np.int64), C.col.astype(np.int64)
    gap = np.abs(times[I] - times[J])
    keep = ~(gap > window_days)  # NaN (unknown time) keeps the pair
    I, J = I[keep], J[keep]
    sims = _pair_sims(X, I, J)
    dist = _penalise(sims, times[I], times[J], src[I], src[J], window_days)
    edge = dist <= cut
    graph = csr_matrix((np.ones(int(edge.sum())), (I[edge], J[edge])), shape=(n, n))
    ncomp, comp = connected_components(graph, directed=False)
    labels = np.empty(n, dtype=int)
    next_label = 0
    order = np.argsort(comp, kind="stable")
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    for group in np.split(order, bounds):
        if len(group) > MAX_COMPONENT:  # pathological chaining: slice by time
            key = np.where(np.isnan(times[group]), np.inf, times[group])
            group = group[np.argsort(key, kind="stable")]
            pieces = [group[s : s + MAX_COMPONENT] for s in range(0, len(group), MAX_COMPONENT)]
        else:
            pieces = [group]
        for piece in pieces:
            sub = _link(X, piece, times, src, window_days, cut)
            labels[piece] = sub - 1 + next_label
            next_label += int(sub.max())
    return labels


def assign(new: Sequence[Doc], existing: Sequence[tuple[Doc, int]], *, window_days: float = 4) -> dict[str, int | str]:
    """Story of each new doc: an existing story id (int) it joins, or a label (str) for a new story.

    New docs with the same label form one new story. Only existing docs within `window_days` of the
    new docs' time span are considered (all of them when times are unknown).
    """
    if not new:
        return {}
    nt = [d.published.timestamp() for d in new if d.published is not None]
    lo, hi = (min(nt), max(nt)) if nt else (None, None)
    span = window_days * 86400.0
    window = []
    for doc, story in existing:
        if lo is not None and doc.published is not None:
            ts = doc.published.timestamp()
            if ts < lo - span or ts > hi + span:
                continue
        window.append((doc, story))
    docs = [d for d, _ in window] + list(new)
    labels = cluster_docs(docs, window_days=window_days)
    held: dict[int, Counter] = {}
    for (_, story), lab in zip(window, labels[: len(window)]):
        held.setdefault(int(lab), Counter())[story] += 1
    out: dict[str, int | str] = {}
    opened: dict[int, str] = {}
    for doc, lab in zip(new, labels[len(window) :]):
        counts = held.get(int(lab))
        if counts:
            top = max(counts.values())
            out[doc.id] = min(s for s, c in counts.items() if c == top)
        else:
            out[doc.id] = opened.setdefault(int(lab), f"new-{doc.id}")
    return out


def _parse_time(value, lineno: int) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ClusterError(f"line {lineno}: 'published' must be an ISO 8601 string")
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise ClusterError(f"line {lineno}: bad 'published' value {value!r}") from e
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _parse_line(line: str, lineno: int) -> Doc:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ClusterError(f"line {lineno}: not valid JSON ({e.msg})") from e
    if not isinstance(obj, dict):
        raise ClusterError(f"line {lineno}: expected a JSON object")
    ident = obj.get("id")
    if ident is None or isinstance(ident, (dict, list, bool)):
        raise ClusterError(f"line {lineno}: missing or invalid 'id'")
    title = obj.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ClusterError(f"line {lineno}: missing or empty 'title'")
    text, source = obj.get("text") or "", obj.get("source") or ""
    if not isinstance(text, str) or not isinstance(source, str):
        raise ClusterError(f"line {lineno}: 'text' and 'source' must be strings")
    return Doc(id=str(ident), title=title, text=text, source=source, published=_parse_time(obj.get("published"), lineno))


def cluster_lines(lines: Iterable[str], *, window_days: float = 4) -> Iterator[str]:
    """`monitor cluster`: JSON lines in, one {"id", "story"} line out per input line, in input order.

    Articles are fed through `assign()` in time order (undated ones last), CHUNK at a time, each
    chunk with the already-labelled articles of its window, so the result is what `monitor run`
    would have built had it seen the articles arrive.
    """
    docs: list[Doc] = []
    raw_ids: list = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        doc = _parse_line(line, lineno)
        if doc.id in seen:
            raise ClusterError(f"line {lineno}: duplicate id {doc.id!r}")
        seen.add(doc.id)
        docs.append(doc)
        raw_ids.append(json.loads(line)["id"])
    order = sorted(range(len(docs)), key=lambda i: (docs[i].published is None, docs[i].published or 0, i))
    story_of: dict[str, int] = {}
    done: list[tuple[Doc, int]] = []
    next_id = 1
    for s in range(0, len(order), CHUNK):
        chunk = [docs[i] for i in order[s : s + CHUNK]]
        existing = done[-MAX_EXISTING:]
        result = assign(chunk, existing, window_days=window_days)
        opened: dict[str, int] = {}
        for d in chunk:
            r = result[d.id]
            if isinstance(r, str):
                if r not in opened:
                    opened[r] = next_id
                    next_id += 1
                r = opened[r]
            story_of[d.id] = r
            done.append((d, r))
    for d, rid in zip(docs, raw_ids):
        yield json.dumps({"id": rid, "story": story_of[d.id]}, ensure_ascii=False)


def related(stories: Sequence[tuple[int, str]], *, top: int = 3, floor: float = 0.2) -> dict[int, tuple[int, ...]]:
    """For each story id, up to `top` most similar other stories with cosine >= `floor`."""
    if len(stories) < 2:
        return {sid: () for sid, _ in stories}
    docs = [Doc(id=str(sid), title=text) for sid, text in stories]
    X, B = _featurize(docs)
    C = triu(B @ B.T, k=1).tocoo()
    I, J = C.row.astype(np.int64), C.col.astype(np.int64)
    sims = _pair_sims(X, I, J)
    best: dict[int, list[tuple[float, int]]] = {i: [] for i in range(len(stories))}
    for i, j, s in zip(I.tolist(), J.tolist(), sims.tolist()):
        if s >= floor and not math.isnan(s):
            best[i].append((s, j))
            best[j].append((s, i))
    out = {}
    for i, (sid, _) in enumerate(stories):
        ranked = sorted(best[i], key=lambda x: (-x[0], stories[x[1]][0]))
        out[sid] = tuple(stories[j][0] for _, j in ranked[:top])
    return out
