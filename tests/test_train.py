"""Training on real image folders: one epoch, exact resume after a real interrupt, faults."""

import csv
import hashlib
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import torch
from conftest import TINY

from effnet_lib.training.checkpoint import CheckpointError, load_checkpoint
from effnet_lib.training.config import TrainConfig
from effnet_lib.training.loop import TrainingStopped, fit, train_or_load
from effnet_lib.training.recipes import RECIPES, Schedule


def test_one_epoch_writes_history_and_checkpoints(split_folder, tmp_path):
    cfg = TrainConfig(data=str(split_folder), out=str(tmp_path / "run"), epochs=1, **TINY)
    run = fit(cfg, progress=False)
    assert [p.name for p in sorted(run.out.iterdir())] == [
        "best.pt",
        "classes.txt",
        "history.csv",
        "last.pt",
        "split.json",
    ]  # the images it trained and validated on
    rows = list(csv.DictReader(open(run.out / "history.csv")))
    assert len(rows) == 1 and set(rows[0]) >= {
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "lr",
        "seconds",
        "img_per_s",
    }
    ckpt = load_checkpoint(run.out / "last.pt")
    assert ckpt["classes"] == ["circles", "noise", "stripes"] and ckpt["epoch"] == 0
    assert set(ckpt) >= {"model", "optimizer", "scheduler", "config", "rng", "provenance", "arch", "transforms"}
    assert ckpt["config"]["recipe"] == "seed" and ckpt["provenance"]["seed"] == 0
    bn = ckpt["arch"]["bn"]
    assert bn == [1e-3, 0.1]  # the seed recipe's BatchNorm


def test_resume_applies_only_the_settings_given(split_folder, tmp_path):
    """A command's options on resume: the settings named in `given` apply, the others are the run's
    own, read from its last.pt; a config written out whole is checked field by field."""
    cfg = TrainConfig(data=str(split_folder), out=str(tmp_path / "run"), epochs=1, **TINY)
    fit(cfg, progress=False)
    options = TrainConfig(data=str(split_folder), out=cfg.out, epochs=2)  # the defaults: another network
    with pytest.raises(CheckpointError, match=r"other settings: .*model 'b0' \(the run: None\)"):
        fit(options, resume=True, progress=False)
    run = fit(options, resume=True, progress=False, given={"data", "out", "epochs"})
    assert len(run.history) == 2 and load_checkpoint(run.out / "last.pt")["config"]["width"] == TINY["width"]


def test_training_learns_the_patterns(single_folder, tmp_path):
    cfg = TrainConfig(data=str(single_folder), out=str(tmp_path / "run"), epochs=15, **TINY)
    run = fit(cfg, progress=False)
    assert run.history[-1]["train_loss"] < run.history[0]["train_loss"]
    assert max(r["val_acc"] for r in run.history) > 0.8  # 3 classes: chance is 0.33


def test_recipes_and_schedules():
    assert RECIPES["seed"].optimizer == "sgd" and RECIPES["seed"].lr == 0.01
    assert RECIPES["seed"].weight_decay == 1e-4 and RECIPES["seed"].bn == "seed"
    paper = RECIPES["paper"]
    assert (paper.optimizer, paper.lr, paper.lr_batch, paper.weight_decay) == ("rmsprop_tf", 0.256, 4096, 1e-5)
    assert paper.autoaugment and paper.ema == 0.9999 and paper.bn == "tf"
    cosine = Schedule("cosine", steps_per_epoch=10, epochs=4)
    assert [cosine(s) for s in (0, 9, 10, 20, 39)] == pytest.approx([1, 1, 0.8535534, 0.5, 0.1464466])
    step = Schedule("step", steps_per_epoch=10, epochs=10, warmup_epochs=1, decay=0.97, decay_epochs=2.4)
    assert step(0) == pytest.approx(0.1) and step(23) == 1.0 and step(24) == pytest.approx(0.97)


def test_paper_recipe_trains_with_ema_and_autoaugment(split_folder, tmp_path):
    cfg = TrainConfig(
        data=str(split_folder), out=str(tmp_path / "run"), epochs=1, recipe="paper", warmup_epochs=0, **TINY
    )
    run = fit(cfg, progress=False)
    ckpt = load_checkpoint(run.out / "last.pt")
    assert ckpt["ema"] is not None and "model_for_inference" in ckpt
    assert ckpt["transforms"]["autoaugment"] and ckpt["arch"]["bn"] == [1e-3, 0.01]
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.256 * 8 / 4096)


def _train_cmd(data, out, epochs):
    return [
        sys.executable,
        "-m",
        "effnet_lib",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--width",
        "0.25",
        "--depth",
        "0.25",
        "--image-size",
        "32",
        "--batch-size",
        "4",
        "--no-progress",
    ]


