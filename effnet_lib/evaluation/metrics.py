"""Classification metrics on plain arrays: labels, predictions, probabilities.

Per class: precision, recall, specificity, F1 and support, as the practitioner's experiment
reports them; overall: accuracy, macro and weighted averages and top-k accuracy. Everything is
read off the confusion matrix with numpy, by scikit-learn's definitions (zero where a class has no
image or no prediction; top-k with its tie rule), and `tests/test_metrics.py` checks the numbers
against scikit-learn's. (numpy alone: importing scikit-learn costs about a second, which every
`train` and `evaluate` would pay.)

Averages run over all K classes of the run, the ones without an image included (their recall is 0).
So macro recall is not scikit-learn's `balanced_accuracy_score` when a class has no image in the
evaluated split: that one averages only the classes present in the truth. On the same labels,
`precision_recall_fscore_support(..., labels=range(K), zero_division=0)` gives exactly our numbers.

Nothing here knows about models, files or plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Report",
    "confusion_matrix",
    "per_class_table",
    "top_k_accuracy",
    "report",
    "normalise",
    "top_confusions",
    "most_confused_classes",
]


@dataclass
class Report:
    """Per-class table, the summary figures and the confusion matrix of one set of predictions."""

    per_class: pd.DataFrame  # index: class name; precision, recall, specificity, f1, support
    summary: dict
    confusion: np.ndarray  # rows: true class, columns: predicted class
    classes: list[str]


def confusion_matrix(y_true, y_pred, k: int) -> np.ndarray:
    """k x k counts; rows: true class, columns: predicted class."""
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def _ratio(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    tp, support, predicted = np.diag(cm), cm.sum(1), cm.sum(0)
    tn = cm.sum() - support - predicted + tp
    return {
        "precision": _ratio(tp, predicted),
        "recall": _ratio(tp, support),
        "specificity": _ratio(tn, tn + predicted - tp),
        "f1": _ratio(2 * tp, support + predicted),
        "support": support,
    }


def per_class_table(y_true, y_pred, classes) -> pd.DataFrame:
    return pd.DataFrame(
        _per_class(confusion_matrix(y_true, y_pred, len(classes))), index=pd.Index(list(classes), name="class")
    )


def top_k_accuracy(y_true, probs, k: int) -> float:
    """Share of images whose true class is among the k most probable (ties: scikit-learn's rule)."""
    order = np.argsort(np.asarray(probs), axis=1, kind="mergesort")[:, ::-1][:, :k]
    return float((order == np.asarray(y_true)[:, None]).any(1).mean())


def report(y_true, y_pred, classes, probs=None, k: int = 5) -> Report:
    """All metrics of one evaluation; `probs` (n x classes) adds top-k accuracy."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    cm = confusion_matrix(y_true, y_pred, len(classes))
    values = _per_class(cm)
    table = pd.DataFrame(values, index=pd.Index(list(classes), name="class"))
    support = values["support"]
    summary = {"accuracy": float(np.trace(cm) / max(len(y_true), 1)), "n": int(len(y_true)), "classes": len(classes)}
    for avg, weights in (("macro", None), ("weighted", support if support.sum() else None)):
        for name in ("precision", "recall", "f1", "specificity"):
            summary[f"{avg}_{name}"] = float(np.average(values[name], weights=weights))
    if probs is not None and len(classes) > k:
        summary[f"top{k}_accuracy"] = top_k_accuracy(y_true, probs, k)
    return Report(table, summary, cm, list(classes))


def normalise(cm: np.ndarray, by: str | None) -> np.ndarray:
    """Confusion matrix as counts (None), or as fractions of each true ('true') or predicted ('pred') class."""
    cm = np.asarray(cm, dtype=float)
    if by is None or by == "counts":
        return cm
    axis = {"true": 1, "pred": 0}[by]
    total = cm.sum(axis=axis, keepdims=True)
    return np.divide(cm, total, out=np.zeros_like(cm), where=total > 0)


def top_confusions(cm: np.ndarray, classes, n: int = 10) -> pd.DataFrame:
    """The n largest off-diagonal cells: (true, predicted, count, share of the true class)."""
    cm = np.asarray(cm)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(off, axis=None, kind="stable")[::-1][:n]
    rows = []
    for i, j in zip(*np.unravel_index(flat, off.shape)):
        if off[i, j] == 0:
            break
        rows.append(
            {
                "true": classes[i],
                "predicted": classes[j],
                "count": int(off[i, j]),
                "share_of_true": off[i, j] / max(cm[i].sum(), 1),
            }
        )
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share_of_true"])


def most_confused_classes(cm: np.ndarray, n: int = 20) -> np.ndarray:
    """Indices of the n classes with the most errors (as true or predicted), for large matrices."""
    cm = np.asarray(cm)
    errors = cm.sum(0) + cm.sum(1) - 2 * np.diag(cm)
    return np.sort(np.argsort(errors, kind="stable")[::-1][:n])
