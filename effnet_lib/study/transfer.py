"""Transfer learning that runs offline, on the built-in Fashion-MNIST subset.

Pretrained ImageNet weights cannot be downloaded here, so the experiment brings its own "large
dataset": the network is first trained on five of the ten articles (the *source* task: T-shirts,
trousers, pullovers, dresses, coats; 500 training images each) and then fine-tuned on the other
five (the *target* task: sandals, shirts, sneakers, bags, ankle boots) from a few images per
class. Against it, the same network trained from scratch on the same few images, with the same
recipe and the same number of epochs. Both are judged on the same 500 test images per target
class (for as many epochs, `epochs_for`), each at the learning rate its validation split prefers
(`LRS`). With 5 seeds per point (a seed draws the few images, initialises the network and
shuffles), the gain of starting from the source network is given per point with its SE, and a
verdict by the course's rule (`scaling_analysis.verdict`: beats or loses beyond 2 SE, else ties).

The validation split of each target task is as small as its training split (the same number of
images per class, at most 100): a user with five images per class does not hold a hundred more
back. Everything goes through `sweeps.sweep`, so finished runs are cached by their config and a
stopped study resumes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.datasets import resolve
from ..errors import MissingInputError
from ..files import atomic_write_bytes, atomic_write_text
from ..provenance import provenance
from ..training.config import TrainConfig
from ..training.presets import QUICK, repo_root, runs_dir
from .scaling_analysis import verdict
from .sweeps import sweep

__all__ = [
    "SOURCE",
    "TARGET",
    "PER_CLASS",
    "SEEDS",
    "LRS",
    "EPOCHS",
    "PASSES",
    "epochs_for",
    "task_folder",
    "features_only",
    "source_config",
    "target_config",
    "run",
    "seed_gains",
    "gains",
    "RESULTS",
    "save_results",
    "load_results",
]

SOURCE = ("tshirt_top", "trouser", "pullover", "dress", "coat")
TARGET = ("sandal", "shirt", "sneaker", "bag", "ankle_boot")
PER_CLASS = (5, 10, 25, 50, 100)
SEEDS = (0, 1, 2, 3, 4)
# Each start gets the learning rate its own validation split prefers: fine-tuning wants smaller
# steps than training from scratch, and one rate for both would decide the comparison by itself.
LRS = (0.001, 0.003, 0.01)
EPOCHS = 15  # at least, for every target run, from scratch or not
PASSES = 1500  # images seen per run at least: five images per class need 60 epochs to get there


def epochs_for(per_class: int) -> int:
    """Epochs of a target run: `EPOCHS`, or more for a few images, so that every run sees at least
    `PASSES` images (15 epochs of 25 images are 45 optimiser steps: too few to learn anything)."""
    return max(EPOCHS, -(-PASSES // (len(TARGET) * per_class)))


MARKER = "fashion.json"  # the task folders are read with the Fashion-MNIST settings


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # the images are not copied where the file system allows
    except OSError:
        shutil.copy2(src, dst)


def task_folder(classes, per_class: int | None, seed: int, root=None, out=None) -> Path:
    """An image folder (train/val/test) of `classes` from the built-in Fashion-MNIST subset:
    `per_class` training images per class drawn with `seed` (None: all), as many validation
    images (at most 100; None: all), and every test image. Built once, then read back."""
    root = Path(root or resolve("fashion")).resolve()
    name = f"{root.name}-{'-'.join(c[:4] for c in classes)}-{per_class or 'all'}-seed{seed}"  # root: another build
    out = Path(out or runs_dir() / "transfer" / "tasks" / name)
    if (out / MARKER).is_file():
        return out
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("val", None if per_class is None else min(per_class, 100)), ("test", None)):
        for c in classes:
            files = sorted((root / split / c).iterdir())
            chosen = files if n is None else [files[i] for i in sorted(rng.choice(len(files), n, replace=False))]
            for f in chosen:
                _link(f, staging / split / c / f.name)
    shutil.copy2(root / MARKER, staging / MARKER)  # last: the folder is whole once it is there
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out


def source_config(seed: int = 0, root=None) -> TrainConfig:
    """The quick network trained on the five source articles (all their images)."""
    return replace(QUICK, data=str(task_folder(SOURCE, None, seed, root)), seed=seed, batch_size=None)


def target_config(
    per_class: int, seed: int, pretrained: Path | None, root=None, lr: float | None = None
) -> TrainConfig:
    """The same network on the target articles from `per_class` images each, from the source
    network's features (`pretrained`: `features_only`, a fresh classifier) or from scratch (None)."""
    return replace(
        QUICK,
        data=str(task_folder(TARGET, per_class, seed, root)),
        seed=seed,
        epochs=epochs_for(per_class),
        batch_size=None,
        pretrained=None if pretrained is None else str(pretrained),
        lr=lr,
    )


