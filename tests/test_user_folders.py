"""Nothing silently wrong with a user's own folder: a small folder trains with the defaults and a
network that predicts one class is called so; results read back by path, not by position; runs
compare by class name; a resumed run keeps its own split; an inspection writes nothing. Real
folders of images, the command line's own `main`, real files on disk."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli, write_class_images

from effnet_lib.config import auto_batch_size
from effnet_lib.diagnostics import compare_results
from effnet_lib.metrics import report
from effnet_lib.predict import EvalResult

SIX = ("a", "b", "c", "d", "e", "f")
SMALL_NET = ["--width", "0.25", "--depth", "0.34", "--image-size", "64", "--epochs", "8", "--no-progress"]


def cli(*args, check=0):
    proc = run_cli(*args)
    assert proc.returncode == check, proc.stderr
    return proc


@pytest.fixture(scope="module")
def six_classes(tmp_path_factory):
    """A first folder of one's own: 6 classes x 24 photos, 120 of them for training."""
    return write_class_images(tmp_path_factory.mktemp("six"), classes=SIX, per_class=24, size=64)


# 1. A small folder trains with the defaults; a constant network is named as such


def test_the_default_batch_gives_a_small_folder_enough_steps():
    assert auto_batch_size(46_853) == 64  # the reference set's 80%: the usual batch
    assert auto_batch_size(640) == 64 and auto_batch_size(639) == 32
    assert auto_batch_size(120) == 8 and auto_batch_size(20) == 8  # never below 8 images per batch


def test_small_folder_trains_with_the_defaults_and_a_constant_network_is_named(six_classes, tmp_path):
    default = cli("train", "--data", six_classes, "--out", tmp_path / "default", *SMALL_NET)
    assert "optimiser step" not in default.stderr
    history = pd.read_csv(tmp_path / "default" / "history.csv")
    assert history.val_acc.max() >= 0.4  # chance is 1/6
    assert "predicts '" not in default.stdout
    from effnet_lib.checkpoint import load_checkpoint
    assert load_checkpoint(tmp_path / "default" / "last.pt")["config"]["batch_size"] == 8  # recorded as chosen

    big = cli("train", "--data", six_classes, "--out", tmp_path / "big", *SMALL_NET, "--batch-size", 64)
    assert "120 training images in batches of 64 give 1 optimiser step(s) per epoch" in big.stderr
    assert "use --batch-size 8 or less" in big.stderr
    last = big.stdout.strip().splitlines()[-1]
    assert "but the network predicts '" in last and "for all 24 images" in last, last
    evaluated = cli("evaluate", "--checkpoint", tmp_path / "big" / "best.pt", "--data", six_classes,
                    "--out", tmp_path / "ev")
    assert "but the network predicts '" in evaluated.stdout

    # A resume that gives no batch size keeps the run's own choice.
    cli("train", "--out", tmp_path / "default", "--resume", "--epochs", 9, "--no-progress")
    assert len(pd.read_csv(tmp_path / "default" / "history.csv")) == 9


# 2. Results read back by path


@pytest.fixture
def saved(tmp_path):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=30).astype(np.float32)
    result = EvalResult(["cat", "cow", "dog"], [f"img/{i:02d}.png" for i in range(30)], rng.integers(0, 3, 30), probs)
    result.save(tmp_path / "ev")
    return result, tmp_path / "ev"


def test_a_resorted_or_filtered_csv_reads_back_by_path(saved):
    result, folder = saved
    csv = pd.read_csv(folder / "predictions.csv", dtype=str, keep_default_na=False)
    csv.sort_values("prob_1").to_csv(folder / "predictions.csv", index=False)  # re-sorted in place
    back = EvalResult.load(folder)
    order = [result.paths.index(p) for p in back.paths]
    assert back.paths != result.paths and np.array_equal(back.probs, result.probs[order])
    assert back.report().summary == result.report().summary
    mine = csv[csv.true == "cow"]
    mine.to_csv(folder / "cows.csv", index=False)  # a filtered copy beside the arrays
    cows = EvalResult.load(folder / "cows.csv")
    keep = [i for i, y in enumerate(result.y_true) if y == 1]
    assert np.array_equal(cows.probs, result.probs[keep])
    assert cows.report().summary == report(result.y_true[keep], result.y_pred[keep], result.classes,
                                           result.probs[keep]).summary


def test_a_csv_that_no_longer_matches_its_arrays_is_refused(saved):
    result, folder = saved
    csv = pd.read_csv(folder / "predictions.csv", dtype=str, keep_default_na=False)
    csv.loc[3, "path"] = "img/elsewhere.png"
    csv.to_csv(folder / "predictions.csv", index=False)
    with pytest.raises(ValueError, match=r"1 image\(s\) are not in this evaluation's paths.json \(first: "
                                         r"img/elsewhere.png\)"):
        EvalResult.load(folder)
    csv = pd.read_csv(folder / "predictions.csv", dtype=str, keep_default_na=False)
    csv.loc[3, "path"] = result.paths[3]
    csv.loc[5, "pred_1"] = next(c for c in result.classes if c != csv.loc[5, "pred_1"])  # edited by hand
    csv.to_csv(folder / "predictions.csv", index=False)
    with pytest.raises(ValueError, match=r"1 row\(s\) disagree with .*probabilities.npy \(first: img/05.png"):
        EvalResult.load(folder)


