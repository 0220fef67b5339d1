"""Figures: training curves, confusion-matrix heatmaps, image galleries, scaling curves.

In the manner of scikit-learn's ``ConfusionMatrixDisplay``: a display holds computed numbers,
``.plot(ax=None)`` draws them and returns the display (with ``figure_`` and ``ax_``/``axes_``),
and ``.save(path)`` writes the figure atomically. Computing never happens while drawing.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from ..evaluation.gradcam import cam_maps
from ..evaluation.metrics import most_confused_classes, normalise
from ..files import atomic_savefig

__all__ = [
    "TrainingCurves",
    "ConfusionHeatmap",
    "PredictionGallery",
    "DIMENSION_COLOURS",
    "ScalingCurves",
    "GainOverBase",
    "overlay",
    "cam_figure",
]


def _axes(ax, ncols=1, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is not None:
        axes = np.atleast_1d(ax)
        return axes[0].figure, axes
    fig, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained")
    return fig, np.atleast_1d(axes)


def _matrix_axes(ax, labels: list[str], side: float):
    """A square matrix axes and its colour-bar axes, margins sized from the longest tick label
    (fixed placement: a layout engine would measure every label again on each draw)."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax, None
    label = 0.075 * max((len(c) for c in labels), default=0) + 0.55
    width, height = label + side + 1.3, label + side + 0.75
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((label / width, label / height, side / width, side / height))
    cax = fig.add_axes(((label + side + 0.15) / width, label / height, 0.18 / width, side / height))
    return fig, ax, cax


class _Display:
    figure_: matplotlib.figure.Figure

    def save(self, path, dpi=120) -> Path:
        return atomic_savefig(self.figure_, path, dpi=dpi, bbox_inches="tight")


class TrainingCurves(_Display):
    """Loss and accuracy per epoch, train against validation."""

    def __init__(self, history: pd.DataFrame | list[dict]):
        self.history = pd.DataFrame(history)

    def plot(self, ax=None, title=None):
        self.figure_, self.axes_ = _axes(ax, 2, (10, 3.8))
        h = self.history
        for ax_, metric in zip(self.axes_, ("loss", "acc")):
            ax_.plot(h["epoch"], h[f"train_{metric}"], "o-", label="train")
            ax_.plot(h["epoch"], h[f"val_{metric}"], "s-", label="validation")
            ax_.set_xlabel("epoch")
            ax_.set_ylabel("cross-entropy" if metric == "loss" else "accuracy")
            ax_.grid(alpha=0.3)
            ax_.legend()
        if title:
            self.figure_.suptitle(title)
        return self


class ConfusionHeatmap(_Display):
    """A confusion matrix as a heatmap; large ones are cut to the most-confused classes.

    Drawn with plain matplotlib (`imshow`, figure margins sized from the labels, only non-zero cells
    written): the explorer redraws it on every click, and a layout engine or a heatmap library
    measures every label again on each draw."""

    def __init__(self, confusion, classes, normalize: str | None = None, max_classes: int = 25, indices=None):
        cm = np.asarray(confusion)
        if indices is None:
            indices = np.arange(len(classes)) if len(classes) <= max_classes else most_confused_classes(cm, max_classes)
        self.indices = np.asarray(indices)
        self.classes = [classes[i] for i in self.indices]
        # Normalise on the full matrix first: a row's share must count errors outside the view too.
        self.values = normalise(cm, normalize)[np.ix_(self.indices, self.indices)]
        self.normalize, self.total_classes = normalize, len(classes)

    def plot(self, ax=None, annot: bool | None = None, cmap="Blues", title=None):
        n = len(self.classes)
        counts = self.normalize in (None, "counts")
        values = self.values.astype(int) if counts else self.values
        self.figure_, self.ax_, cax = _matrix_axes(ax, self.classes, max(3.2, 0.38 * n))
        image = self.ax_.imshow(values, cmap=cmap, vmin=0, vmax=None if counts else 1, interpolation="nearest")
        self.figure_.colorbar(image, cax=cax, ax=None if cax is not None else self.ax_)
        self.ax_.set_xticks(range(n), self.classes, rotation=90, fontsize=9)
        self.ax_.set_yticks(range(n), self.classes, fontsize=9)
        if n <= 25 if annot is None else annot:
            high = values.max() / 2 if values.size else 0
            for (i, j), v in np.ndenumerate(values):
                if v:  # zeros left blank: the few confusions stand out
                    self.ax_.text(
                        j,
                        i,
                        f"{v:d}" if counts else f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if v > high else "black",
                    )
        self.ax_.set_xlabel("predicted class")
        self.ax_.set_ylabel("true class")
        label = {
            None: "counts",
            "counts": "counts",
            "true": "share of each true class",
            "pred": "share of each predicted class",
        }[self.normalize]
        part = "" if n == self.total_classes else f", {n} most-confused of {self.total_classes} classes"
        self.ax_.set_title(title or f"Confusion matrix ({label}{part})", fontsize=10)
        return self


