"""Score a clustering against gold labels: pairwise and BCubed precision, recall and F1.

Both take two equal-length label sequences (gold, predicted) over the same items and return
(precision, recall, F1). Used by tests/test_cluster.py and benchmarks/cluster_eval.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def _pairs(counts: Counter) -> int:
    return sum(c * (c - 1) // 2 for c in counts.values())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision and recall over item pairs placed in one cluster (1.0 when there are no such pairs)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predicted")
    tp = _pairs(Counter(zip(gold, pred)))
    p_all, g_all = _pairs(Counter(pred)), _pairs(Counter(gold))
    p = tp / p_all if p_all else 1.0
    r = tp / g_all if g_all else 1.0
    return p, r, _f1(p, r)


def bcubed(gold: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """BCubed: per item, the share of its predicted (gold) cluster that shares its gold (predicted) label."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predicted")
    if not gold:
        return 1.0, 1.0, 1.0
    both = Counter(zip(gold, pred))
    g, q = Counter(gold), Counter(pred)
    n = len(gold)
    p = sum(c * c / q[pl] for (_, pl), c in both.items()) / n
    r = sum(c * c / g[gl] for (gl, _), c in both.items()) / n
    return p, r, _f1(p, r)
