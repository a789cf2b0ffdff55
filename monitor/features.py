"""Features for story clustering: what each article says, as weighted sparse vectors.

`featurize(docs)` gives three matrices. X: the weighted, L2-normalised join of three blocks (word
1-2 grams of the title, counted TITLE_TIMES times, and of the lead; char_wb 3-5 grams of the title;
numbers, names, two-word names and multiples), whose row products are cosine similarities. Word and
name weights are sublinear TF x a blend of the docs' own IDF and the background weight of
monitor/background.py (BG_WORDS, BG_NAMES), so they mean the same in a window of 5 docs as of
50,000. R: the rarer word and name columns alone, used only to find candidate neighbours. K: 0/1
columns of the specific names and figures (two-word names, multiples, numbers that are not years or
small counts), whose row products count what two docs share. Also here: the article record `Doc`,
what the embedding reads of each doc, and the publication times and outlet ids that the distance
rules need. Weights and sizes are module constants so that benchmarks/cluster_eval.py can try
others; the measurements behind them are in docs/clustering.md.

Speed: tokens are mapped to ids once per distinct token (a C-level map over a dict) and counted with
numpy, never as per-doc lists of gram strings; the matrices are the ones CountVectorizer would give
(same columns in the same order, tests/test_cluster.py checks it).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import chain

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import normalize

from monitor import background

LEAD_WORDS = 150  # events are told in the lead
TITLE_TIMES = 2  # the title's word grams are counted this many times (the lead's once)
W_WORDS, W_CHARS, W_NAMES = 1.0, 0.8, 0.9  # block weights
TEXT_MIN_WORDS = 8  # a doc with fewer words of text is treated as a bare headline
BG_WORDS, BG_NAMES = 0.5, 0.5  # share of the background weight (background.py) in a word's / name's weight
EMBED_WORDS = 60  # the embedding reads the title and this many words of the text
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


class _Ids(dict):
    """token -> id, computed by `make` on first sight (so a C-level map() over tokens does the look-ups)."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


def _token_ids(parts: Sequence[str], split, ids: _Ids, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(id of every token of every part, in order; number of tokens per part). Parts are split a chunk at a
    time, so only one chunk's token strings exist at once."""
    out, lens = [], []
    for s in range(0, len(parts), chunk):
        toks = list(map(split, parts[s : s + chunk]))
        lens.append(np.fromiter(map(len, toks), dtype=np.int64, count=len(toks)))
        out.append(np.fromiter(map(ids.__getitem__, chain.from_iterable(toks)), dtype=np.int64))
    if not out:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out), np.concatenate(lens)


def _alphabetical_rank(strings: list[str]) -> np.ndarray:
    """rank[i] = position of strings[i] in sorted order (the column order CountVectorizer gives)."""
    order = sorted(range(len(strings)), key=strings.__getitem__)
    rank = np.empty(len(strings), dtype=np.int64)
    rank[order] = np.arange(len(strings))
    return rank


def _count_matrix(n: int, doc: np.ndarray, code: np.ndarray, weight) -> tuple[csr_matrix, np.ndarray]:
    """Counts per (doc, feature code), columns in increasing code order, only codes that occur; and the codes."""
    cols, col = np.unique(code, return_inverse=True)
    del code
    w = np.asarray(weight, dtype=np.int32)
    if w.ndim == 0:
        w = np.full(len(col), w, dtype=np.int32)
    counts = csr_matrix((w, (doc.astype(np.int32), col.ravel().astype(np.int32))), shape=(n, len(cols)), dtype=np.int32)
    counts.sum_duplicates()
    counts.eliminate_zeros()
    return counts, cols


