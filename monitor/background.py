"""Term weights that do not depend on how many articles are at hand: a general-language background.

IDF fitted on a window of five articles says almost nothing (a word in all five gets the lowest
weight, however rare it is in English: the lab's name every report repeats). The background is the
English frequency table of the `wordfreq` package (its data ships in the wheel; loaded once per
process, ~0.3 s and ~60 MB), turned into an IDF-like weight on the scale of a large corpus's IDF:
`-ln(frequency) - OFFSET`, clipped to [1, CAP] ("the" 1, "company" 3.8, "model" 4.9, a lab's name
9-12, a word English has never seen CAP). `features.py` blends it with the docs' own IDF.

Numbers get a weight by how specific they are: a year or a small count is common in any news
("2025", "3"); "80", "4.5" or "orion-4" is evidence. A two-word name weighs more than either word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from monitor.errors import ModelError

OFFSET = 4.0  # -ln(freq) of the ~50 commonest English words is below ~4.5: they weigh 1
CAP = 12.0  # weight of a word the table does not know (names, product codes)
NAME_PAIR_BONUS = 2.0  # a two-word name ("Jack Clark") over the rarer of its words
YEAR_WEIGHT, SMALL_WEIGHT, DECIMAL_WEIGHT = 2.0, 1.5, 9.0

_TABLE: dict[str, float] | None = None


def _table() -> dict[str, float]:
    global _TABLE
    if _TABLE is None:
        try:
            import wordfreq

            _TABLE = wordfreq.get_frequency_dict("en", wordlist="best")
        except Exception as e:  # a broken install: say so once, clearly
            raise ModelError(f"cannot load the word frequency table of the 'wordfreq' package: {e}") from e
    return _TABLE


def word_weight(word: str) -> float:
    """Background weight of one lower-case word (a stem from features.py)."""
    f = _table().get(word)
    if f is None and "-" in word:  # "self-improving": as rare as its rarer part
        return max(word_weight(p) for p in word.split("-") if p) if word.strip("-") else 1.0
    if not f:
        return CAP
    return min(CAP, max(1.0, -math.log(f) - OFFSET))


def number_weight(feature: str) -> float:
    """Weight of a number feature ('#80', '#2025', '#4.5', '#orion-4'): years and small counts are weak."""
    core = feature.lstrip("#")
    if core.isdigit():
        v = int(core)
        if len(core) == 4 and 1900 <= v <= 2100:
            return YEAR_WEIGHT
        if v <= 12:
            return SMALL_WEIGHT
        return CAP
    if core.replace(".", "", 1).isdigit():
        return DECIMAL_WEIGHT
    return CAP


def name_weight(feature: str) -> float:
    """Weight of a names-block feature: '#...' a number, '@a' a name, '@a @b' a two-word name."""
    if feature.startswith("#"):
        return number_weight(feature)
    parts = [p.lstrip("@") for p in feature.split(" ")]
    if len(parts) == 1:
        return word_weight(parts[0])
    return min(CAP, max(word_weight(p) for p in parts) + NAME_PAIR_BONUS)


def gram_weight(words: Iterable[str]) -> float:
    """Weight of a word n-gram: its rarest word."""
    return max(word_weight(w) for w in words)


def weights(features: Iterable[str], kind: str) -> np.ndarray:
    """Background weight of each feature string; `kind` "words" (n-grams joined by spaces) or "names"."""
    if kind == "words":
        return np.fromiter((gram_weight(f.split(" ")) for f in features), dtype=np.float64)
    return np.fromiter((name_weight(f) for f in features), dtype=np.float64)
