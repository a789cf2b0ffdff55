"""Figures in one sentence, read by a table-driven scanner: "$18bn" = "$18 billion", "10^27" = "10²⁷" = "1e27",
"eightfold" = "8x" = "eight times", "80%" = "80 percent" = "80 per cent", "10-20%", "March 3, 2025".

The sentence is cut into tokens by one regex with no nested quantifiers, then read left to right once; every
rule looks at a fixed number of tokens around a number. So the work is linear in the sentence, and callers
bound the sentence (MAX_SENTENCE) and the article (facts.MAX_TEXT) as well.

A figure's key is what makes two spellings the same fact: kind, normalised value and, for counts, powers,
durations and percentages "of" something, the noun that follows (stemmed): "1,200 signatures" and
"1,200 researchers" are two facts. `context` holds the content words around the figure, used to tell
whether two different values are about the same thing (facts.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_SENTENCE = 600  # characters; longer "sentences" are lists or run-on junk, and are not quoted

# one token: a number (digits with , or . inside, an optional exponent), superscript digits, a word, or one sign
_TOKEN = re.compile(r"[0-9][0-9,.]*(?:[eE][-+]?[0-9]{1,3})?|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+|[^\W\d_]+|[^\s\w]")
_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_EXP = re.compile(r"([0-9]+(?:\.[0-9]+)?)[eE]([-+]?[0-9]{1,3})")
_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
         "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
         "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
         "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100}
SCALES = {"thousand": 1e3, "million": 1e6, "mn": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12,
          "tn": 1e12, "trn": 1e12}
LETTER_SCALES = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}  # only written against the number: "$18B", "14k"
CURRENCY_SIGNS = {"$": "$", "€": "€", "£": "£", "¥": "¥"}
CURRENCY_CODES = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
CURRENCY_WORDS = {"dollar": "$", "dollars": "$", "euro": "€", "euros": "€", "pound": "£", "pounds": "£",
                  "yen": "¥", "usd": "$", "eur": "€", "gbp": "£"}
MULTIPLE_VERBS = {"doubled": 2, "doubling": 2, "tripled": 3, "tripling": 3, "quadrupled": 4, "twice": 2}
DURATIONS = {"second": "second", "seconds": "second", "minute": "minute", "minutes": "minute", "hour": "hour",
             "hours": "hour", "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month",
             "months": "month", "year": "year", "years": "year", "decade": "decade", "decades": "decade"}
MONTHS = {m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                          "september", "october", "november", "december"])}
MONTH_ABBR = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
              "nov": 11, "dec": 12}
MONTH_NAMES = [m.capitalize() for m in MONTHS]
ORDINAL = {"st", "nd", "rd", "th"}
PLURAL_NOUNS = {"people", "staff", "children", "men", "women", "personnel", "police", "data", "media"}
NOT_NOUNS = {"percent", "per", "times", "and", "or", "of", "to", "the", "in", "on", "at", "by", "for", "from",
             "with", "as", "than", "a", "an", "is", "was", "were", "are", "be", "been", "more", "less", "am", "pm",
             "that", "this", "which", "who", "over", "under", "about", "after", "before", "into", "its", "their",
             "percentage", "point", "points", "fold", "x", "other", "others", "so", "far", "also", "new"}
MODIFIERS = {"leading", "senior", "new", "other", "more", "top", "independent", "prominent", "additional",
             "active", "registered", "individual", "separate", "different", "large", "small", "major", "ai",
             "us", "uk", "eu", "frontier", "full", "time", "full-time", "unique", "monthly", "daily", "weekly",
             "paying", "total", "named", "known", "confirmed", "reported", "million", "billion", "thousand"}
SKIP_AFTER_OF = {"the", "a", "an", "its", "their", "all", "roughly", "about", "nearly", "some", "around", "over",
                 "almost", "approximately", "total", "estimated", "those", "these", "our", "his", "her"}
STOP = NOT_NOUNS | SKIP_AFTER_OF | {"it", "he", "she", "they", "we", "said", "says", "has", "had", "have", "will",
                                    "would", "could", "not", "no", "up", "down", "out", "just", "only", "around",
                                    "per", "cent", "most", "least", "some", "s", "one", "two", "three"}
RANGE_WORDS = {"-", "–", "—", "to"}


@dataclass(frozen=True)
class Figure:
    """One figure as written in a sentence: `sentence[start:end]` is its spelling."""

    kind: str  # pct, pp, money, mult, count, power, duration, date
    value: str  # normalised value as shown: "80%", "$18 billion", "10^27", "March 3, 2025"
    unit: str  # stemmed noun or currency-free unit that is part of the figure ("" when none)
    start: int
    end: int
    context: frozenset[str] = frozenset()
    noun: str = ""  # the unit noun as written ("GPUs"), for display

    @property
    def key(self) -> str:
        value = self.value.split(",")[0] if self.kind == "date" else self.value  # "March 3" = "March 3, 2025"
        return f"{self.kind}:{value}" + (f" {self.unit}" if self.unit else "")

    @property
    def text(self) -> str:
        """How the figure is displayed: the value and the noun as most outlets write it."""
        noun = self.noun or plural(self.unit)
        if self.kind in ("count", "power") and self.unit:
            return f"{self.value} {noun}"
        if self.kind == "pct" and self.unit:
            return f"{self.value} of {noun}"
        return self.value


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is True


def _is_plural(w: str) -> bool:
    return (w.endswith("s") and not w.endswith("ss") and len(w) > 3) or w in PLURAL_NOUNS


def plural(stem: str) -> str:
    if stem in PLURAL_NOUNS or stem.endswith("s"):
        return stem
    return stem[:-1] + "ies" if stem.endswith("y") and stem[-2:-1] not in "aeiou" else stem + "s"


def stem(word: str) -> str:
    w = word.lower()
    if w in PLURAL_NOUNS or len(w) < 4:
        return w
    if w.endswith("ies"):
        return w[:-3] + "y"
    if w.endswith(("sses", "ches", "shes", "xes")):
        return w[:-2]
    return w[:-1] if w.endswith("s") and not w.endswith("ss") else w


def number_text(x: float) -> str:
    """A value as people write it: 14,000; 2.5; 10^27; 1.5 × 10^27."""
    if x >= 1e15:
        return power_text(x)
    if x == int(x):
        return f"{int(x):,}"
    return f"{x:,.6g}" if x >= 1000 else f"{x:.6g}"


def power_text(x: float) -> str:
    """A power of ten as written in science: 10^27, 10^-3, 1.5 × 10^27."""
    exp = math.floor(math.log10(x))
    mant = float(f"{x / 10.0 ** exp:.3g}")
    if mant >= 10:
        mant, exp = mant / 10, exp + 1
    return f"10^{exp}" if mant == 1 else f"{mant:g} × 10^{exp}"


def scaled_text(x: float) -> str:
    """14,000; 1.2 million; 18 billion: scale words from a million up."""
    for word, size in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if size <= x < 1e15:
            return f"{x / size:.6g} {word}"
    return number_text(x)


class _Reader:
    """The tokens of one sentence and the rules that read figures from them."""

    def __init__(self, sentence: str):
        self.s = sentence
        self.toks: list[tuple[str, int, int]] = []
        for m in _TOKEN.finditer(sentence):
            t, a, b = m.group(), m.start(), m.end()
            if _digits(t[0]) and t[-1] in ",.":  # "3," and "14,000." end a number, the sign is punctuation
                self.toks += [(t[:-1], a, b - 1), (t[-1], b - 1, b)]
            else:
                self.toks.append((t, a, b))
        self.low = [t[0].lower() for t in self.toks]

    def word(self, i: int) -> str:
        return self.low[i] if 0 <= i < len(self.toks) else ""

    def tight(self, i: int) -> bool:
        """Token i touches token i + 1 (no space between)."""
        return i + 1 < len(self.toks) and self.toks[i][2] == self.toks[i + 1][1]

    def number(self, i: int) -> tuple[float, int, bool] | None:
        """(value, index after, is a power of ten) of a number at token i: digits, 10^27, 1e27, or a number word."""
        if not 0 <= i < len(self.toks):
            return None
        raw = self.toks[i][0].rstrip(".,")
        if not _digits(raw[:1]):
            w = self.low[i]
            if w not in UNITS:
                return None
            if UNITS[w] >= 20 and self.word(i + 1) == "-" and UNITS.get(self.word(i + 2), 10) < 10:
                return float(UNITS[w] + UNITS[self.word(i + 2)]), i + 3, False
            return float(UNITS[w]), i + 1, False
        if len(raw) > 40 or self._inside_name(i):
            return None
        if self.tight(i) and self.toks[i + 1][0] in (":", "/"):
            return None  # 10:30, 3/4
        m = _EXP.fullmatch(raw)
        if m:
            return float(m.group(1)) * 10 ** int(m.group(2)), i + 1, True
        if not (_GROUPED.fullmatch(raw) or _PLAIN.fullmatch(raw)):
            return None
        value, end = float(raw.replace(",", "")), i + 1
        if raw == "10" and self.tight(i):  # 10^27, 10**27, 10²⁷, 10^-3
            nxt = self.toks[i + 1][0]
            if nxt[0] in "⁰¹²³⁴⁵⁶⁷⁸⁹⁻":
                exp = nxt.translate(_SUPER)
                if re.fullmatch(r"-?[0-9]{1,3}", exp):
                    return 10.0 ** int(exp), i + 2, True
            if nxt == "^" or (nxt == "*" and self.word(i + 2) == "*"):
                j = i + 2 if nxt == "^" else i + 3
                negative = self.word(j) == "-"
                j += negative
                if j < len(self.toks) and re.fullmatch(r"[0-9]{1,3}", self.toks[j][0]):
                    return 10.0 ** (-int(self.toks[j][0]) if negative else int(self.toks[j][0])), j + 1, True
        if self.word(end) in ("×", "x", "*") and self.word(end + 1) == "10":  # 1.5 × 10^27
            power = self.number(end + 1)
            if power and power[2]:
                return value * power[0], power[1], True
        while (end < len(self.toks) and re.fullmatch(r"[0-9]{3}", self.toks[end][0])
               and self.s[self.toks[end - 1][2]:self.toks[end][1]] in ("\u00a0", "\u202f", "\u2009")):
            value = value * 1000 + int(self.toks[end][0])  # 14 000 with a narrow or no-break space
            end += 1
        return value, end, False

    def _inside_name(self, i: int) -> bool:
        """The number is part of a name or code: A100, GPT-4, v.2, #1 (but not $18 or (80%) or 10-20)."""
        if i == 0 or not self.tight(i - 1):
            return False
        prev = self.toks[i - 1][0]
        if prev.isalpha() or prev in ":/#.":
            return True
        return prev == "-" and i > 1 and self.tight(i - 2) and self.toks[i - 2][0].isalpha()

    def noun(self, i: int, *, singular: bool = False) -> tuple[str, int, str] | None:
        """The counted noun at token i (skipping one modifier), stemmed, and the index after it. `singular`
        (after "80% of"): the head of a run of up to four lower-case words will do ("10% of turnover",
        "42% of machine learning papers", "10% of a company's annual revenue")."""
        if singular:
            return self._of_noun(i)
        for j in (i, i + 1):
            w = self.word(j)
            if not w.isalpha() or w in NOT_NOUNS or w in MONTHS or w in DURATIONS or w in SCALES:
                return None
            if _is_plural(w) and w not in MODIFIERS:
                return stem(w), j + 1, self.toks[j][0]
            if w not in MODIFIERS and not self.toks[j][0].isupper():
                return None
        return None

    def _of_noun(self, i: int) -> tuple[str, int, str] | None:
        j, run = i, list[int]()  # token indexes of the noun phrase so far
        while len(run) < 4 and j < len(self.toks):
            w = self.word(j)
            if w in ("'", "’") and self.word(j + 1) == "s" and run:
                run, j = [], j + 2  # a possessive: "a company's revenue" is about the revenue
                continue
            if not w.isalpha() or w in NOT_NOUNS or w in MONTHS or not self.toks[j][0].islower():
                break
            if _is_plural(w) and w not in MODIFIERS:
                return stem(w), j + 1, self.toks[j][0]
            run.append(j)
            j += 1
        if run and (j >= len(self.toks) or not self.word(j).isalpha() or self.word(j) in NOT_NOUNS):
            last = run[-1]
            return stem(self.low[last]), last + 1, self.toks[last][0]
        return None

    def context(self, start: int, end: int) -> frozenset[str]:
        words = [self.low[k] for k in range(max(0, start - 6), min(len(self.toks), end + 6))
                 if not (start <= k < end) and self.low[k].isalpha() and self.low[k] not in STOP
                 and len(self.low[k]) > 2]
        return frozenset(stem(w) for w in words)

    def figures(self) -> list[Figure]:
        out: list[Figure] = []
        i = 0
        while i < len(self.toks):
            got = self.date(i) or self.amount(i) or self.multiple_word(i)
            if got:
                fig, nxt = got
                out.append(fig)
                i = max(nxt, i + 1)
            else:
                i += 1
        return out

    def _fig(self, kind: str, value: str, unit: str, first: int, after: int, noun: str = "") -> tuple[Figure, int]:
        start, end = self.toks[first][1], self.toks[after - 1][2]
        return Figure(kind, value, unit, start, end, self.context(first, after), noun), after

    def date(self, i: int):
        tok, w = self.toks[i][0], self.low[i]
        month = MONTHS.get(w) or MONTH_ABBR.get(w)
        if month and tok[0].isupper():
            j = i + 1 + (self.word(i + 1) == "." and w in MONTH_ABBR)
            day = self._day(j)
            if day:
                d, j = day
                year, j = self._year(j)
                return self._fig("date", _date_text(month, d, year), "", i, j)
        if _digits(tok) and 1 <= int(tok) <= 31 and len(tok) <= 2:
            j = i + 1 + (self.word(i + 1) in ORDINAL and self.tight(i))
            m2 = MONTHS.get(self.word(j)) or MONTH_ABBR.get(self.word(j))
            if m2 and self.toks[j][0][0].isupper():
                year, k = self._year(j + 1 + (self.word(j + 1) == "." and self.word(j) in MONTH_ABBR))
                return self._fig("date", _date_text(m2, int(tok), year), "", i, k)
        if re.fullmatch(r"(19|20)[0-9][0-9]", tok) and self.word(i + 1) == "-" and self.tight(i) and self.tight(i + 1):
            parts = [self.toks[k][0] if k < len(self.toks) else "" for k in (i + 2, i + 3, i + 4)]
            if re.fullmatch(r"[0-9][0-9]", parts[0]) and parts[1] == "-" and re.fullmatch(r"[0-9][0-9]", parts[2]):
                mo, d = int(parts[0]), int(parts[2])
                if 1 <= mo <= 12 and 1 <= d <= 31:
                    return self._fig("date", _date_text(mo, d, tok), "", i, i + 5)
        return None

    def _day(self, j: int) -> tuple[int, int] | None:
        t = self.toks[j][0] if j < len(self.toks) else ""
        if _digits(t) and len(t) <= 2 and 1 <= int(t) <= 31:
            return int(t), j + 1 + (self.word(j + 1) in ORDINAL and self.tight(j))
        return None

    def _year(self, j: int) -> tuple[str | None, int]:
        k = j + (self.word(j) == ",")
        t = self.toks[k][0] if k < len(self.toks) else ""
        if re.fullmatch(r"(19|20)[0-9][0-9]", t):
            return t, k + 1
        return None, j

    def amount(self, i: int):
        """Money, percent, multiple, count, power or duration starting at token i."""
        first = i
        cur = None
        w = self.low[i]
        if w in CURRENCY_SIGNS or (w in CURRENCY_CODES and self.toks[i][0].isupper()):
            cur, i = CURRENCY_SIGNS.get(w) or CURRENCY_CODES[w], i + 1
        elif w == "us" and self.tight(i) and self.word(i + 1) == "$":
            cur, i = "$", i + 2
        elif w == "between":
            i += 1
        num = self.number(i)
        if num is None:
            return None
        value, j, is_power = num
        scale, j = self._scale(j, i)
        lo = hi = value * scale
        # a range: 10-20%, 10 to 20 percent, between 10 and 20, $5bn-$7bn, $5-7 billion (not "from 10 to 20")
        k = j
        if ((self.word(k) in RANGE_WORDS and not (self.word(k) == "to" and self.word(first - 1) == "from"))
                or (self.word(k) == "and" and self.word(first) == "between")):
            k2 = k + 1 + (self.word(k + 1) in CURRENCY_SIGNS and cur is not None)
            second = self.number(k2)
            if second and second[2] == is_power:
                s2, k3 = self._scale(second[1], k2)
                s1 = scale if scale != 1.0 else s2
                if second[0] * s2 > value * s1:
                    lo, hi, j = value * s1, second[0] * s2, k3
        tail = self.word(j)
        if cur is None and tail in CURRENCY_WORDS and (tail not in CURRENCY_CODES or self.toks[j][0].isupper()):
            cur, j = CURRENCY_WORDS[tail], j + 1
        if cur is not None:
            return self._fig("money", _range(lo, hi, lambda x: cur + scaled_text(x)), "", first, j)
        if tail == "%" or tail in ("percent", "pct") or (tail == "per" and self.word(j + 1) == "cent"):
            j += 2 if tail == "per" else 1
            if self.word(j) == "of":
                k = j + 1
                while self.word(k) in SKIP_AFTER_OF and k < j + 4:
                    k += 1
                while k < j + 6 and (found := self.number(k)) is not None:
                    k = found[1]
                noun = self.noun(k, singular=True)
                if noun:  # the span runs to the noun; reading goes on after the sign ("of the 14,000 experiments")
                    return self._fig("pct", _range(lo, hi, number_text) + "%", noun[0], first, noun[1], noun[2])[0], j
            return self._fig("pct", _range(lo, hi, number_text) + "%", "", first, j)
        if tail == "percentage" and self.word(j + 1) in ("point", "points"):
            return self._fig("pp", _range(lo, hi, number_text) + " percentage points", "", first, j + 2)
        if tail in ("x", "×") and self.word(j + 1) != "10" and not _digits(self.word(j + 1)[:1]) and lo == hi:
            return self._fig("mult", number_text(lo) + "x", "", first, j + 1)
        if tail == "times" or (tail == "-" and self.word(j + 1) == "fold") or tail == "fold":
            if lo == hi and self.word(j + 1) not in ("a", "per"):
                return self._fig("mult", number_text(lo) + "x", "", first, j + (2 if tail == "-" else 1))
        dj = j + (tail == "-")
        if self.word(dj) in DURATIONS:
            unit = DURATIONS[self.word(dj)]
            return self._fig("duration", _range(lo, hi, number_text) + " " + unit + ("s" if hi != 1 else ""), "",
                             first, dj + 1)
        noun = self.noun(j)
        if is_power:
            if noun:
                return self._fig("power", _range(lo, hi, power_text), noun[0], first, noun[1], noun[2])
            return self._fig("power", _range(lo, hi, power_text), "", first, j)
        if noun and not (self.toks[i][0].isalpha() and scale == 1.0):
            if scale == 1.0 and lo == hi and 1900 <= lo <= 2100 and "," not in self.toks[i][0] and "." not in self.toks[i][0]:
                return None  # a year
            return self._fig("count", _range(lo, hi, scaled_text), noun[0], first, noun[1], noun[2])
        return None

    def _scale(self, j: int, num_index: int) -> tuple[float, int]:
        w = self.word(j)
        if w in SCALES:
            return SCALES[w], j + 1
        if w in LETTER_SCALES and self.tight(j - 1) and j - 1 == num_index:
            return LETTER_SCALES[w], j + 1
        return 1.0, j

    def multiple_word(self, i: int):
        w = self.low[i]
        if w in MULTIPLE_VERBS and not (w == "twice" and self.word(i + 1) in ("a", "an", "per", "each", "every")):
            return self._fig("mult", f"{MULTIPLE_VERBS[w]}x", "", i, i + 1)
        if w.endswith("fold") and w[:-4] in UNITS:
            return self._fig("mult", f"{UNITS[w[:-4]]}x", "", i, i + 1)
        return None


def _range(lo: float, hi: float, fmt) -> str:
    return fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"


def _date_text(month: int, day: int, year: str | None) -> str:
    return f"{MONTH_NAMES[month - 1]} {day}" + (f", {year}" if year else "")


def figures(sentence: str) -> list[Figure]:
    """Every figure in one sentence, in order; nothing for a sentence longer than MAX_SENTENCE."""
    if len(sentence) > MAX_SENTENCE:
        return []
    return _Reader(sentence).figures()


__all__ = ["Figure", "figures", "MAX_SENTENCE", "number_text"]
