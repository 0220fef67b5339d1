"""The practitioner's flow, end to end on real folders: nothing trained is overwritten, resume keeps
its plan, divergence fails, held-out folders are evaluated whole, and every bad argument gets one
clear line. Commands run through the command line's own `main` in this process (exit code, standard
output and error as a process gives them); a run interrupted by a signal is a real process."""

import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import TINY, run_cli, write_class_images
from PIL import Image

from effnet_lib.data.folders import DataError, open_image_folder
from effnet_lib.evaluation.results import EvalResult
from effnet_lib.files import atomic_save
from effnet_lib.training.checkpoint import CheckpointError, RunExistsError, load_checkpoint
from effnet_lib.training.config import TrainConfig
from effnet_lib.training.loop import TrainingStopped, fit

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
NET = ["--width", "0.25", "--depth", "0.34", "--image-size", "32", "--batch-size", "8", "--no-progress"]


def cli(*args, check=None):
    """The command line's `main` in this process (conftest.run_cli): what a command does, not the
    process, is tested here; the interrupted run below is a real process."""
    proc = run_cli(*args)
    if check is not None:
        assert proc.returncode == check, proc.stderr
    return proc


def one_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def birds(tmp_path_factory):
    """The reference experiment's layout: one train/ folder (split 80/20 by the library) and a
    held-out test/ folder that lacks one of the training classes."""
    root = tmp_path_factory.mktemp("birds")
    write_class_images(root / "train", classes=("albatross", "bunting", "crane"), per_class=15)
    write_class_images(root / "test", classes=("albatross", "bunting"), per_class=6, seed=7, fmt="jpg")
    return root


@pytest.fixture(scope="module")
def finished(birds, tmp_path_factory):
    """A finished 3-epoch run on birds/train, trained by the command line."""
    out = tmp_path_factory.mktemp("runs") / "run"
    cli("train", "--data", birds / "train", "--out", out, "--epochs", 3, *NET, check=0)
    return out


# 1. A second train into a finished run folder


