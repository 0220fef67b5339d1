"""Error analysis beyond the confusion matrix, on real results: planted label errors found, confused
groups ordered together at 400 classes, calibration, run against run, and the static report opened
in a real browser."""

import re
from dataclasses import replace

import numpy as np
import pytest

from effnet_lib.display.outputs import write_evaluation
from effnet_lib.display.report import build_report
from effnet_lib.evaluation.diagnostics import (
    calibration,
    cluster_order,
    compare_runs,
    confusion_clusters,
    label_issues,
    overlapping_classes,
)
from effnet_lib.evaluation.predict import Predictor
from effnet_lib.evaluation.results import EvalResult
from effnet_lib.evaluation.temperature import temperature_report
from effnet_lib.training.config import TrainConfig
from effnet_lib.training.loop import fit


@pytest.fixture(scope="module")
def fashion_run(tmp_path_factory):
    """A small network trained briefly on 200 / 50 / 200 images per class of the built-in Fashion-MNIST subset."""
    out = tmp_path_factory.mktemp("fm") / "run"
    cfg = TrainConfig(
        data="fashion-200-50-200",
        out=str(out),
        model=None,
        width=0.25,
        depth=0.34,
        image_size=32,
        epochs=3,
        batch_size=64,
        recipe="short",
    )
    run = fit(cfg, progress=False)
    predictor = Predictor.from_checkpoint(run.best)
    return run, predictor, predictor.evaluate(run.folder.test)


