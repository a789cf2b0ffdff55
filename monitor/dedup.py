"""Near-duplicate articles by content: syndicated wire copy, AMP/print pages, republished text.

`signature()` turns an article text into a MinHash of its word 5-shingles (128 affine permutations
shared by every signature, drawn by this module's own generator, so that stored signatures do not
depend on any library's random numbers) and returns it as bytes, so the caller can store it in
SQLite and rebuild a `DuplicateIndex` over a recent window. `DuplicateIndex` finds candidates with
MinHash LSH bands (cost about linear in the number of articles) and confirms them by estimated Jaccard.

A republished wire story with another header, footer or "first appeared on" note keeps most of its
shingles (Jaccard well above 0.7); two outlets writing their own reports of one event share few
5-word runs (Jaccard below 0.2), so they are never merged here: that is the clustering's job.

Everything per text is numpy work on its code points, no Python per word or per shingle: words
(runs of letters and digits, joined by ' . , - between two of them, after lowercasing) are found
from a character table, each word is hashed by a polynomial over its code points (prefix sums),
a shingle's hash is a weighted sum of its five word hashes, and the 128 minimums are one vectorised
(a * h + b) over all shingles. Format 3 (first byte 0x03). Earlier formats count as no signature
(`is_current` tells the caller to sign such a row again from its stored text): format 1 hashed each
shingle's text with crc32; format 2 took its permutations from datasketch's generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
from datasketch import MinHashLSH

NUM_PERM = 128
SHINGLE = 5
MIN_WORDS = 40
_VERSION = b"\x03"  # first byte of every signature: the format, so old rows can be recognised
_SIG_BYTES = 1 + NUM_PERM * 4


def _permutations(n: int, seed: int = 20240611) -> tuple[np.ndarray, np.ndarray]:
    """n affine permutations h -> a*h + b (mod 2**32), a odd, from splitmix64: fixed forever, since every
    stored signature was made with them (a change here needs a new format byte)."""
    out, state = [], seed
    for _ in range(2 * n):
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        out.append((z ^ (z >> 31)) >> 32)
    a = np.array(out[:n], dtype=np.uint32) | np.uint32(1)
    return a, np.array(out[n:], dtype=np.uint32)


_A, _B = _permutations(NUM_PERM)

# ----------------------------------------------------------------------------- words and their hashes

_JOINERS = "'.,-"  # inside a word when between two letters/digits ("don't", "U.S.", "3,000", "co-founder")
_ASCII_WORD = np.array([chr(i).isalnum() for i in range(128)], dtype=bool)
_ASCII_JOIN = np.array([chr(i) in _JOINERS for i in range(128)], dtype=bool)
_X = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64
_X_INV = np.uint64(pow(int(_X), -1, 1 << 64))
_POW = np.ones(1, dtype=np.uint64)  # _X ** i and _X_INV ** i modulo 2**64, grown on demand
_POW_INV = np.ones(1, dtype=np.uint64)
_MIX = np.array([0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5,
                 0xFF51AFD7ED558CCD], dtype=np.uint64)  # one odd weight per shingle position


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    global _POW, _POW_INV
    if len(_POW) < n:
        size = max(n, 2 * len(_POW), 4096)
        _POW = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _X, dtype=np.uint64)], dtype=np.uint64)
        _POW_INV = np.cumprod(np.r_[np.uint64(1), np.full(size - 1, _X_INV, dtype=np.uint64)], dtype=np.uint64)
    return _POW[:n], _POW_INV[:n]


def _is_word_char(cp: np.ndarray) -> np.ndarray:
    """str.isalnum() of each code point (what the regex class [^\\W_] matches)."""
    out = np.zeros(len(cp), dtype=bool)
    low = cp < 128
    out[low] = _ASCII_WORD[cp[low]]
    high = np.flatnonzero(~low)
    if len(high):
        uniq, inv = np.unique(cp[high], return_inverse=True)
        out[high] = np.array([chr(c).isalnum() for c in uniq.tolist()], dtype=bool)[inv]
    return out


def _fmix64(h: np.ndarray) -> np.ndarray:
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def _word_hashes(text: str) -> np.ndarray:
    """One 64-bit hash per word of `text`, in order (lowercased, ’ read as ')."""
    t = text.lower().replace("\u2019", "'")
    if t.isascii():
        cp = np.frombuffer(t.encode("ascii"), dtype=np.uint8)
        word, join = _ASCII_WORD[cp], _ASCII_JOIN[cp]
    else:
        cp = np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32)
        word = _is_word_char(cp)
        join = np.isin(cp, [ord(c) for c in _JOINERS])
    inside = np.zeros(len(cp) + 2, dtype=bool)  # padded with one non-word character at each end
    inside[1:-1] = word
    inside[2:-2] |= join[1:-1] & word[:-2] & word[2:]
    edges = np.flatnonzero(inside[1:] != inside[:-1])  # integer arrays wrap modulo 2**64 without warnings
    starts, ends = edges[0::2], edges[1::2]
    if len(starts) < MIN_WORDS:
        return np.zeros(0, dtype=np.uint64)
    pw, inv = _powers(len(cp))
    prefix = np.zeros(len(cp) + 1, dtype=np.uint64)
    np.cumsum(cp.astype(np.uint64) * pw, dtype=np.uint64, out=prefix[1:])
    h = (prefix[ends] - prefix[starts]) * inv[starts]  # sum of c_j * X**(j - start): position-free
    h += (ends - starts).astype(np.uint64)
    return _fmix64(h)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: spreads each shingle hash before the permutations."""
    h = h ^ (h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


# ----------------------------------------------------------------------------- signatures


def signature(text: str) -> bytes | None:
    """MinHash signature of `text` as bytes, or None when it has fewer than ~40 words."""
    words = _word_hashes(text or "")
    if len(words) < MIN_WORDS:
        return None
    m = len(words) - SHINGLE + 1
    sh = words[:m] * _MIX[0]
    for k in range(1, SHINGLE):
        sh += words[k : k + m] * _MIX[k]
    h = _fmix32((sh >> np.uint64(32)).astype(np.uint32))
    phv = np.multiply.outer(h, _A)
    phv += _B
    return _VERSION + phv.min(axis=0).astype("<u4", copy=False).tobytes()


def is_current(sig) -> bool:
    """True for a signature of this format; False for None, a cut-short value or an earlier format."""
    return isinstance(sig, (bytes, bytearray, memoryview)) and len(sig) == _SIG_BYTES and bytes(sig[:1]) == _VERSION


def _values(sig: bytes) -> np.ndarray:
    if len(sig) != _SIG_BYTES or sig[:1] != _VERSION:
        raise ValueError(f"not a signature of this version ({len(sig)} bytes)")
    return np.frombuffer(sig, dtype="<u4", offset=1)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.mean(_values(a) == _values(b)))


@lru_cache(maxsize=16)
def _bands(threshold: float) -> tuple[int, int]:
    """(bands, rows per band) as datasketch's MinHashLSH chooses them for this threshold."""
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)  # its public b and r, not a private helper
    return lsh.b, lsh.r


