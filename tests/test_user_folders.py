"""Nothing silently wrong with a user's own folder: a small folder trains with the defaults and a
network that predicts one class is called so; results read back by path, not by position; runs
compare by class name; a resumed run keeps its own split; an inspection writes nothing. Real
folders of images, the command line's own `main`, real files on disk."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli, write_class_images

from effnet_lib.evaluation.diagnostics import compare_results
from effnet_lib.evaluation.metrics import report
from effnet_lib.evaluation.results import EvalResult
from effnet_lib.training.config import auto_batch_size

SIX = ("a", "b", "c", "d", "e", "f")
TINY_NET = ["--width", "0.25", "--depth", "0.34", "--image-size", "32", "--no-progress"]
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
    from effnet_lib.training.checkpoint import load_checkpoint

    assert load_checkpoint(tmp_path / "default" / "last.pt")["config"]["batch_size"] == 8  # recorded as chosen

    big = cli("train", "--data", six_classes, "--out", tmp_path / "big", *SMALL_NET, "--batch-size", 64)
    assert "120 training images in batches of 64 give 1 optimiser step(s) per epoch" in big.stderr
    assert "use --batch-size 8 or less" in big.stderr
    last = big.stdout.strip().splitlines()[-1]
    assert "but the network predicts '" in last and "for all 24 images" in last, last
    evaluated = cli(
        "evaluate", "--checkpoint", tmp_path / "big" / "best.pt", "--data", six_classes, "--out", tmp_path / "ev"
    )
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
    assert (
        cows.report().summary
        == report(result.y_true[keep], result.y_pred[keep], result.classes, result.probs[keep]).summary
    )


def test_a_csv_that_no_longer_matches_its_arrays_is_refused(saved):
    result, folder = saved
    csv = pd.read_csv(folder / "predictions.csv", dtype=str, keep_default_na=False)
    csv.loc[3, "path"] = "img/elsewhere.png"
    csv.to_csv(folder / "predictions.csv", index=False)
    with pytest.raises(
        ValueError,
        match=r"1 image\(s\) are not in this evaluation's paths.json \(first: "
        r"img/elsewhere.png\)",
    ):
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
    a = EvalResult(["cat", "dog"], paths, np.array([0, 0, 0, 1, 1, 1]), np.eye(2, dtype=np.float32)[[0, 0, 1, 1, 1, 0]])
    order = [5, 4, 3, 2, 1, 0]  # b lists the images the other way round, and knows a cow
    b_classes = ["cat", "cow", "dog"]
    b_pred = ["cat", "cow", "cat", "dog", "dog", "dog"]
    b = EvalResult(
        b_classes,
        [paths[i] for i in order],
        np.array([b_classes.index(true[i]) for i in order]),
        np.eye(3, dtype=np.float32)[[b_classes.index(b_pred[i]) for i in order]],
    )
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

    from effnet_lib.display.explorer import ConfusionExplorer

    shown = ConfusionExplorer(a, compare=b).comparison  # the explorer's Run against run tab
    assert shown["per_class"].loc["cow", "known_to"] == "b only" and shown["accuracy_b"] == c["accuracy_b"]

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
    refused = cli(
        "train",
        "--data",
        tiny,
        "--out",
        tmp_path / "no-run",
        "--width",
        0.25,
        "--depth",
        0.34,
        "--image-size",
        32,
        "--epochs",
        1,
        "--no-progress",
        check=2,
    )
    assert "validation split is empty" in refused.stderr and _manifests(tiny) == []
    run = tmp_path / "run"
    cli(
        "train",
        "--data",
        data,
        "--out",
        run,
        "--width",
        0.25,
        "--depth",
        0.34,
        "--image-size",
        32,
        "--epochs",
        1,
        "--no-progress",
    )
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


def test_a_resumed_run_on_split_folders_is_told_its_data_changed(tmp_path):
    data = tmp_path / "data"
    write_class_images(data / "train", per_class=8)
    write_class_images(data / "valid", per_class=2, seed=1)
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    shutil.copy(data / "valid" / "noise" / "noise_000.png", data / "train" / "noise" / "extra.png")
    resumed = cli("train", "--out", run, "--resume", "--epochs", 2, "--no-progress")
    assert "the data changed since the run began (1 files added (train/noise/extra.png))" in resumed.stderr
    assert len(pd.read_csv(run / "history.csv")) == 2


# 6. One writer per run folder


@pytest.mark.slow
def test_a_second_train_into_a_folder_in_use_is_refused_and_touches_nothing(tmp_path):
    data = write_class_images(tmp_path / "data", per_class=12)
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "effnet_lib",
            "train",
            "--data",
            str(data),
            "--out",
            str(run),
            "--epochs",
            "500",
            *TINY_NET,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (run / "last.pt").exists() and time.time() < deadline:
            time.sleep(0.05)
        saving = run / ".last.pt.saving-now.tmp"  # as the first process's save would leave it mid-write
        saving.write_bytes(b"half a checkpoint")
        for extra in ([], ["--overwrite"], ["--resume"]):
            second = run_cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET, *extra)
            assert second.returncode == 2 and "another process is writing into this folder" in second.stderr, (
                second.stderr
            )
        assert saving.read_bytes() == b"half a checkpoint"
        saving.unlink()
        assert first.poll() is None  # still training, undisturbed
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    done = len(pd.read_csv(run / "history.csv"))
    cli("train", "--out", run, "--resume", "--epochs", done + 1, "--no-progress")  # free again once it stopped
    assert len(pd.read_csv(run / "history.csv")) == done + 1


# 7. A full disk: the files of one epoch agree, and the message says what was kept


@pytest.fixture
def small_disk(tmp_path):
    """A real 16 MiB tmpfs (root only: mounting needs it)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk, leave: int):
    """A ballast file that leaves `leave` bytes free on `disk`."""
    free = shutil.disk_usage(disk).free
    with open(disk / "ballast", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def test_a_full_disk_keeps_each_epoch_whole_and_says_what_was_kept(tmp_path, small_disk):
    data = write_class_images(tmp_path / "data", per_class=12)
    run = small_disk / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    kept = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    size = (run / "last.pt").stat().st_size
    _fill(small_disk, size // 2)  # room for half a checkpoint

    full = run_cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET, "--overwrite")
    assert full.returncode == 3, full.stderr
    assert "could not write epoch 1 (No space left on device)" in full.stderr
    assert "earlier run is kept as it was" in full.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == kept  # not one file mixed in
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]

    resumed = run_cli("train", "--out", run, "--resume", "--epochs", 2, "--no-progress")
    assert resumed.returncode == 3 and "could not write epoch 2" in resumed.stderr
    assert "last.pt holds epoch 1; free space and continue with --resume" in resumed.stderr
    assert len(pd.read_csv(run / "history.csv")) == 1
    (small_disk / "ballast").unlink()
    cli("train", "--out", run, "--resume", "--epochs", 2, "--no-progress")
    from effnet_lib.training.checkpoint import load_checkpoint

    history = pd.read_csv(run / "history.csv")
    assert len(history) == 2 and load_checkpoint(run / "last.pt")["epoch"] == 1
    best = load_checkpoint(run / "best.pt")
    assert best["history"][-1]["val_acc"] == history.val_acc.max()