def test_planted_label_errors_rank_near_the_top(fashion_run):
    """5% of the trousers relabelled as bags. Those the model recognises as trousers (it cannot know
    the others) rank near the top of 2,000 images, and the suggested class is what they are."""
    run, _, result = fashion_run
    classes = result.classes
    trouser, bag = classes.index("trouser"), classes.index("bag")
    y = result.y_true.copy()
    candidates = np.flatnonzero(y == trouser)
    planted = np.random.default_rng(0).choice(candidates, size=len(candidates) // 20, replace=False)  # 5%
    y[planted] = bag
    recognised = planted[result.probs[planted].argmax(1) == trouser]
    assert len(recognised) >= 0.7 * len(planted)  # the model has learned trousers
    ranked = label_issues(y, result.probs, result.paths, classes)
    rank = dict(zip(ranked["index"], ranked.index))
    found = sum(rank[i] < 2 * len(planted) for i in recognised)
    assert found >= 0.8 * len(recognised), f"{found} of {len(recognised)} in the top {2 * len(planted)}"
    assert max(rank[i] for i in recognised) < 0.05 * len(y)  # every one within the top 5%
    flagged = ranked[ranked["index"].isin(recognised)]
    assert (flagged.suggested == "trouser").all()  # and the suggestion says what they really are
    pairs = overlapping_classes(result.y_true, result.probs, classes)
    assert len(pairs) and {"class_a", "class_b", "share"} <= set(pairs.columns)


def _grouped_confusion(n=400, groups=40, size=4, seed=0):
    """A 400-class confusion matrix where 40 known groups of 4 classes (scattered over the index
    range) are confused with each other, plus background noise."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    members = [perm[g * size : (g + 1) * size] for g in range(groups)]
    cm = rng.poisson(0.05, (n, n))
    np.fill_diagonal(cm, 40)
    for g in members:
        for a in g:
            for b in g:
                if a != b:
                    cm[a, b] += rng.integers(5, 10)
    return cm, members


def test_confused_groups_end_up_adjacent_at_400_classes():
    cm, members = _grouped_confusion()
    order = cluster_order(cm)
    assert sorted(order) == list(range(400))
    position = np.argsort(order)
    spans = [position[g].max() - position[g].min() for g in members]
    assert max(spans) == len(members[0]) - 1  # every group is a contiguous block
    classes = [f"c{i}" for i in range(400)]
    found = {frozenset(g) for g in confusion_clusters(cm, classes)}
    assert {frozenset(f"c{i}" for i in g) for g in members} <= found


def test_calibration_tells_overconfidence_apart():
    rng = np.random.default_rng(1)
    n, k = 4000, 5
    y = rng.integers(0, k, n)
    confidence = rng.uniform(0.3, 1.0, n)
    right = rng.uniform(size=n) < confidence  # right exactly as often as confident: calibrated
    pred = np.where(right, y, (y + rng.integers(1, k, n)) % k)
    probs = np.full((n, k), 0.0)
    probs[np.arange(n), pred] = confidence
    others = (1 - confidence) / (k - 1)
    probs += np.where(probs == 0, others[:, None], 0)
    calibrated = calibration(y, probs, list("abcde"))
    over = probs**0.3
    over /= over.sum(1, keepdims=True)
    sharpened = np.zeros_like(probs)
    sharpened[np.arange(n), pred] = 0.99
    sharpened += np.where(sharpened == 0, 0.0025, 0)
    overconfident = calibration(y, sharpened, list("abcde"))
    assert calibrated["ece"] < 0.05 < overconfident["ece"]
    assert len(overconfident["per_class_ece"]) == k
    assert len(calibrated["right_confidence"]) + len(calibrated["wrong_confidence"]) == n


def test_run_against_run_per_class_and_flips():
    y = np.array([0, 0, 1, 1, 2, 2])
    a = np.array([0, 1, 1, 1, 0, 2])
    b = np.array([0, 0, 1, 0, 2, 2])
    c = compare_runs(y, a, b, ["x", "y", "z"], [f"img{i}" for i in range(6)])
    assert list(c["wrong_to_right"].path) == ["img1", "img4"] and list(c["right_to_wrong"].path) == ["img3"]
    assert c["accuracy_a"] == pytest.approx(4 / 6) and c["accuracy_b"] == pytest.approx(5 / 6)
    assert c["per_class"].loc["x", "delta_recall"] == pytest.approx(0.5)


def test_static_report_is_self_contained_and_opens_in_a_browser(fashion_run, tmp_path):
    from browser import chromium_page, serve_folder

    run, predictor, result = fashion_run
    write_evaluation(result, tmp_path / "a")
    other = replace(result, probs=np.roll(result.probs, 1, axis=0))  # a worse "second network" on the same images
    write_evaluation(other, tmp_path / "b")
    assert (tmp_path / "a" / "features.npy").is_file()
    write_evaluation(predictor.evaluate(run.folder.split("val")), tmp_path / "val")
    write_evaluation(predictor.evaluate(run.folder.split("train")), tmp_path / "train")
    plain = build_report(tmp_path / "a", tmp_path / "plain.html").read_text()
    assert "--train</code>" in plain and "--val</code>" in plain  # says what more it could show
    page_file = build_report(
        tmp_path / "a", tmp_path / "report.html", compare=tmp_path / "b", val=tmp_path / "val", train=tmp_path / "train"
    )
    text = page_file.read_text()
    for section in (
        "Summary",
        "ordered by confusion clusters",
        "Model error or label error?",
        "Calibration",
        "Embedding map",
        "Against",
        "beside their nearest training images",
        "Temperature scaling",
    ):
        assert section in text
    temp = temperature_report(EvalResult.load(tmp_path / "val"), result)
    assert f"T = {temp['temperature']:.2f}" in text and f"{temp['ece_after']:.3f} after" in text
    worst = calibration(result.y_true, result.probs, result.classes)["per_class_ece"].index[0]
    assert f"The images predicted as {worst} (" in text  # the worst-calibrated class's own diagram
    assert not re.search(r"""(src|href)=["'](?!data:)""", text)  # every image embedded: no kernel, no files
    assert text.count("data:image/png;base64,") > 20
    with serve_folder(tmp_path) as url, chromium_page() as page:
        page.goto(f"{url}/report.html")
        assert page.locator("h1").inner_text() == "Evaluation report"
        assert page.locator("h2").count() >= 7
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and min(widths) > 0  # every embedded image decodes
        assert not page.effnet_errors
    EvalResult.load(tmp_path / "a")  # the folder the report read still reads back whole


def _probabilities(n, k, seed, concentration=0.5):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(k, concentration), size=n)
    y = np.where(rng.uniform(size=n) < 0.6, probs.argmax(1), rng.integers(0, k, n))  # mostly right, some not
    return y, probs