def _weights_hash(path):
    state = load_checkpoint(path)["model"]
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode() + state[k].cpu().numpy().tobytes())
    return h.hexdigest()


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def uninterrupted(single_folder, tmp_path_factory):
    """A 4-epoch run in its own process, never interrupted: what every interrupted run must equal."""
    root = tmp_path_factory.mktemp("uninterrupted")
    import shutil

    shutil.copytree(single_folder, root / "data")
    subprocess.run(_train_cmd(root / "data", root / "full", 4), check=True, env=ONE_THREAD, capture_output=True)
    return root


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_epoch_then_resume_equals_uninterrupted(uninterrupted, tmp_path, sig):
    env, data, epochs = ONE_THREAD, uninterrupted / "data", 4  # the same data folder: the same manifest
    proc = subprocess.Popen(
        _train_cmd(data, tmp_path / "cut", epochs), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    history = tmp_path / "cut" / "history.csv"
    deadline = time.time() + 120
    while not (history.exists() and len(history.read_text().splitlines()) >= 2) and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(sig)  # during epoch 2
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "continue with --resume" in err and sig.name in err
    stopped_at = load_checkpoint(tmp_path / "cut" / "last.pt")["epoch"]
    assert stopped_at < epochs - 1

    resumed = subprocess.run(
        _train_cmd(data, tmp_path / "cut", epochs) + ["--resume"], env=env, capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _weights_hash(tmp_path / "cut" / "last.pt") == _weights_hash(uninterrupted / "full" / "last.pt")
    full_rows = list(csv.DictReader(open(uninterrupted / "full" / "history.csv")))
    cut_rows = list(csv.DictReader(open(tmp_path / "cut" / "history.csv")))
    assert [r["val_acc"] for r in cut_rows] == [r["val_acc"] for r in full_rows]
    assert [r["train_loss"] for r in cut_rows] == [r["train_loss"] for r in full_rows]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(split_folder, tmp_path):
    out = tmp_path / "run"
    good = TrainConfig(data=str(split_folder), out=str(out), epochs=1, **TINY)
    fit(good, progress=False)
    before = (out / "last.pt").read_bytes()
    with pytest.raises(TrainingStopped, match="NaN or infinite.*no checkpoint was written.*lower `lr`"):
        fit(replace(good, lr=1e12, epochs=3), overwrite=True, progress=False)
    assert (out / "last.pt").read_bytes() == before
    load_checkpoint(out / "last.pt")


def test_unwritable_output_reported_before_training(split_folder, tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("a file where the run folder should go")
        out = blocker / "run"
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        out = tmp_path / "ro" / "run"
    with pytest.raises(PermissionError, match="cannot write the run folder"):
        fit(TrainConfig(data=str(split_folder), out=str(out), epochs=1, **TINY), progress=False)


def test_train_or_load_reads_back_and_refuses_other_configs(split_folder, tmp_path):
    cfg = TrainConfig(data=str(split_folder), out=str(tmp_path / "run"), epochs=1, **TINY)
    first = fit(cfg, progress=False)
    mtime = (first.out / "last.pt").stat().st_mtime_ns
    again = train_or_load(cfg, progress=False)
    assert again.history == first.history and (first.out / "last.pt").stat().st_mtime_ns == mtime
    with pytest.raises(CheckpointError, match="another config"):
        train_or_load(replace(cfg, seed=5), progress=False)


def test_transfer_learning_from_torchvision_weights(split_folder, tmp_path):
    """Weights saved by torchvision's own EfficientNet-B0 (its format, its keys) start a run on a
    new class count: the features are torchvision's, the classifier is new."""
    import torchvision

    torch.manual_seed(0)
    source = torchvision.models.efficientnet_b0().state_dict()
    torch.save(source, tmp_path / "weights.pth")
    cfg = TrainConfig(
        data=str(split_folder),
        out=str(tmp_path / "run"),
        epochs=1,
        pretrained=str(tmp_path / "weights.pth"),
        freeze_features=True,
        **{**TINY, "model": "b0", "width": None, "depth": None},
    )
    run = fit(cfg, progress=False)
    state = load_checkpoint(run.out / "last.pt")["model"]
    features = [k for k in source if k.startswith("features.") and "running" not in k and "num_batches" not in k]
    assert len(features) > 200 and all(torch.equal(state[k], source[k]) for k in features)  # frozen, torchvision's
    assert state["classifier.1.weight"].shape == (3, 1280) and source["classifier.1.weight"].shape == (1000, 1280)


def test_augmenting_on_the_device_trains_and_is_reproducible(split_folder, tmp_path):
    runs = [
        fit(
            TrainConfig(
                data=str(split_folder),
                out=str(tmp_path / f"run{i}"),
                epochs=2,
                augment_on="device",
                workers=2 * i,
                **TINY,
            ),
            progress=False,
        )
        for i in (0, 1)
    ]
    a, b = (
        [{k: r[k] for k in ("train_loss", "train_acc", "val_loss", "val_acc")} for r in run.history] for run in runs
    )
    assert a == b  # the same numbers with and without worker processes
    assert all(math.isfinite(r["train_loss"]) for r in a)
    with pytest.raises(ValueError, match="augment_on"):
        fit(TrainConfig(data=str(split_folder), out=str(tmp_path / "bad"), augment_on="gpu", **TINY), progress=False)
