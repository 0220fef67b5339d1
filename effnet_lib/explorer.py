"""`ConfusionExplorer`: an ipywidgets view of where a classifier goes wrong, for 5 to 400 classes.

Pick a class (type to search, sort by any metric), see its metrics card and its row of the
confusion matrix among its most-confused neighbours (counts, or normalised by true or predicted
class), choose a confused pair to see those images with their confidence, ask Grad-CAM where the
model looked, and save the view as a PNG for a handout.

The widget only wires controls to `effnet_lib.errors` (the answers) and `effnet_lib.plots`
(the pictures); it reads results and never trains. Figures are rendered to PNG bytes, so what the
browser shows, what a test measures and what is saved are the same pictures.
"""

from __future__ import annotations

import html
import io
import time

import ipywidgets as W
from .errors import ErrorAnalysis
from .io import atomic_savefig
from .predict import EvalResult

SORTS = {"F1, worst first": ("f1", True), "recall, worst first": ("recall", True),
         "precision, worst first": ("precision", True), "specificity, worst first": ("specificity", True),
         "errors, most first": ("errors", False), "support, most first": ("support", False),
         "name": (None, True)}
NORMALISE = {"counts": "counts", "share of true class": "true", "share of predicted class": "pred"}


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _set_image(widget: W.Image, png: bytes):
    """An empty image shows a broken-image icon in the browser: hide it instead."""
    widget.value = png
    widget.layout.display = None if png else "none"