class DuplicateIndex:
    """Signatures of recent articles, searchable for near-duplicates (estimated Jaccard >= threshold).

    A signature that is not of this format (another version byte or length) is treated as no
    signature: `add` ignores it and `find` returns None.
    """

    def __init__(self, *, threshold: float = 0.7):
        self.threshold = threshold
        # LSH bands tuned a little below the threshold so that borderline pairs become candidates;
        # the exact estimate below decides.
        b, r = _bands(max(0.3, threshold - 0.1))
        self._cuts = [(1 + 4 * r * i, 1 + 4 * r * (i + 1)) for i in range(b)]
        self._tables: list[dict[bytes, int | list[int]]] = [{} for _ in range(b)]
        self._sigs: dict[int, bytes] = {}

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, key: int, sig: bytes) -> None:
        """Remember article `key`'s signature (adding a key twice keeps the first)."""
        if key in self._sigs or not is_current(sig):
            return
        sig = bytes(sig)
        self._sigs[key] = sig
        for (lo, hi), table in zip(self._cuts, self._tables):
            band = sig[lo:hi]
            held = table.get(band)
            if held is None:
                table[band] = key
            elif isinstance(held, list):
                held.append(key)
            else:
                table[band] = [held, key]

    def find(self, sig: bytes) -> int | None:
        """Key of the stored article most similar to `sig` if at least `threshold` similar; else None."""
        if not is_current(sig):
            return None
        sig = bytes(sig)
        found: set[int] = set()
        for (lo, hi), table in zip(self._cuts, self._tables):
            held = table.get(sig[lo:hi])
            if held is None:
                continue
            if isinstance(held, list):
                found.update(held)
            else:
                found.add(held)
        if not found:
            return None
        values = np.frombuffer(sig, dtype="<u4", offset=1)
        best, best_sim = None, -1.0
        for key in sorted(found):
            sim = float(np.mean(np.frombuffer(self._sigs[key], dtype="<u4", offset=1) == values))
            if sim >= self.threshold and sim > best_sim:
                best, best_sim = key, sim
        return best


@dataclass(frozen=True)
class DuplicateStep:
    """What to write for one new article, in order: its signature, and whether it is a copy of a stored
    original (`original` set) or an earlier-dated copy that takes that original's place (`replaces`: the
    original and its copies then point at this article, which stands for them all)."""

    article: int
    signature: bytes | None
    original: int | None = None
    replaces: bool = False


def duplicate_steps(new: Sequence[tuple[int, str, str]], window: Sequence[tuple[int, bytes, str]]) -> list[DuplicateStep]:
    """Near-copies among `new` (id, text, published; in time order) and against the stored originals of the
    window (id, signature, published). A copy points at the earliest copy, which stands for them all: a copy
    seen after a later-dated one takes its place as the original. Pure: the store writes the steps in order."""
    index = DuplicateIndex()
    new_ids = {a for a, _, _ in new}
    published: dict[int, str] = {}
    for article, stored, when in window:
        if article not in new_ids:
            index.add(article, stored)
            published[article] = when
    replaced: dict[int, int] = {}  # an indexed original -> the earlier copy that took its place
    steps = []
    for article, text, when in new:
        sig = signature(text)
        original = index.find(sig) if sig else None
        while original in replaced:
            original = replaced[original]
        if original is None or original == article:
            steps.append(DuplicateStep(article, sig))
            if sig:
                index.add(article, sig)
                published[article] = when
        elif when < published[original]:
            steps.append(DuplicateStep(article, sig, original, replaces=True))
            replaced[original] = article
            published[article] = when
        else:
            steps.append(DuplicateStep(article, sig, original))
    return steps
