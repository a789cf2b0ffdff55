"""Group articles from different outlets about the same event into stories.

Signals (monitor/features.py, background.py, embeddings.py; docs/clustering.md has the measurements
behind every constant): TF-IDF of words, title char n-grams and names/numbers, each term weighted by
the docs' IDF blended with an English background frequency (so five docs weigh a lab's name as well
as fifty thousand do); the cosine of static sentence embeddings (wordllama, offline), mixed in at
W_EMBED; and a bonus for each specific name or figure two docs share beyond the first EVIDENCE_FREE.
Pairs further apart in time than the window cannot link, and two articles of one outlet pay a
distance penalty unless nearly identical. A pair in which either doc is a bare headline is cut at
CUT_HEADLINES, other pairs at CUT.

Clustering is scipy average linkage cut at a distance, made to scale: features are fitted once per
call (char n-grams and embedding tokens once per distinct word); each doc's candidates are its
NEIGHBOURS nearest docs by cosine over the rarer words and names (rare for a window's worth of docs),
searched in time order against the docs of its window only; candidate pairs whose penalised
distance passes the cut form a graph, and each connected component is clustered alone (components
over MAX_COMPONENT docs in time slices). Time and memory grow with docs x window size, not docs
squared. Components of up to SMALL_GROUP docs get all their pair distances in one batch (tens of
thousands of small components are the common case); larger ones a dense matrix over only the
columns they use.

`cluster_docs()` is the clustering (deterministic, independent of input order). `cluster_lines()`
(`monitor cluster`) reads JSON lines into it, and with `explanations` collects explain.py's reasons.
`monitor run` re-clusters each run's window with `cluster_docs` (stories.py; story ids by identity.py).
`related()` finds similar other stories for "related stories" links.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import squareform

from monitor.dates import parse_datetime
from monitor.embeddings import DIM, centre, embed
from monitor.errors import ClusterError
from monitor.features import Batch, Doc, Parts, assemble, embedding_texts, featurize, has_text, sources
from monitor.features import doc_parts as features_doc_parts
from monitor.features import times as doc_times
from monitor.text import valid_utf8

__all__ = ["Batch", "Doc", "Parts", "cluster_docs", "cluster_lines", "doc_parts", "related"]

CUT = 0.55  # average-linkage distance cut (1 - mixed similarity) for articles with text; see docs/clustering.md
CUT_HEADLINES = 0.85  # ... and for pairs in which either doc is a bare headline (short texts are less similar)
SAME_SOURCE_PENALTY = 0.12  # added to the distance between two articles of one outlet ...
SAME_SOURCE_EXEMPT = 0.6  # ... unless they are at least this similar
TIME_PENALTY = 0.08  # added distance at a gap of one full window (linear in the gap)
MAX_COMPONENT = 1000  # a larger component is clustered in time-ordered slices of this size
NEIGHBOURS = 20  # candidate neighbours kept per doc
CAND_FLOOR = 0.05  # ... with at least this rare-word cosine
CENTRE_PRIOR = 3000.0  # the docs' mean embedding is removed x n / (n + this) (embeddings.centre); < 0: never
W_EMBED = 0.7  # share of the embedding cosine (embeddings.py) in a pair's similarity
# similarity added per specific name/figure shared beyond the first EVIDENCE_FREE, at most EVIDENCE_MAX
EVIDENCE, EVIDENCE_MAX, EVIDENCE_FREE = 0.15, 0.3, 2
SMALL_GROUP = 40  # groups up to this size get their pair distances in one batch; larger ones a dense matrix


def _penalise(sim: np.ndarray, ti, tj, si, sj, fi, fj, window_days: float) -> np.ndarray:
    """Distances from similarities, with the time, same-outlet and headline-only rules applied.

    `fi`, `fj` are the docs' distance factors (`_factors`): a pair in which either doc is a bare
    headline has its distance scaled by CUT / CUT_HEADLINES, i.e. it is cut at CUT_HEADLINES.
    """
    gap = np.abs(ti - tj)
    far = gap > window_days  # False when a time is unknown (NaN)
    gap = np.nan_to_num(gap, nan=0.0, copy=False)
    np.minimum(gap, window_days, out=gap)
    dist = 1.0 - sim
    dist += (TIME_PENALTY / window_days) * gap
    dist[far] = 1.0 + TIME_PENALTY
    same = (si == sj) & (si >= 0) & (sim < SAME_SOURCE_EXEMPT)
    dist[same] += SAME_SOURCE_PENALTY
    dist *= np.minimum(fi, fj)
    np.clip(dist, 0.0, None, out=dist)
    return dist


def _candidates(R: csr_matrix, times: np.ndarray, window_days: float, rows: np.ndarray | None = None,
                chunk: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j): each row's NEIGHBOURS nearest docs by rare-word cosine, within the window.

    Rows are taken in time order, `chunk` at a time, each against the docs of its time span +- the
    window (undated docs are compared with everything), so the cost grows with docs x window size.
    """
    n = R.shape[0]
    key = np.where(np.isnan(times), np.inf, times)
    order = np.argsort(key, kind="stable")
    sorted_t = key[order]
    n_dated = int(np.count_nonzero(np.isfinite(sorted_t)))
    undated = order[n_dated:]
    want = order if rows is None else order[np.isin(order, rows)]
    out_i, out_j = [], []
    for s in range(0, len(want), chunk):
        block = want[s : s + chunk]
        bt = key[block]
        fin = bt[np.isfinite(bt)]
        if len(fin) < len(block):
            cols = order
        else:
            lo = np.searchsorted(sorted_t[:n_dated], fin.min() - window_days, "left")
            hi = np.searchsorted(sorted_t[:n_dated], fin.max() + window_days, "right")
            cols = np.concatenate([order[lo:hi], undated])
        S = (R[block] @ R[cols].T).tocsr()
        S.data[S.data < CAND_FLOOR] = 0.0
        S.eliminate_zeros()
        S = S.tocoo()
        r, c, v = block[S.row], cols[S.col], S.data
        gap = np.abs(times[r] - times[c])
        ok = (r != c) & ~(gap > window_days)
        r, c, v = r[ok], c[ok], v[ok]
        o = np.lexsort((-v, r))
        r, c = r[o], c[o]
        first = np.r_[0, np.flatnonzero(np.diff(r)) + 1]
        rank = np.arange(len(r)) - np.repeat(first, np.diff(np.r_[first, len(r)]))
        top = rank < NEIGHBOURS
        out_i.append(r[top])
        out_j.append(c[top])
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    a, b = np.concatenate(out_i), np.concatenate(out_j)
    lo, hi = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    code = np.unique(lo * n + hi)
    return code // n, code % n


