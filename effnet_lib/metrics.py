"""Classification metrics on plain arrays: labels, predictions, probabilities.

Per class: precision, recall, specificity, F1 and support, as the practitioner's experiment
reports them; overall: accuracy, macro and weighted averages and top-k accuracy. The numbers come
from scikit-learn (specificity = TN / (TN + FP) from ``multilabel_confusion_matrix``), so they
agree with what anybody else computes from the same predictions.

Nothing here knows about models, files or plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)


@dataclass
class Report:
    """Per-class table, the summary figures and the confusion matrix of one set of predictions."""

    per_class: pd.DataFrame  # index: class name; precision, recall, specificity, f1, support
    summary: dict
    confusion: np.ndarray  # rows: true class, columns: predicted class
    classes: list[str]


def per_class_table(y_true, y_pred, classes) -> pd.DataFrame:
    labels = np.arange(len(classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    mcm = multilabel_confusion_matrix(y_true, y_pred, labels=labels)
    tn, fp = mcm[:, 0, 0], mcm[:, 0, 1]
    specificity = np.divide(tn, tn + fp, out=np.zeros(len(labels)), where=(tn + fp) > 0)
    return pd.DataFrame({"precision": precision, "recall": recall, "specificity": specificity,
                         "f1": f1, "support": support}, index=pd.Index(list(classes), name="class"))


def report(y_true, y_pred, classes, probs=None, k: int = 5) -> Report:
    """All metrics of one evaluation; `probs` (n x classes) adds top-k accuracy."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    table = per_class_table(y_true, y_pred, classes)
    labels = np.arange(len(classes))
    summary = {"accuracy": accuracy_score(y_true, y_pred), "n": int(len(y_true)),
               "classes": len(classes)}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg,
                                                     zero_division=0)
        weights = table["support"] if avg == "weighted" else None
        summary.update({f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f,
                        f"{avg}_specificity": float(np.average(table["specificity"], weights=weights))})
    if probs is not None and len(classes) > k:
        summary[f"top{k}_accuracy"] = top_k_accuracy_score(y_true, probs, k=k, labels=labels)
    return Report(table, summary, confusion_matrix(y_true, y_pred, labels=labels), list(classes))


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
        rows.append({"true": classes[i], "predicted": classes[j], "count": int(off[i, j]),
                     "share_of_true": off[i, j] / max(cm[i].sum(), 1)})
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "share_of_true"])


def most_confused_classes(cm: np.ndarray, n: int = 20) -> np.ndarray:
    """Indices of the n classes with the most errors (as true or predicted), for large matrices."""
    cm = np.asarray(cm)
    errors = cm.sum(0) + cm.sum(1) - 2 * np.diag(cm)
    return np.sort(np.argsort(errors, kind="stable")[::-1][:n])
