"""Near-duplicate articles by content: syndicated wire copy, AMP/print pages, republished text.

`signature()` turns an article text into a MinHash of its word 5-shingles (128 permutations shared by
every signature, crc32 as the fast base hash) and returns it as bytes, so the caller can store it in
SQLite and rebuild a `DuplicateIndex` over a recent window. `DuplicateIndex` finds candidates with
MinHash LSH (cost about linear in the number of articles) and confirms them by estimated Jaccard.

A republished wire story with another header, footer or "first appeared on" note keeps most of its
shingles (Jaccard well above 0.7); two outlets writing their own reports of one event share few
5-word runs (Jaccard below 0.2), so they are never merged here: that is the clustering's job.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE = 5
MIN_WORDS = 40
_SCHEME = "affine32"
_VERSION = b"\x01"  # first byte of every signature: the format, so old rows can be recognised

_WORD = re.compile(r"[^\W_]+(?:['’.,-][^\W_]+)*", re.UNICODE)
_TEMPLATE = MinHash(num_perm=NUM_PERM, seed=20240611, scheme=_SCHEME)  # the shared permutations
_SIG_BYTES = 1 + NUM_PERM * 4


def _hash32(b: bytes) -> int:
    return zlib.crc32(b)


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def signature(text: str) -> bytes | None:
    """MinHash signature of `text` as bytes, or None when it has fewer than ~40 words."""
    words = _words(text or "")
    if len(words) < MIN_WORDS:
        return None
    shingles = {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}
    m = MinHash(num_perm=NUM_PERM, scheme=_SCHEME, permutations=_TEMPLATE.permutations, hashfunc=_hash32)
    m.update_batch(shingles)
    return _VERSION + np.asarray(m.hashvalues, dtype="<u4").tobytes()


def _values(sig: bytes) -> np.ndarray:
    if len(sig) != _SIG_BYTES or sig[:1] != _VERSION:
        raise ValueError(f"not a signature of this version ({len(sig)} bytes)")
    return np.frombuffer(sig, dtype="<u4", offset=1)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.mean(_values(a) == _values(b)))


class DuplicateIndex:
    """Signatures of recent articles, searchable for near-duplicates (estimated Jaccard >= threshold)."""

    def __init__(self, *, threshold: float = 0.7):
        self.threshold = threshold
        # LSH bands tuned a little below the threshold so that borderline pairs become candidates;
        # the exact estimate below decides.
        self._lsh = MinHashLSH(threshold=max(0.3, threshold - 0.1), num_perm=NUM_PERM)
        self._values: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._values)

    def _minhash(self, values: np.ndarray) -> MinHash:
        return MinHash(num_perm=NUM_PERM, scheme=_SCHEME, hashvalues=values, permutations=_TEMPLATE.permutations)

    def add(self, key: int, sig: bytes) -> None:
        """Remember article `key`'s signature (adding a key twice keeps the first)."""
        if key in self._values:
            return
        values = _values(sig)
        self._values[key] = values
        self._lsh.insert(key, self._minhash(values), check_duplication=False)

    def find(self, sig: bytes) -> int | None:
        """Key of the stored article most similar to `sig` if at least `threshold` similar; else None."""
        values = _values(sig)
        best, best_sim = None, -1.0
        for key in self._lsh.query(self._minhash(values)):
            sim = float(np.mean(self._values[key] == values))
            if sim >= self.threshold and (sim > best_sim or (sim == best_sim and key < best)):
                best, best_sim = key, sim
        return best
