"""The explorer's views that set one result against others: the embedding map of the images'
features, with a picked image's nearest training images (`EmbeddingView`), and run against run, the
classes that really changed between two networks on the same images (`CompareView`).

The other views, and the helpers every view draws with, are in `explorer_views`.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd

from ..evaluation.embedding import NeighbourIndex
from .diagnostic_plots import EmbeddingMap
from .explorer_views import Blitted, contact_sheet, html_table

__all__ = ["EmbeddingView", "CompareView"]


class EmbeddingView:
    """Every image on the 2-D map of its pooled features; the selected class or confused pair
    highlighted; a picked image shown with its prediction and its nearest training images."""

    def __init__(self):
        self.highlight = W.ToggleButtons(options=["selected class", "confused pair", "nothing"], value="selected class")
        self.picker = W.Dropdown(description="image", layout=W.Layout(width="520px")).add_class("effnet-embedding-pick")
        self.map = W.Image(format="png", layout=W.Layout(width="520px", min_width="520px")).add_class(
            "effnet-embedding"
        )
        self.neighbours = W.Image(format="png")
        self.note = W.HTML()
        self.box = W.VBox([self.highlight, self.picker, self.note, W.HBox([self.map]), self.neighbours])
        self.controls = [self.highlight, self.picker]
        self.canvas = Blitted((6.5, 5.5), dict(left=0.03, right=0.97, bottom=0.03, top=0.93))
        self.index = None  # the training features, normalised once

    def draw(self, ex):
        xy = ex.projection
        if xy is None:
            self.note.value = "<p>This result has no saved features: evaluate again to get the map.</p>"
            return
        a, name = ex.analysis, ex.selected
        mine = np.flatnonzero(a.y_true == a.index[name])
        wrong_first = mine[np.argsort(a.y_true[mine] == a.y_pred[mine], kind="stable")]
        options = [
            (f"{a.result.paths[i].split('/')[-1]}: predicted {a.classes[a.y_pred[i]]}", int(i))
            for i in wrong_first[:50]
        ]
        if [v for _, v in self.picker.options] != [v for _, v in options]:
            self.picker.options = options or [("no images", None)]
            self.picker.value = self.picker.options[0][1]
        picked = self.picker.value
        pair = ex.pair or (name, name)
        shown = {"selected class": [name], "confused pair": list(dict.fromkeys(pair)), "nothing": []}[
            self.highlight.value
        ]
        display = EmbeddingMap(xy, a.y_true, a.y_pred, a.classes, shown, picked)
        self.map.value = self.canvas.render(bool(shown), display.plot_points, display.plot_marks)
        self._neighbours(ex, picked)

    def _neighbours(self, ex, picked):
        a = ex.analysis
        if picked is None:
            self.neighbours.value = b""
            return
        head = [
            (
                a.result.paths[picked],
                f"this image: {a.classes[a.y_pred[picked]]} "
                f"({a.result.probs[picked].max():.0%})\ntrue {a.classes[a.y_true[picked]]}",
                a.y_pred[picked] == a.y_true[picked],
            )
        ]
        if ex.train is not None and ex.train.features is not None:
            self.index = self.index or NeighbourIndex(ex.train.features)
            idx, dist = self.index.query(a.result.features[picked], k=5)
            head += [
                (ex.train.paths[j], f"training image\n{ex.train.classes[ex.train.y_true[j]]} (d {d:.2f})", None)
                for j, d in zip(idx[0], dist[0])
            ]
            self.note.value = "<p>The picked image and the five training images nearest to it in feature space.</p>"
        else:
            self.note.value = "<p>Give the explorer a training-set result (<code>train=</code>) to see neighbours.</p>"
        paths, titles, correct = zip(*head)
        self.neighbours.value = contact_sheet(paths, titles, correct)


class CompareView:
    """This run against another on the same images: each class's change with its test (McNemar,
    Benjamini-Hochberg across classes, a bootstrap interval for F1), and the images that flip."""

    def __init__(self):
        self.table = W.HTML().add_class("effnet-compare")
        self.flips = W.Image(format="png")
        self.box = W.VBox([self.table, self.flips])
        self.controls = []

    def draw(self, ex):
        c = ex.comparison
        if c is None:
            self.table.value = "<p>Give the explorer a second result of the same images (<code>compare=</code>).</p>"
            return
        tested = c["tested"]
        called = tested[tested.verdict != "no change shown"]
        self.table.value = (
            f"<p>accuracy {c['accuracy_a']:.3f} here (a), {c['accuracy_b']:.3f} there (b); "
            f"{len(called)} of {len(tested)} classes changed by the test (q &le; 0.05): "
            f"{(called.verdict == 'b better').sum()} better there, "
            f"{(called.verdict == 'a better').sum()} "
            f"better here</p>"
            + html_table(
                tested[
                    [
                        "support",
                        "recall_a",
                        "recall_b",
                        "right_b_only",
                        "right_a_only",
                        "q_value",
                        "f1_change",
                        "f1_low",
                        "f1_high",
                        "verdict",
                    ]
                ].head(15)
            )
        )
        name = ex.selected
        rows = pd.concat(
            [c["wrong_to_right"].assign(kind="becomes right"), c["right_to_wrong"].assign(kind="becomes wrong")]
        )
        rows = rows[rows.true == name].head(12)
        self.flips.value = contact_sheet(
            rows.path,
            [f"{k}\n{a} -> {b}" for k, a, b in zip(rows.kind, rows.pred_a, rows.pred_b)],
            [k == "becomes right" for k in rows.kind],
        )
