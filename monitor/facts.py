"""What the coverage of one story agrees on: figures and direct quotes, counted per outlet.

Figures are percentages, multiples, amounts of money, counts with a unit noun and dates; each gets a
normalised key so that different wordings of one figure meet ("80%" = "80 percent" = "more than 80
per cent"; "$2.5 billion" = "2.5bn dollars" = "US$2,500 million"; "three times" = "3x" = "threefold").
Quotes are runs of at least six words in straight or curly double quotes, matched ignoring case and
punctuation (a shorter excerpt of a longer quote counts as the same quote).

A fact counts distinct outlets (`Article.source`); a syndicated copy (`duplicate_of` set) adds none.
Each fact keeps one Evidence (source, url, sentence) per outlet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.models import Article, Evidence, Fact

MIN_QUOTE_WORDS = 6
_NUMWORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "twenty": 20, "hundred": 100, "double": 2, "triple": 3, "quadruple": 4}
_TWO = {"twice": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "mn": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9,
          "b": 1e9, "trillion": 1e12, "tn": 1e12, "t": 1e12}
_CUR = {"$": "$", "us$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "eur": "€", "euro": "€",
        "euros": "€", "£": "£", "gbp": "£", "pound": "£", "pounds": "£"}
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_NOUN_SKIP = {"percent", "per", "times", "years", "year", "days", "day", "hours", "hour", "minutes", "am", "pm",
              "and", "or", "of", "to", "the", "in", "on", "at", "by", "for"}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

_PCT = re.compile(rf"(?<![\w.])({_NUM})\s*(?:%|percent\b|per\s+cent\b|pc\b)", re.I)
_MONEY = re.compile(
    rf"(?:(US\$|\$|€|£|USD|EUR|GBP)\s?({_NUM})(?:\s*(thousand|million|billion|trillion|mn|mln|bn|tn|[kmbt])\b)?"
    rf"|(?<![\w.])({_NUM})\s*(thousand|million|billion|trillion|mn|mln|bn|tn|[kmb])?\s*"
    rf"(dollars|euros|pounds|USD|EUR|GBP)\b)", re.I)
_MULT = re.compile(r"(?<![\w.])(?:(\d+(?:\.\d+)?)\s*(?:x|×|-fold|fold)(?![\w])|(\d+|two|three|four|five|six|seven|eight|nine|ten"
                   r"|twice)(?:\s+times\b|-?fold\b)|(twice)\b(?=\s+as\b)|(double|triple|quadruple)d?\b)", re.I)
_COUNT = re.compile(rf"(?<![\w.$€£])({_NUM})(?:\s+(thousand|million|billion))?\s+([a-z][a-z-]{{2,}})", re.I)
_DATE = re.compile(r"\b(" + "|".join(m.capitalize() for m in _MONTHS) + r")\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b")
_QUOTE = re.compile(r"[\"“]([^\"“”]{10,600})[\"”]")
_BREAK = re.compile(r"[.!?][\"”’)]*\s+(?=[A-Z0-9\"“‘(])")
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "inc", "corp", "co", "ltd", "vs", "no", "gov", "sen",
           "rep", "gen", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _money_key(cur: str, value: float) -> tuple[str, str]:
    for unit, size in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if value >= size:
            return f"{cur}{_fmt(value / size)} {unit}", f"{cur}{_fmt(value / size)} {unit}"
    return f"{cur}{_fmt(value)}", f"{cur}{_fmt(value)}"


def figures(sentence: str) -> list[tuple[str, str]]:
    """(key, display) of every figure in one sentence."""
    out: list[tuple[str, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _MONEY.finditer(sentence):
        if m.group(2):
            cur, num, scale = m.group(1), m.group(2), m.group(3)
        else:
            num, scale, cur = m.group(4), m.group(5), m.group(6)
        value = _num(num) * _SCALE.get((scale or "").lower(), 1.0)
        out.append(("money:" + _money_key(_CUR[cur.lower()], value)[0], _money_key(_CUR[cur.lower()], value)[1]))
        taken.append(m.span())
    for m in _PCT.finditer(sentence):
        k = _fmt(_num(m.group(1))) + "%"
        out.append(("pct:" + k, k))
        taken.append(m.span())
    for m in _MULT.finditer(sentence):
        raw = next(g for g in m.groups() if g)
        n = _NUMWORDS.get(raw.lower()) or _TWO.get(raw.lower()) or _num(raw)
        out.append((f"mult:{_fmt(n)}x", f"{_fmt(n)}x"))
        taken.append(m.span())
    for m in _DATE.finditer(sentence):
        month = _MONTHS.index(m.group(1).lower()) + 1
        key = f"{month:02d}-{int(m.group(2)):02d}"  # "March 3" and "March 3, 2025" meet
        out.append(("date:" + key, f"{m.group(1)} {int(m.group(2))}" + (f", {m.group(3)}" if m.group(3) else "")))
        taken.append(m.span())
    for m in _COUNT.finditer(sentence):
        if any(a <= m.start() < b for a, b in taken):
            continue
        noun = m.group(3).lower()
        if noun in _NOUN_SKIP or noun in _SCALE or noun in _CUR or not noun.endswith("s"):
            continue
        value = _num(m.group(1)) * _SCALE.get((m.group(2) or "").lower(), 1.0)
        if 1900 <= value <= 2100 and "." not in m.group(1):
            continue  # a year
        stem = noun[:-3] + "y" if noun.endswith("ies") else noun[:-1]
        shown = m.group(3)
        out.append((f"count:{_fmt(value)} {stem}", f"{_fmt(value)} {shown}" if value >= 1e4 else f"{m.group(1)} {shown}"))
    return out


def _quote_key(q: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", q.lower()))


def sentences(text: str) -> list[str]:
    """Split text into sentences by hand: a stop, then space and a capital; not after "Dr." or "U.S."."""
    out, start = [], 0
    for m in _BREAK.finditer(text):
        word = text[start : m.start() + 1].split()[-1] if text[start : m.start() + 1].split() else ""
        bare = word.rstrip(".").lower()
        if text[m.start()] == "." and (bare in _ABBREV or re.fullmatch(r"(?:[a-z]\.)*[a-z]", bare)):
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def story_facts(articles: Sequence[Article]) -> tuple[Fact, ...]:
    """Figures and quotes of a story's articles, with the distinct outlets reporting each, most first."""
    found: dict[str, dict] = {}
    for a in sorted(articles, key=lambda a: a.published):
        if a.duplicate_of is not None or not a.source:
            continue
        for sent in ([a.title] if a.title else []) + sentences(a.text or a.summary or ""):
            items = [(k, d, "figure") for k, d in figures(sent)]
            for m in _QUOTE.finditer(sent):
                q = " ".join(m.group(1).split()).strip(" ,.")
                if len(q.split()) >= MIN_QUOTE_WORDS:
                    items.append(("quote:" + _quote_key(q), q, "quote"))
            for key, display, kind in items:
                f = found.setdefault(key, {"kind": kind, "text": display, "ev": {}})
                f["ev"].setdefault(a.outlet or a.source, Evidence(source=a.source, url=a.url, sentence=sent[:600]))
    _merge_quote_excerpts(found)
    facts = [Fact(kind=f["kind"], key=k.split(":", 1)[1], text=f["text"], outlets=tuple(e.source for e in f["ev"].values()),
                  evidence=tuple(f["ev"].values())) for k, f in found.items()]
    facts.sort(key=lambda f: (-len(f.outlets), f.kind != "quote", f.key))
    return tuple(facts)


def _merge_quote_excerpts(found: dict[str, dict]) -> None:
    """Fold a quote into a longer quote that contains it (outlets often trim quotes)."""
    quotes = sorted((k for k in found if k.startswith("quote:")), key=len, reverse=True)
    for i, short in enumerate(quotes):
        for long in quotes[:i]:
            if long in found and short in found and f" {short[6:]} " in f" {long[6:]} ":
                for src, ev in found.pop(short)["ev"].items():
                    found[long]["ev"].setdefault(src, ev)
                break
