"""Figures of the diagnostics (`evaluation.diagnostics`, `evaluation.embedding`): a confusion matrix
ordered by confusion clusters, a reliability diagram with confidence histograms, an embedding map.

Displays in the manner of scikit-learn's: they hold computed numbers, ``.plot(ax=None)`` draws
them and returns the display, ``.save(path)`` writes the figure atomically.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from ..evaluation.diagnostics import cluster_order, off_diagonal
from ..evaluation.metrics import normalise
from .plots import _Display, _matrix_axes

__all__ = ["OrderedConfusion", "ReliabilityDiagram", "EmbeddingMap"]


class OrderedConfusion(_Display):
    """A confusion matrix with its classes ordered so that confused classes sit together, readable
    at hundreds of classes: counts or shares, the diagonal optionally hidden, a log colour scale."""

    def __init__(self, confusion, classes, normalize: str | None = None, errors_only: bool = True, indices=None):
        cm = np.asarray(confusion)
        self.indices = np.asarray(indices) if indices is not None else cluster_order(cm)
        self.classes = [classes[i] for i in self.indices]
        values = normalise(cm, normalize)[np.ix_(self.indices, self.indices)]
        self.values = off_diagonal(values) if errors_only else values.astype(float)
        self.normalize, self.errors_only, self.total = normalize, errors_only, len(classes)

    def plot(self, ax=None, title=None, labels: bool | None = None):
        n = len(self.classes)
        labels = n <= 60 if labels is None else labels
        self.figure_, self.ax_, cax = _matrix_axes(ax, self.classes if labels else [], min(9.0, max(3.5, 0.22 * n)))
        shown = np.where(self.values > 0, self.values, np.nan)
        positive = shown[np.isfinite(shown)]
        norm = (
            LogNorm(vmin=positive.min(), vmax=positive.max())
            if positive.size and positive.max() > positive.min()
            else None
        )
        image = self.ax_.imshow(shown, cmap="magma_r", norm=norm, interpolation="nearest")
        self.figure_.colorbar(
            image,
            cax=cax,
            ax=None if cax is not None else self.ax_,
            label="count" if self.normalize in (None, "counts") else "share",
        )
        ticks = np.arange(n) if labels else []
        self.ax_.set_xticks(ticks, [self.classes[i] for i in ticks], rotation=90, fontsize=7)
        self.ax_.set_yticks(ticks, [self.classes[i] for i in ticks], fontsize=7)
        self.ax_.set_xlabel("predicted class (ordered by confusion clusters)")
        self.ax_.set_ylabel("true class")
        what = "errors only" if self.errors_only else "all cells"
        scale = {None: "counts", "counts": "counts", "true": "share of true class", "pred": "share of predicted class"}
        part = "" if n == self.total else f", {n} of {self.total} classes"
        self.ax_.set_title(title or f"Confusion, {what} ({scale[self.normalize]}, log colour{part})", fontsize=10)
        return self


class ReliabilityDiagram(_Display):
    """Accuracy against confidence per bin (perfect calibration is the diagonal), with the
    expected calibration error, and the confidences of right and wrong predictions."""

    def __init__(self, calibration: dict):
        self.calibration = calibration

    def plot(self, ax=None, title=None):
        if ax is None:
            # Fixed margins rather than a layout engine: the explorer redraws this on a click.
            self.figure_, self.axes_ = plt.subplots(1, 2, figsize=(10, 4))
            self.figure_.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.91, wspace=0.25)
        else:
            self.axes_ = np.atleast_1d(ax)
            self.figure_ = self.axes_[0].figure
        left, right = self.axes_[0], self.axes_[1]
        self.frame(left)
        left.set_title(title or f"Reliability (ECE {self.calibration['ece']:.3f})")
        self.plot_bins(left)
        bins = np.linspace(0, 1, 21)
        right.hist(self.calibration["right_confidence"], bins=bins, alpha=0.6, label="right", color="C2")
        right.hist(self.calibration["wrong_confidence"], bins=bins, alpha=0.6, label="wrong", color="C3")
        right.set(xlabel="confidence", ylabel="images", title="confidence of right and wrong predictions")
        right.legend(fontsize=8, loc="upper left")
        return self

    @staticmethod
    def frame(ax):
        """The reliability panel's axes, the same for every result (the explorer draws them once)."""
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="accuracy")

    def plot_bins(self, ax) -> list:
        """The reliability panel's contents on a `frame`: each bin's accuracy as a bar and a point at
        its mean confidence, the diagonal, the legend; returns the artists, so a caller can remove them."""
        t = self.calibration["table"].dropna(subset=["accuracy"])
        bars = ax.bar(
            t.low,
            t.accuracy,
            width=t.high - t.low,
            align="edge",
            alpha=0.7,
            color="C0",
            edgecolor="k",
            label="accuracy",
        )
        marks = [bars] + ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        marks += ax.plot(
            t.confidence, t.accuracy, "o", color="C3", label="a bin: x its mean confidence, y its accuracy"
        )
        return marks + [ax.legend(fontsize=8, loc="upper left")]


class EmbeddingMap(_Display):
    """Each image as a point of the 2-D map, coloured by its true class; errors marked, a class or a
    confused pair highlighted, one picked image ringed."""

    def __init__(self, xy, y_true, y_pred, classes, highlight=(), picked: int | None = None):
        self.xy, self.y_true, self.y_pred = np.asarray(xy), np.asarray(y_true), np.asarray(y_pred)
        self.classes, self.highlight, self.picked = list(classes), [classes.index(c) for c in highlight], picked

    def plot(self, ax=None, title=None):
        self.plot_points(ax, title)
        self.plot_marks()
        return self

    def plot_points(self, ax=None, title=None):
        """Every image's point, faded when something is highlighted: the part of the map that stays
        the same while the highlight and the picked image change (the explorer draws it once)."""
        if ax is None:
            self.figure_, self.ax_ = plt.subplots(figsize=(6.5, 5.5))
            self.figure_.subplots_adjust(left=0.03, right=0.97, bottom=0.03, top=0.93)
        else:
            self.ax_, self.figure_ = ax, ax.figure
        wrong = self.y_true != self.y_pred
        faded = 0.15 if self.highlight else 0.5
        self.ax_.scatter(*self.xy[~wrong].T, c=self.y_true[~wrong], cmap="tab20", s=4, alpha=faded, linewidths=0)
        self.ax_.scatter(
            *self.xy[wrong].T,
            c=self.y_true[wrong],
            cmap="tab20",
            s=14,
            marker="x",
            alpha=faded + 0.2,
            linewidths=0.8,
            label="misclassified",
        )
        self.ax_.set_xticks([])
        self.ax_.set_yticks([])
        self.ax_.set_title(title or f"Embedding map ({wrong.mean():.1%} misclassified)", fontsize=10)
        return self

    def plot_marks(self, ax=None) -> list:
        """The highlighted classes, the ringed image and the legend on the points' axes (or `ax`, where
        the points were drawn before); returns the artists, so that a caller can remove them again."""
        if ax is not None:
            self.ax_, self.figure_ = ax, ax.figure
        marks = []
        for k, c in enumerate(self.highlight):
            mine = self.y_true == c
            marks.append(self.ax_.scatter(*self.xy[mine].T, s=10, color=f"C{k}", label=f"true {self.classes[c]}"))
        if self.picked is not None:
            marks.append(
                self.ax_.scatter(
                    *self.xy[self.picked], s=220, facecolors="none", edgecolors="k", linewidths=2, label="picked image"
                )
            )
        return marks + [self.ax_.legend(fontsize=7, loc="upper right", markerscale=1.5)]