def test_a_resumed_run_without_its_best_checkpoint_writes_it_again(tmp_path):
    data = write_class_images(tmp_path / "data", per_class=12)
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    (run / "best.pt").unlink()  # lost, as a full disk could lose it in earlier versions
    cli("train", "--out", run, "--resume", "--epochs", 2, "--no-progress")
    assert (run / "best.pt").is_file()


# 9. Minor: progress, long prediction lists, formats we do not read, caches


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """2,000 small images: enough for the decoding bar and a long prediction list."""
    from PIL import Image

    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (root / c).mkdir()
        for i in range(1000):
            Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(root / c / f"{i:04d}.png")
    return root


def test_no_progress_means_no_bars_and_long_lists_are_not_printed_whole(many, tmp_path, capsys):
    from effnet_lib.data.folders import open_image_folder
    from effnet_lib.data.loaders import decode_all

    folder = open_image_folder(many, write=False)
    samples = folder.train + folder.val
    decode_all(samples, 32, 2**30, progress=False)
    assert "decoding" not in capsys.readouterr().err
    decode_all(samples, 32, 2**30)
    assert "decoding" in capsys.readouterr().err

    run = tmp_path / "run"
    cli(
        "train",
        "--data",
        write_class_images(tmp_path / "data", classes=("a", "b"), per_class=10),
        "--out",
        run,
        "--epochs",
        1,
        *TINY_NET,
    )
    out = cli("predict", "--checkpoint", run / "best.pt", "--out", tmp_path / "p.csv", "--no-progress", many)
    lines = out.stdout.strip().splitlines()
    assert len(lines) < 25 and f"... 1980 more in {tmp_path / 'p.csv'}" in out.stdout
    assert lines[-1].startswith("2000 image(s) predicted")
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2000