def _word_counts(titles: Sequence[str], bodies: Sequence[str], *, labels: bool = False):
    """Counts of stemmed word 1-2 grams without stop words; the title's counted TITLE_TIMES times; and
    each column's background weight (background.py: a gram weighs as its rarer word).

    The same matrix as CountVectorizer over per-doc lists of "stem" and "stem stem" strings, made
    without those strings: a bigram's column is ordered by (rank of its first stem, rank of its
    second), a unigram's by (its rank, before any bigram starting with it), which is their
    alphabetical order because stems hold no character below the space.
    """
    n = len(titles)
    stems: dict[str, int] = {}

    def make(tok: str) -> int:
        st = _STEMS.get(tok) or _stem(tok)
        return -1 if st in _STOP else stems.setdefault(st, len(stems))

    parts = [p for pair in zip(titles, bodies) for p in pair]  # title 0, body 0, title 1, ...
    ids, lens = _token_ids(parts, _TOKEN.findall, _Ids(make))
    kept = ids >= 0
    part = np.repeat(np.arange(len(parts), dtype=np.int32), lens)[kept]
    r = _alphabetical_rank(list(stems))[ids[kept]]
    del ids, kept  # the largest arrays here: free them as soon as possible
    width = len(stems) + 1
    pair = part[1:] == part[:-1]
    code = np.concatenate([r * width, r[:-1][pair] * width + r[1:][pair] + 1])
    del r
    where = np.concatenate([part, part[:-1][pair]])
    del part, pair
    weight = np.where(where % 2 == 0, TITLE_TIMES, 1).astype(np.int32)
    counts, cols = _count_matrix(n, where // 2, code, weight)
    ordered = sorted(stems)
    by_rank = background.weights(ordered, "words")
    first, second = cols // width, cols % width - 1
    bg = by_rank[first]
    pair = second >= 0
    bg[pair] = np.maximum(bg[pair], by_rank[second[pair]])
    if labels:  # each column as its gram string ("stem" or "stem stem"), for doc_parts
        return counts, bg, _labels(ordered, first, second)
    return counts, bg


def _labels(ordered: list[str], first: np.ndarray, second: np.ndarray) -> list[str]:
    return [ordered[a] if b < 0 else f"{ordered[a]} {ordered[b]}" for a, b in zip(first.tolist(), second.tolist())]


def _name_counts(titles: Sequence[str], bodies: Sequence[str], *, labels: bool = False):
    """Counts of numbers and names: what coverage of one event shares; each column's background weight; and
    which columns are specific evidence (a two-word name, or a number that is not a year or a small count).

    Numbers and acronyms always; a capitalised word when it does not start a sentence, and not in
    a title written in Title Case (which capitalises every word, so its capitals say nothing); and
    two-word names: two capitalised words in a row within a sentence ("Jack Clark", "Mythos
    Preview"; the first may start the sentence), not in a Title Case title.
    """
    n = len(titles)
    kinds: list[tuple[int, str, bool, bool]] = []

    def make(tok: str) -> int:
        kinds.append(_KINDS.get(tok) or _kind(tok))
        return len(kinds) - 1

    parts = [p for pair in zip(titles, bodies) for p in pair]
    ids, lens = _token_ids(parts, str.split, _Ids(make))
    if not kinds:
        empty = csr_matrix((n, 0), dtype=np.int64), np.zeros(0), np.zeros(0, dtype=bool)
        return (*empty, []) if labels else empty
    kind = np.array([k[0] for k in kinds], dtype=np.int8)[ids]
    ends = np.array([k[2] for k in kinds], dtype=bool)[ids]
    upper = np.array([k[3] for k in kinds], dtype=bool)[ids]
    part = np.repeat(np.arange(len(parts), dtype=np.int64), lens)
    ups = np.bincount(part, weights=upper, minlength=len(parts))
    titlecase = (np.arange(len(parts)) % 2 == 0) & (ups > 0.6 * np.maximum(lens, 1))
    prev_end = np.empty(len(ids), dtype=bool)
    prev_end[1:] = ends[:-1]
    prev_end[(np.cumsum(lens) - lens)[lens > 0]] = True  # each part starts a sentence
    take = (kind == 1) | (kind == 2) | ((kind == 3) & ~prev_end & ~titlecase[part])
    cap = (kind == 2) | (kind == 3)
    pair = cap[:-1] & cap[1:] & ~ends[:-1] & (part[1:] == part[:-1]) & ~titlecase[part[:-1]]
    feats: dict[str, int] = {}
    feat_id = np.array([feats.setdefault(k[1], len(feats)) for k in kinds], dtype=np.int64)
    rank = _alphabetical_rank(list(feats))[feat_id[ids]]
    width = len(feats) + 1
    # a pair's column sorts right after its first name, as the string "@a @b" does (names hold no
    # character below the space)
    code = np.concatenate([rank[take] * width, rank[:-1][pair] * width + rank[1:][pair] + 1])
    where = np.concatenate([part[take], part[:-1][pair]])
    counts, cols = _count_matrix(n, where // 2, code, 1)
    ordered = sorted(feats)
    by_rank = background.weights(ordered, "names")
    first, second = cols // width, cols % width - 1
    bg = by_rank[first]
    two = second >= 0
    bg[two] = np.minimum(background.CAP, np.maximum(bg[two], by_rank[second[two]]) + background.NAME_PAIR_BONUS)
    is_number = np.array([f.startswith("#") for f in ordered], dtype=bool)[first]
    specific = two | (is_number & (bg >= background.DECIMAL_WEIGHT))
    if labels:
        return counts, bg, specific, _labels(ordered, first, second)
    return counts, bg, specific


_WORD_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "twenty": 20, "hundred": 100, "twice": 2}
_MULTIPLE = re.compile(r"\b(\d+(?:\.\d+)?|" + "|".join(_WORD_NUMBERS) + r")(?:\s*[x×]|[\s-]*fold|\s+times)(?![\w-])", re.I)


_DIGIT_X = re.compile(r"\d\s?[x×]")


def _multiples(text: str) -> list[str]:
    """The multiples of one text in the order they occur ("eight times", "8x", "six-fold" -> "#8x", "#6x")."""
    if "times" not in text and "fold" not in text and not _DIGIT_X.search(text):
        return []  # the full pattern is slow to scan; most texts have no multiple at all
    out = []
    for m in _MULTIPLE.finditer(text):
        raw = m.group(1).lower()
        out.append(f"#{_WORD_NUMBERS.get(raw) or float(raw):g}x")
    return out


def _multiple_counts(titles: Sequence[str], bodies: Sequence[str]) -> tuple[csr_matrix, list[str]]:
    """Counts of multiples: figures a number token misses; columns in order of first appearance."""
    feats: dict[str, int] = {}
    rows, cols = [], []
    for i, (t, b) in enumerate(zip(titles, bodies)):
        for feat in _multiples(f"{t} {b}"):
            rows.append(i)
            cols.append(feats.setdefault(feat, len(feats)))
    M = csr_matrix((np.ones(len(rows), dtype=np.int32), (rows, cols)), shape=(len(titles), len(feats)))
    M.sum_duplicates()
    return M, list(feats)


def _char_counts(titles: Sequence[str], *, labels: bool = False):
    """char_wb 3-5 gram counts of the titles, computed once per distinct word (same as sklearn's char_wb).

    Column indices sorted in each row: the product's own order depends on which other titles are in
    the batch, and the row's norm and dot products would follow it in their last bits."""
    words = CountVectorizer(analyzer=str.split, lowercase=False)
    try:
        W = words.fit_transform([" ".join(t.lower().split()) for t in titles])
    except ValueError:  # no words at all
        return (csr_matrix((len(titles), 0)), []) if labels else csr_matrix((len(titles), 0))
    grams = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=False)
    C = (W @ grams.fit_transform(words.get_feature_names_out())).tocsr()
    C.sort_indices()
    return (C, grams.get_feature_names_out().tolist()) if labels else C


