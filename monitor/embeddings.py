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

from monitor.errors import ModelError

DIM = 256
BATCH = 256

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
    """(len(texts), DIM) float32, each row of unit length (a text with no known token: a zero row)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    E = np.asarray(model().embed(list(texts), norm=False, batch_size=BATCH), dtype=np.float32)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    np.divide(E, norms, out=E, where=norms > 0)
    E[(norms == 0).ravel()] = 0.0
    return E
