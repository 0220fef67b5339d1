"""`ConfusionExplorer`: an ipywidgets view of where a classifier goes wrong, for 5 to 400 classes.

The *Classes* tab: pick a class (type to search, sort by any metric), see its metrics card and
its row of the confusion matrix among its most-confused neighbours (counts, or normalised by true
or predicted class), choose a confused pair to see those images with their confidence, ask
Grad-CAM where the model looked, and save the view as a PNG for a handout. Further tabs
(`explorer_views`, `explorer_runs`): the whole matrix ordered by confusion clusters, label-issue candidates,
calibration, the embedding map with nearest training images, and run against run.

The widget only wires controls to `error_analysis`, `diagnostics`, `embedding` and `gradcam`
(the answers) and to the displays of `plots` / `diagnostic_plots` (the pictures); it reads results
and never trains. Whatever is expensive (the cluster order, calibration, label issues, the 2-D
projection) is computed once, the first time it is needed. Figures are rendered to PNG bytes, so
what the browser shows, what a test measures and what is saved are the same pictures; the state
(selected class, pair, every tab's controls) is kept when switching tabs or classes.
"""

from __future__ import annotations

import gc
import html
import io
import time
from functools import cached_property
from pathlib import Path

import ipywidgets as W
import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from ..errors import InputError
from ..evaluation.diagnostics import (
    calibration,
    cluster_order,
    compare_results,
    confusion_clusters,
    label_issues,
    overlapping_classes,
)
from ..evaluation.embedding import projection
from ..evaluation.error_analysis import ErrorAnalysis
from ..evaluation.results import EvalResult
from ..files import atomic_savefig
from .explorer_runs import CompareView, EmbeddingView
from .explorer_views import CalibrationView, LabelIssuesView, MatrixView, contact_sheet, png
from .plots import ConfusionHeatmap, cam_figure

__all__ = ["SORTS", "NORMALISE", "TABS", "ConfusionExplorer"]

SORTS = {
    "F1, worst first": ("f1", True),
    "recall, worst first": ("recall", True),
    "precision, worst first": ("precision", True),
    "specificity, worst first": ("specificity", True),
    "errors, most first": ("errors", False),
    "support, most first": ("support", False),
    "name": (None, True),
}
NORMALISE = {"counts": "counts", "share of true class": "true", "share of predicted class": "pred"}
BUSY = "<i class='effnet-busy'>working&hellip;</i>"
TABS = ("Classes", "Confusion matrix", "Label issues", "Calibration", "Embedding map", "Run against run")


def _set_image(widget: W.Image, data: bytes):
    """An empty image shows a broken-image icon in the browser: hide it instead."""
    widget.value = data
    widget.layout.display = None if data else "none"


