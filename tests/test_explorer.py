"""The error explorer: pure functions, the widget driven from Python, Grad-CAM on known answers."""

import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from effnet_lib.display.explorer import TABS, ConfusionExplorer
from effnet_lib.evaluation.error_analysis import ErrorAnalysis
from effnet_lib.evaluation.gradcam import cam_layer, cam_maps, grad_cam
from effnet_lib.evaluation.predict import Predictor
from effnet_lib.evaluation.results import EvalResult


def synthetic_result(folder, n_classes=6, per_class=10, seed=0, names=None):
    """A result whose confusions are known: class k is mistaken for class k+1 on 3 of 10 images."""
    rng = np.random.default_rng(seed)
    names = names or [f"class {k:03d}" for k in range(n_classes)]
    paths, y_true, probs = [], [], []
    for k in range(n_classes):
        for i in range(per_class):
            p = folder / f"{k}_{i}.png"
            Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(p)
            pred = (k + 1) % n_classes if i < 3 else k
            row = rng.uniform(0, 0.1, n_classes)
            row[pred] = 0.5 + i / 100  # confidence grows with i
            probs.append(row / row.sum())
            paths.append(str(p))
            y_true.append(k)
    return EvalResult(names, paths, np.array(y_true), np.array(probs))


@pytest.fixture
def result(tmp_path):
    return synthetic_result(tmp_path)


def test_analysis_answers(result):
    a = ErrorAnalysis(result)
    assert a.confusion[0, 1] == 3 and a.confusion[0, 0] == 7 and a.confusion.sum() == 60
    table = a.class_table("recall")
    assert table["recall"].tolist() == [0.7] * 6 and (table["errors"] == 3).all()
    cw = a.confused_with("class 002").set_index("class")
    assert cw.loc["class 001"].tolist() == [3, 0]  # class 001 is taken for class 002 three times
    assert cw.loc["class 003"].tolist() == [0, 3]  # class 002 is taken for class 003 three times
    mis = a.misclassified("class 000", "class 001")
    assert len(mis) == 3 and mis["confidence"].is_monotonic_decreasing
    assert a.search("00", order=["class 005", "class 001"]) == ["class 005", "class 001"]
    assert a.search("CLASS 004") == ["class 004"] and a.search("zebra") == []
    assert set(a.pairs_of("class 000")) == {("class 000", "class 001", 3), ("class 005", "class 000", 3)}
    assert list(a.neighbours("class 000", n=8)) == list(range(6))  # few classes: all of them


def test_neighbours_at_many_classes(tmp_path):
    a = ErrorAnalysis(synthetic_result(tmp_path, n_classes=40, per_class=4))
    idx = a.neighbours("class 010", n=8)
    assert idx[0] == 10 and set(idx[1:3]) == {9, 11} and len(idx) == 3


def test_widget_controller_from_python(result, tmp_path):
    ex = ConfusionExplorer(result)
    first = ex.selected
    assert first in result.classes and first in ex.card.value and ex.heatmap.value
    ex.class_list.value = "class 003"
    assert "class 003" in ex.card.value and first not in ex.card.value.split("confused with")[0]
    assert ex.pairs.value in {("class 003", "class 004"), ("class 002", "class 003")}
    assert ex.gallery.value[:4] == b"\x89PNG" and len(ex.image.options) == 3
    assert Image.open(io.BytesIO(ex.gallery.value)).width == 3 * (96 + 60)  # one tile per confused image
    gallery = ex.gallery.value
    ex.pairs.value = ex.pairs.options[1][1]
    assert ex.gallery.value != gallery
    before = ex.heatmap.value
    ex.normalize.value = "share of true class"
    assert ex.heatmap.value != before
    ex.search.value = "005"
    assert [v for _, v in ex.class_list.options] == ["class 005"] and ex.selected == "class 005"
    ex.search.value = ""
    ex.sort.value = "name"
    assert [v for _, v in ex.class_list.options] == sorted(result.classes)
    saved = ex.save(tmp_path / "view.png")
    assert Image.open(saved).size[0] > 200
    assert set(ex.timings) >= {"class", "normalise", "search", "sort", "pair"}