def test_second_train_into_a_run_is_refused_and_overwrite_replaces(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = digest(out)
    line = one_line(cli("train", "--data", birds / "train", "--out", out, "--epochs", 2, *NET, check=2))
    assert str(out) in line and "--resume" in line and "--overwrite" in line
    assert digest(out) == before  # nothing touched
    cli("train", "--data", birds / "train", "--out", out, "--epochs", 2, "--overwrite", *NET, check=0)
    assert len(pd.read_csv(out / "history.csv")) == 2 and load_checkpoint(out / "last.pt")["config"]["epochs"] == 2
    assert digest(out)["last.pt"] != before["last.pt"]


def test_overwrite_that_fails_before_its_first_epoch_keeps_the_old_run(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = digest(out)
    # A real process: the exit code and the untouched folder are what a user's shell sees.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "effnet_lib",
            "train",
            "--data",
            str(birds / "train"),
            "--out",
            str(out),
            "--epochs",
            "2",
            "--overwrite",
            "--lr",
            "1e12",
            *NET,
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert proc.returncode == 3 and "no checkpoint was written" in proc.stderr
    assert digest(out) == before


# 2. Resume keeps its plan


@pytest.mark.slow
def test_resume_without_epochs_continues_to_the_runs_own_target(birds, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(birds / "train", data)
    cut = [
        sys.executable,
        "-m",
        "effnet_lib",
        "train",
        "--data",
        str(data),
        "--out",
        str(tmp_path / "run"),
        "--epochs",
        "4",
        *NET[:-1],
        "--batch-size",
        "4",
        "--no-progress",
    ]
    proc = subprocess.Popen(cut, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    history = tmp_path / "run" / "history.csv"
    deadline = time.time() + 120
    while not (history.exists() and len(history.read_text().splitlines()) >= 2) and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)  # during epoch 2 of 4
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    done = len(pd.read_csv(history))
    assert done < 4
    moved = tmp_path / "moved"
    data.rename(moved)  # the dataset moves; the same classes resume
    cli("train", "--out", tmp_path / "run", "--resume", "--data", moved, "--no-progress", check=0)
    assert len(pd.read_csv(history)) == 4  # the run's own target, not the CLI's default of 30


def test_longer_target_recomputes_the_cosine_for_the_new_horizon(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    cli("train", "--data", birds / "train", "--out", out, "--resume", "--epochs", 6, "--no-progress", check=0)
    lrs = pd.read_csv(out / "history.csv")["lr"].tolist()
    assert len(lrs) == 6
    # epochs 1-3 followed a 3-epoch cosine; 4-6 get what a 6-epoch plan gives them
    assert lrs[:3] == pytest.approx([0.01 * 0.5 * (1 + math.cos(math.pi * e / 3)) for e in range(3)], rel=1e-6)
    assert lrs[3:] == pytest.approx([0.01 * 0.5 * (1 + math.cos(math.pi * e / 6)) for e in (3, 4, 5)], rel=1e-6)
    assert all(a > b for a, b in zip(lrs[3:], lrs[4:]))  # decreasing: no restart up to 0.01


def test_resume_refuses_conflicting_settings_by_name(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = digest(out)
    line = one_line(cli("train", "--out", out, "--resume", "--width", 0.5, "--image-size", 48, check=2))
    assert "width 0.5 (the run: 0.25)" in line and "image_size 48 (the run: 32)" in line
    other = tmp_path / "other"
    write_class_images(other, classes=("x", "y"), per_class=10)
    assert "resume on the same data" in one_line(cli("train", "--out", out, "--resume", "--data", other, check=2))
    line = one_line(cli("train", "--out", out, "--resume", "--epochs", 2, check=2))
    assert "already trained 3 epochs" in line
    assert digest(out) == before


# 3. Divergence


def test_divergence_fails_keeps_the_last_finite_checkpoint_and_evaluate_refuses_nan(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = digest(out)
    proc = cli("train", "--data", birds / "train", "--out", tmp_path / "fresh", "--epochs", 2, "--lr", "1e12", *NET)
    assert proc.returncode == 3
    line = one_line(proc)
    assert "NaN or infinite in epoch 1" in line and "lower --lr" in line and "no checkpoint was written" in line
    assert not (tmp_path / "fresh").exists()  # a failed run leaves no empty folder
    # A resumed run that diverges later keeps its last finite epoch, and says which.
    ckpt = load_checkpoint(out / "last.pt")
    ckpt["optimizer"]["param_groups"][0]["lr"] = 1e12
    ckpt["scheduler"]["base_lrs"] = [1e12]
    atomic_save(ckpt, out / "last.pt")
    patched = digest(out)
    proc = cli("train", "--out", out, "--resume", "--epochs", 5, "--no-progress")
    line = one_line(proc)
    assert proc.returncode == 3 and "in epoch 4" in line and "holds epoch 3, the last with finite weights" in line
    assert "this run: 1e+12" in line
    assert digest(out) == patched and before["best.pt"] == patched["best.pt"]
    # A checkpoint with NaN weights is refused by evaluate and predict.
    bad = load_checkpoint(out / "best.pt")
    bad["model"]["classifier.1.weight"][0, 0] = float("nan")
    atomic_save(bad, tmp_path / "nan.pt")
    line = one_line(
        cli(
            "evaluate", "--checkpoint", tmp_path / "nan.pt", "--data", birds / "test", "--out", tmp_path / "ev", check=2
        )
    )
    assert "NaN or infinite weights" in line and not (tmp_path / "ev").exists()


def test_library_nan_stop_keeps_files(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = digest(out)
    cfg = TrainConfig(**{**load_checkpoint(out / "last.pt")["config"], "out": str(out), "lr": 1e12})
    with pytest.raises(TrainingStopped, match="NaN or infinite.*no checkpoint was written"):
        fit(cfg, overwrite=True, progress=False)
    assert digest(out) == before


# 4. A held-out folder is evaluated whole; the reference sequence


def test_reference_sequence_train_split_then_test_whole_then_five_images(birds, finished, tmp_path):
    test_before = sorted(p.name for p in (birds / "test").rglob("*"))
    proc = cli(
        "evaluate", "--checkpoint", finished / "best.pt", "--data", birds / "test", "--out", tmp_path / "ev", check=0
    )
    assert "12 images: every image of" in proc.stdout
    assert sorted(p.name for p in (birds / "test").rglob("*")) == test_before  # nothing written into test/
    per_class = pd.read_csv(tmp_path / "ev" / "per_class.csv", index_col=0)
    assert list(per_class.index) == ["albatross", "bunting", "crane"]
    assert per_class.loc["crane", "support"] == 0 and per_class["support"].sum() == 12
    assert json.loads((tmp_path / "ev" / "summary.json").read_text())["n"] == 12
    # The training folder itself: its own validation split (the run's manifest), by default.
    proc = cli(
        "evaluate", "--checkpoint", finished / "best.pt", "--data", birds / "train", "--out", tmp_path / "ev2", check=0
    )
    assert "9 images: the val split" in proc.stdout
    # --split all says so explicitly; five images of one class in one batch.
    proc = cli(
        "evaluate",
        "--checkpoint",
        finished / "best.pt",
        "--data",
        birds / "test",
        "--split",
        "all",
        "--out",
        tmp_path / "ev3",
        check=0,
    )
    assert "every image" in proc.stdout
    five = sorted((birds / "test" / "albatross").iterdir())[:5]
    cli(
        "predict",
        "--checkpoint",
        finished / "best.pt",
        "--out",
        tmp_path / "five.csv",
        "--batch-size",
        5,
        *five,
        check=0,
    )
    assert len(pd.read_csv(tmp_path / "five.csv")) == 5


def test_small_held_out_folder_and_unknown_class(finished, tmp_path):
    small = tmp_path / "small"
    write_class_images(small, classes=("albatross",), per_class=2)  # int(0.2 * 2) = 0: no split possible
    cli("evaluate", "--checkpoint", finished / "best.pt", "--data", small, "--out", tmp_path / "ev", check=0)
    assert not any(p.name.startswith(".effnet") for p in small.iterdir())
    odd = tmp_path / "odd"
    write_class_images(odd, classes=("albatross", "dodo"), per_class=3)
    line = one_line(
        cli("evaluate", "--checkpoint", finished / "best.pt", "--data", odd, "--out", tmp_path / "e2", check=2)
    )
    assert "dodo" in line and "not among the 3 classes" in line


# 5. Results that read back


def test_eval_results_read_back_with_numeric_and_na_labels(tmp_path):
    table = pd.DataFrame(
        {
            "path": ["a.png", "b.png", "c.png", "d.png"],
            "true": ["0", "001", "NA", "0"],
            "pred_1": ["0", "NA", "NA", ""],
            "prob_1": ["0.9", "0.6", "0.8", ""],
            "pred_2": ["001", "001", "0", ""],
            "prob_2": ["0.1", "0.3", "0.1", ""],
        }
    )
    table.to_csv(tmp_path / "p.csv", index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = EvalResult.load(tmp_path / "p.csv")
    assert any("1 row(s) without a prediction" in str(w.message) for w in caught)
    assert result.classes == ["0", "001", "NA"] and len(result.paths) == 3
    assert [result.classes[i] for i in result.y_pred] == ["0", "NA", "NA"]
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty.csv: the file is empty"):
        EvalResult.load(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("path,true,pred_1,prob_1\n")
    with pytest.raises(ValueError, match="header.csv: holds a header but no predictions"):
        EvalResult.load(tmp_path / "header.csv")


# 6 and 7. One clear line for every bad argument; no silent defaults


def test_bad_arguments_get_one_line_each(birds, finished, tmp_path):
    unreadable = tmp_path / "unreadable"
    for c in ("a", "b"):
        (unreadable / c).mkdir(parents=True)
        for i in range(6):
            (unreadable / c / f"{i}.jpg").write_bytes(b"not an image")
    one = tmp_path / "one"
    write_class_images(one, classes=("only",), per_class=10)
    no_transforms = load_checkpoint(finished / "best.pt")
    del no_transforms["transforms"]
    atomic_save(no_transforms, tmp_path / "nt.pt")
    data, out = ["--data", birds / "train"], ["--out", tmp_path / "r"]
    cases = {
        "--epochs 0: must be at least 1": ["train", *data, *out, "--epochs", 0],
        "--epochs -1: must be at least 1": ["train", *data, *out, "--epochs", -1],
        "--max-steps-per-epoch 0: must be at least 1": ["train", *data, *out, "--max-steps-per-epoch", 0],
        "--width 0.0: must be above 0": ["train", *data, *out, "--width", 0],
        "--depth 0.0: must be above 0": ["train", *data, *out, "--depth", 0],
        "--image-size 0: must be a positive number": ["train", *data, *out, "--image-size", 0],
        "--lr -0.1: must be a positive number": ["train", *data, *out, "--lr", -0.1],
        "invalid int value: 'abc'": ["train", *data, *out, "--epochs", "abc"],
        "none of the 10 training images could be read": ["train", "--data", unreadable, *out, *NET],
        "a classifier needs at least two": ["train", "--data", one, *out, *NET],
        "--topk 0": ["predict", "--checkpoint", finished / "best.pt", "--out", tmp_path / "p.csv", "--topk", 0, one],
        "--topk -1": ["predict", "--checkpoint", finished / "best.pt", "--out", tmp_path / "p.csv", "--topk", -1, one],
        "write .csv or .json": ["predict", "--checkpoint", finished / "best.pt", "--out", tmp_path / "x.xlsx", one],
        "lacks transforms": ["predict", "--checkpoint", tmp_path / "nt.pt", "--out", tmp_path / "p.csv", one],
        "--epochs -1: must be at least 1 ": ["demo", "--out", tmp_path / "demo", "--epochs", -1],
        "--epochs 0: must be at least 1 ": ["demo", "--out", tmp_path / "demo", "--epochs", 0],
        "val_fraction = -0.1": ["data", "info", birds / "train", "--val-fraction", -0.1],
    }
    for needle, argv in cases.items():
        r = cli(*argv)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (argv, r)
        assert len(lines) == 1 and needle.strip() in lines[0], (needle, lines)
    assert not (tmp_path / "r").exists() and not (tmp_path / "p.csv").exists() and not (tmp_path / "x.xlsx").exists()
    assert not (tmp_path / "demo").exists()


# 8. Messages that say what is wrong


def test_decompression_bomb_unsafe_checkpoint_and_manifest_changes_are_named(tmp_path, finished):
    import io

    from effnet_lib.data.images import unreadable_reason

    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (50, 80, 120)).save(buf, "JPEG")
    raw = bytearray(buf.getvalue())
    sof = raw.index(b"\xff\xc0")  # baseline frame header: height and width as big-endian shorts
    raw[sof + 5 : sof + 9] = (20000).to_bytes(2, "big") + (20000).to_bytes(2, "big")
    (tmp_path / "huge.jpg").write_bytes(bytes(raw))
    reason = unreadable_reason(tmp_path / "huge.jpg")
    assert "decompression-bomb limit" in reason and "EFFNET_MAX_IMAGE_PIXELS" in reason

    class Exploit:
        def __reduce__(self):
            return (os.system, ("true",))

    torch.save({"model": {}, "config": Exploit()}, tmp_path / "evil.pt")
    line = one_line(
        cli("evaluate", "--checkpoint", tmp_path / "evil.pt", "--data", tmp_path, "--out", tmp_path / "e", check=2)
    )
    assert "not a plain weights file" in line and "will not be loaded" in line and "weights_only" not in line

    data = tmp_path / "d"
    write_class_images(data, per_class=10)
    manifest = open_image_folder(data).manifest
    Image.new("RGB", (8, 8)).save(data / "noise" / "extra.png")
    with pytest.raises(DataError, match=r"1 files added \(noise/extra.png\)"):
        open_image_folder(data)
    assert manifest.exists()


# 9. Minor: leftovers, empty folders, silently dropped classes, duplicates


def test_leftovers_unknown_classes_and_duplicates(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / ".best.pt.abc123.tmp").write_bytes(b"half a checkpoint")  # a kill during a save leaves this
    cli("train", "--out", out, "--resume", "--epochs", 4, "--no-progress", check=0)
    assert not list(out.glob(".*.tmp"))

    root = tmp_path / "splits"
    write_class_images(root / "train", classes=("a", "b"), per_class=8)
    write_class_images(root / "val", classes=("a", "b", "ghost"), per_class=3, seed=4)
    shutil.copy(root / "train" / "a" / "a_000.png", root / "train" / "b" / "copy_of_a.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(TrainConfig(data=str(root), out=str(tmp_path / "r2"), epochs=1, **TINY), progress=False)
    messages = [str(w.message) for w in caught]
    assert any("1 class folder(s) not in train/ are left out: ghost (3 images)" in m for m in messages)
    assert any("filed under two classes" in m and "copy_of_a.png" in m for m in messages)


def test_library_refuses_a_run_folder_without_resume_or_overwrite(birds, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    cfg = TrainConfig(**{**load_checkpoint(out / "last.pt")["config"], "out": str(out)})
    with pytest.raises(RunExistsError, match="`resume=True`"):
        fit(cfg, progress=False)
    with pytest.raises(CheckpointError, match="no run to resume"):
        fit(TrainConfig(data=str(birds / "train"), out=str(tmp_path / "none"), **TINY), resume=True, progress=False)
