"""Sweeps of training runs for the scaling experiments, cached on disk by their full config.

A config names everything that changes a result (width, depth, resolution, epochs, seed, recipe,
data, batch size, learning rate, quick or full). `sweep` trains each config that has no cached
result, measures its parameters and multiply-adds, evaluates it on the validation and test
splits, and returns one tidy row per config. Re-running a sweep reads finished configs back
instantly; a changed config re-runs only itself; a sweep stopped half-way resumes (finished
configs are cached, a config stopped mid-training resumes from its last epoch). Every row carries
how it was made: commit, torch version, device, date, seed, quick or full.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .io import atomic_write_text, provenance


@dataclass(frozen=True)
class Config:
    width: float = 0.25
    depth: float = 0.34
    resolution: int = 48
    epochs: int = 6
    seed: int = 0
    recipe: str = "seed"
    data: str = "builtin"
    batch_size: int = 64
    lr: float | None = None
    quick: bool = True

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


def default_cache() -> Path:
    from .workbook import runs_dir
    return runs_dir() / "experiments"


def run_config(cfg: Config, cache: str | Path | None = None, progress: bool = False) -> dict:
    """Train and evaluate one config, or read its cached result."""
    from .predict import Predictor
    from .scaling import measure
    from .train import TrainConfig, train_or_load

    cache = Path(cache or default_cache())
    result_file = cache / f"{cfg.key()}.json"
    if result_file.exists():
        return json.loads(result_file.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    train_cfg = TrainConfig(data=cfg.data, out=str(cache / "runs" / cfg.key()), model=None, width=cfg.width,
                            depth=cfg.depth, image_size=cfg.resolution, epochs=cfg.epochs, seed=cfg.seed,
                            recipe=cfg.recipe, batch_size=cfg.batch_size, lr=cfg.lr, quick=cfg.quick)
    run = train_or_load(train_cfg, progress=progress)
    predictor = Predictor.from_checkpoint(run.best)
    cost = measure(predictor.model, cfg.resolution)
    val = predictor.evaluate(run.folder.val).report().summary["accuracy"]
    test = predictor.evaluate(run.folder.test).report().summary["accuracy"] if run.folder.test else None
    row = {**asdict(cfg), "key": cfg.key(), "params": cost.params, "macs": cost.macs,
           "train_seconds": sum(r["seconds"] for r in run.history), "val_acc": val, "test_acc": test,
           "best_epoch": max(run.history, key=lambda r: r["val_acc"])["epoch"],
           **{f"prov_{k}": v for k, v in provenance(str(predictor.device), seed=cfg.seed, quick=cfg.quick).items()
              if k not in ("seed", "quick")}}
    atomic_write_text(result_file, json.dumps(row, indent=1))
    return row


def sweep(configs, cache: str | Path | None = None, progress: bool = True) -> pd.DataFrame:
    """One row per config (cached results read back, the others trained), in the given order."""
    configs = list(dict.fromkeys(configs))  # the same config twice is one run
    rows = []
    for cfg in tqdm(configs, desc="configs", disable=not progress):
        rows.append(run_config(cfg, cache))
    return pd.DataFrame(rows)
