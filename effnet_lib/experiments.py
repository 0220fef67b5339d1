"""Sweeps of training runs for the scaling experiments, cached on disk by their full config.

A config names everything that changes a result (width, depth, resolution, epochs, seed, recipe
and its values, data, batch size, learning rate, quick or full). `sweep` trains each config that
has no cached result, measures its parameters and multiply-adds, evaluates it on the validation
and test splits, and returns one tidy row per config. Re-running a sweep reads finished configs
back instantly; a changed config re-runs only itself; a sweep stopped half-way resumes (finished
configs are cached, a config stopped mid-training resumes from its last epoch). Every row carries
how it was made: commit, torch version, device, host, threads, date, seed, quick or full.

Where configs train is the executor's business (`effnet_lib.executors`: sequential, a local
process pool, a Dask cluster, a SLURM queue). A result depends on the number of torch threads it
was computed with, so `threads` is a setting of the sweep, not of the executor: the same sweep
gives the same rows, bit for bit on CPU, whatever runs it. Only the driver writes the cache of
results (atomically), so two sweeps or a crashed worker cannot corrupt it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from .io import atomic_write_text, provenance

__all__ = ["Config", "SweepError", "default_cache", "train_config", "sweep"]


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
        # The recipe's values, not only its name: a changed recipe must not be read back from the cache.
        from .train import RECIPES
        recipe = RECIPES.get(self.recipe)
        record = {**asdict(self), "recipe_values": asdict(recipe) if recipe else None}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


class SweepError(RuntimeError):
    """Some configs failed; the others are cached. The message names each with its error."""


def default_cache() -> Path:
    from .workbook import runs_dir
    return runs_dir() / "experiments"


def train_config(cfg: Config, runs: str | Path, threads: int = 1, progress: bool = False) -> dict:
    """Train and evaluate one config in `runs/<key>` (resuming a partial run) with `threads`
    torch threads, and return its row. Runs in any worker; it writes no result cache."""
    import torch

    from .predict import Predictor
    from .scaling import measure
    from .train import TrainConfig, train_or_load

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        train_cfg = TrainConfig(data=cfg.data, out=str(Path(runs) / cfg.key()), model=None, width=cfg.width,
                                depth=cfg.depth, image_size=cfg.resolution, epochs=cfg.epochs, seed=cfg.seed,
                                recipe=cfg.recipe, batch_size=cfg.batch_size, lr=cfg.lr, quick=cfg.quick)
        run = train_or_load(train_cfg, progress=progress)
        predictor = Predictor.from_checkpoint(run.best)
        cost = measure(predictor.model, cfg.resolution)
        val = predictor.evaluate(run.folder.val).report().summary["accuracy"]
        test = predictor.evaluate(run.folder.test).report().summary["accuracy"] if run.folder.test else None
        prov = provenance(str(predictor.device), seed=cfg.seed, quick=cfg.quick)
    finally:
        torch.set_num_threads(before)
    return {**asdict(cfg), "key": cfg.key(), "params": cost.params, "macs": cost.macs,
            "train_seconds": sum(r["seconds"] for r in run.history), "val_acc": val, "test_acc": test,
            "best_epoch": max(run.history, key=lambda r: r["val_acc"])["epoch"],
            **{f"prov_{k}": v for k, v in prov.items() if k not in ("seed", "quick")},
            "prov_host": socket.gethostname(), "prov_threads": threads}


def sweep(configs, cache: str | Path | None = None, progress: bool = True, executor=None,
          threads: int = 1) -> pd.DataFrame:
    """One row per config (cached results read back, the others trained), in the given order.

    `executor`: None trains one config after another here; otherwise any object with
    `concurrent.futures.Executor`'s `submit` (see `effnet_lib.executors.open_executor`), and rows
    are collected as they finish. A config that fails is reported by name with its traceback
    after the others have finished (`SweepError`); a worker that dies has its config run again
    (the executor's own retry, or the next call of `sweep`)."""
    configs = list(dict.fromkeys(configs))  # the same config twice is one run
    cache = Path(cache or default_cache())
    cache.mkdir(parents=True, exist_ok=True)
    rows = {c.key(): json.loads((cache / f"{c.key()}.json").read_text()) for c in configs
            if (cache / f"{c.key()}.json").exists()}
    todo = [c for c in configs if c.key() not in rows]
    failed: dict[str, str] = {}
    bar = tqdm(total=len(configs), initial=len(rows), desc="configs", disable=not progress)
    for cfg, row, error in _results(todo, cache / "runs", threads, executor):
        if error is None:
            atomic_write_text(cache / f"{cfg.key()}.json", json.dumps(row, indent=1))
            rows[cfg.key()] = row
        else:
            failed[_name(cfg)] = error
        bar.update()
    bar.close()
    if failed:
        report = "\n".join(f"--- {name}\n{tb}" for name, tb in failed.items())
        raise SweepError(f"{len(failed)} of {len(configs)} config(s) failed ({', '.join(failed)}); the others are "
                         f"cached in {cache}, and the next call retries only these:\n{report}")
    return pd.DataFrame([rows[c.key()] for c in configs])


def _name(cfg: Config) -> str:
    return (f"w={cfg.width:g} d={cfg.depth:g} r={cfg.resolution} seed={cfg.seed} epochs={cfg.epochs} "
            f"[{cfg.key()}]")


def _results(todo, runs, threads, executor):
    """(config, row, None) or (config, None, traceback text) for each config, as they finish."""
    if executor is None:
        for cfg in todo:
            try:
                yield cfg, train_config(cfg, runs, threads), None
            except Exception:  # noqa: BLE001 - reported by name; the others go on
                yield cfg, None, traceback.format_exc()
        return
    from .executors import resubmitting
    yield from resubmitting(executor, train_config, todo, runs, threads)