def test_gradcam_known_answer():
    # Layer = identity 1x1 conv on one channel; score = +mean (class 0) or -mean (class 1).
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False))
            nn.init.ones_(self.features[0].weight)
            self.fc = nn.Linear(1, 2, bias=False)
            self.fc.weight.data = torch.tensor([[1.0], [-1.0]])

        def forward(self, x):
            return self.fc(self.features(x).mean((2, 3)))

    x = torch.zeros(1, 1, 16, 16)
    x[0, 0, 3:6, 10:13] = 1.0
    cam, target = grad_cam(Tiny(), x, 0)
    assert target == 0 and cam.shape == (16, 16)
    assert torch.allclose(cam, x[0, 0])  # the map is the evidence for class 0, scaled to [0, 1]
    cam1, _ = grad_cam(Tiny(), x, 1)
    assert cam1.abs().sum() == 0  # nothing in the image speaks for class 1
    assert grad_cam(Tiny(), x)[1] == 0  # default: the predicted class


def test_gradcam_in_the_widget_with_a_trained_model(tiny_run):
    run = tiny_run
    predictor = Predictor.from_checkpoint(run.best)
    result = predictor.evaluate(run.folder.test)
    cam, _ = grad_cam(predictor.model, torch.randn(1, 3, 32, 32))
    assert cam.shape == (32, 32) and 0 <= cam.min() and cam.max() <= 1
    # At 32 px the head's map is 1x1 (a constant map); the default layer keeps at least 4x4 positions.
    assert cam_layer(predictor.model, 32, min_side=1)[1] == 1 and cam_layer(predictor.model, 32)[1] >= 4
    assert cam.std() > 0.01
    head, _ = grad_cam(predictor.model, torch.randn(1, 3, 32, 32), layer=predictor.model.features[-1])
    assert head.std() < 1e-4  # what the map was before: the same value everywhere
    assert cam_layer(predictor.model, 224)[0] == len(predictor.model.features) - 1  # 7x7: the head itself
    # Every image predicted as the next class: confused pairs exist whatever the tiny model learned.
    forced = replace(result, probs=np.roll(np.eye(len(result.classes))[result.y_true], 1, axis=1))
    ex = ConfusionExplorer(forced, predictor)
    assert [v for _, v in ex.pairs.options if v]
    assert ex.image.value == ex.image.options[0][1]  # the first confused image is ready for Grad-CAM
    assert ex.cam.layout.display == "none"  # nothing to show yet: hidden, not a broken image
    ex.cam_button.click()
    assert ex.cam.layout.display is None
    assert ex.cam.value[:4] == b"\x89PNG"
    image, maps = cam_maps(predictor, ex.image.value, ex.pair)  # the numbers behind the picture
    assert image.shape[-1] == 3 and len(maps) == 2 and all(0 <= m.min() and m.max() <= 1 for m in maps)
    assert not any(p.requires_grad is False for p in predictor.model.parameters())


