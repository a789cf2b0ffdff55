"""Why articles were joined into a story: the strongest signals they share (`monitor cluster --explain`).

For each story of two or more articles: the specific names and figures (two-word names, multiples,
numbers that are not years or small counts) and the words found in at least two of its articles,
rarest in English first, each with the number of articles that have it; and the similarities that
clustering used (mean over the story's pairs: the mix, the embedding cosine, the word/name cosine),
with the weakest pair, which is where a wrong merge shows. Pure: docs and labels in, text out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor import background, features
from monitor.features import Doc

TOP = 6  # items shown per kind


@dataclass(frozen=True)
class Explanation:
    story: int
    ids: tuple
    names: tuple[tuple[str, int], ...]  # (name or figure, articles that have it)
    words: tuple[tuple[str, int], ...]
    similarity: float  # mean over the story's pairs, as clustering saw it
    embedding: float
    lexical: float
    weakest: tuple[float, object, object]  # (similarity, id, id) of the least similar pair

    def line(self) -> str:
        def show(items):
            return ", ".join(f"{k} ({n})" for k, n in items) or "none"

        w, a, b = self.weakest
        return (f"story {self.story}: {len(self.ids)} articles ({', '.join(map(str, self.ids))}); "
                f"shared names/figures: {show(self.names)}; shared words: {show(self.words)}; "
                f"similarity {self.similarity:.2f} (embeddings {self.embedding:.2f}, words {self.lexical:.2f}); "
                f"weakest pair {w:.2f} ({a} - {b})")


_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’\-][^\W_]+)*")


_PUNCT = "\"'“”‘’()[]{}:;,.!?"


def _specific(doc: Doc) -> dict[str, str]:
    """Specific names and figures of one doc: matching key -> how the doc wrote it ("Mara Venn", "80%", "8x")."""
    toks = f"{doc.title}. {features.lead(doc.text)}".split()
    kinds = [features._kind(t) for t in toks]
    out: dict[str, str] = {}
    for t1, t2, (k1, f1, end1, _), (k2, f2, _, _) in zip(toks, toks[1:], kinds, kinds[1:]):
        if k1 in (2, 3) and k2 in (2, 3) and not end1:
            out.setdefault(f"{f1} {f2}", f"{t1.strip(_PUNCT)} {t2.strip(_PUNCT)}")
    for t, (k, f, _, _) in zip(toks, kinds):
        if k == 1 and background.number_weight(f) >= background.DECIMAL_WEIGHT:
            out.setdefault(f, t.strip(_PUNCT))
    for m in features._MULTIPLE.finditer(f"{doc.title} {doc.text}"):
        raw = m.group(1).lower()
        out.setdefault(f"#{features._WORD_NUMBERS.get(raw) or float(raw):g}x", m.group(0))
    return out


def _words(doc: Doc) -> dict[str, str]:
    out: dict[str, str] = {}
    for w in _WORD.findall(f"{doc.title} {features.lead(doc.text)}"):
        s = features._stem(w)
        if s not in features._STOP and len(s) > 2:
            out.setdefault(s, w)
    return out


def _shared(found: list[dict[str, str]], weight) -> tuple[tuple[str, int], ...]:
    """Keys in 2+ docs, most docs first, then rarest in English; shown as the first doc wrote them."""
    counts = Counter(k for d in found for k in d)
    shown: dict[str, str] = {}
    for d in found:
        for k, v in d.items():
            shown.setdefault(k, v)
    common = [(k, n) for k, n in counts.items() if n >= 2]
    common.sort(key=lambda kn: (-kn[1], -weight(kn[0]), kn[0]))
    return tuple((shown[k], n) for k, n in common[:TOP])


def explain(docs: Sequence[Doc], labels: Sequence[int], ids: Sequence | None = None) -> list[Explanation]:
    """One Explanation per story of 2+ docs, in label order; story number = label + 1 (`cluster_docs`
    numbers labels in input order, as `monitor cluster` numbers stories). `ids` are shown (default doc ids)."""
    from monitor.cluster import signals  # cluster imports this module's caller, not this module

    ids = [d.id for d in docs] if ids is None else list(ids)
    by_label = np.asarray(labels)
    members = [np.flatnonzero(by_label == lab) for lab in range(int(by_label.max()) + 1)] if len(by_label) else []
    if not any(len(m) > 1 for m in members):
        return []
    sig, _ = signals(docs)
    out = []
    for lab, idx in enumerate(members):
        if len(idx) < 2:
            continue
        a, b = np.triu_indices(len(idx), 1)
        sim = sig.block(idx)[a, b]
        Xc = sig.X[idx]
        lex = (Xc @ Xc.T).toarray()[a, b]
        emb = (sig.E[idx] @ sig.E[idx].T)[a, b] if sig.E is not None else np.zeros(len(a))
        k = int(np.argmin(sim))
        group = [docs[int(i)] for i in idx]
        out.append(Explanation(
            story=lab + 1, ids=tuple(ids[i] for i in idx),
            names=_shared([_specific(d) for d in group], background.name_weight),
            words=_shared([_words(d) for d in group], background.word_weight),
            similarity=float(sim.mean()), embedding=float(emb.mean()), lexical=float(lex.mean()),
            weakest=(float(sim[k]), ids[idx[a[k]]], ids[idx[b[k]]])))
    return out