class PredictionGallery(_Display):
    """Images with their top prediction and confidence (green when right, red when wrong)."""

    def __init__(self, images, titles, correct=None):
        self.images = [None if i is None else np.asarray(i) for i in images]
        self.titles = list(titles)
        self.correct = list(correct) if correct is not None else [None] * len(self.images)

    @classmethod
    def from_paths(cls, paths, titles, size: int = 96, correct=None):
        """Image files with a title each (an unreadable file leaves an empty cell)."""
        from ..data.images import load_image

        images = [load_image(p, size) for p in paths]
        return cls([None if img is None else img.permute(1, 2, 0).numpy() for img in images], titles, correct)

    @classmethod
    def from_predictions(
        cls, predictions: pd.DataFrame, max_images: int = 12, size: int = 160, truth_name: str = "true"
    ):
        """`predictions` has path, pred_1, prob_1 and optionally true columns (see `predict`);
        `truth_name` is what the titles call the label ("given" where the label may be wrong)."""
        from ..data.images import load_image

        rows = predictions.head(max_images)
        images, titles, correct = [], [], []
        for _, r in rows.iterrows():
            img = load_image(r["path"], size)
            images.append(None if img is None else img.permute(1, 2, 0).numpy())
            truth = r.get("true") if "true" in r and isinstance(r.get("true"), str) else None
            titles.append(f"{r['pred_1']} ({r['prob_1']:.0%})" + (f"\n{truth_name}: {truth}" if truth else ""))
            correct.append(None if truth is None else truth == r["pred_1"])
        return cls(images, titles, correct)

    def plot(self, ax=None, ncols: int = 5):
        import matplotlib.pyplot as plt

        n = max(1, len(self.images))
        ncols = min(ncols, n)
        nrows = -(-n // ncols)
        if ax is None:
            self.figure_, axes = plt.subplots(
                nrows, ncols, figsize=(2.6 * ncols, 2.9 * nrows), layout="constrained", squeeze=False
            )
        else:
            axes = np.atleast_2d(ax)
            self.figure_ = axes.flat[0].figure
        self.axes_ = axes
        for a in axes.flat:
            a.axis("off")
        for a, img, title, ok in zip(axes.flat, self.images, self.titles, self.correct):
            if img is not None:
                a.imshow(img)
            a.set_title(title, fontsize=9, color={True: "green", False: "red", None: "black"}[ok])
        return self


# One colour per dimension in every scaling figure of notebooks 00-02 (seaborn's colour-blind palette).
DIMENSION_COLOURS = {
    "width": "#0173B2",
    "depth": "#DE8F05",
    "resolution": "#029E73",
    "compound": "#D55E00",
    "base": "#555555",
}


def _colour(name: str):
    """The colour of a curve whose name mentions a dimension (compound first: its name may list them)."""
    for key in ("compound", "width", "depth", "resolution", "base"):
        if key in name:
            return DIMENSION_COLOURS[key]
    return None


class ScalingCurves(_Display):
    """Accuracy against measured MACs (as in the paper's Fig. 3-5): one line per curve, the mean
    over seeds with its standard error (SE) as error bars, each point labelled with its setting.

    The y-axis is fitted to the data, so differences of a point or two are visible; chance is
    written in the x-axis label, not drawn as the axis floor. One seed gives no error bar, and the legend
    says so. Colours follow `DIMENSION_COLOURS` by the curve's name."""

    def __init__(self, curves: dict[str, pd.DataFrame], label: str | None = None, chance: float | None = None):
        """`curves`: name -> rows with macs_ratio, test_mean, test_std, seeds (and `label`'s column)."""
        self.curves, self.label, self.chance = curves, label, chance

    def plot(self, ax=None, title=None, styles: dict[str, str] | None = None):
        self.figure_, axes = _axes(ax, 1, (6, 4.2))
        self.ax_ = axes[0]
        used: dict = {}  # curves of one colour (two width lines) differ by marker and line style
        every_one = True
        for name, c in self.curves.items():
            c = c.sort_values("macs_ratio")
            seeds = c["seeds"] if "seeds" in c else pd.Series(1, index=c.index)
            se = (c.test_std / np.sqrt(seeds)).where(seeds >= 2)
            nth = used[_colour(name)] = used.get(_colour(name), -1) + 1
            fmt = (styles or {}).get(name, ("o-", "s--", "^:", "v-.")[nth % 4])
            one = bool((seeds < 2).all())
            every_one &= one
            self.ax_.errorbar(
                c.macs_ratio,
                c.test_mean,
                yerr=None if one else se.fillna(0),
                fmt=fmt,
                capsize=3,
                color=_colour(name),
                label=name + (" (one seed: no error bar)" if one else ""),
            )
            if self.label and self.label in c:
                for x, y, v in zip(c.macs_ratio, c.test_mean, c[self.label]):
                    self.ax_.annotate(f"{v:g}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        self.ax_.set_xscale("log", base=2)
        note = ""
        if self.chance is not None:  # in the axis label, where no point or point label can lie
            below = ", below the axis" if self.chance < self.ax_.get_ylim()[0] else ""
            note = f"\n(chance: {self.chance:.2f}{below})"
        self.ax_.set_xlabel("MACs, measured (× the base)" + note)
        self.ax_.set_ylabel("test accuracy (one seed)" if every_one else "test accuracy (mean ± SE over seeds)")
        self.ax_.grid(alpha=0.3, which="both")
        self.ax_.legend(fontsize=8, loc="best")
        if title:
            self.ax_.set_title(title, fontsize=10)
        return self


class GainOverBase(_Display):
    """Accuracy points gained over a base network, with a line at zero: one group per setting
    (for example the size of the last stage's maps), one marker per step. The error bars are
    two standard errors, the rule's width: a bar that crosses zero is a tie."""

    def __init__(self, table: pd.DataFrame, group: str, step: str = "step", xlabel: str | None = None):
        """`table`: rows with `group`, `step`, points and points_se (and verdict, written above)."""
        self.table, self.group, self.step, self.xlabel = table, group, step, xlabel

    def plot(self, ax=None, title=None):
        self.figure_, axes = _axes(ax, 1, (6, 4))
        self.ax_ = axes[0]
        groups = list(dict.fromkeys(self.table[self.group]))
        steps = list(dict.fromkeys(self.table[self.step]))
        width = 0.7 / max(len(steps), 1)
        for k, step in enumerate(steps):
            rows = self.table[self.table[self.step] == step].set_index(self.group).reindex(groups)
            x = np.arange(len(groups)) + (k - (len(steps) - 1) / 2) * width
            self.ax_.errorbar(
                x, rows.points, yerr=2 * rows.points_se, fmt="o", capsize=4, color=_colour(str(step)), label=str(step)
            )
            if "verdict" in rows:
                for xi, y, se, v in zip(x, rows.points, rows.points_se, rows.verdict):
                    self.ax_.annotate(
                        str(v), (xi, y + 2 * se), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7
                    )
        self.ax_.axhline(0, color="grey", lw=1)
        self.ax_.set_xticks(np.arange(len(groups)), [str(g) for g in groups])
        self.ax_.set_xlabel(self.xlabel or self.group)
        self.ax_.set_ylabel("points over the base (mean ± 2 SE over seeds)")
        self.ax_.grid(alpha=0.3, axis="y")
        self.ax_.legend(fontsize=8)
        if title:
            self.ax_.set_title(title, fontsize=10)
        return self


def overlay(image_hwc, cam, ax=None, alpha=0.45, title=None):
    """Draw a Grad-CAM map (`gradcam.grad_cam`) over the image (HWC in [0, 1])."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(3.5, 3.5))
    ax.imshow(image_hwc)
    ax.imshow(cam, cmap="jet", alpha=alpha, vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def cam_figure(predictor, path: str, true: str, predicted: str):
    """The image and its Grad-CAM maps for the predicted and for the true class, side by side."""
    import matplotlib.pyplot as plt

    image, maps = cam_maps(predictor, path, (predicted, true))
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), layout="constrained")
    axes[0].imshow(image)
    axes[0].axis("off")
    axes[0].set_title(f"true: {true}", fontsize=9)
    for ax, name, cam in zip(axes[1:], (predicted, true), maps):
        overlay(image, cam, ax, title=f"Grad-CAM for '{name}'")
    return fig