@dataclasses.dataclass(frozen=True)
class _Signals:
    """What the similarity of two docs is made of: the sparse TF-IDF rows X and the embedding rows E
    (None: word features alone), mixed as (1 - w) x cosine(X) + w x cosine(E)."""

    X: csr_matrix
    E: np.ndarray | None = None
    w: float = 0.0
    K: csr_matrix | None = None  # specific names and figures (features.featurize): shared ones add EVIDENCE each

    def _evidence(self, shared: np.ndarray) -> np.ndarray:
        """Similarity added for `shared` specific names/figures in common: the first EVIDENCE_FREE are free
        (an organisation's name and its city are shared by all its news), each further one adds EVIDENCE,
        up to EVIDENCE_MAX in all."""
        return np.minimum(np.maximum(shared - EVIDENCE_FREE, 0.0) * EVIDENCE, EVIDENCE_MAX)

    def pairs(self, I: np.ndarray, J: np.ndarray, batch: int = 50000) -> np.ndarray:
        out = np.empty(len(I))
        for s in range(0, len(I), batch):
            i, j = I[s : s + batch], J[s : s + batch]
            sim = np.asarray(self.X[i].multiply(self.X[j]).sum(axis=1)).ravel()
            if self.E is not None:
                sim = (1.0 - self.w) * sim + self.w * np.einsum("ij,ij->i", self.E[i], self.E[j], dtype=np.float64)
            if self.K is not None and EVIDENCE > 0:
                sim = sim + self._evidence(np.asarray(self.K[i].multiply(self.K[j]).sum(axis=1), dtype=np.float64).ravel())
            out[s : s + batch] = sim
        return out

    def block(self, idx: np.ndarray) -> np.ndarray:
        """Full similarity matrix of the docs `idx`."""
        Xc = self.X[idx]
        # only the columns these docs use: a transpose over all of X's columns costs that much per group
        cols, inv = np.unique(Xc.indices, return_inverse=True)
        Xc = csr_matrix((Xc.data, inv.ravel().astype(Xc.indices.dtype), Xc.indptr), shape=(len(idx), len(cols)))
        sim = (Xc @ Xc.T).toarray()
        if self.E is not None:
            Ec = self.E[idx]
            sim *= 1.0 - self.w
            sim += self.w * (Ec @ Ec.T)
        if self.K is not None and EVIDENCE > 0:
            Kc = self.K[idx]
            sim += self._evidence((Kc @ Kc.T).toarray().astype(np.float64))
        return sim