class ConfusionExplorer:
    """Interactive per-class error explorer over an `EvalResult` (Grad-CAM needs a `Predictor`)."""

    def __init__(self, result: EvalResult, predictor=None, neighbours: int = 8, gallery: int = 10):
        self.analysis = ErrorAnalysis(result)
        self.predictor, self.n_neighbours, self.n_gallery = predictor, neighbours, gallery
        self.timings: dict[str, float] = {}
        self._refilling, self._shown = False, None

        self.search = W.Text(placeholder="type to filter classes", description="search").add_class("effnet-class-search")
        self.sort = W.Dropdown(options=list(SORTS), value="F1, worst first", description="sort by")
        self.class_list = W.Select(rows=14, layout=W.Layout(width="340px")).add_class("effnet-class-list")
        self.normalize = W.ToggleButtons(options=list(NORMALISE), value="counts").add_class("effnet-normalize")
        self.heatmap = W.Image(format="png").add_class("effnet-heatmap")
        self.card = W.HTML().add_class("effnet-card")
        self.pairs = W.Dropdown(description="confused pair", layout=W.Layout(width="460px")).add_class("effnet-pairs")
        self.gallery = W.Image(format="png").add_class("effnet-gallery")
        self.image = W.Dropdown(description="image", layout=W.Layout(width="460px"))
        self.cam_button = W.Button(description="Grad-CAM", disabled=predictor is None,
                                   tooltip="where the model looked" if predictor else "needs a Predictor")
        self.cam = W.Image(format="png", layout=W.Layout(display="none")).add_class("effnet-cam")
        self.save_path = W.Text(value="explorer-view.png", description="save as")
        self.save_button = W.Button(description="Save view as PNG")
        self.status = W.HTML().add_class("effnet-status")

        left = W.VBox([self.search, self.sort, self.class_list])
        right = W.VBox([self.normalize, self.heatmap])
        self.widget = W.VBox([
            W.HBox([left, self.card]), right,
            W.HTML("<b>Confused images</b>"), self.pairs, self.gallery,
            W.HBox([self.image, self.cam_button]), self.cam,
            W.HBox([self.save_path, self.save_button]), self.status,
        ]).add_class("effnet-explorer")

        self.search.observe(lambda _: self._timed("search", self._fill_list), "value")
        self.sort.observe(lambda _: self._timed("sort", self._fill_list), "value")
        self.class_list.observe(lambda _: None if self._refilling else self._timed("class", self._show_class), "value")
        self.normalize.observe(lambda _: self._timed("normalise", self._draw_heatmap), "value")
        self.pairs.observe(lambda _: None if self._refilling else self._timed("pair", self._show_pair), "value")
        self.cam_button.on_click(lambda _: self._timed("gradcam", self._show_cam))
        self.save_button.on_click(lambda _: self._timed("save", self.save))
        self._fill_list()

    # -- wiring ---------------------------------------------------------------------------------

    def _timed(self, name, fn):
        start = time.perf_counter()
        try:
            fn()
        except Exception as e:  # show it in the widget; a callback's traceback would be lost
            self.status.value = f"<span style='color:#b00'>{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>"
            raise
        self.timings[name] = time.perf_counter() - start

    @property
    def selected(self) -> str | None:
        return self.class_list.value

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
        c = self.analysis.card(name)
        rows = "".join(f"<tr><td>{html.escape(r['class'])}</td><td>{r['taken for it']}</td>"
                       f"<td>{r['it is taken for']}</td></tr>" for _, r in c["confused_with"].iterrows())
        self.card.value = (
            f"<div style='padding:0 12px'><h3 style='margin:4px 0'>{html.escape(name)}</h3>"
            f"<table><tr><td>precision</td><td><b>{c['precision']:.3f}</b></td></tr>"
            f"<tr><td>recall</td><td><b>{c['recall']:.3f}</b></td></tr>"
            f"<tr><td>specificity</td><td><b>{c['specificity']:.3f}</b></td></tr>"
            f"<tr><td>F1</td><td><b>{c['f1']:.3f}</b></td></tr>"
            f"<tr><td>support</td><td><b>{c['support']}</b></td></tr></table>"
            f"<p style='margin:6px 0 2px'>confused with</p><table><tr><th>class</th><th>taken for it</th>"
            f"<th>it is taken for</th></tr>{rows or '<tr><td colspan=3>no confusions</td></tr>'}</table></div>")
        self._draw_heatmap()
        pairs = self.analysis.pairs_of(name)
        self._refilling = True  # setting the options selects the first one: draw it once, below
        try:
            self.pairs.options = [(f"{t} → predicted {p}  ({n} images)", (t, p)) for t, p, n in pairs] or [("no confusions", None)]
            self.pairs.value = self.pairs.options[0][1]
        finally:
            self._refilling = False
        self._show_pair()

    def heatmap_figure(self):
        from .plots import ConfusionHeatmap
        idx = self.analysis.neighbours(self.selected, self.n_neighbours)
        display = ConfusionHeatmap(self.analysis.confusion, self.analysis.classes,
                                   normalize=NORMALISE[self.normalize.value], indices=idx)
        part = "" if len(idx) == len(self.analysis.classes) else f"\nand its {len(idx) - 1} most-confused classes"
        fig = display.plot(title=f"{self.selected}{part}").figure_
        display.ax_.title.set_wrap(True)
        return fig

    def _draw_heatmap(self):
        if self.selected is not None:
            self.heatmap.value = _png(self.heatmap_figure())

    def gallery_figure(self):
        from .plots import PredictionGallery
        import pandas as pd
        pair = self.pairs.value
        if pair is None:
            return None
        samples = self.analysis.misclassified(*pair).head(self.n_gallery)
        table = pd.DataFrame({"path": samples["path"], "pred_1": samples["predicted"],
                              "prob_1": samples["confidence"], "true": samples["true"]})
        self.image.options = [(f"{i + 1}: {p.split('/')[-1]} ({c:.0%})", p)
                              for i, (p, c) in enumerate(zip(samples["path"], samples["confidence"]))]
        self.image.value = self.image.options[0][1] if self.image.options else None
        return PredictionGallery.from_predictions(table, max_images=self.n_gallery, size=96).plot().figure_

    def _show_pair(self):
        fig = self.gallery_figure()
        _set_image(self.gallery, _png(fig) if fig is not None else b"")
        _set_image(self.cam, b"")

    def cam_figure(self):
        from .data import load_image
        from .gradcam import grad_cam, overlay
        import matplotlib.pyplot as plt
        path = self.image.value
        tf = self.predictor.transforms
        x = tf.eval()(load_image(path, tf.working_size))[None].to(self.predictor.device)
        true, predicted = self.pairs.value
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.2), layout="constrained")
        image = tf.to_image(x[0].cpu()).numpy()
        axes[0].imshow(image)
        axes[0].axis("off")
        axes[0].set_title(f"true: {true}", fontsize=9)
        for ax, name in zip(axes[1:], (predicted, true)):
            cam, _ = grad_cam(self.predictor.model, x, self.predictor.classes.index(name))
            overlay(image, cam.cpu().numpy(), ax, title=f"Grad-CAM for '{name}'")
        return fig

    def _show_cam(self):
        if self.predictor is not None and self.image.value:
            _set_image(self.cam, _png(self.cam_figure()))

    def save(self, path=None):
        """Write the current view (heatmap, card figures, gallery) as one PNG."""
        import matplotlib.pyplot as plt
        from PIL import Image
        path = path or self.save_path.value
        parts = [Image.open(io.BytesIO(w.value)) for w in (self.heatmap, self.gallery, self.cam) if w.value]
        c = self.analysis.card(self.selected)
        text = (f"{self.selected}: precision {c['precision']:.3f}, recall {c['recall']:.3f}, "
                f"specificity {c['specificity']:.3f}, F1 {c['f1']:.3f}, support {c['support']}")
        heights = [p.height for p in parts]
        fig = plt.figure(figsize=(max(p.width for p in parts) / 90, (sum(heights) + 40) / 90), dpi=90)
        fig.text(0.01, 1 - 20 / (sum(heights) + 40), text, fontsize=10)
        top = 40
        for p in parts:
            ax = fig.add_axes([0, 1 - (top + p.height) / (sum(heights) + 40), p.width / (max(q.width for q in parts)),
                               p.height / (sum(heights) + 40)])
            ax.imshow(p)
            ax.axis("off")
            top += p.height
        atomic_savefig(fig, path, dpi=90)
        plt.close(fig)
        self.status.value = f"saved {html.escape(str(path))}"
        return path

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
