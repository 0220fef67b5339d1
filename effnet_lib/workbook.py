"""Settings the notebooks and the demo share: where runs go, and what "quick mode" trains.

Quick mode is the CPU-sized version of an experiment, labelled as such wherever its numbers are
shown: the built-in data, a small EfficientNet at 64 px and a few epochs. The full settings (a
user's folder, B0 at 224 px on a GPU) are one call away: `full_training_config(path)`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .train import TrainConfig, config_key

# Width 0.5, depth 0.34 of B0 (about 0.7M parameters): large enough to learn the textures,
# small enough for a laptop (about a minute on 2 cores). The seed recipe as it is; lr 0.05 and
# 0.1 were tried and learned less in 20 epochs.
QUICK = TrainConfig(data="builtin", model=None, width=0.5, depth=0.34, image_size=64, epochs=20,
                    batch_size=32, quick=True)


def repo_root() -> Path:
    here = Path(__file__).resolve().parents[1]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def runs_dir() -> Path:
    return Path(os.environ.get("EFFNET_RUNS", repo_root() / "runs"))


def quick_training_config(name: str = "quick", **changes) -> TrainConfig:
    """The quick config (with `changes`), writing to runs/<name>-<config hash>."""
    cfg = replace(QUICK, **changes)
    return replace(cfg, out=str(runs_dir() / f"{name}-{config_key(cfg)}"))


def full_training_config(data: str, name: str = "full", **changes) -> TrainConfig:
    """The reference experiment: B0, 224 px, seed recipe, 30 epochs, batch 32, on `data`."""
    cfg = replace(TrainConfig(data=data, model="b0", image_size=224, epochs=30, batch_size=32,
                              recipe="seed", workers=min(8, os.cpu_count() or 1)), **changes)
    return replace(cfg, out=str(runs_dir() / f"{name}-{config_key(cfg)}"))