def test_a_class_of_photos_in_a_format_we_do_not_read_is_named(tmp_path):
    data = write_class_images(tmp_path / "data", classes=("a", "b"), per_class=10)
    (data / "c").mkdir()
    for i in range(3):
        (data / "c" / f"IMG_{i}.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    info = run_cli("data", "info", data)
    assert "class folder holds no images: only 3 .heic files" in info.stderr and "convert" in info.stderr
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    refused = run_cli("predict", "--checkpoint", run / "best.pt", "--out", tmp_path / "p.csv", data / "c")
    assert refused.returncode == 2 and "no image file in" in refused.stderr and "3 .heic files" in refused.stderr
    assert not (tmp_path / "p.csv").exists()


def test_evaluating_the_runs_own_training_images_is_called_so(tmp_path):
    data = write_class_images(tmp_path / "data", classes=("a", "b"), per_class=10)
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    copy = tmp_path / "copy-of-train"
    shutil.copytree(data, copy, ignore=shutil.ignore_patterns(".effnet-*"))  # another folder: not flagged
    clean = cli("evaluate", "--checkpoint", run / "best.pt", "--data", copy, "--out", tmp_path / "e1")
    assert "images the run trained on" not in clean.stderr
    own = cli("evaluate", "--checkpoint", run / "best.pt", "--data", data, "--split", "all", "--out", tmp_path / "e2")
    assert "16 of these 20 images are images the run trained on" in own.stderr
    val = cli("evaluate", "--checkpoint", run / "best.pt", "--data", data, "--out", tmp_path / "e3")
    assert "trained on" not in val.stderr


def test_the_explorers_cache_folder_is_made_and_an_unwritable_one_only_costs_the_cache(tmp_path):
    from effnet_lib.evaluation.embedding import projection

    features = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    cache = tmp_path / "not" / "yet"
    xy = projection(features, cache, method="pca")
    assert len(list(cache.glob("projection-pca-*.npy"))) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.warns(UserWarning, match="cannot keep the projection there"):
        again = projection(features, blocker / "cache", method="pca")
    assert np.allclose(again, xy)


def test_a_read_only_data_folder_and_cache_are_named(tmp_path, small_disk):
    data = write_class_images(small_disk / "data", classes=("a", "b"), per_class=10)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        env = {**os.environ, "EFFNET_CACHE": str(small_disk / "cache")}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "effnet_lib",
                "train",
                "--data",
                str(data),
                "--out",
                str(tmp_path / "run"),
                "--epochs",
                "1",
                *TINY_NET,
            ],
            env=env,
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert proc.returncode == 0, proc.stderr
    assert "cannot write the split manifest" in proc.stderr and "set EFFNET_CACHE to a writable folder" in proc.stderr
    assert json.loads((tmp_path / "run" / "split.json").read_text())["classes"] == ["a", "b"]


# 8. Folders as users name them


