"""Where a classifier goes wrong, class by class: pure functions on an evaluation result.

The questions a practitioner asks after training on 400 bird species: which classes fail, what
each one is taken for, which images were confused (most confident mistakes first), and how to
find a class by name. The explorer widget only wires controls to these functions, so every
answer it shows can be reproduced (and tested) without a browser.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import normalise, report, top_confusions
from .results import EvalResult

__all__ = ["ErrorAnalysis"]


class ErrorAnalysis:
    """Per-class metrics, confusions and misclassified samples of one `EvalResult`."""

    def __init__(self, result: EvalResult):
        self.result = result
        self.classes = list(result.classes)
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.y_true, self.y_pred = np.asarray(result.y_true), np.asarray(result.y_pred)
        metrics = report(self.y_true, self.y_pred, self.classes)
        self.confusion, self.table = metrics.confusion, metrics.per_class

    def class_table(self, sort_by: str = "f1", ascending: bool = True) -> pd.DataFrame:
        """Per-class precision, recall, specificity, F1, support and errors, sorted (worst first)."""
        t = self.table.copy()
        t["errors"] = t["support"] - np.diag(self.confusion)
        return t.sort_values([sort_by, "support"], ascending=[ascending, False], kind="stable")

    def search(self, text: str, order=None) -> list[str]:
        """Class names containing `text` (case-insensitive), in `order` (default: alphabetical)."""
        text = (text or "").strip().lower()
        names = list(order) if order is not None else sorted(self.classes)
        return [c for c in names if text in c.lower()]

    def confused_with(self, name: str, n: int = 5) -> pd.DataFrame:
        """The classes `name` is most often taken for, and that are taken for it."""
        i = self.index[name]
        as_true = self.confusion[i].copy()
        as_pred = self.confusion[:, i].copy()
        as_true[i] = as_pred[i] = 0
        both = as_true + as_pred
        order = [j for j in np.argsort(-both, kind="stable") if both[j] > 0][:n]
        # as_true[j]: images of `name` predicted as j; as_pred[j]: images of j predicted as `name`.
        return pd.DataFrame(
            {
                "class": [self.classes[j] for j in order],
                "taken for it": [int(as_pred[j]) for j in order],
                "it is taken for": [int(as_true[j]) for j in order],
            },
            columns=["class", "taken for it", "it is taken for"],
        )

    def neighbours(self, name: str, n: int = 8) -> np.ndarray:
        """`name` and up to n classes it is most confused with (all classes when there are few)."""
        if len(self.classes) <= n + 1:
            return np.arange(len(self.classes))
        i = self.index[name]
        others = [self.index[c] for c in self.confused_with(name, n)["class"]]
        return np.array([i] + others)

    def heatmap_values(self, indices, normalize: str | None = None) -> np.ndarray:
        return normalise(self.confusion, normalize)[np.ix_(indices, indices)]

    def top_pairs(self, n: int = 10) -> pd.DataFrame:
        return top_confusions(self.confusion, self.classes, n)

    def misclassified(self, true: str, predicted: str) -> pd.DataFrame:
        """Samples of class `true` predicted as `predicted`, most confident mistakes first."""
        t, p = self.index[true], self.index[predicted]
        rows = np.flatnonzero((self.y_true == t) & (self.y_pred == p))
        probs = self.result.probs
        table = pd.DataFrame(
            {
                "path": [self.result.paths[r] for r in rows],
                "true": true,
                "predicted": predicted,
                "confidence": probs[rows, p],
                "prob_true": probs[rows, t],
            }
        )
        return table.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)

    def pairs_of(self, name: str, n: int = 8) -> list[tuple[str, str, int]]:
        """(true, predicted, count) pairs involving `name` in either role, largest first."""
        i = self.index[name]
        pairs = [(name, self.classes[j], int(self.confusion[i, j])) for j in range(len(self.classes)) if j != i]
        pairs += [(self.classes[j], name, int(self.confusion[j, i])) for j in range(len(self.classes)) if j != i]
        return sorted((p for p in pairs if p[2] > 0), key=lambda p: -p[2])[:n]

    def card(self, name: str) -> dict:
        row = self.table.loc[name]
        return {
            "class": name,
            **{k: float(row[k]) for k in ("precision", "recall", "specificity", "f1")},
            "support": int(row["support"]),
            "confused_with": self.confused_with(name),
        }
