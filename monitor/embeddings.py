"""Dense sentence embeddings of articles, offline: the static model that ships in the `wordllama` wheel.

`embed(texts)` gives one L2-normalised float32 row of 256 numbers per text; the dot product of two
rows is their cosine. The model (16 MB, `weights/l2_supercat_256.safetensors` inside the installed
package) is loaded lazily, once per process (~0.9 s, ~60 MB on 2 cores), from the package folder with
downloads disabled: wordllama's default loader looks for the tokenizer under another folder and would
try the network. If it cannot load, `ModelError` says why in one line: clustering never silently
runs without it (the thresholds are calibrated with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix

from monitor.errors import ModelError
from monitor.features import _Ids, _token_ids

DIM = 256
CHUNK = 10_000  # distinct words tokenised per call (the tokenizer pads a batch to its longest word)

_MODEL = None


def model():
    """The loaded WordLlama model (loaded on first use)."""
    global _MODEL
    if _MODEL is None:
        try:
            import wordllama

            folder = Path(wordllama.__file__).resolve().parent
            _MODEL = wordllama.WordLlama.load(cache_dir=folder, disable_download=True, dim=DIM)
        except Exception as e:
            raise ModelError(f"cannot load the embedding model shipped in the 'wordllama' package: {e}") from e
    return _MODEL


def embed(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), DIM) float32, each row of unit length (a text with no token: a zero row).

    The model is static (a text's embedding is the mean of its tokens' vectors, and the tokenizer splits
    at spaces first), so each distinct word is tokenised once and the texts' token counts are summed
    with sparse products: the same vectors as `model().embed(texts)` (tests/test_story_signals.py
    checks it), about 8x faster on news, where words repeat.
    """
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    m = model()
    index: dict[str, int] = {}
    ids, lens = _token_ids(texts, str.split, _Ids(lambda w: index.setdefault(w, len(index))))
    if not index:  # no words at all
        return np.zeros((len(texts), DIM), dtype=np.float32)
    # words numbered in sorted order, so that the sums below run in an order that depends on each text
    # alone: a text's row is the same, to the last bit, whatever batch it is embedded in (a stored row is
    # reused in later windows: features.Parts)
    vocab = sorted(index)
    rank = np.empty(len(vocab), dtype=np.int64)
    rank[np.fromiter(map(index.__getitem__, vocab), dtype=np.int64, count=len(vocab))] = np.arange(len(vocab))
    ids = rank[ids]
    doc = np.repeat(np.arange(len(texts), dtype=np.int32), lens)
    C = csr_matrix((np.ones(len(ids), dtype=np.float32), (doc, ids)), shape=(len(texts), len(index)))  # texts x words
    V = m.embedding.shape[0]
    rows, cols = [], []
    for s in range(0, len(vocab), CHUNK):
        for k, enc in enumerate(m.tokenizer.encode_batch(vocab[s : s + CHUNK], add_special_tokens=False), s):
            tokens = [i for i, keep in zip(enc.ids, enc.attention_mask) if keep]
            rows.extend([k] * len(tokens))
            cols.extend(tokens)
    T = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, np.clip(cols, 0, V - 1))), shape=(len(vocab), V))
    E = np.asarray((C @ T) @ m.embedding, dtype=np.float32)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    np.divide(E, norms, out=E, where=norms > 0)
    E[(norms == 0).ravel()] = 0.0
    return E


def centre(E: np.ndarray, prior: float) -> np.ndarray:
    """Rows minus the docs' shared direction, shrunk for small sets, renormalised.

    Embeddings of any two texts share a common component (cosine ~0.1-0.3 between unrelated English
    news, ~0.5 between texts of invented words), which makes a large window chain into giant
    components. The mean of n docs estimates it well when n is large and is the event itself when the
    docs are five reports of one story, so it is shrunk: mean x n / (n + prior).
    """
    n = len(E)
    if n == 0 or prior < 0:
        return E
    mu = E.sum(axis=0, dtype=np.float64) / (n + prior)
    out = (E - mu.astype(np.float32)).astype(np.float32)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out