def _tfidf(counts: csr_matrix) -> csr_matrix:
    """TfidfTransformer(sublinear_tf=True).fit_transform(counts), the same arrays to the last bit, without the
    estimator's checks and copies (a window's title char grams are ~1.8 million counts)."""
    return _blended_tfidf(counts, None, 0.0)


def _blended_tfidf(counts: csr_matrix, bg: np.ndarray | None, blend: float) -> csr_matrix:
    """Sublinear TF x ((1 - blend) x the docs' own IDF + blend x the background weight), rows L2-normalised.

    The docs' IDF is sklearn's smooth IDF (ln((1 + n) / (1 + df)) + 1), so blend 0 (or no `bg`) is
    TfidfTransformer(sublinear_tf=True), as `_tfidf` uses it.
    """
    X = counts.astype(np.float64)
    if X.shape[1] == 0:
        return X
    n = X.shape[0]
    df = np.bincount(X.indices, minlength=X.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    col = idf if bg is None else (1.0 - blend) * idf + blend * bg
    np.log(X.data, out=X.data)
    X.data += 1.0
    X.data *= col[X.indices]
    normalize(X, copy=False)
    return X


def _window_share(times: np.ndarray, window_days: float) -> float:
    """Median share of the docs that fall within +- the window of a doc (1.0 when undated)."""
    t = np.sort(times[~np.isnan(times)])
    if len(t) < len(times) or len(t) == 0:
        return 1.0
    sample = t[:: max(1, len(t) // 1000)]
    inside = np.searchsorted(t, sample + window_days, "right") - np.searchsorted(t, sample - window_days, "left")
    return float(np.median(inside)) / len(t)


def featurize(docs: Sequence[Doc], window_days: float = 4) -> tuple[csr_matrix, csr_matrix, csr_matrix]:
    """(X, R, K): weighted, L2-normalised TF-IDF rows; the rarer word/name columns, for finding candidates;
    0/1 rows of the specific names and figures each doc has (`K[i] . K[j]` = how many two docs share).

    IDF is fitted on all `docs` at once (the whole file, or a run's window). `assemble(doc_parts(docs))`
    gives the same matrices from what each doc says on its own (tests/test_story_signals.py checks it).
    """
    titles = [d.title for d in docs]
    bodies = [lead(d.text, LEAD_WORDS) for d in docs]
    names, bg, specific = _names_block(titles, bodies)
    return _weigh(*_word_counts(titles, bodies), _char_counts(titles), names, bg, specific, times(docs), window_days)


def _weigh(words: csr_matrix, words_bg: np.ndarray, chars: csr_matrix, names: csr_matrix, names_bg: np.ndarray,
           specific: np.ndarray, when: np.ndarray, window_days: float) -> tuple[csr_matrix, csr_matrix, csr_matrix]:
    """The window-dependent half of featurize: IDF, the rare-column cap, block weights, normalisation."""
    n = words.shape[0]
    Xw = _blended_tfidf(words, words_bg, BG_WORDS)
    Xc = _tfidf(chars)
    K = _binary(names[:, np.flatnonzero(specific)])
    Xn = _blended_tfidf(names, names_bg, BG_NAMES)
    cap = max(CAND_MIN_DF, CAND_MAX_DF * n * _window_share(when, window_days))
    R = _rare_columns(hstack([Xw, Xn], format="csr"), cap)
    if R.shape[1]:
        normalize(R, copy=False)
    for block, weight in ((Xw, W_WORDS), (Xc, W_CHARS), (Xn, W_NAMES)):  # in place: no second copy of X
        block.data *= weight
    X = hstack([Xw, Xc, Xn], format="csr")
    del Xw, Xc, Xn
    if X.shape[1]:  # no features at all (empty titles and texts): no rows to scale
        normalize(X, copy=False)
    return X, R, K


PARTS_FORMAT = 1  # bump when what doc_parts computes changes: stored parts of an older format are made again


_I32 = np.dtype("<i4")
_HEAD = struct.Struct("<11i")


def _starts(at: int, sizes) -> list[int]:
    out = []
    for size in sizes:
        out.append(at)
        at += size
    return out


@dataclass(frozen=True)
class Parts:
    """What featurize reads of one doc that does not depend on the other docs, so it can be kept per
    article and a run re-clusters its window without tokenising it again: the doc's word 1-2 gram counts
    (title counted TITLE_TIMES; bigrams as pairs of positions in its list of stems), its title's char_wb
    3-5 gram counts, its names and numbers (two-word names as "@a @b") and its multiples (in order of
    first appearance); and the embedding row (cluster.py fills it; None until then). Keys are joined by
    newlines (no key holds one: every key comes from text split at whitespace), counts are int32 arrays.
    """

    words: tuple[str, np.ndarray, np.ndarray, np.ndarray]  # stems, their counts, bigrams as stem positions a0 b0 a1 b1 ..., their counts
    chars: tuple[str, np.ndarray]
    names: tuple[str, np.ndarray]
    multiples: tuple[str, np.ndarray]
    embedding: np.ndarray | None = None

    def dumps(self) -> bytes:
        """Stored form: a header of 11 little-endian int32 (format, 4 text sizes, 6 array lengths), the
        four key texts (UTF-8), the six count arrays, then the float32 embedding (if any)."""
        texts = [t.encode("utf-8", "surrogatepass") for t in (self.words[0], self.chars[0], self.names[0], self.multiples[0])]
        arrays = [np.asarray(a, dtype=_I32) for a in (*self.words[1:], self.chars[1], self.names[1], self.multiples[1])]
        head = np.array([PARTS_FORMAT, *map(len, texts), *map(len, arrays)], dtype=_I32).tobytes()
        emb = b"" if self.embedding is None else np.asarray(self.embedding, dtype="<f4").tobytes()
        return b"".join([head, *texts, *(a.tobytes() for a in arrays), emb])

    @classmethod
    def loads(cls, blob: bytes) -> "Parts | None":
        """The parts from `dumps`, or None when they are of another format (or unreadable)."""
        try:
            head = _HEAD.unpack_from(blob)
            if head[0] != PARTS_FORMAT:
                return None
            sizes = head[1:5]
            at = 44 + sum(sizes)
            texts = blob[44:at].decode("utf-8", "surrogatepass")  # one decode; split at the sizes' characters
            counts = np.frombuffer(blob, dtype=_I32, count=sum(head[5:11]), offset=at)
            at += 4 * len(counts)
            emb = np.frombuffer(blob, dtype="<f4", offset=at) if len(blob) > at else None
        except (struct.error, ValueError, UnicodeDecodeError):
            return None
        if len(texts) != at - 44 - 4 * len(counts):  # not all ASCII: cut each text at its own byte size
            texts = [blob[a : a + size].decode("utf-8", "surrogatepass") for a, size in zip(_starts(44, sizes), sizes)]
        else:
            texts = [texts[a - 44 : a - 44 + size] for a, size in zip(_starts(44, sizes), sizes)]
        arrays = [counts[a : a + size] for a, size in zip(_starts(0, head[5:11]), head[5:11])]
        return cls((texts[0], *arrays[:3]), (texts[1], arrays[3]), (texts[2], arrays[4]), (texts[3], arrays[5]), emb)


def parts_digest(doc: Doc) -> bytes:
    """Hash of what a doc's Parts are made from (its title and text, and the settings that shape them):
    stored parts whose digest differs are out of date."""
    settings = f"{PARTS_FORMAT}:{LEAD_WORDS}:{TITLE_TIMES}:{EMBED_WORDS}"
    return hashlib.sha1("\0".join((settings, doc.title, doc.text)).encode("utf-8", "surrogatepass")).digest()


def _rows(M: csr_matrix, labels: list[str]) -> list[tuple[list[str], list[int]]]:
    out = []
    for i in range(M.shape[0]):
        a, b = M.indptr[i], M.indptr[i + 1]
        out.append(([labels[c] for c in M.indices[a:b].tolist()], M.data[a:b].tolist()))
    return out


def _block(keys: list[str], counts: list[int]) -> tuple[str, np.ndarray]:
    return "\n".join(keys), np.array(counts, dtype=np.int32)


def _word_row(keys: list[str], counts: list[int]) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """A doc's word grams as (stems, counts, bigram stem positions, bigram counts): both words of a
    bigram are unigrams of the same doc."""
    stems, stem_n, pairs, pair_n = [], [], [], []
    for key, c in zip(keys, counts):
        if " " not in key:
            stems.append(key)
            stem_n.append(c)
    where = {st: k for k, st in enumerate(stems)}
    for key, c in zip(keys, counts):
        a, _, b = key.partition(" ")
        if b:
            pairs += (where[a], where[b])
            pair_n.append(c)
    return "\n".join(stems), np.array(stem_n, dtype=np.int32), np.array(pairs, dtype=np.int32), np.array(pair_n, dtype=np.int32)


def doc_parts(docs: Sequence[Doc]) -> list[Parts]:
    """Each doc's Parts (without embedding), computed in one batch."""
    if not docs:
        return []
    titles = [d.title for d in docs]
    bodies = [lead(d.text, LEAD_WORDS) for d in docs]
    Wc, _, wlab = _word_counts(titles, bodies, labels=True)
    Cc, clab = _char_counts(titles, labels=True)
    Nc, _, _, nlab = _name_counts(titles, bodies, labels=True)
    words, chars, names = _rows(Wc, wlab), _rows(Cc, clab), _rows(Nc, nlab)
    out = []
    for i, (t, b) in enumerate(zip(titles, bodies)):
        found = _multiples(f"{t} {b}")
        seen = dict.fromkeys(found, 0)
        for f in found:
            seen[f] += 1
        out.append(Parts(_word_row(*words[i]), _block(*chars[i]), _block(*names[i]), _block(list(seen), list(seen.values()))))
    return out


def _tuple_key(key: str) -> list[str]:
    """A two-word gram sorts right after its first word, as featurize's column codes order them."""
    return key.split(" ")


def _keys(texts: Sequence[str]) -> list[str]:
    joined = "\n".join(t for t in texts if t)
    return joined.split("\n") if joined else []


class _FirstSeen(dict):
    """key -> its number in order of first appearance, made on first sight: `map(d.__getitem__, keys)` numbers a
    list of keys at C speed, calling Python once per distinct key."""

    def __missing__(self, key):
        value = self[key] = len(self)
        return value


def _numbered(keys: list[str], order) -> tuple[np.ndarray, list[str]]:
    """(each key's column, the column keys): columns in sorted order (`order` a sort key; None: plain string
    order) or, with order "seen", in order of first appearance."""
    seen = _FirstSeen()
    first = np.fromiter(map(seen.__getitem__, keys), dtype=np.int64, count=len(keys))
    columns = list(seen)
    if order == "seen":
        return first, columns
    by = sorted(range(len(columns)), key=columns.__getitem__ if order is None else lambda k: order(columns[k]))
    rank = np.empty(len(columns), dtype=np.int64)
    rank[by] = np.arange(len(columns))
    return rank[first], [columns[k] for k in by]


def _matrix(blocks: Sequence[tuple[str, np.ndarray]], dtype, order) -> tuple[csr_matrix, list[str]]:
    """Counts of the docs' (keys, counts) as a canonical CSR matrix, and the column keys: columns in sorted
    order (`order` a sort key; None: plain string order) or, with order "seen", in order of first appearance."""
    n = len(blocks)
    lens = np.fromiter((len(b[1]) for b in blocks), dtype=np.int64, count=n)
    col, columns = _numbered(_keys([b[0] for b in blocks]), order)
    data = np.concatenate([b[1] for b in blocks]).astype(dtype) if n else np.zeros(0, dtype)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lens, out=indptr[1:])
    M = csr_matrix((data, col.astype(np.int32), indptr), shape=(n, len(columns)))
    M.sort_indices()
    return M, columns


def _word_matrix(blocks: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray]], *, labels: bool = False):
    """_word_counts' counts and background weights from the docs' stored word grams (the same codes)."""
    n = len(blocks)
    lens = np.fromiter((len(b[1]) for b in blocks), dtype=np.int64, count=n)
    r, ordered = _numbered(_keys([b[0] for b in blocks]), None)  # plain string order: stems hold no character below the space
    width = len(ordered) + 1
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(lens[:-1], out=start[1:])
    npairs = np.fromiter((len(b[3]) for b in blocks), dtype=np.int64, count=n)
    at = np.concatenate([b[2] for b in blocks]).astype(np.int64) if n else np.zeros(0, np.int64)
    at += np.repeat(start, 2 * npairs)
    code = np.concatenate([r * width, r[at[0::2]] * width + r[at[1::2]] + 1])
    doc = np.concatenate([np.repeat(np.arange(n), lens), np.repeat(np.arange(n), npairs)])
    weight = np.concatenate([*(b[1] for b in blocks), *(b[3] for b in blocks), np.zeros(0, np.int32)]).astype(np.int32)
    counts, cols = _count_matrix(n, doc, code, weight)
    by_rank = background.weights(ordered, "words")
    first, second = cols // width, cols % width - 1
    bg = by_rank[first]
    pair = second >= 0
    bg[pair] = np.maximum(bg[pair], by_rank[second[pair]])
    if labels:  # each column as its gram string, for Batch
        return counts, bg, _labels(ordered, first, second)
    return counts, bg


