"""Which classes really changed between two runs scored on the same images.

Two networks evaluated on the same test images differ class by class, and with hundreds of classes
some differences are chance: a class of 30 images whose recall moves by two images has not
measurably changed. For each class this module gives

- the exact McNemar test on the class's own images: only the images one run gets right and the
  other wrong carry information, and if the runs were equally good each such image would favour
  either run with probability 1/2 (a two-sided binomial test);
- Benjamini-Hochberg's adjustment of those p-values over all classes (`q_value`): calling every
  class with q <= `fdr` changed keeps the expected share of false calls among them at `fdr`;
- a paired bootstrap interval for the change in F1: the images are resampled with replacement,
  the same draw for both runs, so the interval reflects which images happened to be in the test set.

What it does not cover: a second training seed. Both tests ask whether *these two networks* differ
on this kind of image; whether a bigger network of the same recipe would, again and again, needs
several seeds per network (`scaling_analysis` does that for accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

__all__ = ["mcnemar_exact", "benjamini_hochberg", "class_changes"]


def mcnemar_exact(b_only: int, a_only: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts: images right in b only, and
    right in a only. No discordant image: nothing to test, p = 1."""
    n = int(b_only) + int(a_only)
    return 1.0 if n == 0 else float(binomtest(int(b_only), n, 0.5).pvalue)


def benjamini_hochberg(p_values) -> np.ndarray:
    """q-values: the smallest false discovery rate at which each hypothesis would be rejected
    (p * m / rank, made monotone from the largest p down, capped at 1)."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def _f1(y_true, y_pred, k: int, weights=None) -> np.ndarray:
    """Per-class F1 (0 where a class is neither present nor predicted), optionally weighted per image."""
    right = y_true == y_pred
    tp = np.bincount(y_true[right], weights=None if weights is None else weights[right], minlength=k)
    support = np.bincount(y_true, weights=weights, minlength=k)
    predicted = np.bincount(y_pred, weights=weights, minlength=k)
    total = support + predicted
    return np.divide(2 * tp, total, out=np.zeros(k), where=total > 0)


def _f1_interval(y_true, pred_a, pred_b, k: int, n_boot: int, seed: int, confidence: float):
    rng = np.random.default_rng(seed)
    n = len(y_true)
    draws = np.empty((n_boot, k))
    for i in range(n_boot):  # one resample of the images, the same for both runs
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        draws[i] = _f1(y_true, pred_b, k, w) - _f1(y_true, pred_a, k, w)
    tail = (1 - confidence) / 2 * 100
    return np.percentile(draws, tail, axis=0), np.percentile(draws, 100 - tail, axis=0)


def class_changes(
    y_true, pred_a, pred_b, classes, fdr: float = 0.05, n_boot: int = 1000, seed: int = 0, confidence: float = 0.95
) -> pd.DataFrame:
    """Per class, run b against run a on the same images: recall of each, the images right in one
    run only, McNemar's p and its Benjamini-Hochberg q, the change in F1 with a paired bootstrap
    interval, and the verdict on recall ("b better", "a better", or "no change shown" when q > fdr).
    Sorted by q, then by the change in F1."""
    y_true, pred_a, pred_b = (np.asarray(v, dtype=np.int64) for v in (y_true, pred_a, pred_b))
    k = len(classes)
    right_a, right_b = pred_a == y_true, pred_b == y_true
    support = np.bincount(y_true, minlength=k)
    b_only = np.bincount(y_true[right_b & ~right_a], minlength=k)
    a_only = np.bincount(y_true[right_a & ~right_b], minlength=k)
    recall_a = np.divide(np.bincount(y_true[right_a], minlength=k), support, out=np.zeros(k), where=support > 0)
    recall_b = np.divide(np.bincount(y_true[right_b], minlength=k), support, out=np.zeros(k), where=support > 0)
    p = np.array([mcnemar_exact(b, a) for b, a in zip(b_only, a_only)])
    q = benjamini_hochberg(p)
    f1_a, f1_b = _f1(y_true, pred_a, k), _f1(y_true, pred_b, k)
    low, high = _f1_interval(y_true, pred_a, pred_b, k, n_boot, seed, confidence)
    verdict = np.where(q > fdr, "no change shown", np.where(b_only > a_only, "b better", "a better"))
    table = pd.DataFrame(
        {
            "support": support,
            "recall_a": recall_a,
            "recall_b": recall_b,
            "recall_change": recall_b - recall_a,
            "right_b_only": b_only,
            "right_a_only": a_only,
            "p_value": p,
            "q_value": q,
            "f1_a": f1_a,
            "f1_b": f1_b,
            "f1_change": f1_b - f1_a,
            "f1_low": low,
            "f1_high": high,
            "verdict": verdict,
        },
        index=pd.Index(list(classes), name="class"),
    )
    return table.sort_values(["q_value", "f1_change"], kind="stable")