def _linkage_labels(cond: np.ndarray, size: int, cut: float) -> np.ndarray:
    """Flat clusters (1..k, numbered in doc order) of `size` docs from their condensed distances (scipy's
    pair order): average linkage cut at `cut`, as fcluster(criterion="distance") cuts it."""
    if size == 1:
        return np.ones(1, dtype=int)
    if size == 2:
        return np.array([1, 1]) if cond[0] <= cut else np.array([1, 2])
    z = linkage(cond, method="average")
    # average linkage never merges below an earlier merge, so a merge at or under the cut has only such
    # merges beneath it: walk down from the top, handing each such merge's cluster to its two parts
    # (fcluster's validation of z cost more than the clustering of a small group)
    owner = list(range(2 * size - 1))
    for k in range(size - 2, -1, -1):
        if z[k, 2] <= cut:
            top = owner[size + k]
            owner[int(z[k, 0])] = top
            owner[int(z[k, 1])] = top
    number: dict[int, int] = {}
    return np.array([number.setdefault(owner[i], len(number) + 1) for i in range(size)])


def _dense_dist(sig: _Signals, idx: np.ndarray, times, src, fac, window_days: float) -> np.ndarray:
    sim = sig.block(idx)
    t, s, f = times[idx], src[idx], fac[idx]
    dist = _penalise(sim, t[:, None], t[None, :], s[:, None], s[None, :], f[:, None], f[None, :], window_days)
    np.fill_diagonal(dist, 0.0)
    return squareform(np.minimum(dist, dist.T), checks=False)


_TRIU: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each pair (i < j) of `size` items, in scipy's condensed order."""
    if size not in _TRIU:
        _TRIU[size] = np.triu_indices(size, 1)
    return _TRIU[size]


def _group_dists(sig: _Signals, groups: list[np.ndarray], times, src, fac, window_days: float,
                 small: int = SMALL_GROUP) -> list[np.ndarray]:
    """Condensed distance vector of each group (sorted doc positions). Groups up to `small` docs are done
    together: all their pairs at once, so a few thousand groups cost a few array operations."""
    out: list = [None] * len(groups)
    by_size: dict[int, list[int]] = {}
    for k, g in enumerate(groups):
        if len(g) > small:
            out[k] = _dense_dist(sig, g, times, src, fac, window_days)
        else:
            by_size.setdefault(len(g), []).append(k)
    for size, ks in by_size.items():
        if size == 1:
            for k in ks:
                out[k] = np.zeros(0)
            continue
        a, b = _triu(size)
        G = np.stack([groups[k] for k in ks])
        I, J = G[:, a].ravel(), G[:, b].ravel()
        sims = sig.pairs(I, J)
        dist = _penalise(sims, times[I], times[J], src[I], src[J], fac[I], fac[J], window_days)
        for row, k in zip(dist.reshape(len(ks), len(a)), ks):
            out[k] = row
    return out


def _factors(docs: Sequence[Doc]) -> np.ndarray:
    """Per-doc distance factor: 1.0 for an article with text, CUT / CUT_HEADLINES for a bare headline."""
    return np.where(has_text(docs), 1.0, CUT / CUT_HEADLINES)