def _name_columns(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Background weight of each names column ('#80', '@a', '@a @b') and whether it is specific evidence."""
    bg = np.empty(len(keys))
    specific = np.ones(len(keys), dtype=bool)
    for c, key in enumerate(keys):
        pieces = key.split(" ")
        if len(pieces) == 1:
            bg[c] = background.name_weight(key)
            specific[c] = key.startswith("#") and bg[c] >= background.DECIMAL_WEIGHT
        else:
            w = max(background.name_weight(pieces[0]), background.name_weight(pieces[1]))
            bg[c] = min(background.CAP, w + background.NAME_PAIR_BONUS)
    return bg, specific


@dataclass(frozen=True)
class _Block:
    """One block of many docs' counts: the column keys (in the block's column order), the docs x keys counts
    (canonical CSR), and per column its background weight and whether it is specific (names only)."""

    keys: list[str]
    counts: csr_matrix
    bg: np.ndarray
    specific: np.ndarray

    def take(self, rows: np.ndarray) -> "_Block":
        """These rows, in this order, with the columns none of them uses dropped (the order of the rest kept)."""
        M = self.counts[rows]
        used = np.zeros(len(self.keys), dtype=bool)
        used[M.indices] = True
        if used.all():
            return _Block(self.keys, M, self.bg, self.specific)
        new_col = np.cumsum(used) - 1
        M = csr_matrix((M.data, new_col[M.indices].astype(M.indices.dtype), M.indptr), shape=(M.shape[0], int(used.sum())))
        return _Block([k for k, u in zip(self.keys, used.tolist()) if u], M, self.bg[used], self.specific[used])


_BELOW_SPACE = re.compile("[\x00-\x1f]")


def _merge_blocks(a: _Block, b: _Block, order) -> _Block:
    """a's rows then b's, over the union of their columns in sorted order (`order` a sort key or None): the
    columns of each keep their relative order, so every row stays sorted."""
    if order is _tuple_key and not any(_BELOW_SPACE.search("".join(keys)) for keys in (a.keys, b.keys)):
        order = None  # "a b" sorts right after "a" as a string too, when no key holds a character below the space
    if order is None:
        pos = [bisect.bisect_left(a.keys, k) for k in b.keys]
    else:
        pos = [bisect.bisect_left(a.keys, order(k), key=order) for k in b.keys]
    size = len(a.keys)
    known = [p < size and a.keys[p] == k for p, k in zip(pos, b.keys)]
    new = [(p, k) for p, k, seen in zip(pos, b.keys, known) if not seen]  # b's keys are sorted: so is this
    pos_arr = np.array([p for p, _ in new], dtype=np.int64)
    a_col = np.arange(size, dtype=np.int64) + np.searchsorted(pos_arr, np.arange(size), "right")
    new_col = pos_arr + np.arange(len(new), dtype=np.int64)
    keys, prev = [], 0
    for p, k in new:
        keys.extend(a.keys[prev:p])
        keys.append(k)
        prev = p
    keys.extend(a.keys[prev:])
    b_col = np.empty(len(b.keys), dtype=np.int64)
    is_known = np.array(known, dtype=bool)
    b_col[is_known] = a_col[np.array(pos, dtype=np.int64)[is_known]]
    b_col[~is_known] = new_col
    width = len(keys)
    indptr = np.concatenate([a.counts.indptr.astype(np.int64), b.counts.indptr[1:].astype(np.int64) + a.counts.indptr[-1]])
    indices = np.concatenate([a_col[a.counts.indices], b_col[b.counts.indices]]).astype(np.int32)
    data = np.concatenate([a.counts.data, b.counts.data.astype(a.counts.data.dtype)])
    M = csr_matrix((data, indices, indptr), shape=(a.counts.shape[0] + b.counts.shape[0], width))
    bg, specific = np.empty(width), np.ones(width, dtype=bool)
    bg[a_col], bg[b_col] = a.bg, b.bg
    specific[a_col], specific[b_col] = a.specific, b.specific
    return _Block(keys, M, bg, specific)


def _compact(counts: np.ndarray) -> tuple[int, bytes]:
    """(bytes per count, the counts in the smallest of uint8 / uint16 / int32 that holds them)."""
    top = int(counts.max()) if len(counts) else 0
    low = int(counts.min()) if len(counts) else 0
    for size, dtype in ((1, "<u1"), (2, "<u2")):
        if low >= 0 and top < 256 ** size:
            return size, counts.astype(dtype).tobytes()
    return 4, counts.astype("<i4").tobytes()


_COMPACT = {1: "<u1", 2: "<u2", 4: "<i4"}
_NO_MULTIPLES = ("", np.zeros(0, dtype=np.int32))


BATCH_FORMAT = 1  # bump when what Batch stores changes (or what Parts hold: PARTS_FORMAT is part of it)
_EMPTY = np.zeros(0)


@dataclass(frozen=True)
class Batch:
    """The Parts of many docs (one row each, in order) as count matrices over shared columns: what `assemble`
    reads, already counted, so a run keeps its window's batch and next time only adds the rows of new docs
    (`merge`) and drops those that left (`take`), never reading each doc's Parts again. Words columns are
    "stem" and "stem stem" grams (a bigram sorts right after its first stem, as featurize's codes order them).
    `ids` and `digests` (parts_digest) say which doc each row is; embeddings are the Parts' rows (zeros where
    `has_embedding` is False)."""

    ids: tuple[int, ...]
    digests: tuple[bytes, ...]
    words: _Block
    chars: _Block
    names: _Block
    multiples: tuple[tuple[str, np.ndarray], ...]
    embeddings: np.ndarray | None
    has_embedding: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_parts(cls, parts: Sequence[Parts], ids: Sequence[int] | None = None,
                   digests: Sequence[bytes] | None = None, *, embeddings: bool = True) -> "Batch":
        """The batch of these Parts (ids and digests: which doc each is); `embeddings` False: without their rows."""
        n = len(parts)
        words, words_bg, wkeys = _word_matrix([p.words for p in parts], labels=True)
        chars, ckeys = _matrix([p.chars for p in parts], np.int64, None)
        names, nkeys = _matrix([p.names for p in parts], np.int32, _tuple_key)
        names_bg, specific = _name_columns(nkeys)
        has = np.array([embeddings and p.embedding is not None for p in parts], dtype=bool)
        E = None
        if has.any():
            E = np.zeros((n, len(parts[int(np.argmax(has))].embedding)), dtype=np.float32)
            for i in np.flatnonzero(has).tolist():
                E[i] = parts[i].embedding
        return cls(tuple(range(n)) if ids is None else tuple(ids), (b"",) * n if digests is None else tuple(digests),
                   _Block(wkeys, words, words_bg, np.ones(len(wkeys), dtype=bool)),
                   _Block(ckeys, chars, np.zeros(len(ckeys)), np.ones(len(ckeys), dtype=bool)),
                   _Block(nkeys, names, names_bg, specific), tuple(p.multiples for p in parts), E, has)

    def take(self, rows: Sequence[int]) -> "Batch":
        """These rows, in this order."""
        rows = np.asarray(rows, dtype=np.int64)
        r = rows.tolist()
        return Batch(tuple(self.ids[i] for i in r), tuple(self.digests[i] for i in r), self.words.take(rows),
                     self.chars.take(rows), self.names.take(rows), tuple(self.multiples[i] for i in r),
                     None if self.embeddings is None else self.embeddings[rows], self.has_embedding[rows])

    def merge(self, other: "Batch") -> "Batch":
        """This batch's rows, then other's."""
        E = None
        if self.embeddings is not None or other.embeddings is not None:
            dim = (self.embeddings if self.embeddings is not None else other.embeddings).shape[1]
            E = np.concatenate([b.embeddings if b.embeddings is not None else np.zeros((len(b), dim), np.float32)
                                for b in (self, other)])
        return Batch(self.ids + other.ids, self.digests + other.digests, _merge_blocks(self.words, other.words, _tuple_key),
                     _merge_blocks(self.chars, other.chars, None), _merge_blocks(self.names, other.names, _tuple_key),
                     self.multiples + other.multiples, E, np.concatenate([self.has_embedding, other.has_embedding]))

    def embedding(self, i: int) -> np.ndarray | None:
        return self.embeddings[i] if self.has_embedding[i] else None

    def dumps(self) -> bytes:
        """Stored form: a little-endian int64 header (format, Parts format, rows, each block's width and bytes per
        count, then each section's size in bytes), then the sections: ids, digests, each block's keys (UTF-8,
        newline-joined), indptr, indices, counts, weights and specific flags; the multiples (keys joined by
        newlines, docs by \x1e), their counts; which rows have an embedding, and those rows."""
        sections = [np.asarray(self.ids, dtype="<i8").tobytes(), b"".join(self.digests)]
        sizes = []
        for block in (self.words, self.chars, self.names):
            M = block.counts
            size, data = _compact(M.data)
            sizes.append(size)
            sections += ["\n".join(block.keys).encode("utf-8", "surrogatepass"), M.indptr.astype("<i8").tobytes(),
                         M.indices.astype("<i4").tobytes(), data, block.bg.astype("<f8").tobytes(),
                         block.specific.astype(np.uint8).tobytes()]
        sections += ["\x1e".join(m[0] for m in self.multiples).encode("utf-8", "surrogatepass"),
                     np.concatenate([np.asarray(m[1], dtype="<i4") for m in self.multiples] or [np.zeros(0, "<i4")]).tobytes(),
                     self.has_embedding.astype(np.uint8).tobytes(),
                     b"" if self.embeddings is None else self.embeddings[self.has_embedding].astype("<f4").tobytes()]
        head = np.array([BATCH_FORMAT, PARTS_FORMAT, len(self.ids), len(self.words.keys), len(self.chars.keys),
                         len(self.names.keys), *sizes, *map(len, sections)], dtype="<i8")
        return b"".join([head.tobytes(), *sections])

    @classmethod
    def loads(cls, blob: bytes) -> "Batch | None":
        """The batch from `dumps`, or None when it is of another format (or unreadable)."""
        try:
            return cls._loads(blob)
        except (ValueError, IndexError, UnicodeDecodeError, struct.error):
            return None

    @classmethod
    def _loads(cls, blob: bytes) -> "Batch | None":
        nsec = 2 + 3 * 6 + 4
        head = np.frombuffer(blob, dtype="<i8", count=9 + nsec).tolist()
        if head[0] != BATCH_FORMAT or head[1] != PARTS_FORMAT:
            return None
        n, widths, counts_size, sizes = head[2], head[3:6], head[6:9], head[9:]
        at, sec = 8 * len(head), []
        for size in sizes:
            sec.append(memoryview(blob)[at : at + size])
            at += size
        if at != len(blob):
            return None
        ids = tuple(np.frombuffer(sec[0], dtype="<i8").tolist())
        dig = bytes(sec[1])
        digests = tuple(dig[k : k + 20] for k in range(0, len(dig), 20))
        blocks = []
        for b, (width, dtype, stored) in enumerate(zip(widths, (np.int32, np.int64, np.int32), counts_size)):
            keys_s, indptr, indices, data, bg, spec = sec[2 + 6 * b : 8 + 6 * b]
            text = bytes(keys_s).decode("utf-8", "surrogatepass")
            keys = text.split("\n") if width else []
            M = csr_matrix((np.frombuffer(data, dtype=_COMPACT[stored]).astype(dtype), np.frombuffer(indices, dtype="<i4").astype(np.int32),
                            np.frombuffer(indptr, dtype="<i8")), shape=(n, width))
            blocks.append(_Block(keys, M, np.frombuffer(bg, dtype="<f8").copy(), np.frombuffer(spec, dtype=np.uint8).astype(bool)))
        mtext = bytes(sec[20]).decode("utf-8", "surrogatepass")
        mcounts = np.frombuffer(sec[21], dtype="<i4").astype(np.int32)
        multiples, k = [], 0
        for t in (mtext.split("\x1e") if n else []):
            if not t:  # most docs have no multiple
                multiples.append(_NO_MULTIPLES)
                continue
            size = t.count("\n") + 1
            multiples.append((t, mcounts[k : k + size]))
            k += size
        has = np.frombuffer(sec[22], dtype=np.uint8).astype(bool)
        E = None
        if has.any():
            rows = np.frombuffer(sec[23], dtype="<f4")
            E = np.zeros((n, len(rows) // int(has.sum())), dtype=np.float32)
            E[has] = rows.reshape(int(has.sum()), -1)
        if len(ids) != n or len(digests) != n or len(multiples) != n or len(has) != n or k != len(mcounts):
            return None
        return cls(ids, digests, *blocks, tuple(multiples), E, has)


def assemble(parts: "Sequence[Parts] | Batch", when: np.ndarray, window_days: float = 4) -> tuple[csr_matrix, csr_matrix, csr_matrix]:
    """featurize's (X, R, K) from the docs' Parts (or a Batch of them) and publication times (`times(docs)`)."""
    batch = parts if isinstance(parts, Batch) else Batch.from_parts(parts)
    n = len(batch)
    chars = batch.chars.counts
    if chars.shape[1] == 0:
        chars = csr_matrix((n, 0))
    mult, mkeys = _matrix(batch.multiples, np.int32, "seen")
    names_bg = np.concatenate([batch.names.bg, np.full(len(mkeys), background.CAP)])
    specific = np.concatenate([batch.names.specific, np.ones(len(mkeys), dtype=bool)])
    names = hstack([batch.names.counts, mult], format="csr")
    return _weigh(batch.words.counts, batch.words.bg, chars, names, names_bg, specific, when, window_days)


def _names_block(titles: Sequence[str], bodies: Sequence[str]) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Names, numbers and multiples: counts, background weights, and which columns are SPECIFIC evidence
    (a two-word name, a multiple, or a number that is not a year or a small count)."""
    counts, bg, specific = _name_counts(titles, bodies)
    mult, mult_feats = _multiple_counts(titles, bodies)
    return (hstack([counts, mult], format="csr"), np.concatenate([bg, np.full(len(mult_feats), background.CAP)]),
            np.concatenate([specific, np.ones(len(mult_feats), dtype=bool)]))


def _binary(M: csr_matrix) -> csr_matrix:
    B = M.tocsr(copy=True).astype(np.float32)
    B.data[:] = 1.0
    return B


def _rare_columns(M: csr_matrix, cap: float) -> csr_matrix:
    """The columns of M present in at most `cap` rows (order kept), without a column-major copy of M."""
    keep = np.bincount(M.indices, minlength=M.shape[1]) <= cap
    new_col = np.cumsum(keep) - 1
    mask = keep[M.indices]
    kept_before = np.zeros(len(mask) + 1, dtype=np.int64)
    np.cumsum(mask, out=kept_before[1:])
    indptr = kept_before[M.indptr]
    return csr_matrix((M.data[mask], new_col[M.indices[mask]].astype(M.indices.dtype), indptr),
                      shape=(M.shape[0], int(keep.sum())))


def embedding_texts(docs: Sequence[Doc]) -> list[str]:
    """What the embedding reads of each doc: the title and the first EMBED_WORDS words of the text."""
    return [f"{d.title}. {lead(d.text, EMBED_WORDS)}" if d.text.strip() else d.title for d in docs]


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