def features_only(checkpoint: Path) -> Path:
    """The source network's weights without its classifier, beside its checkpoint: a target run
    starts from them with a fresh classifier. (Source and target both have five classes, so the
    whole state would fit, and the source's T-shirt row would start as the sandal's.)"""
    import torch

    out = Path(checkpoint).with_name("features-only.pt")
    if not out.exists():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        state = state.get("model", state)
        buf = io.BytesIO()
        torch.save({k: v for k, v in state.items() if not k.startswith("classifier.")}, buf)
        atomic_write_bytes(out, buf.getvalue())
    return out


def run(per_class=PER_CLASS, seeds=SEEDS, lrs=LRS, cache=None, progress: bool = False, root=None) -> pd.DataFrame:
    """Every point: one row per (images per class, seed, start), trained at each of `lrs`; the row
    keeps the rate with the best validation accuracy (the first on a tie) and its test accuracy."""
    cache = Path(cache or runs_dir() / "transfer" / "experiments")
    sources = sweep([source_config(s, root) for s in seeds], cache, progress=progress)
    rows = []
    for seed, src in zip(seeds, sources.itertuples()):
        checkpoint = features_only(cache / "runs" / src.key / "best.pt")
        todo = [
            (target_config(n, seed, start, root, lr), n, label)
            for n in per_class
            for start, label in ((checkpoint, "from the source network"), (None, "from scratch"))
            for lr in lrs
        ]
        done = sweep([c for c, _, _ in todo], cache, progress=progress)
        tried = pd.DataFrame(
            [
                {"per_class": n, "start": label, "lr": cfg.lr, "epochs": cfg.epochs, **r._asdict()}
                for (cfg, n, label), r in zip(todo, done.itertuples(index=False))
            ]
        )
        for (n, label), group in tried.groupby(["per_class", "start"], sort=False):
            best = group.loc[group.val_acc.idxmax()]
            rows.append(
                {
                    "per_class": n,
                    "seed": seed,
                    "start": label,
                    "lr": best.lr,
                    "val_acc": best.val_acc,
                    "test_acc": best.test_acc,
                    "lrs_tried": " ".join(f"{v:g}" for v in group.lr),
                    "val_accs": " ".join(f"{v:.3f}" for v in group.val_acc),
                    "source_test_acc": src.test_acc,
                    "epochs": best.epochs,
                    "key": best.key,
                    "train_seconds": group.train_seconds.sum(),
                    **{k: best[k] for k in ("prov_commit", "prov_device", "prov_date", "prov_threads")},
                }
            )
    return pd.DataFrame(rows)


# The committed study (scripts/transfer_study.py): every point, 5 seeds (SEEDS), with how it was made.
RESULTS = repo_root() / "data" / "results" / "transfer.csv"


def save_results(table: pd.DataFrame, command: str, path: Path = RESULTS) -> Path:
    atomic_write_text(path, table.to_csv(index=False))
    meta = {
        "command": command,
        "rows": len(table),
        "per_class": sorted(int(n) for n in table.per_class.unique()),
        "seeds": sorted(int(s) for s in table.seed.unique()),
        "source": list(SOURCE),
        "target": list(TARGET),
        "trained_at_commits": sorted(table.prov_commit.unique().tolist()),
        "trained_on": sorted(table.prov_device.unique().tolist()),
        "trained_between": [table.prov_date.min(), table.prov_date.max()],
        "total_train_seconds": round(float(table.train_seconds.sum()), 1),
        **{f"table_written_{k}": v for k, v in provenance().items()},
    }
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1) + "\n")
    return path


def load_results(path: Path = RESULTS) -> tuple[pd.DataFrame, dict]:
    """The committed study and how it was made (command, commit, device, seeds)."""
    if not path.exists():
        raise MissingInputError(f"{path}: no transfer results; make them with `python scripts/transfer_study.py`")
    return pd.read_csv(path), json.loads(path.with_suffix(".json").read_text())


def seed_gains(table: pd.DataFrame) -> pd.Series:
    """The gain of starting from the source network, seed by seed (the same images for both starts),
    indexed by (per_class, seed)."""
    wide = table.pivot_table(index=["per_class", "seed"], columns="start", values="test_acc")
    return (wide["from the source network"] - wide["from scratch"]).rename("gain")


def gains(table: pd.DataFrame) -> pd.DataFrame:
    """Per images-per-class: each start's mean test accuracy, the gain of starting from the source
    network (paired by seed: the same images), its SE over seeds and the verdict (None with one seed)."""
    wide = table.pivot_table(index=["per_class", "seed"], columns="start", values="test_acc")
    diff = seed_gains(table)
    out = []
    for n, d in diff.groupby(level="per_class"):
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        out.append(
            {
                "per_class": n,
                "seeds": len(d),
                "from scratch": wide["from scratch"].loc[n].mean(),
                "from the source network": wide["from the source network"].loc[n].mean(),
                "gain": d.mean(),
                "gain_se": se,
                "verdict": verdict(d.mean(), se),
            }
        )
    return pd.DataFrame(out)