def test_an_older_evaluation_without_paths_is_read_by_position_only_while_it_agrees(saved):
    result, folder = saved
    (folder / "paths.json").unlink()
    assert EvalResult.load(folder).report().summary == result.report().summary
    csv = pd.read_csv(folder / "predictions.csv", dtype=str, keep_default_na=False)
    csv.iloc[::-1].to_csv(folder / "predictions.csv", index=False)
    with pytest.raises(ValueError, match="disagree with"):
        EvalResult.load(folder)
    csv.head(10).to_csv(folder / "predictions.csv", index=False)
    with pytest.raises(ValueError, match="10 rows, but .*probabilities.npy holds 30"):
        EvalResult.load(folder)


# 3. Runs compared by class name


def test_runs_with_different_class_lists_compare_by_name(tmp_path):
    paths = [f"img/{i}.png" for i in range(6)]
    true = ["cat", "cat", "cat", "dog", "dog", "dog"]
    a = EvalResult(["cat", "dog"], paths, np.array([0, 0, 0, 1, 1, 1]),
                   np.eye(2, dtype=np.float32)[[0, 0, 1, 1, 1, 0]])
    order = [5, 4, 3, 2, 1, 0]  # b lists the images the other way round, and knows a cow
    b_classes = ["cat", "cow", "dog"]
    b_pred = ["cat", "cow", "cat", "dog", "dog", "dog"]
    b = EvalResult(b_classes, [paths[i] for i in order], np.array([b_classes.index(true[i]) for i in order]),
                   np.eye(3, dtype=np.float32)[[b_classes.index(b_pred[i]) for i in order]])
    c = compare_results(a, b)
    assert c["accuracy_a"] == pytest.approx(4 / 6) and c["accuracy_b"] == pytest.approx(5 / 6)
    table = c["per_class"]
    assert table.loc["cow", "known_to"] == "b only" and table.loc["cat", "known_to"] == "both"
    assert table.loc["cow", "support"] == 0
    assert sorted(c["wrong_to_right"].path) == ["img/2.png", "img/5.png"]
    assert c["right_to_wrong"].path.tolist() == ["img/1.png"] and c["right_to_wrong"].pred_b.tolist() == ["cow"]

    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    cli("report", tmp_path / "a", "--compare", tmp_path / "b", "--out", tmp_path / "r.html")
    assert "b only" in (tmp_path / "r.html").read_text()

    relabelled = EvalResult(b.classes, b.paths, np.where(b.y_true == 0, 2, 0), b.probs)
    with pytest.raises(ValueError, match=r"label 6 image\(s\) differently \(first: img/0.png"):
        compare_results(a, relabelled)
    other = EvalResult(a.classes, [p.replace("img", "other") for p in a.paths], a.y_true, a.probs)
    with pytest.raises(ValueError, match="hold different images"):
        compare_results(a, other)


# 4 and 5. A resumed run keeps its split; an inspection or a refused run writes nothing


def _manifests(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".effnet"))


def test_inspection_writes_nothing_and_evaluate_then_scores_the_whole_folder(tmp_path):
    data = write_class_images(tmp_path / "data", per_class=10)
    info = cli("data", "info", data)
    assert "not written: the first training run writes it" in info.stdout and _manifests(data) == []
    tiny = write_class_images(tmp_path / "tiny", per_class=3)  # int(0.2 * 3) = 0: no validation image
    refused = cli("train", "--data", tiny, "--out", tmp_path / "no-run", "--width", 0.25, "--depth", 0.34,
                  "--image-size", 32, "--epochs", 1, "--no-progress", check=2)
    assert "validation split is empty" in refused.stderr and _manifests(tiny) == []
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--width", 0.25, "--depth", 0.34, "--image-size", 32,
        "--epochs", 1, "--no-progress")
    assert _manifests(data) == ["split-val0.2-seed0.json".join([".effnet-", ""])]
    held_out = write_class_images(tmp_path / "held-out", per_class=5, seed=5)
    cli("data", "info", held_out)
    cli("evaluate", "--checkpoint", run / "best.pt", "--data", held_out, "--out", tmp_path / "ev")
    assert len(EvalResult.load(tmp_path / "ev").paths) == 15  # every image, not a drawn split


def test_a_resumed_run_keeps_its_own_split_whatever_happens_to_the_folders_manifest(tmp_path):
    data = write_class_images(tmp_path / "data", per_class=10)
    run = tmp_path / "run"
    net = ["--width", 0.25, "--depth", 0.34, "--image-size", 32, "--no-progress"]
    cli("train", "--data", data, "--out", run, "--epochs", 1, *net)
    split = json.loads((run / "split.json").read_text())
    write_class_images(tmp_path / "more", per_class=4, seed=9)
    for c in ("circles", "stripes", "noise"):
        for f in (tmp_path / "more" / c).iterdir():
            shutil.copy(f, data / c / f"new-{f.name}")
    refused = cli("train", "--out", run, "--resume", "--epochs", 2, *net, check=2)
    assert "12 files added" in refused.stderr and "delete" not in refused.stderr
    assert "train a new run" in refused.stderr
    for manifest in data.glob(".effnet-*"):  # what the data folder's own message allows
        manifest.unlink()
    again = cli("train", "--out", run, "--resume", "--epochs", 2, *net, check=2)
    assert "run's split does not match" in again.stderr
    assert json.loads((run / "split.json").read_text()) == split
    assert len(pd.read_csv(run / "history.csv")) == 1