def test_every_view_draws_and_keeps_its_state(tmp_path):
    result = synthetic_result(tmp_path, n_classes=12, per_class=10)
    rng = np.random.default_rng(3)
    result = replace(result, features=rng.normal(size=(len(result.paths), 16)).astype(np.float32))
    train = replace(result, features=rng.normal(size=(len(result.paths), 16)).astype(np.float32))
    other = replace(result, probs=np.roll(result.probs, 1, axis=1))
    ex = ConfusionExplorer(result, train=train, compare=other, cache_dir=tmp_path)
    ex.class_list.value = "class 004"
    output = {
        "Confusion matrix": "image",
        "Label issues": "table",
        "Calibration": "image",
        "Embedding map": "map",
        "Run against run": "table",
    }  # the main output of each further view
    assert set(output) == set(TABS[1:])
    for i, name in list(enumerate(TABS))[1:] + [(0, TABS[0])]:
        if name in output:
            assert not getattr(ex.views[name], output[name]).value  # a hidden view is not drawn
        ex.tabs.selected_index = i
        assert ex.selected == "class 004"  # switching tabs keeps the class
        if name in output:
            assert getattr(ex.views[name], output[name]).value  # the shown one is
    m = ex.views["Confusion matrix"]
    assert m.image.value[:4] == b"\x89PNG" and len(m.scope.options) >= 2
    errors_only = bytes(m.image.value)
    m.errors_only.value = False
    assert bytes(m.image.value) != errors_only  # redrawn with the diagonal
    everything = bytes(m.image.value)
    m.scope.value = m.scope.options[1][1]
    assert "(12 classes)" in m.scope.options[1][0]  # k is taken for k + 1 around the circle: one cluster
    assert bytes(m.image.value) == everything  # of all 12 classes, so the same matrix
    ex.tabs.selected_index = 0
    ex.class_list.value = "class 007"
    ex.tabs.selected_index = TABS.index("Confusion matrix")
    assert m.errors_only.value is False and m.scope.value == m.scope.options[1][1]  # state kept
    issues = ex.views["Label issues"]
    ex.tabs.selected_index = TABS.index("Label issues")
    assert "class" in issues.table.value and issues.images.value[:4] == b"\x89PNG"
    first = ex.label_issues.iloc[0]  # the first candidate beside its neighbours of both classes
    assert first.given in issues.neighbours_note.value and first.suggested in issues.neighbours_note.value
    assert issues.neighbours.value[:4] == b"\x89PNG"
    emb = ex.views["Embedding map"]
    ex.tabs.selected_index = TABS.index("Embedding map")
    assert emb.map.value[:4] == b"\x89PNG" and emb.picker.value is not None
    assert "five training images" in emb.note.value and emb.neighbours.value[:4] == b"\x89PNG"
    assert list(tmp_path.glob("projection-tsne-*.npy"))  # computed once and cached
    ex.tabs.selected_index = TABS.index("Run against run")
    assert "accuracy" in ex.views["Run against run"].table.value
    ex.tabs.selected_index = TABS.index("Calibration")
    assert "Expected calibration error" in ex.views["Calibration"].text.value
    cal = ex.views["Calibration"]
    assert "Worst-calibrated classes" in cal.worst.value and cal.image.value[:4] == b"\x89PNG"
    mine = bytes(cal.mine.value)
    assert "class 007" in cal.text.value and mine[:4] == b"\x89PNG"
    ex.class_list.value = "class 002"
    assert "class 002" in cal.text.value and bytes(cal.mine.value) != mine  # the class's own diagram
    assert ex.status.value == ""  # "working..." shown while the kernel works, cleared after


def _pixels(png_bytes):
    return np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGBA"))


def test_blitted_frames_are_the_full_drawing():
    """The map's points drawn once and kept as pixels, the marks drawn on them: each frame equals
    the figure drawn whole, also after other marks were drawn and removed before it."""
    import matplotlib.pyplot as plt

    from effnet_lib.display.diagnostic_plots import EmbeddingMap, ReliabilityDiagram
    from effnet_lib.display.explorer_views import Blitted, png
    from effnet_lib.evaluation.diagnostics import calibration

    rng = np.random.default_rng(0)
    y_true = np.repeat(np.arange(8), 40)
    y_pred = np.where(rng.random(320) < 0.2, rng.integers(0, 8, 320), y_true)
    xy = rng.normal(size=(320, 2)) + y_true[:, None]
    classes = [f"c{k}" for k in range(8)]
    canvas = Blitted((6.5, 5.5), dict(left=0.03, right=0.97, bottom=0.03, top=0.93))
    for shown, picked in ((["c1", "c5"], 3), (["c2"], 100), (["c1", "c5"], 7)):
        whole = png(EmbeddingMap(xy, y_true, y_pred, classes, shown, picked).plot().figure_)
        d = EmbeddingMap(xy, y_true, y_pred, classes, shown, picked)
        assert np.array_equal(_pixels(canvas.render(True, d.plot_points, d.plot_marks)), _pixels(whole))
    assert len(canvas.bases) == 1  # the points were drawn once
    probs = rng.dirichlet(np.ones(8), 320)
    frame = Blitted((5, 3.6), dict(left=0.11, right=0.97, bottom=0.14, top=0.97))
    for k in (0, 3, 0):
        d = ReliabilityDiagram(calibration(y_true[probs.argmax(1) == k], probs[probs.argmax(1) == k]))
        fig, ax = plt.subplots(figsize=(5, 3.6))
        fig.subplots_adjust(left=0.11, right=0.97, bottom=0.14, top=0.97)
        ReliabilityDiagram.frame(ax)
        d.plot_bins(ax)
        assert np.array_equal(_pixels(frame.render("frame", ReliabilityDiagram.frame, d.plot_bins)), _pixels(png(fig)))