@pytest.mark.parametrize("k", [10, 400])
def test_label_issue_scores_are_cleanlabs_normalized_margin(k):
    """cleanlab's label-quality score 'normalized_margin' is (margin + 1) / 2 of ours, image for image."""
    from cleanlab.rank import get_label_quality_scores

    y, probs = _probabilities(4000, k, seed=k)
    ranked = label_issues(y, probs)
    theirs = get_label_quality_scores(y, probs, method="normalized_margin")
    ours = np.empty(len(y))
    ours[ranked["index"].to_numpy()] = (ranked["margin"].to_numpy() + 1) / 2
    assert np.allclose(ours, theirs, rtol=0, atol=1e-12)
    assert (np.diff(theirs[ranked["index"].to_numpy()]) >= 0).all()  # ours is ranked by their score


@pytest.mark.parametrize("k", [10, 400])
def test_expected_calibration_error_equals_torchmetrics_on_continuous_probabilities(k):
    import torch
    from torchmetrics.classification import MulticlassCalibrationError

    y, probs = _probabilities(5000, k, seed=k + 1, concentration=0.2)
    metric = MulticlassCalibrationError(num_classes=k, n_bins=15, norm="l1")
    theirs = float(metric(torch.from_numpy(probs), torch.from_numpy(y)))
    assert calibration(y, probs)["ece"] == pytest.approx(theirs, abs=1e-6)


def test_a_confidence_of_exactly_one_falls_in_the_last_bin():
    # Three answers at confidences 1.0 (right), 1.0 (wrong) and 0.95 (right): all in the last of 15
    # bins [14/15, 1]. By hand: mean confidence 2.95 / 3, accuracy 2 / 3, ECE = |2/3 - 2.95/3| = 0.95/3.
    probs = np.array([[1.0, 0.0], [1.0, 0.0], [0.05, 0.95]])
    y = np.array([0, 1, 1])
    result = calibration(y, probs)
    assert result["ece"] == pytest.approx(0.95 / 3, abs=1e-12)
    last = result["table"].iloc[-1]
    assert last["count"] == 3 and last["accuracy"] == pytest.approx(2 / 3)
    assert result["table"]["count"].sum() == 3  # no image outside the 15 bins


def test_nearest_of_classes_searches_each_class_on_its_own():
    """A query next to class b's cluster still gets class a's nearest images when asked for a."""
    from types import SimpleNamespace

    from effnet_lib.evaluation.diagnostics import nearest_of_classes

    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    y = np.repeat([0, 1], 20)
    feats = centres[y] + 0.05 * rng.normal(size=(40, 3))
    train = SimpleNamespace(classes=["a", "b"], y_true=y, features=feats, paths=[f"t{i}.png" for i in range(40)])
    query = centres[1] + 0.01
    near = nearest_of_classes(query, train, ["a", "b"], k=3)
    assert all(int(p[1:-4]) < 20 for p in near["a"]) and all(int(p[1:-4]) >= 20 for p in near["b"])
    cos = (feats[:20] @ query) / np.linalg.norm(feats[:20], axis=1) / np.linalg.norm(query)
    assert near["a"][0] == f"t{int(np.argmax(cos))}.png"  # the closest of class a by cosine comes first


