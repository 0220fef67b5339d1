"""Settings the notebooks and the demo share: where runs go, and what "quick mode" trains.

Quick mode is the CPU-sized version of an experiment, labelled as such wherever its numbers are
shown: the built-in Fashion-MNIST subset, a small EfficientNet at 32 px and a few epochs. The full settings (a
user's folder, B0 at 224 px on a GPU) are one call away: `full_training_config(path)`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from .config import TrainConfig, config_key

__all__ = ["QUICK", "repo_root", "runs_dir", "quick_training_config", "full_training_config", "quick_mode_timing"]

# Width 0.5, depth 0.34 of B0 (about 0.7M parameters) on Fashion-MNIST at 32 px with the reference
# experiment's recipe as it is: large enough to learn the ten articles, small enough for a laptop
# (benchmarks/train_speed.md times it).
QUICK = TrainConfig(
    data="fashion", model=None, width=0.5, depth=0.34, image_size=32, epochs=10, batch_size=64, quick=True
)


def repo_root() -> Path:
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def runs_dir() -> Path:
    return Path(os.environ.get("EFFNET_RUNS", repo_root() / "runs"))


def quick_training_config(name: str = "quick", **changes) -> TrainConfig:
    """The quick config (with `changes`), writing to runs/<name>-<config hash>."""
    cfg = replace(QUICK, **changes)
    return replace(cfg, out=str(runs_dir() / f"{name}-{config_key(cfg)}"))


def full_training_config(data: str, name: str = "full", **changes) -> TrainConfig:
    """The reference experiment: B0, 224 px, seed recipe, 30 epochs, batch 32, on `data`."""
    cfg = replace(
        TrainConfig(
            data=data,
            model="b0",
            image_size=224,
            epochs=30,
            batch_size=32,
            recipe="seed",
            workers=min(8, os.cpu_count() or 1),
        ),
        **changes,
    )
    return replace(cfg, out=str(runs_dir() / f"{name}-{config_key(cfg)}"))


def quick_mode_timing(notebook: str) -> str:
    """One line for the top of a notebook: how long its quick mode took, measured by
    `scripts/time_notebooks.py` (benchmarks/notebook_times.json), on which machine and when."""
    import json

    path = repo_root() / "benchmarks" / "notebook_times.json"
    record = json.loads(path.read_text()).get("notebooks", {}).get(notebook) if path.is_file() else None
    if record is None:
        return f"QUICK MODE timing of {notebook}: not measured yet (python scripts/time_notebooks.py {notebook})"
    minutes = lambda s: f"{int(s // 60)} min {s % 60:.0f} s" if s >= 60 else f"{s:.0f} s"  # noqa: E731
    return (
        f"QUICK MODE: this notebook ran in {minutes(record['cold_s'])} the first time, "
        f"opened on its own with nothing cached, "
        f"and {minutes(record['warm_s'])} once its runs were cached, on {record['device']} "
        f"(measured by scripts/time_notebooks.py at commit {record['commit']}, {record['date'][:10]})"
    )
