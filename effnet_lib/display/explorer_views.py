"""The explorer's further views, one tab each: the whole confusion matrix ordered by confusion
clusters, label-issue candidates and calibration (the embedding map and run against run, which
bring in other results, are in `explorer_runs`), and what every view draws with. Each view
computes through `diagnostics` / `embedding` (once, then cached on the explorer) and draws through
`diagnostic_plots`; it reads results and never trains.

A view has a `box` (its widgets) and `draw(explorer)`, called when its tab is shown or the
selected class changes while it is shown; its controls keep their values when the user switches
tabs or classes.
"""

from __future__ import annotations

import html
import io

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import Container
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont

from ..evaluation.diagnostics import calibration_by_class, class_calibration, nearest_of_classes
from .diagnostic_plots import OrderedConfusion, ReliabilityDiagram

__all__ = ["MatrixView", "LabelIssuesView", "CalibrationView", "Blitted", "png", "contact_sheet", "html_table"]


def png(fig) -> bytes:
    buf = io.BytesIO()
    # The figures lay themselves out (a tight box would draw twice); the fastest compression: the
    # picture goes to a browser on the same machine or network, and encoding took a tenth of a click.
    fig.savefig(buf, format="png", dpi=80, pil_kwargs={"compress_level": 1})
    plt.close(fig)
    return buf.getvalue()


class Blitted:
    """A figure whose unchanging part is drawn once and kept as pixels; each render restores those
    pixels and draws only the artists that change (matplotlib's blitting), then encodes the frame
    with Pillow. Drawing 11,000 points takes most of a click's budget; restoring them takes none.

    The figures are made without pyplot, so a notebook never shows or closes them by itself."""

    def __init__(self, figsize, margins: dict):
        self.figsize, self.margins, self.bases = figsize, margins, {}

    def render(self, key, draw_base, draw_marks) -> bytes:
        """`draw_base(ax)` draws the part kept under `key`; `draw_marks(ax)` draws the rest and
        returns its artists (or containers of them), removed again once the frame is encoded."""
        if key not in self.bases:
            figure = Figure(figsize=self.figsize, dpi=80)  # as `png` writes the others
            FigureCanvasAgg(figure)
            ax = figure.add_subplot()
            figure.subplots_adjust(**self.margins)
            draw_base(ax)
            # The frame lies over the marks in a whole drawing: kept out of the pixels, drawn each time.
            ax.spines[:].set_visible(False)
            figure.canvas.draw()
            ax.spines[:].set_visible(True)
            ax.set_autoscale_on(False)  # marks drawn later must land on the pixels kept now
            self.bases[key] = (figure, ax, figure.canvas.copy_from_bbox(figure.bbox))
        figure, ax, pixels = self.bases[key]
        figure.canvas.restore_region(pixels)
        marks = draw_marks(ax)
        # A container (the bars of one `bar` call) is drawn through its children; all in the order
        # a whole drawing uses.
        artists = [a for mark in marks for a in (mark if isinstance(mark, Container) else [mark])]
        for artist in sorted(artists + list(ax.spines.values()), key=lambda a: a.get_zorder()):
            ax.draw_artist(artist)
        frame = Image.fromarray(np.asarray(figure.canvas.buffer_rgba()))
        for mark in marks:
            mark.remove()
        buf = io.BytesIO()
        frame.save(buf, format="png", compress_level=1)
        return buf.getvalue()