def _components(n: int, I: np.ndarray, J: np.ndarray) -> list[np.ndarray]:
    graph = csr_matrix((np.ones(len(I)), (I, J)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    order = np.argsort(comp, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(comp[order])) + 1)


def _edges(sig: _Signals, R, times, src, fac, window_days, cut, rows=None):
    I, J = _candidates(R, times, window_days, rows)
    sims = sig.pairs(I, J)
    dist = _penalise(sims, times[I], times[J], src[I], src[J], fac[I], fac[J], window_days)
    keep = dist <= cut
    return I[keep], J[keep]


def signals(docs: Sequence[Doc], window_days: float = 4, parts: Sequence[Parts] | Batch | None = None) -> tuple[_Signals, csr_matrix]:
    """The docs' similarity signals and the rare-word rows that find candidates (fitted on `docs`).

    With `parts` (`doc_parts(docs)`, e.g. kept from earlier runs) nothing is tokenised or embedded again:
    the same signals, made from them."""
    if parts is None:
        X, R, K = featurize(docs, window_days)
        E = embed(embedding_texts(docs)) if W_EMBED > 0 else None
    else:
        batch = parts if isinstance(parts, Batch) else Batch.from_parts(parts)
        X, R, K = assemble(batch, doc_times(docs), window_days)
        E = None
        if W_EMBED > 0:
            E = np.zeros((len(batch), DIM), dtype=np.float32)
            if batch.embeddings is not None:
                E[batch.has_embedding] = batch.embeddings[batch.has_embedding]
            missing = np.flatnonzero(~batch.has_embedding).tolist()
            if missing:  # a row depends on its text alone (embeddings.embed), so a batch of the missing ones will do
                E[missing] = embed(embedding_texts([docs[i] for i in missing]))
    if E is not None:
        E = centre(E, CENTRE_PRIOR)
    return _Signals(X, E, W_EMBED, K), R


def doc_parts(docs: Sequence[Doc]) -> list[Parts]:
    """What each doc says on its own (features.Parts with its embedding row): keep them to cluster the
    doc again in later windows without tokenising or embedding it again."""
    parts = features_doc_parts(docs)
    if W_EMBED > 0 and docs:
        parts = [dataclasses.replace(p, embedding=e) for p, e in zip(parts, embed(embedding_texts(docs)))]
    return parts


def canonical_order(docs: Sequence[Doc]) -> np.ndarray:
    """Positions of `docs` sorted by (time, title, text, outlet, id): clustering in this order makes the
    partition independent of the order the docs were given in."""
    def key(i: int):
        d = docs[i]
        t = d.published.timestamp() if d.published is not None else math.inf
        return (t, d.title, d.text, d.source, d.id)

    return np.array(sorted(range(len(docs)), key=key), dtype=np.int64)


def cluster_docs(docs: Sequence[Doc], *, window_days: float = 4, cut: float | None = None,
                 parts: Sequence[Parts] | Batch | None = None) -> np.ndarray:
    """Cluster labels (0..k-1) of `docs`: the same label means the same event.

    Deterministic and independent of the input order (the docs are clustered in `canonical_order`);
    labels are numbered in the input order of each cluster's first doc. `cut` moves the text cut and
    the headline cut by the same ratio. `parts` (one per doc, from `doc_parts`) give the same labels
    faster.
    """
    n = len(docs)
    if n == 0:
        return np.zeros(0, dtype=int)
    order = canonical_order(docs)
    docs = [docs[i] for i in order]
    if parts is not None:
        parts = parts.take(order) if isinstance(parts, Batch) else [parts[i] for i in order]
    cut = CUT if cut is None else cut
    sig, R = signals(docs, window_days, parts)
    times, src = doc_times(docs), sources(docs)
    fac = _factors(docs) * (CUT / cut)
    I, J = _edges(sig, R, times, src, fac, window_days, CUT)
    pieces = []
    for group in _components(n, I, J):
        if len(group) > MAX_COMPONENT:  # pathological chaining: slice by time
            key = np.where(np.isnan(times[group]), np.inf, times[group])
            group = group[np.argsort(key, kind="stable")]
            pieces.extend(group[s : s + MAX_COMPONENT] for s in range(0, len(group), MAX_COMPONENT))
        else:
            pieces.append(group)
    sorted_labels = np.empty(n, dtype=int)
    next_label = 0
    for piece, cond in zip(pieces, _group_dists(sig, pieces, times, src, fac, window_days)):
        sub = _linkage_labels(cond, len(piece), CUT)
        sorted_labels[piece] = sub - 1 + next_label
        next_label += int(sub.max())
    labels = np.empty(n, dtype=int)
    labels[order] = sorted_labels
    number: dict[int, int] = {}
    return np.array([number.setdefault(lab, len(number)) for lab in labels.tolist()], dtype=int)


def _parse_time(value) -> datetime | None:
    """ISO 8601, RFC 822 (as in RSS) or epoch seconds; None when absent or unreadable (the item then joins
    stories on content alone)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_datetime(value)


def _parse_line(line: str, lineno: int) -> tuple[object, Doc]:
    """(the id as given, the Doc). Only invalid JSON and a missing id are errors: an item with no title or
    text still gets a line of output (a story of its own)."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ClusterError(f"line {lineno}: not valid JSON ({e.msg})") from e
    except ValueError as e:  # a number of more than 4,300 digits
        raise ClusterError(f"line {lineno}: not usable JSON ({str(e)[:160]})") from e
    except RecursionError as e:
        raise ClusterError(f"line {lineno}: not usable JSON (nested too deeply)") from e
    if not isinstance(obj, dict):
        raise ClusterError(f"line {lineno}: expected a JSON object")
    ident = obj.get("id")
    if ident is None or isinstance(ident, (dict, list, bool)) or (isinstance(ident, float) and not math.isfinite(ident)):
        raise ClusterError(f"line {lineno}: missing or invalid 'id'")
    if isinstance(ident, str) and not valid_utf8(ident):
        raise ClusterError(f"line {lineno}: 'id' is not valid Unicode (a lone surrogate such as \\ud800)")
    title, text, source = (_string(obj.get(k)) for k in ("title", "text", "source"))
    return ident, Doc(id=str(ident), title=title, text=text, source=source, published=_parse_time(obj.get("published")))


def _string(value) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _decoded(lines: Iterable[str]) -> Iterator[str]:
    """The lines, with a decoding error (the file is not UTF-8) as a ClusterError naming the line."""
    it, lineno = iter(lines), 0
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except UnicodeDecodeError as e:
            # text files decode a block at a time: the bad byte is at or after this line
            raise ClusterError(f"line {lineno + 1} or after: not valid UTF-8 ({e.reason})") from e
        lineno += 1
        yield line


def cluster_lines(lines: Iterable[str], *, window_days: float = 4, explanations: list | None = None) -> Iterator[str]:
    """`monitor cluster`: JSON lines in, one {"id", "story"} line out per input line, in input order.

    All articles are clustered in one pass (`cluster_docs`: features fitted once on the whole file;
    links only within `window_days`). Story numbers start at 1 and follow the input order of each
    story's first article. With `explanations` (a list), one `explain.Explanation` per story of two or
    more articles is appended to it before the first line is yielded (`monitor cluster --explain`).
    """
    docs: list[Doc] = []
    raw_ids: list = []
    for lineno, line in enumerate(_decoded(lines), 1):
        if not line.strip():
            continue
        ident, doc = _parse_line(line, lineno)
        raw_ids.append(ident)
        docs.append(dataclasses.replace(doc, id=str(len(docs))))  # positions: ids given twice stay two items
    labels = cluster_docs(docs, window_days=window_days)  # numbered in input order of first articles
    if explanations is not None:
        from monitor.explain import explain

        explanations.extend(explain(docs, labels, raw_ids))
    for rid, lab in zip(raw_ids, labels.tolist()):
        yield json.dumps({"id": rid, "story": lab + 1}, ensure_ascii=False)


def related(stories: Sequence[tuple[int, str]], *, top: int = 3, floor: float = 0.2,
            parts: Sequence[Parts] | Batch | None = None, changed: Iterable[int] | None = None) -> dict[int, tuple[int, ...]]:
    """For each story id, up to `top` most similar other stories with cosine >= `floor`.

    `parts` (one per story, `doc_parts` of Doc(id, title=text)) save tokenising the texts again. With
    `changed` (story ids), only those stories get an answer, the same answer as without it: their
    candidates are found among all the stories, in both directions (a story is a candidate of another
    when it is among that one's nearest), but the other stories' rows are compared only where they
    could name a changed story.
    """
    if len(stories) < 2:
        return {sid: () for sid, _ in stories if changed is None or sid in set(changed)}
    times = np.full(len(stories), np.nan)
    X, R, _ = featurize([Doc(id=str(sid), title=text) for sid, text in stories]) if parts is None else assemble(parts, times)
    wanted = None
    if changed is not None:
        ids = set(changed)
        wanted = np.array([i for i, (sid, _) in enumerate(stories) if sid in ids], dtype=np.int64)
        near = (R[wanted] @ R.T).tocsr() if len(wanted) else csr_matrix((0, len(stories)))
        near.data[near.data < CAND_FLOOR] = 0.0
        near.eliminate_zeros()
        rows = np.union1d(wanted, near.indices)  # the stories whose nearest can include a changed one
        I, J = _candidates(R, times, 1.0, rows)
        mine = np.isin(I, wanted) | np.isin(J, wanted)
        I, J = I[mine], J[mine]
    else:
        I, J = _candidates(R, times, 1.0)
    sims = _Signals(X).pairs(I, J)
    best: dict[int, list[tuple[float, int]]] = {}  # only the stories with a pair (not a list for each of ~14,000)
    for i, j, s in zip(I.tolist(), J.tolist(), sims.tolist()):
        if s >= floor and not math.isnan(s):
            best.setdefault(i, []).append((s, j))
            best.setdefault(j, []).append((s, i))
    out = {}
    for i in (range(len(stories)) if wanted is None else wanted.tolist()):
        ranked = sorted(best.get(i, ()), key=lambda x: (-x[0], stories[x[1]][0]))
        out[stories[i][0]] = tuple(stories[j][0] for _, j in ranked[:top])
    return out
