"""What the coverage of one story says: figures and direct quotes counted over independent outlets, and the
figures on which the outlets disagree.

Figures are read by monitor/figures.py (so "$18bn" = "$18 billion", "10^27" = "10²⁷"); two spellings with the
same key are one fact. Quotes are runs of at least six words in straight or curly double quotes, matched
ignoring case and punctuation, and kept apart by speaker: "…," said Okafor and "…," said Reyes are two
quotes even with the same words. A shorter excerpt of a longer quote by the same speaker is the same quote.

A fact counts independent reports: one per outlet (`models.outlet_of`: the serving host's domain, else the
outlet name), syndicated copies add none. Each fact keeps one Evidence (outlet, url, the whole sentence) per
outlet, and every figure shown can be found again in its sentence by `figures()`.

Disagreement: two figures of the same kind and unit, with different values, reported by disjoint sets of
outlets, whose surrounding words share at least DISPUTE_SHARED content words ("run rate", "takes effect") and
at least half of all of them, are rival values of one quantity; each such fact gets the same `dispute` label.

Work is bounded: MAX_REPORTS original articles per story, MAX_TEXT characters of each, sentences of at
most figures.MAX_SENTENCE characters, and every scan is linear (no regex with nested quantifiers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.figures import MAX_SENTENCE, Figure, figures, stem
from monitor.models import Article, Evidence, Fact, originals, outlet_of

MAX_TEXT = 20_000  # characters of each article read for facts (the lead and body of any news article)
MAX_REPORTS = 200  # original articles read per story (the earliest): a story's work stays bounded
MIN_QUOTE_WORDS = 6
DISPUTE_SHARED = 2  # content words the surroundings of rival figures share, at least ...
DISPUTE_OVERLAP = 0.5  # ... and at least this share of all their surrounding words (Jaccard)
_OPEN, _CLOSE = "\"“", "\"”"
_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9\"“‘(])")
_WORD = re.compile(r"[^\W_]+")
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "corp", "co", "ltd", "vs", "no", "gov", "sen",
           "rep", "gen", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
_INITIALS = re.compile(r"(?:[a-z]\.)*[a-z]")
_SAID = {"said", "says", "told", "wrote", "writes", "added", "argued", "warned", "noted", "explained", "stated"}
_TITLES = {"dr", "mr", "mrs", "ms", "prof", "professor", "sen", "senator", "rep", "ceo", "director"}


def sentences(text: str) -> list[str]:
    """Split text into sentences: a stop, then space and a capital; not after "Dr." or "U.S.". Linear."""
    out, start = [], 0
    for m in _BREAK.finditer(text):
        if text[m.start()] == ".":
            lo = max(start, m.start() - 12)  # an abbreviation is short: look back a few characters only
            chunk = text[lo:m.start()]
            word = chunk.rsplit(None, 1)[-1] if chunk.split() else ""
            bare = word.rstrip(".").lower()
            if bare in _ABBREV or (len(bare) <= 8 and _INITIALS.fullmatch(bare)):
                continue
        out.append(text[start:m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def _quote_key(q: str) -> str:
    return " ".join(_WORD.findall(q.lower()))


def _name(words: list[str]) -> str:
    """The capitalised name at the start of `words` (titles skipped), or ""."""
    out = []
    for w in words:
        bare = w.strip(",.:;!?()\"“”’'")
        if not bare or not bare[0].isupper() or not bare.replace("-", "").replace("’", "").replace("'", "").isalpha():
            break
        if bare.lower() in _TITLES:
            continue
        out.append(bare)
        if w[-1:] in ",.:;!?" or len(out) == 3:
            break
    return " ".join(out)


def _speaker(before: str, after: str) -> str:
    """Who the sentence says is quoted: '"…," said Ines Okafor' / '"…," Okafor said' / 'Okafor said: "…"'."""
    a = after[:80].split()[:6]
    a = [w for w in a if w.strip(",.:;!?")] if a else []
    if a and a[0].strip(",.").lower() in _SAID:
        return _name(a[1:])
    if len(a) >= 2 and a[0].strip(",.").lower() == "according" and a[1].lower() == "to":
        return _name(a[2:])
    for k in range(1, min(4, len(a))):
        if a[k].strip(",.").lower() in _SAID:
            return _name(a[:k]) if len(_name(a[:k]).split()) == k else ""
    b = before[-80:].split()[-5:]
    for k in range(len(b) - 1, 0, -1):
        if b[k].strip(",.:").lower() in _SAID:
            name = _name(b[max(0, k - 3):k])
            return name if name and b[k - 1].strip(",") == name.split()[-1] else ""
    return ""


def quotes(sentence: str) -> list[tuple[str, str]]:
    """(quote, speaker) for each quote of at least MIN_QUOTE_WORDS words in one sentence."""
    out = []
    i, n = 0, len(sentence)
    while i < n:
        if sentence[i] not in _OPEN:
            i += 1
            continue
        j = i + 1
        while j < n and sentence[j] not in _CLOSE:
            j += 1
        if j >= n:
            break
        q = " ".join(sentence[i + 1:j].split()).strip(" ,.")
        if len(q.split()) >= MIN_QUOTE_WORDS:
            out.append((q, _speaker(sentence[:i], sentence[j + 1:])))
        i = j + 1
    return out


def story_facts(articles: Sequence[Article]) -> tuple[Fact, ...]:
    """Figures and quotes of a story's independent reports, with the outlets reporting each, most first;
    rival values of one quantity carry the same `dispute` label."""
    found: dict[str, dict] = {}
    for a in originals([a for a in articles if a.source])[:MAX_REPORTS]:
        body = (a.text or a.summary or "")[:MAX_TEXT]
        for sent in ([a.title] if a.title else []) + sentences(body):
            if len(sent) > MAX_SENTENCE:
                continue
            items: list[tuple[str, str, str, str, Figure | None]] = [
                (f.key, f.text, "figure", "", f) for f in figures(sent)]
            for q, who in quotes(sent):
                items.append((f"quote:{_quote_key(q)}|{who.split()[-1].lower() if who else ''}", q, "quote", who, None))
            for key, display, kind, who, fig in items:
                f = found.setdefault(key, {"kind": kind, "text": display, "speaker": who, "ev": {}, "figs": []})
                if fig is not None:
                    f["figs"].append(fig)
                f["ev"].setdefault(outlet_of(a), Evidence(source=a.source, url=a.url, sentence=sent))
    _merge_unitless(found)
    _merge_quotes(found)
    disputes = _disputes(found)
    facts = [Fact(kind=f["kind"], key=k.split(":", 1)[1], text=f["text"],
                  outlets=tuple(e.source for e in f["ev"].values()), evidence=tuple(f["ev"].values()),
                  speaker=f["speaker"], dispute=disputes.get(k, "")) for k, f in found.items()]
    facts.sort(key=lambda f: (-len(f.outlets), f.kind != "quote", f.key))
    return tuple(facts)


def _fold(found: dict[str, dict], short: str, into: str) -> None:
    for src, ev in found.pop(short)["ev"].items():
        found[into]["ev"].setdefault(src, ev)


def _merge_unitless(found: dict[str, dict]) -> None:
    """"80%" joins "80% of experiments" (and "10^27" joins "10^27 operations") when that is the only reading."""
    with_unit: dict[str, list[str]] = {}
    for k, f in found.items():
        if f["kind"] == "figure" and f["figs"] and f["figs"][0].unit:
            fig = f["figs"][0]
            with_unit.setdefault(f"{fig.kind}:{fig.value}", []).append(k)
    for bare, keys in with_unit.items():
        if bare in found and len(keys) == 1:
            _fold(found, bare, keys[0])


def _merge_quotes(found: dict[str, dict]) -> None:
    """A quote without a named speaker joins the one speaker quoted with those words; a shorter excerpt
    joins a longer quote of the same speaker. Quotes of different speakers stay apart."""
    quotes_ = sorted((k for k in found if k.startswith("quote:")), key=len, reverse=True)
    for short in quotes_:
        text, who = short[6:].rsplit("|", 1)
        for long in quotes_:
            if long == short or long not in found or short not in found:
                continue
            ltext, lwho = long[6:].rsplit("|", 1)
            same_words = ltext == text or (len(ltext) > len(text) and f" {text} " in f" {ltext} ")
            if same_words and (lwho == who or (not who and lwho)) and (ltext != text or lwho != who):
                if not who and lwho and sum(1 for k in quotes_ if k in found and k[6:].rsplit("|", 1)[0] == ltext
                                             and k[6:].rsplit("|", 1)[1]) > 1:
                    continue  # the words are quoted from two people: an unnamed copy cannot be placed
                _fold(found, short, long)
                break


def _disputes(found: dict[str, dict]) -> dict[str, str]:
    """key -> label for figures that are rival values of one quantity (see the module docstring)."""
    groups: dict[tuple, list[str]] = {}
    for k, f in found.items():
        if f["kind"] != "figure" or not f["figs"]:
            continue
        fig = f["figs"][0]
        cur = fig.value[:1] if fig.kind == "money" else ""
        groups.setdefault((fig.kind, fig.unit, cur), []).append(k)
    parent: dict[str, str] = {}

    def root(k: str) -> str:
        while parent.get(k, k) != k:
            k = parent[k]
        return k

    shared_words: dict[str, set[str]] = {}
    for keys in groups.values():
        keys = sorted(keys, key=lambda k: -len(found[k]["ev"]))[:100]  # bounded: the most reported values
        ctx = {k: frozenset().union(*(g.context for g in found[k]["figs"])) for k in keys}
        for x, kx in enumerate(keys):
            for ky in keys[x + 1:]:
                if set(found[kx]["ev"]) & set(found[ky]["ev"]):
                    continue  # one outlet gives both values: two quantities, not a disagreement
                common = ctx[kx] & ctx[ky]
                if len(common) >= DISPUTE_SHARED and len(common) >= DISPUTE_OVERLAP * len(ctx[kx] | ctx[ky]):
                    parent[root(ky)] = root(kx)
                    shared_words.setdefault(kx, set()).update(common)
                    shared_words.setdefault(ky, set()).update(common)
    members: dict[str, list[str]] = {}
    for k in shared_words:
        members.setdefault(root(k), []).append(k)
    labels: dict[str, str] = {}
    used: set[str] = set()
    for head, keys in members.items():
        if len({o for k in keys for o in found[k]["ev"]}) < 2:
            continue
        words = set().union(*(shared_words.get(k, set()) for k in keys))
        label = _label(found[head]["figs"][0], found[head]["ev"], words)
        n = 2
        while label in used:  # one label per disagreement: it groups the rival values on the page
            label, n = f"{label.rsplit(' (', 1)[0]} ({n})", n + 1
        used.add(label)
        for k in keys:
            labels[k] = label
    return labels


_KIND_WORDS = {"pct": "Share", "pp": "Change", "money": "Amount", "mult": "Multiple", "count": "Number",
               "power": "Amount", "duration": "Length", "date": "Date"}


def _label(fig: Figure, evidence: dict[str, Evidence], stems: set[str]) -> str:
    """What the rival figures are about: "Share of experiments", "Amount: annual run rate", "Date: takes effect"."""
    kind = _KIND_WORDS.get(fig.kind, "Figure")
    if fig.unit:
        return f"{kind} of {fig.noun or fig.unit}" if fig.kind in ("pct", "count", "power") else f"{kind}: {fig.unit}"
    first = next(iter(evidence.values())).sentence
    seen: dict[str, None] = {}
    for w in _WORD.findall(first):  # the shared words, in the order the first outlet wrote them
        if stem(w) in stems and w.lower() not in seen:
            seen[w.lower()] = None
    return f"{kind}: {' '.join(seen)}" if seen else kind


__all__ = ["story_facts", "sentences", "quotes", "figures", "MAX_TEXT"]