def test_a_class_called_train_is_a_class_and_split_folders_may_be_spelled_as_people_do(tmp_path):
    from effnet_lib.data.folders import open_image_folder

    own = write_class_images(tmp_path / "own", classes=("cat", "train"), per_class=10)
    folder = open_image_folder(own, write=False)
    assert folder.layout == "single" and folder.classes == ["cat", "train"]

    spelled = tmp_path / "spelled"
    write_class_images(spelled / "Training", classes=("cat", "dog"), per_class=8)
    write_class_images(spelled / "Validation", classes=("cat", "dog"), per_class=2, seed=1)
    write_class_images(spelled / "TEST", classes=("cat", "dog"), per_class=3, seed=2)
    folder = open_image_folder(spelled)
    assert folder.layout == "splits" and (len(folder.train), len(folder.val), len(folder.test)) == (16, 4, 6)

    write_class_images(spelled / "val", classes=("cat", "dog"), per_class=2, seed=3)
    with pytest.raises(ValueError, match=r"Validation/ and val/ are both the val split; keep one of them"):
        open_image_folder(spelled)
    mixed = tmp_path / "mixed"
    write_class_images(mixed / "train", classes=("cat", "dog"), per_class=8)
    write_class_images(mixed, classes=("bird",), per_class=8)
    with pytest.raises(ValueError, match=r"split folder train/ beside folders that are no split \(bird\)"):
        open_image_folder(mixed)


def test_birds_400s_own_two_spaces_and_other_lookalike_names_are_matched_or_refused(tmp_path):
    from effnet_lib.data.folders import open_image_folder

    counts = pd.read_csv(Path(__file__).resolve().parents[1] / "data" / "birds400-counts.csv")
    names = {split: set(counts.loc[counts[split] > 0, "class"]) for split in ("train", "valid", "test")}
    odd = sorted(names["train"] - names["valid"])
    assert odd == ["BLACK & YELLOW  BROADBILL"]  # the reference set itself: two spaces in train/ only
    root = tmp_path / "birds"
    write_class_images(root / "train", classes=(odd[0], "ABBOTTS BABBLER"), per_class=8)
    write_class_images(root / "valid", classes=("BLACK & YELLOW BROADBILL", "ABBOTTS BABBLER"), per_class=2, seed=1)
    write_class_images(root / "test", classes=("black & yellow broadbill", "ABBOTTS BABBLER"), per_class=2, seed=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = open_image_folder(root)
    said = " ".join(str(w.message) for w in caught)
    assert "valid: 1 class folder(s)" in said and "'BLACK & YELLOW BROADBILL' as 'BLACK & YELLOW  BROADBILL'" in said
    assert "test: 1 class folder(s)" in said and "'black & yellow broadbill' as 'BLACK & YELLOW  BROADBILL'" in said
    broadbill = folder.classes.index(odd[0])
    assert sum(y == broadbill for _, y in folder.val) == 2 and sum(y == broadbill for _, y in folder.test) == 2

    twice = write_class_images(tmp_path / "twice", classes=("Cat", "cat", "dog"), per_class=6)
    with pytest.raises(ValueError, match=r"class folders 'Cat' and 'cat' differ only in case, spaces or Unicode"):
        open_image_folder(twice)
    nfd = tmp_path / "nfd"
    write_class_images(nfd / "train", classes=("caf\u00e9", "tea"), per_class=6)
    write_class_images(nfd / "val", classes=("cafe\u0301", "tea"), per_class=2, seed=1)
    with pytest.warns(UserWarning, match="Unicode form"):
        assert len(open_image_folder(nfd).val) == 4


def test_a_run_folder_inside_the_data_folder_is_no_class_and_no_run_goes_there(tmp_path):
    data = write_class_images(tmp_path / "data", classes=("a", "b"), per_class=10)
    inside = run_cli("train", "--data", data, "--out", data / "run", "--epochs", 1, *TINY_NET)
    assert inside.returncode == 2 and "inside the data folder" in inside.stderr and not (data / "run").exists()
    shutil.copytree(_a_run(tmp_path, data), data / "old-run")  # put there by hand
    info = cli("data", "info", data)
    assert "old-run is a run folder" in info.stderr and "2 classes" in info.stdout


def _a_run(tmp_path, data):
    run = tmp_path / "run"
    cli("train", "--data", data, "--out", run, "--epochs", 1, *TINY_NET)
    return run