class ConfusionExplorer:
    """Interactive error explorer over an `EvalResult`. Optional: a `Predictor` (Grad-CAM), the
    result on the training images (`train`: nearest neighbours), a second result on the same
    images (`compare`), and the folder to cache the 2-D projection in (`cache_dir`)."""

    def __init__(
        self,
        result: EvalResult,
        predictor=None,
        neighbours: int = 8,
        gallery: int = 10,
        train: EvalResult | None = None,
        compare: EvalResult | None = None,
        cache_dir=None,
    ):
        self.analysis = ErrorAnalysis(result)
        self.predictor, self.n_neighbours, self.n_gallery = predictor, neighbours, gallery
        self.train, self.other, self.cache_dir = train, compare, cache_dir
        self.timings: dict[str, float] = {}
        self._refilling, self._shown = False, None
        self._build_class_tab()
        self.views = {
            "Confusion matrix": MatrixView(),
            "Label issues": LabelIssuesView(),
            "Calibration": CalibrationView(),
            "Embedding map": EmbeddingView(),
            "Run against run": CompareView(),
        }
        self.tabs = W.Tab(children=[self.class_tab] + [v.box for v in self.views.values()]).add_class("effnet-tabs")
        for i, name in enumerate(TABS):
            self.tabs.set_title(i, name)
        self.widget = W.VBox([self.tabs, self.status]).add_class("effnet-explorer")
        self._drawing = self._class_stale = False
        self.tabs.observe(lambda _: self._timed("tab", self._draw_view), "selected_index")
        for view in self.views.values():
            for control in view.controls:
                control.observe(lambda _, v=view: self._timed("view", lambda: self._draw(v)), "value")
        self._fill_list()

    def _build_class_tab(self):
        self.search = W.Text(placeholder="type to filter classes", description="search").add_class(
            "effnet-class-search"
        )
        self.sort = W.Dropdown(options=list(SORTS), value="F1, worst first", description="sort by")
        self.class_list = W.Select(rows=14, layout=W.Layout(width="340px")).add_class("effnet-class-list")
        self.normalize = W.ToggleButtons(options=list(NORMALISE), value="counts").add_class("effnet-normalize")
        self.heatmap = W.Image(format="png").add_class("effnet-heatmap")
        self.card = W.HTML().add_class("effnet-card")
        self.pairs = W.Dropdown(description="confused pair", layout=W.Layout(width="460px")).add_class("effnet-pairs")
        self.gallery = W.Image(format="png").add_class("effnet-gallery")
        self.image = W.Dropdown(description="image", layout=W.Layout(width="460px"))
        self.cam_button = W.Button(
            description="Grad-CAM",
            disabled=self.predictor is None,
            tooltip="where the model looked" if self.predictor else "needs a Predictor",
        )
        self.cam = W.Image(format="png", layout=W.Layout(display="none")).add_class("effnet-cam")
        self.save_path = W.Text(value="explorer-view.png", description="save as")
        self.save_button = W.Button(description="Save view as PNG")
        self.status = W.HTML().add_class("effnet-status")
        self.class_tab = W.VBox(
            [
                W.HBox([W.VBox([self.search, self.sort, self.class_list]), self.card]),
                W.VBox([self.normalize, self.heatmap]),
                W.HTML("<b>Confused images</b>"),
                self.pairs,
                self.gallery,
                W.HBox([self.image, self.cam_button]),
                self.cam,
                W.HBox([self.save_path, self.save_button]),
            ]
        )
        self.search.observe(lambda _: self._timed("search", self._fill_list), "value")
        self.sort.observe(lambda _: self._timed("sort", self._fill_list), "value")
        self.class_list.observe(lambda _: None if self._refilling else self._timed("class", self._show_class), "value")
        self.normalize.observe(lambda _: self._timed("normalise", self._draw_heatmap), "value")
        self.pairs.observe(lambda _: None if self._refilling else self._timed("pair", self._show_pair), "value")
        self.cam_button.on_click(lambda _: self._timed("gradcam", self._show_cam))
        self.save_button.on_click(lambda _: self._timed("save", self.save))

    # -- what the views need, computed once --------------------------------------------------------

    @cached_property
    def order(self):
        return cluster_order(self.analysis.confusion)

    @cached_property
    def clusters(self) -> list[list[str]]:
        return confusion_clusters(self.analysis.confusion, self.analysis.classes)

    @cached_property
    def calibration(self) -> dict:
        r = self.analysis.result
        return calibration(r.y_true, r.probs, r.classes)

    @cached_property
    def label_issues(self) -> pd.DataFrame:
        r = self.analysis.result
        return label_issues(r.y_true, r.probs, r.paths, r.classes)

    @cached_property
    def overlapping(self) -> pd.DataFrame:
        r = self.analysis.result
        return overlapping_classes(r.y_true, r.probs, r.classes)

    @cached_property
    def projection(self):
        f = self.analysis.result.features
        return None if f is None or len(f) < 4 else projection(f, self.cache_dir)

    @cached_property
    def comparison(self):
        if self.other is None:
            return None
        try:
            return compare_results(self.analysis.result, self.other, tested=True, n_boot=500)
        except ValueError as e:
            raise InputError(f"compare: {e}") from None

    # -- wiring ---------------------------------------------------------------------------------

    def _timed(self, name, fn):
        start = time.perf_counter()
        # A full garbage collection over a notebook kernel's heap can take half a second; while a
        # click is handled it waits, and runs once the kernel is idle again.
        collecting = gc.isenabled()
        gc.disable()
        # Shown while the kernel works; most clicks clear it within 0.1 s, a tab's first visit
        # (which computes what it shows, once per result: the 2-D map takes seconds) keeps it up.
        self.status.value = BUSY
        try:
            fn()
            if self.status.value == BUSY:
                self.status.value = ""
        except Exception as e:  # show it in the widget; a callback's traceback would be lost
            self.status.value = (
                f"<span style='color:#b00'>{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>"
            )
            raise
        finally:
            if collecting:
                gc.enable()
        self.timings[name] = time.perf_counter() - start

    @property
    def selected(self) -> str | None:
        return self.class_list.value

    @property
    def pair(self):
        return self.pairs.value

    def _draw_view(self):
        name = TABS[self.tabs.selected_index or 0]
        if name == "Classes":  # the class may have changed while another tab was shown
            self._refresh_class_tab()
        if name in self.views:
            self._draw(self.views[name])

    def _draw(self, view):
        if self._drawing or self.selected is None:  # a view that refills its own options draws once
            return
        self._drawing = True
        try:
            view.draw(self)
        finally:
            self._drawing = False

    def _fill_list(self):
        column, ascending = SORTS[self.sort.value]
        label = column or "f1"
        table = self.analysis.class_table(label, ascending)
        order = sorted(table.index) if column is None else list(table.index)
        names = self.analysis.search(self.search.value, order)
        values = table[label].to_dict()
        fmt = "{:.0f}" if label in ("support", "errors") else "{:.2f}"
        current = self.class_list.value
        # Refilling the list moves the selection through intermediate values: redraw once, after.
        self._refilling = True
        try:
            self.class_list.options = [(f"{n}  ({label} {fmt.format(values[n])})", n) for n in names]
            self.class_list.value = current if current in names else (names[0] if names else None)
        finally:
            self._refilling = False
        if self.class_list.value != self._shown:
            self._show_class()

    def _show_class(self):
        name = self._shown = self.selected
        if name is None:
            return
        self.card.value = self._card_html(name)
        self._draw_heatmap()
        pairs = self.analysis.pairs_of(name)
        self._refilling = True  # setting the options selects the first one: draw it once, below
        try:
            self.pairs.options = [(f"{t} → predicted {p}  ({n} images)", (t, p)) for t, p, n in pairs] or [
                ("no confusions", None)
            ]
            self.pairs.value = self.pairs.options[0][1]
        finally:
            self._refilling = False
        self._show_pair()
        self._draw_view()

    def _card_html(self, name) -> str:
        c = self.analysis.card(name)
        rows = "".join(
            f"<tr><td>{html.escape(r['class'])}</td><td>{r['taken for it']}</td><td>{r['it is taken for']}</td></tr>"
            for _, r in c["confused_with"].iterrows()
        )
        metrics = "".join(
            f"<tr><td>{k}</td><td><b>{c[k]:.3f}</b></td></tr>" for k in ("precision", "recall", "specificity", "f1")
        )
        return (
            f"<div style='padding:0 12px'><h3 style='margin:4px 0'>{html.escape(name)}</h3>"
            f"<table>{metrics.replace('>f1<', '>F1<')}<tr><td>support</td>"
            f"<td><b>{c['support']}</b></td></tr></table>"
            f"<p style='margin:6px 0 2px'>confused with</p><table><tr><th>class</th><th>taken for it</th>"
            f"<th>it is taken for</th></tr>{rows or '<tr><td colspan=3>no confusions</td></tr>'}</table></div>"
        )

    def heatmap_figure(self):
        idx = self.analysis.neighbours(self.selected, self.n_neighbours)
        display = ConfusionHeatmap(
            self.analysis.confusion, self.analysis.classes, normalize=NORMALISE[self.normalize.value], indices=idx
        )
        part = "" if len(idx) == len(self.analysis.classes) else f"\nand its {len(idx) - 1} most-confused classes"
        fig = display.plot(title=f"{self.selected}{part}").figure_
        display.ax_.title.set_wrap(True)
        return fig

    def _on_class_tab(self) -> bool:
        return TABS[self.tabs.selected_index or 0] == "Classes"

    def _draw_heatmap(self):
        if self._on_class_tab():
            self._render_heatmap()
        else:  # drawn when the Classes tab is shown again: a click draws only what is on screen
            self._class_stale = True

    def _render_heatmap(self):
        if self.selected is not None:
            self.heatmap.value = png(self.heatmap_figure())

    def pair_images(self) -> pd.DataFrame:
        """The confused pair's images, most confident mistakes first (what the gallery shows)."""
        return self.analysis.misclassified(*self.pair).head(self.n_gallery) if self.pair else pd.DataFrame()

    def _render_gallery(self):
        samples = self.pair_images()
        _set_image(
            self.gallery,
            contact_sheet(
                samples["path"],
                [
                    f"{p} ({c:.0%})\ntrue: {t}"
                    for p, c, t in zip(samples["predicted"], samples["confidence"], samples["true"])
                ],
                [False] * len(samples),
            )
            if len(samples)
            else b"",
        )

    def _show_pair(self):
        samples = self.pair_images()
        self.image.options = [
            (f"{i + 1}: {p.split('/')[-1]} ({c:.0%})", p)
            for i, (p, c) in enumerate(zip(samples.get("path", []), samples.get("confidence", [])))
        ]
        self.image.value = self.image.options[0][1] if self.image.options else None
        _set_image(self.cam, b"")
        if self._on_class_tab():
            self._render_gallery()
        else:
            self._class_stale = True

    def _refresh_class_tab(self):
        if self._class_stale:
            self._class_stale = False
            self._render_heatmap()
            self._render_gallery()

    def cam_figure(self):
        true, predicted = self.pair
        return cam_figure(self.predictor, self.image.value, true, predicted)

    def _show_cam(self):
        if self.predictor is not None and self.image.value:
            _set_image(self.cam, png(self.cam_figure()))

    def save(self, path=None):
        """Write the current class view (heatmap, gallery, Grad-CAM) as one PNG."""
        path = Path(path or self.save_path.value)
        self._refresh_class_tab()
        parts = [Image.open(io.BytesIO(w.value)) for w in (self.heatmap, self.gallery, self.cam) if w.value]
        c = self.analysis.card(self.selected)
        text = (
            f"{self.selected}: precision {c['precision']:.3f}, recall {c['recall']:.3f}, "
            f"specificity {c['specificity']:.3f}, F1 {c['f1']:.3f}, support {c['support']}"
        )
        total, width = sum(p.height for p in parts) + 40, max(p.width for p in parts)
        fig = plt.figure(figsize=(width / 90, total / 90), dpi=90)
        fig.text(0.01, 1 - 20 / total, text, fontsize=10)
        top = 40
        for p in parts:
            ax = fig.add_axes([0, 1 - (top + p.height) / total, p.width / width, p.height / total])
            ax.imshow(p)
            ax.axis("off")
            top += p.height
        atomic_savefig(fig, path, dpi=90)
        plt.close(fig)
        self.status.value = f"saved {html.escape(str(path))}"
        return path

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