def test_a_class_reliability_table_is_its_per_class_ece():
    from effnet_lib.evaluation.diagnostics import calibration, class_calibration

    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(5) * 0.3, 400)
    y = rng.integers(0, 5, 400)
    classes = list("abcde")
    whole = calibration(y, probs, classes)
    for name in classes:
        mine = class_calibration(y, probs, classes, name)
        assert mine["ece"] == pytest.approx(whole["per_class_ece"][name])
        assert mine["table"]["count"].sum() == (probs.argmax(1) == classes.index(name)).sum()


def test_neighbour_index_agrees_with_scikit_learn():
    """Nearest rows by cosine distance, as scikit-learn's NearestNeighbors finds them (a zero row
    included: its distance to everything is 1)."""
    from sklearn.neighbors import NearestNeighbors

    from effnet_lib.evaluation.embedding import NeighbourIndex

    rng = np.random.default_rng(5)
    reference, query = rng.normal(size=(300, 24)).astype(np.float32), rng.normal(size=(7, 24)).astype(np.float32)
    reference[17] = 0
    idx, dist = NeighbourIndex(reference).query(query, k=6)
    want_dist, want_idx = NearestNeighbors(n_neighbors=6, metric="cosine").fit(reference).kneighbors(query)
    assert np.array_equal(idx, want_idx) and np.allclose(dist, want_dist, atol=1e-5)
    one, d = NeighbourIndex(reference[:3]).query(query[0], k=10)  # k larger than the reference
    assert one.shape == (1, 3) and np.all(np.diff(d[0]) >= 0)


def test_ece_floor_separates_a_miscalibrated_class_from_a_small_calibrated_one():
    """Calibrated classes of 60 images have a clearly positive ECE (bias on few images) that stays
    under the floor's 95th percentile; a class right half the time at 95% confidence clears it."""
    from effnet_lib.evaluation.diagnostics import calibration_by_class, ece_floor

    rng = np.random.default_rng(0)
    k, n = 6, 60
    conf = rng.uniform(0.4, 1.0, (k, n))
    conf[0] = 0.95  # class 0: sure of itself
    right = rng.random((k, n)) < conf
    right[0] = rng.random(n) < 0.5  # ... and right half the time
    probs, y_true = np.zeros((k * n, k)), np.zeros(k * n, int)
    for c in range(k):
        rows = slice(c * n, (c + 1) * n)
        probs[rows] = ((1 - conf[c]) / (k - 1))[:, None]
        probs[rows, c] = conf[c]
        y_true[rows] = np.where(right[c], c, (c + 1) % k)
    table = calibration_by_class(y_true, probs, [f"c{c}" for c in range(k)], n=k)
    assert table.index[0] == "c0" and bool(table.loc["c0", "beyond_floor"])
    assert not table.drop("c0").beyond_floor.any() and (table.drop("c0").ece > 0.02).all()
    assert (table.images == n).all()
    floor = ece_floor(conf[1])
    assert 0 < floor["mean"] < floor["p95"] and floor == ece_floor(conf[1])  # seeded: the same twice
    assert ece_floor(np.ones(50))["p95"] == 0  # certain and always right: no gap to find


def test_neighbours_with_their_distances():
    from effnet_lib.evaluation.diagnostics import nearest_of_classes

    rng = np.random.default_rng(1)
    feats = rng.normal(size=(40, 8)).astype(np.float32)
    train = EvalResult(
        ["a", "b"], [f"t{i}.png" for i in range(40)], np.repeat([0, 1], 20), np.full((40, 2), 0.5), feats
    )
    plain = nearest_of_classes(feats[3], train, ["a", "b"], k=3)
    both = nearest_of_classes(feats[3], train, ["a", "b"], k=3, distances=True)
    assert plain == {c: [p for p, _ in both[c]] for c in both} and plain["a"][0] == "t3.png"
    assert both["a"][0][1] == pytest.approx(0, abs=1e-6) and all(np.diff([d for _, d in both["b"]]) >= 0)