_COLOURS = {True: (0, 128, 0), False: (200, 0, 0), None: (0, 0, 0)}


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fit(draw, text: str, font, width: float) -> str:
    """`text` cut to `width` pixels, with an ellipsis when cut (long class names keep their start)."""
    if draw.textlength(text, font=font) <= width:
        return text
    while len(text) > 1 and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def contact_sheet(paths, titles, correct=None, size: int = 96, ncols: int = 6) -> bytes:
    """Images in a grid with a coloured caption each (green right, red wrong), as PNG bytes.

    Drawn with Pillow rather than matplotlib: the explorer redraws galleries on every click, and a
    figure of a dozen axes takes most of a second to lay out and render on a small CPU."""
    from ..data.images import load_image

    paths, titles = list(paths), list(titles)
    if not paths:
        return b""
    correct = list(correct) if correct is not None else [None] * len(paths)
    font, line = _font(11), 13
    lines = max(t.count("\n") + 1 for t in titles)
    cell_w, cell_h = size + 60, size + lines * line + 10
    ncols = min(ncols, len(paths))
    sheet = Image.new("RGB", (ncols * cell_w, -(-len(paths) // ncols) * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (path, title, ok) in enumerate(zip(paths, titles, correct)):
        x, y = (k % ncols) * cell_w, (k // ncols) * cell_h
        for j, text in enumerate(title.split("\n")):
            text = _fit(draw, text, font, cell_w - 4)
            draw.text(
                (x + (cell_w - draw.textlength(text, font=font)) / 2, y + 2 + j * line),
                text,
                fill=_COLOURS[ok],
                font=font,
            )
        img = load_image(path, size)
        if img is not None:
            thumb = Image.fromarray(img.permute(1, 2, 0).numpy())
            thumb.thumbnail((size, size))
            sheet.paste(thumb, (x + (cell_w - thumb.width) // 2, y + lines * line + 6))
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def html_table(frame: pd.DataFrame) -> str:
    return frame.round(3).to_html(border=0, escape=True, classes="effnet-table")


class MatrixView:
    """The whole confusion matrix, classes ordered so that confused ones sit together; a cluster
    opens as its own sub-matrix."""

    def __init__(self):
        self.scope = W.Dropdown(description="show", layout=W.Layout(width="520px")).add_class("effnet-cluster")
        self.scale = W.ToggleButtons(options=["counts", "share of true class"], value="counts")
        self.errors_only = W.Checkbox(value=True, description="errors only (hide the diagonal)")
        self.image = W.Image(format="png").add_class("effnet-ordered-matrix")
        self.box = W.VBox([W.HBox([self.scope, self.errors_only]), self.scale, self.image])
        self.controls = [self.scope, self.scale, self.errors_only]
        self.drawn = {}  # the matrix does not depend on the selected class: each setting drawn once

    def draw(self, ex):
        clusters = ex.clusters
        options = [("all classes, ordered by confusion clusters", None)] + [
            (f"cluster {k + 1}: {', '.join(g[:4])}{' ...' if len(g) > 4 else ''} ({len(g)} classes)", k)
            for k, g in enumerate(clusters)
        ]
        if [v for _, v in self.scope.options] != [v for _, v in options]:
            keep = self.scope.value
            self.scope.options = options
            self.scope.value = keep if keep in [v for _, v in options] else None
        k = self.scope.value
        key = (k, self.scale.value, self.errors_only.value)
        if key not in self.drawn:
            self.drawn[key] = self._png(ex, k)
        self.image.value = self.drawn[key]

    def _png(self, ex, k) -> bytes:
        clusters, order = ex.clusters, ex.order
        if k is not None:
            keep = {ex.analysis.index[c] for c in clusters[k]}
            order = np.array([i for i in order if i in keep])
        display = OrderedConfusion(
            ex.analysis.confusion,
            ex.analysis.classes,
            indices=order,
            normalize=None if self.scale.value == "counts" else "true",
            errors_only=self.errors_only.value,
        )
        return png(display.plot().figure_)


class LabelIssuesView:
    """The images whose labels the model finds least likely, the first of them beside its nearest
    training images of the given and of the believed class, and the classes it confidently mixes."""

    def __init__(self):
        self.only_class = W.Checkbox(value=False, description="only the selected class")
        self.table = W.HTML().add_class("effnet-label-issues")
        self.images = W.Image(format="png")
        self.neighbours_note = W.HTML()
        self.neighbours = W.Image(format="png")
        self.pairs = W.HTML()
        self.box = W.VBox(
            [
                self.only_class,
                self.table,
                self.images,
                self.neighbours_note,
                self.neighbours,
                W.HTML("<b>Overlapping classes</b>"),
                self.pairs,
            ]
        )
        self.controls = [self.only_class]

    def draw(self, ex):
        issues = ex.label_issues
        if self.only_class.value and ex.selected is not None:
            issues = issues[issues.given == ex.selected]
        top = issues.head(12)
        self.table.value = html_table(
            top[["path", "given", "suggested", "p_given", "p_suggested", "margin"]].assign(
                path=[p.split("/")[-1] for p in top.path]
            )
        )
        self.images.value = contact_sheet(
            top.path,
            [f"labelled {g}\nlooks {s} ({p:.0%})" for g, s, p in zip(top.given, top.suggested, top.p_suggested)],
        )
        self._draw_neighbours(ex, top)
        self.pairs.value = html_table(ex.overlapping)

    def _draw_neighbours(self, ex, top):
        features = ex.analysis.result.features
        if ex.train is None or features is None or ex.train.features is None or top.empty:
            self.neighbours_note.value, self.neighbours.value = "", b""
            return
        first = top.iloc[0]
        near = nearest_of_classes(features[first["index"]], ex.train, [first.given, first.suggested], k=4)
        self.neighbours_note.value = (
            f"<p>The first candidate beside the training images nearest to it (pooled "
            f"features, cosine) labelled <b>{html.escape(first.given)}</b> and labelled "
            f"<b>{html.escape(first.suggested)}</b>: which does it resemble?</p>"
        )
        paths = [first.path] + near[first.given] + near[first.suggested]
        titles = (
            ["candidate"]
            + [f"train: {first.given}"] * len(near[first.given])
            + [f"train: {first.suggested}"] * len(near[first.suggested])
        )
        self.neighbours.value = contact_sheet(paths, titles, ncols=9)


class CalibrationView:
    """Reliability diagram and expected calibration error overall, the worst-calibrated classes,
    and the selected class's own diagram (the images predicted as that class)."""

    def __init__(self):
        self.image = W.Image(format="png").add_class("effnet-calibration")
        self.text, self.worst = W.HTML(), W.HTML()
        # Blitted frames have a fixed size: said here, or some frontends (Voila) stretch them.
        self.mine = W.Image(format="png", layout=W.Layout(width="400px", min_width="400px")).add_class(
            "effnet-class-calibration"
        )
        self.box = W.VBox([self.text, self.image, W.HBox([self.mine, self.worst])])
        self.controls = []
        self.overall = None  # the same for every class: drawn once
        self.canvas = Blitted((5, 3.6), dict(left=0.11, right=0.97, bottom=0.14, top=0.97))

    def draw(self, ex):
        cal, name = ex.calibration, ex.selected
        if self.overall is None:
            self.overall = png(ReliabilityDiagram(cal).plot().figure_)
            r = ex.analysis.result
            worst = calibration_by_class(r.y_true, r.probs, r.classes, n=5)
            self.worst.value = (
                "<p>Worst-calibrated classes (the ECE of the images predicted as each). Even a "
                "perfectly calibrated model shows an ECE on few images: <i>floor_p95</i> is the 95th "
                "percentile of its ECE there; only an ECE above it is a sign of miscalibration.</p>" + html_table(worst)
            )
        self.image.value = self.overall
        mine = cal["per_class_ece"].get(name)
        self.text.value = (
            f"<p>Expected calibration error {cal['ece']:.3f} overall"
            + (
                f"; {mine:.3f} for the images predicted as <b>{html.escape(name)}</b> (below, left)"
                if mine is not None
                else f"; no image is predicted as <b>{html.escape(name)}</b>"
            )
            + ".</p>"
        )
        if mine is None:
            self.mine.value = b""
            return
        r = ex.analysis.result
        one = ReliabilityDiagram(class_calibration(r.y_true, r.probs, r.classes, name))
        self.mine.value = self.canvas.render("frame", ReliabilityDiagram.frame, one.plot_bins)
